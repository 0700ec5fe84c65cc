"""/sparql: the SPARQL 1.1 Protocol over the real documents, limits and rejected queries."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pyoxigraph as ox
import pytest
import requests

from registry.config import Settings
from registry.errors import InvalidQuery, QueryTimeout, ServiceBusy
from registry.http import create_app
from registry.service import Registry
from registry.sparql import QueryRunner, check_query

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


@pytest.mark.parametrize("parameter", ["default-graph-uri", "named-graph-uri"])
def test_invalid_graph_iri_rejected(loaded_client, parameter):
    response = loaded_client.get(
        "/sparql", query_string={"query": "ASK { ?s ?p ?o }", parameter: "not an iri"}
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert json.loads(response.data)["parameter"] == parameter


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


# The queue tests below hold a worker with a query that waits for the test to
# open its gate. Every wait in them gives up after GATE_LIMIT seconds, so a
# broken runner fails a test instead of hanging it. No test checks how fast
# anything is. The one wall-clock assert checks that the time limit includes
# the wait, with a margin of a second.
GATE_LIMIT = 60.0


class _Gates:
    """Named gates: a query marked ``# hold NAME`` waits at gate NAME until the test opens it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entered: dict[str, threading.Event] = {}
        self._opened: dict[str, threading.Event] = {}
        self._all_open = False

    def _event(self, table: dict[str, threading.Event], name: str) -> threading.Event:
        with self._lock:
            event = table.setdefault(name, threading.Event())
            if table is self._opened and self._all_open:
                event.set()
            return event

    def pass_through(self, name: str) -> None:
        self._event(self._entered, name).set()
        if not self._event(self._opened, name).wait(GATE_LIMIT):
            raise AssertionError(f"gate {name!r} was never opened")

    def entered(self, name: str) -> bool:
        return self._event(self._entered, name).is_set()

    def wait_entered(self, name: str) -> None:
        assert self._event(self._entered, name).wait(GATE_LIMIT), f"no query reached {name!r}"

    def open(self, name: str) -> None:
        self._event(self._opened, name).set()

    def open_all(self) -> None:
        with self._lock:
            self._all_open = True
            for event in self._opened.values():
                event.set()


class _GatedStore:
    """A store whose queries marked ``# hold NAME`` wait at a gate: a slow query on demand."""

    def __init__(self, store, gates: _Gates) -> None:
        self.store = store
        self.gates = gates

    def query(self, sparql: str, **options):
        first_line = sparql.partition("\n")[0]
        if first_line.startswith("# hold "):
            self.gates.pass_through(first_line.removeprefix("# hold "))
        return self.store.query(sparql, **options)


def _held(name: str, query: str = BY_SOC_PREFIX) -> str:
    return f"# hold {name}\n{query}"


def _wait_until(condition: Callable[[], bool], description: str) -> None:
    deadline = time.monotonic() + GATE_LIMIT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {description}"
        time.sleep(0.01)


def _ctids(result) -> set[str]:
    column = result.variables.index("ctid")
    return {row[column].value for row in result.rows}


@pytest.fixture
def callers():
    """Threads that call the runner while the test thread watches the queue."""
    pool = ThreadPoolExecutor(4, thread_name_prefix="caller")
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def gates(callers):
    """Gates for held queries, all opened at teardown before the callers are joined."""
    named = _Gates()
    yield named
    named.open_all()


@pytest.fixture
def one_worker(gates, loaded_registry, settings):
    """Build runners with one worker over the real documents, their queries gated."""
    runners = []

    def build(**queue_settings) -> QueryRunner:
        limits = {"query_workers": 1, "query_timeout": 2 * GATE_LIMIT, **queue_settings}
        runner = QueryRunner(
            _GatedStore(loaded_registry.store, gates), settings.with_overrides(**limits)
        )
        runners.append(runner)
        return runner

    yield build
    for runner in runners:
        runner.close()


def test_busy_query_waits_then_succeeds(one_worker, gates, callers):
    runner = one_worker(query_queue_length=1, query_queue_wait=GATE_LIMIT)
    first = callers.submit(runner.run, _held("first"))
    gates.wait_entered("first")
    gates.open("second")
    second = callers.submit(runner.run, _held("second"))
    _wait_until(lambda: runner.waiting == 1, "the second query waits for the worker")
    assert not second.done()

    gates.open("first")

    assert _ctids(first.result(timeout=GATE_LIMIT)) == {IUSB_BSN}
    assert _ctids(second.result(timeout=GATE_LIMIT)) == {IUSB_BSN}
    assert runner.waiting == 0


def test_queue_serves_first_come_first(one_worker, gates, callers):
    runner = one_worker(query_queue_length=2, query_queue_wait=GATE_LIMIT)
    callers.submit(runner.run, _held("first"))
    gates.wait_entered("first")
    earlier = callers.submit(runner.run, _held("earlier"))
    _wait_until(lambda: runner.waiting == 1, "the earlier query waits")
    later = callers.submit(runner.run, _held("later"))
    _wait_until(lambda: runner.waiting == 2, "the later query waits")

    gates.open("first")

    gates.wait_entered("earlier")
    assert not gates.entered("later")
    gates.open("earlier")
    gates.open("later")
    assert _ctids(earlier.result(timeout=GATE_LIMIT)) == {IUSB_BSN}
    assert _ctids(later.result(timeout=GATE_LIMIT)) == {IUSB_BSN}


@pytest.mark.parametrize("queue_length", [0, 2])
def test_full_queue_busy_at_once(one_worker, gates, callers, queue_length):
    runner = one_worker(query_queue_length=queue_length, query_queue_wait=GATE_LIMIT)
    callers.submit(runner.run, _held("first"))
    gates.wait_entered("first")
    for _ in range(queue_length):
        callers.submit(runner.run, _held("first"))
    _wait_until(lambda: runner.waiting == queue_length, "the queue is full")

    with pytest.raises(ServiceBusy) as caught:
        runner.run(BY_SOC_PREFIX)

    assert caught.value.extensions["reason"] == "queue-full"
    assert caught.value.extensions["queue_length"] == queue_length
    assert caught.value.extensions["retry_after"] >= 1
    assert runner.waiting == queue_length


def test_queue_wait_runs_out(one_worker, gates, callers):
    runner = one_worker(query_queue_length=1, query_queue_wait=0.2)
    callers.submit(runner.run, _held("first"))
    gates.wait_entered("first")

    waiting = callers.submit(runner.run, BY_SOC_PREFIX)

    with pytest.raises(ServiceBusy) as caught:
        waiting.result(timeout=GATE_LIMIT)
    assert caught.value.extensions["reason"] == "queue-wait-expired"
    assert caught.value.extensions["max_wait_seconds"] == 0.2
    assert caught.value.extensions["retry_after"] >= 1
    assert runner.waiting == 0


def test_queue_wait_counts_toward_time_limit(one_worker, gates, callers):
    time_limit, held_for = 2.0, 1.0
    runner = one_worker(query_timeout=time_limit, query_queue_length=1, query_queue_wait=time_limit)
    callers.submit(runner.run, _held("first"))
    gates.wait_entered("first")
    started = time.monotonic()
    second = callers.submit(runner.run, _held("second"))  # gate "second" stays shut
    _wait_until(lambda: runner.waiting == 1, "the second query waits for the worker")
    time.sleep(held_for)

    gates.open("first")

    with pytest.raises(QueryTimeout) as caught:
        second.result(timeout=GATE_LIMIT)
    elapsed = time.monotonic() - started
    assert caught.value.extensions["limit_seconds"] == time_limit
    assert caught.value.extensions["waited_seconds"] >= held_for
    # A time limit that restarted after the wait would end at time_limit + held_for or later.
    assert elapsed < time_limit + held_for


def test_full_queue_http_503(vocab_dir, gates, callers):
    registry, client = _limited_client(vocab_dir, query_workers=1, query_queue_length=0)
    registry.queries.store = _GatedStore(registry.store, gates)
    first = callers.submit(registry.queries.run, _held("first", "ASK { ?s ?p ?o }"))
    gates.wait_entered("first")

    response = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
    gates.open("first")
    first.result(timeout=GATE_LIMIT)
    registry.close()

    problem = json.loads(response.data)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert problem["reason"] == "queue-full"
    assert response.headers["Retry-After"] == str(problem["retry_after"])


def test_queue_defaults_follow_workers():
    runner = QueryRunner(None, Settings(query_workers=3, query_timeout=8))
    runner.close()
    assert runner.queue_length == 12
    assert runner.queue_wait == 4


def test_queue_wait_capped_by_time_limit():
    runner = QueryRunner(None, Settings(query_timeout=8, query_queue_wait=30))
    runner.close()
    assert runner.queue_wait == 8


def test_queue_settings_from_env():
    settings = Settings.from_env(
        {"REGISTRY_QUERY_QUEUE_LENGTH": "7", "REGISTRY_QUERY_QUEUE_WAIT": "2.5"}
    )
    assert settings.query_queue_length == 7
    assert settings.query_queue_wait == 2.5


@pytest.mark.parametrize("setting", [{"query_queue_length": -1}, {"query_queue_wait": -0.5}])
def test_negative_queue_setting_rejected(setting):
    with pytest.raises(ValueError, match="is invalid"):
        QueryRunner(None, Settings(**setting))
