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
from collections import deque
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

    A query that finds every worker busy waits in a first-come, first-served
    queue for at most ``queue_wait`` seconds. It gets ``ServiceBusy`` at once
    when ``queue_length`` queries are already waiting, or when its wait runs
    out. The time limit starts before the wait, so ``run`` returns or raises
    within ``query_timeout`` seconds of being called, waiting included.

    NOTE: pyoxigraph cannot cancel a running query. After the time limit the
    worker stops at the next result it pulls, but a query that sorts, groups
    or counts a huge input (ORDER BY, GROUP BY, DISTINCT, COUNT) finishes that
    step first. Such queries keep their worker slot meanwhile, so the queries
    behind them wait longer and get ``ServiceBusy`` sooner.
    """

    def __init__(self, store: Any, settings: Settings) -> None:
        self.store = store
        self.timeout = settings.query_timeout
        self.max_results = settings.max_results
        self.queue_length = _queue_length(settings)
        self.queue_wait = _queue_wait(settings)
        self._slots = _WorkerSlots(
            settings.query_workers, self.queue_length, retry_after=max(1, int(self.timeout))
        )
        self._executor = ThreadPoolExecutor(
            max_workers=settings.query_workers, thread_name_prefix="sparql"
        )

    @property
    def waiting(self) -> int:
        """The number of queries waiting for a free worker."""
        return self._slots.waiting

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def run(
        self,
        query: str,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        check: bool = True,
    ) -> QueryResult:
        """Check and run a query, waiting for a free worker if all are busy.

        Raise ``ServiceBusy`` if the queue is full or the wait runs out, and
        ``QueryTimeout`` or ``ResultTooLarge`` past a limit. ``check=False``
        skips the text check (no update, no ``SERVICE``), for the queries the
        registry writes itself: scanning a long ``VALUES`` list took longer
        than some of those queries.
        """
        started = time.monotonic()
        deadline = started + self.timeout
        if check:
            check_query(query)
        options = _dataset_options(default_graphs, named_graphs)
        self._slots.acquire(self.queue_wait)
        waited = time.monotonic() - started

        cancel = threading.Event()
        try:
            future = self._executor.submit(self._execute, query, options, deadline, cancel)
        except RuntimeError:
            self._slots.release()
            raise
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout as exc:
            cancel.set()
            if future.cancel():
                # It never started, so ``_execute`` will not free its slot.
                self._slots.release()
            raise QueryTimeout(
                self._timeout_message(waited),
                limit_seconds=self.timeout,
                waited_seconds=round(waited, 3),
            ) from exc

    def _timeout_message(self, waited: float) -> str:
        advice = "add selective patterns or a LIMIT, or run it on a copy of the data"
        if round(waited, 1) == 0:
            return (
                f"the query did not finish within the {self.timeout:g} s limit and was "
                f"stopped; {advice}"
            )
        return (
            f"the query did not finish within the {self.timeout:g} s limit, which includes "
            f"{waited:.1f} s spent waiting for a free worker, and was stopped; {advice}, "
            "or retry when the registry is less busy"
        )

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


class _WorkerSlots:
    """Worker slots handed out first come, first served, with a bounded queue of waiters.

    ``threading.Semaphore`` lets a caller that arrives just as a slot is freed
    take it ahead of callers that have waited longer, so the slots keep their
    own queue.
    """

    def __init__(self, slots: int, max_waiting: int, retry_after: int) -> None:
        self.slots = slots
        self.max_waiting = max_waiting
        self.retry_after = retry_after
        self._free = slots
        self._queue: deque[object] = deque()
        self._changed = threading.Condition()

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._queue)

    def acquire(self, timeout: float) -> None:
        """Take a slot, waiting up to ``timeout`` seconds behind earlier callers.

        Raise ``ServiceBusy`` at once if ``max_waiting`` callers already wait,
        or when the wait runs out.
        """
        with self._changed:
            if self._free and not self._queue:
                self._free -= 1
                return
            if len(self._queue) >= self.max_waiting:
                raise self._queue_full()

            ticket = object()
            self._queue.append(ticket)
            try:
                turn = self._changed.wait_for(
                    lambda: self._free > 0 and self._queue[0] is ticket, timeout
                )
                if not turn:
                    raise self._wait_expired(timeout)
                self._free -= 1
            finally:
                self._queue.remove(ticket)
                # The next caller in the queue may now be first with a free slot.
                self._changed.notify_all()

    def release(self) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify_all()

    def _queue_full(self) -> ServiceBusy:
        return ServiceBusy(
            f"all {self.slots} query workers are busy and the queue for them is full "
            f"({self.max_waiting} queries waiting); retry in {self.retry_after} s",
            retry_after=self.retry_after,
            reason="queue-full",
            queue_length=self.max_waiting,
        )

    def _wait_expired(self, timeout: float) -> ServiceBusy:
        return ServiceBusy(
            f"no query worker became free within the {timeout:g} s maximum wait, because all "
            f"{self.slots} workers were busy with earlier queries; retry in {self.retry_after} s",
            retry_after=self.retry_after,
            reason="queue-wait-expired",
            max_wait_seconds=timeout,
        )


def _queue_length(settings: Settings) -> int:
    """Return how many queries may wait for a worker: the setting, or 4 per worker."""
    length = settings.query_queue_length
    if length is None:
        return 4 * settings.query_workers
    if length < 0:
        raise ValueError(
            f"REGISTRY_QUERY_QUEUE_LENGTH={length} is invalid: expected 0 or more waiting queries"
        )
    return length


def _queue_wait(settings: Settings) -> float:
    """Return the maximum seconds a query waits for a worker: the setting or half the time
    limit, and never more than the time limit, which the wait counts toward."""
    wait = settings.query_queue_wait
    if wait is None:
        return settings.query_timeout / 2
    if wait < 0:
        raise ValueError(
            f"REGISTRY_QUERY_QUEUE_WAIT={wait:g} is invalid: expected 0 or more seconds"
        )
    return min(wait, settings.query_timeout)


def _dataset_options(
    default_graphs: list[str] | None, named_graphs: list[str] | None
) -> dict[str, Any]:
    """Map the protocol's ``default-graph-uri`` and ``named-graph-uri`` to pyoxigraph options."""
    options: dict[str, Any] = {}
    if default_graphs:
        options["use_default_graph_as_union"] = False
        options["default_graph"] = [_graph_name("default-graph-uri", v) for v in default_graphs]
    if named_graphs:
        options["named_graphs"] = [_graph_name("named-graph-uri", v) for v in named_graphs]
    return options


def _graph_name(parameter: str, value: str) -> ox.NamedNode:
    try:
        return ox.NamedNode(value)
    except ValueError as exc:
        raise InvalidQuery(
            f"{parameter} {value!r} is not a valid IRI ({exc}); give each graph as an absolute "
            "IRI, such as the registry's {base URL}/graph/{ctid}",
            parameter=parameter,
        ) from exc
