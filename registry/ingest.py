"""Turn published CTDL, in any shape the reference registry has served, into a ``Document``.

Accepted shapes: ``/graph`` documents (``@graph``, often with a top-level
``@id``), single ``/resources`` documents, registry envelopes (the
``decoded_resource`` member is used), 2017/2018 flat documents, documents with
no ``@context`` but prefixed keys, and Turtle or N-Triples.

Normalisation, applied the same way to every shape:

- ``ceterms:ctid`` values are lower-cased; ``@id`` IRIs are kept as published.
- The legacy ``http://purl.org/ctdl/...`` and ``http://purl.org/ctdlasn/terms/``
  namespaces become the ``https://`` ones the current vocabulary uses.
- A key with stray whitespace is read without it.
- A language map on a term the context does not declare as one is read as
  language-tagged strings.

Whatever cannot be read is reported as an ``IngestWarning`` naming the
document and the JSON key path; nothing is dropped without a warning.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from registry.ctid import ctid_in_iri, normalize_ctid
from registry.errors import InvalidDocument, UnknownContext
from registry.jsonld import PinnedLoader, TermTable, to_triples
from registry.vocab import CTDL_CONTEXT_URL, CTDLASN_CONTEXT_URL

CETERMS = "https://purl.org/ctdl/terms/"
CTID_PREDICATE = CETERMS + "ctid"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

LEGACY_NAMESPACES = {
    "http://purl.org/ctdl/terms/": "https://purl.org/ctdl/terms/",
    "http://purl.org/ctdl/vocabs/": "https://purl.org/ctdl/vocabs/",
    "http://purl.org/ctdlasn/terms/": "https://purl.org/ctdlasn/terms/",
}

LEGACY_PREFIX = "http://purl.org/ctdl"  # common to every key of LEGACY_NAMESPACES

# Classes whose resource is the subject of a multi-resource Turtle document.
CONTAINER_CLASSES = {
    "https://purl.org/ctdlasn/terms/CompetencyFramework",
    "https://purl.org/ctdl/terms/Collection",
    "https://purl.org/ctdl/terms/Pathway",
    "https://purl.org/ctdl/terms/TransferValueProfile",
    "http://www.w3.org/2004/02/skos/core#ConceptScheme",
}

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")

JSON_TYPES = {"application/ld+json", "application/json"}
TURTLE_TYPES = {"text/turtle", "application/x-turtle"}
NTRIPLES_TYPES = {"application/n-triples"}


@dataclass(frozen=True)
class IngestWarning:
    """A problem in a document that did not stop it from loading."""

    source: str
    key: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "key": self.key, "message": self.message}


@dataclass
class Document:
    """One CTDL document, ready for the store: its CTID, its triples, its warnings."""

    ctid: str
    primary: str
    triples: list[ox.Triple]
    source: str
    member_ctids: list[str] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)
    # JSON path of each node with an @id or a CTID in the submitted JSON, keyed by both.
    node_paths: dict[str, str] = field(default_factory=dict)


def parse_document(
    data: bytes, source: str, loader: PinnedLoader, media_type: str | None = None
) -> Document:
    """Parse a document in any accepted shape; raise ``InvalidDocument`` if it is unusable."""
    kind = _detect_kind(data, media_type)
    if kind == "json":
        # The parsed JSON belongs to no caller, so it may be repaired in place.
        return parse_json_document(_load_json(data, source), source, loader, copy_input=False)
    return _parse_rdf_document(data, source, kind)


def _detect_kind(data: bytes, media_type: str | None) -> str:
    if media_type:
        base = media_type.split(";")[0].strip().lower()
        if base in JSON_TYPES:
            return "json"
        if base in TURTLE_TYPES:
            return "turtle"
        if base in NTRIPLES_TYPES:
            return "ntriples"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"{", b"[") else "turtle"


def _load_json(data: bytes, source: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidDocument(
            f"{source} is not UTF-8 text (byte {exc.start} is invalid); save it as UTF-8",
            source=source,
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDocument(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            source=source,
            line=exc.lineno,
            column=exc.colno,
        ) from exc


def parse_json_document(
    raw: Any, source: str, loader: PinnedLoader, copy_input: bool = True
) -> Document:
    """Parse a JSON-LD document, envelope or flat legacy resource.

    Repairs are made on a copy of ``raw`` unless ``copy_input`` is false.
    """
    warnings: list[IngestWarning] = []
    if copy_input:
        raw = copy.deepcopy(raw)
    envelope_ctid, document = _unwrap_envelope(raw, source)
    document = _ensure_context(document, source, warnings)
    table = _term_table(document, loader, source)

    _clean_node(document, table, "$", source, warnings)
    ctid = _choose_ctid(document, envelope_ctid, source, warnings)

    triples = to_triples(document, loader)
    triples = _normalize_namespaces(triples, source, warnings)
    result = _finish(triples, ctid, source, warnings)
    result.node_paths = _node_paths(document, table, "$")
    return result


def _node_paths(value: Any, table: TermTable, path: str) -> dict[str, str]:
    """Map each node's expanded @id and its CTID to the node's JSON path."""
    found: dict[str, str] = {}
    if isinstance(value, list):
        for index, item in enumerate(value):
            found.update(_node_paths(item, table, f"{path}[{index}]"))
        return found
    if not isinstance(value, dict):
        return found
    node_id = value.get("@id")
    if isinstance(node_id, str):
        found.setdefault(table.expand(node_id), path)
    ctid = value.get("ceterms:ctid")
    if isinstance(ctid, str):
        found.setdefault(ctid, path)
    for key, inner in value.items():
        if key != "@context" and isinstance(inner, (dict, list)):
            found.update(
                {
                    k: v
                    for k, v in _node_paths(inner, table, f"{path}.{key}").items()
                    if k not in found
                }
            )
    return found


def _unwrap_envelope(raw: Any, source: str) -> tuple[str | None, Any]:
    """Return the envelope's CTID (if any) and the CTDL document inside it."""
    if isinstance(raw, list):
        raw = {"@graph": raw}
    if not isinstance(raw, dict):
        raise InvalidDocument(
            f"{source} is JSON but not a JSON-LD object; a CTDL document is an object with "
            "@context and @graph (or a single resource)",
            source=source,
        )
    if "decoded_resource" not in raw:
        return None, raw

    inner = raw["decoded_resource"]
    if isinstance(inner, str):
        inner = _load_json(inner.encode("utf-8"), f"{source} decoded_resource")
    if not isinstance(inner, dict):
        raise InvalidDocument(
            f"{source}: the envelope's decoded_resource is not a JSON-LD object", source=source
        )
    envelope_ctid = raw.get("envelope_ceterms_ctid")
    return (envelope_ctid if isinstance(envelope_ctid, str) else None), inner


def _ensure_context(document: dict[str, Any], source: str, warnings: list) -> dict[str, Any]:
    """Give a document without ``@context`` the CTDL and CTDL-ASN contexts."""
    if "@context" in document:
        return document
    keys = _all_keys(document)
    if not any(key.startswith(("ceterms:", "ceasn:")) for key in keys):
        raise InvalidDocument(
            f"{source} has no @context and no prefixed CTDL keys (ceterms:..., ceasn:...), "
            f'so it cannot be read as CTDL; add "@context": "{CTDL_CONTEXT_URL}"',
            source=source,
        )
    warnings.append(
        IngestWarning(
            source,
            "$.@context",
            "the document has no @context; it was read with the CTDL and CTDL-ASN contexts "
            f"({CTDL_CONTEXT_URL}, {CTDLASN_CONTEXT_URL})",
        )
    )
    return {"@context": [CTDL_CONTEXT_URL, CTDLASN_CONTEXT_URL], **document}


def _all_keys(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _all_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _all_keys(inner)


def _term_table(document: dict[str, Any], loader: PinnedLoader, source: str) -> TermTable:
    context = document.get("@context")
    if isinstance(context, str) and loader.is_pinned(context):
        # Nearly every document names one pinned context: build its table once.
        return loader.term_table(context)
    table = TermTable()
    try:
        table.add_context(context, lambda url: loader(url)["document"])
    except UnknownContext as exc:
        exc.extensions["source"] = source
        exc.detail = f"{source}: {exc.detail}"
        exc.args = (exc.detail,)
        raise
    return table


def _clean_node(node: Any, table: TermTable, path: str, source: str, warnings: list) -> None:
    """Fix or report, in place, every key and value that JSON-LD would silently drop."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            _clean_node(item, table, f"{path}[{index}]", source, warnings)
        return
    if not isinstance(node, dict):
        return

    for key in list(node):
        key = _strip_key(node, key, path, source, warnings)
        key_path = f"{path}.{key}"
        if key == "@context":
            continue
        if key == "@id" and isinstance(node[key], str):
            _check_node_id(node[key], table, key_path, source, warnings)
            continue
        if not table.expands(key):
            warnings.append(IngestWarning(source, key_path, _undefined_key_message(key, table)))
            continue
        node[key] = _clean_value(node[key], key, table, key_path, source, warnings)
        if table.definition(key).get("@container") not in ("@language", "@value"):
            _clean_node(_node_objects(node[key]), table, key_path, source, warnings)


def _node_objects(value: Any) -> Any:
    """Return the parts of a value that are node objects (not literals or value objects)."""
    if isinstance(value, list):
        return [item if _is_node_object(item) else None for item in value]
    return value if _is_node_object(value) else None


def _is_node_object(value: Any) -> bool:
    return isinstance(value, dict) and "@value" not in value and "@list" not in value


def _strip_key(node: dict[str, Any], key: str, path: str, source: str, warnings: list) -> str:
    stripped = key.strip()
    if stripped == key:
        return key
    value = node.pop(key)
    warnings.append(
        IngestWarning(
            source,
            f"{path}.{key}",
            f"the key {key!r} has surrounding whitespace; it was read as {stripped!r}",
        )
    )
    if stripped in node:
        existing = node[stripped] if isinstance(node[stripped], list) else [node[stripped]]
        node[stripped] = existing + (value if isinstance(value, list) else [value])
    else:
        node[stripped] = value
    return stripped


def _undefined_key_message(key: str, table: TermTable) -> str:
    hint = ""
    for prefix in ("ceterms", "ceasn"):
        if f"{prefix}:{key}" in table.terms:
            hint = f"; did you mean {prefix}:{key}?"
            break
    return (
        f"the key {key!r} is neither a term of the document's @context nor a prefixed name, "
        f"so its value was not stored{hint}"
    )


def _check_node_id(value: str, table: TermTable, path: str, source: str, warnings: list) -> None:
    if not table.is_absolute_or_compact(value):
        warnings.append(
            IngestWarning(
                source,
                path,
                f"the @id {value!r} is not an absolute IRI, so the statements about this node "
                "were not stored; use a full IRI such as "
                "https://credentialengineregistry.org/resources/ce-...",
            )
        )


def _clean_value(
    value: Any, key: str, table: TermTable, path: str, source: str, warnings: list
) -> Any:
    definition = table.definition(key)
    if definition.get("@type") == "@id":
        _check_iri_values(value, key, table, path, source, warnings)
    if _is_language_map_list(value):
        warnings.append(
            IngestWarning(
                source,
                path,
                f"{key} holds an array of language maps, which JSON-LD reads as nodes; it was "
                "read as language-tagged strings (write one language map instead)",
            )
        )
        return [{"@value": t, "@language": tag} for item in value for tag, t in item.items()]
    if definition.get("@container") != "@language" and _is_language_map(value):
        warnings.append(
            IngestWarning(
                source,
                path,
                f"{key} holds a language map, but the @context does not declare {key} as one; "
                "it was read as language-tagged strings",
            )
        )
        return [{"@value": text, "@language": tag} for tag, text in value.items()]
    return value


def _check_iri_values(
    value: Any, key: str, table: TermTable, path: str, source: str, warnings: list
) -> None:
    values = value if isinstance(value, list) else [value]
    for index, item in enumerate(values):
        if isinstance(item, str) and not table.is_absolute_or_compact(item):
            warnings.append(
                IngestWarning(
                    source,
                    f"{path}[{index}]" if isinstance(value, list) else path,
                    f"{key} expects an IRI, but {item!r} is not an absolute IRI, so it was not "
                    "stored; write the full IRI, e.g. https://...",
                )
            )


def _is_language_map(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(
            LANGUAGE_TAG.match(k) and not k.startswith("@") and isinstance(v, (str, list))
            for k, v in value.items()
        )
    )


def _is_language_map_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_language_map(v) for v in value)


def _nodes(document: dict[str, Any]) -> list[dict[str, Any]]:
    graph = document.get("@graph")
    if isinstance(graph, list):
        return [node for node in graph if isinstance(node, dict)]
    if isinstance(graph, dict):
        return [graph]
    return [document]


def _choose_ctid(
    document: dict[str, Any], envelope_ctid: str | None, source: str, warnings: list
) -> str:
    """Normalise every ``ceterms:ctid`` in place and return the document's own CTID.

    The document's CTID is, in order of preference: the CTID ending a top-level
    ``@id`` (``.../graph/ce-...``), the envelope's CTID, and the CTID of the
    first resource in ``@graph`` (from ``ceterms:ctid`` or its ``@id``).
    """
    nodes = _nodes(document)
    in_graph = "@graph" in document
    node_ctids = [
        _normalize_node_ctid(node, f"$.@graph[{i}]" if in_graph else "$", source, warnings)
        for i, node in enumerate(nodes)
    ]
    present = [c for c in node_ctids if c]

    top_id = document.get("@id") if "@graph" in document else None
    candidates = [
        ctid_in_iri(top_id) if isinstance(top_id, str) else None,
        normalize_ctid(envelope_ctid, "envelope_ceterms_ctid") if envelope_ctid else None,
    ]
    for candidate in candidates:
        if candidate is None:
            continue
        if candidate not in present:
            warnings.append(
                IngestWarning(
                    source,
                    "$.@id",
                    f"the document is labelled {candidate}, but no resource in it has that "
                    "CTID; it is stored under that CTID",
                )
            )
        return candidate
    if present:
        if present[0].startswith("!"):
            raise InvalidDocument(
                f"{source}: the main resource's ceterms:ctid {present[0][1:]!r} is not a CTID; "
                "a CTID is 'ce-' followed by a UUID, e.g. ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b",
                source=source,
                field="ceterms:ctid",
                value=present[0][1:],
            )
        return present[0]
    raise InvalidDocument(
        f"{source} has no CTID: no resource has ceterms:ctid or an @id ending in 'ce-' and a "
        'UUID; give the main resource a "ceterms:ctid" such as '
        '"ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b"',
        source=source,
        field="ceterms:ctid",
    )


def _normalize_node_ctid(
    node: dict[str, Any], path: str, source: str, warnings: list
) -> str | None:
    """Lower-case a node's ``ceterms:ctid`` in place and return it.

    An invalid CTID is kept as published and reported. It is fatal only if the
    node turns out to be the document's main resource.
    """
    value = node.get("ceterms:ctid")
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("@value")
    if isinstance(value, str):
        field = f"{path}.ceterms:ctid"
        try:
            ctid = normalize_ctid(value, field)
        except InvalidDocument as exc:
            warnings.append(IngestWarning(source, field, exc.detail))
            return "!" + value
        node["ceterms:ctid"] = ctid
        return ctid
    node_id = node.get("@id")
    return ctid_in_iri(node_id) if isinstance(node_id, str) else None


def _normalize_namespaces(triples: list[ox.Triple], source: str, warnings: list) -> list[ox.Triple]:
    """Rewrite IRIs in the legacy ``http://purl.org/ctdl...`` namespaces to ``https://``."""
    seen: set[str] = set()

    def fix(term: Any) -> Any:
        if isinstance(term, ox.NamedNode):
            for old, new in LEGACY_NAMESPACES.items():
                if term.value.startswith(old):
                    seen.add(old)
                    return ox.NamedNode(new + term.value[len(old) :])
        return term

    if not any(_has_legacy_iri(t) for t in triples):
        return triples
    fixed = [ox.Triple(fix(t.subject), fix(t.predicate), fix(t.object)) for t in triples]
    for old in sorted(seen):
        warnings.append(
            IngestWarning(
                source,
                "$.@context",
                f"IRIs in the legacy namespace {old} were rewritten to {LEGACY_NAMESPACES[old]}",
            )
        )
    return fixed


def _has_legacy_iri(triple: ox.Triple) -> bool:
    return any(
        isinstance(term, ox.NamedNode) and term.value.startswith(LEGACY_PREFIX)
        for term in (triple.subject, triple.predicate, triple.object)
    )


def _finish(triples: list[ox.Triple], ctid: str, source: str, warnings: list) -> Document:
    """Find the primary resource and member CTIDs, and report dangling blank nodes."""
    if not triples:
        raise InvalidDocument(
            f"{source} produced no statements; check that its keys are CTDL terms "
            "(ceterms:..., ceasn:...) and that it has an @context",
            source=source,
        )
    ctids = _ctid_subjects(triples)
    primary = _primary_subject(triples, ctid, ctids)
    if primary is None:
        raise InvalidDocument(
            f"{source}: the resource with CTID {ctid} has no statements that could be stored; "
            "check that its @id is an absolute IRI such as "
            f"https://credentialengineregistry.org/resources/{ctid}",
            source=source,
        )
    members = sorted({c for c in ctids.values() if c != ctid})
    warnings.extend(_dangling_blank_nodes(triples, source))
    return Document(ctid, primary, triples, source, members, warnings)


def _ctid_subjects(triples: list[ox.Triple]) -> dict[str, str]:
    """Map each subject that has a ``ceterms:ctid`` to that CTID, lower-cased."""
    found: dict[str, str] = {}
    for triple in triples:
        if triple.predicate.value == CTID_PREDICATE and isinstance(triple.object, ox.Literal):
            found[_key(triple.subject)] = triple.object.value.strip().lower()
    return found


def _primary_subject(triples: list[ox.Triple], ctid: str, ctids: dict[str, str]) -> str | None:
    for subject, value in ctids.items():
        if value == ctid:
            return subject
    for triple in triples:
        if isinstance(triple.subject, ox.NamedNode) and ctid_in_iri(triple.subject.value) == ctid:
            return triple.subject.value
    return None


def _key(term: Any) -> str:
    return "_:" + term.value if isinstance(term, ox.BlankNode) else term.value


def _dangling_blank_nodes(triples: list[ox.Triple], source: str) -> list[IngestWarning]:
    subjects = {t.subject for t in triples if isinstance(t.subject, ox.BlankNode)}
    warnings = []
    reported = set()
    for triple in triples:
        target = triple.object
        if isinstance(target, ox.BlankNode) and target not in subjects and target not in reported:
            reported.add(target)
            warnings.append(
                IngestWarning(
                    source,
                    triple.predicate.value,
                    f"a blank node referenced by {_short(triple.predicate.value)} on "
                    f"{_short(_key(triple.subject))} is not defined in this document (usual in "
                    "/resources documents, whose blank nodes live in the /graph document); "
                    "the reference was kept",
                )
            )
    return warnings


def _short(iri: str) -> str:
    for prefix, namespace in (("ceterms:", CETERMS), ("ceasn:", "https://purl.org/ctdlasn/terms/")):
        if iri.startswith(namespace):
            return prefix + iri[len(namespace) :]
    return iri


def _parse_rdf_document(data: bytes, source: str, kind: str) -> Document:
    """Parse a Turtle or N-Triples document."""
    rdf_format = ox.RdfFormat.TURTLE if kind == "turtle" else ox.RdfFormat.N_TRIPLES
    try:
        parsed = list(ox.parse(data, format=rdf_format))
    except SyntaxError as exc:
        name = "Turtle" if kind == "turtle" else "N-Triples"
        raise InvalidDocument(
            f"{source} is not valid {name}: {exc}; if it is JSON-LD, send it as "
            "application/ld+json",
            source=source,
        ) from exc

    warnings: list[IngestWarning] = []
    triples = _relabel([q.triple for q in parsed], source)
    triples = _normalize_namespaces(triples, source, warnings)
    triples = [_lower_ctid(t) for t in triples]
    ctid = _primary_ctid_of_rdf(triples, source)
    triples = _relabel(triples, ctid)
    return _finish(triples, ctid, source, warnings)


def _relabel(triples: list[ox.Triple], salt: str) -> list[ox.Triple]:
    import hashlib

    labels: dict[str, ox.BlankNode] = {}

    def fix(term: Any) -> Any:
        if not isinstance(term, ox.BlankNode):
            return term
        if term.value not in labels:
            digest = hashlib.sha256(f"{salt}\0{term.value}".encode()).hexdigest()[:24]
            labels[term.value] = ox.BlankNode("b" + digest)
        return labels[term.value]

    return [ox.Triple(fix(t.subject), t.predicate, fix(t.object)) for t in triples]


def _lower_ctid(triple: ox.Triple) -> ox.Triple:
    if triple.predicate.value != CTID_PREDICATE or not isinstance(triple.object, ox.Literal):
        return triple
    value = triple.object.value
    return ox.Triple(triple.subject, triple.predicate, ox.Literal(normalize_ctid(value)))


def _primary_ctid_of_rdf(triples: list[ox.Triple], source: str) -> str:
    """Choose the resource an RDF document is about.

    With one CTID-bearing resource, that one. With several, the one no other
    CTID-bearing resource points to, or failing that the one whose class is a
    container such as ``ceasn:CompetencyFramework``.
    """
    ctids = _ctid_subjects(triples)
    if not ctids:
        raise InvalidDocument(
            f"{source} has no CTID: no resource has ceterms:ctid; add one, e.g. "
            '<...> ceterms:ctid "ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b" .',
            source=source,
            field="ceterms:ctid",
        )
    if len(ctids) == 1:
        return next(iter(ctids.values()))

    pointed_to = {
        _key(t.object)
        for t in triples
        if _key(t.subject) in ctids
        and not isinstance(t.object, ox.Literal)
        and _key(t.object) != _key(t.subject)
    }
    roots = [s for s in ctids if s not in pointed_to]
    if len(roots) == 1:
        return ctids[roots[0]]
    containers = sorted(
        {
            _key(t.subject)
            for t in triples
            if t.predicate.value == RDF_TYPE
            and _key(t.subject) in ctids
            and t.object.value in CONTAINER_CLASSES
        }
    )
    if len(containers) == 1:
        return ctids[containers[0]]
    raise InvalidDocument(
        f"{source} has {len(ctids)} resources with a CTID and none of them is clearly the "
        f"document's main resource ({', '.join(sorted(ctids.values())[:5])}); publish each "
        "resource as its own document",
        source=source,
    )
