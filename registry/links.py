"""The occupation, competency and credential links behind the query API, kept in SQLite.

Which credentials prepare for occupation 29-0000 (every healthcare code)? The
SPARQL text (``registry.queries``) joins alignments, occupations,
competencies and credentials across documents, then groups and sorts every
match before it can return the first page: seconds on 100,000 documents. This
index keeps the statements those joins need as rows, one document at a time,
and keeps the joined and counted answers up to date as documents change, so a
page is read from an index in order.

Rows taken from each document:

- ``codes``: a resource's occupation alignment codes
  (``ceterms:occupationType`` / ``ceterms:codedNotation``);
- ``targets``: a resource aligned to an occupation by IRI
  (``ceterms:occupationType`` / ``ceterms:targetNode``);
- ``types``: the classes of each resource, CTDL ones as ``ceterms:Name``;
- ``skills``: an occupation's competencies (``ceasn:skillEmbodied`` and the
  other ``*Embodied`` terms, or ``ceterms:targetCompetency`` alignments) and
  how each is linked;
- ``teaches``: what a resource teaches, assesses or requires
  (``ceterms:teaches``, ``ceterms:assesses``, ``ceterms:requires`` /
  ``ceterms:targetCompetency``), directly or through an alignment object;
- ``needs``: the credentials a resource requires
  (``ceterms:requires`` / ``ceterms:targetCredential``);
- ``labels``: each resource's CTID, a name, a competency text and the
  framework it is part of, so a page of results is described without a
  store lookup per result (about 40 microseconds each on 100,000 documents).

Rows computed across documents, for the resources and competencies that a
write touches (``refresh``):

- ``competency_codes``: each competency's occupation codes and relations;
- ``competency_keys``: the same by code key (below), in IRI order;
- ``matches``: each credential, learning opportunity or assessment's matched
  codes and paths (``occupationType<TAB>code``, ``competency:teaches<TAB>IRI``);
- ``ranks``: per code key, how many distinct paths match each resource.

A code key is what a requested code covers: ``29-`` for 29-0000, ``29-1`` for
29-1000, ``29-114`` for 29-1140, ``29-1141`` for 29-1141 and the full code for
an O*NET-SOC code. Each stored code is filed under every key that covers it.

The answers equal those of the documented SPARQL texts, with two
differences that follow from indexing one document at a time: only IRIs are
results (the SPARQL texts keep blank nodes out of results too), and an
alignment object is followed only inside the document that uses it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from registry.derived import DerivedIndex
from registry.queries import CEASN, CETERMS, ESCO_ESSENTIAL, ESCO_OPTIONAL, compact

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
OCCUPATION_TYPE = CETERMS + "occupationType"
CODED_NOTATION = CETERMS + "codedNotation"
TARGET_NODE = CETERMS + "targetNode"
TARGET_COMPETENCY = CETERMS + "targetCompetency"
ALIGNMENT_TYPE = CETERMS + "alignmentType"
EMBODIED = {CEASN + "skillEmbodied", CEASN + "knowledgeEmbodied", CEASN + "abilityEmbodied"}
# The properties linking a resource to a competency, and the path name the API reports.
COMPETENCY_PATHS = {
    CETERMS + "teaches": "competency:teaches",
    CETERMS + "assesses": "competency:assesses",
}
REQUIRES = CETERMS + "requires"
REQUIRES_PATH = "competency:requires"
TARGET_CREDENTIAL = CETERMS + "targetCredential"
# The statements a result is described by, and the ``Label`` field each fills.
LABELS = {
    CETERMS + "ctid": "ctid",
    CETERMS + "name": "name",
    CEASN + "competencyText": "text",
    CEASN + "isPartOf": "framework",
}
# The relation names the API gives each path in a result's competencies.
DETAIL_RELATIONS = {
    "competency:teaches": "teaches",
    "competency:assesses": "assesses",
    REQUIRES_PATH: "requiresCompetency",
}
OCCUPATION = "ceterms:Occupation"
COMPETENCY = "ceasn:Competency"
# The lengths of the SOC code prefixes a major, minor, broad and detailed code covers.
KEY_LENGTHS = (3, 4, 6, 7)

SCHEMA = """
CREATE TABLE IF NOT EXISTS codes (document TEXT NOT NULL, subject TEXT NOT NULL,
    code TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS codes_code ON codes (code, subject);
CREATE INDEX IF NOT EXISTS codes_subject ON codes (subject);
CREATE INDEX IF NOT EXISTS codes_document ON codes (document);
CREATE TABLE IF NOT EXISTS targets (document TEXT NOT NULL, subject TEXT NOT NULL,
    occupation TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS targets_occupation ON targets (occupation, subject);
CREATE INDEX IF NOT EXISTS targets_subject ON targets (subject);
CREATE INDEX IF NOT EXISTS targets_document ON targets (document);
CREATE TABLE IF NOT EXISTS types (document TEXT NOT NULL, subject TEXT NOT NULL,
    type TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS types_subject ON types (subject, type);
CREATE INDEX IF NOT EXISTS types_document ON types (document);
CREATE TABLE IF NOT EXISTS skills (document TEXT NOT NULL, occupation TEXT NOT NULL,
    competency TEXT NOT NULL, relation TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS skills_occupation ON skills (occupation, competency);
CREATE INDEX IF NOT EXISTS skills_competency ON skills (competency);
CREATE INDEX IF NOT EXISTS skills_document ON skills (document);
CREATE TABLE IF NOT EXISTS teaches (document TEXT NOT NULL, resource TEXT NOT NULL,
    competency TEXT NOT NULL, path TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS teaches_competency ON teaches (competency, resource);
CREATE INDEX IF NOT EXISTS teaches_resource ON teaches (resource);
CREATE INDEX IF NOT EXISTS teaches_document ON teaches (document);
CREATE TABLE IF NOT EXISTS needs (document TEXT NOT NULL, resource TEXT NOT NULL,
    credential TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS needs_resource ON needs (resource);
CREATE INDEX IF NOT EXISTS needs_document ON needs (document);
CREATE TABLE IF NOT EXISTS labels (document TEXT NOT NULL, subject TEXT NOT NULL,
    ctid TEXT, name TEXT, text TEXT, framework TEXT);
CREATE INDEX IF NOT EXISTS labels_subject ON labels (subject);
CREATE INDEX IF NOT EXISTS labels_document ON labels (document);

CREATE TABLE IF NOT EXISTS competency_codes (competency TEXT NOT NULL, code TEXT NOT NULL,
    relation TEXT NOT NULL, PRIMARY KEY (competency, code, relation)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS competency_keys (key TEXT NOT NULL, competency TEXT NOT NULL,
    PRIMARY KEY (key, competency)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS competency_keys_competency ON competency_keys (competency);
CREATE TABLE IF NOT EXISTS matches (resource TEXT NOT NULL, code TEXT NOT NULL,
    match TEXT NOT NULL, PRIMARY KEY (resource, code, match)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ranks (key TEXT NOT NULL, resource TEXT NOT NULL,
    matched INTEGER NOT NULL, PRIMARY KEY (key, resource)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ranks_order ON ranks (key, matched DESC, resource);
CREATE INDEX IF NOT EXISTS ranks_resource ON ranks (resource);

CREATE TEMP TABLE IF NOT EXISTS touched_subjects (subject TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS touched_competencies (competency TEXT PRIMARY KEY)
    WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS touched_resources (resource TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS learning_resources (resource TEXT PRIMARY KEY) WITHOUT ROWID;
"""
BASE_TABLES = ("codes", "targets", "types", "skills", "teaches", "needs", "labels")
TABLES = (*BASE_TABLES, "competency_codes", "competency_keys", "matches", "ranks")

# The competencies a touched subject (an occupation or a competency whose codes
# or types changed) or a touched skill row reaches.
TOUCH_COMPETENCIES = """
INSERT OR IGNORE INTO touched_competencies
SELECT subject FROM touched_subjects
UNION SELECT s.competency FROM touched_subjects t JOIN skills s ON s.occupation = t.subject"""

# The resources whose matches a touched subject or competency can change.
TOUCH_RESOURCES = """
INSERT OR IGNORE INTO touched_resources
SELECT subject FROM touched_subjects
UNION SELECT e.resource FROM touched_competencies k JOIN teaches e ON e.competency = k.competency
UNION SELECT g.subject FROM touched_subjects t JOIN targets g ON g.occupation = t.subject"""

COMPUTE_COMPETENCY_CODES = f"""
INSERT OR IGNORE INTO competency_codes (competency, code, relation)
SELECT s.competency, c.code, s.relation
FROM touched_competencies k JOIN skills s ON s.competency = k.competency
JOIN codes c ON c.subject = s.occupation
WHERE EXISTS (SELECT 1 FROM types t WHERE t.subject = s.occupation AND t.type = '{OCCUPATION}')
UNION
SELECT c.subject, c.code, 'occupationType ' || c.code
FROM touched_competencies k JOIN codes c ON c.subject = k.competency
WHERE EXISTS (SELECT 1 FROM types t WHERE t.subject = c.subject AND t.type = '{COMPETENCY}')"""

COMPUTE_MATCHES = """
INSERT OR IGNORE INTO matches (resource, code, match)
SELECT c.subject, c.code, 'occupationType' || char(9) || c.code
FROM learning_resources r JOIN codes c ON c.subject = r.resource
UNION
SELECT g.subject, c.code, 'occupationType' || char(9) || c.code
FROM learning_resources r JOIN targets g ON g.subject = r.resource
JOIN codes c ON c.subject = g.occupation
UNION
SELECT e.resource, k.code, e.path || char(9) || e.competency
FROM learning_resources r JOIN teaches e ON e.resource = r.resource
JOIN competency_codes k ON k.competency = e.competency"""

# The resources that teach, assess or require the given competencies, those
# matched by more paths first.
COMPETENCY_CREDENTIALS_PAGE = """
WITH matched(resource, path) AS (
    SELECT DISTINCT resource, path FROM teaches
    WHERE competency IN (SELECT value FROM json_each(:competencies))
)
SELECT resource, group_concat(path, char(10)), COUNT(*) AS paths FROM matched m
WHERE EXISTS (
    SELECT 1 FROM types t WHERE t.subject = m.resource
    AND t.type IN (SELECT value FROM json_each(:types))
)
GROUP BY resource ORDER BY paths DESC, resource LIMIT :limit OFFSET :offset"""


def code_keys(code: str) -> set[str]:
    """Return the keys a stored code is filed under: itself and the SOC prefixes covering it."""
    return {code} | {code[:length] for length in KEY_LENGTHS if len(code) >= length}


@dataclass
class Rows:
    """One document's rows, table by table."""

    codes: set[tuple[str, str]] = field(default_factory=set)
    targets: set[tuple[str, str]] = field(default_factory=set)
    types: set[tuple[str, str]] = field(default_factory=set)
    skills: set[tuple[str, str, str]] = field(default_factory=set)
    teaches: set[tuple[str, str, str]] = field(default_factory=set)
    needs: set[tuple[str, str]] = field(default_factory=set)
    labels: dict[str, Label] = field(default_factory=dict)


@dataclass
class Label:
    """The CTID, name, competency text and framework of one resource."""

    ctid: str | None = None
    name: str | None = None
    text: str | None = None
    framework: str | None = None


class LinkIndex(DerivedIndex):
    """Occupation codes, occupation skills and what teaches each competency, per document,
    and the results computed from them.

    ``is_learning`` tells from a resource's classes whether it can prepare
    someone for an occupation (a credential, learning opportunity or
    assessment); only those get ``matches`` and ``ranks``.
    """

    VERSION = 3
    SCHEMA = SCHEMA
    TABLES = TABLES
    NAME = "link index"

    def __init__(self, path: Path | None, is_learning: Callable[[set[str]], bool]) -> None:
        self._is_learning = is_learning
        super().__init__(path)

    # Writing (DerivedIndex hooks)

    def prepare(self, triples: Iterable[ox.Triple]) -> Rows:
        return extract_rows(triples)

    def insert(self, document: str, prepared: Rows) -> None:
        execute = self._connection.executemany
        for table, rows in (
            ("codes", prepared.codes),
            ("targets", prepared.targets),
            ("types", prepared.types),
            ("skills", prepared.skills),
            ("teaches", prepared.teaches),
            ("needs", prepared.needs),
            (
                "labels",
                {(s, x.ctid, x.name, x.text, x.framework) for s, x in prepared.labels.items()},
            ),
        ):
            marks = ", ".join("?" * (len(next(iter(rows))) + 1)) if rows else ""
            if rows:
                execute(f"INSERT INTO {table} VALUES ({marks})", [(document, *r) for r in rows])
        self._touch(
            subjects={s for s, _ in prepared.codes} | {s for s, _ in prepared.types},
            competencies={k for _, k, _ in prepared.skills},
            resources={s for s, _ in prepared.targets} | {r for r, _, _ in prepared.teaches},
        )

    def delete(self, document: str) -> None:
        read = self._connection.execute
        self._touch(
            subjects={
                row[0]
                for table in ("codes", "types")
                for row in read(f"SELECT subject FROM {table} WHERE document = ?", (document,))
            },
            competencies={
                row[0]
                for row in read("SELECT competency FROM skills WHERE document = ?", (document,))
            },
            resources={
                row[0]
                for row in read(
                    "SELECT subject FROM targets WHERE document = ?"
                    " UNION SELECT resource FROM teaches WHERE document = ?",
                    (document, document),
                )
            },
        )
        for table in BASE_TABLES:
            read(f"DELETE FROM {table} WHERE document = ?", (document,))

    def _touch(self, subjects: set[str], competencies: set[str], resources: set[str]) -> None:
        """Remember what the rows of a written document reach, for ``refresh``."""
        execute = self._connection.executemany
        execute("INSERT OR IGNORE INTO touched_subjects VALUES (?)", [(s,) for s in subjects])
        execute(
            "INSERT OR IGNORE INTO touched_competencies VALUES (?)",
            [(k,) for k in competencies],
        )
        execute("INSERT OR IGNORE INTO touched_resources VALUES (?)", [(r,) for r in resources])

    def refresh(self) -> None:
        """Recompute the competency codes, matches and ranks the written documents reach."""
        execute = self._connection.execute
        execute(TOUCH_COMPETENCIES)
        execute(TOUCH_RESOURCES)
        self._refresh_competencies()
        self._refresh_resources()
        for table in ("touched_subjects", "touched_competencies", "touched_resources"):
            execute(f"DELETE FROM {table}")

    def _refresh_competencies(self) -> None:
        execute = self._connection.execute
        touched = "(SELECT competency FROM touched_competencies)"
        execute(f"DELETE FROM competency_codes WHERE competency IN {touched}")
        execute(f"DELETE FROM competency_keys WHERE competency IN {touched}")
        execute(COMPUTE_COMPETENCY_CODES)
        rows = execute(
            "SELECT DISTINCT c.competency, c.code FROM touched_competencies t"
            " JOIN competency_codes c ON c.competency = t.competency"
        ).fetchall()
        self._connection.executemany(
            "INSERT OR IGNORE INTO competency_keys VALUES (?, ?)",
            [(key, competency) for competency, code in rows for key in code_keys(code)],
        )

    def _refresh_resources(self) -> None:
        execute = self._connection.execute
        touched = "(SELECT resource FROM touched_resources)"
        execute(f"DELETE FROM matches WHERE resource IN {touched}")
        execute(f"DELETE FROM ranks WHERE resource IN {touched}")
        classes: dict[str, set[str]] = defaultdict(set)
        for resource, kind in execute(
            "SELECT r.resource, t.type FROM touched_resources r"
            " JOIN types t ON t.subject = r.resource"
        ):
            classes[resource].add(kind)
        learning = [(r,) for r, kinds in classes.items() if self._is_learning(kinds)]
        execute("DELETE FROM learning_resources")
        self._connection.executemany("INSERT INTO learning_resources VALUES (?)", learning)
        execute(COMPUTE_MATCHES)
        matched: dict[tuple[str, str], set[str]] = defaultdict(set)
        for resource, code, match in execute(
            "SELECT m.resource, m.code, m.match FROM learning_resources r"
            " JOIN matches m ON m.resource = r.resource"
        ):
            for key in code_keys(code):
                matched[(key, resource)].add(match)
        self._connection.executemany(
            "INSERT INTO ranks VALUES (?, ?, ?)",
            [(key, resource, len(found)) for (key, resource), found in matched.items()],
        )
        execute("DELETE FROM learning_resources")

    # Reading

    def codes(self, prefix: str | None = None, exact: str | None = None) -> list[str]:
        """Return the alignment codes in use: all, those starting ``prefix``, or ``exact``."""
        if exact is not None:
            rows = self._read("SELECT DISTINCT code FROM codes WHERE code = ?", [exact])
        elif prefix is not None:
            # SQLite reads a GLOB with a literal prefix from the index on code.
            pattern = "".join(f"[{ch}]" if ch in "*?[]" else ch for ch in prefix) + "*"
            rows = self._read("SELECT DISTINCT code FROM codes WHERE code GLOB ?", [pattern])
        else:
            rows = self._read("SELECT DISTINCT code FROM codes")
        return sorted(row[0] for row in rows)

    def occupation_competencies(
        self, key: str, limit: int, offset: int
    ) -> list[tuple[str, list[str]]]:
        """Return a page of (competency IRI, relations) of the occupations under a code
        key, in IRI order."""
        return self._keyed_page(
            "SELECT competency FROM competency_keys WHERE key = ?"
            " ORDER BY competency LIMIT ? OFFSET ?",
            "SELECT competency, code, relation FROM competency_codes"
            " WHERE competency IN (SELECT value FROM json_each(?))",
            key,
            limit,
            offset,
        )

    def competencies_of(self, key: str) -> list[str]:
        """Return every competency IRI of the occupations under a code key."""
        rows = self._read(
            "SELECT competency FROM competency_keys WHERE key = ? ORDER BY competency", [key]
        )
        return [row[0] for row in rows]

    def occupation_credentials(
        self, key: str, limit: int, offset: int
    ) -> list[tuple[str, list[str]]]:
        """Return a page of (resource IRI, matches) preparing for the codes under a key,
        those matched by more paths first.

        Each match is ``path<TAB>code`` or ``path<TAB>competency IRI``.
        """
        return self._keyed_page(
            "SELECT resource FROM ranks WHERE key = ?"
            " ORDER BY matched DESC, resource LIMIT ? OFFSET ?",
            "SELECT resource, code, match FROM matches"
            " WHERE resource IN (SELECT value FROM json_each(?))",
            key,
            limit,
            offset,
        )

    def _keyed_page(
        self, page_sql: str, details_sql: str, key: str, limit: int, offset: int
    ) -> list[tuple[str, list[str]]]:
        """Read a page of IRIs under a code key, then each one's values whose code the
        key covers.

        ``page_sql`` takes the key, limit and offset; ``details_sql`` takes the page
        as a JSON list and returns (IRI, code, value) rows.
        """
        page = [row[0] for row in self._read(page_sql, [key, limit, offset])]
        found: dict[str, set[str]] = defaultdict(set)
        for iri, code, value in self._read(details_sql, [json.dumps(page)]):
            if key in code_keys(code):
                found[iri].add(value)
        return [(iri, sorted(found[iri])) for iri in page]

    def describe(self, resources: list[str]) -> dict[str, dict[str, Any]]:
        """Return the CTID, name and classes of each resource."""
        found: dict[str, dict[str, Any]] = {r: {"types": []} for r in resources}
        parameters = [json.dumps(resources)]
        for subject, ctid, name, text in self._read(
            "SELECT subject, ctid, name, text FROM labels"
            " WHERE subject IN (SELECT value FROM json_each(?))",
            parameters,
        ):
            found[subject].setdefault("ctid", ctid)
            found[subject].setdefault("name", name or text)
        for subject, kind in self._read(
            "SELECT DISTINCT subject, type FROM types"
            " WHERE subject IN (SELECT value FROM json_each(?)) ORDER BY type",
            parameters,
        ):
            found[subject]["types"].append(kind)
        return found

    def details(self, resources: list[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Return the competencies (with how each is linked) and the required credentials
        of each resource, each with its CTID and name."""
        parameters = [json.dumps(resources)]
        taught = self._read(
            "SELECT DISTINCT resource, competency, path FROM teaches"
            " WHERE resource IN (SELECT value FROM json_each(?))",
            parameters,
        )
        needed = self._read(
            "SELECT DISTINCT resource, credential FROM needs"
            " WHERE resource IN (SELECT value FROM json_each(?))",
            parameters,
        )
        targets = {row[1] for row in taught} | {row[1] for row in needed}
        labels = self.describe(sorted(targets))
        found: dict[str, dict[str, list[dict[str, Any]]]] = {
            r: {"competencies": [], "requiredCredentials": []} for r in resources
        }
        for resource, competency, path in sorted(
            taught, key=lambda row: (row[0], DETAIL_RELATIONS[row[2]], row[1])
        ):
            entry = _entry(competency, labels[competency])
            entry["relation"] = DETAIL_RELATIONS[path]
            found[resource]["competencies"].append(entry)
        for resource, credential in sorted(needed):
            found[resource]["requiredCredentials"].append(_entry(credential, labels[credential]))
        return found

    def competency_summaries(self, competencies: list[str]) -> dict[str, dict[str, Any]]:
        """Return the CTID, text and framework of each competency that has any."""
        found: dict[str, dict[str, Any]] = {}
        for subject, ctid, text, framework in self._read(
            "SELECT subject, ctid, text, framework FROM labels"
            " WHERE subject IN (SELECT value FROM json_each(?))",
            [json.dumps(competencies)],
        ):
            summary = found.setdefault(subject, {})
            for key, value in (("ctid", ctid), ("competencyText", text), ("isPartOf", framework)):
                if value is not None:
                    summary.setdefault(key, value)
        return found

    def occupations_with_code(self, code: str) -> list[str]:
        """Return the occupations (``ceterms:Occupation``) that have exactly this code."""
        rows = self._read(
            "SELECT DISTINCT c.subject FROM codes c JOIN types t ON t.subject = c.subject"
            " WHERE c.code = ? AND t.type = ? ORDER BY c.subject",
            [code, OCCUPATION],
        )
        return [row[0] for row in rows]

    def preparing_resources(self, key: str) -> set[str]:
        """Return every resource preparing for the codes under a key."""
        return {row[0] for row in self._read("SELECT resource FROM ranks WHERE key = ?", [key])}

    def competency_credentials(
        self, competencies: list[str], types: Iterable[str], limit: int | None, offset: int
    ) -> list[tuple[str, list[str]]]:
        """Return a page of (resource IRI, paths) of what teaches, assesses or requires
        these competencies, or all of them when ``limit`` is None."""
        parameters = {
            "competencies": json.dumps(competencies),
            "types": json.dumps(sorted(types)),
            "limit": -1 if limit is None else limit,
            "offset": offset,
        }
        rows = self._read(COMPETENCY_CREDENTIALS_PAGE, parameters)
        return [(iri, paths.split("\n")) for iri, paths, _ in rows]


def extract_rows(triples: Iterable[ox.Triple]) -> Rows:
    """Compute one document's rows from its triples."""
    objects: dict[tuple[Any, str], list[Any]] = defaultdict(list)
    for triple in triples:
        objects[(triple.subject, triple.predicate.value)].append(triple.object)
    rows = Rows()
    for (subject, predicate), values in objects.items():
        if not isinstance(subject, ox.NamedNode):
            continue
        _add_rows(rows, objects, subject.value, predicate, values)
        if predicate in LABELS:
            label = rows.labels.setdefault(subject.value, Label())
            setattr(label, LABELS[predicate], _preferred(values))
    return rows


def _add_rows(
    rows: Rows,
    objects: dict[tuple[Any, str], list[Any]],
    subject: str,
    predicate: str,
    values: list[Any],
) -> None:
    """Add the rows that the statements ``subject predicate values`` give."""
    if predicate == RDF_TYPE:
        rows.types.update((subject, compact(value.value)) for value in values if _iri(value))
    elif predicate == OCCUPATION_TYPE:
        for alignment in values:
            for code in objects.get((alignment, CODED_NOTATION), ()):
                if isinstance(code, ox.Literal):
                    rows.codes.add((subject, code.value))
            for target in _iris(objects.get((alignment, TARGET_NODE), ())):
                rows.targets.add((subject, target))
    elif predicate in EMBODIED:
        rows.skills.update((subject, value, "essential") for value in _iris(values))
    elif predicate == TARGET_COMPETENCY:
        for alignment in values:
            relations = [
                _relation(kind) for kind in objects.get((alignment, ALIGNMENT_TYPE), ())
            ] or ["related"]
            for target in _iris(objects.get((alignment, TARGET_NODE), ())):
                rows.skills.update((subject, target, relation) for relation in relations)
    elif predicate in COMPETENCY_PATHS:
        _add_competencies(rows, objects, subject, COMPETENCY_PATHS[predicate], values)
    elif predicate == REQUIRES:
        for condition in values:
            required = objects.get((condition, TARGET_COMPETENCY), [])
            _add_competencies(rows, objects, subject, REQUIRES_PATH, required)
            for credential in _iris(objects.get((condition, TARGET_CREDENTIAL), ())):
                rows.needs.add((subject, credential))


def _entry(iri: str, label: dict[str, Any]) -> dict[str, Any]:
    entry = {"@id": iri, "ctid": label.get("ctid"), "name": label.get("name")}
    return {key: value for key, value in entry.items() if value is not None}


def _preferred(values: list[Any]) -> str | None:
    """Pick one value: an English or untagged literal first, else the first in order."""
    literals = sorted(
        (value for value in values if isinstance(value, ox.Literal)), key=lambda v: v.value
    )
    for wanted in ("en", "en-us", None):
        for literal in literals:
            if literal.language == wanted:
                return literal.value
    if literals:
        return literals[0].value
    iris = sorted(_iris(values))
    return iris[0] if iris else None


def _add_competencies(
    rows: Rows,
    objects: dict[tuple[Any, str], list[Any]],
    subject: str,
    path: str,
    values: list[Any],
) -> None:
    """Add the competencies linked directly or through an alignment's ``targetNode``."""
    for value in values:
        if _iri(value):
            rows.teaches.add((subject, value.value, path))
        for target in _iris(objects.get((value, TARGET_NODE), ())):
            rows.teaches.add((subject, target, path))


def _relation(kind: Any) -> str:
    """Return the relation an alignment type names, as the SPARQL texts compute it."""
    value = kind.value
    if value == ESCO_ESSENTIAL:
        return "essential"
    if value == ESCO_OPTIONAL:
        return "optional"
    return value


def _iri(term: Any) -> bool:
    return isinstance(term, ox.NamedNode)


def _iris(terms: Iterable[Any]) -> list[str]:
    return [term.value for term in terms if isinstance(term, ox.NamedNode)]
