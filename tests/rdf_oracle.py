"""An independent reading of a JSON-LD document, to check the registry's ingest against.

rdflib's own JSON-LD parser reads the document, with the pinned contexts
substituted inline so that it never fetches them. The registry's documented
normalisation (lower-case CTIDs, https CTDL namespaces, keys read without
surrounding whitespace) is then applied.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import rdflib

from registry.vocab import VocabCache

CTID = rdflib.URIRef("https://purl.org/ctdl/terms/ctid")
LEGACY = {
    "http://purl.org/ctdl/terms/": "https://purl.org/ctdl/terms/",
    "http://purl.org/ctdl/vocabs/": "https://purl.org/ctdl/vocabs/",
    "http://purl.org/ctdlasn/terms/": "https://purl.org/ctdlasn/terms/",
}
DEFAULT_CONTEXT = [
    "https://credreg.net/ctdl/schema/context/json",
    "https://credreg.net/ctdlasn/schema/context/json",
]


def oracle_graph(path: Path, cache: VocabCache) -> rdflib.Graph:
    """Parse a published document with rdflib, after inlining its pinned contexts."""
    raw = json.loads(path.read_text(encoding="utf-8-sig"))
    document = raw.get("decoded_resource", raw) if isinstance(raw, dict) else raw
    if "@context" not in document:
        document = {"@context": DEFAULT_CONTEXT, **document}
    document = _inline_contexts(document, cache)

    dataset = rdflib.Dataset()
    normalize = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False  # keep lexical forms as published, e.g. "...21.39Z"
    try:
        dataset.parse(data=json.dumps(document), format="json-ld")
    finally:
        rdflib.NORMALIZE_LITERALS = normalize
    graph = rdflib.Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        graph.add((_fix(s), _fix(p), _fix_object(p, o)))
    return graph


def _inline_contexts(value: Any, cache: VocabCache) -> Any:
    if isinstance(value, dict):
        result = {}
        for key, inner in value.items():
            if key == "@context":
                result[key] = _resolve_context(inner, cache)
            else:
                result[key] = _inline_contexts(inner, cache)
        return result
    if isinstance(value, list):
        return [_inline_contexts(item, cache) for item in value]
    return value


def _resolve_context(context: Any, cache: VocabCache) -> Any:
    if isinstance(context, str):
        return cache.load_json(context)["@context"]
    if isinstance(context, list):
        return [_resolve_context(item, cache) for item in context]
    return context


def _fix(term: Any) -> Any:
    if isinstance(term, rdflib.URIRef):
        term = rdflib.URIRef(term.strip())
        for old, new in LEGACY.items():
            if term.startswith(old):
                return rdflib.URIRef(new + term[len(old) :])
    return term


def _fix_object(predicate: Any, term: Any) -> Any:
    if _fix(predicate) == CTID and isinstance(term, rdflib.Literal):
        return rdflib.Literal(str(term).strip().lower(), datatype=term.datatype, lang=term.language)
    return _fix(term)


def canonical(triples: Any) -> set[str]:
    """Return the triples as canonical N-Triples lines (RDFC-1.0 blank-node labels).

    Two graphs are isomorphic exactly when their canonical line sets are equal.
    """
    dataset = ox.Dataset()
    for triple in triples:
        if isinstance(triple, tuple):
            triple = _to_oxigraph(triple)
        value = _numeric_value(triple.object)
        dataset.add(ox.Quad(triple.subject, triple.predicate, value, ox.DefaultGraph()))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(quad.triple) for quad in dataset}


XSD_FLOAT = "http://www.w3.org/2001/XMLSchema#float"
NUMERIC = {
    "http://www.w3.org/2001/XMLSchema#" + name for name in ("float", "double", "decimal", "integer")
}


def _numeric_value(term: Any) -> Any:
    """Give each number one lexical form, so that equal values compare equal.

    JSON-LD processors write 46.07323 as "4.607323E1" (the xsd:double form the
    JSON-LD 1.1 algorithm requires) or as "46.07323", and Oxigraph stores
    xsd:float as a 32-bit float, so "41.6652955" comes back as "41.665295":
    the same xsd:float value.
    """
    if not isinstance(term, ox.Literal) or term.datatype.value not in NUMERIC:
        return term
    try:
        number = float(term.value)
    except ValueError:
        return term
    if term.datatype.value == XSD_FLOAT:
        number = struct.unpack("f", struct.pack("f", number))[0]
    return ox.Literal(repr(number), datatype=term.datatype)


def _to_oxigraph(triple: tuple) -> ox.Triple:
    return ox.Triple(*(_term_to_oxigraph(term) for term in triple))


def _term_to_oxigraph(term: Any) -> Any:
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    datatype = term.datatype or rdflib.XSD.string
    return ox.Literal(str(term), datatype=ox.NamedNode(str(datatype)))
