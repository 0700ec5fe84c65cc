"""The employer and partner questions, as named SPARQL queries over the document graphs.

Each question the query API answers (which credentials prepare for an
occupation, which competencies an occupation needs, what credit a credential
earns, ...) is one SPARQL text built here by a ``NamedQuery``. The HTTP layer
runs exactly that text on the store, and ``GET /queries/{name}`` returns it, so
a partner gets the same results from ``/sparql`` or from their own copy of the
data. The statements the texts rely on are described in
``docs/graph-model.md``.

Parameters are written into the text as SPARQL literals or IRIs through
pyoxigraph's term classes, which escape them; no request value is pasted into
a query as raw text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from registry.errors import InvalidRequest, NotFound

CETERMS = "https://purl.org/ctdl/terms/"
CEASN = "https://purl.org/ctdlasn/terms/"
SCHEMA = "https://schema.org/"
# ESCO's own IRIs for an occupation's essential and optional skills, used as
# ceterms:alignmentType (an IRI-valued term in the CTDL context).
ESCO_ESSENTIAL = "http://data.europa.eu/esco/model#relatedEssentialSkill"
ESCO_OPTIONAL = "http://data.europa.eu/esco/model#relatedOptionalSkill"
CTDL_SCHEMA_URL = "https://credreg.net/ctdl/schema/encoding/json"
CTDLASN_SCHEMA_URL = "https://credreg.net/ctdlasn/schema/encoding/json"
QDATA_SCHEMA_URL = "https://credreg.net/qdata/schema/encoding/json"

PREFIXES = f"""PREFIX ceterms: <{CETERMS}>
PREFIX ceasn: <{CEASN}>
PREFIX schema: <{SCHEMA}>
"""

# The classes whose instances can prepare someone for an occupation. Each one
# includes every subclass the CTDL schema gives it.
LEARNING_ROOTS = (
    "ceterms:Credential",
    "ceterms:LearningOpportunityProfile",
    "ceterms:AssessmentProfile",
)

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


# --- Occupation codes --------------------------------------------------------------------

SOC_CODE = re.compile(r"\d{2}-\d{4}")
ONET_CODE = re.compile(r"\d{2}-\d{4}\.\d{2}")


@dataclass(frozen=True)
class OccupationCode:
    """A SOC 2018 or O*NET-SOC code and the codes it covers in the hierarchy.

    A SOC code stands for its whole branch: ``29-0000`` (major group) covers
    every code starting ``29-``, ``29-1000`` (minor) ``29-1``, ``29-1140``
    (broad) ``29-114``, ``29-1141`` (detailed) itself and its O*NET-SOC
    occupations ``29-1141.00``, ``29-1141.01``, ... An O*NET-SOC code covers
    only itself.
    """

    code: str
    level: str
    prefix: str

    @classmethod
    def parse(cls, text: str) -> OccupationCode:
        code = text.strip()
        if ONET_CODE.fullmatch(code):
            return cls(code, "O*NET-SOC occupation code", code)
        if not SOC_CODE.fullmatch(code):
            raise NotFound(
                f"{text!r} is not an occupation code; use a SOC 2018 code such as 29-1141 or "
                "an O*NET-SOC code such as 29-1141.01, or search by title with "
                f"/search?q={quote(text.strip())}&type=ceterms:Occupation",
                code=text,
            )
        if code.endswith("0000"):
            return cls(code, "major group code", code[:3])
        if code.endswith("000"):
            return cls(code, "minor group code", code[:4])
        if code.endswith("0"):
            return cls(code, "broad occupation code", code[:6])
        return cls(code, "detailed occupation code", code)

    def covers(self, other: str) -> bool:
        """Tell whether a code in the data falls under this one."""
        if ONET_CODE.fullmatch(self.code):
            return other == self.code
        return other.startswith(self.prefix)


def query_words(text: str) -> list[str]:
    """Split a search text into words, as the full-text index does."""
    return re.findall(r"\w+", text or "")


def literal(value: str) -> str:
    """Write the value as an escaped SPARQL string literal."""
    return str(ox.Literal(value))


def iri(value: str) -> str:
    """Write the value as a SPARQL IRI, or raise ``InvalidRequest`` if it is not one."""
    try:
        return str(ox.NamedNode(value))
    except ValueError as exc:
        raise InvalidRequest(f"{value!r} is not an IRI", value=value) from exc


# --- Query texts ---------------------------------------------------------------------------


def code_values(codes: Iterable[str]) -> str:
    """Return a VALUES block binding ``?code`` to each code, as escaped literals."""
    return "VALUES ?code { " + " ".join(literal(code) for code in sorted(codes)) + " }"


def _occupation_competencies(codes: Iterable[str]) -> str:
    """Patterns binding ``?competency`` and ``?relation`` for the competencies of the
    occupations with these codes, and of competencies aligned to the codes.

    Every branch starts from the codes, so the store follows its indexes from a
    handful of alignments instead of scanning all occupations.
    """
    values = code_values(codes)
    return f"""{{
      {values}
      ?occupationAlignment ceterms:codedNotation ?code .
      ?occupation ceterms:occupationType ?occupationAlignment .
      ?occupation a ceterms:Occupation .
      {{
        ?occupation ceasn:skillEmbodied|ceasn:knowledgeEmbodied|ceasn:abilityEmbodied ?competency .
        BIND("essential" AS ?relation)
      }} UNION {{
        ?occupation ceterms:targetCompetency ?competencyAlignment .
        ?competencyAlignment ceterms:targetNode ?competency .
        OPTIONAL {{ ?competencyAlignment ceterms:alignmentType ?alignmentType }}
        BIND(
          IF(?alignmentType = <{ESCO_ESSENTIAL}>, "essential",
            IF(?alignmentType = <{ESCO_OPTIONAL}>, "optional",
              COALESCE(STR(?alignmentType), "related")))
          AS ?relation
        )
      }}
    }} UNION {{
      {values}
      ?alignedCompetency ceterms:codedNotation ?code .
      ?competency ceterms:occupationType ?alignedCompetency .
      ?competency a ceasn:Competency .
      BIND(CONCAT("occupationType ", ?code) AS ?relation)
    }}"""


def occupation_query(code: OccupationCode, occupations: Iterable[str] | None = None) -> str:
    """Select the occupations with exactly this code, with their names, descriptions and
    frameworks.

    ``occupations``, when the caller knows them, anchors the query on their IRIs: a
    code that thousands of alignments use is then not scanned alignment by alignment.
    """
    coded = f"?alignment ceterms:codedNotation {literal(code.code)} ."
    linked = "?occupation ceterms:occupationType ?alignment ."
    if occupations is None:
        start = f"{coded}\n  {linked}"
    else:
        start = f"{iri_values('occupation', occupations)}\n  {linked}\n  {coded}"
    return f"""{PREFIXES}
SELECT ?occupation ?ctid ?name ?description ?code ?framework ?frameworkName WHERE {{
  {start}
  ?occupation a ceterms:Occupation ;
    ceterms:ctid ?ctid .
  BIND({literal(code.code)} AS ?code)
  OPTIONAL {{ ?alignment ceterms:framework ?framework }}
  OPTIONAL {{ ?alignment ceterms:frameworkName ?frameworkName }}
  OPTIONAL {{ ?occupation ceterms:name ?name }}
  OPTIONAL {{ ?occupation ceterms:description ?description }}
}}
ORDER BY ?occupation"""


def hierarchy_query(occupations: Iterable[str]) -> str:
    """Broader (transitively) and narrower (one step) occupations of the given ones."""
    values = " ".join(iri(value) for value in occupations)
    return f"""{PREFIXES}
SELECT DISTINCT ?of ?relation ?occupation ?ctid ?code ?name WHERE {{
  VALUES ?of {{ {values} }}
  {{
    ?of ceterms:isSpecializationOf+ ?occupation .
    BIND("broader" AS ?relation)
  }} UNION {{
    ?occupation ceterms:isSpecializationOf ?of .
    BIND("narrower" AS ?relation)
  }} UNION {{
    ?of ceterms:hasSpecialization ?occupation .
    BIND("narrower" AS ?relation)
  }}
  OPTIONAL {{ ?occupation ceterms:ctid ?ctid }}
  OPTIONAL {{ ?occupation ceterms:occupationType/ceterms:codedNotation ?code }}
  OPTIONAL {{ ?occupation ceterms:name ?name }}
}}
ORDER BY ?relation ?code"""


def occupation_competencies_query(codes: Iterable[str], limit: int, offset: int) -> str:
    """A page of the competencies of the occupations with these codes, with how each is
    linked."""
    return f"""{PREFIXES}
SELECT ?competency (SAMPLE(?ctid_) AS ?ctid) (SAMPLE(?text_) AS ?text)
       (SAMPLE(?framework_) AS ?framework)
       (GROUP_CONCAT(DISTINCT ?relation; separator="\\n") AS ?relations) WHERE {{
  {_occupation_competencies(codes)}
  OPTIONAL {{ ?competency ceterms:ctid ?ctid_ }}
  OPTIONAL {{ ?competency ceasn:competencyText ?text_ }}
  OPTIONAL {{ ?competency ceasn:isPartOf ?framework_ }}
}}
GROUP BY ?competency
ORDER BY ?competency
LIMIT {limit + 1} OFFSET {offset}"""


def iri_values(variable: str, iris: Iterable[str]) -> str:
    """Return a VALUES block binding ``?variable`` to each IRI."""
    return f"VALUES ?{variable} {{ " + " ".join(iri(value) for value in iris) + " }"


def _through_competency(competencies: list[str]) -> str:
    """Patterns binding ``?resource`` and ``?path`` for what teaches, assesses or requires
    one of ``competencies``, directly or through an alignment object.

    Each branch starts with its own VALUES block: with one block outside the
    union, Oxigraph evaluated the union over the whole store first (15 s
    against 20 ms for 40 competencies among 100,000 documents).
    """
    values = iri_values("competency", competencies)
    branches = []
    for path, pattern in (
        ("competency:teaches", "?resource ceterms:teaches"),
        ("competency:assesses", "?resource ceterms:assesses"),
        ("competency:requires", "?resource ceterms:requires/ceterms:targetCompetency"),
    ):
        branches.append(f"""{{
      {values}
      {pattern} ?competency .
      BIND("{path}" AS ?path)
    }} UNION {{
      {values}
      ?viaAlignment ceterms:targetNode ?competency .
      {pattern} ?viaAlignment .
      BIND("{path}" AS ?path)
    }}""")
    return " UNION ".join(branches)


def occupation_competency_iris_query(codes: Iterable[str]) -> str:
    """Every competency of the occupations with these codes, or aligned to the codes."""
    return f"""{PREFIXES}
SELECT DISTINCT ?competency WHERE {{
  {_occupation_competencies(codes)}
  FILTER(isIRI(?competency))
}}"""


def resources_with_ctid_query(ctid: str) -> str:
    """The resources (normally one) that have this CTID."""
    return f"""{PREFIXES}
SELECT DISTINCT ?resource WHERE {{ {resource_by_ctid(ctid)} }}"""


def _learning_type_filter(types: Iterable[str]) -> str:
    """Keep ``?resource`` only if it is of one of the types. Written as FILTER EXISTS
    with VALUES: Oxigraph then checks the few matched resources instead of starting
    from every typed resource (about 300 ms against 3 ms on the real data)."""
    exists = f"FILTER EXISTS {{ ?resource a ?type . VALUES ?type {{ {' '.join(sorted(types))} }} }}"
    # A blank node (a profile embedded in another document) is not a result of its own.
    return f"FILTER(isIRI(?resource))\n  {exists}"


def occupation_credentials_query(
    codes: Iterable[str],
    competencies: list[str],
    types: Iterable[str],
    limit: int,
    offset: int,
) -> str:
    """A page of the credentials, learning opportunities and assessments that prepare for
    the occupations with these codes (``competencies`` are theirs, from
    ``occupation_competency_iris_query``), each with every path that matched; those
    matched by more paths come first."""
    codes = sorted(codes)
    through = ""
    if competencies:
        through = f"""UNION {{
    {_through_competency(competencies)}
    BIND(CONCAT(?path, "\\t", STR(?competency)) AS ?match)
  }}"""
    return f"""{PREFIXES}
SELECT ?resource (GROUP_CONCAT(DISTINCT ?match; separator="\\n") AS ?matches)
       (COUNT(DISTINCT ?match) AS ?matchCount) WHERE {{
  {{
    {code_values(codes)}
    ?alignment ceterms:codedNotation ?code .
    ?resource ceterms:occupationType ?alignment .
    BIND(CONCAT("occupationType\\t", ?code) AS ?match)
  }} UNION {{
    {code_values(codes)}
    ?occupationAlignment ceterms:codedNotation ?code .
    ?alignedOccupation ceterms:occupationType ?occupationAlignment .
    ?alignment ceterms:targetNode ?alignedOccupation .
    ?resource ceterms:occupationType ?alignment .
    BIND(CONCAT("occupationType\\t", ?code) AS ?match)
  }} {through}
  {_learning_type_filter(types)}
}}
GROUP BY ?resource
ORDER BY DESC(?matchCount) ?resource
LIMIT {limit + 1} OFFSET {offset}"""


def resource_by_ctid(ctid: str, variable: str = "resource") -> str:
    """Return a pattern binding ``?variable`` to the resource with this CTID."""
    return f"?{variable} ceterms:ctid {literal(ctid)} ."


def competency_credentials_query(
    competencies: list[str], types: Iterable[str], limit: int, offset: int
) -> str:
    """A page of what teaches, assesses or requires these competencies (the IRIs of one
    CTID, from ``resources_with_ctid_query``)."""
    return f"""{PREFIXES}
SELECT ?resource (GROUP_CONCAT(DISTINCT ?path; separator="\\n") AS ?matches)
       (COUNT(DISTINCT ?path) AS ?matchCount) WHERE {{
  {_through_competency(competencies)}
  {_learning_type_filter(types)}
}}
GROUP BY ?resource
ORDER BY DESC(?matchCount) ?resource
LIMIT {limit + 1} OFFSET {offset}"""


def credential_details_query(resources: Iterable[str]) -> str:
    """The competencies and required credentials of each of the given resources."""
    values = " ".join(iri(value) for value in resources)
    return f"""{PREFIXES}
SELECT DISTINCT ?resource ?relation ?target ?ctid ?label WHERE {{
  VALUES ?resource {{ {values} }}
  {{
    {{
      ?resource ceterms:teaches ?taught .
      BIND("teaches" AS ?relation)
    }} UNION {{
      ?resource ceterms:assesses ?taught .
      BIND("assesses" AS ?relation)
    }} UNION {{
      ?resource ceterms:requires/ceterms:targetCompetency ?taught .
      BIND("requiresCompetency" AS ?relation)
    }}
    OPTIONAL {{ ?taught ceterms:targetNode ?alignedTarget }}
    BIND(COALESCE(?alignedTarget, ?taught) AS ?target)
  }} UNION {{
    ?resource ceterms:requires/ceterms:targetCredential ?target .
    BIND("requiresCredential" AS ?relation)
  }}
  FILTER(isIRI(?target))
  OPTIONAL {{ ?target ceterms:ctid ?ctid }}
  OPTIONAL {{ ?target ceasn:competencyText|ceterms:name ?label }}
}}
ORDER BY ?resource ?relation ?target"""


def transfer_values_query(ctid: str, limit: int, offset: int) -> str:
    """A page of the transfer value profiles whose source (``from``) or target (``for``) is
    the resource with this CTID; those that more colleges award come first."""
    return f"""{PREFIXES}
SELECT ?profile ?direction (MAX(?weight_) AS ?colleges) WHERE {{
  {resource_by_ctid(ctid)}
  {{
    ?profile ceterms:transferValueFrom ?resource .
    BIND("from" AS ?direction)
  }} UNION {{
    ?profile ceterms:transferValueFor ?resource .
    BIND("for" AS ?direction)
  }}
  OPTIONAL {{ ?profile ceterms:applicability/ceterms:weight ?weight_ }}
}}
GROUP BY ?profile ?direction
ORDER BY DESC(?colleges) ?profile
LIMIT {limit + 1} OFFSET {offset}"""


def transfer_value_details_query(profiles: Iterable[tuple[str, str]]) -> str:
    """The name, credit and other end of each ``(profile IRI, direction)`` pair."""
    values = " ".join(f"({iri(profile)} {literal(direction)})" for profile, direction in profiles)
    return f"""{PREFIXES}
SELECT ?profile ?direction ?ctid ?name ?counterpart ?counterpartCtid ?counterpartName
       ?value ?minValue ?maxValue ?unit ?recommendation WHERE {{
  VALUES (?profile ?direction) {{ {values} }}
  ?profile ceterms:ctid ?ctid .
  OPTIONAL {{ ?profile ceterms:name ?name }}
  OPTIONAL {{
    ?profile ceterms:transferValueFor ?target .
    FILTER(?direction = "from")
    OPTIONAL {{ ?target ceterms:ctid ?targetCtid }}
    OPTIONAL {{ ?target ceterms:name ?targetName }}
  }}
  OPTIONAL {{
    ?profile ceterms:transferValueFrom ?source .
    FILTER(?direction = "for")
    OPTIONAL {{ ?source ceterms:ctid ?sourceCtid }}
    OPTIONAL {{ ?source ceterms:name ?sourceName }}
  }}
  BIND(COALESCE(?target, ?source) AS ?counterpart)
  BIND(COALESCE(?targetCtid, ?sourceCtid) AS ?counterpartCtid)
  BIND(COALESCE(?targetName, ?sourceName) AS ?counterpartName)
  OPTIONAL {{
    ?profile ceterms:transferValue ?valueProfile .
    OPTIONAL {{ ?valueProfile schema:value ?value }}
    OPTIONAL {{ ?valueProfile schema:minValue ?minValue }}
    OPTIONAL {{ ?valueProfile schema:maxValue ?maxValue }}
    OPTIONAL {{ ?valueProfile schema:description ?recommendation }}
    OPTIONAL {{
      ?valueProfile ceterms:creditUnitType ?unitAlignment .
      OPTIONAL {{ ?unitAlignment ceterms:targetNodeName ?unitName }}
      OPTIONAL {{ ?unitAlignment ceterms:targetNode ?unitNode }}
    }}
  }}
  BIND(COALESCE(?unitName, STR(?unitNode)) AS ?unit)
}}"""


def code_names_query(codes: Iterable[str]) -> str:
    """A name for each of these codes, from an occupation or an alignment that has it."""
    return f"""{PREFIXES}
SELECT ?code (SAMPLE(?name_) AS ?name) WHERE {{
  {code_values(codes)}
  ?alignment ceterms:codedNotation ?code .
  ?resource ceterms:occupationType ?alignment .
  OPTIONAL {{ ?resource a ceterms:Occupation ; ceterms:name ?occupationName }}
  OPTIONAL {{ ?alignment ceterms:targetNodeName ?alignmentName }}
  BIND(COALESCE(?occupationName, ?alignmentName) AS ?name_)
}}
GROUP BY ?code"""


def codes_query(occupations: Iterable[str]) -> str:
    """The codes of the given occupations."""
    values = " ".join(iri(value) for value in occupations)
    return f"""{PREFIXES}
SELECT ?occupation (MIN(?code_) AS ?code) WHERE {{
  VALUES ?occupation {{ {values} }}
  ?occupation ceterms:occupationType/ceterms:codedNotation ?code_ .
}}
GROUP BY ?occupation"""


def search_query(words: list[str], types: Iterable[str], language: str | None) -> str:
    """A SPARQL approximation of ``/search``: every word in a name, description or
    competency text, optionally of given types and in a language, ordered by name.

    The API ranks with a full-text index (BM25) and stems words; SPARQL has
    neither, so this text finds the exact word forms and does not rank.
    """
    conditions = "\n  ".join(
        f"FILTER(CONTAINS(LCASE(STR(?text)), {literal(word.lower())}))" for word in words
    )
    type_values = " ".join(sorted(types))
    type_filter = f"?resource a ?type . VALUES ?type {{ {type_values} }}" if type_values else ""
    language_filter = f"FILTER(LANGMATCHES(LANG(?text), {literal(language)}))" if language else ""
    return f"""{PREFIXES}
SELECT DISTINCT ?resource ?ctid ?name WHERE {{
  ?resource ceterms:ctid ?ctid ;
    ceterms:name|ceterms:description|ceasn:competencyText|ceasn:competencyLabel ?text .
  {conditions}
  {language_filter}
  {type_filter}
  OPTIONAL {{ ?resource ceterms:name|ceasn:competencyLabel ?name }}
}}
ORDER BY ?name
LIMIT 100"""


# --- Named queries, for GET /queries ------------------------------------------------------


@dataclass(frozen=True)
class NamedQuery:
    """A question with its parameters, its HTTP endpoint and the SPARQL text it runs."""

    name: str
    description: str
    endpoint: str
    parameters: dict[str, str]
    build: Callable[..., str] = field(repr=False)
    example: dict[str, str] = field(default_factory=dict)


class ClassHierarchy:
    """Subclasses of CTDL classes, read from the pinned schema encodings."""

    def __init__(self, encodings: Iterable[dict[str, Any]]) -> None:
        self._children: dict[str, set[str]] = {}
        self._parents: dict[str, set[str]] = {}
        self.classes: set[str] = set()
        for encoding in encodings:
            for node in encoding.get("@graph", []):
                if "rdfs:Class" in _as_list(node.get("@type")):
                    self.classes.add(node["@id"])
                for parent in _as_list(node.get("rdfs:subClassOf")):
                    self._children.setdefault(parent, set()).add(node["@id"])
                    self._parents.setdefault(node["@id"], set()).add(parent)

    def descendants(self, name: str) -> set[str]:
        """The class and every subclass, transitively, as compact names (``ceterms:Badge``)."""
        found = {name}
        pending = [name]
        while pending:
            for child in self._children.get(pending.pop(), ()):
                if child not in found:
                    found.add(child)
                    pending.append(child)
        return found

    def ancestors(self, name: str) -> set[str]:
        """The class and every superclass, transitively."""
        found = {name}
        pending = [name]
        while pending:
            for parent in self._parents.get(pending.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    pending.append(parent)
        return found

    def learning_classes(self) -> set[str]:
        """Every class whose instances can prepare someone for an occupation."""
        return set().union(*(self.descendants(root) for root in LEARNING_ROOTS))


def schema_encodings(cache: Any) -> list[dict[str, Any]]:
    """The pinned CTDL and CTDL-ASN schema encodings, as JSON."""
    urls = (CTDL_SCHEMA_URL, CTDLASN_SCHEMA_URL, QDATA_SCHEMA_URL)
    return [cache.load_json(url) for url in urls]


def compact(iri: str) -> str:
    """Shorten a CTDL IRI to ``ceterms:``/``ceasn:`` form; leave other IRIs whole."""
    for prefix, namespace in (("ceterms", CETERMS), ("ceasn", CEASN)):
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def page_bounds(limit: Any, offset: Any) -> tuple[int, int]:
    """Validate paging parameters: ``limit`` 1..500 (default 50), ``offset`` 0 or more."""
    try:
        size = DEFAULT_PAGE_SIZE if limit in (None, "") else int(limit)
        start = 0 if offset in (None, "") else int(offset)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(
            f"limit and offset must be whole numbers (got limit={limit!r}, offset={offset!r})"
        ) from exc
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {size}", limit=size)
    if start < 0:
        raise InvalidRequest(f"offset must be 0 or more, not {start}", offset=start)
    return size, start
