"""/resources/{ctid} and /graph/{ctid}: content negotiation, errors, a real server."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
import requests
from rdf_oracle import canonical

IUSB_BSN = "ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b"
ONET_BASIC = "ce-07c25f74-9119-11e8-b852-782bcb5df6ac"
ONET_READING = "ce-07c25fd1-9119-11e8-b852-782bcb5df6ac"
CETERMS = "https://purl.org/ctdl/terms/"

RDF_FORMATS = [
    ("text/turtle", ox.RdfFormat.TURTLE),
    ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    ("application/n-quads", ox.RdfFormat.N_QUADS),
    ("application/rdf+xml", ox.RdfFormat.RDF_XML),
]


def _triples(data: bytes, rdf_format: ox.RdfFormat) -> list[ox.Triple]:
    return [quad.triple for quad in ox.parse(data, format=rdf_format)]


@pytest.mark.parametrize("media_type, rdf_format", RDF_FORMATS)
def test_graph_formats(loaded_client, loaded_registry, media_type, rdf_format):
    response = loaded_client.get(f"/graph/{IUSB_BSN}", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    expected = loaded_registry.store.document_triples(IUSB_BSN)
    assert canonical(_triples(response.data, rdf_format)) == canonical(expected)


def test_nquads_name_the_document_graph(loaded_client, loaded_registry):
    response = loaded_client.get(f"/graph/{IUSB_BSN}", headers={"Accept": "application/n-quads"})
    graphs = {q.graph_name.value for q in ox.parse(response.data, format=ox.RdfFormat.N_QUADS)}
    assert graphs == {loaded_registry.store.graph_iri(IUSB_BSN)}


def test_graph_jsonld_shape(loaded_client, loaded_registry):
    body = json.loads(loaded_client.get(f"/graph/{IUSB_BSN}").data)
    assert body["@context"] == "https://credreg.net/ctdl/schema/context/json"
    assert body["@id"] == loaded_registry.store.graph_iri(IUSB_BSN)
    main = body["@graph"][0]
    assert main["ceterms:ctid"] == IUSB_BSN
    assert main["@type"] == "ceterms:BachelorDegree"
    assert main["ceterms:name"] == {"en-US": "B.S. in Nursing (Pre-Licensure)"}


def test_framework_uses_asn_context(loaded_client):
    body = json.loads(loaded_client.get(f"/graph/{ONET_BASIC}").data)
    assert body["@context"] == "https://credreg.net/ctdlasn/schema/context/json"
    assert len(body["@graph"]) == 13


def test_resource_is_one_node(loaded_client):
    body = json.loads(loaded_client.get(f"/resources/{IUSB_BSN}").data)
    assert body["ceterms:ctid"] == IUSB_BSN
    assert "@graph" not in body


def test_member_resource_served(loaded_client):
    body = json.loads(loaded_client.get(f"/resources/{ONET_READING}").data)
    assert body["ceterms:ctid"] == ONET_READING
    assert body["@type"] == "ceasn:Competency"


def test_resource_equals_description_cut_from_document(loaded_client, loaded_registry):
    """/resources reads one resource's statements from the store, not its whole document.
    For main resources and members alike, the served triples must equal the Concise
    Bounded Description cut from the document's graph."""
    from registry.service import _bounded_description

    store = loaded_registry.store
    checked = 0
    for document in sorted(store.document_ctids()):
        triples = store.document_triples(document)
        ctids = sorted({t.object.value for t in triples if t.predicate.value == CETERMS + "ctid"})
        for ctid in ctids[:4]:
            owner = store.owner_of(ctid)
            subject = store.resource_subject(owner, ctid)
            if subject is None:
                continue
            expected = _bounded_description(store.document_triples(owner), subject.value)
            response = loaded_client.get(
                f"/resources/{ctid}", headers={"Accept": "application/n-triples"}
            )
            assert response.status_code == 200, ctid
            served = _triples(response.data, ox.RdfFormat.N_TRIPLES)
            assert canonical(served) == canonical(expected), ctid
            checked += 1
    assert checked >= 40


def test_member_graph_is_container(loaded_client):
    response = loaded_client.get(f"/graph/{ONET_READING}", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["Content-Location"] == f"/graph/{ONET_BASIC}"


def test_resource_turtle_includes_blank_nodes(loaded_client):
    response = loaded_client.get(f"/resources/{IUSB_BSN}", headers={"Accept": "text/turtle"})
    triples = _triples(response.data, ox.RdfFormat.TURTLE)
    assert any(isinstance(t.subject, ox.BlankNode) for t in triples)
    assert any(
        t.predicate.value == CETERMS + "ctid" and t.object.value == IUSB_BSN for t in triples
    )


def test_upper_case_ctid_in_url(loaded_client):
    response = loaded_client.get(f"/resources/{IUSB_BSN.upper()}")
    assert response.status_code == 200


def test_format_parameter(loaded_client):
    response = loaded_client.get(f"/graph/{IUSB_BSN}?format=ttl")
    assert response.mimetype == "text/turtle"


def test_unknown_ctid_is_404(loaded_client):
    response = loaded_client.get("/graph/ce-00000000-0000-4000-8000-000000000000")
    problem = json.loads(response.data)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert problem["status"] == 404
    assert problem["ctid"] == "ce-00000000-0000-4000-8000-000000000000"


def test_malformed_ctid_is_404(loaded_client):
    response = loaded_client.get("/resources/not-a-ctid")
    assert response.status_code == 404
    assert "not a CTID" in json.loads(response.data)["detail"]


def test_unsupported_type_is_406(loaded_client):
    response = loaded_client.get(f"/graph/{IUSB_BSN}", headers={"Accept": "application/pdf"})
    problem = json.loads(response.data)
    assert response.status_code == 406
    assert "text/turtle" in problem["offered"]


def test_unknown_route_is_problem(loaded_client):
    response = loaded_client.get("/no/such/route")
    assert response.status_code == 404
    assert set(json.loads(response.data)) == {"type", "title", "status", "detail", "instance"}


def test_wrong_method_is_problem(loaded_client):
    response = loaded_client.delete(f"/graph/{IUSB_BSN}")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"


def test_index_counts_documents(loaded_client, loaded_registry):
    body = json.loads(loaded_client.get("/").data)
    assert body["documents"] == sum(1 for _ in loaded_registry.store.document_ctids())


@pytest.mark.parametrize("media_type, rdf_format", RDF_FORMATS)
def test_live_server_graph(live_url, loaded_registry, media_type, rdf_format):
    response = requests.get(
        f"{live_url}/graph/{IUSB_BSN}", headers={"Accept": media_type}, timeout=30
    )
    assert response.status_code == 200
    expected = loaded_registry.store.document_triples(IUSB_BSN)
    assert canonical(_triples(response.content, rdf_format)) == canonical(expected)


def test_live_server_problem(live_url):
    response = requests.get(
        f"{live_url}/resources/ce-00000000-0000-4000-8000-000000000000", timeout=30
    )
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
