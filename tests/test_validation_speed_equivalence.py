"""The validator's faster path gives the same SHACL report as plain ``pyshacl.validate``.

``Validator.run_shacl`` reads the shapes once and runs only the shapes whose
targets can select a node of the document (``PreparedShapes``). These tests
compare its report graph, result by result, with the one ``pyshacl.validate``
returns for the same data graph and the full shapes graph. The data graphs
are the real documents, a generated competency framework with known defects,
and graphs that declare their own subclasses.
"""

from __future__ import annotations

import json
import uuid

import pyshacl
import pytest
from conftest import CTDL, REJECTED_REAL_DOCUMENTS, document_id, real_documents
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH

from registry.validation import CETERMS, DataGraph, Validator

CHECKED_DOCUMENTS = [
    path for path in real_documents() if document_id(path) not in REJECTED_REAL_DOCUMENTS
]

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


def _plain_report(validator: Validator, data: Graph) -> Graph:
    _, report, _ = pyshacl.validate(
        data,
        shacl_graph=validator.shapes_graph,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    return report


def _results(report: Graph) -> list[tuple[str, ...]]:
    """Return every result of a SHACL report graph as a sorted list of its terms.

    pyshacl copies blank nodes from the data and shapes graphs into the report
    with their labels, so blank-node terms compare by label here.
    """
    nodes = report.subjects(RDF.type, SH.ValidationResult)
    return sorted(tuple(str(report.value(node, p)) for p in RESULT_TERMS) for node in nodes)


def _conforms(report: Graph) -> bool:
    return next(report.objects(None, SH.conforms)).toPython()


def _assert_same_report(validator: Validator, data: Graph) -> None:
    plain = _plain_report(validator, data)
    fast = validator.run_shacl(data)
    assert _results(fast) == _results(plain)
    assert _conforms(fast) == _conforms(plain)


def _framework(size: int) -> bytes:
    """Return a CTDL-ASN framework of ``size`` competencies with a few known defects.

    Competency 1 has a CTID that is not a UUID, competency 2 has no text,
    competency 3 names its parent only one way (ceasn:isChildOf without the
    parent's ceasn:hasChild) and competency 4 has a plain-string text.
    """
    framework_ctid = f"ce-{uuid.uuid4()}"
    members = [f"ce-{uuid.uuid4()}" for _ in range(size)]
    members[1] = "ce-not-a-uuid"
    competencies = [_competency(i, ctid, framework_ctid) for i, ctid in enumerate(members)]
    del competencies[2]["ceasn:competencyText"]
    competencies[3]["ceasn:isChildOf"] = BASE + members[0]
    competencies[4]["ceasn:competencyText"] = "Plain string text"
    framework = {
        "@id": BASE + framework_ctid,
        "@type": "ceasn:CompetencyFramework",
        "ceterms:ctid": framework_ctid,
        "ceasn:name": {"en-US": "Generated framework"},
        "ceasn:inLanguage": ["en"],
        "ceasn:hasTopChild": [BASE + ctid for ctid in members],
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


@pytest.mark.parametrize("path", CHECKED_DOCUMENTS, ids=document_id)
def test_real_document_report_same(registry, validator, path):
    document = registry.parse(path.read_bytes(), document_id(path))
    _assert_same_report(validator, validator.data_graph(document))


def test_generated_framework_report_same(registry, validator):
    document = registry.parse(_framework(300), "generated framework")
    data = validator.data_graph(document)
    fast = validator.run_shacl(data)
    assert not _conforms(fast)
    assert len(_results(fast)) >= 4
    _assert_same_report(validator, data)


def test_declared_subclass_report_same(registry, validator):
    """A data graph that declares a subclass of ceterms:Credential is checked with every shape."""
    path = CTDL / "graphs" / "credentials" / "ingest-bachelor-degree.graph.json"
    data = validator.data_graph(registry.parse(path.read_bytes(), path.name))
    local_class = URIRef("https://example.org/terms/LocalCredential")
    data.add((local_class, RDFS.subClassOf, CETERMS.Credential))
    data.add((URIRef("https://example.org/credentials/1"), RDF.type, local_class))
    _assert_same_report(validator, data)


def test_graph_without_signature_report_same(registry, validator):
    """A graph the validator did not build gets its signature from the graph itself."""
    path = CTDL / "graphs" / "credentials" / "ingest-bachelor-degree.graph.json"
    built = validator.data_graph(registry.parse(path.read_bytes(), path.name))
    data = DataGraph(bind_namespaces="none")
    for statement in built:
        data.add(statement)
    blank = BNode()
    data.add((URIRef(BASE + "ce-00000000-0000-4000-8000-000000000001"), CETERMS.ownedBy, blank))
    data.add((blank, CETERMS.name, Literal("Unresolved owner")))
    assert data.signature is None
    _assert_same_report(validator, data)


def test_generated_sparql_targets_indexed(validator):
    """Every SPARQL target in the expanded shapes is one the index reads by its classes."""
    assert validator.prepared_shapes.always == []
