"""Validate CTDL documents with the registry's SHACL shapes.

The shapes in ``shapes/*.ttl`` state the minimum data policy and the generic
CTDL rules (SHACL 1.0 core and SPARQL, plus SPARQL-based targets from SHACL
Advanced Features). Some of them are templates and target shorthands that
name CTDL terms and classes by a rule instead of a list. ``Validator`` expands
them once into plain SHACL, from the pinned CTDL, CTDL-ASN and QData schema
encodings and JSON-LD contexts in the vocabulary cache. The comment at the
top of ``shapes/generic.ttl`` lists the shorthands.

``Validator.validate`` checks one parsed ``Document``: the data graph holds
the document's statements, the link statements of the stored resources it
references (for the inverse-link hints), and the ``skos:inScheme`` statements
of the CTDL concepts it uses. Nothing else from the registry is read, so the
time taken depends on the document, not on the size of the registry. No
inference runs: the CTDL class hierarchy is applied when the shapes are
expanded, not by reasoning over the data.

The shapes run on the native engine (``registry.shacl_engine``) by default,
or on pyshacl, the reference that the tests compare it with.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import re
import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pyshacl
from pyshacl.errors import ValidationFailure
from pyshacl.functions import gather_functions
from pyshacl.graph_abstraction import DataGraph as ShaclDataGraph
from pyshacl.pytypes import SHACLExecutor
from pyshacl.rules import gather_rules
from pyshacl.shape import Shape
from pyshacl.shapes_graph import ShapesGraph
from pyshacl.target import gather_target_types
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS, XSD, Namespace
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Node

from registry.errors import RegistryError, VocabularyError
from registry.ingest import Document
from registry.jsonld import TermTable
from registry.shacl_data import DocumentIndex, is_iri, rdflib_term, term_key
from registry.shacl_engine import NativeShapes, RawResult, UnsupportedShapes, report_graph
from registry.vocab import CTDL_CONTEXT_URL, CTDLASN_CONTEXT_URL, VocabCache

log = logging.getLogger(__name__)

DEFAULT_SHAPES_DIR = Path(__file__).resolve().parents[1] / "shapes"

CTDL_SCHEMA_URL = "https://credreg.net/ctdl/schema/encoding/json"
CTDLASN_SCHEMA_URL = "https://credreg.net/ctdlasn/schema/encoding/json"
QDATA_SCHEMA_URL = "https://credreg.net/qdata/schema/encoding/json"

CETERMS = Namespace("https://purl.org/ctdl/terms/")
CEASN = Namespace("https://purl.org/ctdlasn/terms/")
REG = Namespace("urn:ctdl-registry:shapes#")
META = Namespace("http://credreg.net/meta/terms/")
SCHEMA = Namespace("https://schema.org/")

# The schema encodings, each with the pinned context it is parsed with. The
# QData encoding names a context that is not pinned, so it is read with the
# CTDL context, which defines the qdata: prefix and the keys the encoding uses.
SCHEMA_ENCODINGS = (
    (CTDL_SCHEMA_URL, CTDL_CONTEXT_URL),
    (CTDLASN_SCHEMA_URL, CTDLASN_CONTEXT_URL),
    (QDATA_SCHEMA_URL, CTDL_CONTEXT_URL),
)

# Ranges that are datatypes, not classes.
LITERAL_RANGES = {RDF.langString, RDFS.Literal}

SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}

# The engines that can run the shapes: "native" evaluates them in Python
# (registry.shacl_engine), "pyshacl" runs pyshacl, the reference.
ENGINES = ("native", "pyshacl")
ENGINE_VARIABLE = "REGISTRY_SHACL_ENGINE"


@dataclass(frozen=True)
class ValidationResult:
    """One SHACL validation result, in the registry's words."""

    severity: str
    focus: str
    term: str | None
    value: str | None
    message: str
    shape: str
    component: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "focus": self.focus,
            "term": self.term,
            "value": self.value,
            "message": self.message,
            "shape": self.shape,
            "component": self.component,
        }


@dataclass
class ValidationReport:
    """The results of validating one document, and the SHACL report graph behind them.

    The native engine builds the report graph only when ``graph`` is first
    read, since most callers need the results alone.
    """

    ctid: str
    results: list[ValidationResult]
    graph_source: Graph | Callable[[], Graph] = field(repr=False)

    @property
    def graph(self) -> Graph:
        """The sh:ValidationReport graph (W3C SHACL section 3.6)."""
        if not isinstance(self.graph_source, Graph):
            self.graph_source = self.graph_source()
        return self.graph_source

    @property
    def conforms(self) -> bool:
        """Tell whether the document has no violations (warnings and hints do not count)."""
        return self.violation_count == 0

    @property
    def violation_count(self) -> int:
        return self._count("Violation")

    @property
    def warning_count(self) -> int:
        return self._count("Warning")

    @property
    def info_count(self) -> int:
        return self._count("Info")

    def _count(self, severity: str) -> int:
        return sum(1 for result in self.results if result.severity == severity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ctid": self.ctid,
            "conforms": self.conforms,
            "violations": self.violation_count,
            "warnings": self.warning_count,
            "infos": self.info_count,
            "results": [result.to_dict() for result in self.results],
        }

    def to_turtle(self) -> str:
        """Serialise the SHACL validation report graph (W3C SHACL section 3.6) as Turtle."""
        return self.graph.serialize(format="turtle")


@dataclass
class Vocabulary:
    """The facts about the pinned CTDL vocabulary that the shapes use."""

    classes: set[URIRef] = field(default_factory=set)
    properties: set[URIRef] = field(default_factory=set)
    superclasses: dict[URIRef, set[URIRef]] = field(default_factory=lambda: defaultdict(set))
    domains: dict[URIRef, set[URIRef]] = field(default_factory=lambda: defaultdict(set))
    ranges: dict[URIRef, set[URIRef]] = field(default_factory=lambda: defaultdict(set))
    target_schemes: dict[URIRef, URIRef] = field(default_factory=dict)
    concept_schemes: dict[URIRef, set[URIRef]] = field(default_factory=lambda: defaultdict(set))
    inverses: dict[URIRef, URIRef] = field(default_factory=dict)
    iri_terms: set[URIRef] = field(default_factory=set)
    language_terms: set[URIRef] = field(default_factory=set)
    prefixes: dict[str, str] = field(default_factory=dict)

    @property
    def domain_classes(self) -> set[URIRef]:
        """Classes that at least one property names in its ``schema:domainIncludes``."""
        return {cls for classes in self.domains.values() for cls in classes}

    @property
    def known_classes(self) -> set[URIRef]:
        """Declared classes and the classes named as a domain or range of a property."""
        range_classes = {
            cls for classes in self.ranges.values() for cls in classes if not _is_literal_range(cls)
        }
        return self.classes | self.domain_classes | range_classes

    def ancestors(self, cls: URIRef) -> set[URIRef]:
        """Return ``cls`` and all its superclasses."""
        found = {cls}
        pending = [cls]
        while pending:
            for parent in self.superclasses.get(pending.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    pending.append(parent)
        return found

    def descendants(self, cls: URIRef) -> set[URIRef]:
        """Return ``cls`` and all its subclasses."""
        return {c for c in self.classes | self.domain_classes if cls in self.ancestors(c)} | {cls}

    def allowed_properties(self, cls: URIRef) -> set[URIRef]:
        """Properties whose domain includes ``cls`` or one of its superclasses."""
        lineage = self.ancestors(cls)
        return {prop for prop, classes in self.domains.items() if classes & lineage}

    def uri_terms(self) -> set[URIRef]:
        """IRI-valued terms whose only schema range is xsd:anyURI: web addresses."""
        return {p for p in self.iri_terms if self.ranges.get(p) and self.ranges[p] <= {XSD.anyURI}}

    def resource_terms(self) -> set[URIRef]:
        """IRI-valued terms that take resources: a class among their ranges, or no range given.

        NOTE: the CTDL context declares a few terms "@type": "@id" although their
        schema ranges are numbers (ceterms:medianEarnings, ...). They are in neither set.
        """
        return {
            p
            for p in self.iri_terms - self.uri_terms()
            if not self.ranges.get(p) or not all(_is_literal_range(r) for r in self.ranges[p])
        }

    def concept_terms(self) -> dict[URIRef, URIRef]:
        """Map each property whose target scheme lists concepts to that scheme."""
        listed = {scheme for schemes in self.concept_schemes.values() for scheme in schemes}
        return {prop: scheme for prop, scheme in self.target_schemes.items() if scheme in listed}

    def example_concept(self, scheme: URIRef) -> URIRef:
        return min(c for c, schemes in self.concept_schemes.items() if scheme in schemes)


def _is_literal_range(cls: URIRef) -> bool:
    return cls in LITERAL_RANGES or cls.startswith(str(XSD))


class Validator:
    """The registry's SHACL validator: shapes and vocabulary loaded once, one document per call.

    ``engine`` chooses how the shapes run: ``"native"`` (the default) or
    ``"pyshacl"``, the reference; ``REGISTRY_SHACL_ENGINE`` sets it when the
    argument is not given. Both give the same results. When the shapes use a
    SHACL feature the native engine lacks, the validator logs a warning and
    runs pyshacl.
    """

    def __init__(
        self, cache: VocabCache, shapes_dir: Path = DEFAULT_SHAPES_DIR, engine: str | None = None
    ) -> None:
        started = time.perf_counter()
        self.vocabulary = load_vocabulary(cache)
        self.shapes_graph = expand_shapes(read_shapes(shapes_dir), self.vocabulary)
        self.link_predicates = _link_predicates(self.shapes_graph)
        # The link predicates and concept schemes again, as the native engine's terms.
        self._link_terms = {term_key(p) for p in self.link_predicates}
        self._concept_terms = {
            term_key(concept): [term_key(scheme) for scheme in sorted(schemes)]
            for concept, schemes in self.vocabulary.concept_schemes.items()
        }
        self._concept_term_set = frozenset(self._concept_terms)
        self.engine = self._choose_engine(engine)
        log.info(
            "loaded %d SHACL shapes from %s in %.1f s, run by the %s engine",
            _count_shapes(self.shapes_graph),
            shapes_dir,
            time.perf_counter() - started,
            self.engine,
        )

    def _choose_engine(self, engine: str | None) -> str:
        """Return the engine to use, compiling the native shapes if it is the native one."""
        engine = engine or os.environ.get(ENGINE_VARIABLE) or "native"
        if engine not in ENGINES:
            raise RegistryError(
                f"unknown SHACL engine {engine!r}; set {ENGINE_VARIABLE} to native or pyshacl"
            )
        if engine == "pyshacl":
            return engine
        try:
            self.native_shapes = NativeShapes(self.shapes_graph)
        except UnsupportedShapes as exc:
            log.warning("validating with pyshacl, which is slower: %s", exc)
            return "pyshacl"
        return engine

    def with_engine(self, engine: str) -> Validator:
        """Return a validator over the same shapes graph that runs ``engine``.

        Both share the shapes graph, so their reports name the same blank-node
        shapes and paths; the tests compare the engines this way.
        """
        other = copy.copy(self)
        other.engine = other._choose_engine(engine)
        return other

    @functools.cached_property
    def prepared_shapes(self) -> PreparedShapes:
        """The shapes read by pyshacl, prepared on first use."""
        return PreparedShapes(self.shapes_graph)

    def validate(
        self, document: Document, referenced: Iterable[ox.Triple] | None = None
    ) -> ValidationReport:
        """Validate one parsed document, with statements about the stored resources it references.

        Of ``referenced``, only the link statements that the inverse-link hints
        compare are used (``ceterms:owns``, ``ceterms:hasPart``, ...), and only
        about resources the document does not itself describe.
        """
        started = time.perf_counter()
        if self.engine == "native":
            report, size = self._validate_natively(document, referenced)
        else:
            report, size = self._validate_with_pyshacl(document, referenced)
        log.debug(
            "validated %s (%d triples): %d violations, %d warnings, %d infos in %.1f ms",
            document.ctid,
            size,
            report.violation_count,
            report.warning_count,
            report.info_count,
            (time.perf_counter() - started) * 1000,
        )
        return report

    def _validate_with_pyshacl(
        self, document: Document, referenced: Iterable[ox.Triple] | None
    ) -> tuple[ValidationReport, int]:
        data = self.data_graph(document, referenced)
        report = self.run_shacl(data)
        names = _Names(_GraphData(data), self)
        results = sorted(
            (_describe(_read_result(node, report, names)) for node in _result_nodes(report)),
            key=_result_order,
        )
        return ValidationReport(document.ctid, results, report), len(data)

    def _validate_natively(
        self, document: Document, referenced: Iterable[ox.Triple] | None
    ) -> tuple[ValidationReport, int]:
        index = self.document_index(document, referenced)
        return self.check_index(document, index), len(document.triples)

    def check_index(self, document: Document, index: DocumentIndex) -> ValidationReport:
        """Run the native engine on a document's index and describe its results."""
        raw, conforms = self.native_shapes.validate(index)
        names = _Names(_IndexData(index), self)
        results = sorted((_describe(_native_finding(r, names)) for r in raw), key=_result_order)

        def build_graph() -> Graph:
            return report_graph(raw, self.shapes_graph, index, conforms)

        return ValidationReport(document.ctid, results, build_graph)

    def document_index(
        self, document: Document, referenced: Iterable[ox.Triple] | None = None
    ) -> DocumentIndex:
        """Index the statements the native engine checks, the same ones ``data_graph`` contains."""
        index = DocumentIndex.from_triples(document.triples)
        described = set(index.out)
        terms: set[str] = set()
        for triple in referenced or ():
            subject, predicate, value = (str(term) for term in triple)
            terms.update((subject, predicate, value))
            if (
                predicate in self._link_terms
                and subject not in described
                and is_iri(subject)
                and is_iri(value)
            ):
                index.add(subject, predicate, value)
        self._add_concept_schemes_to_index(index, terms)
        return index

    def _add_concept_schemes_to_index(self, index: DocumentIndex, terms: set[str]) -> None:
        """Add the skos:inScheme statements of the concepts among the document's terms
        and ``terms``, as ``_add_concept_schemes`` does for the rdflib data graph."""
        concepts = self._concept_term_set
        used = set(concepts.intersection(terms))
        used.update(concepts.intersection(index.out))
        for properties in index.out.values():
            used.update(concepts.intersection(properties))
            for values in properties.values():
                used.update(concepts.intersection(values))
        in_scheme = term_key(SKOS.inScheme)
        index.extend(
            (concept, in_scheme, scheme)
            for concept in used
            for scheme in self._concept_terms[concept]
        )

    def data_graph(
        self, document: Document, referenced: Iterable[ox.Triple] | None = None
    ) -> Graph:
        """Build the rdflib data graph for one document (see the module docstring)."""
        graph = DataGraph(bind_namespaces="none")
        convert = _TermConverter()
        statements = [convert.triple(triple) for triple in document.triples]
        described = {subject for subject, _, _ in statements}
        for triple in referenced or ():
            statement = convert.triple(triple)
            if self._is_useful_link(statement, described):
                statements.append(statement)
        graph.addN((s, p, o, graph) for s, p, o in statements)
        self._add_concept_schemes(graph, convert.iris())
        graph.signature = _statement_signature(statements, graph)
        return graph

    def run_shacl(self, data: Graph) -> Graph:
        """Run the shapes on a data graph this validator built, and return the report graph.

        The report is the one ``pyshacl.validate`` returns for this data graph
        and ``shapes_graph`` with ``inference="none"``, ``advanced=True`` and
        ``allow_warnings=True``. It is faster because pyshacl reads the shapes
        once per validator, not once per call, and only the shapes whose targets
        can select a node of ``data`` are run (see ``PreparedShapes``).
        """
        return self.prepared_shapes.validate(data)

    def _is_useful_link(self, statement: tuple[Node, Node, Node], described: set[Node]) -> bool:
        subject, predicate, value = statement
        return (
            predicate in self.link_predicates
            and subject not in described
            and isinstance(subject, URIRef)
            and isinstance(value, URIRef)
        )

    def _add_concept_schemes(self, graph: Graph, iris: Iterable[Node]) -> None:
        schemes = self.vocabulary.concept_schemes
        for concept in (iri for iri in iris if iri in schemes):
            for scheme in schemes[concept]:
                graph.add((concept, SKOS.inScheme, scheme))


# --- The vocabulary -----------------------------------------------------------


def load_vocabulary(cache: VocabCache) -> Vocabulary:
    """Read classes, properties, domains, ranges and concept schemes from the pinned files."""
    vocabulary = Vocabulary()
    schema = Graph()
    for schema_url, context_url in SCHEMA_ENCODINGS:
        _parse_encoding(schema, cache, schema_url, context_url)
    _read_schema(vocabulary, schema)
    for context_url in (CTDL_CONTEXT_URL, CTDLASN_CONTEXT_URL):
        _read_context(vocabulary, cache, context_url)
    return vocabulary


def _parse_encoding(schema: Graph, cache: VocabCache, schema_url: str, context_url: str) -> None:
    """Parse a schema encoding with its JSON-LD context given inline, so nothing is fetched."""
    encoding = cache.load_json(schema_url)
    context = cache.load_json(context_url)["@context"]
    document = {"@context": context, "@graph": encoding["@graph"]}
    try:
        schema.parse(data=json.dumps(document), format="json-ld")
    except Exception as exc:  # rdflib's JSON-LD parser raises several unrelated types
        raise VocabularyError(f"cannot read the schema encoding {schema_url}: {exc}") from exc


def _read_schema(vocabulary: Vocabulary, schema: Graph) -> None:
    vocabulary.classes = set(_iris(schema.subjects(RDF.type, RDFS.Class)))
    vocabulary.properties = set(_iris(schema.subjects(RDF.type, RDF.Property)))
    for cls, parent in schema.subject_objects(RDFS.subClassOf):
        vocabulary.superclasses[cls].add(parent)
    for prop, cls in schema.subject_objects(SCHEMA.domainIncludes):
        vocabulary.domains[prop].add(cls)
    for prop, cls in schema.subject_objects(SCHEMA.rangeIncludes):
        vocabulary.ranges[prop].add(cls)
    for prop, scheme in schema.subject_objects(META.targetScheme):
        vocabulary.target_schemes[prop] = scheme
    for concept, scheme in schema.subject_objects(SKOS.inScheme):
        vocabulary.concept_schemes[concept].add(scheme)
    vocabulary.inverses = inverse_pairs(schema)


def inverse_pairs(graph: Graph) -> dict[URIRef, URIRef]:
    """Map each property of an owl:inverseOf statement to its inverse, both ways round."""
    pairs: dict[URIRef, URIRef] = {}
    for prop, inverse in graph.subject_objects(OWL.inverseOf):
        pairs[prop] = inverse
        pairs[inverse] = prop
    return pairs


def _read_context(vocabulary: Vocabulary, cache: VocabCache, context_url: str) -> None:
    """Collect the IRI-valued and language-map terms and the prefixes of a JSON-LD context."""
    table = TermTable()
    table.add_context(context_url, cache.load_json)
    for key, definition in table.terms.items():
        iri = table.expand(key)
        if ":" not in key or not iri.startswith(("http://", "https://")):
            continue
        if definition.get("@type") == "@id":
            vocabulary.iri_terms.add(URIRef(iri))
        elif definition.get("@container") == "@language":
            vocabulary.language_terms.add(URIRef(iri))
    for prefix, namespace in table.prefixes.items():
        vocabulary.prefixes.setdefault(prefix, namespace)


def _iris(nodes: Iterable[Node]) -> Iterator[URIRef]:
    return (node for node in nodes if isinstance(node, URIRef))


# --- The shapes -----------------------------------------------------------------


def read_shapes(folder: Path) -> Graph:
    """Parse every ``*.ttl`` file in ``folder`` into one shapes graph."""
    paths = sorted(folder.glob("*.ttl"))
    if not paths:
        raise RegistryError(f"no SHACL shapes (*.ttl) found in {folder}; reinstall the registry")
    shapes = Graph(bind_namespaces="core")
    for path in paths:
        try:
            shapes.parse(path, format="turtle")
        except Exception as exc:  # rdflib reports Turtle errors with several exception types
            raise RegistryError(f"cannot read the shapes file {path}: {exc}") from exc
    return shapes


def expand_shapes(shapes: Graph, vocabulary: Vocabulary) -> Graph:
    """Return a copy of ``shapes`` with the reg: templates and shorthands made plain SHACL."""
    expanded = Graph(bind_namespaces="core")
    for prefix, namespace in (*shapes.namespaces(), *vocabulary.prefixes.items()):
        expanded.bind(prefix, namespace, override=False)
    expanded += shapes
    for template in sorted(set(expanded.subjects(RDF.type, REG.ShapeTemplate))):
        _instantiate(expanded, template, vocabulary)
    _expand_object_targets(expanded, vocabulary)
    _expand_class_lists(expanded, vocabulary)
    _expand_class_targets(expanded, vocabulary)
    return expanded


def _instantiate(shapes: Graph, template: URIRef, vocabulary: Vocabulary) -> None:
    kind = shapes.value(template, REG.forEach)
    skipped = _listed(shapes, shapes.value(template, REG["except"]))
    if kind == REG.Classes:
        for cls in sorted(vocabulary.domain_classes):
            _copy_for_class(shapes, template, cls, vocabulary)
        return
    if kind == REG.ConceptTerms:
        for prop, scheme in sorted(vocabulary.concept_terms().items()):
            if prop not in skipped:
                _copy_for_concepts(shapes, template, prop, scheme, vocabulary)
        return
    if kind == REG.InversePairs:
        pairs = {**vocabulary.inverses, **inverse_pairs(shapes)}
        for prop, inverse in sorted(pairs.items()):
            if prop not in skipped:
                _copy_for_inverse(shapes, template, prop, inverse)
        return
    for prop in sorted(_terms(vocabulary, kind) - skipped):
        _copy_for_property(shapes, template, prop)


def _terms(vocabulary: Vocabulary, kind: Node | None) -> set[URIRef]:
    if kind == REG.UriTerms:
        return vocabulary.uri_terms()
    if kind == REG.ResourceTerms:
        return vocabulary.resource_terms()
    if kind == REG.LanguageTerms:
        return vocabulary.language_terms
    raise RegistryError(f"the shapes use reg:forEach {kind}, which the validator does not support")


def _copy_for_property(shapes: Graph, template: URIRef, prop: URIRef) -> URIRef:
    shape = _copy_template(shapes, template, prop, SH.PropertyShape)
    shapes.add((shape, SH.path, prop))
    shapes.add((shape, SH.targetSubjectsOf, prop))
    return shape


def _copy_for_concepts(
    shapes: Graph, template: URIRef, prop: URIRef, scheme: URIRef, vocabulary: Vocabulary
) -> None:
    """Copy the concept template for one property: its values are concepts of ``scheme``."""
    shape = _copy_for_property(shapes, template, prop)
    aligned = _has_value_shape(shapes, _list(shapes, [CETERMS.targetNode, SKOS.inScheme]), scheme)
    direct = _has_value_shape(shapes, SKOS.inScheme, scheme)
    shapes.add((shape, SH["or"], _list(shapes, [aligned, direct])))
    example = vocabulary.example_concept(scheme)
    _fill_message(shapes, shape, scheme=_compact(shapes, scheme), example=_compact(shapes, example))


def _copy_for_inverse(shapes: Graph, template: URIRef, prop: URIRef, inverse: URIRef) -> None:
    shape = _copy_for_property(shapes, template, prop)
    shapes.add((shape, REG.inverse, inverse))
    _fill_message(shapes, shape, inverse=_compact(shapes, inverse))


def _fill_message(shapes: Graph, shape: URIRef, **values: str) -> None:
    """Fill the {placeholders} a template's sh:message leaves for each copy."""
    message = str(shapes.value(shape, SH.message))
    shapes.set((shape, SH.message, Literal(message.format(**values))))


def _copy_for_class(shapes: Graph, template: URIRef, cls: URIRef, vocabulary: Vocabulary) -> None:
    shape = _copy_template(shapes, template, cls, SH.NodeShape)
    shapes.add((shape, SH.targetClass, cls))
    allowed = [RDF.type, *sorted(vocabulary.allowed_properties(cls))]
    shapes.add((shape, SH.ignoredProperties, _list(shapes, allowed)))


def _copy_template(shapes: Graph, template: URIRef, term: URIRef, shape_type: URIRef) -> URIRef:
    """Copy a template's constraints, severity, comment and message to a new shape for ``term``."""
    shape = URIRef(f"{template}-{_compact(shapes, term).replace(':', '-')}")
    shapes.add((shape, RDF.type, shape_type))
    for predicate, value in shapes.predicate_objects(template):
        if predicate != RDF.type and not str(predicate).startswith(str(REG)):
            shapes.add((shape, predicate, value))
    return shape


def _has_value_shape(shapes: Graph, path: Node, value: URIRef) -> BNode:
    shape = BNode()
    shapes.add((shape, SH.path, path))
    shapes.add((shape, SH.hasValue, value))
    return shape


def _expand_object_targets(shapes: Graph, vocabulary: Vocabulary) -> None:
    """Give each shape with ``reg:targetObjectsOfEach`` an ``sh:targetObjectsOf`` per term."""
    for shape, kind in list(shapes.subject_objects(REG.targetObjectsOfEach)):
        skipped = _listed(shapes, shapes.value(shape, REG["except"]))
        for prop in sorted(_terms(vocabulary, kind) - skipped):
            shapes.add((shape, SH.targetObjectsOf, prop))


def _expand_class_lists(shapes: Graph, vocabulary: Vocabulary) -> None:
    """Give each shape with ``reg:inEach reg:KnownClasses`` an ``sh:in`` list of the classes."""
    for shape, kind in list(shapes.subject_objects(REG.inEach)):
        if kind != REG.KnownClasses:
            raise RegistryError(f"{shape} uses reg:inEach {kind}; only reg:KnownClasses exists")
        shapes.add((shape, SH["in"], _list(shapes, sorted(vocabulary.known_classes))))


def _expand_class_targets(shapes: Graph, vocabulary: Vocabulary) -> None:
    """Turn the reg:target...InstancesOf shorthands into SHACL targets over the class hierarchy."""
    for shape in sorted(set(shapes.subjects(REG.targetInstancesOf, None))):
        for cls in _target_classes(shapes, shape, REG.targetInstancesOf, vocabulary):
            shapes.add((shape, SH.targetClass, cls))
    sparql_targets = ((REG.targetIriInstancesOf, "isIRI"), (REG.targetBlankInstancesOf, "isBlank"))
    for shorthand, node_test in sparql_targets:
        for shape in sorted(set(shapes.subjects(shorthand, None))):
            classes = _target_classes(shapes, shape, shorthand, vocabulary)
            shapes.add((shape, SH.target, _sparql_target(shapes, classes, node_test)))


def _target_classes(
    shapes: Graph, shape: Node, shorthand: URIRef, vocabulary: Vocabulary
) -> list[URIRef]:
    named = set(_iris(shapes.objects(shape, shorthand)))
    if shapes.value(shape, REG.excludeSubclasses) == Literal(True):
        return sorted(named)
    return sorted({sub for cls in named for sub in vocabulary.descendants(cls)})


def _sparql_target(shapes: Graph, classes: list[URIRef], node_test: str) -> BNode:
    """Build a SHACL-AF SPARQL target selecting the IRI or blank-node instances of ``classes``.

    Query shape: ``SELECT ?this WHERE { VALUES ?class { <C1> <C2> ... }
    ?this a ?class . FILTER isIRI(?this) }``.
    """
    values = " ".join(cls.n3() for cls in classes)
    select = (
        f"SELECT ?this WHERE {{ VALUES ?class {{ {values} }} ?this a ?class . "
        f"FILTER {node_test}(?this) }}"
    )
    target = BNode()
    shapes.add((target, RDF.type, SH.SPARQLTarget))
    shapes.add((target, SH.select, Literal(select)))
    return target


def _listed(shapes: Graph, head: Node | None) -> set[Node]:
    return set(Collection(shapes, head)) if head is not None else set()


def _list(shapes: Graph, items: list[Node]) -> BNode:
    head = BNode()
    Collection(shapes, head, items)
    return head


def _link_predicates(shapes: Graph) -> set[Node]:
    """Return the properties the inverse-link shapes compare, in both directions."""
    found: set[Node] = set()
    for shape, inverse in shapes.subject_objects(REG.inverse):
        found.update((shapes.value(shape, SH.path), inverse))
    return found


def _count_shapes(shapes: Graph) -> int:
    node_shapes = set(shapes.subjects(RDF.type, SH.NodeShape))
    return len(node_shapes | set(shapes.subjects(RDF.type, SH.PropertyShape)))


# --- Running the shapes ------------------------------------------------------------

# How many data-graph signatures (sets of classes and predicates) keep their
# list of applicable shapes. Registry documents of one kind share a few signatures.
SIGNATURE_CACHE_SIZE = 256

# The form of the SPARQL targets ``_sparql_target`` builds. Only a query of this
# form is read for its classes; a shape with any other SPARQL target always runs.
_GENERATED_SPARQL_TARGET = re.compile(
    r"SELECT \?this WHERE \{ VALUES \?class \{ (?P<classes>(?:<[^<>\s]+> ?)+)\} "
    r"\?this a \?class \. FILTER is(?:IRI|Blank)\(\?this\) \}"
)


@dataclass(frozen=True)
class _Signature:
    """What decides which shapes can select a focus node in a data graph."""

    classes: frozenset[Node]
    predicates: frozenset[Node]


class PreparedShapes:
    """The shapes graph read once by pyshacl, with its targeted shapes indexed by what they select.

    ``pyshacl.validate`` reads every shape of the shapes graph again on each
    call and computes the focus nodes of each of the ~950 shapes. Here the
    pyshacl ``Shape`` objects are built once. A data graph is checked only
    against the shapes whose targets can select one of its nodes. Such a
    target is an ``sh:targetClass`` whose class is used as an ``rdf:type``
    value, an ``sh:targetSubjectsOf`` or ``sh:targetObjectsOf`` whose predicate
    is used, or a SPARQL target built by ``_sparql_target`` with one of its
    classes used. Shapes with any other target always run, and shapes
    without targets never run on their own (pyshacl finds no focus nodes for
    them and reaches them through the shapes that refer to them).

    The ``Shape`` objects are shared between threads, because pyshacl 0.40
    keeps no state of a run in them (it builds the constraint components anew
    in each ``Shape.validate`` call).
    """

    def __init__(self, shapes_graph: Graph) -> None:
        self.shapes = ShapesGraph(_simple_copy(shapes_graph))
        self._check_supported()
        self.always: list[Shape] = []
        self.by_class: dict[Node, list[Shape]] = defaultdict(list)
        self.by_subject_of: dict[Node, list[Shape]] = defaultdict(list)
        self.by_object_of: dict[Node, list[Shape]] = defaultdict(list)
        self.targeted: list[Shape] = []
        for shape in self.shapes.shapes:
            shape.set_advanced(True)  # as pyshacl.validate(advanced=True) does on every call
            self._index(shape)
        self.select = functools.lru_cache(maxsize=SIGNATURE_CACHE_SIZE)(self._select)

    def validate(self, data: Graph) -> Graph:
        """Run the shapes that can apply to ``data`` and return pyshacl's report graph."""
        executor = SHACLExecutor(advanced_mode=True, allow_warnings=True)
        target = ShaclDataGraph.from_rdflib(data)
        conforms = True
        results: list[Any] = []
        signature = getattr(data, "signature", None) or _signature(data)
        for shape in self.select(signature):
            try:
                shape_conforms, shape_results = shape.validate(executor, target)
            except ValidationFailure as exc:
                message = f"applying the SHACL shapes failed: {exc}; fix the shapes"
                raise RegistryError(message) from exc
            conforms = conforms and shape_conforms
            results.extend(shape_results)
        report, _ = pyshacl.Validator.create_validation_report(self.shapes, conforms, results)
        return report

    def _check_supported(self) -> None:
        """Raise if the shapes use SHACL-AF features that ``validate`` does not apply."""
        executor = SHACLExecutor(advanced_mode=True)
        if (
            gather_target_types(self.shapes)
            or gather_functions(executor, self.shapes)
            or gather_rules(executor, self.shapes)
        ):
            raise RegistryError(
                "the shapes declare SHACL-AF target types, functions or rules, "
                "which the validator does not run; remove them from shapes/*.ttl"
            )

    def _index(self, shape: Shape) -> None:
        graph = self.shapes.graph
        node = shape.node
        triggers = [
            *((self.by_class, cls) for cls in graph.objects(node, SH.targetClass)),
            *((self.by_subject_of, p) for p in graph.objects(node, SH.targetSubjectsOf)),
            *((self.by_object_of, p) for p in graph.objects(node, SH.targetObjectsOf)),
        ]
        runs_always = bool(shape.implicit_class_targets()) or any(
            graph.objects(node, SH.targetNode)
        )
        for target in graph.objects(node, SH.target):
            classes = _generated_target_classes(graph, target)
            runs_always = runs_always or classes is None
            triggers.extend((self.by_class, cls) for cls in classes or ())
        if runs_always:
            self.always.append(shape)
        else:
            for index, key in triggers:
                index[key].append(shape)
        if runs_always or triggers:
            self.targeted.append(shape)

    def _select(self, signature: _Signature | None) -> tuple[Shape, ...]:
        """Return the shapes to run, in pyshacl's order; ``None`` means every targeted shape."""
        if signature is None:
            return tuple(self.targeted)
        chosen = {id(shape) for shape in self.always}
        for cls in signature.classes:
            chosen.update(id(shape) for shape in self.by_class.get(cls, ()))
        for predicate in signature.predicates:
            chosen.update(id(shape) for shape in self.by_subject_of.get(predicate, ()))
            chosen.update(id(shape) for shape in self.by_object_of.get(predicate, ()))
        return tuple(shape for shape in self.targeted if id(shape) in chosen)


def _simple_copy(graph: Graph) -> Graph:
    """Copy a graph into rdflib's SimpleMemory store, with the same prefixes.

    pyshacl looks up the shapes graph many times per shape and run. The
    SimpleMemory store returns those lookups faster than the default Memory
    store, which also tracks the named graph of each statement.
    """
    copy = Graph(store="SimpleMemory", bind_namespaces="none")
    for prefix, namespace in graph.namespaces():
        copy.bind(prefix, namespace, override=True, replace=True)
    copy.addN((s, p, o, copy) for s, p, o in graph)
    return copy


def _generated_target_classes(graph: Graph, target: Node) -> list[URIRef] | None:
    """Return the classes of a target built by ``_sparql_target``, or None for another target."""
    select = graph.value(target, SH.select)
    match = _GENERATED_SPARQL_TARGET.fullmatch(str(select)) if select is not None else None
    if match is None:
        return None
    return [URIRef(iri.strip("<>")) for iri in match["classes"].split()]


def _signature(data: Graph) -> _Signature | None:
    """Return the classes and predicates ``data`` uses, or None when it has class axioms.

    pyshacl's ``sh:targetClass`` also selects the instances of the subclasses
    that ``rdfs:subClassOf`` statements in the data graph declare, so a data
    graph with such statements is checked against every targeted shape.
    """
    predicates = frozenset(data.predicates(unique=True))
    if RDFS.subClassOf in predicates:
        return None
    return _Signature(frozenset(data.objects(None, RDF.type, unique=True)), predicates)


def _statement_signature(
    statements: list[tuple[Node, Node, Node]], graph: Graph
) -> _Signature | None:
    """Return ``_signature(graph)`` for a graph of ``statements`` plus skos:inScheme statements.

    Reading the predicates from the list is faster than from rdflib's store,
    which visits every statement of a large document through its context index.
    """
    predicates = {predicate for _, predicate, _ in statements}
    if any(graph.triples((None, SKOS.inScheme, None))):
        predicates.add(SKOS.inScheme)
    if RDFS.subClassOf in predicates:
        return None
    classes = frozenset(graph.objects(None, RDF.type, unique=True))
    return _Signature(classes, frozenset(predicates))


# --- The data graph ---------------------------------------------------------------


class _TermConverter:
    """Convert pyoxigraph terms to rdflib terms, converting each distinct term once."""

    def __init__(self) -> None:
        self._terms: dict[Any, Node] = {}

    def triple(self, triple: ox.Triple) -> tuple[Node, Node, Node]:
        return self.term(triple.subject), self.term(triple.predicate), self.term(triple.object)

    def term(self, term: Any) -> Node:
        converted = self._terms.get(term)
        if converted is None:
            converted = self._terms[term] = _rdflib_term(term)
        return converted

    def iris(self) -> Iterator[Node]:
        """Return every IRI converted so far."""
        return (term for term in self._terms.values() if isinstance(term, URIRef))


def _rdflib_term(term: Any) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


class DataGraph(Graph):
    """An rdflib graph that parses each SPARQL query text once per process.

    pyshacl hands rdflib the text of every SPARQL target and constraint on
    every call, and rdflib would parse it each time, which costs more than
    running the query on a document-sized graph.
    """

    # The classes and predicates of the graph, set by ``Validator.data_graph``.
    signature: _Signature | None = None

    def query(self, query_object: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query_object, str):
            query_object = _prepared_query(query_object)
        return super().query(query_object, *args, **kwargs)


@functools.lru_cache(maxsize=512)
def _prepared_query(text: str) -> Any:
    return prepareQuery(text)


# --- Reading the report -------------------------------------------------------------


def _result_nodes(report: Graph) -> Iterator[Node]:
    return iter(report.subjects(RDF.type, SH.ValidationResult))


def _result_order(result: ValidationResult) -> tuple[int, str, str, str, str, str, str]:
    """Order results by severity, focus, term and value; the rest only breaks ties,
    so that both engines list the same results in the same order."""
    rank = ("Violation", "Warning", "Info").index(result.severity)
    return (
        rank,
        result.focus,
        result.term or "",
        result.value or "",
        result.component,
        result.shape,
        result.message,
    )


@dataclass(frozen=True)
class _Finding:
    """One sh:ValidationResult, with its nodes and their readable names."""

    focus_node: Node
    path: Node | None
    value_node: Node | None
    shape: Node
    component: str
    severity: str
    fix: str
    names: _Names
    focus: str = ""
    term: str | None = None
    value: str = ""


def _describe(finding: _Finding) -> ValidationResult:
    problem = _PROBLEMS.get(finding.component, _unexplained)(finding)
    return ValidationResult(
        severity=finding.severity,
        focus=finding.focus,
        term=finding.term,
        value=finding.value if finding.value_node is not None else None,
        message=f"{problem}; {finding.fix}" if finding.fix else problem,
        shape=finding.names.shape(finding.shape),
        component=finding.component,
    )


def _read_result(node: Node, report: Graph, names: _Names) -> _Finding:
    focus_node = report.value(node, SH.focusNode)
    path = report.value(node, SH.resultPath)
    value_node = report.value(node, SH.value)
    return _Finding(
        focus_node=focus_node,
        path=path,
        value_node=value_node,
        shape=report.value(node, SH.sourceShape),
        component=_component_name(report.value(node, SH.sourceConstraintComponent)),
        severity=SEVERITIES.get(report.value(node, SH.resultSeverity), "Violation"),
        fix=str(report.value(node, SH.resultMessage) or ""),
        names=names,
        focus=names.node(focus_node),
        term=names.path(path, report) if path is not None else names.referring_term(focus_node),
        value=names.value(value_node) if value_node is not None else "",
    )


def _native_finding(result: RawResult, names: _Names) -> _Finding:
    """Read a result of the native engine as ``_read_result`` reads one of pyshacl's."""
    focus_node = rdflib_term(result.focus)
    path = result.result_path
    value_node = rdflib_term(result.value) if result.value is not None else None
    messages = sorted(str(message) for message in result.shape.messages)
    return _Finding(
        focus_node=focus_node,
        path=path,
        value_node=value_node,
        shape=result.shape.node,
        component=_component_name(result.component),
        severity=SEVERITIES.get(result.severity, "Violation"),
        fix=messages[0] if messages else "",
        names=names,
        focus=names.node(focus_node),
        term=names.path(path, names.shapes)
        if path is not None
        else names.referring_term(focus_node),
        value=names.value(value_node) if value_node is not None else "",
    )


def _component_name(component: Node | None) -> str:
    """Shorten sh:MinCountConstraintComponent to MinCount, reg:InverseLink to InverseLink."""
    name = str(component).removeprefix(str(SH)).removeprefix(str(REG))
    return name.removesuffix("ConstraintComponent")


class _GraphData:
    """The lookups that messages make in the data, over the rdflib data graph.

    Where several statements match, the least by string is taken, so that
    both engines name a node the same way.
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def objects(self, node: Node, predicate: Node) -> list[Node]:
        return list(self.graph.objects(node, predicate))

    def subjects(self, predicate: Node, node: Node) -> list[Node]:
        return list(self.graph.subjects(predicate, node))

    def contains(self, subject: Node, predicate: Node, value: Node) -> bool:
        return (subject, predicate, value) in self.graph

    def ctid(self, node: Node) -> Node | None:
        return min(self.objects(node, CETERMS.ctid), key=str, default=None)

    def referrer(self, node: Node) -> tuple[Node, Node] | None:
        """Return one (subject, property) that has ``node`` as its value, if any."""
        pairs = self.graph.subject_predicates(node)
        return min(pairs, key=lambda pair: (str(pair[0]), str(pair[1])), default=None)


class _IndexData(_GraphData):
    """The same lookups over the native engine's ``DocumentIndex``, in rdflib terms."""

    def __init__(self, index: DocumentIndex) -> None:
        self.index = index

    def objects(self, node: Node, predicate: Node) -> list[Node]:
        if isinstance(node, Literal):
            return []
        return [rdflib_term(v) for v in self.index.objects(term_key(node), term_key(predicate))]

    def subjects(self, predicate: Node, node: Node) -> list[Node]:
        return [rdflib_term(s) for s in self.index.subjects(term_key(predicate), term_key(node))]

    def contains(self, subject: Node, predicate: Node, value: Node) -> bool:
        return value in self.objects(subject, predicate)

    def referrer(self, node: Node) -> tuple[Node, Node] | None:
        pairs = [
            (rdflib_term(subject), rdflib_term(predicate))
            for predicate, subjects in self.index.incoming.get(term_key(node), {}).items()
            for subject in subjects
        ]
        return min(pairs, key=lambda pair: (str(pair[0]), str(pair[1])), default=None)


class _Names:
    """Compact, readable names for the nodes a message mentions."""

    def __init__(self, data: _GraphData, validator: Validator) -> None:
        self.data = data
        self.vocabulary = validator.vocabulary
        self.shapes = validator.shapes_graph

    def node(self, node: Node | None) -> str:
        """Name a resource by its CTID if it has one, else by its IRI or blank-node label."""
        ctid = self.data.ctid(node) if node is not None else None
        if ctid is not None:
            return str(ctid)
        if isinstance(node, BNode):
            return f"_:{node}"
        return _compact(self.shapes, node) if isinstance(node, URIRef) else str(node)

    def value(self, value: Node) -> str:
        return str(value) if isinstance(value, Literal) else self.node(value)

    def path(self, path: Node, graph: Graph) -> str:
        """Write a SHACL property path: ``a or b`` for alternatives, ``a/b``, ``^a``.

        A path's blank nodes have the same labels in the shapes graph and in
        pyshacl's report graph, so names of paths are kept with the shapes.
        """
        if isinstance(path, URIRef):
            return _compact(self.shapes, path)
        names = _compacted_names(self.shapes)
        key = ("path", path)
        name = names.get(key)
        if name is None:
            name = names[key] = self._path_name(path, graph)
        return name

    def _path_name(self, path: Node, graph: Graph) -> str:
        alternatives = graph.value(path, SH.alternativePath)
        if alternatives is not None:
            return " or ".join(self.path(p, graph) for p in Collection(graph, alternatives))
        inverse = graph.value(path, SH.inversePath)
        if inverse is not None:
            return "^" + self.path(inverse, graph)
        return "/".join(self.path(p, graph) for p in Collection(graph, path))

    def referring_term(self, node: Node) -> str | None:
        """For a result about a node itself, name the property that points to it."""
        referrer = self.referrer(node)
        return _compact(self.shapes, referrer[1]) if referrer else None

    def referrer(self, node: Node) -> tuple[Node, Node] | None:
        """Return one (subject, property) that has ``node`` as its value, if any."""
        return self.data.referrer(node)

    def classes(self, node: Node) -> str:
        types = sorted(_compact(self.shapes, t) for t in self.data.objects(node, RDF.type))
        return " and ".join(types) or "resource"

    def shape(self, shape: Node) -> str:
        """Name a shape, and an anonymous property shape by the node shape that contains it."""
        names = _compacted_names(self.shapes)
        key = ("shape", shape)
        name = names.get(key)
        if name is None:
            name = names[key] = self._shape_name(shape)
        return name

    def _shape_name(self, shape: Node) -> str:
        if isinstance(shape, BNode):
            shape = self.shapes.value(predicate=SH.property, object=shape) or shape
        return _compact(self.shapes, shape) if isinstance(shape, URIRef) else f"_:{shape}"


# Each function below describes in one clause what a result of one constraint
# component found. The shape's sh:message, appended to it, gives the fix.


def _unexplained(f: _Finding) -> str:
    return f"{f.term or 'the resource'} on {f.focus} breaks the rule {f.names.shape(f.shape)}"


def _missing(f: _Finding) -> str:
    return f"{f.term} is missing on {f.focus}"


def _qualified(f: _Finding) -> str:
    if f.path is not None and f.names.data.objects(f.focus_node, f.path):
        return f"no value of {f.term} on {f.focus} is from the required scheme"
    return _missing(f)


def _too_many(f: _Finding) -> str:
    limit = f.names.shapes.value(f.shape, SH.maxCount)
    return f"{f.focus} has more than {limit} value(s) for {f.term}"


def _pattern(f: _Finding) -> str:
    return f"{f.term} on {f.focus} is {f.value!r}, which does not have the required form"


def _datatype(f: _Finding) -> str:
    if isinstance(f.value_node, Literal) and f.value_node.language is None:
        return f"{f.term} on {f.focus} is the plain string {f.value!r}, with no language tag"
    return f"{f.term} on {f.focus} is {f.value!r}, which has the wrong datatype"


def _node_kind(f: _Finding) -> str:
    if isinstance(f.value_node, Literal):
        return f"{f.term} on {f.focus} is the string {f.value!r}, not a resource"
    return f"{f.term} on {f.focus} is the blank node {f.value}, not an IRI"


def _or(f: _Finding) -> str:
    """Explain reg:ConceptValues copies (with a path) and reg:BlankNodesResolve (without)."""
    if f.path is not None:
        return _not_a_concept(f)
    referrer = f.names.referrer(f.focus_node)
    used_by = f", used as {f.term} on {f.names.node(referrer[0])}," if referrer else ""
    return f"the blank node {f.focus}{used_by} is not described in this document"


def _not_a_concept(f: _Finding) -> str:
    outside = "which is not a concept of the property's scheme"
    if not isinstance(f.value_node, BNode):
        return f"{f.term} on {f.focus} is {f.value}, {outside}"
    targets = f.names.data.objects(f.value_node, CETERMS.targetNode)
    listed = ", ".join(sorted(f.names.value(target) for target in targets))
    if not listed:
        return f"{f.term} on {f.focus} is an alignment object with no ceterms:targetNode"
    return f"{f.term} on {f.focus} aligns to {listed}, {outside}"


def _closed(f: _Finding) -> str:
    vocabulary = f.names.vocabulary
    if f.path not in vocabulary.properties and f.path not in vocabulary.iri_terms:
        return f"{f.term} on {f.focus} is not a term of the CTDL vocabulary"
    domain = sorted(_compact(f.names.shapes, c) for c in vocabulary.domains.get(f.path, ()))
    listed = ", ".join(domain[:5]) + (", ..." if len(domain) > 5 else "")
    classes = f.names.classes(f.focus_node)
    return f"{f.term} is used on {f.focus}, a {classes}, but its domain is {listed or 'not given'}"


def _unknown_type(f: _Finding) -> str:
    typed = sorted(f.names.node(node) for node in f.names.data.subjects(RDF.type, f.focus_node))
    where = ", ".join(typed[:3]) + (", ..." if len(typed) > 3 else "")
    return f"{f.focus}, the @type of {where}, is not a class of the CTDL vocabulary"


def _one_way_child(f: _Finding) -> str:
    """Explain reg:ChildLinks, the only shape with sh:equals."""
    parent, child = f.focus, f.value
    if f.names.data.contains(f.focus_node, CEASN.hasChild, f.value_node):
        return f"{parent} lists {child} in ceasn:hasChild, but {child} is not ceasn:isChildOf it"
    return f"{child} states ceasn:isChildOf {parent}, but {parent} lacks it in ceasn:hasChild"


def _one_way_link(f: _Finding) -> str:
    inverse = f.names.shapes.value(f.shape, REG.inverse)
    back = _compact(f.names.shapes, inverse) if inverse is not None else "the inverse link"
    return f"{f.focus} states {f.term} {f.value}, but {f.value} does not state {back} {f.focus}"


_PROBLEMS = {
    "MinCount": _missing,
    "QualifiedMinCount": _qualified,
    "MaxCount": _too_many,
    "Pattern": _pattern,
    "Datatype": _datatype,
    "NodeKind": _node_kind,
    "Or": _or,
    "Closed": _closed,
    "In": _unknown_type,
    "Equals": _one_way_child,
    "InverseLink": _one_way_link,
}


def _compact(graph: Graph, iri: Node) -> str:
    """Return ``prefix:local`` for an IRI in a bound namespace, else the full IRI.

    The graph's namespaces are read once per graph and each IRI is compacted
    once, because messages name the same terms many times.
    """
    compacted = _compacted_names(graph)
    text = str(iri)
    name = compacted.get(text)
    if name is None:
        name = compacted[text] = _compact_text(_namespaces(graph), text)
    return name


def _compact_text(namespaces: list[tuple[str, str]], text: str) -> str:
    best = ""
    best_prefix = ""
    for prefix, namespace in namespaces:
        if text.startswith(namespace) and len(namespace) > len(best):
            best, best_prefix = namespace, prefix
    local = text[len(best) :]
    if best and local and all(c.isalnum() or c in "_-." for c in local):
        return f"{best_prefix}:{local}"
    return text


# Per graph: its namespaces, and the names ``_compact`` and ``_Names`` have
# written for its IRIs, shapes and paths. The graphs are shapes graphs, which
# do not change once expanded.
_COMPACT_CACHE: weakref.WeakKeyDictionary[Graph, tuple[list, dict]] = weakref.WeakKeyDictionary()


def _namespaces(graph: Graph) -> list[tuple[str, str]]:
    return _compact_cache(graph)[0]


def _compacted_names(graph: Graph) -> dict[Any, str]:
    return _compact_cache(graph)[1]


def _compact_cache(graph: Graph) -> tuple[list, dict]:
    cached = _COMPACT_CACHE.get(graph)
    if cached is None:
        namespaces = [(prefix, str(namespace)) for prefix, namespace in graph.namespaces()]
        cached = _COMPACT_CACHE[graph] = (namespaces, {})
    return cached
