"""Answers to the employer and partner questions, as JSON-LD-ready dictionaries.

``EmployerQueries`` finds the page of results a question asks for in the link
index (``registry.links``) or the full-text index (``registry.search``), then
describes that page with the SPARQL texts of ``registry.queries``, run
through the registry's ``QueryRunner`` (so the same time and size limits
apply as on ``/sparql``). Every question also has one documented SPARQL text
that gives the same results (``GET /queries/{name}``). It does not use HTTP:
the Flask views only pick the format and the URL of the next page.
"""

from __future__ import annotations

import difflib
import logging
from collections import defaultdict
from typing import Any

import pyoxigraph as ox

from registry import queries as q
from registry.ctid import path_ctid
from registry.errors import InvalidRequest, NotFound
from registry.links import LinkIndex
from registry.queries import ClassHierarchy, OccupationCode, compact
from registry.search import SearchIndex

log = logging.getLogger(__name__)

API = "urn:ctdl-registry:api:"

# The JSON-LD context of every query API response: CTDL terms keep their
# CTDL names, and the few words the API adds get IRIs under ``API``.
API_CONTEXT: dict[str, Any] = {
    "ceterms": q.CETERMS,
    "ceasn": q.CEASN,
    "api": API,
    "results": {"@id": "api:result", "@container": "@list"},
    "next": {"@id": "api:next", "@type": "@id"},
    "sparql": {"@id": "api:sparqlQuery", "@type": "@id"},
    "occupation": {"@id": "api:occupation"},
    "level": {"@id": "api:level"},
    "covers": {"@id": "api:coversCode", "@container": "@set"},
    "total": {"@id": "api:total"},
    "query": {"@id": "api:query"},
    "matchedBy": {"@id": "api:matchedBy"},
    "path": {"@id": "api:path"},
    "relation": {"@id": "api:relation"},
    "direction": {"@id": "api:direction"},
    "score": {"@id": "api:score"},
    "snippet": {"@id": "api:snippet"},
    "broader": {"@id": "api:broader", "@container": "@set"},
    "narrower": {"@id": "api:narrower", "@container": "@set"},
    "skills": {"@id": "api:skills", "@container": "@set"},
    "competencies": {"@id": "api:competencies", "@container": "@set"},
    "requiredCredentials": {"@id": "api:requiredCredentials", "@container": "@set"},
    "counterparts": {"@id": "api:counterparts", "@container": "@set"},
    "code": "ceterms:codedNotation",
    "ctid": "ceterms:ctid",
    "name": "ceterms:name",
    "description": "ceterms:description",
    "competencyText": "ceasn:competencyText",
    "isPartOf": {"@id": "ceasn:isPartOf", "@type": "@id"},
    "framework": {"@id": "ceterms:framework", "@type": "@id"},
    "frameworkName": "ceterms:frameworkName",
    "competency": {"@id": "ceterms:targetCompetency", "@type": "@id"},
    "value": "https://schema.org/value",
    "minValue": "https://schema.org/minValue",
    "maxValue": "https://schema.org/maxValue",
    "recommendation": "https://schema.org/description",
    "colleges": {"@id": "api:colleges"},
    "unit": "ceterms:creditUnitType",
}

# How many competencies of an occupation ``GET /occupations/{code}`` embeds.
EMBEDDED_SKILLS = 25


def value_of(term: Any) -> Any:
    """Return the Python value of a result term: the IRI, the literal's text, or ``None``."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        return _number(term) if term.datatype.value in NUMERIC_TYPES else term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC_TYPES = {XSD + name for name in ("integer", "decimal", "double", "float", "int", "long")}


def _number(term: ox.Literal) -> Any:
    """Return a numeric literal as a JSON number (an integer when it has no fraction)."""
    try:
        number = float(term.value)
    except ValueError:
        return term.value
    return int(number) if number.is_integer() else number


class EmployerQueries:
    """The query API's operations, each returning a page as a dictionary."""

    def __init__(
        self,
        runner: Any,
        store: Any,
        classes: ClassHierarchy,
        search: SearchIndex,
        links: LinkIndex,
    ) -> None:
        self.runner = runner
        self.store = store
        self.search_index = search
        self.links = links
        self.classes = classes
        self.learning_classes = sorted(self.classes.learning_classes())
        self.learning_types = sorted(f"<{_expand(name)}>" for name in self.learning_classes)

    # Occupations

    def occupation(self, code_text: str) -> dict[str, Any]:
        """The occupations with this exact code, their hierarchy and their first skills."""
        code = self._parse_code(code_text)
        occupations = self.links.occupations_with_code(code.code)
        rows = self._select(q.occupation_query(code, occupations)) if occupations else []
        if not rows:
            raise self._no_occupation(code)
        occupations = _group_occupations(rows)
        hierarchy = self._hierarchy([item["@id"] for item in occupations])
        for item in occupations:
            item.update(hierarchy.get(item["@id"], {"broader": [], "narrower": []}))
        skills = self.occupation_competencies(code.code, EMBEDDED_SKILLS, 0)
        return {
            "@context": API_CONTEXT,
            "code": code.code,
            "level": code.level,
            "results": occupations,
            "skills": skills["results"],
            "skillsComplete": skills["next"] is None,
        }

    def occupation_competencies(self, code_text: str, limit: int, offset: int) -> dict[str, Any]:
        code, codes = self._known_code(code_text)
        rows = self.links.occupation_competencies(code.prefix, limit + 1, offset)
        summaries = self._competency_summaries([competency for competency, _ in rows[:limit]])
        results = [
            _drop_empty(
                {
                    "@id": competency,
                    **summaries.get(competency, {}),
                    "relation": relations,
                }
            )
            for competency, relations in rows
        ]
        return _page(results, limit, offset, occupation=_code_summary(code, codes))

    def _competency_summaries(self, competencies: list[str]) -> dict[str, dict[str, Any]]:
        return self.links.competency_summaries(competencies) if competencies else {}

    def occupation_credentials(self, code_text: str, limit: int, offset: int) -> dict[str, Any]:
        """Credentials, learning opportunities and assessments that prepare for an occupation."""
        code, codes = self._known_code(code_text)
        rows = self.links.occupation_credentials(code.prefix, limit + 1, offset)
        page = _page(_match_rows(rows), limit, offset, occupation=_code_summary(code, codes))
        page["results"] = self._describe(page["results"])
        return page

    def covered_codes(self, code: OccupationCode) -> list[str]:
        """The occupation codes in the store that ``code`` covers (29-1141 covers 29-1141.01)."""
        if q.ONET_CODE.fullmatch(code.code):
            return self.links.codes(exact=code.code)
        return self.links.codes(prefix=code.prefix)

    def _parse_code(self, code_text: str) -> OccupationCode:
        """Parse a code; for text that is not one, suggest occupations whose titles match."""
        try:
            return OccupationCode.parse(code_text)
        except NotFound as exc:
            if q.query_words(code_text):
                hits, _ = self.search_index.search(code_text, 4, 0, types=["ceterms:Occupation"])
                codes = self._codes_of([hit["@id"] for hit in hits])
                exc.extensions["suggestions"] = [
                    _drop_empty(
                        {"code": codes.get(hit["@id"]), "name": hit.get("name"), "@id": hit["@id"]}
                    )
                    for hit in hits[:5]
                ]
            raise

    def _codes_of(self, occupations: list[str]) -> dict[str, str]:
        if not occupations:
            return {}
        rows = self._select(q.codes_query(occupations))
        return {row["occupation"]: row["code"] for row in rows}

    def _known_code(self, code_text: str) -> tuple[OccupationCode, list[str]]:
        """Parse a code and list the codes in the store it covers; 404 if there are none."""
        code = self._parse_code(code_text)
        codes = self.covered_codes(code)
        if not codes:
            raise self._unknown_code(code)
        return code, codes

    def _no_occupation(self, code: OccupationCode) -> NotFound:
        """Return a 404 for a code no occupation document has, naming the alignments that use it."""
        covered = self.covered_codes(code)
        if not covered:
            return self._unknown_code(code)
        return NotFound(
            f"no occupation document has the code {code.code}, but alignments in the "
            f"registry use it ({', '.join(covered[:5])}); see /occupations/{code.code}/"
            f"credentials and /occupations/{code.code}/competencies",
            code=code.code,
            covers=covered,
        )

    def _unknown_code(self, code: OccupationCode) -> NotFound:
        """Return a 404 naming the nearest codes in the store, by shared prefix and distance."""
        nearest = sorted(self.links.codes(), key=lambda other: _distance(code.code, other))[:5]
        names = {row["code"]: row["name"] for row in self._select(q.code_names_query(nearest))}
        suggestions = [_drop_empty({"code": other, "name": names.get(other)}) for other in nearest]
        hint = ", ".join(
            f"{s['code']} ({s['name']})" if "name" in s else s["code"] for s in suggestions
        )
        return NotFound(
            f"no occupation or alignment in the registry has the code {code.code}; nearest "
            f"codes: {hint or 'none loaded'}. Load occupations with "
            "`registry load --format soc|onet`.",
            code=code.code,
            suggestions=suggestions,
        )

    def _hierarchy(self, occupations: list[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
        found: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: {"broader": [], "narrower": []}
        )
        seen: set[tuple[str, str, str]] = set()
        for row in self._select(q.hierarchy_query(occupations)):
            key = (row["of"], row["relation"], row["occupation"])
            if key in seen:
                continue
            seen.add(key)
            entry = {"@id": row["occupation"], "ctid": row["ctid"], "code": row["code"]}
            entry["name"] = row["name"]
            found[row["of"]][row["relation"]].append(_drop_empty(entry))
        return found

    # Competencies, credentials, transfer values

    def competency_credentials(self, ctid: str, limit: int, offset: int) -> dict[str, Any]:
        ctid = path_ctid(ctid)
        competencies = self.resources_with_ctid(ctid)
        if not competencies:
            raise NotFound(f"no resource in the registry has the CTID {ctid}", ctid=ctid)
        rows = self.links.competency_credentials(
            competencies, self.learning_classes, limit + 1, offset
        )
        page = _page(_match_rows(rows), limit, offset, competency=ctid)
        page["results"] = self._describe(page["results"])
        return page

    def transfer_values(self, ctid: str, limit: int, offset: int) -> dict[str, Any]:
        """Transfer values a resource earns (``from``) or receives (``for``)."""
        ctid = path_ctid(ctid)
        rows = self._select(q.transfer_values_query(ctid, limit, offset))
        if not rows and offset == 0 and not self._exists(ctid):
            raise NotFound(f"no resource in the registry has the CTID {ctid}", ctid=ctid)
        page = _page(rows, limit, offset, resource=ctid)
        page["results"] = self._transfer_value_details(page["results"])
        return page

    def _transfer_value_details(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        pairs = [(row["profile"], row["direction"]) for row in rows]
        details = _group_transfer_values(self._select(q.transfer_value_details_query(pairs)))
        colleges = {(row["profile"], row["direction"]): row["colleges"] for row in rows}
        results = []
        for pair in pairs:
            if pair in details:
                result = details[pair]
                if colleges[pair] is not None:
                    result["colleges"] = colleges[pair]
                results.append(result)
        return results

    def search(self, text: str, limit: int, offset: int, **filters: Any) -> dict[str, Any]:
        """Full-text search, ranked, with type, occupation, competency and language filters."""
        types = self._type_filter(filters.get("type"))
        scope = self._scope(filters.get("occupation"), filters.get("competency"))
        hits, total = self.search_index.search(
            text, limit, offset, types=types, language=filters.get("language"), within=scope
        )
        page = _page(hits, limit, offset, query=text)
        page["total"] = total
        return page

    def _type_filter(self, name: str | None) -> list[str] | None:
        """The CTDL class a search is limited to (the index also records superclasses).

        ``Certificate``, ``ceterms:Certificate``, the full IRI and any letter case
        name the same class; an unknown name is a 400 with the nearest classes.
        """
        if not name:
            return None
        short = compact(name.strip()) if "://" in name else name.strip()
        by_lower = {known.lower(): known for known in self.classes.classes}
        for candidate in (short, f"ceterms:{short}", f"ceasn:{short}"):
            if candidate.lower() in by_lower:
                return [by_lower[candidate.lower()]]
        close = difflib.get_close_matches(short, sorted(self.classes.classes), n=3, cutoff=0.6)
        raise InvalidRequest(
            f"type {name!r} is not a CTDL class; use a class name such as Credential, "
            f"Certification, Occupation or ceasn:Competency"
            + (f" (nearest: {', '.join(close)})" if close else ""),
            type=name,
        )

    def _scope(self, occupation: str | None, competency: str | None) -> set[str] | None:
        """The IRIs a search is limited to by its occupation and competency filters."""
        scope: set[str] | None = None
        if occupation:
            scope = self._occupation_scope(occupation)
        if competency:
            linked = self._competency_scope(competency)
            scope = linked if scope is None else scope & linked
        return scope

    def _occupation_scope(self, code_text: str) -> set[str]:
        code, _ = self._known_code(code_text)
        resources = self.links.preparing_resources(code.prefix)
        return resources | set(self.links.competencies_of(code.prefix))

    def _competency_scope(self, ctid_text: str) -> set[str]:
        competencies = self.resources_with_ctid(path_ctid(ctid_text))
        if not competencies:
            return set()
        rows = self.links.competency_credentials(competencies, self.learning_classes, None, 0)
        return {resource for resource, _ in rows}

    def competencies_of(self, code: OccupationCode) -> list[str]:
        """Return the IRIs of the competencies of the occupations a code covers."""
        return self.links.competencies_of(code.prefix)

    def resources_with_ctid(self, ctid: str) -> list[str]:
        rows = self._select(q.resources_with_ctid_query(ctid))
        return [row["resource"] for row in rows]

    def _exists(self, ctid: str) -> bool:
        ask = f"{q.PREFIXES}ASK {{ {q.resource_by_ctid(ctid)} }}"
        return self.runner.run(ask, check=False).boolean

    def _describe(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Turn a page of matched resources into results with their CTIDs, names, types,
        competencies and required credentials (what each one proves)."""
        if not rows:
            return []
        resources = [row["resource"] for row in rows]
        summaries = self.links.describe(resources)
        results = []
        for row in rows:
            summary = summaries[row["resource"]]
            summary = {**summary, "types": " ".join(summary["types"])}
            results.append(_preparing_result({**summary, **row}))
        details = self.links.details(resources)
        for result in results:
            result.update(details[result["@id"]])
        return results

    # The SPARQL behind each answer

    def sparql_for(self, name: str, params: dict[str, str]) -> str:
        """The SPARQL text the API runs for the named query with these parameters."""
        if name not in NAMED_QUERIES:
            raise NotFound(
                f"no query is named {name!r}; the names are {', '.join(NAMED_QUERIES)}",
                query=name,
            )
        limit, offset = q.page_bounds(params.get("limit"), params.get("offset"))
        try:
            return NAMED_QUERIES[name].build(self, params, limit, offset)
        except KeyError as exc:
            raise InvalidRequest(
                f"the {name} query needs the parameter {exc.args[0]}",
                parameter=exc.args[0],
            ) from exc

    def _select(self, sparql: str) -> list[dict[str, Any]]:
        result = self.runner.run(sparql, check=False)  # the registry's own query texts
        return [
            {name: value_of(term) for name, term in zip(result.variables, row, strict=True)}
            for row in result.rows
        ]


def _expand(name: str) -> str:
    prefix, _, local = name.partition(":")
    namespace = {"ceterms": q.CETERMS, "ceasn": q.CEASN}.get(prefix)
    if namespace is None:
        # schema: and other vocabularies' classes do not appear as learning classes.
        return name
    return namespace + local


def _match_rows(rows: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    """Link index rows as the rows ``_preparing_result`` reads: IRI and matches."""
    return [{"resource": iri, "matches": "\n".join(matches)} for iri, matches in rows]


def _page(results: list[dict[str, Any]], limit: int, offset: int, **about: Any) -> dict[str, Any]:
    """Trim the one extra row fetched to tell whether a next page exists."""
    more = len(results) > limit
    page = {"@context": API_CONTEXT, **about, "results": results[:limit]}
    page["next"] = offset + limit if more else None
    return page


def _code_summary(code: OccupationCode, codes: list[str]) -> dict[str, Any]:
    return {"code": code.code, "level": code.level, "covers": codes}


def _preparing_result(row: dict[str, Any]) -> dict[str, Any]:
    """One matched resource: ``row`` has its IRI, matches, and (from ``LinkIndex.describe``)
    its CTID, name and types."""
    matched = []
    for line in sorted(filter(None, (row["matches"] or "").split("\n"))):
        path, _, via = line.partition("\t")
        if path == "occupationType":
            matched.append({"path": path, "code": via})
        elif via:
            matched.append({"path": path, "competency": via})
        else:
            matched.append({"path": path})
    return _drop_empty(
        {
            "@id": row["resource"],
            "@type": sorted(compact(t) for t in (row.get("types") or "").split()),
            "ctid": row.get("ctid"),
            "name": row.get("name"),
            "matchedBy": matched,
        }
    )


def _group_occupations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = grouped.setdefault(
            row["occupation"],
            {"@id": row["occupation"], "@type": "ceterms:Occupation", "ctid": row["ctid"]},
        )
        for key in ("name", "description", "code", "framework", "frameworkName"):
            if row[key] is not None:
                item.setdefault(key, row[key])
    return list(grouped.values())


def _group_transfer_values(
    rows: list[dict[str, Any]],
) -> dict[tuple[str, str], dict[str, Any]]:
    """Merge detail rows into one result per (profile, direction), keyed by that pair."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["profile"], row["direction"])
        item = grouped.setdefault(
            key,
            {
                "@id": row["profile"],
                "@type": "ceterms:TransferValueProfile",
                "ctid": row["ctid"],
                "name": row["name"],
                "direction": row["direction"],
                "counterparts": [],
                "value": [],
            },
        )
        if row["counterpart"] and all(c["@id"] != row["counterpart"] for c in item["counterparts"]):
            counterpart = {
                "@id": row["counterpart"],
                "ctid": row["counterpartCtid"],
                "name": row["counterpartName"],
            }
            item["counterparts"].append(_drop_empty(counterpart))
        credit = _drop_empty(
            {
                "value": row["value"],
                "minValue": row["minValue"],
                "maxValue": row["maxValue"],
                "unit": row["unit"],
                "recommendation": row["recommendation"],
            }
        )
        if set(credit) - {"unit", "recommendation"} and credit not in item["value"]:
            item["value"].append(credit)
    return {
        key: _drop_empty(item) | {"counterparts": item["counterparts"], "value": item["value"]}
        for key, item in grouped.items()
    }


def _distance(code: str, other: str) -> tuple[int, bool, int]:
    """Order candidate codes: longest shared prefix first, then codes of the same kind
    (SOC or O*NET-SOC), then nearest by number."""
    shared = 0
    for left, right in zip(code, other, strict=False):
        if left != right:
            break
        shared += 1
    same_kind = ("." in code) == ("." in other)
    return (-shared, not same_kind, abs(_numeric(code) - _numeric(other)))


def _numeric(code: str) -> int:
    """A code as one number, SOC digits then the O*NET suffix: 29-1141.01 is 29114101."""
    soc, _, suffix = code.partition(".")
    digits = "".join(ch for ch in soc if ch.isdigit())
    tail = "".join(ch for ch in suffix if ch.isdigit())
    if not digits:
        return 0
    return int(digits) * 100 + (int(tail[:2]) if tail else 0)


def _drop_empty(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if value not in (None, "")}


def _occupation_credentials_sparql(
    api: EmployerQueries, params: dict[str, str], limit: int, offset: int
) -> str:
    code = OccupationCode.parse(params["code"])
    codes = api.covered_codes(code)
    competencies = api.competencies_of(code)
    return q.occupation_credentials_query(codes, competencies, api.learning_types, limit, offset)


def _search_sparql(api: EmployerQueries, params: dict[str, str], limit: int, offset: int) -> str:
    types = api._type_filter(params.get("type")) or []
    expanded = [f"<{_expand(name)}>" for name in types]
    return q.search_query(q.query_words(params["q"]), expanded, params.get("language"))


NAMED_QUERIES: dict[str, q.NamedQuery] = {
    query.name: query
    for query in (
        q.NamedQuery(
            "occupation",
            "The occupations with exactly this SOC or O*NET-SOC code.",
            "/occupations/{code}",
            {"code": "SOC 2018 or O*NET-SOC code"},
            lambda api, p, limit, offset: q.occupation_query(OccupationCode.parse(p["code"])),
            {"code": "29-1141"},
        ),
        q.NamedQuery(
            "occupation-hierarchy",
            "Broader and narrower occupations of an occupation, by its IRI.",
            "/occupations/{code}",
            {"occupation": "occupation IRI"},
            lambda api, p, limit, offset: q.hierarchy_query([p["occupation"]]),
        ),
        q.NamedQuery(
            "occupation-competencies",
            "Competencies of the occupations a code covers, with how each is linked.",
            "/occupations/{code}/competencies",
            {"code": "SOC 2018 or O*NET-SOC code", "limit": "page size", "offset": "start"},
            lambda api, p, limit, offset: q.occupation_competencies_query(
                api.covered_codes(OccupationCode.parse(p["code"])), limit, offset
            ),
            {"code": "29-1141"},
        ),
        q.NamedQuery(
            "occupation-credentials",
            "Credentials, learning opportunities and assessments that prepare for the "
            "occupations a code covers, directly or through competencies.",
            "/occupations/{code}/credentials",
            {"code": "SOC 2018 or O*NET-SOC code", "limit": "page size", "offset": "start"},
            lambda api, p, limit, offset: _occupation_credentials_sparql(api, p, limit, offset),
            {"code": "29-1141"},
        ),
        q.NamedQuery(
            "competency-credentials",
            "What teaches, assesses or requires a competency.",
            "/competencies/{ctid}/credentials",
            {"ctid": "the competency's CTID", "limit": "page size", "offset": "start"},
            lambda api, p, limit, offset: q.competency_credentials_query(
                api.resources_with_ctid(path_ctid(p["ctid"])), api.learning_types, limit, offset
            ),
        ),
        q.NamedQuery(
            "credential-details",
            "The competencies and required credentials of a credential, by its IRI.",
            "/occupations/{code}/credentials",
            {"resource": "credential IRI"},
            lambda api, p, limit, offset: q.credential_details_query([p["resource"]]),
        ),
        q.NamedQuery(
            "transfer-values",
            "Transfer values a resource earns (from) or receives (for).",
            "/credentials/{ctid}/transfer-values",
            {"ctid": "CTID of a credential, course or other resource"},
            lambda api, p, limit, offset: q.transfer_values_query(
                path_ctid(p["ctid"]), limit, offset
            ),
        ),
        q.NamedQuery(
            "search",
            "Resources whose name, description or competency text holds every word. The "
            "API ranks with a stemmed full-text index; this SPARQL matches exact words only.",
            "/search",
            {"q": "words", "type": "CTDL class", "language": "language tag"},
            _search_sparql,
            {"q": "nursing"},
        ),
    )
}
