"""A document's triples as the native SHACL engine reads them.

Each RDF term is a string in N-Triples syntax (RDF 1.1 N-Triples, section 2):
``<http://...>`` for an IRI, ``_:label`` for a blank node, and ``"text"``,
``"text"@en`` or ``"text"^^<datatype>`` for a literal, as pyoxigraph writes
them. Strings, unlike pyoxigraph terms, keep their hash once computed, so
dictionary lookups cost less. pyoxigraph also serializes a document's
triples in Rust faster than Python can read them term by term.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.term import Node

Term = str  # an RDF term in N-Triples syntax

RDF_TYPE = f"<{RDF.type}>"
SUBCLASS_OF = f"<{RDFS.subClassOf}>"
RDFS_RESOURCE = f"<{RDFS.Resource}>"
XSD_STRING = str(XSD.string)

NO_PROPERTIES: dict = {}  # an empty mapping for lookups, never changed
NO_VALUES: frozenset = frozenset()

# The escapes of N-Triples string literals (ECHAR and UCHAR).
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_CHARACTER_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f"}


def is_iri(term: Term) -> bool:
    return term[0] == "<"


def is_blank(term: Term) -> bool:
    return term[0] == "_"


def is_literal(term: Term) -> bool:
    return term[0] == '"'


def literal_parts(term: Term) -> tuple[str, str, str]:
    """Return a literal's lexical form, language tag ("" if none) and datatype IRI."""
    end = term.rindex('"')
    text = term[1:end]
    lexical = _unescape(text) if "\\" in text else text
    suffix = term[end + 1 :]
    if suffix.startswith("@"):
        return lexical, suffix[1:], str(RDF.langString)
    if suffix.startswith("^^"):
        return lexical, "", suffix[3:-1]
    return lexical, "", XSD_STRING


def _unescape(text: str) -> str:
    def replace(match: re.Match) -> str:
        code = match.group(1) or match.group(2)
        if code:
            return chr(int(code, 16))
        return _CHARACTER_ESCAPES.get(match.group(3), match.group(3))

    return _ESCAPE.sub(replace, text)


def term_key(node: Node) -> Term:
    """Write an rdflib term in N-Triples syntax, as pyoxigraph would."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, BNode):
        return f"_:{node}"
    if isinstance(node, Literal):
        if node.language:
            return str(ox.Literal(str(node), language=node.language))
        datatype = ox.NamedNode(str(node.datatype or XSD.string))
        return str(ox.Literal(str(node), datatype=datatype))
    raise ValueError(f"{node!r} is not an RDF term")


def rdflib_term(term: Term) -> Node:
    """Convert a term to rdflib as the pyshacl data graph contains it: a literal
    without a language tag keeps its datatype, xsd:string included."""
    if is_iri(term):
        return URIRef(term[1:-1])
    if is_blank(term):
        return BNode(term[2:])
    lexical, language, datatype = literal_parts(term)
    if language:
        return Literal(lexical, lang=language)
    return Literal(lexical, datatype=URIRef(datatype))


class DocumentIndex:
    """One document's triples, indexed for the shapes: subject -> predicate -> objects.

    NOTE: rdflib, and so pyshacl, merges typed literals with the same value
    ("01" and "1" as xsd:integer); here they stay two values, which could
    change a sh:maxCount or sh:in result. No real document has shown it.

    The reverse index (object -> predicate -> subjects), the index by
    predicate and the index of instances are built on first use, because
    most documents need the reverse index for no shape.
    """

    def __init__(self, triples: Iterable[tuple[Term, Term, Term]] = ()) -> None:
        self.out: dict[Term, dict[Term, set[Term]]] = {}
        self._incoming: dict[Term, dict[Term, set[Term]]] | None = None
        self._by_predicate: dict[Term, dict[Term, set[Term]]] | None = None
        self._typed: dict[Term, set[Term]] | None = None
        self.extend(triples)

    @classmethod
    def from_triples(cls, triples: list[ox.Triple]) -> DocumentIndex:
        """Index pyoxigraph triples, read from the N-Triples that pyoxigraph writes for them.

        A quoted triple (RDF-star) would contain spaces that ``_add_lines``
        does not expect, so text with ``<<`` is read term by term instead.
        """
        index = cls()
        text = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
        if "<<" in text:
            index.extend((str(t.subject), str(t.predicate), str(t.object)) for t in triples)
        else:
            index._add_lines(text)
        return index

    def _add_lines(self, text: str) -> None:
        """Add the triples of N-Triples text written one per line, as ``S P O .``.

        Each line is split on its first two spaces, which IRIs and blank-node
        labels cannot contain. Consecutive lines mostly share their subject,
        so its properties are looked up once per run of lines.
        """
        out = self.out
        last_subject = None
        properties: dict[Term, set[Term]] = {}
        # Only "\n" ends a line: N-Triples escapes it in literals, but not U+2028 and the like.
        for line in text.split("\n"):
            if not line:
                continue
            subject, predicate, rest = line.split(" ", 2)
            if subject != last_subject:
                properties = out.setdefault(subject, {})
                last_subject = subject
            values = properties.get(predicate)
            if values is None:
                properties[predicate] = {rest[:-2]}
            else:
                values.add(rest[:-2])
        self._incoming = None
        self._by_predicate = None
        self._typed = None

    def extend(self, triples: Iterable[tuple[Term, Term, Term]]) -> None:
        out = self.out
        for subject, predicate, value in triples:
            properties = out.get(subject)
            if properties is None:
                properties = out[subject] = {}
            values = properties.get(predicate)
            if values is None:
                properties[predicate] = {value}
            else:
                values.add(value)
        self._incoming = None
        self._by_predicate = None
        self._typed = None

    def add(self, subject: Term, predicate: Term, value: Term) -> None:
        self.extend(((subject, predicate, value),))

    def __len__(self) -> int:
        return sum(len(values) for props in self.out.values() for values in props.values())

    def __iter__(self) -> Iterator[tuple[Term, Term, Term]]:
        for subject, properties in self.out.items():
            for predicate, values in properties.items():
                for value in values:
                    yield subject, predicate, value

    def objects(self, subject: Term, predicate: Term) -> set[Term]:
        return self.out.get(subject, NO_PROPERTIES).get(predicate, NO_VALUES)

    def subjects(self, predicate: Term, value: Term) -> set[Term]:
        return self.incoming.get(value, NO_PROPERTIES).get(predicate, NO_VALUES)

    @property
    def incoming(self) -> dict[Term, dict[Term, set[Term]]]:
        if self._incoming is None:
            incoming: dict[Term, dict[Term, set[Term]]] = {}
            for subject, predicate, value in self:
                incoming.setdefault(value, {}).setdefault(predicate, set()).add(subject)
            self._incoming = incoming
        return self._incoming

    @property
    def by_predicate(self) -> dict[Term, dict[Term, set[Term]]]:
        """Map each predicate to subject -> objects of the statements with it."""
        if self._by_predicate is None:
            found: dict[Term, dict[Term, set[Term]]] = {}
            for subject, properties in self.out.items():
                for predicate, values in properties.items():
                    found.setdefault(predicate, {})[subject] = values
            self._by_predicate = found
        return self._by_predicate

    @property
    def typed(self) -> dict[Term, set[Term]]:
        """Map each class to the subjects typed with it, without the whole reverse index."""
        if self._typed is None:
            typed: dict[Term, set[Term]] = {}
            for subject, classes in self.by_predicate.get(RDF_TYPE, NO_PROPERTIES).items():
                for cls in classes:
                    typed.setdefault(cls, set()).add(subject)
            self._typed = typed
        return self._typed

    def instances(self, cls: Term) -> set[Term]:
        """Return the subjects typed ``cls`` or, through ``rdfs:subClassOf``
        statements in the document, one of its subclasses (as pyshacl's sh:targetClass)."""
        typed = self.typed.get(cls, NO_VALUES)
        if SUBCLASS_OF not in self.by_predicate:
            return typed
        found = set(typed)
        for subclass in self._subclasses(cls):
            found |= self.typed.get(subclass, NO_VALUES)
        return found

    def _subclasses(self, cls: Term) -> set[Term]:
        found: set[Term] = set()
        pending = [cls]
        while pending:
            for subclass in self.subjects(SUBCLASS_OF, pending.pop()):
                if subclass not in found and subclass != cls:
                    found.add(subclass)
                    pending.append(subclass)
        return found

    def to_store(self) -> ox.Store:
        """Return an in-memory Oxigraph store holding the indexed triples.

        The triples go through ``ox.parse``, which keeps blank-node labels;
        ``Store.load`` would give them new ones.
        """
        lines = "".join(f"{s} {p} {o} .\n" for s, p, o in self)
        store = ox.Store()
        store.extend(ox.parse(lines.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))
        return store
