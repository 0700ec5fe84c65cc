"""Indexes derived from the stored documents, kept in SQLite beside the store.

Oxigraph matches graph patterns. Some questions need other structures: a
full-text index (``registry.search``) and the occupation, competency and
credential links the query API pages through (``registry.links``). Each is a
``DerivedIndex``: a SQLite file in the store folder (in memory without one)
whose rows are computed from one document's triples at a time, so a publish
or delete rewrites only that document's rows.

The rows are derived data. The publisher hands every index each document it
writes, and the index applies what is pending before it next answers a read,
or once ``FLUSH_DOCUMENTS`` documents or ``FLUSH_TRIPLES`` triples are
waiting: a publish does not pay for the indexes, and a read always sees every
publish that returned before it. At start-up ``sync`` rebuilds the rows of
every document whose applied version differs from the one indexed, so
pending writes lost in a crash are redone. An index file written by another
``VERSION`` of the tables is dropped and rebuilt the same way.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import pyoxigraph as ox

log = logging.getLogger(__name__)

# Documents re-indexed per transaction by ``sync``.
SYNC_BATCH = 500
# SQLite's memory map and page cache per index (both are upper bounds).
MMAP_BYTES = 4 << 30
CACHE_KIB = 64 << 10
# Pending writes applied without waiting for a read, to bound their memory.
FLUSH_DOCUMENTS = 500
FLUSH_TRIPLES = 500_000

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS indexed (
    document TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
"""


class DerivedIndex:
    """Rows computed per document, with the version of each document they reflect.

    Subclasses set ``VERSION``, ``SCHEMA`` (the ``CREATE`` statements) and
    ``TABLES`` (what to drop when the version changes), and implement
    ``prepare`` (triples to rows, outside the lock), ``insert`` and ``delete``;
    ``refresh`` may then update rows computed across documents.
    """

    VERSION: ClassVar[int]
    SCHEMA: ClassVar[str]
    TABLES: ClassVar[tuple[str, ...]]
    NAME: ClassVar[str]

    def __init__(self, path: Path | None) -> None:
        target = str(path) if path is not None else ":memory:"
        self._connection = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        # Writes not applied yet: (document, version, triples or None for a delete).
        self._pending: list[tuple[str, int, list[ox.Triple] | None]] = []
        self._pending_triples = 0
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        with self._lock:
            self._connection.execute("PRAGMA journal_mode=WAL")
            # Derived data: a commit lost in a power failure is redone by sync() at the
            # next start, so commits need not wait for the disk. WAL keeps the file intact.
            self._connection.execute("PRAGMA synchronous=NORMAL")
            # Read pages through a memory map and keep more of them: the default 2 MB
            # page cache made each first page of results cost tens of milliseconds.
            self._connection.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            self._connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            version = self._connection.execute("PRAGMA user_version").fetchone()[0]
            if version != self.VERSION:
                for table in (*self.TABLES, "indexed"):
                    self._connection.execute(f"DROP TABLE IF EXISTS {table}")
                self._connection.execute(f"PRAGMA user_version={self.VERSION}")
            self._connection.executescript(self.SCHEMA + BOOKKEEPING)

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._connection.close()

    # Subclass hooks

    def prepare(self, triples: Iterable[ox.Triple]) -> Any:
        """Compute one document's rows from its triples."""
        raise NotImplementedError

    def insert(self, document: str, prepared: Any) -> None:
        """Write the rows ``prepare`` computed (inside the transaction)."""
        raise NotImplementedError

    def delete(self, document: str) -> None:
        """Remove every row of the document (inside the transaction)."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Update what depends on the documents just written (inside the transaction)."""

    # Writing

    def index(self, document: str, version: int, triples: Iterable[ox.Triple]) -> None:
        """Replace the rows of one document with those of its new version."""
        self.index_many([(document, version, triples)])

    def index_many(self, documents: list[tuple[str, int, Iterable[ox.Triple]]]) -> None:
        """Replace the rows of several documents, before the next read."""
        self._enqueue([(ctid, version, list(triples)) for ctid, version, triples in documents])

    def remove(self, document: str, version: int) -> None:
        """Drop a deleted document's rows before the next read, remembering the version."""
        self._enqueue([(document, version, None)])

    def _enqueue(self, changes: list[tuple[str, int, list[ox.Triple] | None]]) -> None:
        with self._pending_lock:
            self._pending.extend(changes)
            self._pending_triples += sum(len(triples or ()) for _, _, triples in changes)
            full = len(self._pending) >= FLUSH_DOCUMENTS or self._pending_triples >= FLUSH_TRIPLES
        if full:
            self.flush()

    def flush(self) -> None:
        """Apply the pending writes; the last write of each document wins."""
        with self._flush_lock:
            with self._pending_lock:
                pending, self._pending, self._pending_triples = self._pending, [], 0
            if not pending:
                return
            latest = {document: (version, triples) for document, version, triples in pending}
            self.apply([(document, *change) for document, change in latest.items()])

    def apply(self, changes: list[tuple[str, int, list[ox.Triple] | None]]) -> None:
        """Replace or drop the rows of each document in one transaction."""
        prepared = [
            (document, version, None if triples is None else self.prepare(triples))
            for document, version, triples in changes
        ]
        with self._transaction():
            for document, version, rows in prepared:
                self.delete(document)
                if rows is not None:
                    self.insert(document, rows)
                self._mark(document, version)
            self.refresh()

    def _mark(self, document: str, version: int) -> None:
        self._connection.execute(
            "INSERT OR REPLACE INTO indexed (document, version) VALUES (?, ?)",
            (document, version),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._connection, self._lock)

    def indexed_versions(self) -> dict[str, int]:
        self.flush()
        with self._lock:
            return dict(self._connection.execute("SELECT document, version FROM indexed"))

    def sync(
        self,
        applied: dict[str, tuple[int, str]],
        triples_of: Callable[[str], list[ox.Triple] | None],
    ) -> int:
        """Re-index every document whose applied version is not the indexed one.

        ``applied`` maps each document CTID to its latest applied version and
        action (``publish`` or ``delete``). Returns how many were re-indexed.
        """
        indexed = self.indexed_versions()
        stale = [ctid for ctid, (version, _) in applied.items() if indexed.get(ctid) != version]
        for start in range(0, len(stale), SYNC_BATCH):
            written = []
            for ctid in stale[start : start + SYNC_BATCH]:
                version, action = applied[ctid]
                triples = triples_of(ctid) if action == "publish" else None
                if triples is None:
                    self.remove(ctid, version)
                else:
                    written.append((ctid, version, triples))
            self.index_many(written)
            self.flush()
            log.info(
                "%s: re-indexed %d of %d documents",
                self.NAME,
                min(start + SYNC_BATCH, len(stale)),
                len(stale),
            )
        return len(stale)

    def _read(
        self, sql: str, parameters: list[Any] | dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        self.flush()
        with self._lock:
            return self._connection.execute(sql, parameters or ()).fetchall()


class _Transaction:
    """``BEGIN IMMEDIATE`` under the index lock; ``ROLLBACK`` if the block raises."""

    def __init__(self, connection: sqlite3.Connection, lock: threading.Lock) -> None:
        self._connection = connection
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            self._connection.execute("ROLLBACK" if kind else "COMMIT")
        finally:
            self._lock.release()
