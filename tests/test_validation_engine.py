"""The native SHACL engine gives the same results as pyshacl, the reference.

Each test validates one document with two validators that share one shapes
graph, one per engine. It compares the readable results (severity, focus,
term, value, message, shape, component) in order, whether the document
conforms, and the terms of each result in the SHACL report graphs. The
documents are every real published document, the CTDL validation test files,
the samples, and generated edge cases: a framework of a few thousand
competencies with known defects, a graph that declares its own subclasses,
links to stored resources, and single-rule edits of a real credential.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import CTDL, REJECTED_REAL_DOCUMENTS, SAMPLES, document_id, real_documents
from rdflib import Graph
from rdflib.namespace import RDF, RDFS, SH

from registry.errors import InvalidDocument
from registry.validation import CETERMS, Validator
from registry.vocab import VocabCache

CHECKED_DOCUMENTS = [
    path for path in real_documents() if document_id(path) not in REJECTED_REAL_DOCUMENTS
]
VALIDATION_FILES = (
    sorted((CTDL / "validation" / "negative").iterdir())
    + sorted((CTDL / "validation" / "positive").iterdir())
    if CTDL.is_dir()
    else []
)
SAMPLE_FILES = sorted(SAMPLES.glob("*.json"))

# Validation test files the parser rejects before validation.
PARSER_REJECTS = {"ctdlvalidate-bare-uuid-ctid.json", "credential-invalid-type.txt"}

RESULT_TERMS = (
    SH.focusNode,
    SH.resultPath,
    SH.value,
    SH.resultSeverity,
    SH.sourceShape,
    SH.sourceConstraintComponent,
    SH.resultMessage,
)

BASE = "https://credentialengineregistry.org/resources/"
CREDENTIAL = CTDL / "graphs" / "credentials" / "ingest-bachelor-degree.graph.json"
CEASN = "https://purl.org/ctdlasn/terms/"


@pytest.fixture(scope="module")
def native(vocab_dir: Path) -> Validator:
    return Validator(VocabCache(vocab_dir), engine="native")


@pytest.fixture(scope="module")
def reference(native: Validator) -> Validator:
    """pyshacl over the native validator's shapes graph, so blank-node shapes compare by label."""
    return native.with_engine("pyshacl")


def _report_results(report: Graph) -> list[tuple[str, ...]]:
    """Return every result of a SHACL report graph as a sorted list of its terms' strings."""
    nodes = report.subjects(RDF.type, SH.ValidationResult)
    return sorted(tuple(str(report.value(node, p)) for p in RESULT_TERMS) for node in nodes)


def _report_conforms(report: Graph) -> bool:
    return next(report.objects(None, SH.conforms)).toPython()


def _assert_same(native, reference, document, referenced=None) -> None:
    """Assert that both engines report the same results for ``document``."""
    fast = native.validate(document, referenced)
    slow = reference.validate(document, referenced)
    assert [r.to_dict() for r in fast.results] == [r.to_dict() for r in slow.results]
    assert fast.conforms == slow.conforms
    assert _report_results(fast.graph) == _report_results(slow.graph)
    assert _report_conforms(fast.graph) == _report_conforms(slow.graph)


def _edited(path: Path, edit) -> bytes:
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    edit(data)
    return json.dumps(data).encode()


def _credential_node(data: dict) -> dict:
    return next(node for node in data["@graph"] if node["@type"] == "ceterms:BachelorDegree")


# --- Real documents and test files ------------------------------------------------------


@pytest.mark.parametrize("path", CHECKED_DOCUMENTS, ids=document_id)
def test_real_document_same(registry, native, reference, path):
    document = registry.parse(path.read_bytes(), document_id(path))
    _assert_same(native, reference, document)


@pytest.mark.parametrize("path", VALIDATION_FILES, ids=lambda p: p.name)
def test_validation_file_same(registry, native, reference, path):
    try:
        document = registry.parse(path.read_bytes(), path.name)
    except InvalidDocument:
        assert path.name in PARSER_REJECTS
        return
    _assert_same(native, reference, document)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_same(registry, native, reference, path):
    document = registry.parse(path.read_bytes(), path.name)
    _assert_same(native, reference, document)


def test_invalid_type_same_once_id_is_absolute(registry, native, reference):
    path = CTDL / "validation" / "negative" / "credential-invalid-type.txt"

    def absolute_id(data):
        data["@id"] = BASE + data["@id"]

    document = registry.parse(_edited(path, absolute_id), path.name)
    assert native.validate(document).warning_count > 0
    _assert_same(native, reference, document)


# --- Generated frameworks -------------------------------------------------------------------


def _framework(size: int) -> bytes:
    """Return a CTDL-ASN framework of ``size`` competencies with known defects.

    Competency 1 has a CTID that is not a UUID, 2 has no text, 3 names its
    parent only by ceasn:isChildOf, 4 has a plain-string text, 5 has two CTIDs,
    6 has a property outside its domain, 7 lists a blank-node child, 8 is a
    parent whose children state ceasn:isChildOf it (no result), 9 lists a child that does not
    name it back, 10 has no ceasn:isPartOf, 11 has an unknown @type, and 15
    says ceterms:ownedBy 16, which does not say ceterms:owns 15.
    """
    framework_ctid = f"ce-{uuid.uuid4()}"
    members = [f"ce-{uuid.uuid4()}" for _ in range(size)]
    members[1] = "ce-not-a-uuid"
    competencies = [_competency(i, ctid, framework_ctid) for i, ctid in enumerate(members)]
    del competencies[2]["ceasn:competencyText"]
    competencies[3]["ceasn:isChildOf"] = BASE + members[0]
    competencies[4]["ceasn:competencyText"] = "Plain string text"
    competencies[5]["ceterms:ctid"] = [members[5], f"ce-{uuid.uuid4()}"]
    competencies[6]["ceterms:credentialStatusType"] = "credentialStat:Active"
    competencies[7]["ceasn:hasChild"] = [{"@type": "ceasn:Competency"}]
    competencies[8]["ceasn:hasChild"] = [BASE + members[12], BASE + members[13]]
    competencies[12]["ceasn:isChildOf"] = BASE + members[8]
    competencies[13]["ceasn:isChildOf"] = BASE + members[8]
    competencies[9]["ceasn:hasChild"] = [BASE + members[14]]
    del competencies[10]["ceasn:isPartOf"]
    competencies[11]["@type"] = "ceasn:CompetencyTypo"
    competencies[15]["ceterms:ownedBy"] = BASE + members[16]
    framework = {
        "@id": BASE + framework_ctid,
        "@type": "ceasn:CompetencyFramework",
        "ceterms:ctid": framework_ctid,
        "ceasn:name": {"en-US": "Generated framework"},
        "ceasn:inLanguage": ["en"],
        "ceasn:hasTopChild": [BASE + ctid for ctid in members[:-1]],
    }
    document = {
        "@context": "https://credreg.net/ctdlasn/schema/context/json",
        "@id": "https://credentialengineregistry.org/graph/" + framework_ctid,
        "@graph": [framework, *competencies],
    }
    return json.dumps(document).encode()


def _competency(number: int, ctid: str, framework_ctid: str) -> dict:
    return {
        "@id": BASE + ctid,
        "@type": "ceasn:Competency",
        "ceterms:ctid": ctid,
        "ceasn:competencyText": {"en-US": f"Performs generated task number {number}."},
        "ceasn:codedNotation": f"G.{number}",
        "ceasn:isPartOf": BASE + framework_ctid,
        "ceasn:isTopChildOf": BASE + framework_ctid,
    }


def test_large_framework_same(registry, native, reference):
    document = registry.parse(_framework(3000), "generated framework")
    report = native.validate(document)
    components = {result.component for result in report.results}
    assert {"Pattern", "MinCount", "Datatype", "MaxCount", "Closed", "NodeKind"} <= components
    assert {"Equals", "InverseLink", "In"} <= components
    _assert_same(native, reference, document)


def test_small_framework_same(registry, native, reference):
    document = registry.parse(_framework(20), "generated framework")
    _assert_same(native, reference, document)


# --- Generated edits of a real credential ------------------------------------------------------


def test_declared_subclass_same(registry, native, reference):
    """A document that declares a subclass of ceterms:Credential is checked through it."""
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    local_class = ox.NamedNode("https://example.org/terms/LocalCredential")
    subclass_of = ox.NamedNode(str(RDFS.subClassOf))
    document.triples.append(ox.Triple(local_class, subclass_of, ox.NamedNode(CETERMS.Credential)))
    document.triples.append(
        ox.Triple(ox.NamedNode(str(CETERMS.ConditionProfile) + "Local"), subclass_of, local_class)
    )
    typed = ox.NamedNode("https://example.org/credentials/1")
    document.triples.append(ox.Triple(typed, ox.NamedNode(str(RDF.type)), local_class))
    _assert_same(native, reference, document)


def test_unresolved_blank_owner_same(registry, native, reference):
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    blank = ox.BlankNode()
    subject = ox.NamedNode(document.primary)
    document.triples.append(ox.Triple(subject, ox.NamedNode(CETERMS.ownedBy), blank))
    document.triples.append(ox.Triple(blank, ox.NamedNode(CETERMS.name), ox.Literal("Owner")))
    report = native.validate(document)
    assert [r.component for r in report.results if r.severity == "Violation"] == ["Or"]
    _assert_same(native, reference, document)


def test_string_for_resource_same(registry, native, reference):
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    subject = ox.NamedNode(document.primary)
    owner = ox.Triple(subject, ox.NamedNode(CETERMS.ownedBy), ox.Literal("Example University"))
    document.triples.append(owner)
    _assert_same(native, reference, document)


@pytest.mark.parametrize(
    "status",
    ["credentialStat:Active", "audLevel:BeginnerLevel", "https://example.org/unknown-status"],
)
def test_credential_status_same(registry, native, reference, status):
    def set_status(data):
        _credential_node(data)["ceterms:credentialStatusType"] = status

    document = registry.parse(_edited(CREDENTIAL, set_status), CREDENTIAL.name)
    _assert_same(native, reference, document)


def test_missing_required_terms_same(registry, native, reference):
    def strip(data):
        node = _credential_node(data)
        for key in ("ceterms:description", "ceterms:ownedBy", "ceterms:offeredBy"):
            node.pop(key, None)
        node["ceterms:inLanguage"] = []

    document = registry.parse(_edited(CREDENTIAL, strip), CREDENTIAL.name)
    report = native.validate(document)
    assert not report.conforms
    _assert_same(native, reference, document)


def test_referenced_links_same(registry, native, reference):
    """Stored statements about referenced resources feed the inverse-link hints."""
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    owned_by = ox.NamedNode(CETERMS.ownedBy)
    owner = next(t.object for t in document.triples if t.predicate == owned_by)
    other = ox.NamedNode(BASE + "ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b")
    referenced = [
        ox.Triple(owner, ox.NamedNode(CETERMS.owns), other),
        ox.Triple(owner, ox.NamedNode(str(RDF.type)), ox.NamedNode(CETERMS.CredentialOrganization)),
        ox.Triple(other, ox.NamedNode(CETERMS.ownedBy), owner),
    ]
    report = native.validate(document, referenced)
    assert "InverseLink" in {r.component for r in report.results if r.severity == "Info"}
    _assert_same(native, reference, document, referenced)


def test_described_owner_without_owns_same(registry, native, reference):
    """An owner described in the document that does not list the credential gets a hint."""
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    owned_by = ox.NamedNode(CETERMS.ownedBy)
    owner = next(t.object for t in document.triples if t.predicate == owned_by)
    document.triples.append(ox.Triple(owner, ox.NamedNode(CETERMS.name), ox.Literal("Owner")))
    document.triples.append(
        ox.Triple(owner, ox.NamedNode(CETERMS.owns), ox.NamedNode(BASE + "ce-other"))
    )
    _assert_same(native, reference, document)


def test_literal_values_of_resource_terms_same(registry, native, reference):
    """Literal objects of resource terms are focus nodes of the blank-node rule."""
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    subject = ox.NamedNode(document.primary)
    for term in ("accreditedBy", "requires", "subjectWebpage"):
        document.triples.append(
            ox.Triple(subject, ox.NamedNode(CETERMS[term]), ox.Literal("text", language="en"))
        )
    _assert_same(native, reference, document)


def test_unknown_property_and_type_same(registry, native, reference):
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    subject = ox.NamedNode(document.primary)
    extra = [
        ox.Triple(subject, ox.NamedNode(CETERMS.notATerm), ox.Literal("x")),
        ox.Triple(subject, ox.NamedNode(str(RDF.type)), ox.NamedNode(CETERMS.NotAClass)),
        ox.Triple(subject, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(RDFS.Resource))),
        ox.Triple(subject, ox.NamedNode(CEASN + "competencyText"), ox.Literal("outside")),
    ]
    document.triples.extend(extra)
    _assert_same(native, reference, document)


def test_typed_literal_values_same(registry, native, reference):
    """Typed literals where a language map or an IRI is expected, named as rdflib writes them."""
    document = registry.parse(CREDENTIAL.read_bytes(), CREDENTIAL.name)
    subject = ox.NamedNode(document.primary)
    integer = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    document.triples.append(
        ox.Triple(subject, ox.NamedNode(CETERMS.name), ox.Literal("042", datatype=integer))
    )
    document.triples.append(
        ox.Triple(subject, ox.NamedNode(CETERMS.ctid), ox.Literal("7", datatype=integer))
    )
    _assert_same(native, reference, document)


# --- Engine choice and the report ------------------------------------------------------------


def test_default_engine_native(validator):
    assert validator.engine == "native"


def test_engine_from_environment(vocab_dir, monkeypatch):
    monkeypatch.setenv("REGISTRY_SHACL_ENGINE", "pyshacl")
    assert Validator(VocabCache(vocab_dir)).engine == "pyshacl"


def test_unknown_engine_rejected(vocab_dir):
    with pytest.raises(Exception, match="unknown SHACL engine 'fast'"):
        Validator(VocabCache(vocab_dir), engine="fast")


def test_unsupported_shape_falls_back(vocab_dir, tmp_path, caplog):
    """Shapes with a component the native engine lacks run on pyshacl, with a warning."""
    shapes = Path(__file__).resolve().parents[1] / "shapes"
    for path in shapes.glob("*.ttl"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "extra.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "@prefix ceterms: <https://purl.org/ctdl/terms/> .\n"
        "<urn:test:ShortName> a sh:PropertyShape ; sh:targetSubjectsOf ceterms:name ;\n"
        '    sh:path ceterms:name ; sh:minLength 3 ; sh:message "use a longer name" .\n',
        encoding="utf-8",
    )
    validator = Validator(VocabCache(vocab_dir), shapes_dir=tmp_path, engine="native")
    assert validator.engine == "pyshacl"
    assert "sh:minLength" in caplog.text or "minLength" in caplog.text


def test_native_report_graph_built_on_request(registry, native):
    path = CTDL / "validation" / "negative" / "lopp-missing-owned-offered.json"
    report = native.validate(registry.parse(path.read_bytes(), path.name))
    assert not isinstance(report.graph_source, Graph)
    graph = Graph().parse(data=report.to_turtle(), format="turtle")
    reports = list(graph.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 1
    assert len(list(graph.objects(reports[0], SH.result))) == len(report.results)
