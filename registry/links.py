"""The occupation, competency and credential links behind the query API, kept in SQLite.

Which credentials prepare for occupation 29-0000 (every healthcare code)? The
SPARQL answer (``registry.queries``) joins alignments, occupations,
competencies and credentials across documents, then groups and sorts every
match before it can return the first page: seconds on 100,000 documents, and
Oxigraph joins in the order the text is written, so no rewrite fixes every
code. This index keeps the few statements those joins need as rows, one
document at a time, and answers the same questions with SQLite's indexes:

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
  ``ceterms:targetCompetency``), directly or through an alignment object.

The answers equal those of the documented SPARQL texts, with two
differences that follow from indexing one document at a time: only IRIs are
results (the SPARQL texts keep blank nodes out of results too), and an
alignment object is followed only inside the document that uses it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
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
# What a resource does with a competency, and the path name the API reports.
COMPETENCY_PATHS = {
    CETERMS + "teaches": "competency:teaches",
    CETERMS + "assesses": "competency:assesses",
}
REQUIRES = CETERMS + "requires"
REQUIRES_PATH = "competency:requires"
OCCUPATION = "ceterms:Occupation"
COMPETENCY = "ceasn:Competency"

SCHEMA = """
CREATE TABLE IF NOT EXISTS codes (document TEXT NOT NULL, subject TEXT NOT NULL,
    code TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS codes_code ON codes (code, subject);
CREATE INDEX IF NOT EXISTS codes_subject ON codes (subject);
CREATE INDEX IF NOT EXISTS codes_document ON codes (document);
CREATE TABLE IF NOT EXISTS targets (document TEXT NOT NULL, subject TEXT NOT NULL,
    occupation TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS targets_occupation ON targets (occupation, subject);
CREATE INDEX IF NOT EXISTS targets_document ON targets (document);
CREATE TABLE IF NOT EXISTS types (document TEXT NOT NULL, subject TEXT NOT NULL,
    type TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS types_subject ON types (subject, type);
CREATE INDEX IF NOT EXISTS types_document ON types (document);
CREATE TABLE IF NOT EXISTS skills (document TEXT NOT NULL, occupation TEXT NOT NULL,
    competency TEXT NOT NULL, relation TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS skills_occupation ON skills (occupation, competency);
CREATE INDEX IF NOT EXISTS skills_document ON skills (document);
CREATE TABLE IF NOT EXISTS teaches (document TEXT NOT NULL, resource TEXT NOT NULL,
    competency TEXT NOT NULL, path TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS teaches_competency ON teaches (competency, resource);
CREATE INDEX IF NOT EXISTS teaches_document ON teaches (document);
"""
TABLES = ("codes", "targets", "types", "skills", "teaches")

# The competencies of the occupations with the wanted codes, and the
# competencies aligned to those codes, with how each is linked.
_COMPETENCIES = """
wanted(code) AS (SELECT value FROM json_each(:codes)),
occupations(subject) AS (
    SELECT DISTINCT c.subject FROM codes c JOIN wanted w ON c.code = w.code
    WHERE EXISTS (SELECT 1 FROM types t WHERE t.subject = c.subject AND t.type = :occupation)
),
linked(competency, relation) AS (
    SELECT s.competency, s.relation FROM occupations o JOIN skills s ON s.occupation = o.subject
    UNION
    SELECT c.subject, 'occupationType ' || c.code FROM codes c JOIN wanted w ON c.code = w.code
    WHERE EXISTS (SELECT 1 FROM types t WHERE t.subject = c.subject AND t.type = :competency)
)"""

COMPETENCIES_PAGE = f"""
WITH {_COMPETENCIES}
SELECT competency, group_concat(relation, char(10)) FROM linked
GROUP BY competency ORDER BY competency LIMIT :limit OFFSET :offset"""

COMPETENCY_IRIS = f"WITH {_COMPETENCIES} SELECT DISTINCT competency FROM linked"

# What prepares for the wanted codes: aligned to one of them, aligned to an
# occupation that has one, or teaching, assessing or requiring one of their
# competencies. Those matched by more paths come first.
_MATCHES = """
matches(resource, match) AS (
    SELECT c.subject, 'occupationType' || char(9) || c.code
    FROM codes c JOIN wanted w ON c.code = w.code
    UNION
    SELECT g.subject, 'occupationType' || char(9) || c.code
    FROM codes c JOIN wanted w ON c.code = w.code JOIN targets g ON g.occupation = c.subject
    UNION
    SELECT e.resource, e.path || char(9) || e.competency
    FROM (SELECT DISTINCT competency FROM linked) l JOIN teaches e ON e.competency = l.competency
)"""

_PREPARING = """
SELECT resource, group_concat(match, char(10)), COUNT(*) AS matched FROM matches m
WHERE EXISTS (
    SELECT 1 FROM types t WHERE t.subject = m.resource
    AND t.type IN (SELECT value FROM json_each(:types))
)
GROUP BY resource ORDER BY matched DESC, resource"""

CREDENTIALS_PAGE = f"WITH {_COMPETENCIES}, {_MATCHES} {_PREPARING} LIMIT :limit OFFSET :offset"
CREDENTIAL_IRIS = f"WITH {_COMPETENCIES}, {_MATCHES} {_PREPARING}"

# What teaches, assesses or requires the given competencies.
COMPETENCY_CREDENTIALS_PAGE = f"""
WITH matches(resource, match) AS (
    SELECT DISTINCT resource, path FROM teaches
    WHERE competency IN (SELECT value FROM json_each(:competencies))
)
{_PREPARING} LIMIT :limit OFFSET :offset"""


@dataclass
class Rows:
    """One document's rows, table by table."""

    codes: set[tuple[str, str]] = field(default_factory=set)
    targets: set[tuple[str, str]] = field(default_factory=set)
    types: set[tuple[str, str]] = field(default_factory=set)
    skills: set[tuple[str, str, str]] = field(default_factory=set)
    teaches: set[tuple[str, str, str]] = field(default_factory=set)


class LinkIndex(DerivedIndex):
    """Occupation codes, occupation skills and what teaches each competency, per document."""

    VERSION = 1
    SCHEMA = SCHEMA
    TABLES = TABLES
    NAME = "link index"

    # Writing (DerivedIndex hooks)

    def prepare(self, triples: Iterable[ox.Triple]) -> Rows:
        return extract_rows(triples)

    def insert(self, document: str, prepared: Rows) -> None:
        execute = self._connection.executemany
        execute("INSERT INTO codes VALUES (?, ?, ?)", [(document, *row) for row in prepared.codes])
        execute(
            "INSERT INTO targets VALUES (?, ?, ?)", [(document, *row) for row in prepared.targets]
        )
        execute("INSERT INTO types VALUES (?, ?, ?)", [(document, *row) for row in prepared.types])
        execute(
            "INSERT INTO skills VALUES (?, ?, ?, ?)",
            [(document, *row) for row in prepared.skills],
        )
        execute(
            "INSERT INTO teaches VALUES (?, ?, ?, ?)",
            [(document, *row) for row in prepared.teaches],
        )

    def delete(self, document: str) -> None:
        for table in TABLES:
            self._connection.execute(f"DELETE FROM {table} WHERE document = ?", (document,))

    # Reading

    def codes(self, prefix: str | None = None, exact: str | None = None) -> list[str]:
        """The distinct alignment codes in use: all, those starting ``prefix``, or ``exact``."""
        if exact is not None:
            rows = self._read("SELECT DISTINCT code FROM codes WHERE code = ?", [exact])
        elif prefix is not None:
            # GLOB with a literal prefix is answered from the index on code.
            pattern = "".join(f"[{ch}]" if ch in "*?[]" else ch for ch in prefix) + "*"
            rows = self._read("SELECT DISTINCT code FROM codes WHERE code GLOB ?", [pattern])
        else:
            rows = self._read("SELECT DISTINCT code FROM codes ORDER BY code")
        return sorted(row[0] for row in rows)

    def occupations_with_code(self, code: str) -> list[str]:
        """The occupations (``ceterms:Occupation``) that have exactly this code."""
        rows = self._read(
            "SELECT DISTINCT c.subject FROM codes c JOIN types t ON t.subject = c.subject"
            " WHERE c.code = ? AND t.type = ? ORDER BY c.subject",
            [code, OCCUPATION],
        )
        return [row[0] for row in rows]

    def occupation_competencies(
        self, codes: list[str], limit: int, offset: int
    ) -> list[tuple[str, list[str]]]:
        """A page of (competency IRI, relations) for the occupations with these codes."""
        rows = self._read(COMPETENCIES_PAGE, self._parameters(codes, limit=limit, offset=offset))
        return [(iri, sorted(set(relations.split("\n")))) for iri, relations in rows]

    def competencies_of(self, codes: list[str]) -> list[str]:
        """Every competency IRI of the occupations with these codes."""
        return sorted(row[0] for row in self._read(COMPETENCY_IRIS, self._parameters(codes)))

    def occupation_credentials(
        self, codes: list[str], types: Iterable[str], limit: int, offset: int
    ) -> list[tuple[str, list[str]]]:
        """A page of (resource IRI, matches) of the given types preparing for these codes.

        Each match is ``path<TAB>code`` or ``path<TAB>competency IRI``.
        """
        parameters = self._parameters(codes, types=types, limit=limit, offset=offset)
        rows = self._read(CREDENTIALS_PAGE, parameters)
        return [(iri, matches.split("\n")) for iri, matches, _ in rows]

    def preparing_resources(self, codes: list[str], types: Iterable[str]) -> set[str]:
        """Every resource of the given types preparing for these codes."""
        rows = self._read(CREDENTIAL_IRIS, self._parameters(codes, types=types))
        return {row[0] for row in rows}

    def competency_credentials(
        self, competencies: list[str], types: Iterable[str], limit: int | None, offset: int
    ) -> list[tuple[str, list[str]]]:
        """A page of (resource IRI, paths) of what teaches, assesses or requires these
        competencies; ``limit=None`` returns them all."""
        parameters = {
            "competencies": json.dumps(competencies),
            "types": json.dumps(sorted(types)),
            "limit": -1 if limit is None else limit,
            "offset": offset,
        }
        rows = self._read(COMPETENCY_CREDENTIALS_PAGE, parameters)
        return [(iri, paths.split("\n")) for iri, paths, _ in rows]

    @staticmethod
    def _parameters(codes: list[str], **extra: Any) -> dict[str, Any]:
        parameters = {
            "codes": json.dumps(sorted(codes)),
            "occupation": OCCUPATION,
            "competency": COMPETENCY,
            "types": json.dumps(sorted(extra.pop("types", ()))),
            "limit": -1,
            "offset": 0,
        }
        parameters.update(extra)
        return parameters


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


def _add_competencies(
    rows: Rows,
    objects: dict[tuple[Any, str], list[Any]],
    subject: str,
    path: str,
    values: list[Any],
) -> None:
    """A competency linked directly, or through an alignment object's ``targetNode``."""
    for value in values:
        if _iri(value):
            rows.teaches.add((subject, value.value, path))
        for target in _iris(objects.get((value, TARGET_NODE), ())):
            rows.teaches.add((subject, target, path))


def _relation(kind: Any) -> str:
    """The relation an alignment type names, as the SPARQL texts compute it."""
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
