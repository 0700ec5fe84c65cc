"""The registry's private bookkeeping in SQLite: versions, change events, keys, grants.

None of this is RDF in the document store, so ``/sparql`` cannot reach it:
Oxigraph's union default graph includes every graph in its store, so
bookkeeping kept there would show in public queries.

The ledger is also the registry's redo log. A publish or delete first
commits its version row and change event in one SQLite transaction (the
commit point), then applies the document to the Oxigraph store and marks the
version applied. If the process dies in between, ``Ledger.unapplied`` returns
the version at the next start and the registry applies it again, so a
committed publish is always completed and an uncommitted one leaves no trace.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    ctid TEXT NOT NULL,
    version INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('publish', 'delete')),
    created TEXT NOT NULL,
    owner TEXT NOT NULL,
    publisher TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    content BLOB,
    applied INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ctid, version)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ctid TEXT NOT NULL,
    version INTEGER NOT NULL,
    action TEXT NOT NULL,
    created TEXT NOT NULL,
    publisher TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    key_id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    org TEXT NOT NULL,
    created TEXT NOT NULL,
    revoked TEXT
);
CREATE TABLE IF NOT EXISTS grants (
    publisher TEXT NOT NULL,
    owner TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (publisher, owner)
);
CREATE INDEX IF NOT EXISTS versions_unapplied ON versions (applied) WHERE applied = 0;
-- Answers "the latest version of each document" from the index alone: the
-- table rows carry each version's content, so scanning them read the whole file.
CREATE INDEX IF NOT EXISTS versions_latest ON versions (ctid, version, action, applied);
"""

KEY_PREFIX = "crk"


@dataclass(frozen=True)
class Version:
    """One accepted publish or delete of a document."""

    ctid: str
    version: int
    action: str
    created: str
    owner: str
    publisher: str
    content_hash: str
    content: bytes | None = None

    def summary(self) -> dict[str, object]:
        return {
            "ctid": self.ctid,
            "version": self.version,
            "action": self.action,
            "created": self.created,
            "owner": self.owner,
            "publisher": self.publisher,
            "contentHash": self.content_hash,
        }


@dataclass(frozen=True)
class PublisherKey:
    key_id: str
    org: str
    created: str
    revoked: str | None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Ledger:
    """SQLite-backed versions, events, publisher keys and publishing grants."""

    def __init__(self, path: Path | None) -> None:
        target = str(path) if path is not None else ":memory:"
        self._connection = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            self._connection.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    # Versions and events

    def current(self, ctid: str) -> Version | None:
        """Return the latest version of a document (a delete is a tombstone), or ``None``."""
        with self._lock:
            row = self._connection.execute(
                "SELECT * FROM versions WHERE ctid = ? ORDER BY version DESC LIMIT 1", (ctid,)
            ).fetchone()
        return _version(row) if row else None

    def record(
        self,
        ctid: str,
        action: str,
        owner: str,
        publisher: str,
        content_hash: str,
        content: bytes | None,
    ) -> Version:
        """Commit a new version and its change event in one transaction; return the version."""
        entry = (ctid, action, owner, publisher, content_hash, content)
        return self.record_many([entry])[0]

    def current_many(self, ctids: list[str]) -> dict[str, Version]:
        """The latest version of each of the given documents that has one."""
        found: dict[str, Version] = {}
        with self._lock:
            for start in range(0, len(ctids), 500):
                chunk = ctids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._connection.execute(
                    f"SELECT v.* FROM versions v JOIN (SELECT ctid, MAX(version) AS latest"
                    f" FROM versions WHERE ctid IN ({marks}) GROUP BY ctid) m"
                    " ON v.ctid = m.ctid AND v.version = m.latest",
                    chunk,
                ).fetchall()
                found.update((row["ctid"], _version(row)) for row in rows)
        return found

    def record_many(
        self, entries: list[tuple[str, str, str, str, str, bytes | None]]
    ) -> list[Version]:
        """Commit several new versions and their events in one transaction.

        Each entry is ``(ctid, action, owner, publisher, content_hash, content)``;
        one commit (one disk flush) for a whole batch is what makes bulk loading
        fast. A CTID may appear only once per call.
        """
        created = now()
        versions = []
        with self._transaction() as connection:
            for ctid, action, owner, publisher, content_hash, content in entries:
                row = connection.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM versions WHERE ctid = ?", (ctid,)
                ).fetchone()
                number = row[0] + 1
                connection.execute(
                    "INSERT INTO versions (ctid, version, action, created, owner, publisher,"
                    " content_hash, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (ctid, number, action, created, owner, publisher, content_hash, content),
                )
                connection.execute(
                    "INSERT INTO events (ctid, version, action, created, publisher)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (ctid, number, action, created, publisher),
                )
                versions.append(
                    Version(ctid, number, action, created, owner, publisher, content_hash, content)
                )
        return versions

    def mark_applied_many(self, versions: list[Version]) -> None:
        """Mark several versions applied in one commit, flushed lazily as in ``mark_applied``."""
        with self._lock:
            self._connection.execute("PRAGMA synchronous=NORMAL")
            try:
                with self._transaction() as connection:
                    connection.executemany(
                        "UPDATE versions SET applied = 1 WHERE ctid = ? AND version = ?",
                        [(version.ctid, version.version) for version in versions],
                    )
            finally:
                self._connection.execute("PRAGMA synchronous=FULL")

    def mark_applied(self, ctid: str, version: int) -> None:
        """Record that a version reached the store, without waiting for the disk.

        Losing this flag in a power failure is harmless: ``Publisher.recover``
        applies the version again, and replacing a graph twice gives the same
        graph. So this commit skips the flush that ``record`` needs (in WAL mode,
        the next full commit flushes it too).
        """
        with self._lock:
            self._connection.execute("PRAGMA synchronous=NORMAL")
            try:
                self._connection.execute(
                    "UPDATE versions SET applied = 1 WHERE ctid = ? AND version = ?",
                    (ctid, version),
                )
            finally:
                self._connection.execute("PRAGMA synchronous=FULL")

    def applied_versions(self) -> dict[str, tuple[int, str]]:
        """Map each document's CTID to its latest applied version and that version's action."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT ctid, MAX(version), action FROM versions WHERE applied = 1 GROUP BY ctid"
            ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    def count_current(self) -> int:
        """How many documents are current: their latest version is a publish."""
        with self._lock:
            row = self._connection.execute(
                # With MAX(), SQLite takes the other columns from the row with the maximum.
                "SELECT COUNT(*) FROM (SELECT action, MAX(version) FROM versions GROUP BY ctid)"
                " WHERE action = 'publish'"
            ).fetchone()
        return row[0]

    def unapplied(self) -> list[Version]:
        """Return committed versions not yet applied to the document store, oldest first."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT * FROM versions WHERE applied = 0 ORDER BY rowid"
            ).fetchall()
        return [_version(row) for row in rows]

    def versions(self, ctid: str) -> list[Version]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT ctid, version, action, created, owner, publisher, content_hash"
                " FROM versions WHERE ctid = ? ORDER BY version",
                (ctid,),
            ).fetchall()
        return [_version(row) for row in rows]

    def version(self, ctid: str, number: int) -> Version | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT * FROM versions WHERE ctid = ? AND version = ?", (ctid, number)
            ).fetchone()
        return _version(row) if row else None

    def events(self, after: int = 0, limit: int = 100) -> list[dict[str, object]]:
        """Return change events with a sequence number above ``after``, oldest first."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [dict(row) for row in rows]

    # Publisher keys and grants

    def create_key(self, org: str) -> str:
        """Create a key for ``org`` and return it; only its hash is stored."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO keys (key_id, secret_hash, org, created) VALUES (?, ?, ?, ?)",
                (key_id, hash_secret(secret), org, now()),
            )
        return f"{KEY_PREFIX}_{key_id}_{secret}"

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key by its id (the part after ``crk_``); return whether it was active."""
        with self._transaction() as connection:
            cursor = connection.execute(
                "UPDATE keys SET revoked = ? WHERE key_id = ? AND revoked IS NULL", (now(), key_id)
            )
        return cursor.rowcount == 1

    def keys(self) -> list[PublisherKey]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT key_id, org, created, revoked FROM keys ORDER BY created"
            ).fetchall()
        return [PublisherKey(**dict(row)) for row in rows]

    def org_for_key(self, presented: str) -> str | None:
        """Return the organization of an active key, comparing the secret in constant time."""
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not key_id or not secret:
            return None
        with self._lock:
            row = self._connection.execute(
                "SELECT secret_hash, org FROM keys WHERE key_id = ? AND revoked IS NULL",
                (key_id,),
            ).fetchone()
        expected = row["secret_hash"] if row else hash_secret("no such key")
        matches = hmac.compare_digest(hash_secret(secret), expected)
        return row["org"] if row and matches else None

    def grant(self, publisher: str, owner: str) -> None:
        """Let ``publisher`` publish documents on behalf of ``owner``."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO grants (publisher, owner, created) VALUES (?, ?, ?)",
                (publisher, owner, now()),
            )

    def may_publish_for(self, publisher: str, owner: str) -> bool:
        if publisher == owner:
            return True
        with self._lock:
            row = self._connection.execute(
                "SELECT 1 FROM grants WHERE publisher = ? AND owner = ?", (publisher, owner)
            ).fetchone()
        return row is not None


def _version(row: sqlite3.Row) -> Version:
    data = dict(row)
    data.pop("applied", None)
    return Version(**data)
