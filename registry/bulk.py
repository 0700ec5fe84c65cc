"""Parallel bulk loading: worker processes parse and validate, the main process writes.

``registry load --workers N`` hands each file to one of N worker processes.
A worker reads the file with its own loader and validates the documents with
its own SHACL validator, built once per process. The main process remains
the only writer. It takes the outcomes in file order and stores them in the
same batches as a load in one process, so the report lines, the summary, the
exit code, the ledger and the store come out the same.

Validation reads the store: ``Publisher.validate_document`` looks up the
types and links of the stored resources a document references. A document
is validated against the store as it was after the batch before its own was
written. A worker cannot open the store, because one process owns an on-disk
store. So once that batch is written, the main process runs the lookups and
sends their results with the document, and the store of the worker's
registry returns them to the validator (``StoredStatements``). Parsing does
not depend on the store, so workers parse files ahead of the batch being
written.

Documents travel between processes as N-Triples. Serializing and parsing
100 generated documents that way took about a fifth of the time of
pickling their pyoxigraph terms (pyoxigraph 0.5.13).

Failures:

- An exception while a worker reads or validates a file fails that file,
  with the exception in its report line. The traceback is logged.
- A worker that exits (a crash, or killed for memory) fails the file it was
  working on. A new worker takes over the files queued for it.
- A worker that cannot start stops the load with the reason, and so do
  workers that keep exiting without finishing a task.
- Workers ignore Ctrl-C. The main process terminates them when the
  interrupt unwinds the load.

NOTE: a worker that never finishes a file (a parser stuck in a loop) hangs
the load, as it would hang a single-process load. No time limit applies.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from loaders.base import Loader, Outcome
from registry.config import Settings
from registry.errors import RegistryError
from registry.ingest import Document

log = logging.getLogger(__name__)

# The main process has threads and an open RocksDB store, which a forked
# child would inherit in an unknown state; spawned workers start clean.
START_METHOD = "spawn"

# Files handed to the workers beyond the one the batches have reached. Two
# batches' worth keeps the workers parsing while the main process writes.
PARSE_AHEAD_FILES = 500

# Seconds that workers get to exit after a complete load before they are terminated.
STOP_TIMEOUT = 10.0

READ = "read"
VALIDATE = "validate"
STOP = "stop"

# A store lookup of ``Publisher.validate_document``: the method, how many
# IRIs it was asked about and the target IRI of ``links_to``. The count, not
# the IRIs, keeps the tasks of large frameworks small.
Lookup = tuple[str, int, str | None]

ValidateOutcome = Callable[[Any, Outcome], None]
BatchFull = Callable[[list[Outcome]], bool]


# --- Documents between processes --------------------------------------------


@dataclass
class PackedDocument:
    """A document as it travels between processes: everything but the triples,
    and the triples as N-Triples."""

    document: Document
    ntriples: bytes


def pack(document: Document) -> PackedDocument:
    return PackedDocument(dataclasses.replace(document, triples=[]), _serialize(document.triples))


def unpack(packed: PackedDocument) -> Document:
    """Rebuild the document; blank-node labels and the order of the triples are kept."""
    return dataclasses.replace(packed.document, triples=_parse(packed.ntriples))


def _serialize(triples: list[ox.Triple]) -> bytes:
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)


def _parse(ntriples: bytes) -> list[ox.Triple]:
    return [quad.triple for quad in ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)]


def store_lookups(store: Any, document: Document) -> dict[Lookup, bytes]:
    """Read from the store what validating ``document`` reads, as N-Triples per lookup.

    These are the lookups of ``Publisher._referenced``: the types of the IRIs
    the document's statements point to, and their statements that point back
    at its main resource. If that method changes which methods it calls, or
    how many IRIs it passes, ``StoredStatements`` raises an error instead of
    returning wrong statements.
    """
    primary = None if document.primary.startswith("_:") else ox.NamedNode(document.primary)
    iris = {t.object for t in document.triples if isinstance(t.object, ox.NamedNode)}
    iris.discard(primary)
    lookups = {("types_of", len(iris), None): _serialize(store.types_of(iris))}
    if primary is not None:
        lookups[("links_to", len(iris), primary.value)] = _serialize(store.links_to(iris, primary))
    return lookups


class StoredStatements:
    """The store of a worker's registry, which returns for the validator's lookups the
    statements that the main process read from the real store for the current document."""

    def __init__(self) -> None:
        self._results: dict[Lookup, list[ox.Triple]] = {}

    def set_lookups(self, lookups: dict[Lookup, bytes]) -> None:
        self._results = {key: _parse(ntriples) for key, ntriples in lookups.items()}

    def types_of(self, iris: Collection[ox.NamedNode]) -> list[ox.Triple]:
        return self._result(("types_of", len(iris), None))

    def links_to(self, iris: Collection[ox.NamedNode], target: ox.NamedNode) -> list[ox.Triple]:
        return self._result(("links_to", len(iris), target.value))

    def _result(self, lookup: Lookup) -> list[ox.Triple]:
        try:
            return self._results[lookup]
        except KeyError:
            raise RuntimeError(
                f"the main process sent no stored statements for the validator's {lookup[0]} "
                "lookup; registry.bulk.store_lookups no longer matches Publisher.validate_document"
                ", so load with --workers 1 until it does"
            ) from None

    def close(self) -> None:
        self._results = {}


# --- The worker process -----------------------------------------------------


@dataclass
class ValidationTask:
    """The data a worker needs to validate a document: where it kept the document
    (the read task and the position in the file), and the store lookups."""

    key: tuple[int, int]
    source: str
    lookups: dict[Lookup, bytes]
    # The document itself, only when the worker that read it has exited.
    packed: PackedDocument | None = None


@dataclass
class PackedOutcome:
    """A loader outcome as it travels from a worker: the document packed, if any."""

    source: str
    document: PackedDocument | None
    error: str | None
    skipped: str | None

    @classmethod
    def of(cls, outcome: Outcome) -> PackedOutcome:
        document = pack(outcome.document) if outcome.document is not None else None
        return cls(outcome.source, document, outcome.error, outcome.skipped)

    def unpacked(self) -> Outcome:
        document = unpack(self.document) if self.document is not None else None
        return Outcome(self.source, document, self.error, self.skipped)


class _WorkerState:
    """The state a worker keeps between tasks: a registry without a store, a loader and
    (inside the registry) a validator."""

    def __init__(
        self,
        settings: Settings,
        loader_type: type[Loader],
        validate: bool,
        validate_outcome: ValidateOutcome,
    ) -> None:
        from registry.service import Registry

        # The registry starts on an empty in-memory store, and then reads
        # through ``StoredStatements`` only, so no lookup can miss the real store silently.
        self.registry = Registry(dataclasses.replace(settings, store=None))
        self.registry.store.close()
        self.statements = StoredStatements()
        self.registry.store = self.statements
        self.loader = loader_type(self.registry)
        self.validate_outcome = validate_outcome
        # The documents read here, kept until the main process sends their
        # validation task, so that it need not send them back.
        self.kept: dict[tuple[int, int], Document] = {}
        self.keep_documents = validate
        if validate:
            try:  # build the shapes now, while the main process starts up
                _ = (self.registry.validator, self.registry.classes)
            except RegistryError:
                pass  # raised again on each document, and reported as in a single-process load

    def read(self, task_id: int, path: str) -> list[PackedOutcome]:
        """Read a file; keep its documents under (``task_id``, position) for validation."""
        packed = []
        for position, outcome in enumerate(self.loader.read(Path(path))):
            if self.keep_documents and outcome.document is not None:
                self.kept[(task_id, position)] = outcome.document
            packed.append(PackedOutcome.of(outcome))
        return packed

    def validate(self, task: ValidationTask) -> str | None:
        """Validate one document as ``registry load`` does; return its error, or ``None``.

        The document is the one this worker kept when it read the file or, if
        another worker read it, the copy in the task.
        """
        document = self.kept.pop(task.key, None)
        if document is None and task.packed is not None:
            document = unpack(task.packed)
        if document is None:
            raise RuntimeError(f"the document to validate ({task.key}) was neither kept nor sent")
        self.statements.set_lookups(task.lookups)
        outcome = Outcome(task.source, document=document)
        try:
            self.validate_outcome(self.registry, outcome)
        finally:
            self.statements.set_lookups({})
        return outcome.error


def worker_main(
    connection: Connection,
    settings: Settings,
    loader_type: type[Loader],
    validate: bool,
    validate_outcome: ValidateOutcome,
) -> None:
    """Run tasks from the main process until it sends ``None`` or goes away.

    A thread reads the tasks as they arrive so that validation, which the
    main process waits for, runs before the files read ahead.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        state = _WorkerState(settings, loader_type, validate, validate_outcome)
    except Exception:
        connection.send(("startup failed", traceback.format_exc()))
        return
    connection.send(("ready",))

    tasks: queue.PriorityQueue = queue.PriorityQueue()
    threading.Thread(target=_receive_tasks, args=(connection, tasks), daemon=True).start()
    while True:
        _, task_id, kind, payload = tasks.get()
        if kind == STOP:
            break
        connection.send(("started", task_id))
        try:
            result = state.read(task_id, payload) if kind == READ else state.validate(payload)
            connection.send(("done", task_id, result))  # pickled before anything is written
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            connection.send(("failed", task_id, message, traceback.format_exc()))
    state.registry.close()

    # NOTE: at the end of one 10,000-document load on a busy machine, a worker
    # did not exit within STOP_TIMEOUT and was killed. The cause was not found.
    # The worker owns no files, so it exits without the interpreter's teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _receive_tasks(connection: Connection, tasks: queue.PriorityQueue) -> None:
    stop = (-1, -1, STOP, None)
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):  # the main process has gone
            tasks.put(stop)
            return
        except Exception:  # a task that cannot be unpickled: exit, which the main process reports
            traceback.print_exc()
            os._exit(1)
        if task is None:
            tasks.put(stop)
            return
        tasks.put(task)


# --- The pool of workers, seen from the main process ------------------------


@dataclass
class _Task:
    task_id: int
    kind: str
    payload: Any
    label: str
    started: bool = False
    # The payload for any other worker than the one it was meant for.
    fallback: Any = None


@dataclass
class _Worker:
    number: int
    process: Any
    connection: Connection
    ready: bool = False
    tasks: dict[int, _Task] = field(default_factory=dict)

    def queued(self, kind: str) -> int:
        """Count the tasks ahead of a new task of ``kind``: validation runs first."""
        if kind == VALIDATE:
            return sum(1 for task in self.tasks.values() if task.kind == VALIDATE)
        return len(self.tasks)


class WorkerPool:
    """Worker processes, each with its own task pipe, and the results they sent.

    Only the main thread submits tasks and reads results. Per worker, a
    thread moves its messages into a queue as they arrive, so the workers
    keep working while the main process writes a batch. Tasks are small
    (a path, or a document's key and store lookups), and a thread in each
    worker takes them off the pipe as they arrive, so sending them does not
    wait for the worker to finish its current task.
    """

    def __init__(self, count: int, worker_args: tuple[Any, ...]) -> None:
        self._context = multiprocessing.get_context(START_METHOD)
        self._worker_args = worker_args
        self._events: queue.Queue = queue.Queue()
        self._workers: dict[int, _Worker] = {}
        self._numbers = itertools.count(1)
        self._task_ids = itertools.count()
        self._results: dict[int, tuple[str, Any, int]] = {}
        self._closing = False
        self._count = count
        # Worker exits in a row that were not on a task: a task that cannot be
        # sent or read would otherwise replace workers forever.
        self._exits_in_a_row = 0
        for _ in range(count):
            self._start_worker()

    def submit(
        self,
        kind: str,
        payload: Any,
        label: str,
        worker: int | None = None,
        fallback: Any = None,
    ) -> int:
        """Queue a task and return its id.

        The task goes to ``worker`` if that worker is still running, and else
        (with ``fallback`` as its payload, if given) to the worker with the
        least work ahead of it.
        """
        task = _Task(next(self._task_ids), kind, payload, label, fallback=fallback)
        self._assign(task, worker)
        return task.task_id

    def result(self, task_id: int) -> tuple[str, Any, int]:
        """Wait for a task: ``("done", result, worker)``, or ``("failed", message, worker)``."""
        while task_id not in self._results:
            self._handle(*self._next_event())
        return self._results.pop(task_id)

    def close(self, wait: bool) -> None:
        """Stop the workers: let them finish if ``wait``, else terminate them now."""
        self._closing = True
        workers = list(self._workers.values())
        for worker in workers:
            if wait:
                _send(worker, None)
            else:
                worker.process.terminate()
        for worker in workers:
            worker.process.join(STOP_TIMEOUT if wait else 1.0)
            if worker.process.is_alive():
                log.warning("load worker %d did not stop; killing it", worker.number)
                worker.process.kill()
                worker.process.join()
            worker.connection.close()

    def _start_worker(self) -> None:
        parent, child = self._context.Pipe()
        number = next(self._numbers)
        process = self._context.Process(
            target=worker_main,
            args=(child, *self._worker_args),
            name=f"registry-load-worker-{number}",
            daemon=True,
        )
        process.start()
        child.close()  # so that the worker's exit ends the receiving thread's recv()
        worker = _Worker(number, process, parent)
        self._workers[number] = worker
        threading.Thread(target=self._receive, args=(worker,), daemon=True).start()
        log.debug("started load worker %d (pid %d)", number, process.pid)

    def _receive(self, worker: _Worker) -> None:
        while True:
            try:
                message = worker.connection.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a message that cannot be unpickled
                log.exception("cannot read a message of load worker %d; stopping it", worker.number)
                worker.process.terminate()
                break
            self._events.put((worker.number, message))
        worker.process.join()
        self._events.put((worker.number, ("exited", worker.process.exitcode)))

    def _next_event(self) -> tuple[int, tuple[Any, ...]]:
        while True:
            try:  # a timeout keeps the wait interruptible by Ctrl-C
                return self._events.get(timeout=1.0)
            except queue.Empty:
                continue

    def _assign(self, task: _Task, number: int | None = None) -> None:
        worker = self._workers.get(number) if number is not None else None
        if worker is None:
            worker = min(self._workers.values(), key=lambda w: w.queued(task.kind))
            if task.fallback is not None:
                task.payload = task.fallback
        worker.tasks[task.task_id] = task
        priority = 0 if task.kind == VALIDATE else 1
        # If the worker has exited, its "exited" event hands the task to another.
        _send(worker, (priority, task.task_id, task.kind, task.payload))

    def _handle(self, number: int, message: tuple[Any, ...]) -> None:
        worker = self._workers.get(number)
        if worker is None:
            return
        kind = message[0]
        if kind == "ready":
            worker.ready = True
        elif kind == "startup failed":
            raise RegistryError(
                f"a load worker process failed to start; load with --workers 1 to load in "
                f"this process. The worker's error:\n{message[1]}"
            )
        elif kind == "started":
            worker.tasks[message[1]].started = True
        elif kind == "done":
            del worker.tasks[message[1]]
            self._results[message[1]] = ("done", message[2], number)
            self._exits_in_a_row = 0
        elif kind == "failed":
            self._exits_in_a_row = 0
            task = worker.tasks.pop(message[1])
            log.error("load worker %d failed on %s:\n%s", number, task.label, message[3])
            self._results[task.task_id] = ("failed", f"internal error: {message[2]}", number)
        elif kind == "exited":
            self._replace(worker, message[1])

    def _replace(self, worker: _Worker, exit_code: int | None) -> None:
        """Fail the task an exited worker was running and hand its queued ones to a new one."""
        del self._workers[worker.number]
        worker.connection.close()
        if self._closing:
            return

        exit_reason = _exit_description(exit_code)
        if not worker.ready:
            raise RegistryError(
                f"a load worker process {exit_reason} while starting; load with --workers 1 "
                "to load in this process"
            )
        on_task = any(task.started for task in worker.tasks.values())
        self._exits_in_a_row = 0 if on_task else self._exits_in_a_row + 1
        if self._exits_in_a_row > self._count + 2:
            raise RegistryError(
                f"load worker processes exited {self._exits_in_a_row} times in a row outside "
                f"any task, the last one {exit_reason}; load with --workers 1 to see the error"
            )

        log.error("load worker %d (pid %d) %s", worker.number, worker.process.pid, exit_reason)
        self._start_worker()
        for task in worker.tasks.values():
            if task.started:
                action = "reading this file" if task.kind == READ else "validating this document"
                self._results[task.task_id] = (
                    "failed",
                    f"the load worker process {action} {exit_reason}; nothing of it was stored",
                    worker.number,
                )
            else:
                self._assign(task)


def _send(worker: _Worker, message: Any) -> None:
    try:
        worker.connection.send(message)
    except OSError:  # the worker has exited; its receiving thread reports that
        pass
    except Exception:  # a task that cannot be pickled
        log.exception("cannot send a task to load worker %d; stopping it", worker.number)
        worker.process.terminate()


def _exit_description(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        try:
            return f"was killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"was killed by signal {-exit_code}"
    return f"exited with code {exit_code}"


# --- The load -----------------------------------------------------------------


@dataclass
class _Unit:
    """One outcome of a file, in the main process, and where its document is kept."""

    outcome: Outcome
    packed: PackedDocument | None = None
    key: tuple[int, int] = (-1, -1)
    worker: int = 0


class _OrderedReader:
    """The outcomes of the files in file order, read by the workers ahead of need."""

    def __init__(self, pool: WorkerPool, files: list[Path], progress: Callable[[], Any]) -> None:
        self.pool = pool
        self.files = files
        self.progress = progress
        self.next_file = 0
        self.next_submitted = 0
        self.tasks: dict[int, int] = {}
        self.pending: deque[_Unit] = deque()

    def next_unit(self) -> _Unit | None:
        """Return the next outcome of the files, or ``None`` after the last one."""
        while not self.pending:
            if self.next_file == len(self.files):
                return None
            self._submit_ahead()
            task_id = self.tasks.pop(self.next_file)
            status, value, worker = self.pool.result(task_id)
            if status == "done":
                self.pending.extend(
                    _Unit(packed.unpacked(), packed.document, (task_id, position), worker)
                    for position, packed in enumerate(value)
                )
            else:
                self.pending.append(_Unit(Outcome(str(self.files[self.next_file]), error=value)))
            self.next_file += 1
            self.progress()
        return self.pending.popleft()

    def _submit_ahead(self) -> None:
        end = min(len(self.files), self.next_file + PARSE_AHEAD_FILES)
        while self.next_submitted < end:
            path = str(self.files[self.next_submitted])
            self.tasks[self.next_submitted] = self.pool.submit(READ, path, path)
            self.next_submitted += 1


def parallel_outcomes(
    loader_type: type[Loader],
    registry: Any,
    files: list[Path],
    *,
    workers: int,
    validate: bool,
    validate_outcome: ValidateOutcome,
    batch_full: BatchFull,
    progress: Callable[[], Any],
) -> Iterator[Outcome]:
    """Yield the outcome of each unit of ``files`` in order, validated if ``validate``.

    The caller must write each batch, as ``batch_full`` decides it, before it
    takes the next outcome, because the documents of a batch are validated
    against the store once the one before it is written. ``validate_outcome`` is the
    function a single-process load validates with; the workers call it.
    Close the generator to stop the workers early.
    """
    worker_args = (registry.settings, loader_type, validate, validate_outcome)
    pool = WorkerPool(workers, worker_args)
    completed = False
    try:
        reader = _OrderedReader(pool, files, progress)
        while batch := _next_batch(reader, pool, registry, validate, batch_full):
            for outcome, task_id in batch:
                if task_id is not None:
                    # The document's error: None if it conforms, or why its validation failed.
                    _, outcome.error, _ = pool.result(task_id)
                yield outcome
        completed = True
    finally:
        pool.close(wait=completed)


def _next_batch(
    reader: _OrderedReader, pool: WorkerPool, registry: Any, validate: bool, batch_full: BatchFull
) -> list[tuple[Outcome, int | None]]:
    """Take the outcomes of the next batch and send its documents to be validated."""
    members: list[Outcome] = []
    batch: list[tuple[Outcome, int | None]] = []
    while (unit := reader.next_unit()) is not None:
        outcome = unit.outcome
        task_id = None
        if validate and outcome.document is not None:
            lookups = store_lookups(registry.store, outcome.document)
            task = ValidationTask(unit.key, outcome.source, lookups)
            fallback = dataclasses.replace(task, packed=unit.packed)
            task_id = pool.submit(VALIDATE, task, outcome.source, unit.worker, fallback)
        members.append(outcome)
        batch.append((outcome, task_id))
        if batch_full(members):
            break
    return batch
