"""Read-only SPARQL 1.1 queries with a time limit, a result-size limit and no outbound calls.

Oxigraph evaluates ``SERVICE`` by calling the remote endpoint over HTTP, and
its Python API cannot turn that off, so ``check_query`` rejects ``SERVICE``
(and every update form, ``LOAD`` included) before anything runs. It scans
tokens instead of parsing, so it never disagrees with Oxigraph's parser about
which queries are valid: keywords inside strings, IRIs, comments, variables
and prefixed names are skipped.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from registry.config import Settings
from registry.errors import InvalidQuery, QueryTimeout, RegistryError, ResultTooLarge, ServiceBusy

log = logging.getLogger(__name__)

UPDATE_KEYWORDS = {
    "INSERT",
    "DELETE",
    "LOAD",
    "CLEAR",
    "CREATE",
    "DROP",
    "COPY",
    "MOVE",
    "ADD",
    "WITH",
}
PROLOGUE_KEYWORDS = {"PREFIX", "BASE"}

_SKIPPED = re.compile(
    r"""
      \#[^\n\r]*                                # comment
    | '''(?:[^'\\]|\\.|'(?!''))*'''            # long single-quoted string
    | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"      # long double-quoted string
    | '(?:[^'\\\n\r]|\\.)*'                     # string
    | "(?:[^"\\\n\r]|\\.)*"                     # string
    | <[^<>"{}|^`\\\x00-\x20]*>                 # IRI reference
    """,
    re.VERBOSE,
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def keywords(query: str) -> Iterator[str]:
    """Yield the bare keywords of a SPARQL text, upper-cased, in order.

    Words that are variables (``?x``), parts of prefixed names (``ex:load``),
    blank-node labels, language tags, or inside strings, IRIs or comments are
    not keywords and are skipped.
    """
    text = _SKIPPED.sub(" ", query)
    for match in _WORD.finditer(text):
        before = text[match.start() - 1] if match.start() else " "
        after = text[match.end()] if match.end() < len(text) else " "
        if before in "?$:@_." or after == ":":
            continue
        yield match.group().upper()


def check_query(query: str) -> None:
    """Reject empty queries, updates and ``SERVICE`` before the engine runs them."""
    if not query.strip():
        raise InvalidQuery("the query is empty; send a SPARQL query in the 'query' parameter")
    words = list(keywords(query))
    first = next((w for w in words if w not in PROLOGUE_KEYWORDS), "")
    if first in UPDATE_KEYWORDS:
        raise InvalidQuery(
            f"{first} is a SPARQL update; this endpoint is read-only and accepts only SELECT, "
            "ASK, CONSTRUCT and DESCRIBE queries",
            keyword=first,
        )
    if "SERVICE" in words:
        raise InvalidQuery(
            "SERVICE (federated query) is not allowed: the registry does not call other "
            "endpoints on a client's behalf; run the federated query from your own SPARQL "
            "engine and point it at this endpoint",
            keyword="SERVICE",
        )


@dataclass
class QueryResult:
    """A finished query: SELECT rows, an ASK boolean, or CONSTRUCT/DESCRIBE triples."""

    kind: str  # "select", "ask" or "graph"
    variables: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    boolean: bool = False
    triples: list[ox.Triple] = field(default_factory=list)
    elapsed_ms: float = 0.0


class QueryRunner:
    """Runs queries on worker threads so that the caller can give up at the time limit.

    NOTE: pyoxigraph cannot cancel a running query. After the time limit the
    worker stops at the next result it pulls, but a query that sorts, groups
    or counts a huge input (ORDER BY, GROUP BY, DISTINCT, COUNT) finishes that
    step first. Such queries keep their worker slot meanwhile, and once all
    slots are taken new queries get ``ServiceBusy`` instead of queueing.
    """

    def __init__(self, store: Any, settings: Settings) -> None:
        self.store = store
        self.timeout = settings.query_timeout
        self.max_results = settings.max_results
        self._slots = threading.BoundedSemaphore(settings.query_workers)
        self._executor = ThreadPoolExecutor(
            max_workers=settings.query_workers, thread_name_prefix="sparql"
        )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def run(
        self,
        query: str,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> QueryResult:
        """Check and run a query; raise ``QueryTimeout`` or ``ResultTooLarge`` past a limit."""
        check_query(query)
        if not self._slots.acquire(blocking=False):
            raise ServiceBusy(
                "all query workers are busy with earlier queries; retry in a few seconds",
                retry_after=max(1, int(self.timeout)),
            )
        cancel = threading.Event()
        deadline = time.monotonic() + self.timeout
        options = _dataset_options(default_graphs, named_graphs)
        try:
            future = self._executor.submit(self._execute, query, options, deadline, cancel)
        except RuntimeError:
            self._slots.release()
            raise
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout as exc:
            cancel.set()
            raise QueryTimeout(
                f"the query did not finish within the {self.timeout:g} s limit and was "
                "stopped; add selective patterns or a LIMIT, or run it on a copy of the data",
                limit_seconds=self.timeout,
            ) from exc

    def _execute(
        self, query: str, options: dict[str, Any], deadline: float, cancel: threading.Event
    ) -> QueryResult:
        started = time.perf_counter()
        try:
            result = self._collect(query, options, deadline, cancel)
        except RegistryError as exc:
            # Drop the traceback here: its frames hold pyoxigraph result iterators,
            # which must be freed on the thread that created them.
            raise exc.with_traceback(None) from None
        finally:
            self._slots.release()
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        return result

    def _collect(
        self, query: str, options: dict[str, Any], deadline: float, cancel: threading.Event
    ) -> QueryResult:
        try:
            results = self.store.query(query, **options)
        except SyntaxError as exc:
            raise InvalidQuery(f"the query is not valid SPARQL 1.1: {exc}") from exc
        except OSError as exc:
            raise RegistryError(f"the store failed while running the query: {exc}") from exc

        if isinstance(results, ox.QueryBoolean):
            return QueryResult("ask", boolean=bool(results))
        if isinstance(results, ox.QuerySolutions):
            variables = [v.value for v in results.variables]
            rows = [
                [solution[name] for name in variables]
                for solution in self._bounded(results, deadline, cancel)
            ]
            return QueryResult("select", variables=variables, rows=rows)
        return QueryResult("graph", triples=list(self._bounded(results, deadline, cancel)))

    def _bounded(self, results: Any, deadline: float, cancel: threading.Event) -> Iterator[Any]:
        count = 0
        try:
            for item in results:
                if cancel.is_set() or time.monotonic() > deadline:
                    raise QueryTimeout(f"the query exceeded the {self.timeout:g} s limit")
                count += 1
                if count > self.max_results:
                    raise ResultTooLarge(
                        f"the query returns more than {self.max_results} results, the limit of "
                        "this endpoint; add a LIMIT (and OFFSET to page through the rest)",
                        limit_results=self.max_results,
                    )
                yield item
        except OSError as exc:
            raise RegistryError(f"the store failed while reading results: {exc}") from exc


def _dataset_options(
    default_graphs: list[str] | None, named_graphs: list[str] | None
) -> dict[str, Any]:
    """Map the protocol's ``default-graph-uri`` and ``named-graph-uri`` to pyoxigraph options."""
    options: dict[str, Any] = {}
    if default_graphs:
        options["use_default_graph_as_union"] = False
        options["default_graph"] = [ox.NamedNode(iri) for iri in default_graphs]
    if named_graphs:
        options["named_graphs"] = [ox.NamedNode(iri) for iri in named_graphs]
    return options
