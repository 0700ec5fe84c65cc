"""The native SHACL engine on SHACL features the registry's shapes do not use yet.

Each case is a small shapes graph and data graph in Turtle. pyshacl validates
them with the settings the registry uses, and so does the native engine. The
report graphs must contain the same results and the same sh:conforms.
Features the native engine lacks must raise ``UnsupportedShapes``.
"""

from __future__ import annotations

import pyoxigraph as ox
import pyshacl
import pytest
from rdflib import Graph
from rdflib.namespace import RDF, SH

from registry.shacl_data import DocumentIndex, literal_parts, term_key
from registry.shacl_engine import NativeShapes, UnsupportedShapes, report_graph

PREFIXES = """
@prefix ex: <https://example.org/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

DATA = """
ex:Dog rdfs:subClassOf ex:Animal .
ex:Puppy rdfs:subClassOf ex:Dog .
ex:rex a ex:Dog ; ex:name "Rex" ; ex:owner ex:ann ; ex:friend ex:tom , [ ex:name "Stray" ] ;
    ex:code "AB-12" , "ab-99\\nline" , "x1" ; ex:age 3 ; ex:tag "blue"@en .
ex:tom a ex:Puppy ; ex:name "Tom"@en , "Thomas" ; ex:friend ex:rex ; ex:parent ex:rex .
ex:ann a ex:Person ; ex:name "Ann" ; ex:knows ex:bob .
ex:bob a ex:Person ; ex:knows ex:cid .
ex:cid a ex:Robot ; ex:label "C" .
"""

CASES = {
    "class through data subclasses": """
        ex:FriendShape a sh:PropertyShape ; sh:targetClass ex:Animal ;
            sh:path ex:friend ; sh:class ex:Animal ; sh:message "friends are animals" .
    """,
    "datatype": """
        ex:PlainNames a sh:PropertyShape ; sh:targetSubjectsOf ex:name ; sh:path ex:name ;
            sh:datatype xsd:string ; sh:severity sh:Warning ; sh:message "plain names" .
        ex:TaggedNames a sh:PropertyShape ; sh:targetClass ex:Person ; sh:path ex:name ;
            sh:datatype rdf:langString ; sh:message "tagged names" .
    """,
    "in and has value with literals": """
        ex:CodeShape a sh:PropertyShape ; sh:targetSubjectsOf ex:code ; sh:path ex:code ;
            sh:in ( "AB-12" "x1" ) ; sh:message "known codes" .
        ex:AgeShape a sh:PropertyShape ; sh:targetClass ex:Dog ; sh:path ex:age ;
            sh:hasValue 3 ; sh:message "three years old" .
    """,
    "pattern with flags and escapes": """
        ex:PatternShape a sh:PropertyShape ; sh:targetSubjectsOf ex:code ; sh:path ex:code ;
            sh:pattern "^[a-z]{2}-[0-9]+$" ; sh:flags "im" ; sh:message "letters, dash, digits" .
        ex:IriPattern a sh:PropertyShape ; sh:targetSubjectsOf ex:owner ; sh:path ex:owner ;
            sh:pattern "bob$" ; sh:message "owned by bob" .
    """,
    "sequence, inverse and repeated paths": """
        ex:Sequence a sh:PropertyShape ; sh:targetNode ex:ann ;
            sh:path ( ex:knows ex:knows ) ; sh:minCount 2 ; sh:message "two hops" .
        ex:Inverse a sh:PropertyShape ; sh:targetClass ex:Person ;
            sh:path [ sh:inversePath ex:knows ] ; sh:minCount 1 ; sh:message "someone knows" .
        ex:Star a sh:PropertyShape ; sh:targetNode ex:ann ;
            sh:path [ sh:zeroOrMorePath ex:knows ] ; sh:maxCount 2 ; sh:message "star" .
        ex:Plus a sh:PropertyShape ; sh:targetNode ex:ann ;
            sh:path [ sh:oneOrMorePath ex:knows ] ; sh:class ex:Person ; sh:message "plus" .
        ex:Optional a sh:PropertyShape ; sh:targetNode ex:ann ;
            sh:path [ sh:zeroOrOnePath ex:knows ] ; sh:nodeKind sh:BlankNode ;
            sh:message "optional" .
    """,
    "custom SPARQL target": """
        ex:Named a sh:NodeShape ;
            sh:target [ a sh:SPARQLTarget ; sh:prefixes ex:decl ;
                        sh:select "SELECT ?this WHERE { ?this ex:name ?name . }" ] ;
            sh:property [ sh:path ex:owner ; sh:minCount 1 ; sh:message "needs an owner" ] .
        ex:decl sh:declare [ sh:prefix "ex" ; sh:namespace "https://example.org/"^^xsd:anyURI ] .
    """,
    "nested severities, or and deactivated": """
        ex:Loose a sh:NodeShape ; sh:targetClass ex:Dog ; sh:severity sh:Warning ;
            sh:property [ sh:path ex:owner ; sh:minCount 2 ; sh:message "two owners" ] .
        ex:Either a sh:PropertyShape ; sh:targetSubjectsOf ex:friend ; sh:path ex:friend ;
            sh:or ( [ sh:nodeKind sh:IRI ; sh:severity sh:Warning ]
                    [ sh:path ex:name ; sh:minCount 5 ] ) ;
            sh:message "IRI friends" .
        ex:Strict a sh:PropertyShape ; sh:targetSubjectsOf ex:friend ; sh:path ex:friend ;
            sh:or ( [ sh:nodeKind sh:IRI ] [ sh:path ex:name ; sh:minCount 5 ] ) ;
            sh:message "IRI friends or many names" .
        ex:Off a sh:PropertyShape ; sh:targetClass ex:Dog ; sh:path ex:wings ;
            sh:minCount 1 ; sh:deactivated true ; sh:message "never" .
    """,
    "closed with property shapes and qualified counts": """
        ex:ClosedPerson a sh:NodeShape ; sh:targetClass ex:Person ; sh:closed true ;
            sh:ignoredProperties ( rdf:type ) ;
            sh:property [ sh:path ex:name ; sh:maxCount 1 ; sh:message "one name" ] ;
            sh:message "only names and types" .
        ex:QualifiedFriends a sh:PropertyShape ; sh:targetClass ex:Animal ; sh:path ex:friend ;
            sh:qualifiedValueShape [ sh:class ex:Dog ] ; sh:qualifiedMaxCount 1 ;
            sh:qualifiedMinCount 2 ; sh:message "dog friends" .
    """,
    "implicit class target and equals": """
        ex:Robot a rdfs:Class , sh:NodeShape ;
            sh:property [ sh:path ex:label ; sh:equals ex:name ; sh:message "label is name" ] .
        ex:Parent a sh:PropertyShape ; sh:targetSubjectsOf ex:parent ;
            sh:path ex:parent ; sh:equals ex:friend ; sh:severity sh:Info ; sh:message "pals" .
    """,
}

RESULT_TERMS = (
    SH.focusNode,
    SH.resultPath,
    SH.value,
    SH.resultSeverity,
    SH.sourceShape,
    SH.sourceConstraintComponent,
    SH.resultMessage,
)


def _results(report: Graph) -> list[tuple[str, ...]]:
    nodes = report.subjects(RDF.type, SH.ValidationResult)
    return sorted(tuple(str(report.value(node, p)) for p in RESULT_TERMS) for node in nodes)


def _conforms(report: Graph) -> bool:
    return next(report.objects(None, SH.conforms)).toPython()


def _native_report(shapes: Graph, data: Graph) -> Graph:
    index = DocumentIndex((term_key(s), term_key(p), term_key(o)) for s, p, o in data)
    results, conforms = NativeShapes(shapes).validate(index)
    return report_graph(results, shapes, index, conforms)


@pytest.mark.parametrize("name", sorted(CASES))
def test_feature_same_as_pyshacl(name):
    shapes = Graph().parse(data=PREFIXES + CASES[name], format="turtle")
    data = Graph().parse(data=PREFIXES + DATA, format="turtle")
    _, reference, _ = pyshacl.validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True
    )
    native = _native_report(shapes, data)
    assert _results(native)
    assert _results(native) == _results(reference)
    assert _conforms(native) == _conforms(reference)


@pytest.mark.parametrize(
    "shape",
    [
        "sh:minLength 3",
        "sh:datatype xsd:integer",
        "sh:qualifiedValueShape [ sh:nodeKind sh:IRI ] ; sh:qualifiedMinCount 1 ; "
        "sh:qualifiedValueShapesDisjoint true",
        "sh:nodeKind ex:Nothing",
        # pyshacl nests the results of sh:node under sh:detail, which the engine does not.
        "sh:node ex:Other",
    ],
)
def test_unsupported_feature_raises(shape):
    shapes = Graph().parse(
        data=PREFIXES + f"ex:S a sh:PropertyShape ; sh:targetClass ex:Dog ; "
        f'sh:path ex:name ; {shape} ; sh:message "m" .',
        format="turtle",
    )
    with pytest.raises(UnsupportedShapes):
        NativeShapes(shapes)


def test_reported_shape_without_message_raises():
    shapes = Graph().parse(
        data=PREFIXES + "ex:S a sh:NodeShape ; sh:targetClass ex:Dog ; "
        "sh:property [ sh:path ex:x ; sh:minCount 1 ] .",
        format="turtle",
    )
    with pytest.raises(UnsupportedShapes, match="no sh:message"):
        NativeShapes(shapes)


def test_unknown_sparql_component_raises():
    shapes = Graph().parse(
        data=PREFIXES
        + """
        ex:Custom a sh:ConstraintComponent ;
            sh:parameter [ sh:path ex:limit ] ;
            sh:propertyValidator [ a sh:SPARQLSelectValidator ;
                sh:select "SELECT $this WHERE { $this $PATH ?v }" ] .
        ex:S a sh:PropertyShape ; sh:targetClass ex:Dog ; sh:path ex:name ; ex:limit 1 .
        """,
        format="turtle",
    )
    with pytest.raises(UnsupportedShapes):
        NativeShapes(shapes)


# --- The document index ----------------------------------------------------------------------

TRICKY_TEXT = 'a "quote", a \\ backslash, a\nnew line, a \u2028 separator, \x01 and é'


def _tricky_triples(text: str) -> list[ox.Triple]:
    subject = ox.NamedNode("https://example.org/é")
    blank = ox.BlankNode("b1")
    predicate = ox.NamedNode("https://example.org/p")
    integer = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    return [
        ox.Triple(subject, predicate, ox.Literal(text)),
        ox.Triple(subject, predicate, ox.Literal(text, language="en-US")),
        ox.Triple(subject, predicate, ox.Literal("042", datatype=integer)),
        ox.Triple(subject, predicate, blank),
        ox.Triple(blank, predicate, subject),
    ]


@pytest.mark.parametrize("text", [TRICKY_TEXT, "a << b >> c"], ids=["escapes", "quoted"])
def test_index_terms_match_pyoxigraph(text):
    triples = _tricky_triples(text)
    index = DocumentIndex.from_triples(triples)
    expected = DocumentIndex((str(t.subject), str(t.predicate), str(t.object)) for t in triples)
    assert index.out == expected.out


@pytest.mark.parametrize("text", [TRICKY_TEXT, "plain"])
def test_literal_parts_unescape(text):
    for triple in _tricky_triples(text)[:2]:
        lexical, language, _ = literal_parts(str(triple.object))
        assert lexical == triple.object.value
        assert language == (triple.object.language or "")
