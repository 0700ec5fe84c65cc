"""/sparql: the SPARQL 1.1 Protocol over the real documents, limits and rejected queries."""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph as ox
import pytest
import requests

from registry.config import Settings
from registry.errors import InvalidQuery
from registry.http import create_app
from registry.service import Registry
from registry.sparql import check_query

PREFIX = "PREFIX ceterms: <https://purl.org/ctdl/terms/>\n"
IUSB_BSN = "ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b"
WGU_CS = "ce-8f5a2e25-7a30-4eb0-ab9e-ab441ac928c6"

BY_SOC_PREFIX = (
    PREFIX
    + """
SELECT DISTINCT ?credential ?ctid WHERE {
  ?credential ceterms:occupationType ?alignment ; ceterms:ctid ?ctid .
  ?alignment ceterms:codedNotation ?code .
  FILTER(STRSTARTS(?code, "29-1141"))
}"""
)

OCCUPATIONS_OF = (
    PREFIX
    + """
SELECT DISTINCT ?code ?name WHERE {
  ?credential ceterms:ctid "%s" ; ceterms:occupationType ?alignment .
  ?alignment ceterms:codedNotation ?code .
  OPTIONAL { ?alignment ceterms:targetNodeName ?name }
}"""
)


def _bindings(response) -> list[dict]:
    assert response.status_code == 200, response.data
    return json.loads(response.data)["results"]["bindings"]


def test_nursing_found_by_soc_code(loaded_client):
    rows = _bindings(loaded_client.get("/sparql", query_string={"query": BY_SOC_PREFIX}))
    assert {row["ctid"]["value"] for row in rows} == {IUSB_BSN}


def test_wgu_cs_occupation_alignments(loaded_client):
    rows = _bindings(loaded_client.get("/sparql", query_string={"query": OCCUPATIONS_OF % WGU_CS}))
    alignments = {(row["code"]["value"], row["name"]["value"]) for row in rows}
    assert alignments == {("15-1131.00", "Computer Programmers")}


def test_wgu_cs_found_by_its_codes(loaded_client):
    query = (
        PREFIX
        + """
      SELECT DISTINCT ?ctid WHERE {
        ?c ceterms:ctid ?ctid ; ceterms:occupationType/ceterms:codedNotation ?code .
        FILTER(STRSTARTS(?code, "15-1131"))
      }"""
    )
    rows = _bindings(loaded_client.get("/sparql", query_string={"query": query}))
    assert WGU_CS in {row["ctid"]["value"] for row in rows}


def test_form_post(loaded_client):
    response = loaded_client.post("/sparql", data={"query": BY_SOC_PREFIX})
    assert {row["ctid"]["value"] for row in _bindings(response)} == {IUSB_BSN}


def test_direct_post(loaded_client):
    response = loaded_client.post(
        "/sparql", data=BY_SOC_PREFIX, headers={"Content-Type": "application/sparql-query"}
    )
    assert {row["ctid"]["value"] for row in _bindings(response)} == {IUSB_BSN}


@pytest.mark.parametrize(
    "media_type, format_name",
    [
        ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
        ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
    ],
)
def test_select_result_formats(loaded_client, media_type, format_name):
    response = loaded_client.get(
        "/sparql", query_string={"query": BY_SOC_PREFIX}, headers={"Accept": media_type}
    )
    assert response.status_code == 200
    assert response.mimetype == media_type
    solutions = list(ox.parse_query_results(response.data, format=format_name))
    assert {s["ctid"].value for s in solutions} == {IUSB_BSN}


def test_select_csv(loaded_client):
    response = loaded_client.get(
        "/sparql", query_string={"query": BY_SOC_PREFIX}, headers={"Accept": "text/csv"}
    )
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode())))
    assert rows[0] == ["credential", "ctid"]
    assert {row[1] for row in rows[1:]} == {IUSB_BSN}


def test_csv_escapes_commas(loaded_client):
    query = 'SELECT ?text WHERE { VALUES ?text { "a, \\"quoted\\" text" } }'
    response = loaded_client.get("/sparql", query_string={"query": query, "format": "csv"})
    rows = list(csv.reader(io.StringIO(response.data.decode())))
    assert rows == [["text"], ['a, "quoted" text']]


def test_ask_query(loaded_client):
    query = PREFIX + f'ASK {{ ?c ceterms:ctid "{IUSB_BSN}" }}'
    response = loaded_client.get("/sparql", query_string={"query": query})
    assert json.loads(response.data) == {"head": {}, "boolean": True}


@pytest.mark.parametrize(
    "media_type, rdf_format",
    [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
    ],
)
def test_construct_formats(loaded_client, loaded_registry, media_type, rdf_format):
    query = PREFIX + (
        "CONSTRUCT { ?c ceterms:name ?n } "
        f'WHERE {{ ?c ceterms:ctid "{IUSB_BSN}" ; ceterms:name ?n }}'
    )
    response = loaded_client.get(
        "/sparql", query_string={"query": query}, headers={"Accept": media_type}
    )
    assert response.status_code == 200
    assert response.mimetype == media_type
    if rdf_format == ox.RdfFormat.JSON_LD:
        triples = loaded_registry.parse_graph_jsonld(response.data)
    else:
        triples = [q.triple for q in ox.parse(response.data, format=rdf_format)]
    names = {t.object.value for t in triples}
    assert names == {"B.S. in Nursing (Pre-Licensure)"}


def test_describe_query(loaded_client):
    query = f"DESCRIBE <https://sandbox.credentialengineregistry.org/resources/{IUSB_BSN}>"
    response = loaded_client.get(
        "/sparql", query_string={"query": query}, headers={"Accept": "text/turtle"}
    )
    triples = list(ox.parse(response.data, format=ox.RdfFormat.TURTLE))
    assert len(triples) > 10


def test_named_graph_addressable(loaded_client, loaded_registry):
    graph = loaded_registry.store.graph_iri(IUSB_BSN)
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    rows = _bindings(loaded_client.get("/sparql", query_string={"query": query}))
    assert int(rows[0]["n"]["value"]) == len(loaded_registry.store.document_triples(IUSB_BSN))


def test_graphs_are_current_documents(loaded_client, loaded_registry):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    rows = _bindings(loaded_client.get("/sparql", query_string={"query": query}))
    graphs = {row["g"]["value"] for row in rows}
    expected = {loaded_registry.store.graph_iri(c) for c in loaded_registry.store.document_ctids()}
    assert graphs == expected


def test_default_graph_uri_restricts_dataset(loaded_client, loaded_registry):
    graph = loaded_registry.store.graph_iri(WGU_CS)
    response = loaded_client.get(
        "/sparql", query_string={"query": BY_SOC_PREFIX, "default-graph-uri": graph}
    )
    assert _bindings(response) == []


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        "select * where { service silent <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        "PREFIX ex: <http://e.org/>\nSELECT * WHERE { ?s ?p ?o . SERVICE ex:x { ?s ?p ?o } }",
    ],
)
def test_service_rejected(loaded_client, query):
    response = loaded_client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert json.loads(response.data)["keyword"] == "SERVICE"


@pytest.mark.parametrize(
    "query",
    [
        'SELECT * WHERE { ?s ?p "SERVICE <http://x> {}" }',
        "SELECT * WHERE { ?s <http://e.org/SERVICE> ?service } # SERVICE",
        "PREFIX service: <http://e.org/>\nSELECT * WHERE { ?s service:load ?o }",
    ],
)
def test_service_word_elsewhere_allowed(query):
    check_query(query)


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <http://e.org/a> <http://e.org/b> 1 }",
        "LOAD <http://127.0.0.1:9/data.ttl>",
        "PREFIX e: <http://e.org/>\nDELETE WHERE { ?s ?p ?o }",
        "DROP ALL",
    ],
)
def test_updates_rejected(loaded_client, update):
    for response in (
        loaded_client.get("/sparql", query_string={"query": update}),
        loaded_client.post("/sparql", data={"update": update}),
        loaded_client.post(
            "/sparql", data=update, headers={"Content-Type": "application/sparql-update"}
        ),
    ):
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"


def test_update_leaves_store_unchanged(loaded_client, loaded_registry):
    before = sum(1 for _ in loaded_registry.store.quads())
    loaded_client.post(
        "/sparql", data="DROP ALL", headers={"Content-Type": "application/sparql-update"}
    )
    assert sum(1 for _ in loaded_registry.store.quads()) == before


def test_malformed_query(loaded_client):
    response = loaded_client.get("/sparql", query_string={"query": "SELECT ?x WHERE { ?x"})
    problem = json.loads(response.data)
    assert response.status_code == 400
    assert problem["title"] == "Invalid SPARQL query"
    assert "not valid SPARQL" in problem["detail"]


def test_missing_query(loaded_client):
    response = loaded_client.get("/sparql")
    assert response.status_code == 400
    assert "no query" in json.loads(response.data)["detail"]


def test_wrong_post_content_type(loaded_client):
    response = loaded_client.post("/sparql", data="x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_unacceptable_result_type(loaded_client):
    response = loaded_client.get(
        "/sparql", query_string={"query": BY_SOC_PREFIX}, headers={"Accept": "image/png"}
    )
    assert response.status_code == 406


def _limited_client(vocab_dir, **limits):
    settings = Settings(vocab_cache=vocab_dir, base_url="http://registry.test", **limits)
    registry = Registry(settings)
    for i in range(300):
        registry.store._store.add(
            ox.Quad(
                ox.NamedNode(f"http://e.org/s{i}"),
                ox.NamedNode("http://e.org/p"),
                ox.Literal(i),
                ox.NamedNode(registry.store.graph_iri(f"ce-00000000-0000-4000-8000-{i:012d}")),
            )
        )
    return registry, create_app(registry=registry).test_client()


def test_result_limit(vocab_dir):
    registry, client = _limited_client(vocab_dir, max_results=100)
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"})
    registry.close()
    assert response.status_code == 422
    assert json.loads(response.data)["limit_results"] == 100


def test_time_limit(vocab_dir):
    registry, client = _limited_client(vocab_dir, query_timeout=0.5)
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?x . ?b ?p ?y . ?c ?p ?z }"
    response = client.get("/sparql", query_string={"query": slow})
    registry.close()
    assert response.status_code == 503
    assert json.loads(response.data)["limit_seconds"] == 0.5


def test_body_limit(vocab_dir):
    settings = Settings(vocab_cache=vocab_dir, base_url="http://registry.test", max_body_bytes=1000)
    client = create_app(settings).test_client()
    response = client.post("/sparql", data={"query": "SELECT * WHERE { ?s ?p ?o } #" + "x" * 2000})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_live_server_sparql(live_url):
    response = requests.post(
        f"{live_url}/sparql",
        data=BY_SOC_PREFIX.encode(),
        headers={
            "Content-Type": "application/sparql-query",
            "Accept": "application/sparql-results+json",
        },
        timeout=30,
    )
    assert response.status_code == 200
    ctids = {row["ctid"]["value"] for row in response.json()["results"]["bindings"]}
    assert ctids == {IUSB_BSN}


def test_check_query_rejects_empty():
    with pytest.raises(InvalidQuery, match="empty"):
        check_query("   ")
