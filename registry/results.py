"""SPARQL 1.1 query results in the four W3C formats: JSON, XML, CSV and TSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from registry.rdfio import dump_json
from registry.sparql import QueryResult

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

RESULT_MEDIA_TYPES = [
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
]

# Aliases a client may use in Accept or ``format`` for the same formats.
RESULT_ALIASES = {
    "application/json": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
    "text/xml": "application/sparql-results+xml",
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}


def serialize_results(result: QueryResult, media_type: str) -> bytes:
    """Serialise a SELECT or ASK result in one of ``RESULT_MEDIA_TYPES``."""
    writers = {
        "application/sparql-results+json": _to_json,
        "application/sparql-results+xml": _to_xml,
        "text/csv": _to_csv,
        "text/tab-separated-values": _to_tsv,
    }
    return writers[media_type](result)


def _to_json(result: QueryResult) -> bytes:
    if result.kind == "ask":
        return json.dumps({"head": {}, "boolean": result.boolean}).encode()
    bindings = []
    for row in result.rows:
        bindings.append(
            {
                name: _json_term(term)
                for name, term in zip(result.variables, row, strict=True)
                if term is not None
            }
        )
    body = {"head": {"vars": result.variables}, "results": {"bindings": bindings}}
    return dump_json(body)


def _json_term(term: Any) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": str(term)}
    literal: dict[str, str] = {"type": "literal", "value": term.value}
    if term.language:
        literal["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        literal["datatype"] = term.datatype.value
    return literal


def _to_xml(result: QueryResult) -> bytes:
    out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n']
    out.append("  <head>\n")
    out.extend(f"    <variable name={quoteattr(name)}/>\n" for name in result.variables)
    out.append("  </head>\n")
    if result.kind == "ask":
        out.append(f"  <boolean>{'true' if result.boolean else 'false'}</boolean>\n")
    else:
        out.append("  <results>\n")
        for row in result.rows:
            out.append("    <result>\n")
            for name, term in zip(result.variables, row, strict=True):
                if term is not None:
                    out.append(
                        f"      <binding name={quoteattr(name)}>{_xml_term(term)}</binding>\n"
                    )
            out.append("    </result>\n")
        out.append("  </results>\n")
    out.append("</sparql>\n")
    return "".join(out).encode("utf-8")


def _xml_term(term: Any) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        return f"<literal>{escape(str(term))}</literal>"
    if term.language:
        return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
    if term.datatype.value != XSD_STRING:
        return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
    return f"<literal>{escape(term.value)}</literal>"


def _to_csv(result: QueryResult) -> bytes:
    """CSV results: plain values, no types (SPARQL 1.1 Query Results CSV and TSV Formats)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if result.kind == "ask":
        writer.writerow(["boolean"])
        writer.writerow(["true" if result.boolean else "false"])
        return buffer.getvalue().encode("utf-8")
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow([_csv_term(term) for term in row])
    return buffer.getvalue().encode("utf-8")


def _csv_term(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Triple):
        return str(term)
    return term.value


def _to_tsv(result: QueryResult) -> bytes:
    """TSV results: terms in their Turtle/N-Triples form, so types survive."""
    if result.kind == "ask":
        return b"?boolean\n" + (b"true\n" if result.boolean else b"false\n")
    lines = ["\t".join("?" + name for name in result.variables)]
    for row in result.rows:
        lines.append("\t".join("" if term is None else str(term) for term in row))
    return ("\n".join(lines) + "\n").encode("utf-8")
