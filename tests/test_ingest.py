"""Ingest of real published CTDL: every document becomes the graph it denotes."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import (
    CTDL,
    REJECTED_REAL_DOCUMENTS,
    SAMPLES,
    document_id,
    real_documents,
    require_shared,
)
from rdf_oracle import canonical, oracle_graph

from registry.errors import InvalidDocument, UnknownContext
from registry.jsonld import to_triples

CETERMS = "https://purl.org/ctdl/terms/"

# Documents the registry repairs on purpose, so they differ from a plain
# JSON-LD reading; each repair is reported as a warning.
REPAIRED = {
    "graphs/credentials/legacy-2017-nbcot-cota-certification.json": "arrays of language maps",
    "envelopes/certification.envelope.json": "a language map on a term that is not one",
    "graphs/learning-opportunities/160-driving-academy-lopp.graph.json": "a key ending in a space",
}

LOADABLE = [p for p in real_documents() if document_id(p) not in REJECTED_REAL_DOCUMENTS]


def _ground(lines: set[str]) -> set[str]:
    """Keep the canonical triples without blank nodes and with absolute IRIs only."""
    return {line for line in lines if "_:" not in line and "<file:" not in line}


@pytest.mark.parametrize("path", LOADABLE, ids=document_id)
def test_document_matches_oracle(registry, path: Path):
    document = registry.parse(path.read_bytes(), document_id(path))
    stored = canonical(document.triples)
    expected = canonical(oracle_graph(path, registry.cache))

    if document_id(path) in REPAIRED:
        assert _ground(expected) <= stored
        assert document.warnings
    else:
        assert stored == expected


@pytest.mark.parametrize("path", LOADABLE, ids=document_id)
def test_graph_endpoint_returns_document(registry, client, path: Path):
    document = registry.load(path.read_bytes(), document_id(path))

    response = client.get(f"/graph/{document.ctid}", headers={"Accept": "application/n-triples"})

    assert response.status_code == 200
    served = ox.parse(response.data, format=ox.RdfFormat.N_TRIPLES)
    assert canonical(q.triple for q in served) == canonical(document.triples)


@pytest.mark.parametrize("path", LOADABLE, ids=document_id)
def test_graph_jsonld_round_trips(registry, client, path: Path):
    document = registry.load(path.read_bytes(), document_id(path))

    response = client.get(f"/graph/{document.ctid}")

    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    reparsed = registry.parse(response.data, "response")
    assert canonical(reparsed.triples) == canonical(document.triples)


def test_rejected_real_document_has_no_ctid(registry):
    require_shared()
    path = CTDL / "graphs/occupations/nice-sp-rsk-001-occupation-workrole.json"
    with pytest.raises(InvalidDocument, match="has no CTID"):
        registry.parse(path.read_bytes(), "nice.json")


def test_ctids_are_lower_cased(registry):
    require_shared()
    path = CTDL / "graphs/credentials/legacy-2017-nbcot-cota-certification.json"
    document = registry.parse(path.read_bytes(), "nbcot.json")
    ctids = [t.object.value for t in document.triples if t.predicate.value == CETERMS + "ctid"]
    assert document.ctid == "ce-1a4ab486-8212-4708-b7d5-c5167fdd2b47"
    assert ctids == [document.ctid]


def test_upper_case_iris_kept(registry):
    require_shared()
    path = CTDL / "graphs/organizations/nocti-organization.graph.json"
    document = registry.parse(path.read_bytes(), "nocti.json")
    owned = {t.object.value for t in document.triples if t.predicate.value == CETERMS + "owns"}
    assert any("ce-A81E3B16" in iri for iri in owned)


def test_envelope_uses_decoded_resource(registry):
    require_shared()
    envelope = registry.parse(
        (CTDL / "envelopes/nocti-organization.envelope.json").read_bytes(), "e"
    )
    graph = registry.parse(
        (CTDL / "graphs/organizations/nocti-organization.graph.json").read_bytes(), "g"
    )
    assert envelope.ctid == graph.ctid
    assert canonical(envelope.triples) == canonical(graph.triples)


def test_legacy_namespace_normalised(registry):
    document = registry.parse(
        json.dumps(
            {
                "@context": {"ceterms": "http://purl.org/ctdl/terms/"},
                "@id": "https://example.org/resources/ce-0a1b2c3d-0000-4000-8000-000000000001",
                "@type": "ceterms:Certificate",
                "ceterms:ctid": "CE-0A1B2C3D-0000-4000-8000-000000000001",
            }
        ).encode(),
        "inline.json",
    )
    predicates = {t.predicate.value for t in document.triples}
    types = {t.object.value for t in document.triples if t.predicate.value.endswith("#type")}
    assert predicates == {CETERMS + "ctid", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"}
    assert types == {CETERMS + "Certificate"}
    assert any("legacy namespace" in w.message for w in document.warnings)


def test_document_without_context_read_as_ctdl(registry):
    require_shared()
    path = CTDL / "graphs/transfer-value/kbor-infantryman-occupation-tvp.graph.json"
    document = registry.parse(path.read_bytes(), "kbor.json")
    assert document.ctid == "ce-de321c5b-4b98-4622-a654-17d64d5e87ee"
    assert [w.key for w in document.warnings] == ["$.@context"]


def test_trailing_space_key_kept(registry):
    require_shared()
    path = CTDL / "graphs/learning-opportunities/160-driving-academy-lopp.graph.json"
    document = registry.parse(path.read_bytes(), "lopp.json")
    predicates = {t.predicate.value for t in document.triples}
    assert CETERMS + "financialAssistanceType" in predicates
    assert any("surrounding whitespace" in w.message for w in document.warnings)


def test_dangling_blank_node_reported(registry):
    require_shared()
    path = CTDL / "resources/wgu-bs-computer-science.resource.json"
    document = registry.parse(path.read_bytes(), "wgu.json")
    assert any(
        "accreditedBy" in w.message and "not defined" in w.message for w in document.warnings
    )
    assert any(t.predicate.value == CETERMS + "accreditedBy" for t in document.triples)


def test_invalid_member_ctid_is_a_warning(registry):
    require_shared()
    path = CTDL / "graphs/competency-frameworks/connecting-credentials-beta.graph.json"
    document = registry.parse(path.read_bytes(), "beta.json")
    assert document.ctid == "ce-c62c336f-a76d-4d7f-a777-367e7cc72d17"
    assert any("7679adctc3c9" in w.message for w in document.warnings)


def test_members_listed_for_framework(registry):
    require_shared()
    path = CTDL / "graphs/competency-frameworks/onet-basic-skills.graph.json"
    document = registry.parse(path.read_bytes(), "onet.json")
    assert len(document.member_ctids) == 12


def test_unknown_context_names_url(registry):
    body = {"@context": "https://example.org/other-context.json", "@id": "https://e.org/x"}
    with pytest.raises(UnknownContext) as caught:
        registry.parse(json.dumps(body).encode(), "doc.json")
    assert caught.value.extensions["url"] == "https://example.org/other-context.json"
    assert "https://example.org/other-context.json" in caught.value.detail


def test_nested_unknown_context_rejected(registry):
    body = {
        "@context": "https://credreg.net/ctdl/schema/context/json",
        "@graph": [
            {
                "@context": "https://example.org/nested.json",
                "@id": "https://example.org/resources/ce-0a1b2c3d-0000-4000-8000-000000000002",
                "ceterms:ctid": "ce-0a1b2c3d-0000-4000-8000-000000000002",
            }
        ],
    }
    with pytest.raises(UnknownContext, match="https://example.org/nested.json"):
        registry.parse(json.dumps(body).encode(), "doc.json")


def test_invalid_json_names_position(registry):
    with pytest.raises(InvalidDocument) as caught:
        registry.parse(b'{"@context": "x",\n "@graph": [}', "broken.json")
    assert caught.value.extensions["line"] == 2
    assert "broken.json" in caught.value.detail


def test_missing_ctid_rejected(registry):
    body = {
        "@context": "https://credreg.net/ctdl/schema/context/json",
        "@id": "https://example.org/resources/no-ctid",
        "@type": "ceterms:Certificate",
    }
    with pytest.raises(InvalidDocument, match="has no CTID"):
        registry.parse(json.dumps(body).encode(), "doc.json")


def test_non_uuid_ctid_rejected(registry):
    body = {
        "@context": "https://credreg.net/ctdl/schema/context/json",
        "@id": "https://example.org/resources/x",
        "@type": "ceterms:Certificate",
        "ceterms:ctid": "ce-not-a-uuid",
    }
    with pytest.raises(InvalidDocument, match="ce-not-a-uuid"):
        registry.parse(json.dumps(body).encode(), "doc.json")


def test_turtle_document_loaded(registry):
    turtle = b"""
        @prefix ceterms: <https://purl.org/ctdl/terms/> .
        <https://example.org/resources/ce-0a1b2c3d-0000-4000-8000-000000000003>
            a ceterms:Certification ;
            ceterms:ctid "CE-0A1B2C3D-0000-4000-8000-000000000003" ;
            ceterms:name "Forklift Operator"@en-US ;
            ceterms:requires [ a ceterms:ConditionProfile ; ceterms:description "Age 18"@en ] .
    """
    document = registry.parse(turtle, "forklift.ttl", "text/turtle")
    assert document.ctid == "ce-0a1b2c3d-0000-4000-8000-000000000003"
    assert len(document.triples) == 6


def test_unparsable_turtle_rejected(registry):
    with pytest.raises(InvalidDocument, match="not valid Turtle"):
        registry.parse(b"<https://e.org/a> <https://e.org/b> .", "bad.ttl", "text/turtle")


def test_turtle_with_two_roots_rejected(registry):
    turtle = b"""
        @prefix ceterms: <https://purl.org/ctdl/terms/> .
        <https://e.org/a> ceterms:ctid "ce-0a1b2c3d-0000-4000-8000-00000000000a" .
        <https://e.org/b> ceterms:ctid "ce-0a1b2c3d-0000-4000-8000-00000000000b" .
    """
    with pytest.raises(InvalidDocument, match="2 resources with a CTID"):
        registry.parse(turtle, "two.ttl", "text/turtle")


def test_undefined_key_reported(registry):
    body = {
        "@context": "https://credreg.net/ctdl/schema/context/json",
        "@id": "https://example.org/resources/ce-0a1b2c3d-0000-4000-8000-000000000004",
        "@type": "ceterms:Certificate",
        "ceterms:ctid": "ce-0a1b2c3d-0000-4000-8000-000000000004",
        "name": "Forgot the prefix",
    }
    document = registry.parse(json.dumps(body).encode(), "doc.json")
    warning = next(w for w in document.warnings if w.key == "$.name")
    assert "ceterms:name" in warning.message


def test_pruned_contexts_give_the_same_graphs(registry):
    """Cutting a pinned context down to the words a document uses changes no triple."""
    import json

    from registry.jsonld import _inline_contexts
    from registry.publishing import content_hash

    require_shared()
    paths = [*real_documents(), *sorted(SAMPLES.glob("*.json"))]
    compared = 0
    for path in paths:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
        if "@context" not in json.dumps(raw):
            continue
        full = _inline_contexts(raw, registry.loader)
        try:
            expected = [
                q.triple for q in ox.parse(json.dumps(full).encode(), format=ox.RdfFormat.JSON_LD)
            ]
        except SyntaxError:
            continue
        actual = to_triples(raw, registry.loader)
        assert content_hash(actual)[0] == content_hash(expected)[0], path.name
        compared += 1
    assert compared >= 25
