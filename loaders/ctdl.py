"""The CTDL loader: JSON-LD documents, registry envelopes, Turtle and N-Triples files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from loaders.base import Loader, Outcome
from registry.errors import RegistryError

JSON_SUFFIXES = (".json", ".jsonld", ".txt")
RDF_MEDIA_TYPES = {".ttl": "text/turtle", ".nt": "application/n-triples"}
VOCABULARY_TYPES = {
    "rdfs:Class",
    "rdf:Property",
    "skos:Concept",
    "skos:ConceptScheme",
    "owl:Ontology",
}


class CtdlLoader(Loader):
    """Loads published CTDL in every shape ``registry.ingest`` accepts.

    Files that are plainly not CTDL documents (JSON Schemas, vocabulary
    encodings, configuration, other file types) are skipped with the reason.
    """

    name = "ctdl"
    suffixes = (*JSON_SUFFIXES, *RDF_MEDIA_TYPES)
    independent_files = True

    def read(self, path: Path) -> Iterator[Outcome]:
        source = str(path)
        suffix = path.suffix.lower()
        if suffix not in self.suffixes:
            reason = f"{suffix or 'no suffix'} files are not CTDL documents"
            if suffix in (".csv", ".xlsx"):
                reason += (
                    "; load tabular sources with --format soc, onet, esco, case, osmt or cpl "
                    "(see `registry load --help`)"
                )
            yield Outcome(source, skipped=reason)
            return
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Outcome(source, error=f"cannot read the file: {exc.strerror}")
            return

        reason = _not_a_document(data) if suffix in JSON_SUFFIXES else None
        if reason:
            yield Outcome(source, skipped=reason)
            return
        try:
            document = self.registry.parse(data, source, RDF_MEDIA_TYPES.get(suffix))
        except RegistryError as exc:
            yield Outcome(source, error=exc.detail.removeprefix(f"{source}: "))
            return
        yield Outcome(source, document=document)


def _not_a_document(data: bytes) -> str | None:
    """Return why a JSON file is not a CTDL document, or ``None`` if it may be one.

    Invalid JSON is not skipped: the parser reports it as an error.
    """
    try:
        raw: Any = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(raw, dict) and set(raw) == {"@context"}:
        return "a JSON-LD context, not a CTDL document; use `registry vocab sync` for contexts"
    if isinstance(raw, dict) and "$schema" in raw:
        return "a JSON Schema, not a CTDL document"
    if isinstance(raw, dict) and not ({"@context", "@graph", "@id", "decoded_resource"} & set(raw)):
        return "JSON without @context, @graph, @id or decoded_resource: not a CTDL document"
    if isinstance(raw, dict) and _is_vocabulary(raw.get("@graph")):
        return "a vocabulary encoding (classes and properties); use `registry vocab sync` for it"
    return None


def _is_vocabulary(graph: Any) -> bool:
    if not isinstance(graph, list) or not graph:
        return False
    types = set()
    for node in graph:
        if isinstance(node, dict):
            node_type = node.get("@type")
            types.update(node_type if isinstance(node_type, list) else [node_type])
    return bool(types) and types <= VOCABULARY_TYPES
