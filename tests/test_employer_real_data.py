"""The employer query API over real data: published CTDL, SOC and O*NET-SOC occupations,
ESCO, Open Skills Network skill descriptors and California MAP articulations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REJECTED_REAL_DOCUMENTS, SHARED_DATA, document_id, real_documents

from loaders import loader_class
from registry import queries as q
from registry.config import Settings
from registry.ctid import derived_ctid
from registry.http import create_app
from registry.queries import MAX_PAGE_SIZE, OccupationCode
from registry.service import Registry

IUSB_NURSING = "ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b"
WGU_COMPUTER_SCIENCE = "ce-8f5a2e25-7a30-4eb0-ab9e-ab441ac928c6"
OCCUPATIONS = SHARED_DATA / "occupations"

SOURCES: list[tuple[str, list[Path]]] = [
    ("soc", [OCCUPATIONS / "osmt-BLS-Import-SOC2018.csv"]),
    ("onet", [OCCUPATIONS / "osmt-oNet-Import-ONETSOC.csv"]),
    (
        "esco",
        [SHARED_DATA / "esco" / "v1.1.1", OCCUPATIONS / "nesta-esco_onet_crosswalk_Nov2020.csv"],
    ),
    ("osmt", [SHARED_DATA / "osmt"]),
    ("cpl", [SHARED_DATA / "cpl"]),
]


@pytest.fixture(scope="module")
def real_registry(vocab_dir) -> Iterator[Registry]:
    """Every real source loaded once. The loaders' own tests validate their output, so
    here documents go straight to the store, in batches as `registry load` does."""
    registry = Registry(Settings(vocab_cache=vocab_dir, base_url="http://registry.test"))
    for path in real_documents():
        if document_id(path) not in REJECTED_REAL_DOCUMENTS:
            registry.load(path.read_bytes(), document_id(path))
    for name, paths in SOURCES:
        loader = loader_class(name)(registry)
        documents = [
            outcome.document
            for path in loader.discover(paths)
            for outcome in loader.read(path)
            if outcome.document is not None
        ]
        assert documents, f"the {name} loader produced nothing"
        registry.publisher.record_loads(documents)
    yield registry
    registry.close()


@pytest.fixture(scope="module")
def api(real_registry):
    return create_app(registry=real_registry).test_client()


def get_json(api, url: str, status: int = 200) -> dict:
    response = api.get(url, headers={"Accept": "application/ld+json"})
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_json()


def all_results(api, url: str) -> list[dict]:
    """Return every result of a paged response, following ``next`` (bounded)."""
    results: list[dict] = []
    separator = "&" if "?" in url else "?"
    for page in range(50):
        body = get_json(api, f"{url}{separator}limit=500&offset={page * 500}")
        results.extend(body["results"])
        if body["next"] is None:
            return results
    raise AssertionError(f"{url} has more than 50 pages")


def test_nurses_find_iusb_nursing(api):
    results = all_results(api, "/occupations/29-1141/credentials")
    nursing = next(r for r in results if r["ctid"] == IUSB_NURSING)
    assert "ceterms:BachelorDegree" in nursing["@type"]
    codes = {m["code"] for m in nursing["matchedBy"] if m["path"] == "occupationType"}
    assert codes and all(code.startswith("29-1141") for code in codes)


@pytest.mark.parametrize("code", ["15-1131", "15-1131.00", "15-0000"])
def test_wgu_computer_science_codes(api, code):
    assert WGU_COMPUTER_SCIENCE in {
        r["ctid"] for r in all_results(api, f"/occupations/{code}/credentials")
    }


def test_occupation_hierarchy(api):
    body = get_json(api, "/occupations/29-1141")
    soc = next(r for r in body["results"] if "Standard Occupational" in r.get("frameworkName", ""))
    assert soc["name"] == "Registered Nurses"
    assert [b["code"] for b in soc["broader"]] == ["29-0000", "29-1000", "29-1140"]
    narrower = {n["code"] for n in soc["narrower"]}
    assert {"29-1141.00", "29-1141.01", "29-1141.02"} <= narrower


def test_occupation_skills_from_esco(api):
    # The crosswalk maps ESCO's software developer (and others) to O*NET-SOC 2010
    # 15-1131.00; ESCO's essential and optional skills come back for that code.
    results = all_results(api, "/occupations/15-1131/competencies")
    relations = {relation for r in results for relation in r["relation"]}
    assert {"essential", "optional"} <= relations
    framework = derived_ctid("esco-skills", "v1.1.1")
    assert any(r["isPartOf"].endswith(framework) for r in results)


def test_occupation_skills_from_skill_descriptors(api, real_registry):
    rows = real_registry.queries.run(
        """PREFIX ceterms: <https://purl.org/ctdl/terms/>
        PREFIX ceasn: <https://purl.org/ctdlasn/terms/>
        SELECT ?competency ?code WHERE {
          ?competency a ceasn:Competency ; ceterms:occupationType/ceterms:codedNotation ?code .
          FILTER(STRSTARTS(?code, "15-1244"))
        } LIMIT 1"""
    ).rows
    assert rows, "the OSMT skills align to 15-1244 (network administrators)"
    competency = rows[0][0].value
    results = all_results(api, "/occupations/15-1244/competencies")
    match = next(r for r in results if r["@id"] == competency)
    assert match["relation"] == [f"occupationType {rows[0][1].value}"]


def test_map_articulation_transfer_value(api, real_registry):
    rows = real_registry.queries.run(
        """PREFIX ceterms: <https://purl.org/ctdl/terms/>
        SELECT ?credentialCtid ?courseCtid WHERE {
          ?profile a ceterms:TransferValueProfile ;
            ceterms:transferValueFrom ?credential ;
            ceterms:transferValueFor ?course .
          ?credential ceterms:name ?name ; ceterms:ctid ?credentialCtid .
          ?course ceterms:ctid ?courseCtid .
          FILTER(STR(?name) = "AP Statistics")
        }"""
    ).rows
    assert rows, "MAP credits AP Statistics toward Introduction to Statistics"
    credential, course = rows[0][0].value, rows[0][1].value
    assert credential == derived_ctid("map-credential", "AP Statistics")

    earned = get_json(api, f"/credentials/{credential}/transfer-values")["results"]
    assert any(
        r["direction"] == "from" and course in {c["ctid"] for c in r["counterparts"]}
        for r in earned
    )
    given = all_results(api, f"/credentials/{course}/transfer-values")
    assert any(
        r["direction"] == "for" and credential in {c["ctid"] for c in r["counterparts"]}
        for r in given
    )


def test_search_occupations_and_skills(api):
    body = get_json(api, "/search?q=registered nurses&type=Occupation")
    assert body["results"][0]["name"] == "Registered Nurses"
    skills = get_json(api, "/search?q=cloud security&type=ceasn:Competency")
    assert skills["total"] > 0
    assert all(r["@type"] == ["ceasn:Competency"] for r in skills["results"])


def test_unknown_code_suggestions(api):
    problem = get_json(api, "/occupations/29-1149/credentials", status=404)
    assert problem["suggestions"][0]["code"] == "29-1141"
    assert "29-1141 (Registered Nurses)" in problem["detail"]


# The link index must give what the documented SPARQL gives, over the real data.
EQUIVALENCE_CODES = ["29-1141", "29-0000", "15-1252", "15-1131", "15-1132.00", "11-0000"]


def sparql_rows(registry: Registry, text: str) -> list[dict]:
    return registry.employer._select(text)


@pytest.mark.parametrize("code_text", EQUIVALENCE_CODES)
def test_link_index_matches_documented_sparql(real_registry, code_text):
    employer = real_registry.employer
    code = OccupationCode.parse(code_text)
    codes = employer.covered_codes(code)
    assert codes, f"no real data has codes under {code_text}"
    everything = MAX_PAGE_SIZE * 1000

    competencies = sparql_rows(real_registry, q.occupation_competency_iris_query(codes))
    assert real_registry.links.competencies_of(code.prefix) == sorted(
        row["competency"] for row in competencies
    )

    expected_skills = {
        row["competency"]: sorted(set(row["relations"].split("\n")))
        for row in sparql_rows(real_registry, q.occupation_competencies_query(codes, everything, 0))
        if not row["competency"].startswith("_:")
    }
    assert dict(real_registry.links.occupation_competencies(code.prefix, everything, 0)) == (
        expected_skills
    )

    text = q.occupation_credentials_query(
        codes,
        real_registry.links.competencies_of(code.prefix),
        employer.learning_types,
        everything,
        0,
    )
    expected = [
        (row["resource"], sorted(row["matches"].split("\n")))
        for row in sparql_rows(real_registry, text)
    ]
    found = real_registry.links.occupation_credentials(code.prefix, everything, 0)
    assert [(iri, sorted(matches)) for iri, matches in found] == expected


def test_competency_credentials_match_documented_sparql(real_registry):
    employer = real_registry.employer
    taught = real_registry.links._read("SELECT DISTINCT competency FROM teaches LIMIT 40")
    assert taught, "the real data has no teaches, assesses or requires statements"
    for (competency,) in taught:
        text = q.competency_credentials_query([competency], employer.learning_types, 10_000, 0)
        expected = [
            (row["resource"], sorted(row["matches"].split("\n")))
            for row in sparql_rows(real_registry, text)
        ]
        found = real_registry.links.competency_credentials(
            [competency], employer.learning_classes, None, 0
        )
        assert [(iri, sorted(paths)) for iri, paths in found] == expected, competency


@pytest.mark.parametrize("code_text", ["29-1141", "15-0000", "29-0000"])
def test_result_details_match_documented_sparql(real_registry, code_text):
    page = real_registry.employer.occupation_credentials(code_text, 50, 0)
    resources = [result["@id"] for result in page["results"]]
    assert resources, f"no credentials for {code_text}"
    expected: dict[str, set] = {iri: set() for iri in resources}
    for row in sparql_rows(real_registry, q.credential_details_query(resources)):
        expected[row["resource"]].add((row["relation"], row["target"]))
    for result in page["results"]:
        found = {(entry["relation"], entry["@id"]) for entry in result["competencies"]}
        found |= {("requiresCredential", entry["@id"]) for entry in result["requiredCredentials"]}
        assert found == expected[result["@id"]], result["@id"]
