"""Tests for ``registry.validation``: the SHACL shapes against real CTDL data.

The negative and positive files are CTDL validation test cases published by
Credential Engine and by ctdl-validate. The real documents are the published
and sample documents that the other tests load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
from conftest import CTDL, REJECTED_REAL_DOCUMENTS, document_id, real_documents
from rdflib import Graph
from rdflib.namespace import RDF, SH

from registry.errors import InvalidDocument
from registry.validation import CETERMS, REG, ValidationReport, Validator
from registry.vocab import VocabCache

SHAPES = Path(__file__).resolve().parents[1] / "shapes"
NEGATIVE = CTDL / "validation" / "negative"
POSITIVE = CTDL / "validation" / "positive"

# The result that gives each negative file the reason its name states:
# (severity, constraint component, CTDL term).
NEGATIVE_REASONS = {
    "assessment-no-owned-or-offered.json": (
        "Violation",
        "MinCount",
        "ceterms:ownedBy or ceterms:offeredBy",
    ),
    "lopp-missing-owned-offered.json": (
        "Violation",
        "MinCount",
        "ceterms:ownedBy or ceterms:offeredBy",
    ),
    "org-missing-email-and-place.json": (
        "Violation",
        "MinCount",
        "ceterms:address or ceterms:email",
    ),
    "conditionmanifest-missing-description.json": (
        "Violation",
        "MinCount",
        "ceterms:description",
    ),
    "ctdlvalidate-unresolved-bnode.json": ("Violation", "Or", "ceterms:ownedBy"),
    # A property outside its domain is a warning. The file is still rejected,
    # because its course and organization lack what the policy requires.
    "ctdlvalidate-domain-violation.json": ("Warning", "Closed", "ceterms:isPartOf"),
    # An inverse link stated one way only is a hint.
    "ctdlvalidate-inverse-mismatch.json": ("Info", "InverseLink", "ceterms:hasPart"),
}

# Negative files the parser rejects before validation, with the members of its
# error. The invalid-type file is rejected for its relative @id ("ce-..."),
# before its type is looked at.
PARSER_REJECTS = {
    "ctdlvalidate-bare-uuid-ctid.json": {
        "source": "ctdlvalidate-bare-uuid-ctid.json",
        "field": "ceterms:ctid",
        "value": "b55f88e3-dfd4-430b-ab47-3e5f9986e1e4",
    },
    "credential-invalid-type.txt": {"source": "credential-invalid-type.txt"},
}

HANDBOOK = (
    "a CTDL Handbook example: the resources around the main one are stubs with a name, "
    "identified by @id alone, to show the shape of the graph"
)
LEGACY_ORGANIZATION = "a 2017 import, published before the policy asked for it"
EMBEDDED_COMPETENCY = (
    "the 2017 alignment embeds the competency as a blank node with its text, where CTDL "
    "now points to the published competency"
)
DRAFT = "a draft transfer value profile, never published, with no CTID and no description"
RESOURCES_FORM = "a /resources document: the registry keeps its blank nodes in the /graph document"

# Real published data that breaks the policy, kept because it is what the
# reference registry serves: document -> {CTDL term of each violation: reason}.
EXPECTED_VIOLATIONS = {
    "graphs/competency-frameworks/connecting-credentials-beta.graph.json": {
        "ceterms:ctid": "one competency's CTID ends in '7679adctc3c9', which is not hexadecimal",
    },
    "graphs/credentials/legacy-2017-nbcot-cota-certification.json": {
        "ceterms:ownedBy or ceterms:offeredBy": (
            "the 2017 import names the regulator (ceterms:regulatedBy) but no owner or offerer"
        ),
        "ceterms:costDetails": "the 2017 cost profile has a description but no cost details page",
        "ceterms:targetNode": EMBEDDED_COMPETENCY,
        "ceasn:isPartOf": EMBEDDED_COMPETENCY,
        "ceterms:ctid": EMBEDDED_COMPETENCY,
    },
    "graphs/organizations/legacy-2017-organization.json": {
        "ceterms:agentType": LEGACY_ORGANIZATION,
        "ceterms:agentSectorType": LEGACY_ORGANIZATION,
        "ceterms:description": LEGACY_ORGANIZATION,
        "ceterms:subjectWebpage": LEGACY_ORGANIZATION,
    },
    "graphs/occupations/handbook-related-occupations.json": {
        "ceterms:ctid": HANDBOOK,
        "ceterms:description": HANDBOOK,
        "ceterms:subjectWebpage": HANDBOOK,
        "ceterms:agentType": HANDBOOK,
        "ceterms:agentSectorType": HANDBOOK,
        "ceterms:address or ceterms:email": HANDBOOK,
    },
    "graphs/transfer-value/handbook-tvp-example1.json": {
        "ceterms:ctid": HANDBOOK,
        "ceterms:name": HANDBOOK,
        "ceterms:description": HANDBOOK,
        "ceterms:subjectWebpage": HANDBOOK,
        "ceterms:agentType": HANDBOOK,
        "ceterms:agentSectorType": HANDBOOK,
        "ceterms:address or ceterms:email": HANDBOOK,
    },
    "graphs/transfer-value/handbook-transfer-agreement.json": {
        "ceterms:ctid": HANDBOOK,
        "ceterms:name": HANDBOOK,
        "ceterms:description": HANDBOOK,
        "ceterms:subjectWebpage": HANDBOOK,
        "ceterms:ownedBy or ceterms:offeredBy": HANDBOOK,
        "ceterms:agentType": HANDBOOK,
        "ceterms:agentSectorType": HANDBOOK,
        "ceterms:address or ceterms:email": HANDBOOK,
    },
    "graphs/transfer-value/kbor-infantryman-occupation-tvp.graph.json": {
        "ceterms:ctid": DRAFT,
        "ceterms:description": DRAFT,
    },
    "resources/wgu-aws-cloud-devops-openbadge.resource.json": {
        "ceterms:targetOccupation": RESOURCES_FORM,
    },
    "resources/wgu-bs-computer-science.resource.json": {
        "ceterms:accreditedBy": RESOURCES_FORM,
    },
}

CHECKED_DOCUMENTS = [
    path for path in real_documents() if document_id(path) not in REJECTED_REAL_DOCUMENTS
]


@pytest.fixture(scope="module")
def validator(vocab_dir: Path) -> Validator:
    return Validator(VocabCache(vocab_dir))


def _validate(registry, validator: Validator, path: Path) -> ValidationReport:
    document = registry.parse(path.read_bytes(), path.name)
    return validator.validate(document)


def _results(report: ValidationReport, severity: str, component: str, term: str) -> list:
    return [
        result
        for result in report.results
        if (result.severity, result.component, result.term) == (severity, component, term)
    ]


def _edited(path: Path, edit) -> bytes:
    """Return a real document after applying ``edit`` to its parsed JSON."""
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    edit(data)
    return json.dumps(data).encode()


# --- The CTDL validation test data ---------------------------------------------


@pytest.mark.parametrize("name", sorted(NEGATIVE_REASONS))
def test_negative_reported_for_its_reason(registry, validator, name):
    severity, component, term = NEGATIVE_REASONS[name]
    report = _validate(registry, validator, NEGATIVE / name)
    assert _results(report, severity, component, term)


@pytest.mark.parametrize("name", sorted(NEGATIVE_REASONS))
def test_negative_rejected(registry, validator, name):
    report = _validate(registry, validator, NEGATIVE / name)
    assert not report.conforms


@pytest.mark.parametrize("name", sorted(PARSER_REJECTS))
def test_negative_rejected_by_parser(registry, name):
    with pytest.raises(InvalidDocument) as caught:
        registry.parse((NEGATIVE / name).read_bytes(), name)
    assert caught.value.extensions == PARSER_REJECTS[name]


def test_every_negative_file_covered():
    names = {path.name for path in NEGATIVE.iterdir()}
    assert names == set(NEGATIVE_REASONS) | set(PARSER_REJECTS)


def test_invalid_type_warned_once_id_is_absolute(registry, validator):
    path = NEGATIVE / "credential-invalid-type.txt"

    def absolute_id(data):
        data["@id"] = "https://credentialengineregistry.org/resources/" + data["@id"]

    document = registry.parse(_edited(path, absolute_id), path.name)
    report = validator.validate(document)
    unknown = [r for r in report.results if r.component == "In"]
    assert [r.focus for r in unknown] == ["ceterms:CertificationError"]
    assert unknown[0].severity == "Warning"


@pytest.mark.parametrize("path", sorted(POSITIVE.iterdir()), ids=lambda p: p.name)
def test_positive_conforms(registry, validator, path):
    report = _validate(registry, validator, path)
    assert report.conforms
    assert report.violation_count == 0


# --- Real published documents ----------------------------------------------------


@pytest.mark.parametrize("path", CHECKED_DOCUMENTS, ids=document_id)
def test_real_document_violations_expected(registry, validator, path):
    report = _validate(registry, validator, path)
    violated = {r.term for r in report.results if r.severity == "Violation"}
    assert violated == set(EXPECTED_VIOLATIONS.get(document_id(path), {}))


@pytest.mark.parametrize("path", CHECKED_DOCUMENTS, ids=document_id)
def test_report_matches_plain_pyshacl(registry, validator, path):
    document = registry.parse(path.read_bytes(), document_id(path))
    report = validator.validate(document)
    _, plain, _ = pyshacl.validate(
        validator.data_graph(document),
        shacl_graph=validator.shapes_graph,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    assert _result_keys(report.graph) == _result_keys(plain)
    assert len(report.results) == len(_result_keys(plain))


RESULT_KEY = (SH.focusNode, SH.resultPath, SH.resultSeverity, SH.value)


def _result_keys(report: Graph) -> list[tuple[str, ...]]:
    """Return (focus, path, severity, value) for each result of a SHACL report graph, sorted."""
    nodes = report.subjects(RDF.type, SH.ValidationResult)
    return sorted(tuple(str(report.value(node, p)) for p in RESULT_KEY) for node in nodes)


def test_expected_violations_name_real_documents():
    known = {document_id(path) for path in CHECKED_DOCUMENTS}
    assert set(EXPECTED_VIOLATIONS) <= known


# --- Rules, one at a time, on real documents ---------------------------------------

CREDENTIAL = CTDL / "graphs" / "credentials" / "ingest-bachelor-degree.graph.json"


def _credential_node(data):
    return next(node for node in data["@graph"] if node["@type"] == "ceterms:BachelorDegree")


def test_credential_status_concept_iri_accepted(registry, validator):
    def direct(data):
        _credential_node(data)["ceterms:credentialStatusType"] = "credentialStat:Active"

    report = validator.validate(registry.parse(_edited(CREDENTIAL, direct), CREDENTIAL.name))
    assert report.conforms


def test_credential_status_other_scheme_rejected(registry, validator):
    def wrong_scheme(data):
        _credential_node(data)["ceterms:credentialStatusType"] = "audLevel:BeginnerLevel"

    document = registry.parse(_edited(CREDENTIAL, wrong_scheme), CREDENTIAL.name)
    report = validator.validate(document)
    status = _results(report, "Violation", "QualifiedMinCount", "ceterms:credentialStatusType")
    assert [r.focus for r in status] == [document.ctid]


def test_credential_status_missing_message(registry, validator):
    report = _validate(registry, validator, NEGATIVE / "ctdlvalidate-unresolved-bnode.json")
    status = _results(report, "Violation", "QualifiedMinCount", "ceterms:credentialStatusType")
    assert [r.message for r in status] == [
        "ceterms:credentialStatusType is missing on ce-82566cee-17f3-4a6e-8f59-b45273aac457; "
        "add one of the CredentialStatus concepts, e.g. credentialStat:Active"
    ]


def test_credential_subclass_targeted(registry, validator):
    path = CTDL / "resources" / "wgu-mba.resource.json"

    def no_description(data):
        del data["ceterms:description"]

    document = registry.parse(_edited(path, no_description), path.name)
    report = validator.validate(document)
    missing = _results(report, "Violation", "MinCount", "ceterms:description")
    assert [r.focus for r in missing] == [document.ctid]


def test_blank_node_credential_needs_name_only(registry, validator):
    path = CTDL / "graphs" / "credentials" / "ra-certification-detailed.graph.json"
    report = _validate(registry, validator, path)
    blank_focus = [r for r in report.results if r.focus.startswith("_:")]
    assert not [r for r in blank_focus if r.severity == "Violation"]


def test_unknown_property_warned(registry, validator):
    report = _validate(registry, validator, CTDL / "envelopes" / "certification.envelope.json")
    unknown = _results(report, "Warning", "Closed", "ceterms:creditHourType")
    assert len(unknown) == 1
    assert "not a term of the CTDL vocabulary" in unknown[0].message


def test_plain_string_warned(registry, validator):
    path = NEGATIVE / "org-missing-email-and-place.json"
    report = _validate(registry, validator, path)
    names = _results(report, "Warning", "Datatype", "ceterms:name")
    assert [r.value for r in names] == ["Missing email and address"]


def test_string_for_resource_rejected(registry, validator):
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    subject = ox.NamedNode(document.primary)
    owner = ox.Triple(subject, ox.NamedNode(CETERMS.ownedBy), ox.Literal("Example University"))
    document.triples.append(owner)
    report = validator.validate(document)
    owners = _results(report, "Violation", "NodeKind", "ceterms:ownedBy")
    assert [r.value for r in owners] == ["Example University"]


def test_child_link_one_way_hinted(registry, validator):
    path = CTDL / "graphs" / "competency-frameworks" / "onet-basic-skills.graph.json"
    document = registry.parse(path.read_bytes(), path.name)
    child_of = ox.NamedNode("https://purl.org/ctdlasn/terms/isChildOf")
    document.triples = [t for t in document.triples if t.predicate != child_of]
    report = validator.validate(document)
    hints = [r for r in report.results if r.component == "Equals"]
    assert hints
    assert {r.severity for r in hints} == {"Info"}
    assert report.conforms


# --- Referenced resources -------------------------------------------------------------


def _owner_of(document) -> ox.NamedNode:
    owned_by = ox.NamedNode(CETERMS.ownedBy)
    return next(t.object for t in document.triples if t.predicate == owned_by)


def test_referenced_owner_without_owns_hinted(registry, validator):
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    owner = _owner_of(document)
    other = ox.NamedNode(
        "https://credentialengineregistry.org/resources/ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b"
    )
    referenced = [ox.Triple(owner, ox.NamedNode(CETERMS.owns), other)]
    report = validator.validate(document, referenced)
    hints = _results(report, "Info", "InverseLink", "ceterms:ownedBy")
    assert [r.focus for r in hints] == [document.ctid]


def test_referenced_types_add_no_results(registry, validator):
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    organization = ox.NamedNode(CETERMS.CredentialOrganization)
    referenced = [ox.Triple(_owner_of(document), ox.NamedNode(str(RDF.type)), organization)]
    plain = validator.validate(document)
    with_types = validator.validate(document, referenced)
    assert with_types.to_dict()["results"] == plain.to_dict()["results"]


# --- The report -------------------------------------------------------------------------


def test_report_dict_is_json(registry, validator):
    report = _validate(registry, validator, NEGATIVE / "lopp-missing-owned-offered.json")
    body = json.loads(json.dumps(report.to_dict()))
    assert body["conforms"] is False
    assert body["violations"] == 1
    assert len(body["results"]) == len(report.results)


def test_report_turtle_is_shacl_report(registry, validator):
    report = _validate(registry, validator, NEGATIVE / "lopp-missing-owned-offered.json")
    graph = Graph().parse(data=report.to_turtle(), format="turtle")
    reports = list(graph.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 1
    assert len(list(graph.objects(reports[0], SH.result))) == len(report.results)


def test_focus_named_by_ctid(registry, validator):
    report = _validate(registry, validator, NEGATIVE / "assessment-no-owned-or-offered.json")
    owners = _results(report, "Violation", "MinCount", "ceterms:ownedBy or ceterms:offeredBy")
    assert [r.focus for r in owners] == ["ce-e47df383-c5f3-4899-8cc5-ede828551686"]


# --- The shapes ----------------------------------------------------------------------------


def test_credential_target_covers_subclasses(validator):
    selects = [
        str(validator.shapes_graph.value(target, SH.select))
        for target in validator.shapes_graph.objects(REG.Credential, SH.target)
    ]
    assert len(selects) == 1
    for cls in ("Credential", "BachelorOfScienceDegree", "OpenBadge", "License"):
        assert f"<{CETERMS[cls]}>" in selects[0]


def test_concept_template_copied_per_property(validator):
    shape = REG["ConceptValues-ceterms-audienceLevelType"]
    assert validator.shapes_graph.value(shape, SH.path) == CETERMS.audienceLevelType


def test_templates_inert_without_expansion(registry):
    """Read alone, without the validator's expansion, the templates target nothing."""
    shapes = Graph().parse(SHAPES / "generic.ttl", format="turtle")
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    data = Graph().parse(
        data=ox.serialize(document.triples, format=ox.RdfFormat.N_TRIPLES), format="nt"
    )
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True)
    assert not list(report.subjects(RDF.type, SH.ValidationResult))
