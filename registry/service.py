"""The registry's domain operations, shared by the HTTP API and the CLI."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from registry.config import Settings
from registry.ctid import path_ctid
from registry.errors import Gone, NotFound
from registry.ingest import CTID_PREDICATE, RDF_TYPE, Document, parse_document
from registry.jsonld import PinnedLoader, compact_nodes, context_url_for
from registry.ledger import Ledger, Version
from registry.links import LinkIndex
from registry.publishing import Publisher
from registry.queries import ClassHierarchy, compact, schema_encodings
from registry.search import SearchIndex
from registry.sparql import QueryRunner
from registry.store import DocumentStore, open_store
from registry.vocab import VocabCache

log = logging.getLogger(__name__)

LEDGER_FILE = "ledger.sqlite3"
SEARCH_FILE = "search.sqlite3"
LINKS_FILE = "links.sqlite3"


@dataclass(frozen=True)
class StoredGraph:
    """A stored document graph: whose it is, its graph IRI and its triples."""

    ctid: str
    graph_iri: str
    triples: list[ox.Triple]


class Registry:
    """The store, the pinned vocabulary and the operations on documents."""

    def __init__(
        self,
        settings: Settings,
        store: DocumentStore | None = None,
        cache: VocabCache | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache or VocabCache(settings.vocab_cache_dir)
        self.loader = PinnedLoader(self.cache)
        self.store = store or open_store(settings.store, settings.base_url)
        self.queries = QueryRunner(self.store, settings)
        ledger_path = settings.store / LEDGER_FILE if settings.store else None
        self.ledger = Ledger(ledger_path)
        self._classes: ClassHierarchy | None = None
        self._learning: frozenset[str] | None = None
        search_path = settings.store / SEARCH_FILE if settings.store else None
        self.search = SearchIndex(search_path, self._class_and_ancestors)
        self.links = LinkIndex(
            settings.store / LINKS_FILE if settings.store else None, self._is_learning
        )
        self.publisher = Publisher(self, self.ledger)
        self._validator: Any = None
        self._employer: Any = None
        self.publisher.recover()
        applied = self.ledger.applied_versions()
        for index in self.indexes:
            index.sync(applied, self.store.document_triples)

    @property
    def validator(self) -> Any:
        """The SHACL validator, built on first use because reading the shapes takes a while."""
        if self._validator is None:
            from registry.validation import Validator

            self._validator = Validator(self.cache)
        return self._validator

    @property
    def classes(self) -> ClassHierarchy:
        """The CTDL class hierarchy, read from the pinned schema encodings on first use."""
        if self._classes is None:
            self._classes = ClassHierarchy(schema_encodings(self.cache))
        return self._classes

    @property
    def employer(self) -> Any:
        """The employer and partner query API (``registry.employer``)."""
        if self._employer is None:
            from registry.employer import EmployerQueries

            self._employer = EmployerQueries(
                self.queries, self.store, self.classes, self.search, self.links
            )
        return self._employer

    @property
    def indexes(self) -> tuple[Any, ...]:
        """The indexes derived from the documents (``registry.derived``), updated after
        each store write."""
        return (self.search, self.links)

    def _is_learning(self, classes: set[str]) -> bool:
        """Tell whether a resource of these classes can prepare for an occupation."""
        if self._learning is None:
            self._learning = frozenset(self.classes.learning_classes())
        return not self._learning.isdisjoint(classes)

    def _class_and_ancestors(self, class_iri: str) -> set[str]:
        return self.classes.ancestors(compact(class_iri))

    def close(self) -> None:
        self.queries.close()
        self.ledger.close()
        for index in self.indexes:
            index.close()
        self.store.close()

    def parse(self, data: bytes, source: str, media_type: str | None = None) -> Document:
        """Parse a document without storing it."""
        return parse_document(data, source, self.loader, media_type)

    def load(self, data: bytes, source: str, media_type: str | None = None) -> Document:
        """Parse a document and store it as a new version, without validation."""
        started = time.perf_counter()
        document = self.parse(data, source, media_type)
        self.publisher.record_load(document)
        log.info(
            "stored %s from %s: %d triples, %d warnings in %.1f ms",
            document.ctid,
            source,
            len(document.triples),
            len(document.warnings),
            (time.perf_counter() - started) * 1000,
        )
        return document

    def parse_graph_jsonld(self, data: bytes) -> list[ox.Triple]:
        """Read the triples of a JSON-LD graph (e.g. a CONSTRUCT result) with pinned contexts."""
        from registry.ingest import _load_json
        from registry.jsonld import to_triples

        return to_triples(_load_json(data, "JSON-LD"), self.loader)

    def graph(self, ctid: str) -> StoredGraph:
        """Return the graph of the document that contains ``ctid`` (its own or its container's)."""
        ctid = path_ctid(ctid)
        owner = self.store.owner_of(ctid)
        triples = self.store.document_triples(owner) if owner else None
        if owner is None or triples is None:
            raise self.publisher.missing(ctid)
        return StoredGraph(owner, self.store.graph_iri(owner), triples)

    def resource(self, ctid: str) -> tuple[str, str, list[ox.Triple]]:
        """Return the graph IRI of a resource's document, its subject, and its own
        statements with those of the blank nodes it uses.

        Only those statements are read from the store, unless the resource is a
        document's main node without a CTID statement, found from the whole graph.
        """
        ctid = path_ctid(ctid)
        owner = self.store.owner_of(ctid)
        if owner is None:
            raise self.publisher.missing(ctid)
        subject = self.store.resource_subject(owner, ctid)
        if subject is not None:
            return (
                self.store.graph_iri(owner),
                subject.value,
                self.store.resource_triples(owner, subject),
            )
        stored = self.graph(ctid)
        key = _resource_subject(stored, ctid, self.store)
        return stored.graph_iri, key, _bounded_description(stored.triples, key)

    def versions(self, ctid: str) -> list[Version]:
        """Return every version of a document, oldest first; raise ``NotFound`` if none."""
        ctid = path_ctid(ctid)
        history = self.ledger.versions(ctid)
        if not history:
            raise NotFound(f"no document with CTID {ctid} was ever published here", ctid=ctid)
        return history

    def version_graph(self, ctid: str, number: int) -> StoredGraph:
        """Return the graph of one past (or the current) version of a document."""
        ctid = path_ctid(ctid)
        version = self.ledger.version(ctid, number)
        if version is None:
            raise NotFound(f"{ctid} has no version {number}; see /graph/{ctid}/versions", ctid=ctid)
        if version.action == "delete":
            raise Gone(f"version {number} of {ctid} is its deletion; it has no content", ctid=ctid)
        parsed = ox.parse(version.content or b"", format=ox.RdfFormat.N_TRIPLES)
        triples = [quad.triple for quad in parsed]
        return StoredGraph(ctid, f"{self.store.graph_iri(ctid)}/versions/{number}", triples)

    def graph_jsonld(self, ctid: str) -> dict[str, Any]:
        """Render a document graph the way the reference registry serves ``/graph/{ctid}``."""
        return self.render_jsonld(self.graph(ctid))

    def render_jsonld(self, stored: StoredGraph) -> dict[str, Any]:
        """Render a stored graph as a registry ``/graph`` document."""
        primary = _primary_of(stored, self.store)
        context = context_url_for(_types_of(stored.triples, primary))
        nodes = compact_nodes(stored.triples, [primary], self.loader, context)
        return {"@context": context, "@id": stored.graph_iri, "@graph": nodes}

    def resource_jsonld(self, ctid: str) -> dict[str, Any]:
        """Render one resource the way the reference registry serves ``/resources/{ctid}``."""
        _, subject, triples = self.resource(ctid)
        context = context_url_for(_types_of(triples, subject))
        nodes = compact_nodes(triples, [subject], self.loader, context)
        return {"@context": context, **nodes[0]}


def _primary_of(stored: StoredGraph, store: DocumentStore) -> str:
    for triple in stored.triples:
        if triple.predicate.value == CTID_PREDICATE and triple.object.value == stored.ctid:
            return _term_key(triple.subject)
    for triple in stored.triples:
        if isinstance(triple.subject, ox.NamedNode) and triple.subject.value.endswith(stored.ctid):
            return triple.subject.value
    return _term_key(stored.triples[0].subject)


def _resource_subject(stored: StoredGraph, ctid: str, store: DocumentStore) -> str:
    subject = store.resource_subject(stored.ctid, ctid)
    if subject is not None:
        return subject.value
    if ctid == stored.ctid:
        return _primary_of(stored, store)
    raise NotFound(f"no resource with CTID {ctid} is in the registry", ctid=ctid)


def _bounded_description(triples: list[ox.Triple], subject: str) -> list[ox.Triple]:
    """Return the statements about ``subject`` plus, recursively, about the blank nodes it
    uses: the Concise Bounded Description of the resource within its document."""
    by_subject: dict[str, list[ox.Triple]] = {}
    for triple in triples:
        by_subject.setdefault(_term_key(triple.subject), []).append(triple)

    result: list[ox.Triple] = []
    pending = [subject]
    seen = {subject}
    while pending:
        current = pending.pop()
        for triple in by_subject.get(current, []):
            result.append(triple)
            if isinstance(triple.object, ox.BlankNode):
                key = _term_key(triple.object)
                if key not in seen:
                    seen.add(key)
                    pending.append(key)
    return result


def _types_of(triples: list[ox.Triple], subject: str) -> list[str]:
    return [
        t.object.value
        for t in triples
        if t.predicate.value == RDF_TYPE and _term_key(t.subject) == subject
    ]


def _term_key(term: Any) -> str:
    return "_:" + term.value if isinstance(term, ox.BlankNode) else term.value
