"""The other publish stages sped up with the native SHACL engine give unchanged output.

``content_hash`` hashes a graph without blank nodes from its sorted N-Triples
lines instead of canonicalizing it. These tests compare it with RDFC-1.0
canonicalization on every real document and on a generated framework.
"""

from __future__ import annotations

import hashlib

import pyoxigraph as ox
import pytest
from conftest import CTDL, REJECTED_REAL_DOCUMENTS, document_id, real_documents
from test_validation_engine import _framework

from registry.publishing import _canonical_hash, content_hash

CHECKED_DOCUMENTS = [
    path for path in real_documents() if document_id(path) not in REJECTED_REAL_DOCUMENTS
]


@pytest.mark.parametrize("path", CHECKED_DOCUMENTS, ids=document_id)
def test_real_document_hash_canonical(registry, path):
    document = registry.parse(path.read_bytes(), document_id(path))
    assert content_hash(document.triples) == _canonical_hash(document.triples)


@pytest.mark.parametrize("path", CHECKED_DOCUMENTS, ids=document_id)
def test_real_document_canonical_hash_reference(registry, path):
    document = registry.parse(path.read_bytes(), document_id(path))
    assert _canonical_hash(document.triples) == _reference_hash(document.triples)


def _reference_hash(triples: list[ox.Triple]) -> tuple[str, bytes]:
    """RDFC-1.0 through a dataset built from Python quads, with sorted ``str(triple)`` lines."""
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    content = "".join(sorted(str(quad.triple) + " .\n" for quad in dataset)).encode("utf-8")
    return hashlib.sha256(content).hexdigest(), content


def test_framework_hash_canonical(registry):
    document = registry.parse(_framework(2000), "generated framework")
    triples = [t for t in document.triples if not _has_blank_node(t)]
    assert b"_:" not in ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    assert content_hash(triples) == _canonical_hash(triples)


def test_framework_with_blank_node_hash_canonical(registry):
    document = registry.parse(_framework(200), "generated framework")
    assert any(_has_blank_node(t) for t in document.triples)
    assert content_hash(document.triples) == _canonical_hash(document.triples)


def _has_blank_node(triple: ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)


def test_duplicate_triples_hashed_once(registry):
    path = CTDL / "graphs" / "credentials" / "ingest-bachelor-degree.graph.json"
    document = registry.parse(path.read_bytes(), path.name)
    named = [t for t in document.triples if not _has_blank_node(t)]
    assert content_hash(named + named[:5]) == _canonical_hash(named)


def test_literal_with_blank_node_text_hashed_canonically():
    subject = ox.NamedNode("https://example.org/a")
    triples = [ox.Triple(subject, ox.NamedNode("https://example.org/p"), ox.Literal("see _:b0"))]
    assert content_hash(triples) == _canonical_hash(triples)


# --- Store writes ----------------------------------------------------------------------------


def _stored(registry, document) -> set[str]:
    registry.store.replace_document(document)
    return {str(t) for t in registry.store.document_triples(document.ctid)}


def test_new_graph_without_blank_nodes_stored(registry):
    document = registry.parse(_framework(300), "generated framework")
    document.triples = [t for t in document.triples if not _has_blank_node(t)]
    assert _stored(registry, document) == {str(t) for t in document.triples}


def test_new_graph_with_blank_nodes_stored_fresh(registry):
    path = CTDL / "graphs" / "credentials" / "ingest-bachelor-degree.graph.json"
    document = registry.parse(path.read_bytes(), path.name)
    stored = registry.store
    stored.replace_document(document)
    triples = stored.document_triples(document.ctid)
    assert len(triples) == len(set(map(str, document.triples)))
    labels = {t.subject.value for t in document.triples if isinstance(t.subject, ox.BlankNode)}
    stored_labels = {t.subject.value for t in triples if isinstance(t.subject, ox.BlankNode)}
    assert labels
    assert not labels & stored_labels
