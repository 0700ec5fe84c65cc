"""Full-text search over names, descriptions, competency text and keywords.

Oxigraph has no text index, so the registry keeps one beside the store: an
SQLite FTS5 table (``search.sqlite3`` in the store folder, in memory without
one), ranked with BM25 and stemmed with the Porter stemmer over Unicode
words, accents folded. Each resource with a CTID gets one entry per language
of its text. The entry also records the resource's CTDL classes and their
superclasses, so a search for ``ceterms:Credential`` finds certificates.

The index is derived data. The publisher updates it after each store write,
and at start-up ``sync`` re-indexes every document whose applied version
differs from the one indexed, so a crash between the two writes heals itself.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from registry.derived import DerivedIndex
from registry.errors import InvalidRequest

log = logging.getLogger(__name__)

CETERMS = "https://purl.org/ctdl/terms/"
CEASN = "https://purl.org/ctdlasn/terms/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
CTID = CETERMS + "ctid"

# The properties that fill each column. BM25 weighs the columns in this order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": (CETERMS + "name", CEASN + "name", CEASN + "competencyLabel"),
    "text": (CEASN + "competencyText",),
    "keywords": (CETERMS + "keyword", CEASN + "conceptKeyword", CETERMS + "alternateName"),
    "description": (CETERMS + "description", CEASN + "description"),
}
WEIGHTS = (10.0, 6.0, 3.0, 1.0)

# How much a class's text counts, so that a credential named "Nursing" ranks
# above the many transfer values and courses that mention nursing. The first
# class in this list that a resource has wins; others count 1.
BOOSTS = (
    ("ceterms:Credential", 2.0),
    ("ceterms:LearningProgram", 1.5),
    ("ceterms:AssessmentProfile", 1.3),
    ("ceterms:TransferValueProfile", 0.5),
)
# Bump when the tables change; an index built by another version is rebuilt.
INDEX_VERSION = 2
OCCUPATION_TYPE = CETERMS + "occupationType"
CODED_NOTATION = CETERMS + "codedNotation"

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    rowid INTEGER PRIMARY KEY,
    document TEXT NOT NULL,
    iri TEXT NOT NULL,
    ctid TEXT NOT NULL,
    classes TEXT NOT NULL,
    types TEXT NOT NULL,
    code TEXT,
    boost REAL NOT NULL,
    language TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_document ON entries (document);
CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5(
    name, text, keywords, description,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
"""

_WORD = re.compile(r"\w+", re.UNICODE)


class SearchIndex(DerivedIndex):
    """The FTS5 index of one store. ``types_of`` maps a class IRI to it and its superclasses."""

    VERSION = INDEX_VERSION
    SCHEMA = SCHEMA
    TABLES = ("entries", "texts")
    NAME = "search index"

    def __init__(self, path: Path | None, types_of: Callable[[str], Iterable[str]]) -> None:
        self._types_of = types_of
        super().__init__(path)

    # Writing (DerivedIndex hooks)

    def prepare(self, triples: Iterable[ox.Triple]) -> list[tuple[Any, ...]]:
        return list(self._entries(triples))

    def insert(self, document: str, prepared: list[tuple[Any, ...]]) -> None:
        for iri, ctid, classes, types, code, boost, language, columns in prepared:
            cursor = self._connection.execute(
                "INSERT INTO entries (document, iri, ctid, classes, types, code, boost, language)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (document, iri, ctid, classes, types, code, boost, language),
            )
            self._connection.execute(
                "INSERT INTO texts (rowid, name, text, keywords, description)"
                " VALUES (?, ?, ?, ?, ?)",
                (cursor.lastrowid, *(columns[c] for c in COLUMNS)),
            )

    def delete(self, document: str) -> None:
        rowids = [
            (row[0],)
            for row in self._connection.execute(
                "SELECT rowid FROM entries WHERE document = ?", (document,)
            )
        ]
        self._connection.executemany("DELETE FROM texts WHERE rowid = ?", rowids)
        self._connection.execute("DELETE FROM entries WHERE document = ?", (document,))

    def _entries(self, triples: Iterable[ox.Triple]) -> Iterable[tuple[Any, ...]]:
        """Yield one entry per resource with a CTID and per language of its text."""
        ctids: dict[str, str] = {}
        classes: dict[str, set[str]] = defaultdict(set)
        types: dict[str, set[str]] = defaultdict(set)
        alignments: dict[str, list[str]] = defaultdict(list)
        notations: dict[str, str] = {}
        texts: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        column_of = {iri: column for column, iris in COLUMNS.items() for iri in iris}
        for triple in triples:
            subject, predicate = str(triple.subject), triple.predicate.value
            if predicate == CODED_NOTATION:
                notations[subject] = triple.object.value
            elif predicate == OCCUPATION_TYPE:
                alignments[subject].append(str(triple.object))
            if not isinstance(triple.subject, ox.NamedNode):
                continue
            subject = triple.subject.value
            if predicate == CTID:
                ctids[subject] = triple.object.value
            elif predicate == RDF_TYPE:
                classes[subject].add(_compact(triple.object.value))
                types[subject].update(self._types_of(triple.object.value))
            elif predicate in column_of and isinstance(triple.object, ox.Literal):
                language = (triple.object.language or "").lower()
                texts[(subject, language)][column_of[predicate]].append(triple.object.value)
        for (subject, language), columns in texts.items():
            if subject not in ctids:
                continue
            joined = {column: "\n".join(columns.get(column, [])) for column in COLUMNS}
            type_list = f" {' '.join(sorted(types[subject]))} "
            asserted = " ".join(sorted(classes[subject]))
            codes = sorted(notations[a] for a in alignments[f"<{subject}>"] if a in notations)
            code = codes[0] if "ceterms:Occupation" in classes[subject] and codes else None
            boost = next((b for name, b in BOOSTS if name in types[subject]), 1.0)
            yield subject, ctids[subject], asserted, type_list, code, boost, language, joined

    # Reading

    def search(
        self,
        text: str,
        limit: int,
        offset: int,
        types: list[str] | None = None,
        language: str | None = None,
        within: set[str] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return up to ``limit + 1`` ranked hits from ``offset`` and the total count.

        Each resource appears once, with its best-ranked language entry.
        """
        match = match_expression(text)
        conditions, parameters = _conditions(types, language, within)
        # Rank every match by BM25 alone; snippets and highlights, which cost far
        # more, are made afterwards for the page only.
        ranked = (
            "WITH hits AS MATERIALIZED (SELECT rowid, bm25(texts, ?, ?, ?, ?) AS score"
            " FROM texts WHERE texts MATCH ?)"
            " SELECT e.iri, h.rowid, MIN(h.score * e.boost) AS score, COUNT(*) OVER () AS total"
            f" FROM hits h JOIN entries e ON e.rowid = h.rowid {conditions}"
            " GROUP BY e.iri ORDER BY score, e.iri LIMIT ? OFFSET ?"
        )
        with self._lock:
            rows = self._connection.execute(
                ranked, [*WEIGHTS, match, *parameters, limit + 1, offset]
            ).fetchall()
            if rows:
                total = rows[0][3]
            else:
                total = self._count(match, conditions, parameters)
            details = self._details(match, [row[1] for row in rows])
        hits = [_hit(details[rowid], score) for _, rowid, score, _ in rows]
        return hits, total

    def _count(self, match: str, conditions: str, parameters: list[Any]) -> int:
        """The number of resources matching, for a page past the last hit."""
        count = (
            "SELECT COUNT(DISTINCT e.iri) FROM texts JOIN entries e ON e.rowid = texts.rowid"
            f" {conditions}{' AND' if conditions else ' WHERE'} texts MATCH ?"
        )
        return self._connection.execute(count, [*parameters, match]).fetchone()[0]

    def _details(self, match: str, rowids: list[int]) -> dict[int, tuple[Any, ...]]:
        """The entry, name and snippet of each ranked row."""
        if not rowids:
            return {}
        sql = (
            "SELECT texts.rowid, e.iri, e.ctid, e.classes, e.code, e.language,"
            " highlight(texts, 0, '', ''), snippet(texts, -1, '[', ']', '...', 16)"
            " FROM texts JOIN entries e ON e.rowid = texts.rowid"
            " WHERE texts MATCH ? AND texts.rowid IN (SELECT value FROM json_each(?))"
        )
        rows = self._connection.execute(sql, [match, json.dumps(rowids)])
        return {row[0]: row[1:] for row in rows}


def match_expression(text: str) -> str:
    """Turn what a person typed into an FTS5 query: every word must occur; the last
    word may be the start of a longer one. Operators typed by the user are words."""
    words = _WORD.findall(text or "")
    if not words:
        raise InvalidRequest(
            "the search needs at least one word in the q parameter, e.g. /search?q=nursing",
            q=text,
        )
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _conditions(
    types: list[str] | None, language: str | None, within: set[str] | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    parameters: list[Any] = []
    if types:
        clauses.append("(" + " OR ".join("instr(e.types, ?) > 0" for _ in types) + ")")
        parameters.extend(f" {name} " for name in types)
    if language:
        clauses.append("(e.language = ? OR e.language LIKE ?)")
        parameters.extend([language.lower(), f"{language.lower()}-%"])
    if within is not None:
        clauses.append("e.iri IN (SELECT value FROM json_each(?))")
        parameters.append(json.dumps(sorted(within)))
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", parameters


def _compact(iri: str) -> str:
    for prefix, namespace in (("ceterms", CETERMS), ("ceasn", CEASN)):
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def _hit(row: tuple[Any, ...], score: float) -> dict[str, Any]:
    iri, ctid, classes, code, language, name, snippet = row
    hit = {
        "@id": iri,
        "@type": classes.split(),
        "ctid": ctid,
        "code": code,
        "name": name.split("\n")[0] if name else None,
        "language": language or None,
        "snippet": snippet,
        "score": round(-score, 4),
    }
    return {key: value for key, value in hit.items() if value not in (None, "")}
