"""Evaluate the registry's expanded SHACL shapes in plain Python, over a document's triples.

``NativeShapes`` compiles a shapes graph once into Python checks. ``validate``
then runs them on a ``DocumentIndex``: dictionaries of one document's
triples by subject and predicate, with the reverse built only when a shape
needs it. No rdflib graph of the data is built and pyshacl does not
run, which is what made validation slow (rdflib's stores and pyshacl's
per-call set-up of every constraint, see docs/benchmarks.md).

The results are meant to equal those of pyshacl 0.40 for the same data graph,
run with ``inference="none"``, ``advanced=True`` and ``allow_warnings=True``.
That means the same focus nodes, paths, values, source shapes, severities and
messages. Where SHACL leaves room, the engine follows pyshacl's choices: for
instance, ``rdf:type rdfs:Resource`` never breaks sh:closed. The tests in
``tests/test_validation_engine*.py`` compare both on real documents.

Supported (SHACL 1.0, W3C Recommendation 2017, sections 2 to 4, and SHACL
Advanced Features SPARQL targets): the targets ``sh:targetClass``,
``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, implicit
class targets and ``sh:target`` with a ``sh:SPARQLTarget``; predicate,
inverse, sequence, alternative and ``*``/``+``/``?`` paths; the components
listed in ``_CHECK_BUILDERS``; and the SPARQL-based component
``reg:InverseLink`` when its query is the one in ``shapes/generic.ttl``.
Every shape whose results are reported needs an ``sh:message``. For
anything else ``NativeShapes`` raises ``UnsupportedShapes``, so a shapes
file that needs more is never checked with part of its rules missing.
``registry.shacl_data`` holds the document side: its terms and indexes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

from registry.errors import RegistryError
from registry.shacl_data import (
    NO_PROPERTIES,
    NO_VALUES,
    RDF_TYPE,
    RDFS_RESOURCE,
    SUBCLASS_OF,
    XSD_STRING,
    DocumentIndex,
    Term,
    is_blank,
    is_iri,
    is_literal,
    literal_parts,
    rdflib_term,
    term_key,
)

REG_INVERSE_LINK = URIRef("urn:ctdl-registry:shapes#InverseLink")

# The IRIs of the constraint components in results, read from rdflib's namespace once.
CLASS = SH.ClassConstraintComponent
CLOSED = SH.ClosedConstraintComponent
DATATYPE = SH.DatatypeConstraintComponent
EQUALS = SH.EqualsConstraintComponent
HAS_VALUE = SH.HasValueConstraintComponent
IN = SH.InConstraintComponent
MAX_COUNT = SH.MaxCountConstraintComponent
MIN_COUNT = SH.MinCountConstraintComponent
NODE_KIND = SH.NodeKindConstraintComponent
OR = SH.OrConstraintComponent
PATTERN = SH.PatternConstraintComponent
QUALIFIED_MAX_COUNT = SH.QualifiedMaxCountConstraintComponent
QUALIFIED_MIN_COUNT = SH.QualifiedMinCountConstraintComponent
REG_INVERSE = URIRef("urn:ctdl-registry:shapes#inverse")

# How many document signatures (the classes and predicates a document uses)
# keep their list of shapes to run. Documents of one kind share a few.
SIGNATURE_CACHE_SIZE = 256

# pyshacl run with allow_warnings=True counts a shape of these severities as
# conforming, also inside sh:or and sh:qualifiedValueShape.
ALLOWED_SEVERITIES = frozenset({SH.Warning, SH.Info})

TARGET_PREDICATES = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)

# Shape properties that are not constraint parameters.
NON_PARAMETERS = frozenset(
    {
        SH.path,
        SH.severity,
        SH.message,
        SH.deactivated,
        SH.name,
        SH.description,
        SH.order,
        SH.group,
        SH.defaultValue,
        SH.target,
        SH.ignoredProperties,
        SH.flags,
        SH.qualifiedMinCount,
        SH.qualifiedMaxCount,
        SH.qualifiedValueShapesDisjoint,
        SH.declare,
        SH.prefixes,
        *TARGET_PREDICATES,
    }
)

# The query of reg:InverseLink's property validator, without whitespace. The
# Python check ``_inverse_link`` replaces this query and no other.
INVERSE_LINK_QUERY = re.sub(
    r"\s+",
    "",
    """
    SELECT DISTINCT $this ?value WHERE {
        $this $PATH ?value .
        FILTER isIRI(?value)
        FILTER EXISTS { ?value ?property ?any . FILTER (?property != rdf:type) }
        FILTER NOT EXISTS { ?value $inverse $this }
    }
    """,
)

# The form of the SPARQL targets registry.validation builds for its
# reg:target...InstancesOf shorthands; other SPARQL targets run on Oxigraph.
GENERATED_SPARQL_TARGET = re.compile(
    r"SELECT \?this WHERE \{ VALUES \?class \{ (?P<classes>(?:<[^<>\s]+> ?)+)\} "
    r"\?this a \?class \. FILTER (?P<test>isIRI|isBlank)\(\?this\) \}"
)


class UnsupportedShapes(RegistryError):
    """The shapes use a SHACL feature that ``NativeShapes`` does not evaluate."""

    slug = "unsupported-shapes"
    title = "Unsupported SHACL shapes"


# --- Results ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ShapeInfo:
    """What a result takes from the shape that produced it."""

    node: Node
    path: Node | None
    severity: URIRef
    messages: tuple[Literal, ...]


@dataclass(frozen=True, eq=False)
class RawResult:
    """One SHACL validation result, with N-Triples terms for the data nodes."""

    shape: ShapeInfo
    component: URIRef
    focus: Term
    value: Term | None = None
    path: Node | None = None  # the result path when it is not the shape's own (sh:closed)

    @property
    def result_path(self) -> Node | None:
        return self.path if self.path is not None else self.shape.path

    @property
    def severity(self) -> URIRef:
        return self.shape.severity


# --- Paths ----------------------------------------------------------------------------


class _Path:
    def values(self, index: DocumentIndex, node: Term) -> set[Term]:
        raise NotImplementedError


@dataclass
class _PredicatePath(_Path):
    predicate: Term

    def values(self, index: DocumentIndex, node: Term) -> set[Term]:
        return index.objects(node, self.predicate)


@dataclass
class _InversePath(_Path):
    inner: _Path

    def values(self, index: DocumentIndex, node: Term) -> set[Term]:
        if isinstance(self.inner, _PredicatePath):
            return index.subjects(self.inner.predicate, node)
        # Only subjects start a path of one step or more. ``node`` itself
        # can also reach itself, by a path of length zero.
        candidates = set(index.out) | {node}
        return {c for c in candidates if node in self.inner.values(index, c)}


@dataclass
class _SequencePath(_Path):
    steps: list[_Path]

    def values(self, index: DocumentIndex, node: Term) -> set[Term]:
        current = {node}
        for step in self.steps:
            current = {value for n in current for value in step.values(index, n)}
        return current


@dataclass
class _AlternativePath(_Path):
    choices: list[_Path]

    def values(self, index: DocumentIndex, node: Term) -> set[Term]:
        found: set[Term] = set()
        for choice in self.choices:
            found |= choice.values(index, node)
        return found


@dataclass
class _RepeatPath(_Path):
    """``sh:zeroOrMorePath``, ``sh:oneOrMorePath`` or ``sh:zeroOrOnePath``."""

    inner: _Path
    include_start: bool
    repeat: bool

    def values(self, index: DocumentIndex, node: Term) -> set[Term]:
        found = {node} if self.include_start else set()
        frontier = {node}
        while frontier:
            step = {v for n in frontier for v in self.inner.values(index, n)}
            frontier = step - found
            found |= step
            if not self.repeat:
                break
        return found


# --- Shapes and checks ------------------------------------------------------------------


# The value nodes of each focus node a shape checks, in one list: the checks
# loop over it themselves, which saves a call per focus node and check.
Pairs = list[tuple[Term, set[Term]]]


@dataclass(eq=False)
class CompiledShape:
    """One shape: where its value nodes come from and the checks on them."""

    info: ShapeInfo
    path: _Path | None
    deactivated: bool
    checks: list[Any] = field(default_factory=list)
    custom_checks: list[Any] = field(default_factory=list)

    def evaluate(
        self, index: DocumentIndex, focus_nodes: Iterable[Term], results: list[RawResult]
    ) -> bool:
        """Append the results of checking the focus nodes; return whether they all conform.

        Conformance follows pyshacl with allow_warnings: a result of a core
        component counts only if it and the shape are Violations (or another
        severity that is not Warning or Info), and any result of a SPARQL-based
        component counts. It decides sh:or and sh:qualifiedValueShape,
        and the report's sh:conforms.
        """
        if self.deactivated:
            return True
        pairs = self.value_nodes(index, focus_nodes)
        strict = self.info.severity not in ALLOWED_SEVERITIES
        conforming = True
        for check in self.checks:
            start = len(results)
            check(index, self, pairs, results)
            if strict and len(results) > start:
                added = results[start:]
                conforming = conforming and all(r.severity in ALLOWED_SEVERITIES for r in added)
        for check in self.custom_checks:
            start = len(results)
            check(index, self, pairs, results)
            conforming = conforming and len(results) == start
        return conforming

    def value_nodes(self, index: DocumentIndex, focus_nodes: Iterable[Term]) -> Pairs:
        """Pair each focus node with its value nodes (SHACL section 2.3.2)."""
        path = self.path
        if path is None:
            return [(focus, {focus}) for focus in focus_nodes]
        if isinstance(path, _PredicatePath):
            out = index.out
            predicate = path.predicate
            return [
                (focus, out.get(focus, NO_PROPERTIES).get(predicate, NO_VALUES))
                for focus in focus_nodes
            ]
        return [(focus, path.values(index, focus)) for focus in focus_nodes]

    def conforms(self, index: DocumentIndex, node: Term) -> bool:
        """Tell whether ``node`` conforms to this shape, without keeping the results."""
        return self.evaluate(index, (node,), [])

    def result(
        self, component: URIRef, focus: Term, value: Term | None = None, path: Node | None = None
    ) -> RawResult:
        return RawResult(self.info, component, focus, value, path)


Check = Callable[[DocumentIndex, CompiledShape, Pairs, list], None]


def _min_count(limit: int) -> Check:
    def check(index, shape, pairs, results):
        for focus, values in pairs:
            if len(values) < limit:
                results.append(shape.result(MIN_COUNT, focus))

    return check


def _max_count(limit: int) -> Check:
    def check(index, shape, pairs, results):
        for focus, values in pairs:
            if len(values) > limit:
                results.append(shape.result(MAX_COUNT, focus))

    return check


# The first character of the terms of each node kind, in N-Triples syntax.
_NODE_KINDS = {
    SH.IRI: "<",
    SH.BlankNode: "_",
    SH.Literal: '"',
    SH.BlankNodeOrIRI: "_<",
    SH.BlankNodeOrLiteral: '_"',
    SH.IRIOrLiteral: '<"',
}


def _node_kind(kind: Node) -> Check:
    allowed = _NODE_KINDS.get(kind)
    if allowed is None:
        raise UnsupportedShapes(f"sh:nodeKind {kind} is not a SHACL node kind; fix the shapes")

    def check(index, shape, pairs, results):
        for focus, values in pairs:
            for value in values:
                if value[0] not in allowed:
                    results.append(shape.result(NODE_KIND, focus, value))

    return check


def _datatype(datatype: Node) -> Check:
    """``sh:datatype``: only rdf:langString and xsd:string, the ones that need no
    value parsing, are supported."""
    if datatype == RDF.langString:
        accepts: Callable[[str], bool] = lambda suffix: suffix.startswith("@")  # noqa: E731
    elif datatype == XSD.string:
        accepts = lambda suffix: suffix in ("", f"^^<{XSD_STRING}>")  # noqa: E731
    else:
        raise UnsupportedShapes(f"sh:datatype {datatype} is not supported by the native engine")

    def check(index, shape, pairs, results):
        for focus, values in pairs:
            for value in values:
                # A literal's language tag or datatype follows its closing quote.
                if not (is_literal(value) and accepts(value[value.rindex('"') + 1 :])):
                    results.append(shape.result(DATATYPE, focus, value))

    return check


def _pattern(pattern: str, flags: str) -> Check:
    """``sh:pattern``: like pyshacl, only the i and m flags are read."""
    options = (re.IGNORECASE if "i" in flags.lower() else 0) | (
        re.MULTILINE if "m" in flags.lower() else 0
    )
    regex = re.compile(pattern, options)

    def check(index, shape, pairs, results):
        for focus, values in pairs:
            for value in values:
                if is_blank(value) or not regex.search(_lexical(value)):
                    results.append(shape.result(PATTERN, focus, value))

    return check


def _has_value(expected: Term) -> Check:
    def check(index, shape, pairs, results):
        for focus, values in pairs:
            if expected not in values:
                results.append(shape.result(HAS_VALUE, focus))

    return check


def _in(members: frozenset) -> Check:
    def check(index, shape, pairs, results):
        for focus, values in pairs:
            for value in values:
                if value not in members:
                    results.append(shape.result(IN, focus, value))

    return check


def _class(cls: Term) -> Check:
    def check(index, shape, pairs, results):
        instances = index.instances(cls)
        for focus, values in pairs:
            for value in values:
                if value not in instances:
                    results.append(shape.result(CLASS, focus, value))

    return check


def _or(members: list[CompiledShape]) -> Check:
    def check(index, shape, pairs, results):
        for focus, values in pairs:
            for value in values:
                if not any(member.conforms(index, value) for member in members):
                    results.append(shape.result(OR, focus, value))

    return check


def _property(member: CompiledShape) -> Check:
    """``sh:property``: the property shape's own results, for each value node as focus."""

    def check(index, shape, pairs, results):
        member.evaluate(index, [value for _, values in pairs for value in values], results)

    check.property_shape = member  # type: ignore[attr-defined]
    return check


def _qualified(member: CompiledShape, minimum: int | None, maximum: int | None) -> Check:
    def check(index, shape, pairs, results):
        for focus, values in pairs:
            conforming = sum(1 for value in values if member.conforms(index, value))
            if maximum is not None and conforming > maximum:
                results.append(shape.result(QUALIFIED_MAX_COUNT, focus))
            if minimum is not None and conforming < minimum:
                results.append(shape.result(QUALIFIED_MIN_COUNT, focus))

    return check


def _closed(allowed: frozenset) -> Check:
    """``sh:closed``: one result per statement of the value node with another predicate.

    ``rdf:type rdfs:Resource`` is always allowed, as in pyshacl.
    """

    def check(index, shape, pairs, results):
        out = index.out
        for focus, values in pairs:
            for node in values:
                for predicate, objects in out.get(node, NO_PROPERTIES).items():
                    if predicate not in allowed:
                        _report_closed(shape, focus, predicate, objects, results)

    return check


def _report_closed(
    shape: CompiledShape, focus: Term, predicate: Term, objects: set[Term], results: list
) -> None:
    path = rdflib_term(predicate)
    for value in objects:
        if predicate == RDF_TYPE and value == RDFS_RESOURCE:
            continue
        results.append(shape.result(CLOSED, focus, value, path))


def _equals(predicate: Term) -> Check:
    def check(index, shape, pairs, results):
        for focus, values in pairs:
            for value in values ^ index.objects(focus, predicate):
                results.append(shape.result(EQUALS, focus, value))

    return check


def _inverse_link(inverse: Term) -> Check:
    """reg:InverseLink: each IRI value described by more than its rdf:type links back
    to the focus node with the ``inverse`` property (the query in shapes/generic.ttl)."""

    def check(index, shape, pairs, results):
        out = index.out
        for focus, values in pairs:
            for value in values:
                properties = out.get(value)
                if (
                    properties
                    and focus not in properties.get(inverse, NO_VALUES)
                    and is_iri(value)
                    and any(p != RDF_TYPE for p in properties)
                ):
                    results.append(shape.result(REG_INVERSE_LINK, focus, value))

    return check


def _lexical(value: Term) -> str:
    """Return the string pyshacl matches sh:pattern against: an IRI, or a literal's
    lexical form as rdflib writes it (numbers and dates in canonical form)."""
    if is_iri(value):
        return value[1:-1]
    lexical, language, datatype = literal_parts(value)
    if language or datatype == XSD_STRING:
        return lexical
    return str(rdflib_term(value))


# --- Compiling the shapes graph ------------------------------------------------------------


class NativeShapes:
    """A shapes graph compiled into Python checks, with its targeted shapes indexed
    by the classes and predicates that can select their focus nodes."""

    def __init__(self, shapes_graph: Graph) -> None:
        self.graph = shapes_graph
        # RDF lists read from dictionaries: through rdflib, the sh:ignoredProperties
        # lists of the sh:closed shapes took most of the compile time.
        self._first = dict(shapes_graph.subject_objects(RDF.first))
        self._rest = dict(shapes_graph.subject_objects(RDF.rest))
        self._components = _custom_components(shapes_graph)
        self._compiled: dict[Node, CompiledShape] = {}
        # The targeted shapes, in a fixed order, and the targets of each.
        self._targeted: list[tuple[CompiledShape, _Targets]] = []
        # The positions in _targeted of the shapes each class or predicate can select for.
        self._by_class: dict[Term, list[int]] = {}
        self._by_subject_of: dict[Term, list[int]] = {}
        self._by_object_of: dict[Term, list[int]] = {}
        self._always: list[int] = []
        for node in sorted(self._targeted_nodes(), key=str):
            self._add_targeted(node)
        self._select = functools.lru_cache(maxsize=SIGNATURE_CACHE_SIZE)(self._select_uncached)

    def validate(self, index: DocumentIndex) -> tuple[list[RawResult], bool]:
        """Return every result for the document in ``index``, and whether it conforms
        as pyshacl's sh:conforms states it (see ``CompiledShape.evaluate``)."""
        results: list[RawResult] = []
        conforms = True
        predicates = frozenset(index.by_predicate)
        if SUBCLASS_OF in predicates:
            chosen = range(len(self._targeted))  # the document declares subclasses: try all
        else:
            chosen = self._select(frozenset(index.typed), predicates)
        for position in chosen:
            shape, targets = self._targeted[position]
            focus_nodes = targets.focus_nodes(index)
            if focus_nodes:
                conforms = shape.evaluate(index, focus_nodes, results) and conforms
        return results, conforms

    def _select_uncached(self, classes: frozenset, predicates: frozenset) -> tuple[int, ...]:
        """Return the positions of the shapes whose targets can select a node of a
        document with these classes and predicates."""
        chosen = set(self._always)
        for cls in classes:
            chosen.update(self._by_class.get(cls, ()))
        for predicate in predicates:
            chosen.update(self._by_subject_of.get(predicate, ()))
            chosen.update(self._by_object_of.get(predicate, ()))
        return tuple(sorted(chosen))

    def _targeted_nodes(self) -> set[Node]:
        graph = self.graph
        found = {s for p in (*TARGET_PREDICATES, SH.target) for s in graph.subjects(p, None)}
        shapes = set(graph.subjects(RDF.type, SH.NodeShape)) | set(
            graph.subjects(RDF.type, SH.PropertyShape)
        )
        for shape in shapes:
            if _is_class(graph, shape):
                found.add(shape)
        return found

    def _add_targeted(self, node: Node) -> None:
        targets = _Targets.read(self.graph, node)
        position = len(self._targeted)
        shape = self.shape(node)
        _require_messages(shape, set())
        self._targeted.append((shape, targets))
        if targets.runs_always:
            self._always.append(position)
            return
        for cls in targets.trigger_classes:
            self._by_class.setdefault(cls, []).append(position)
        for predicate in targets.subjects_of:
            self._by_subject_of.setdefault(predicate, []).append(position)
        for predicate in targets.objects_of:
            self._by_object_of.setdefault(predicate, []).append(position)

    def shape(self, node: Node) -> CompiledShape:
        """Return the compiled shape for ``node``, compiling it on first use."""
        compiled = self._compiled.get(node)
        if compiled is not None:
            return compiled
        graph = self.graph
        path_node = graph.value(node, SH.path)
        info = ShapeInfo(
            node=node,
            path=path_node,
            severity=graph.value(node, SH.severity) or SH.Violation,
            messages=tuple(m for m in graph.objects(node, SH.message) if isinstance(m, Literal)),
        )
        deactivated = graph.value(node, SH.deactivated)
        compiled = CompiledShape(
            info=info,
            path=_compile_path(graph, path_node) if path_node is not None else None,
            deactivated=bool(deactivated is not None and deactivated.toPython() is True),
        )
        self._compiled[node] = compiled  # before the checks, so that shapes may refer back
        compiled.checks = self._checks(node, compiled)
        compiled.custom_checks = self._custom_checks(node, compiled)
        return compiled

    def _checks(self, node: Node, shape: CompiledShape) -> list[Check]:
        graph = self.graph
        checks: list[Check] = []
        for parameter in sorted(set(graph.predicates(node, None)), key=str):
            if parameter in NON_PARAMETERS or not str(parameter).startswith(str(SH)):
                continue
            builder = _CHECK_BUILDERS.get(parameter)
            if builder is None:
                raise UnsupportedShapes(
                    f"the shape {node} uses {parameter}, which the native SHACL engine does "
                    "not evaluate; add it to registry/shacl_engine.py or use the pyshacl engine"
                )
            checks.extend(builder(self, node, shape))
        return checks

    def _custom_checks(self, node: Node, shape: CompiledShape) -> list[Check]:
        """Return the checks of SPARQL-based constraint components whose mandatory
        parameters the shape all sets (SHACL section 6.2)."""
        graph = self.graph
        return [
            self._inverse_link_check(component, node, shape)
            for component, mandatory in self._components
            if all(graph.value(node, path) is not None for path in mandatory)
        ]

    def _inverse_link_check(self, component: Node, node: Node, shape: CompiledShape) -> Check:
        graph = self.graph
        validator = graph.value(component, SH.propertyValidator)
        query = str(graph.value(validator, SH.select)) if validator is not None else ""
        supported = (
            component == REG_INVERSE_LINK
            and re.sub(r"\s+", "", query) == INVERSE_LINK_QUERY
            and shape.path is not None
            and graph.value(component, SH.nodeValidator) is None
            and graph.value(component, SH.validator) is None
            and graph.value(component, SH.message) is None
            and graph.value(validator, SH.message) is None
        )
        if not supported:
            raise UnsupportedShapes(
                f"the SPARQL-based constraint component {component} used by {node} has no "
                "native version; write one in registry/shacl_engine.py or use the pyshacl engine"
            )
        return _inverse_link(term_key(graph.value(node, REG_INVERSE)))

    def list_items(self, head: Node) -> list[Node]:
        """Return the members of the RDF list that starts at ``head``."""
        items = []
        seen = set()
        while head in self._first and head not in seen:
            seen.add(head)
            items.append(self._first[head])
            head = self._rest.get(head, RDF.nil)
        return items


def _require_messages(shape: CompiledShape, seen: set[int]) -> None:
    """Raise if a shape whose results are reported has no sh:message.

    pyshacl writes a message of its own for such a result, which the native
    engine does not imitate. Shapes reached through sh:property report too.
    """
    if id(shape) in seen:
        return
    seen.add(id(shape))
    own_checks = [c for c in shape.checks if not hasattr(c, "property_shape")]
    if (own_checks or shape.custom_checks) and not shape.info.messages:
        raise UnsupportedShapes(
            f"the shape {shape.info.node} has no sh:message; add one, or use the pyshacl engine"
        )
    for check in shape.checks:
        member = getattr(check, "property_shape", None)
        if member is not None:
            _require_messages(member, seen)


def _custom_components(graph: Graph) -> list[tuple[Node, list[Node]]]:
    """Return each SPARQL-based constraint component with the paths of its mandatory parameters."""
    found = []
    for component in sorted(set(graph.subjects(RDF.type, SH.ConstraintComponent)), key=str):
        mandatory = [
            graph.value(parameter, SH.path)
            for parameter in graph.objects(component, SH.parameter)
            if graph.value(parameter, SH.optional) != Literal(True)
        ]
        found.append((component, mandatory))
    return found


def _is_class(graph: Graph, node: Node) -> bool:
    return (node, RDF.type, RDFS.Class) in graph or (node, RDF.type, OWL.Class) in graph


def _build_min_count(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    return [_min_count(int(v)) for v in engine.graph.objects(node, SH.minCount)]


def _build_max_count(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    return [_max_count(int(v)) for v in engine.graph.objects(node, SH.maxCount)]


def _build_node_kind(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    return [_node_kind(v) for v in engine.graph.objects(node, SH.nodeKind)]


def _build_datatype(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    return [_datatype(v) for v in engine.graph.objects(node, SH.datatype)]


def _build_pattern(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    flags = engine.graph.value(node, SH.flags)
    return [_pattern(str(v), str(flags or "")) for v in engine.graph.objects(node, SH.pattern)]


def _build_has_value(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    return [_has_value(term_key(v)) for v in engine.graph.objects(node, SH.hasValue)]


def _build_in(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    return [
        _in(frozenset(term_key(item) for item in engine.list_items(head)))
        for head in engine.graph.objects(node, SH["in"])
    ]


def _build_class(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    return [_class(term_key(v)) for v in engine.graph.objects(node, SH["class"])]


def _build_or(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    return [
        _or([engine.shape(member) for member in engine.list_items(head)])
        for head in engine.graph.objects(node, SH["or"])
    ]


def _build_property(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    return [_property(engine.shape(member)) for member in engine.graph.objects(node, SH.property)]


def _build_qualified(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    graph = engine.graph
    if shape.path is None:
        return []  # pyshacl ignores sh:qualifiedValueShape on a node shape
    disjoint = graph.value(node, SH.qualifiedValueShapesDisjoint)
    if disjoint is not None and disjoint.toPython() is True:
        raise UnsupportedShapes(f"{node} uses sh:qualifiedValueShapesDisjoint true; not supported")
    minimum = graph.value(node, SH.qualifiedMinCount)
    maximum = graph.value(node, SH.qualifiedMaxCount)
    return [
        _qualified(
            engine.shape(member),
            int(minimum) if minimum is not None else None,
            int(maximum) if maximum is not None else None,
        )
        for member in graph.objects(node, SH.qualifiedValueShape)
    ]


def _build_closed(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    graph = engine.graph
    closed = graph.value(node, SH.closed)
    if closed is None or closed.toPython() is not True:
        return []
    ignored = [
        item
        for head in graph.objects(node, SH.ignoredProperties)
        for item in engine.list_items(head)
    ]
    paths = [graph.value(member, SH.path) for member in graph.objects(node, SH.property)]
    allowed = {term_key(p) for p in (*ignored, *paths) if isinstance(p, URIRef)}
    return [_closed(frozenset(allowed))]


def _build_equals(engine: NativeShapes, node: Node, shape: CompiledShape) -> list[Check]:
    return [_equals(term_key(v)) for v in engine.graph.objects(node, SH.equals)]


_CHECK_BUILDERS: dict[Node, Callable[[NativeShapes, Node, CompiledShape], list[Check]]] = {
    SH.minCount: _build_min_count,
    SH.maxCount: _build_max_count,
    SH.nodeKind: _build_node_kind,
    SH.datatype: _build_datatype,
    SH.pattern: _build_pattern,
    SH.hasValue: _build_has_value,
    SH["in"]: _build_in,
    SH["class"]: _build_class,
    SH["or"]: _build_or,
    SH.property: _build_property,
    SH.qualifiedValueShape: _build_qualified,
    SH.closed: _build_closed,
    SH.equals: _build_equals,
}


def _compile_path(graph: Graph, node: Node) -> _Path:
    """Compile a SHACL property path (SHACL section 2.3.1)."""
    if isinstance(node, URIRef):
        return _PredicatePath(term_key(node))
    inverse = graph.value(node, SH.inversePath)
    if inverse is not None:
        return _InversePath(_compile_path(graph, inverse))
    alternatives = graph.value(node, SH.alternativePath)
    if alternatives is not None:
        return _AlternativePath([_compile_path(graph, p) for p in Collection(graph, alternatives)])
    repeats = {
        SH.zeroOrMorePath: (True, True),
        SH.oneOrMorePath: (False, True),
        SH.zeroOrOnePath: (True, False),
    }
    for predicate, (include_start, repeat) in repeats.items():
        inner = graph.value(node, predicate)
        if inner is not None:
            return _RepeatPath(_compile_path(graph, inner), include_start, repeat)
    if graph.value(node, RDF.first) is not None:
        return _SequencePath([_compile_path(graph, p) for p in Collection(graph, node)])
    raise UnsupportedShapes(f"{node} is not a SHACL property path; fix the shapes")


# --- Targets -------------------------------------------------------------------------------


@dataclass
class _Targets:
    """The targets of one shape (SHACL section 2.1.3, SHACL-AF section 5.1)."""

    nodes: list[Term] = field(default_factory=list)
    classes: list[Term] = field(default_factory=list)
    subjects_of: frozenset[Term] = frozenset()
    objects_of: frozenset[Term] = frozenset()
    # The classes of each generated SPARQL target, and the first character of
    # the focus nodes it selects: "<" for IRIs, "_" for blank nodes.
    generated: list[tuple[frozenset[Term], str]] = field(default_factory=list)
    sparql: list[str] = field(default_factory=list)

    @property
    def runs_always(self) -> bool:
        return bool(self.nodes or self.sparql)

    @classmethod
    def read(cls, graph: Graph, node: Node) -> _Targets:
        targets = cls(
            nodes=[term_key(v) for v in graph.objects(node, SH.targetNode)],
            classes=[term_key(v) for v in graph.objects(node, SH.targetClass)],
            subjects_of=frozenset(term_key(v) for v in graph.objects(node, SH.targetSubjectsOf)),
            objects_of=frozenset(term_key(v) for v in graph.objects(node, SH.targetObjectsOf)),
        )
        if _is_class(graph, node):
            targets.classes.append(term_key(node))
        for target in graph.objects(node, SH.target):
            targets._add_advanced(graph, node, target)
        return targets

    def _add_advanced(self, graph: Graph, shape: Node, target: Node) -> None:
        if graph.value(target, RDF.type) != SH.SPARQLTarget:
            raise UnsupportedShapes(f"{shape} has a target that is not an sh:SPARQLTarget")
        select = str(graph.value(target, SH.select))
        match = GENERATED_SPARQL_TARGET.fullmatch(select)
        if match is None:
            self.sparql.append(_with_prefixes(graph, target, select))
            return
        classes = frozenset(match["classes"].split())
        first_character = "<" if match["test"] == "isIRI" else "_"
        self.generated.append((classes, first_character))

    @property
    def trigger_classes(self) -> list[Term]:
        """Return the classes whose instances these targets can select."""
        return [*self.classes, *(cls for classes, _ in self.generated for cls in classes)]

    def focus_nodes(self, index: DocumentIndex) -> set[Term]:
        found: set[Term] = set(self.nodes)
        for cls in self.classes:
            found |= index.instances(cls)
        by_predicate = index.by_predicate
        for predicate in _present(self.subjects_of, by_predicate):
            found.update(by_predicate[predicate])
        for predicate in _present(self.objects_of, by_predicate):
            for values in by_predicate[predicate].values():
                found |= values
        for classes, first_character in self.generated:
            for cls, subjects in index.typed.items():
                if cls in classes:
                    found.update(n for n in subjects if n[0] == first_character)
        for select in self.sparql:
            found |= _sparql_focus_nodes(index, select)
        return found


def _present(targets: frozenset[Term], used: dict[Term, Any]) -> list[Term]:
    """Return the members of ``targets`` that are keys of ``used``, looping over the smaller."""
    if len(targets) <= len(used):
        return [key for key in targets if key in used]
    return [key for key in used if key in targets]


def _with_prefixes(graph: Graph, target: Node, select: str) -> str:
    """Prepend the PREFIX declarations of the target's sh:prefixes (SHACL section 5.2.1)."""
    lines = []
    for ontology in graph.objects(target, SH.prefixes):
        for declaration in graph.objects(ontology, SH.declare):
            prefix = graph.value(declaration, SH.prefix)
            namespace = graph.value(declaration, SH.namespace)
            lines.append(f"PREFIX {prefix}: <{namespace}>")
    return "\n".join([*lines, select])


def _sparql_focus_nodes(index: DocumentIndex, select: str) -> set[Term]:
    """Run a SPARQL target on an in-memory Oxigraph store holding the document."""
    solutions = index.to_store().query(select)
    return {str(solution["this"]) for solution in solutions if solution["this"] is not None}


# --- The report graph ------------------------------------------------------------------------


def report_graph(
    results: list[RawResult], shapes_graph: Graph, index: DocumentIndex, conforms: bool
) -> Graph:
    """Build the sh:ValidationReport graph (SHACL section 3.6) that pyshacl would return.

    As pyshacl does, blank nodes of the shapes graph (anonymous shapes, paths)
    and of the data (focus nodes, values) are copied into the report with their
    labels and their statements.
    """
    graph = Graph(bind_namespaces="core")
    for prefix, namespace in shapes_graph.namespaces():
        graph.bind(prefix, namespace)
    report = BNode()
    graph.add((report, RDF.type, SH.ValidationReport))
    graph.add((report, SH.conforms, Literal(conforms)))
    for result in results:
        node = BNode()
        graph.add((report, SH.result, node))
        _add_result(graph, node, result, shapes_graph, index)
    return graph


def _add_result(
    graph: Graph, node: BNode, result: RawResult, shapes_graph: Graph, index: DocumentIndex
) -> None:
    shape = result.shape
    graph.add((node, RDF.type, SH.ValidationResult))
    graph.add((node, SH.sourceConstraintComponent, result.component))
    graph.add((node, SH.sourceShape, _copy_shape_node(shapes_graph, shape.node, graph)))
    graph.add((node, SH.resultSeverity, shape.severity))
    graph.add((node, SH.focusNode, _copy_data_node(index, result.focus, graph)))
    if result.value is not None:
        graph.add((node, SH.value, _copy_data_node(index, result.value, graph)))
    path = result.result_path
    if path is not None:
        graph.add((node, SH.resultPath, _copy_shape_node(shapes_graph, path, graph)))
    for message in shape.messages:
        graph.add((node, SH.resultMessage, message))


def _copy_shape_node(source: Graph, node: Node, target: Graph, depth: int = 0) -> Node:
    if isinstance(node, BNode) and depth < 10:
        for predicate, value in source.predicate_objects(node):
            target.add((node, predicate, _copy_shape_node(source, value, target, depth + 1)))
    return node


def _copy_data_node(index: DocumentIndex, term: Term, target: Graph, depth: int = 0) -> Node:
    node = rdflib_term(term)
    if is_blank(term) and depth < 10:
        for predicate, values in index.out.get(term, NO_PROPERTIES).items():
            for value in values:
                copied = _copy_data_node(index, value, target, depth + 1)
                target.add((node, rdflib_term(predicate), copied))
    return node
