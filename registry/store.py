"""Storage of CTDL documents: one named graph per document.

``DocumentStore`` is the interface the rest of the registry uses;
``OxigraphStore`` implements it over an embedded pyoxigraph store (RocksDB on
disk, or in memory). The backend is chosen in ``open_store`` only.

The store contains current documents and nothing else, so that the SPARQL
default graph (the union of all named graphs) never shows registry
bookkeeping. Each document's graph is named ``{base_url}/graph/{ctid}``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from registry.errors import RegistryError
from registry.ingest import CTID_PREDICATE, Document

log = logging.getLogger(__name__)

STORE_FORMAT = 1
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
METADATA_FILE = "registry-store.json"
# `registry keys` may create the ledger (ledger.sqlite3 and its WAL files) before the store.
LEDGER_PREFIX = "ledger.sqlite3"


class StoreError(RegistryError):
    slug = "store-error"
    title = "Store error"


class DocumentStore(Protocol):
    """Interface of a store of CTDL documents, as the registry uses it."""

    base_url: str
    # Goes up with every write, so readers can tell when what they cached is stale.
    generation: int

    def graph_iri(self, ctid: str) -> str: ...

    def replace_document(self, document: Document) -> None:
        """Store a document, replacing any previous one with its CTID atomically."""

    def add_documents(self, documents: list[Document]) -> list[Document]:
        """Store documents that have no graph yet, all at once; return the others untouched."""

    def remove_document(self, ctid: str) -> bool:
        """Remove a document; return whether it existed."""

    def document_triples(self, ctid: str) -> list[ox.Triple] | None:
        """Return the triples of the document with this CTID, or ``None``."""

    def owner_of(self, ctid: str) -> str | None:
        """Return the CTID of the document holding the resource with this CTID."""

    def resource_subject(self, document_ctid: str, ctid: str) -> ox.NamedNode | None:
        """Return the subject that carries ``ctid`` inside a document's graph."""

    def resource_triples(self, document_ctid: str, subject: ox.NamedNode) -> list[ox.Triple]:
        """Return the statements about ``subject`` in a document's graph and, recursively,
        about the blank nodes they use (its Concise Bounded Description there)."""

    def document_ctids(self) -> Iterator[str]: ...

    def types_of(self, iris: Iterable[ox.NamedNode]) -> list[ox.Triple]:
        """Return the ``rdf:type`` statements about these resources in any document."""

    def links_to(self, iris: Iterable[ox.NamedNode], target: ox.NamedNode) -> list[ox.Triple]:
        """Return statements from these resources, in any document, with ``target`` as object."""

    def query(self, sparql: str, **options: Any) -> Any: ...

    def close(self) -> None: ...


class OxigraphStore:
    """``DocumentStore`` over an embedded pyoxigraph store."""

    def __init__(self, path: Path | None, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.path = path
        self._graph_prefix = self.base_url + "/graph/"
        self._write_lock = threading.Lock()
        self.generation = 0
        if path is None:
            self._store = ox.Store()
            return
        path.mkdir(parents=True, exist_ok=True)
        self.base_url = _store_base_url(path, self.base_url)
        self._graph_prefix = self.base_url + "/graph/"
        try:
            self._store = ox.Store(str(path / "oxigraph"))
        except OSError as exc:
            raise StoreError(
                f"cannot open the store at {path}: {exc}. Only one process can open an "
                "on-disk store; stop the other `registry` process that uses it",
                path=str(path),
            ) from exc

    def graph_iri(self, ctid: str) -> str:
        return self._graph_prefix + ctid

    def replace_document(self, document: Document) -> None:
        """Replace the document's graph in one transaction (a SPARQL update, or one
        ``extend`` for a new graph): readers see the old graph or the new one, never a mix."""
        graph = self.graph_iri(document.ctid)
        with self._write_lock:
            self.generation += 1
            if not self._store.contains_named_graph(ox.NamedNode(graph)):
                # A new graph needs no drop, and one extend() or load() is also one
                # transaction. On disk it took about half the time of the update below
                # (140,000 triples).
                self._add_graph(document.triples, ox.NamedNode(graph))
                return
            body = ox.serialize(document.triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
            update = (
                f"DROP SILENT GRAPH <{graph}> ;\nINSERT DATA {{ GRAPH <{graph}> {{\n{body}}} }}"
            )
            self._store.update(update)

    def _add_graph(self, triples: list[ox.Triple], graph: ox.NamedNode) -> None:
        """Add a new graph in one transaction, loaded from its N-Triples.

        ``load`` parses the N-Triples in Rust and gives every blank node a new
        identity (Oxigraph's ``Store::load_from_reader`` renames blank nodes;
        ``tests/test_store.py`` checks it), so a label such as ``_:c14n0`` that
        other documents also use never joins their nodes in the store. On disk,
        1,200 copies of real documents (about 150 triples each) took 7.3 ms
        each this way, against 8.4 ms with ``extend`` and a Python quad per
        triple (one run on a busy 2-CPU machine).
        """
        serialized = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        self._store.load(serialized, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)

    def add_documents(self, documents: list[Document]) -> list[Document]:
        """Store many new documents at once; return those that already had a graph,
        which are left alone for ``replace_document`` to swap one at a time.

        The new graphs go in through Oxigraph's bulk loader, without a
        transaction. On disk, 8 batches of 40,000 quads took 0.37 to 0.44 s
        each that way, against 0.86 s growing to 1.42 s as one transaction
        each, so a large load no longer slows as the store grows. A crash
        midway can leave some of these graphs partly written. Their versions
        are then not marked applied, so ``Publisher.recover`` replaces them
        whole at the next start; ``tests/test_crash.py`` checks it.
        """
        existing = []
        fresh = []
        with self._write_lock:
            for document in documents:
                graph = ox.NamedNode(self.graph_iri(document.ctid))
                if self._store.contains_named_graph(graph):
                    existing.append(document)
                else:
                    fresh.append((document, graph))
            self._store.bulk_extend(
                quad for document, graph in fresh for quad in _fresh_quads(document.triples, graph)
            )
            self.generation += 1
        return existing

    def remove_document(self, ctid: str) -> bool:
        graph = ox.NamedNode(self.graph_iri(ctid))
        with self._write_lock:
            if not self._store.contains_named_graph(graph):
                return False
            self._store.remove_graph(graph)
            self.generation += 1
        return True

    def document_triples(self, ctid: str) -> list[ox.Triple] | None:
        graph = ox.NamedNode(self.graph_iri(ctid))
        quads = list(self._store.quads_for_pattern(None, None, None, graph))
        if not quads:
            return None
        return [quad.triple for quad in quads]

    def owner_of(self, ctid: str) -> str | None:
        """Find the document holding ``ctid``: its own graph, or a graph listing it as a
        member (a competency inside its framework's graph)."""
        if self._store.contains_named_graph(ox.NamedNode(self.graph_iri(ctid))):
            return ctid
        pattern = self._store.quads_for_pattern(
            None, ox.NamedNode(CTID_PREDICATE), ox.Literal(ctid)
        )
        for quad in pattern:
            graph = quad.graph_name
            if isinstance(graph, ox.NamedNode) and graph.value.startswith(self._graph_prefix):
                return graph.value[len(self._graph_prefix) :]
        return None

    def resource_subject(self, document_ctid: str, ctid: str) -> ox.NamedNode | None:
        graph = ox.NamedNode(self.graph_iri(document_ctid))
        pattern = self._store.quads_for_pattern(
            None, ox.NamedNode(CTID_PREDICATE), ox.Literal(ctid), graph
        )
        for quad in pattern:
            if isinstance(quad.subject, ox.NamedNode):
                return quad.subject
        return None

    def resource_triples(self, document_ctid: str, subject: ox.NamedNode) -> list[ox.Triple]:
        """Read one resource without its whole document: a competency of a framework of
        20,000 took 0.7 s when the framework's graph was read to cut it out."""
        graph = ox.NamedNode(self.graph_iri(document_ctid))
        result: list[ox.Triple] = []
        pending: list[ox.NamedNode | ox.BlankNode] = [subject]
        seen = {subject}
        while pending:
            current = pending.pop()
            for quad in self._store.quads_for_pattern(current, None, None, graph):
                result.append(quad.triple)
                if isinstance(quad.object, ox.BlankNode) and quad.object not in seen:
                    seen.add(quad.object)
                    pending.append(quad.object)
        return result

    def document_ctids(self) -> Iterator[str]:
        for graph in self._store.named_graphs():
            if isinstance(graph, ox.NamedNode) and graph.value.startswith(self._graph_prefix):
                yield graph.value[len(self._graph_prefix) :]

    def types_of(self, iris: Iterable[ox.NamedNode]) -> list[ox.Triple]:
        found = set()
        for iri in iris:
            for quad in self._store.quads_for_pattern(iri, RDF_TYPE, None, None):
                found.add(quad.triple)
        return sorted(found, key=str)

    def links_to(self, iris: Iterable[ox.NamedNode], target: ox.NamedNode) -> list[ox.Triple]:
        found = set()
        for iri in iris:
            for quad in self._store.quads_for_pattern(iri, None, target, None):
                found.add(quad.triple)
        return sorted(found, key=str)

    def count_documents(self) -> int:
        return sum(1 for _ in self.document_ctids())

    def query(self, sparql: str, **options: Any) -> Any:
        """Run a read-only SPARQL query; the default graph is the union of all documents."""
        options.setdefault("use_default_graph_as_union", True)
        return self._store.query(sparql, **options)

    def quads(self, graphs: Iterable[str] | None = None) -> Iterator[ox.Quad]:
        if graphs is None:
            yield from self._store
            return
        for graph in graphs:
            yield from self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph))

    def flush(self) -> None:
        if self.path is not None:
            self._store.flush()

    def close(self) -> None:
        self.flush()
        del self._store


def _fresh_quads(triples: list[ox.Triple], graph: ox.NamedNode) -> Iterator[ox.Quad]:
    """Yield the triples as quads in ``graph`` with new blank nodes.

    Oxigraph identifies a blank node by its label across the whole store, so
    labels reused by another document (``_:c14n0`` from canonical N-Triples,
    say) must not reach it. SPARQL ``INSERT DATA`` makes fresh ones by itself.
    """
    fresh: dict[str, ox.BlankNode] = {}

    def rename(term: Any) -> Any:
        if isinstance(term, ox.BlankNode):
            return fresh.setdefault(term.value, ox.BlankNode())
        return term

    for triple in triples:
        yield ox.Quad(rename(triple.subject), triple.predicate, rename(triple.object), graph)


def _store_base_url(path: Path, base_url: str) -> str:
    """Return the base URL that names the store's graphs, recording it in a new store.

    Graph names embed the base URL, so a store keeps the one it was created
    with. Serving it under another base URL changes the public links only.
    """
    metadata_path = path / METADATA_FILE
    if not metadata_path.exists():
        foreign = [p.name for p in path.iterdir() if not p.name.startswith(LEDGER_PREFIX)]
        if foreign:
            raise StoreError(
                f"{path} is not empty and is not a registry store (no {METADATA_FILE}); "
                "choose an empty or new folder for --store",
                path=str(path),
            )
        metadata_path.write_text(
            json.dumps({"format": STORE_FORMAT, "base_url": base_url}, indent=2) + "\n"
        )
        return base_url
    recorded = json.loads(metadata_path.read_text()).get("base_url", base_url)
    if recorded != base_url:
        log.warning(
            "store %s names its graphs under %s; serving it with base URL %s",
            path,
            recorded,
            base_url,
        )
    return recorded


def open_store(path: Path | None, base_url: str) -> OxigraphStore:
    """Open the configured store; the one place that chooses the storage backend."""
    return OxigraphStore(path, base_url)
