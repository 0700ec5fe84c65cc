"""The Oxigraph document store: atomic replace, removal, persistence."""

from __future__ import annotations

import json
import threading

import pyoxigraph as ox
import pytest
from rdf_oracle import canonical

from registry.ingest import Document
from registry.store import OxigraphStore, StoreError

CTID = "ce-0a1b2c3d-0000-4000-8000-000000000010"
SUBJECT = ox.NamedNode(f"https://example.org/resources/{CTID}")
NAME = ox.NamedNode("https://purl.org/ctdl/terms/name")
CTID_PREDICATE = ox.NamedNode("https://purl.org/ctdl/terms/ctid")


def _document(version: int, size: int = 200) -> Document:
    triples = [ox.Triple(SUBJECT, CTID_PREDICATE, ox.Literal(CTID))]
    for i in range(size):
        profile = ox.BlankNode()
        triples.append(
            ox.Triple(SUBJECT, ox.NamedNode("https://purl.org/ctdl/terms/requires"), profile)
        )
        triples.append(ox.Triple(profile, NAME, ox.Literal(f"v{version} condition {i}")))
    return Document(CTID, SUBJECT.value, triples, f"version {version}")


def test_replace_is_atomic_for_readers():
    store = OxigraphStore(None, "http://registry.test")
    versions = [_document(1), _document(2)]
    expected = [canonical(v.triples) for v in versions]
    store.replace_document(versions[0])
    seen_mixed = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            current = canonical(store.document_triples(CTID) or [])
            if current not in expected:
                seen_mixed.append(len(current))

    reader = threading.Thread(target=read)
    reader.start()
    for round_number in range(40):
        store.replace_document(versions[round_number % 2])
    stop.set()
    reader.join(timeout=60)

    assert seen_mixed == []


def test_replace_removes_old_triples():
    store = OxigraphStore(None, "http://registry.test")
    store.replace_document(_document(1, size=5))
    store.replace_document(_document(2, size=2))
    assert len(store.document_triples(CTID)) == 5


def test_remove_document():
    store = OxigraphStore(None, "http://registry.test")
    store.replace_document(_document(1, size=1))
    assert store.remove_document(CTID) is True
    assert store.document_triples(CTID) is None
    assert store.remove_document(CTID) is False


def test_documents_share_no_blank_nodes():
    store = OxigraphStore(None, "http://registry.test")
    other = "ce-0a1b2c3d-0000-4000-8000-000000000011"
    profile = ox.BlankNode("same-label")
    for ctid in (CTID, other):
        subject = ox.NamedNode(f"https://example.org/resources/{ctid}")
        triples = [ox.Triple(subject, NAME, profile), ox.Triple(profile, NAME, ox.Literal(ctid))]
        store.replace_document(Document(ctid, subject.value, triples, ctid))
    query = (
        "SELECT (COUNT(DISTINCT ?b) AS ?n) "
        "WHERE { ?s <https://purl.org/ctdl/terms/name> ?b . FILTER(isBlank(?b)) }"
    )
    count = next(iter(store.query(query)))["n"]
    assert int(count.value) == 2


def test_new_graph_keeps_blank_node_structure(tmp_path):
    store = OxigraphStore(tmp_path / "store", "http://registry.test")
    document = _document(1, size=20)
    store.replace_document(document)
    assert canonical(store.document_triples(CTID)) == canonical(document.triples)
    store.close()


def test_on_disk_store_persists(tmp_path):
    folder = tmp_path / "store"
    store = OxigraphStore(folder, "http://registry.test")
    store.replace_document(_document(1, size=3))
    store.close()

    reopened = OxigraphStore(folder, "http://other.test")
    assert reopened.base_url == "http://registry.test"
    assert len(reopened.document_triples(CTID)) == 7
    reopened.close()


def test_store_records_base_url(tmp_path):
    folder = tmp_path / "store"
    OxigraphStore(folder, "http://registry.test").close()
    metadata = json.loads((folder / "registry-store.json").read_text())
    assert metadata["base_url"] == "http://registry.test"


def test_foreign_folder_rejected(tmp_path):
    (tmp_path / "notes.txt").write_text("not a store")
    with pytest.raises(StoreError, match="not a registry store"):
        OxigraphStore(tmp_path, "http://registry.test")


def test_second_process_lock_reported(tmp_path):
    folder = tmp_path / "store"
    first = OxigraphStore(folder, "http://registry.test")
    with pytest.raises(StoreError, match="Only one process"):
        OxigraphStore(folder, "http://registry.test")
    first.close()


def test_owner_of_member():
    store = OxigraphStore(None, "http://registry.test")
    member = "ce-0a1b2c3d-0000-4000-8000-000000000012"
    triples = _document(1, size=1).triples + [
        ox.Triple(ox.NamedNode("https://example.org/m"), CTID_PREDICATE, ox.Literal(member))
    ]
    store.replace_document(Document(CTID, SUBJECT.value, triples, "framework"))
    assert store.owner_of(member) == CTID
    assert store.owner_of(CTID) == CTID
    assert store.owner_of("ce-0a1b2c3d-0000-4000-8000-000000000013") is None
