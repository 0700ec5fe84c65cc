"""The CASE loader: 1EdTech CASE 1.0 CFPackage JSON and OpenSALT item spreadsheets (CSV).

Each package becomes one document: a ``ceasn:CompetencyFramework`` made from
the CFDocument and one ``ceasn:Competency`` per CFItem. CTIDs are derived from
the CASE identifiers (scheme ``case``), so a CASE association that points
into another framework links to the CTID that framework's items get when it
is loaded.

Mapping decisions:

- Hierarchy: an ``isChildOf`` association to an item becomes ``ceasn:isChildOf``
  on the child and ``ceasn:hasChild`` on the parent. An ``isChildOf`` to the
  CFDocument becomes ``ceasn:isTopChildOf`` and the framework's ``ceasn:hasTopChild``.
- Ordering: ``ceasn:listID`` is the item's ``listEnumeration`` when it has one,
  because CASE and CTDL-ASN define the two terms alike. Otherwise it is the
  item's 1-based position among its siblings in OpenSALT's order: by the
  ``sequenceNumber`` of the ``isChildOf`` association, then by
  ``humanCodingScheme`` in natural order, then by the order in the file.
  Compare listIDs in natural order (numbers as numbers).
- Other associations map to the closest CTDL-ASN term (``ASSOCIATION_TERMS``).
  The CASE association's own identifier, URI, date and grouping have no CTDL
  term, because a CTDL link is a plain statement; each is reported.
- ``creator`` (a name) becomes ``ceasn:author`` and ``publisher`` (a name)
  ``ceasn:publisherName``: CASE names them as text, while ``ceasn:creator``
  and ``ceasn:publisher`` take organization IRIs.
- ``educationLevel`` (CEDS grade codes) becomes the CTDL AudienceLevel concept
  that contains the grade; the exact grade has no CTDL term and is reported.

An OpenSALT item spreadsheet (the CF Item sheet saved as CSV) holds no
CFDocument, so its framework is named after the file and its CTID is derived
from the file name; ``smartLevel`` (``3.6.2.1``) gives each item's parent
(``3.6.2``) and its sequence number among its siblings (``1``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loaders.base import Loader, Outcome
from loaders.competency_documents import (
    DEFAULT_LANGUAGE,
    PUBLICATION_STATUS,
    Findings,
    LoadError,
    at,
    clean_text,
    compact,
    date_time,
    framework_graph,
    language_map,
    natural_key,
    read_text,
    resource_iri,
    text_list,
    to_document,
)
from registry.ctid import derived_ctid
from registry.ingest import IngestWarning

SCHEME = "case"

# CASE association type -> (the end that gets the statement, CTDL-ASN term).
# "origin" states origin -term-> destination; "destination" states destination -term-> origin.
ASSOCIATION_TERMS = {
    "exactMatchOf": ("origin", "ceasn:exactAlignment"),
    "isRelatedTo": ("origin", "ceasn:alignTo"),
    "isPeerOf": ("origin", "ceasn:majorAlignment"),
    "isTranslationOf": ("origin", "ceasn:isVersionOf"),
    "isPartOf": ("destination", "ceasn:comprisedOf"),
    "precedes": ("destination", "ceasn:prerequisiteAlignment"),
    "replacedBy": ("destination", "ceasn:isVersionOf"),
}

ADOPTION_STATUS = {
    "adopted": "Published",
    "draft": "Draft",
    "private draft": "Draft",
    "deprecated": "Deprecated",
}

# CEDS grade level codes -> CTDL AudienceLevel concepts.
EDUCATION_LEVELS = {
    **dict.fromkeys(["IT", "PR", "PK", "TK"], "audLevel:EarlyChildhood"),
    **dict.fromkeys(["KG", "01", "02", "03", "04", "05"], "audLevel:Primary"),
    **dict.fromkeys(["06", "07", "08"], "audLevel:LowerSecondary"),
    **dict.fromkeys(["09", "10", "11", "12"], "audLevel:UpperSecondary"),
    **dict.fromkeys(["13", "PS"], "audLevel:PostSecondaryLevel"),
    "UG": "audLevel:UndergraduateLevel",
}

PACKAGE_PARTS = {"CFDocument", "CFItems", "CFAssociations", "CFDefinitions"}
DEFINITION_KINDS = (
    "CFConcepts",
    "CFSubjects",
    "CFLicenses",
    "CFItemTypes",
    "CFAssociationGroupings",
)

ITEM_FIELDS = {
    "identifier",
    "uri",
    "fullStatement",
    "alternativeLabel",
    "CFItemType",
    "CFItemTypeURI",
    "humanCodingScheme",
    "listEnumeration",
    "abbreviatedStatement",
    "conceptKeywords",
    "conceptKeywordsURI",
    "notes",
    "subject",
    "subjectURI",
    "language",
    "educationLevel",
    "licenseURI",
    "lastChangeDateTime",
    "CFDocumentURI",
}
# Where a competency's text comes from, in order of preference.
STATEMENT_FIELDS = ("fullStatement", "abbreviatedStatement", "humanCodingScheme")
ITEM_FIELDS_WITHOUT_TERM = {"statusStartDate", "statusEndDate"}
DOCUMENT_FIELDS = {
    "identifier",
    "uri",
    "title",
    "creator",
    "publisher",
    "description",
    "officialSourceURL",
    "subject",
    "subjectURI",
    "language",
    "adoptionStatus",
    "statusStartDate",
    "statusEndDate",
    "licenseURI",
    "lastChangeDateTime",
    "CFPackageURI",
}


@dataclass
class Package:
    """A CFPackage as read from JSON or CSV, with the source location of each part."""

    document: dict[str, Any]
    items: list[dict[str, Any]]
    associations: list[dict[str, Any]]
    definitions: dict[str, Any]
    item_paths: list[str]
    association_paths: list[str]
    document_path: str = "$.CFDocument"
    # Package members this loader does not read (CFRubrics, extensions), by JSON path.
    others: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tree:
    """The hierarchy: each item's parents (item identifiers, or ``None`` for the framework)."""

    parents: dict[str, list[str | None]] = field(default_factory=dict)
    sequence: dict[tuple[str | None, str], int] = field(default_factory=dict)
    relations: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # Each item's humanCodingScheme and position in the file, the later sort keys.
    codes: dict[str, str | None] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    _children: dict[str | None, list[str]] | None = None

    def children(self, parent: str | None) -> list[str]:
        """Return the children of ``parent`` (``None``: the framework) in CASE order.

        OpenSALT orders siblings by the isChildOf association's sequenceNumber,
        then by humanCodingScheme, then by their order in the file. The index is
        built on the first call, so all links must be added before it.
        """
        if self._children is None:
            self._children = {}
            for child, parents in self.parents.items():
                for each in parents:
                    self._children.setdefault(each, []).append(child)
            for key, children in self._children.items():
                children.sort(key=lambda child, key=key: self._order(key, child))
        return self._children.get(parent, [])

    def _order(self, parent: str | None, child: str) -> tuple:
        sequence = self.sequence.get((parent, child))
        return (
            sequence is None,
            sequence or 0,
            natural_key(self.codes.get(child)),
            self.positions.get(child, 0),
        )


class CaseLoader(Loader):
    """Loads CASE CFPackages (``.json``) and OpenSALT item spreadsheets (``.csv``)."""

    name = "case"
    suffixes = (".json", ".csv")

    def __init__(self, registry: Any) -> None:
        super().__init__(registry)
        self._loaded: dict[str, str] = {}

    def read(self, path: Path) -> Iterator[Outcome]:
        source = str(path)
        suffix = path.suffix.lower()
        if suffix not in self.suffixes:
            yield Outcome(source, skipped=f"{suffix or 'no suffix'} files are not CASE packages")
            return
        findings = Findings(source)
        try:
            text = read_text(path, findings)
            package = read_csv(text, path.name) if suffix == ".csv" else read_package(text)
            if isinstance(package, str):
                yield Outcome(source, skipped=package)
                return
            graph = build_graph(package, findings, csv_name=path.name if suffix == ".csv" else None)
            document = to_document(graph, source, self.registry, findings)
        except LoadError as exc:
            yield Outcome(source, error=str(exc))
            return
        self._report_reused_ctid(document)
        yield Outcome(source, document=document)

    def _report_reused_ctid(self, document: Any) -> None:
        """Warn when an earlier file of this run produced the same framework CTID."""
        earlier = self._loaded.get(document.ctid)
        if earlier and earlier != document.source:
            document.warnings.insert(
                0,
                IngestWarning(
                    document.source,
                    "$.CFDocument.identifier",
                    f"{earlier} has the same CFDocument identifier, so both get CTID "
                    f"{document.ctid} and this file replaces it in the store; give each "
                    "framework its own UUID",
                ),
            )
        self._loaded[document.ctid] = document.source


# Reading ---------------------------------------------------------------------------------


def read_package(text: str) -> Package | str:
    """Parse CFPackage JSON; return a skip reason for JSON that is not a CFPackage."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    root = "$"
    if isinstance(raw, dict) and isinstance(raw.get("CFPackage"), dict):
        raw, root = raw["CFPackage"], "$.CFPackage"
    if not isinstance(raw, dict) or "$schema" in raw:
        return "JSON that is not a CASE CFPackage (a JSON Schema or another document)"
    if not isinstance(raw.get("CFDocument"), dict):
        if "CFItems" in raw:
            raise LoadError(
                "$.CFDocument is missing: a CFPackage needs a CFDocument with identifier and title"
            )
        return "JSON without CFDocument: not a CASE CFPackage"
    items = _list_member(raw, "CFItems")
    associations = _list_member(raw, "CFAssociations")
    definitions = raw.get("CFDefinitions") if isinstance(raw.get("CFDefinitions"), dict) else {}
    return Package(
        raw["CFDocument"],
        items,
        associations,
        definitions,
        [f"{root}.CFItems[{index}]" for index in range(len(items))],
        [f"{root}.CFAssociations[{index}]" for index in range(len(associations))],
        f"{root}.CFDocument",
        {f"{root}.{key}": value for key, value in raw.items() if key not in PACKAGE_PARTS},
    )


def _list_member(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise LoadError(f"$.{key} must be an array, found {type(value).__name__}")
    return value


def read_csv(text: str, file_name: str) -> Package | str:
    """Turn an OpenSALT CF Item sheet into a package; ``smartLevel`` gives the hierarchy."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "fullStatement" not in reader.fieldnames:
        return "CSV without a fullStatement column: not an OpenSALT CF Item sheet"
    items: list[dict[str, Any]] = []
    paths: list[str] = []
    line = reader.line_num + 1
    for row in reader:
        items.append({key: value for key, value in row.items() if key is not None})
        paths.append(f"line {line}")
        line = reader.line_num + 1
    document = {"identifier": f"csv:{file_name}", "title": Path(file_name).stem}
    languages = {row.get("language") for row in items if row.get("language")}
    if len(languages) == 1:
        document["language"] = languages.pop()
    associations, association_paths = _smart_level_associations(items, paths)
    return Package(document, items, associations, {}, paths, association_paths, "file")


def _smart_level_associations(
    items: list[dict[str, Any]], paths: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Make the isChildOf associations a spreadsheet states through ``smartLevel``."""
    by_level = {row.get("smartLevel"): row.get("identifier") for row in items}
    associations, association_paths = [], []
    for row, path in zip(items, paths, strict=True):
        level = (row.pop("smartLevel", None) or "").strip()
        if not level:
            continue
        parent_level, _, position = level.rpartition(".")
        parent = by_level.get(parent_level) if parent_level else "csv-document"
        association = {
            "associationType": "isChildOf",
            "originNodeURI": {"identifier": row.get("identifier")},
            "destinationNodeURI": {"identifier": parent or f"smartLevel {parent_level}"},
        }
        if position.isdigit():
            association["sequenceNumber"] = int(position)
        associations.append(association)
        association_paths.append(f"{path}, column smartLevel")
    return associations, association_paths


# Building --------------------------------------------------------------------------------


def build_graph(package: Package, findings: Findings, csv_name: str | None = None) -> dict:
    """Build the framework's ``/graph`` JSON-LD from a package."""
    if csv_name:
        findings.warn(
            "file",
            f"an item spreadsheet has no CFDocument, so the framework is named "
            f"{Path(csv_name).stem!r} after the file and its CTID is derived from the file name",
        )
    document_id = _document_identifier(package)
    language = _language(package, findings)
    items = _index_items(package, findings)
    if csv_name:
        _retarget_csv_roots(package, document_id)
    tree = _read_associations(package, items, document_id, findings)
    for position, (identifier, (item, _)) in enumerate(items.items()):
        code = item.get("humanCodingScheme")
        tree.codes[identifier] = code if isinstance(code, str) else None
        tree.positions[identifier] = position
    _report_definitions(package, findings)
    _report_other_parts(package, findings)

    framework = _framework_node(package, document_id, language, findings)
    competencies = [
        _competency_node(item, path, framework["@id"], language, tree, package, findings)
        for identifier, (item, path) in items.items()
    ]
    framework["ceasn:hasTopChild"] = [_item_iri(i) for i in tree.children(None)]
    _report_orphans(items, tree, findings)
    return framework_graph(compact(framework), [compact(c) for c in competencies])


def _document_identifier(package: Package) -> str:
    identifier = package.document.get("identifier")
    if not isinstance(identifier, str) or not identifier.strip():
        raise LoadError(
            f"{package.document_path}.identifier is missing: the CFDocument needs its UUID "
            "identifier, from which the framework's CTID is derived"
        )
    return identifier.strip()


def _language(package: Package, findings: Findings) -> str:
    language = package.document.get("language")
    if isinstance(language, str) and language.strip():
        return language.strip()
    findings.warn(
        f"{package.document_path}.language",
        f"the CFDocument states no language; its text was tagged {DEFAULT_LANGUAGE!r} and "
        'no ceasn:inLanguage was written; add language, e.g. "en"',
    )
    return DEFAULT_LANGUAGE


def _index_items(package: Package, findings: Findings) -> dict[str, tuple[dict, str]]:
    """Map each item identifier to the item and its location; report bad and repeated ones."""
    items: dict[str, tuple[dict, str]] = {}
    for item, path in zip(package.items, package.item_paths, strict=True):
        if not isinstance(item, dict):
            findings.warn(path, f"a CFItem must be an object, found {type(item).__name__}; skipped")
            continue
        identifier = item.get("identifier")
        if not isinstance(identifier, str) or not identifier.strip():
            findings.warn(
                at(path, "identifier"),
                "the CFItem has no identifier, so it gets no stable CTID and was skipped; "
                "give it a UUID",
            )
            continue
        identifier = identifier.strip()
        _check_document_link(item, path, package, findings)
        if not any(_is_text(item.get(name)) for name in STATEMENT_FIELDS):
            findings.warn(
                at(path, "fullStatement"),
                f"CFItem {identifier} has no fullStatement, abbreviatedStatement or "
                "humanCodingScheme, and every competency needs its text; skipped",
            )
            continue
        if identifier in items:
            findings.warn(
                at(path, "identifier"),
                f"identifier {identifier} repeats the CFItem at {items[identifier][1]}; "
                "this one was skipped; give each CFItem its own UUID",
            )
            continue
        items[identifier] = (item, path)
    return items


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _check_document_link(
    item: dict[str, Any], path: str, package: Package, findings: Findings
) -> None:
    """Report an item whose CFDocumentURI names another document than the package's."""
    named = _node_identifier(item.get("CFDocumentURI"))
    own = package.document.get("identifier")
    if named and isinstance(own, str) and named != own.strip():
        findings.warn(
            at(path, "CFDocumentURI"),
            f"the CFItem names CFDocument {named}, but the package's CFDocument is {own}; "
            "it was loaded as a member of this package's framework",
        )


def _retarget_csv_roots(package: Package, document_id: str) -> None:
    for association in package.associations:
        if association["destinationNodeURI"].get("identifier") == "csv-document":
            association["destinationNodeURI"]["identifier"] = document_id


def _read_associations(
    package: Package, items: dict[str, tuple[dict, str]], document_id: str, findings: Findings
) -> Tree:
    """Sort the associations into the hierarchy and the other relations."""
    tree = Tree()
    for association, path in zip(package.associations, package.association_paths, strict=True):
        if not isinstance(association, dict):
            findings.warn(path, "a CFAssociation must be an object; skipped")
            continue
        origin = _node_identifier(association.get("originNodeURI"))
        destination = _node_identifier(association.get("destinationNodeURI"))
        kind = association.get("associationType")
        if not origin or not destination:
            findings.warn(
                path, "the association lacks originNodeURI or destinationNodeURI; skipped"
            )
            continue
        _note_association_metadata(association, path, package, findings)
        if kind == "isChildOf":
            _add_child(tree, association, path, origin, destination, items, document_id, findings)
        elif kind in ASSOCIATION_TERMS:
            _add_relation(tree, kind, path, origin, destination, items, findings)
        else:
            findings.warn(
                at(path, "associationType"),
                f"association type {kind!r} ({origin} to {destination}) has no CTDL-ASN term; "
                "not kept",
            )
    return tree


def _node_identifier(link: Any) -> str | None:
    """Return the identifier of a CASE LinkURI, or the last segment of its uri."""
    if not isinstance(link, dict):
        return None
    identifier = link.get("identifier")
    if isinstance(identifier, str) and identifier.strip():
        return identifier.strip()
    uri = link.get("uri")
    if isinstance(uri, str) and uri.strip():
        return uri.rstrip("/").rsplit("/", 1)[-1]
    return None


def _note_association_metadata(
    association: dict, path: str, package: Package, findings: Findings
) -> None:
    if package.document_path == "file":
        return
    findings.note(
        "association metadata",
        path,
        "a CASE association's identifier, uri and lastChangeDateTime have no CTDL term (a CTDL "
        "link is a plain statement), so only the link itself was kept",
    )
    group = association.get("CFAssociationGroupingURI")
    if isinstance(group, dict):
        title = group.get("title") or group.get("identifier")
        findings.note(
            f"group {title}",
            at(path, "CFAssociationGroupingURI"),
            f"association grouping {title!r} has no CTDL term; its associations were kept "
            "without the grouping",
        )


def _add_child(
    tree: Tree,
    association: dict,
    path: str,
    origin: str,
    destination: str,
    items: dict,
    document_id: str,
    findings: Findings,
) -> None:
    """Record one isChildOf link, or report why it cannot be kept."""
    if origin not in items:
        findings.warn(
            at(path, "originNodeURI"),
            f"isChildOf origin {origin} is not a CFItem of this package; the link was skipped",
        )
        return
    if destination == document_id:
        parent = None
    elif destination in items:
        parent = destination
    else:
        findings.warn(
            at(path, "destinationNodeURI"),
            f"isChildOf destination {destination} is neither this package's CFDocument nor one "
            f"of its CFItems, so item {origin} has no parent here; the link was skipped",
        )
        return
    tree.parents.setdefault(origin, []).append(parent)
    sequence = association.get("sequenceNumber")
    if isinstance(sequence, int) and not isinstance(sequence, bool):
        tree.sequence[(parent, origin)] = sequence


def _add_relation(
    tree: Tree, kind: str, path: str, origin: str, destination: str, items: dict, findings: Findings
) -> None:
    """Record one non-hierarchical association on the end that ``ASSOCIATION_TERMS`` names."""
    end, term = ASSOCIATION_TERMS[kind]
    subject, target = (origin, destination) if end == "origin" else (destination, origin)
    if subject not in items:
        findings.warn(
            path,
            f"{kind}: {subject} is not a CFItem of this package, so the {term} statement it "
            "would carry cannot be written here; skipped",
        )
        return
    if target not in items:
        findings.warn(
            path,
            f"{kind}: {target} is not in this package; {term} links to the CTID it gets when its "
            "own framework is loaded",
        )
    tree.relations.setdefault(subject, {}).setdefault(term, []).append(target)


def _report_definitions(package: Package, findings: Findings) -> None:
    """Report the CFDefinitions whose details have no place in CTDL-ASN."""
    root = package.document_path.removesuffix(".CFDocument")
    for kind, definitions in package.definitions.items():
        path = f"{root}.CFDefinitions.{kind}"
        if kind not in DEFINITION_KINDS:
            findings.warn(path, f"{kind} is not a CASE 1.0 definition list; not loaded")
            continue
        for index, definition in enumerate(definitions or []):
            title = definition.get("title") if isinstance(definition, dict) else None
            findings.warn(
                f"{path}[{index}]",
                f"{kind[2:-1]} definition {title!r}: only its title, URI or licence text is kept "
                "where the package uses it; its other fields have no CTDL-ASN term",
            )


def _report_other_parts(package: Package, findings: Findings) -> None:
    """Report the package members that this loader does not read, such as CFRubrics."""
    for path, value in package.others.items():
        if value not in (None, [], {}):
            findings.warn(
                path,
                f"{path.rsplit('.', 1)[1]} is not loaded: this loader reads CFDocument, CFItems, "
                "CFAssociations and CFDefinitions",
            )


# Nodes -----------------------------------------------------------------------------------


def _framework_node(
    package: Package, document_id: str, language: str, findings: Findings
) -> dict[str, Any]:
    doc, path = package.document, package.document_path
    ctid = derived_ctid(SCHEME, document_id)
    _report_unknown_fields(doc, DOCUMENT_FIELDS, path, "CFDocument", findings)
    title = clean_text(doc.get("title"), at(path, "title"), findings)
    if not title:
        raise LoadError(f"{path}.title is missing: a framework needs a name")
    license_uri, rights = _license(doc.get("licenseURI"), package.definitions, path, findings)
    status = _publication_status(doc.get("adoptionStatus"), at(path, "adoptionStatus"), findings)
    return {
        "@id": resource_iri(ctid),
        "@type": "ceasn:CompetencyFramework",
        "ceterms:ctid": ctid,
        "ceasn:name": language_map(title, language),
        "ceasn:description": language_map(
            clean_text(doc.get("description"), at(path, "description"), findings), language
        ),
        "ceasn:inLanguage": language if isinstance(doc.get("language"), str) else None,
        "ceasn:author": clean_text(doc.get("creator"), at(path, "creator"), findings),
        "ceasn:publisherName": language_map(
            clean_text(doc.get("publisher"), at(path, "publisher"), findings), language
        ),
        "ceasn:source": _uri(doc.get("officialSourceURL")),
        "ceasn:identifier": _identifiers(doc, document_id),
        "ceasn:localSubject": language_map(
            text_list(doc.get("subject"), at(path, "subject"), findings), language
        ),
        "ceasn:conceptTerm": _link_uris(doc.get("subjectURI")),
        "ceasn:publicationStatusType": status,
        "ceasn:dateValidFrom": date_time(
            _date_start(doc.get("statusStartDate")), at(path, "statusStartDate"), findings
        ),
        "ceasn:dateValidUntil": date_time(
            _date_start(doc.get("statusEndDate")), at(path, "statusEndDate"), findings
        ),
        "ceasn:license": license_uri,
        "ceasn:rights": language_map(rights, language),
        "ceasn:dateModified": date_time(
            doc.get("lastChangeDateTime"), at(path, "lastChangeDateTime"), findings
        ),
    }


def _competency_node(
    item: dict[str, Any],
    path: str,
    framework_iri: str,
    language: str,
    tree: Tree,
    package: Package,
    findings: Findings,
) -> dict[str, Any]:
    identifier = item["identifier"].strip()
    ctid = derived_ctid(SCHEME, identifier)
    item_language = clean_text(item.get("language"), at(path, "language"), findings)
    tag = item_language or language
    _report_unknown_fields(item, ITEM_FIELDS, path, "CFItem", findings)
    license_uri, _ = _license(item.get("licenseURI"), package.definitions, path, findings)
    parents = tree.parents.get(identifier, [])
    node = {
        "@id": resource_iri(ctid),
        "@type": "ceasn:Competency",
        "ceterms:ctid": ctid,
        "ceasn:isPartOf": framework_iri,
        "ceasn:competencyText": language_map(_statement(item, path, findings), tag),
        "ceasn:competencyLabel": language_map(
            text_list(
                [item.get("abbreviatedStatement"), item.get("alternativeLabel")], path, findings
            ),
            tag,
        ),
        "ceasn:codedNotation": clean_text(
            item.get("humanCodingScheme"), at(path, "humanCodingScheme"), findings
        ),
        "ceasn:listID": _list_id(item, identifier, parents, tree),
        "ceasn:competencyCategory": language_map(
            _item_type(item, path, package.definitions, findings), tag
        ),
        "ceasn:conceptKeyword": language_map(
            text_list(item.get("conceptKeywords"), at(path, "conceptKeywords"), findings, ","), tag
        ),
        "ceasn:conceptTerm": _link_uris(item.get("conceptKeywordsURI"))
        + _link_uris(item.get("subjectURI")),
        "ceasn:localSubject": language_map(
            text_list(item.get("subject"), at(path, "subject"), findings), tag
        ),
        "ceasn:comment": language_map(
            clean_text(item.get("notes"), at(path, "notes"), findings), tag
        ),
        "ceasn:inLanguage": item_language,
        "ceasn:educationLevelType": _education_levels(item, path, findings),
        "ceasn:license": license_uri,
        "ceasn:identifier": _identifiers(item, identifier),
        "ceasn:dateModified": date_time(
            _csv_date(item.get("lastChangeDateTime")), at(path, "lastChangeDateTime"), findings
        ),
        "ceasn:isTopChildOf": framework_iri if None in parents else None,
        "ceasn:isChildOf": [_item_iri(p) for p in parents if p is not None],
        "ceasn:hasChild": [_item_iri(c) for c in tree.children(identifier)],
    }
    for term, targets in tree.relations.get(identifier, {}).items():
        node[term] = [_item_iri(target) for target in targets]
    return node


def _item_iri(identifier: str) -> str:
    return resource_iri(derived_ctid(SCHEME, identifier))


def _statement(item: dict[str, Any], path: str, findings: Findings) -> str | None:
    """Return the item's fullStatement, or its shorter text with a warning if it has none.

    ``_index_items`` has already skipped the items with none of ``STATEMENT_FIELDS``.
    """
    for name in STATEMENT_FIELDS:
        text = clean_text(item.get(name), at(path, name), findings)
        if not text:
            continue
        if name != "fullStatement":
            findings.warn(
                at(path, "fullStatement"),
                f"the CFItem has no fullStatement; ceasn:competencyText was taken from {name}",
            )
        return text
    return None


def _list_id(item: dict[str, Any], identifier: str, parents: list, tree: Tree) -> str | None:
    """Return listEnumeration, or the position among the siblings under the first parent."""
    enumeration = item.get("listEnumeration")
    if isinstance(enumeration, (str, int)) and str(enumeration).strip():
        return str(enumeration).strip()
    if not parents:
        return None
    return str(tree.children(parents[0]).index(identifier) + 1)


def _item_type(
    item: dict[str, Any], path: str, definitions: dict, findings: Findings
) -> str | None:
    text = clean_text(item.get("CFItemType"), at(path, "CFItemType"), findings)
    if text:
        return text
    link = item.get("CFItemTypeURI")
    return (
        clean_text(link.get("title"), f"{path}.CFItemTypeURI.title", findings)
        if isinstance(link, dict)
        else None
    )


def _education_levels(item: dict[str, Any], path: str, findings: Findings) -> list[str]:
    """Map CEDS grade codes to AudienceLevel concepts; report the grades themselves."""
    key = at(path, "educationLevel")
    codes = text_list(item.get("educationLevel"), key, findings, ",")
    concepts: list[str] = []
    for code in codes:
        concept = EDUCATION_LEVELS.get(code.upper())
        if concept is None:
            findings.warn(
                key,
                f"educationLevel {code!r} is not a CEDS grade level code (KG, 01 ... 12, PK, PS, "
                "UG, ...); not kept; separate several codes with commas",
            )
            continue
        if concept not in concepts:
            concepts.append(concept)
    if concepts:
        findings.note(
            "education levels",
            key,
            "educationLevel grade codes were mapped to the CTDL AudienceLevel concept that holds "
            "them (e.g. 03 to audLevel:Primary); the exact grade has no CTDL term",
        )
    return concepts


def _license(
    link: Any, definitions: dict, path: str, findings: Findings
) -> tuple[str | None, str | None]:
    """Return the licence URI and, from CFDefinitions, its licence text."""
    if not isinstance(link, dict):
        return None, None
    uri = _uri(link.get("uri"))
    text = None
    for definition in definitions.get("CFLicenses") or []:
        if isinstance(definition, dict) and definition.get("identifier") == link.get("identifier"):
            text = clean_text(
                definition.get("licenseText") or definition.get("title"),
                at(path, "licenseURI"),
                findings,
            )
    return uri, text


def _publication_status(value: Any, key: str, findings: Findings) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    status = ADOPTION_STATUS.get(value.strip().lower())
    if status is None:
        findings.warn(
            key,
            f"adoptionStatus {value!r} is not Adopted, Draft, Private Draft or Deprecated, "
            "so it was not kept",
        )
        return None
    return PUBLICATION_STATUS + status


def _identifiers(node: dict[str, Any], identifier: str) -> list[str]:
    """Return the CASE uri and the identifier as a URN, so the source can be found again."""
    found = [f"urn:uuid:{identifier}"] if _is_uuid(identifier) else []
    uri = _uri(node.get("uri"))
    return [uri, *found] if uri else found


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _uri(value: Any) -> str | None:
    if isinstance(value, str) and "://" in value and " " not in value.strip():
        return value.strip()
    return None


def _link_uris(links: Any) -> list[str]:
    links = links if isinstance(links, list) else [links]
    return [uri for link in links if isinstance(link, dict) and (uri := _uri(link.get("uri")))]


def _date_start(value: Any) -> str | None:
    """Return a CASE date (``2017-01-01``) as the start of that day, for xsd:dateTime terms."""
    if isinstance(value, str) and len(value.strip()) == 10:
        return value.strip() + "T00:00:00"
    return value if isinstance(value, str) else None


def _csv_date(value: Any) -> str | None:
    """Return a date-time; the spreadsheet writes ``2017-08-23 23:48:01``."""
    if isinstance(value, str) and len(value) == 19 and value[10] == " ":
        return value.replace(" ", "T")
    return value if isinstance(value, str) else None


def _report_unknown_fields(
    node: dict[str, Any], known: set[str], path: str, kind: str, findings: Findings
) -> None:
    """Report each field that has no CTDL-ASN term, once per field name."""
    for key, value in node.items():
        if key in known or value in (None, "", [], {}):
            continue
        reason = (
            "has no CTDL-ASN term on a competency"
            if key in ITEM_FIELDS_WITHOUT_TERM
            else "is not a CASE 1.0 field this loader maps"
        )
        findings.note(
            f"{kind}.{key}",
            at(path, key),
            f"{kind} field {key!r} ({value!r}) {reason}; not kept",
        )


def _report_orphans(items: dict, tree: Tree, findings: Findings) -> None:
    for identifier, (_, path) in items.items():
        if identifier not in tree.parents:
            findings.warn(
                path,
                f"CFItem {identifier} has no isChildOf association, so it is a member of the "
                "framework outside its hierarchy; add an isChildOf association",
            )
