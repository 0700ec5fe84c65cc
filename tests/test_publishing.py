"""Publishing over HTTP: keys, status codes, versions, deletes, validation reports."""

from __future__ import annotations

import json
import sqlite3
import threading

import pyoxigraph as ox
import pytest
import requests
from conftest import SAMPLES
from rdf_oracle import canonical

from registry.publishing import content_hash

ALDER = "ce-8438ac66-e811-4a30-9dbf-bfd7b2763328"
ESTUARY = "ce-b483fb3d-4e04-4191-9eab-40fa68b46faa"
EMT = "ce-deaf8c7f-4706-4bd5-be88-63e40e5296c9"
PUBLISH_URL = "/resources/organizations/{org}/documents"


def _emt() -> dict:
    return json.loads((SAMPLES / "emt-certificate.graph.json").read_text())


def _post(client, org: str, body, key: str | None, **kwargs):
    headers = {"Content-Type": "application/ld+json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(PUBLISH_URL.format(org=org), data=data, headers=headers, **kwargs)


@pytest.fixture
def alder_key(registry) -> str:
    return registry.ledger.create_key(ALDER)


@pytest.fixture
def estuary_key(registry) -> str:
    return registry.ledger.create_key(ESTUARY)


def test_publish_creates(client, alder_key):
    response = _post(client, ALDER, _emt(), alder_key)
    body = json.loads(response.data)
    assert response.status_code == 201
    assert body["status"] == "created"
    assert body["version"]["version"] == 1
    assert body["version"]["owner"] == ALDER
    assert response.headers["Location"] == f"/graph/{EMT}"


def test_publish_again_is_unchanged(client, alder_key):
    _post(client, ALDER, _emt(), alder_key)
    response = _post(client, ALDER, _emt(), alder_key)
    body = json.loads(response.data)
    assert response.status_code == 200
    assert body["status"] == "unchanged"
    assert body["version"]["version"] == 1


def test_publish_change_is_update(client, registry, alder_key):
    _post(client, ALDER, _emt(), alder_key)
    changed = _emt()
    changed["@graph"][0]["ceterms:name"] = {"en-US": "Emergency Medical Technician (EMT-Basic)"}

    response = _post(client, ALDER, changed, alder_key)

    assert response.status_code == 200
    assert json.loads(response.data)["status"] == "updated"
    names = {
        t.object.value
        for t in registry.store.document_triples(EMT)
        if t.predicate.value.endswith("/name") and t.subject.value.endswith(EMT)
    }
    assert names == {"Emergency Medical Technician (EMT-Basic)"}


def test_versions_listed_and_retrievable(client, registry, alder_key):
    first = registry.parse((SAMPLES / "emt-certificate.graph.json").read_bytes(), "emt")
    _post(client, ALDER, _emt(), alder_key)
    changed = _emt()
    changed["@graph"][0]["ceterms:name"] = {"en-US": "EMT Basic"}
    _post(client, ALDER, changed, alder_key)

    listing = json.loads(client.get(f"/graph/{EMT}/versions").data)
    old = client.get(f"/graph/{EMT}/versions/1", headers={"Accept": "application/n-triples"})

    assert [v["version"] for v in listing["versions"]] == [1, 2]
    assert {v["publisher"] for v in listing["versions"]} == {ALDER}
    triples = [q.triple for q in ox.parse(old.data, format=ox.RdfFormat.N_TRIPLES)]
    assert canonical(triples) == canonical(first.triples)


def test_missing_key_is_401(client):
    response = _post(client, ALDER, _emt(), None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/problem+json"


def test_wrong_key_is_401(client, alder_key):
    response = _post(client, ALDER, _emt(), alder_key[:-2] + "xx")
    assert response.status_code == 401


def test_revoked_key_is_401(client, registry, alder_key):
    registry.ledger.revoke_key(alder_key.split("_")[1])
    assert _post(client, ALDER, _emt(), alder_key).status_code == 401


def test_other_organization_is_403(client, estuary_key):
    response = _post(client, ALDER, _emt(), estuary_key)
    assert response.status_code == 403
    assert ESTUARY in json.loads(response.data)["detail"]


def test_ctid_of_other_owner_is_403(client, alder_key, estuary_key):
    _post(client, ALDER, _emt(), alder_key)
    response = _post(client, ESTUARY, _emt(), estuary_key)
    problem = json.loads(response.data)
    assert response.status_code == 403
    assert problem["owner"] == ALDER


def test_third_party_publishing(client, registry, estuary_key):
    registry.ledger.grant(ESTUARY, ALDER)
    response = _post(client, ALDER, _emt(), estuary_key)
    version = json.loads(response.data)["version"]
    assert response.status_code == 201
    assert version["owner"] == ALDER
    assert version["publisher"] == ESTUARY


def test_violation_is_422_with_report(client, registry, alder_key):
    broken = _emt()
    del broken["@graph"][0]["ceterms:credentialStatusType"]

    response = _post(client, ALDER, broken, alder_key)

    problem = json.loads(response.data)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    violation = next(e for e in problem["errors"] if e["term"] == "ceterms:credentialStatusType")
    assert violation["severity"] == "Violation"
    assert violation["focus"] == EMT
    assert violation["path"] == "$.@graph[0]"
    assert registry.store.document_triples(EMT) is None


def test_violation_report_as_turtle(client, alder_key):
    broken = _emt()
    del broken["@graph"][0]["ceterms:credentialStatusType"]

    response = client.post(
        PUBLISH_URL.format(org=ALDER),
        data=json.dumps(broken),
        headers={
            "Content-Type": "application/ld+json",
            "Authorization": f"Bearer {alder_key}",
            "Accept": "text/turtle",
        },
    )

    assert response.status_code == 422
    report = list(ox.parse(response.data, format=ox.RdfFormat.TURTLE))
    conforms = [q.object.value for q in report if q.predicate.value.endswith("#conforms")]
    assert conforms == ["false"]


def test_dry_run_stores_nothing(client, registry, alder_key):
    response = client.post(
        PUBLISH_URL.format(org=ALDER) + "?dry_run=true",
        data=json.dumps(_emt()),
        headers={"Content-Type": "application/ld+json", "Authorization": f"Bearer {alder_key}"},
    )
    assert response.status_code == 200
    assert json.loads(response.data)["status"] == "valid"
    assert registry.store.document_triples(EMT) is None
    assert registry.ledger.versions(EMT) == []


def test_validate_endpoint(client, registry):
    broken = _emt()
    del broken["@graph"][0]["ceterms:description"]
    response = client.post(
        "/validate", data=json.dumps(broken), headers={"Content-Type": "application/ld+json"}
    )
    body = json.loads(response.data)
    assert response.status_code == 200
    assert body["conforms"] is False
    assert registry.store.document_triples(EMT) is None


def test_url_ctid_mismatch_is_400(client, alder_key):
    response = client.put(
        PUBLISH_URL.format(org=ALDER) + "/ce-00000000-0000-4000-8000-000000000001",
        data=json.dumps(_emt()),
        headers={"Content-Type": "application/ld+json", "Authorization": f"Bearer {alder_key}"},
    )
    assert response.status_code == 400
    assert EMT in json.loads(response.data)["detail"]


def test_unrelated_resources_are_400(client, alder_key):
    forklift = json.loads((SAMPLES / "forklift-operator-certification.graph.json").read_text())
    body = _emt()
    body["@graph"].append(forklift["@graph"][0])
    response = _post(client, ALDER, body, alder_key)
    assert response.status_code == 400
    assert "publish each one as a document of its own" in json.loads(response.data)["detail"]


def test_body_not_jsonld_is_400(client, alder_key):
    response = _post(client, ALDER, b"this is not a document", alder_key)
    assert response.status_code == 400


def test_wrong_content_type_is_415(client, alder_key):
    response = client.post(
        PUBLISH_URL.format(org=ALDER),
        data="x",
        headers={"Content-Type": "text/plain", "Authorization": f"Bearer {alder_key}"},
    )
    assert response.status_code == 415


def test_delete_keeps_history(client, registry, alder_key):
    _post(client, ALDER, _emt(), alder_key)

    response = client.delete(
        f"/resources/documents/{EMT}", headers={"Authorization": f"Bearer {alder_key}"}
    )

    assert response.status_code == 200
    assert client.get(f"/graph/{EMT}").status_code == 410
    actions = [
        v["action"] for v in json.loads(client.get(f"/graph/{EMT}/versions").data)["versions"]
    ]
    assert actions == ["publish", "delete"]
    assert client.get(f"/graph/{EMT}/versions/1").status_code == 200


def test_delete_by_other_org_is_403(client, alder_key, estuary_key):
    _post(client, ALDER, _emt(), alder_key)
    response = client.delete(
        f"/resources/documents/{EMT}", headers={"Authorization": f"Bearer {estuary_key}"}
    )
    assert response.status_code == 403


def test_delete_unknown_is_404(client, alder_key):
    response = client.delete(
        "/resources/documents/ce-00000000-0000-4000-8000-000000000001",
        headers={"Authorization": f"Bearer {alder_key}"},
    )
    assert response.status_code == 404


def test_events_feed(client, alder_key):
    _post(client, ALDER, _emt(), alder_key)
    client.delete(f"/resources/documents/{EMT}", headers={"Authorization": f"Bearer {alder_key}"})
    events = json.loads(client.get("/events?after=0").data)["events"]
    assert [(e["ctid"], e["action"]) for e in events] == [(EMT, "publish"), (EMT, "delete")]


def test_deleted_document_leaves_sparql(client, alder_key):
    _post(client, ALDER, _emt(), alder_key)
    client.delete(f"/resources/documents/{EMT}", headers={"Authorization": f"Bearer {alder_key}"})
    query = f'ASK {{ ?s <https://purl.org/ctdl/terms/ctid> "{EMT}" }}'
    assert json.loads(client.get("/sparql", query_string={"query": query}).data)["boolean"] is False


def test_keys_unreachable_by_sparql(client, registry, alder_key):
    _post(client, ALDER, _emt(), alder_key)
    key_id, secret = alder_key.split("_", 2)[1:]
    query = "SELECT ?o WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    body = client.get("/sparql", query_string={"query": query}).data.decode()
    assert key_id not in body
    assert secret not in body


def test_key_stored_only_as_hash(tmp_path, settings):
    from registry.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger.sqlite3")
    key = ledger.create_key(ALDER)
    ledger.close()
    rows = sqlite3.connect(tmp_path / "ledger.sqlite3").execute("SELECT * FROM keys").fetchall()
    secret = key.split("_", 2)[2]
    assert secret not in repr(rows)


def test_concurrent_publishes_one_wins(live_publish):
    url, key = live_publish
    variants = []
    for i in range(6):
        body = _emt()
        body["@graph"][0]["ceterms:name"] = {"en-US": f"EMT variant {i}"}
        variants.append(body)
    statuses = []

    def publish(body: dict) -> None:
        response = requests.post(
            f"{url}{PUBLISH_URL.format(org=ALDER)}",
            data=json.dumps(body),
            headers={"Content-Type": "application/ld+json", "Authorization": f"Bearer {key}"},
            timeout=120,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=publish, args=(body,)) for body in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    served = requests.get(
        f"{url}/graph/{EMT}", headers={"Accept": "application/n-triples"}, timeout=30
    )
    names = {
        q.object.value
        for q in ox.parse(served.content, format=ox.RdfFormat.N_TRIPLES)
        if q.predicate.value.endswith("/name") and q.subject.value.endswith(EMT)
    }
    versions = requests.get(f"{url}/graph/{EMT}/versions", timeout=30).json()["versions"]
    assert sorted(statuses) == [200] * 5 + [201]
    assert len(names) == 1
    assert len(versions) == 6


@pytest.fixture
def live_publish(registry):
    """A real loopback server over an empty registry, and a key for Alder Valley."""
    from werkzeug.serving import make_server

    from registry.http import create_app

    server = make_server("127.0.0.1", 0, create_app(registry=registry), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", registry.ledger.create_key(ALDER)
    server.shutdown()
    thread.join(timeout=10)


def test_stored_owner_link_reaches_validation(client, registry, alder_key):
    organization = (SAMPLES / "alder-valley-college.graph.json").read_bytes()
    registry.load(organization, "alder-valley-college.graph.json")
    document, _ = registry.publisher.validate(json.dumps(_emt()).encode(), "emt", None)

    referenced = registry.publisher._referenced(document)

    owns = [t for t in referenced if t.predicate.value.endswith("/owns")]
    assert [t.subject.value for t in owns] == [
        f"https://credentialengineregistry.org/resources/{ALDER}"
    ]


def test_cli_publish_and_delete(live_publish, capsys):
    from registry.cli import main

    url, key = live_publish
    path = str(SAMPLES / "emt-certificate.graph.json")

    created = main(["publish", path, "--org", ALDER, "--url", url, "--key", key])
    created_out = capsys.readouterr().out
    deleted = main(["delete", EMT, "--url", url, "--key", key])
    deleted_out = capsys.readouterr().out

    assert created == 0
    assert f"created   {path} -> {EMT} (version 1)" in created_out
    assert deleted == 0
    assert "deleted" in deleted_out


def test_cli_publish_reports_violations(live_publish, tmp_path, capsys):
    from registry.cli import main

    url, key = live_publish
    broken = _emt()
    del broken["@graph"][0]["ceterms:description"]
    path = tmp_path / "emt.json"
    path.write_text(json.dumps(broken))

    code = main(["publish", str(path), "--org", ALDER, "--url", url, "--key", key])

    out = capsys.readouterr().out
    assert code == 1
    assert "HTTP 422" in out
    assert "$.@graph[0]: ceterms:description is missing" in out


# --- Bulk loading in batches ------------------------------------------------------------------


def _sample(registry, name: str):
    return registry.parse((SAMPLES / name).read_bytes(), name)


def test_batched_load_matches_one_at_a_time(registry):
    names = [
        "forklift-operator-certification.graph.json",
        "cpr-bls-certification.graph.json",
        "emt-core-competencies.graph.json",
    ]
    documents = [_sample(registry, name) for name in names]
    versions = registry.publisher.record_loads(documents)
    assert [v.version for v in versions] == [1, 1, 1]
    for document in documents:
        stored = registry.store.document_triples(document.ctid)
        assert canonical(stored) == canonical(document.triples)
        assert registry.ledger.current(document.ctid).content_hash == content_hash(stored)[0]
    assert registry.ledger.unapplied() == []
    assert {h["ctid"] for h in registry.search.search("forklift", 10, 0)[0]} >= {documents[0].ctid}

    # Loading the same documents again changes nothing.
    assert registry.publisher.record_loads(documents) == [None, None, None]


def test_batched_load_replaces_and_keeps_repeats_in_order(registry):
    original = _sample(registry, "forklift-operator-certification.graph.json")
    registry.publisher.record_loads([original])
    changed_data = json.loads((SAMPLES / "forklift-operator-certification.graph.json").read_text())
    changed_data["@graph"][0]["ceterms:name"] = {"en-US": "Forklift Operator Certification II"}
    changed = registry.parse(json.dumps(changed_data).encode(), "changed")

    # The same CTID twice in one batch: the later document wins, both are versions.
    versions = registry.publisher.record_loads([changed, original])
    assert [v.version for v in versions] == [2, 3]
    stored = registry.store.document_triples(original.ctid)
    assert canonical(stored) == canonical(original.triples)
    assert [v.version for v in registry.ledger.versions(original.ctid)] == [1, 2, 3]


def test_misspelled_main_type_rejected(client, alder_key):
    """A misspelled class would escape every class-specific rule, so it is an error."""
    body = _emt()
    body["@graph"][0]["@type"] = "ceterms:Certifcate"
    del body["@graph"][0]["ceterms:name"]
    response = _post(client, ALDER, body, alder_key, query_string={"dry_run": "true"})
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["field"] == "@type"
    assert "did you mean ceterms:Certificate?" in problem["detail"]
