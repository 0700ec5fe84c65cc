"""The employer query API over the project's sample data: the EMT scenario end to end,
transfer values, search, paging, formats, errors, the named SPARQL queries and OpenAPI."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest
import requests
from conftest import SAMPLES

from registry.config import Settings
from registry.http import create_app
from registry.service import Registry

EMT = "ce-deaf8c7f-4706-4bd5-be88-63e40e5296c9"
CPR = "ce-44734b76-76c2-4a00-8bb4-06d34170c52a"
FORKLIFT = "ce-a31d807b-ec55-4b36-95cb-4022ac1257d5"
LOGISTICS = "ce-458f2acd-3cf8-4e0c-8d1c-8ee1c27bd531"
TRANSFER_VALUE = "ce-b0f2f5e8-fb97-4931-8bed-6ecd42e7d545"
EMT_REQUIRED_COMPETENCIES = {
    "ce-f4989527-c23b-40a3-ac6b-677f34e3ea58",
    "ce-c31cfdd7-d85f-4dfb-b055-7dcbcf3dcab4",
    "ce-4a535988-9535-4ff0-9513-495e473098f3",
    "ce-f6880ed2-aa8e-47cf-917c-ba685c20bc63",
    "ce-c9ca6afe-67f8-4652-afff-79cfdd08de79",
}
RESOURCES = "https://credentialengineregistry.org/resources/"


@pytest.fixture(scope="module")
def sample_registry(vocab_dir) -> Iterator[Registry]:
    registry = Registry(Settings(vocab_cache=vocab_dir, base_url="http://registry.test"))
    for path in sorted(SAMPLES.glob("*.json")):
        registry.load(path.read_bytes(), path.name)
    yield registry
    registry.close()


@pytest.fixture(scope="module")
def api(sample_registry):
    return create_app(registry=sample_registry).test_client()


def get_json(api, url: str, status: int = 200) -> dict:
    response = api.get(url, headers={"Accept": "application/ld+json"})
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def ctids(body: dict) -> list[str]:
    return [result["ctid"] for result in body["results"]]


# --- The EMT scenario -------------------------------------------------------------------


def test_emt_scenario_end_to_end(api):
    body = get_json(api, "/occupations/29-2042/credentials")
    assert ctids(body) == [EMT]
    emt = body["results"][0]
    assert emt["@type"] == ["ceterms:Certificate"]
    paths = {(m["path"], m.get("code") or m.get("competency")) for m in emt["matchedBy"]}
    assert ("occupationType", "29-2042") in paths
    assert ("competency:requires", RESOURCES + "ce-c9ca6afe-67f8-4652-afff-79cfdd08de79") in paths
    assert {c["ctid"] for c in emt["competencies"]} == EMT_REQUIRED_COMPETENCIES
    assert {c["relation"] for c in emt["competencies"]} == {"requiresCompetency"}
    assert [c["ctid"] for c in emt["requiredCredentials"]] == [CPR]
    assert (
        emt["requiredCredentials"][0]["name"] == "Basic Life Support (BLS) for Healthcare Providers"
    )


@pytest.mark.parametrize("code", ["29-0000", "29-2000", "29-2040", "29-2042"])
def test_soc_levels_find_emt(api, code):
    assert EMT in ctids(get_json(api, f"/occupations/{code}/credentials"))


def test_occupation_competencies_come_from_alignments(api):
    body = get_json(api, "/occupations/29-2042/competencies")
    assert len(body["results"]) == 3
    assert all(r["relation"] == ["occupationType 29-2042"] for r in body["results"])
    framework = RESOURCES + "ce-931a8e13-fd15-449b-9c4a-3256737082bf"
    assert {r["isPartOf"] for r in body["results"]} == {framework}


def test_competency_credentials(api):
    body = get_json(api, "/competencies/ce-f4989527-c23b-40a3-ac6b-677f34e3ea58/credentials")
    assert ctids(body) == [EMT]
    assert body["results"][0]["matchedBy"] == [{"path": "competency:requires"}]


def test_other_codes_exclude_emt(api):
    assert ctids(get_json(api, "/occupations/53-7051/credentials")) == [FORKLIFT]
    assert ctids(get_json(api, "/occupations/43-0000/credentials")) == [LOGISTICS]


# --- Transfer values ------------------------------------------------------------------------


def test_transfer_value_both_directions(api):
    earned = get_json(api, f"/credentials/{FORKLIFT}/transfer-values")["results"]
    assert [(r["ctid"], r["direction"]) for r in earned] == [(TRANSFER_VALUE, "from")]
    assert [c["ctid"] for c in earned[0]["counterparts"]] == [LOGISTICS]
    assert earned[0]["value"] == [{"value": 1, "unit": "Semester Hour"}]

    given = get_json(api, f"/credentials/{LOGISTICS}/transfer-values")["results"]
    assert [(r["ctid"], r["direction"]) for r in given] == [(TRANSFER_VALUE, "for")]
    assert [c["ctid"] for c in given[0]["counterparts"]] == [FORKLIFT]


def test_transfer_values_empty_page(api):
    assert get_json(api, f"/credentials/{CPR}/transfer-values")["results"] == []


# --- Search ---------------------------------------------------------------------------------


def test_search_ranking_and_stemming(api):
    # "operators" matches "Operator" by its stem. The credential named after
    # forklifts comes first, and credentials rank above the transfer value
    # record that also has forklifts in its name.
    body = get_json(api, "/search?q=forklift operators")
    found = ctids(body)
    assert found[0] == FORKLIFT
    assert "[forklift]" in body["results"][0]["snippet"].lower()
    assert found.index(TRANSFER_VALUE) > found.index(FORKLIFT)
    assert body["total"] == len(body["results"])


def test_search_type_filter_subclasses(api):
    everything = set(ctids(get_json(api, "/search?q=forklift")))
    credentials = set(ctids(get_json(api, "/search?q=forklift&type=Credential")))
    assert TRANSFER_VALUE in everything
    assert credentials == {FORKLIFT, LOGISTICS} & everything
    assert TRANSFER_VALUE not in credentials


def test_search_occupation_and_competency_filters(api):
    assert ctids(get_json(api, "/search?q=certificate&occupation=29-2042")) == [EMT]
    competency = "ce-f4989527-c23b-40a3-ac6b-677f34e3ea58"
    assert ctids(get_json(api, f"/search?q=emergency&competency={competency}")) == [EMT]


def test_search_language_filter(api):
    assert ctids(get_json(api, "/search?q=forklift&language=en"))
    assert ctids(get_json(api, "/search?q=forklift&language=es")) == []


def test_search_without_words_400(api):
    problem = get_json(api, "/search?q=%20%2B%2B", status=400)
    assert "at least one word" in problem["detail"]


# --- Paging and formats ----------------------------------------------------------------------


def test_paging_next_links(api):
    seen: list[str] = []
    url = "/search?q=college&limit=1"
    for _ in range(20):
        body = get_json(api, url)
        seen.extend(ctids(body))
        if body["next"] is None:
            break
        parts = urlsplit(body["next"])
        url = f"{parts.path}?{parts.query}"
    complete = ctids(get_json(api, "/search?q=college&limit=100"))
    assert seen == complete
    assert len(seen) > 1


@pytest.mark.parametrize(
    "url",
    [
        "/search?limit=0&q=x",
        "/search?limit=501&q=x",
        "/search?q=x&offset=-1",
        "/search?q=x&limit=ten",
    ],
)
def test_bad_paging_400(api, url):
    problem = get_json(api, url, status=400)
    assert "limit" in problem["detail"] or "offset" in problem["detail"]


def test_turtle_response_graph(api):
    response = api.get("/occupations/29-2042/credentials", headers={"Accept": "text/turtle"})
    assert response.content_type.startswith("text/turtle")
    triples = [quad.triple for quad in ox.parse(response.data, format=ox.RdfFormat.TURTLE)]
    emt = ox.NamedNode(RESOURCES + EMT)
    required = ox.NamedNode("urn:ctdl-registry:api:requiredCredentials")
    assert ox.Triple(emt, required, ox.NamedNode(RESOURCES + CPR)) in triples


def test_csv_keeps_credit_values(api):
    response = api.get(f"/credentials/{FORKLIFT}/transfer-values?format=csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["ctid"] for row in rows] == [TRANSFER_VALUE]
    assert rows[0]["value"] == "1 Semester Hour"
    assert LOGISTICS in rows[0]["counterparts"]


def test_csv_response_rows(api):
    response = api.get("/occupations/29-0000/credentials?format=csv")
    assert response.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["ctid"] for row in rows] == [EMT]
    assert CPR in rows[0]["requiredCredentials"]


def test_context_is_served(api):
    body = get_json(api, "/occupations/29-2042/credentials")
    context = api.get(urlsplit(body["@context"]).path)
    assert context.status_code == 200
    assert context.get_json()["@context"]["ctid"] == "ceterms:ctid"


# --- Errors -----------------------------------------------------------------------------------


def test_malformed_code_404(api):
    problem = get_json(api, "/occupations/nurse/credentials", status=404)
    assert "29-1141" in problem["detail"]
    assert "/search?q=nurse" in problem["detail"]


def test_unknown_code_404_suggestions(api):
    body = get_json(api, "/occupations/29-2049/credentials", 404)
    # The samples load no occupations; the codes their alignments use are suggested.
    assert body["code"] == "29-2049"
    assert body["suggestions"][0] == {"code": "29-2042", "name": "Emergency Medical Technicians"}
    assert "29-2042 (Emergency Medical Technicians)" in body["detail"]


def test_unknown_ctid_is_404(api):
    problem = get_json(
        api, "/credentials/ce-00000000-0000-4000-8000-000000000000/transfer-values", 404
    )
    assert "ce-00000000-0000-4000-8000-000000000000" in problem["detail"]


# --- The SPARQL behind the answers -------------------------------------------------------------


def test_named_queries_are_listed(api):
    listing = api.get("/queries").get_json()["queries"]
    names = {query["name"] for query in listing}
    assert {
        "occupation-credentials",
        "occupation-competencies",
        "transfer-values",
        "search",
    } <= names


@pytest.mark.parametrize(
    ("answer", "query"),
    [
        ("/occupations/29-0000/credentials", "/queries/occupation-credentials?code=29-0000"),
        ("/occupations/29-2042/competencies", "/queries/occupation-competencies?code=29-2042"),
        (f"/credentials/{FORKLIFT}/transfer-values", f"/queries/transfer-values?ctid={FORKLIFT}"),
    ],
)
def test_named_sparql_same_results(api, answer, query):
    body = get_json(api, answer)
    assert urlsplit(body["sparql"]).path == urlsplit(query).path
    text = api.get(query).get_data(as_text=True)
    results = api.post(
        "/sparql",
        data=text,
        headers={
            "Content-Type": "application/sparql-query",
            "Accept": "application/sparql-results+json",
        },
    ).get_json()
    first = results["head"]["vars"][0]
    from_sparql = {binding[first]["value"] for binding in results["results"]["bindings"]}
    assert from_sparql == {result["@id"] for result in body["results"]}


# --- Search index upkeep ----------------------------------------------------------------------


def test_search_index_upkeep(vocab_dir, tmp_path):
    settings = Settings(vocab_cache=vocab_dir, base_url="http://registry.test", store=tmp_path)
    registry = Registry(settings)
    registry.load((SAMPLES / "forklift-operator-certification.graph.json").read_bytes(), "f")
    assert [h["ctid"] for h in registry.search.search("forklift", 10, 0)[0]] == [FORKLIFT]
    registry.publisher.delete(FORKLIFT, "ce-15620c78-6b2d-45c7-9921-b0e6501198c4")
    assert registry.search.search("forklift", 10, 0)[0] == []
    registry.close()

    (tmp_path / "search.sqlite3").unlink()
    for leftover in tmp_path.glob("search.sqlite3-*"):
        leftover.unlink()
    reopened = Registry(settings)
    reopened.load((SAMPLES / "cpr-bls-certification.graph.json").read_bytes(), "c")
    assert reopened.search.indexed_versions()[FORKLIFT] == 2
    assert [h["ctid"] for h in reopened.search.search("life support", 10, 0)[0]] == [CPR]
    reopened.close()


# --- OpenAPI ------------------------------------------------------------------------------------


def test_openapi_covers_routes(api, sample_registry):
    from openapi_spec_validator import validate

    spec = api.get("/openapi.json").get_json()
    validate(spec)
    app = create_app(registry=sample_registry)
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
        assert path in spec["paths"], f"{path} is not in the OpenAPI description"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], f"{method} {path} is not described"


def test_live_server_query(sample_registry):
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, create_app(registry=sample_registry), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        response = requests.get(f"{base}/occupations/29-2042/credentials", timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/ld+json")
        assert [r["ctid"] for r in response.json()["results"]] == [EMT]
        assert response.json()["@context"] == f"{base}/contexts/query-api.jsonld"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_search_type_names(api):
    for name in (
        "Credential",
        "credential",
        "ceterms:Credential",
        "https://purl.org/ctdl/terms/Credential",
    ):
        assert FORKLIFT in ctids(get_json(api, f"/search?q=forklift&type={name}"))
    problem = get_json(api, "/search?q=forklift&type=Certifcate", status=400)
    assert "ceterms:Certificate" in problem["detail"]


def test_answer_lists_covered_codes(api):
    body = get_json(api, "/occupations/29-2040/credentials")
    assert body["occupation"]["covers"] == ["29-2042"]
    assert body["occupation"]["level"] == "broad occupation code"
