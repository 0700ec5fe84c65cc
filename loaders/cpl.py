"""The CPL loader: California credit for prior learning (MAP articulations) as transfer values.

Input is MAP's articulation export as CSV (``map-articulations-by-course.derived.csv``),
one row per articulation: a unified course (C-ID or M-ID number), the credential
that earns credit for it, MAP's credit recommendation ("3 hours in Engine
Repair") and the number of colleges that award it. These files must sit
beside the CSV:

- ``ccc-cid_descriptors.json``: official C-ID descriptors (title, description);
- ``map-credentials-issuer-classification.json``: credential name -> issuing and
  training agencies;
- ``ccc-top_categories.json``: the Taxonomy of Programs (TOP) codes;
- ``map-course_crosswalk.json``: college courses -> C-ID/M-ID, optional. Its
  records are machine-drafted and unreviewed, and its ``top_code`` values are
  not TOP codes, so it only adds course titles to the plausibility check of
  ``loaders.cpl_subjects``, where it can clear a row but never flag one.

Documents (CTIDs from ``registry.ctid.derived_ctid``, schemes as in
docs/graph-model.md):

- ``ceterms:TransferValueProfile`` per row (scheme ``map-articulation``,
  identifier ``{course number}|{credential name}``). ``ceterms:transferValueFrom``
  is the credential and ``ceterms:transferValueFor`` the course, both by IRI.
  ``ceterms:transferValue`` is a ``ceterms:ValueProfile`` with ``schema:value``
  (or ``schema:minValue`` and ``schema:maxValue`` for "3-4 hours" and "3 or 4
  hours"), ``ceterms:creditUnitType`` ``creditUnit:SemesterHour``,
  ``schema:description`` holding the credit recommendation verbatim, and
  ``ceterms:subject`` naming the course the recommendation names. The number
  of colleges is a ``ceterms:applicability`` alignment (the receiving context)
  whose ``ceterms:weight`` is the count. The owner is the California MAP
  Initiative.
- ``ceterms:Course`` per course number. C-ID courses (scheme ``c-id``) take the
  official descriptor title and description, with MAP's title as
  ``ceterms:alternateName`` when it differs, and are owned by C-ID. M-ID
  courses, MAP's own unified courses, use scheme ``m-id`` (NOTE: not yet
  listed in docs/graph-model.md) and are owned by the California MAP Initiative.
- One credential per distinct credential name (scheme ``map-credential``); see
  ``credential_class`` for the class rule. MAP writes "AP Statistics (+4)"
  when more credentials earn the same course; the suffix is kept in the
  transfer value's description and left out of the name.
- ``ceterms:Organization`` per organization named as owner (scheme ``organization``).

Values chosen where the minimum data policy requires what the sources lack:

- ``ceterms:subjectWebpage``: C-ID courses and C-ID link to the C-ID
  descriptor listing (``C_ID_DESCRIPTORS_URL``); everything else links to MAP's
  published export (``MAP_EXPORT_URL``), the page the facts come from.
- ``ceterms:description``: credentials and M-ID courses have none in the
  sources, so theirs state what the MAP data says of them (which courses they
  earn credit for, who issues them, the discipline).
- Owner of a credential: the agency MAP's classification names as issuer
  (``ceterms:ownedBy``), else as training agency (``ceterms:offeredBy``). For
  credentials where it names neither, an owner is still required, so
  ``ceterms:ownedBy`` is a blank-node organization whose name says that the
  MAP data names no issuer; no organization is invented. The classification
  is machine-drafted and unreviewed, and the descriptions say so.
- ``ceterms:credentialStatusType`` of certifications and licenses:
  ``credentialStat:Active``, because MAP's current export lists them as
  credentials that colleges award credit for; the sources give no other status.
- Credit unit: MAP writes "hours", the wording of ACE's semester-hour
  recommendations, and C-ID counts units in semesters, so ``creditUnit:SemesterHour``.

Warnings on a document: an implausible credential/course pair (see
``loaders.cpl_subjects``), a recommendation of zero units, and text that was
repaired from mis-decoded UTF-8 ("â€”" for "—"). Malformed rows (no course or
credential, no course number, an unknown C-ID, unparsable units or college
count, a repeated articulation) are failed outcomes naming the file and line.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loaders.base import Loader, Outcome
from loaders.cpl_subjects import TopIndex, implausibility
from registry.ctid import derived_ctid
from registry.errors import RegistryError
from registry.ingest import Document, IngestWarning, parse_json_document
from registry.service import Registry
from registry.vocab import CTDL_CONTEXT_URL

DESCRIPTORS_FILE = "ccc-cid_descriptors.json"
CLASSIFICATION_FILE = "map-credentials-issuer-classification.json"
TOP_FILE = "ccc-top_categories.json"
CROSSWALK_FILE = "map-course_crosswalk.json"
COLUMNS = ("Unified Course", "Discipline", "Colleges Earned", "Credit Recommendation", "Credential")

RESOURCE_BASE = "https://credentialengineregistry.org/resources/"
MAP_EXPORT_URL = (
    "https://github.com/CPL-Initiative/cpl-project-tracker/blob/"
    "cad18d4ce13153e6ad3ede1d1a41a3cac9bf2091/exports/articulations-by-course.xlsx"
)
MAP_HOME_URL = "https://github.com/CPL-Initiative/cpl-project-tracker"
C_ID_HOME_URL = "https://c-id.net/"
C_ID_DESCRIPTORS_URL = "https://c-id.net/descriptors"
MAP_ORGANIZATION = "California MAP Initiative"
C_ID_ORGANIZATION = "Course Identification Numbering System (C-ID)"
LANGUAGE = "en-US"

UNIFIED_COURSE = re.compile(
    r"^(?P<title>.*?)\s*\((?P<number>[^()]*?)\s*·\s*(?P<system>C-ID|M-ID)\)$"
)
RECOMMENDATION = re.compile(
    r"^(?P<low>\d*\.?\d+)(?:\s*(?:-|–|or)\s*(?P<high>\d*\.?\d+))?\s+hours?\s+in\s+(?P<subject>.+)$"
)
OTHER_CREDENTIALS = re.compile(r"\s*\(\+(?P<count>\d+)\)$")
MOJIBAKE_MARKERS = ("Ã", "â€", "Â")
MISSING_NUMBERS = {"", "NULL", "N/A", "—"}

EXAM_NAME = re.compile(
    r"^(AP|CLEP|IB|DSST|DANTES)\b|\b(Advanced Placement|International Baccalaureate|"
    r"Exam|Examination|Test|Credit by Exam|CBE)\b",
    re.IGNORECASE,
)
EXAM_ISSUERS = re.compile(r"College Board|International Baccalaureate|DANTES", re.IGNORECASE)
EXAM_NOTES = re.compile(r"\bCBE\b|credit[- ]by[- ]exam", re.IGNORECASE)
LICENSE_NAME = re.compile(r"\bLicen[cs]e\b", re.IGNORECASE)


@dataclass
class Articulation:
    """One valid row of the export."""

    line: int
    system: str
    number: str
    course_title: str
    discipline: str
    colleges: int
    recommendation: str
    subject: str
    units: tuple[float, float]
    credential: str
    credential_cell: str
    credential_in_map: str
    repairs: list[tuple[str, str]]

    @property
    def course_key(self) -> tuple[str, str]:
        return self.system, self.number


@dataclass
class References:
    """The files read beside the CSV."""

    descriptors: dict[str, dict[str, Any]]
    classification: dict[str, list[dict[str, Any]]]
    top: TopIndex
    crosswalk_titles: dict[tuple[str, str], list[str]]


class CplLoader(Loader):
    """Loads MAP articulation exports; see the module docstring for the mapping."""

    name = "cpl"
    suffixes = (".csv",)

    def __init__(self, registry: Registry) -> None:
        super().__init__(registry)
        self._full_context: dict[str, Any] | None = None
        self._contexts: dict[tuple[str, ...], dict[str, Any]] = {}

    def discover(self, paths: Iterable[Path]) -> list[Path]:
        """Keep files as given; in folders take only CSV files, because the JSON files are
        references read with them."""
        found: list[Path] = []
        for path in paths:
            if path.is_dir():
                found.extend(sorted(p for p in path.rglob("*.csv") if p.is_file()))
            else:
                found.append(path)
        return found

    def read(self, path: Path) -> Iterator[Outcome]:
        source = str(path)
        if path.suffix.lower() not in self.suffixes:
            yield Outcome(source, skipped=f"{path.suffix or 'no suffix'} files are not MAP exports")
            return
        try:
            references = read_references(path.parent)
            articulations, errors = read_articulations(path, references)
        except (OSError, ValueError) as exc:
            yield Outcome(source, error=str(exc))
            return

        yield from errors
        builder = GraphBuilder(source, references, articulations)
        for node_source, graph, warnings in builder.graphs():
            yield self._outcome(node_source, graph, warnings)

    def _outcome(self, source: str, graph: list[dict[str, Any]], warnings: list) -> Outcome:
        """Parse one built JSON-LD graph into a document, as any published document is."""
        raw = {"@context": self._context(graph), "@graph": graph}
        try:
            document: Document = parse_json_document(raw, source, self.registry.loader, False)
        except RegistryError as exc:
            return Outcome(source, error=exc.detail)
        document.warnings.extend(warnings)
        return Outcome(source, document=document)


    def _context(self, graph: list[dict[str, Any]]) -> dict[str, Any]:
        """Return the pinned CTDL context cut down to its prefixes and the terms ``graph`` uses.

        The definitions are the pinned context's own, so the triples are the
        same as with the full context; processing the 600-term context for
        each of thousands of small documents would dominate the load time.
        """
        if self._full_context is None:
            self._full_context = self.registry.loader(CTDL_CONTEXT_URL)["document"]["@context"]
        full = self._full_context
        terms = sorted(_keys(graph))
        cache_key = tuple(terms)
        if cache_key not in self._contexts:
            context = {k: v for k, v in full.items() if isinstance(v, str)}
            context.update({term: full[term] for term in terms if term in full})
            self._contexts[cache_key] = context
        return self._contexts[cache_key]


def _keys(value: Any) -> set[str]:
    """Return every key of the JSON objects in ``value``, at any depth."""
    if isinstance(value, list):
        return set().union(*(_keys(item) for item in value)) if value else set()
    if isinstance(value, dict):
        return set(value).union(*(_keys(inner) for inner in value.values()))
    return set()


# --- Reading -------------------------------------------------------------------


def read_references(folder: Path) -> References:
    """Read the descriptor, classification, TOP and crosswalk files that sit beside the CSV."""
    descriptors = _read_json(folder / DESCRIPTORS_FILE)
    classification = _read_json(folder / CLASSIFICATION_FILE)
    top = _read_json(folder / TOP_FILE)
    crosswalk_path = folder / CROSSWALK_FILE
    crosswalk = _read_json(crosswalk_path) if crosswalk_path.exists() else {}
    return References(
        descriptors={d["descriptor"]: d for d in descriptors["descriptors"]},
        classification=classification,
        top=TopIndex(top["codes"]),
        crosswalk_titles=_crosswalk_titles(crosswalk),
    )


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise ValueError(
            f"{path.name} not found in {path.parent}; the cpl format reads it from the "
            "folder of the articulations CSV"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc


def _crosswalk_titles(crosswalk: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """Map (C-ID or M-ID, number) to the college course titles the crosswalk maps to it."""
    titles: dict[tuple[str, str], list[str]] = {}
    for record in crosswalk.values():
        system = record.get("id_system")
        number = str(record.get("course_id", "")).removeprefix("M-ID ").strip()
        if system in ("C-ID", "M-ID") and number:
            titles.setdefault((system, number), []).append(str(record.get("local_course_title")))
    return titles


def read_articulations(
    path: Path, references: References
) -> tuple[list[Articulation], list[Outcome]]:
    """Read every row; return the valid articulations and an error outcome per malformed row."""
    articulations: list[Articulation] = []
    errors: list[Outcome] = []
    first_line: dict[tuple[str, str, str], int] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path}: line 1 lacks the column(s) {', '.join(missing)}; a MAP export "
                f"has the columns {', '.join(COLUMNS)}"
            )
        for row in reader:
            source = f"{path}:{reader.line_num}"
            try:
                articulation = parse_row(row, reader.line_num, references)
            except ValueError as exc:
                errors.append(Outcome(source, error=str(exc)))
                continue
            key = (*articulation.course_key, articulation.credential)
            if key in first_line:
                errors.append(
                    Outcome(
                        source,
                        error=f"repeats the articulation of line {first_line[key]} "
                        f"({articulation.number} for {articulation.credential!r}); "
                        "remove one of the two rows",
                    )
                )
                continue
            first_line[key] = reader.line_num
            articulations.append(articulation)
    return articulations, errors


def parse_row(row: dict[str, Any], line: int, references: References) -> Articulation:
    """Turn one CSV row into an ``Articulation``; raise ``ValueError`` saying what is wrong."""
    repairs: list[tuple[str, str]] = []
    course_cell = _repaired(row, "Unified Course", repairs)
    credential_cell = _repaired(row, "Credential", repairs)
    recommendation = _repaired(row, "Credit Recommendation", repairs)

    title, system, number = _parse_course(course_cell, credential_cell, recommendation, references)
    if not credential_cell:
        raise ValueError(
            f"Credential is empty for the course {course_cell!r}; name the credential "
            "that earns the credit"
        )
    low, high, subject = _parse_recommendation(recommendation)
    discipline = _cell(row, "Discipline")
    return Articulation(
        line=line,
        system=system,
        number=number,
        course_title=title,
        discipline="" if discipline in ("", "—") else discipline,
        colleges=_parse_colleges(_cell(row, "Colleges Earned")),
        recommendation=recommendation,
        subject=subject,
        units=(low, high),
        credential=OTHER_CREDENTIALS.sub("", credential_cell).strip(),
        credential_cell=credential_cell,
        credential_in_map=OTHER_CREDENTIALS.sub("", _cell(row, "Credential")).strip(),
        repairs=repairs,
    )


def _cell(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def _parse_course(
    cell: str, credential: str, recommendation: str, references: References
) -> tuple[str, str, str]:
    """Return the course title, ID system and number of a Unified Course cell."""
    match = UNIFIED_COURSE.match(cell)
    if not cell:
        raise ValueError("Unified Course is empty; give the course as 'Title (NUMBER · C-ID)'")
    if not match or not match.group("title"):
        raise ValueError(
            f"Unified Course {cell!r} is not 'Title (NUMBER · C-ID)' or 'Title (NUMBER · M-ID)'"
        )
    title, number, system = (
        match.group("title"),
        match.group("number").strip(),
        match.group("system"),
    )
    if number.upper() in MISSING_NUMBERS:
        note = _pair_note(title, credential, recommendation, references)
        raise ValueError(
            f"Unified Course {cell!r} has no {system} number ({number!r}), so the course "
            f"cannot be identified; give its {system} number{note}"
        )
    if system == "C-ID" and number not in references.descriptors:
        raise ValueError(
            f"Unified Course {cell!r} names the C-ID {number!r}, which is not an approved "
            f"C-ID descriptor in {DESCRIPTORS_FILE}; correct the number"
        )
    return title, system, number


def _pair_note(title: str, credential: str, recommendation: str, references: References) -> str:
    """Return a note for an error message when the row's pair is also implausible."""
    reason = implausibility(
        [credential, _recommendation_subject(recommendation)], [title], references.top
    )
    return f" (the row is also implausible: {reason})" if reason else ""


def _recommendation_subject(recommendation: str) -> str:
    match = RECOMMENDATION.match(recommendation)
    return match.group("subject") if match else ""


def _parse_recommendation(text: str) -> tuple[float, float, str]:
    """Return the low and high units and the subject of '3 hours in X' or '3-4 hours in X'."""
    match = RECOMMENDATION.match(text)
    if not match:
        raise ValueError(
            f"Credit Recommendation {text!r} has no units that can be read; write it as "
            "'3 hours in Subject', '3-4 hours in Subject' or '3 or 4 hours in Subject'"
        )
    low = float(match.group("low"))
    high = float(match.group("high")) if match.group("high") else low
    if high < low:
        raise ValueError(
            f"Credit Recommendation {text!r} gives a range whose upper bound is below its "
            "lower bound; write the smaller number first"
        )
    return low, high, match.group("subject").strip()


def _parse_colleges(text: str) -> int:
    if not text.isdigit():
        raise ValueError(
            f"Colleges Earned {text!r} is not a whole number; give the number of colleges"
        )
    return int(text)


def _repaired(row: dict[str, Any], column: str, repairs: list[tuple[str, str]]) -> str:
    """Return a cell with UTF-8 text that was decoded as Windows-1252 ("â€”" for "—") undone.

    Each repair is added to ``repairs`` as (column, message).
    """
    text = _cell(row, column)
    fixed = text
    for _ in range(3):
        if not any(marker in fixed for marker in MOJIBAKE_MARKERS):
            break
        try:
            fixed = fixed.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            break
    if fixed != text:
        repairs.append(
            (
                column,
                f"{column} {text!r} was read as {fixed!r}: it is UTF-8 text that was "
                "decoded as Windows-1252; fix the export's encoding",
            )
        )
    return fixed


# --- Classes and owners ----------------------------------------------------------


def credential_class(name: str, entries: list[dict[str, Any]]) -> str:
    """Return the CTDL class for a MAP credential, from its name and its classification.

    An exam or a credit by exam is a ``ceterms:AssessmentProfile``: the name
    starts with AP, CLEP, IB, DSST or DANTES, or contains "Exam", "Test",
    "Advanced Placement" or "International Baccalaureate"; or the classified
    issuer is the College Board, the International Baccalaureate or DANTES; or
    the classification notes call it a credit by exam (CBE). Otherwise a name
    with "License" is a ``ceterms:License``, and the rest are ``ceterms:Certification``.
    """
    issuers = " ".join(str(e.get("issuing_agency") or "") for e in entries)
    notes = " ".join(str(e.get("_notes") or "") for e in entries)
    if EXAM_NAME.search(name) or EXAM_ISSUERS.search(issuers) or EXAM_NOTES.search(notes):
        return "ceterms:AssessmentProfile"
    if LICENSE_NAME.search(name):
        return "ceterms:License"
    return "ceterms:Certification"


def agencies(entries: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """Return the issuing and training agency of the classification entry to trust.

    The entry with an issuing agency and the highest ``confidence_issuer`` wins;
    without one, the training agency with the highest ``confidence_trainer``.
    """
    with_issuer = [e for e in entries if e.get("issuing_agency")]
    if with_issuer:
        best = max(with_issuer, key=lambda e: e.get("confidence_issuer") or 0)
        return best["issuing_agency"].strip(), (best.get("training_agency") or "").strip() or None
    with_trainer = [e for e in entries if e.get("training_agency")]
    if with_trainer:
        best = max(with_trainer, key=lambda e: e.get("confidence_trainer") or 0)
        return None, best["training_agency"].strip()
    return None, None


def resource_iri(ctid: str) -> str:
    return RESOURCE_BASE + ctid


def text(value: str) -> dict[str, str]:
    """Return a language map, as CTDL writes ``ceterms:name`` and ``ceterms:description``."""
    return {LANGUAGE: value}


def concept(scheme: str, node: str, label: str) -> dict[str, Any]:
    """Return a CredentialAlignmentObject for a concept of a CTDL concept scheme."""
    return {
        "@type": "ceterms:CredentialAlignmentObject",
        "ceterms:framework": f"https://credreg.net/ctdl/terms/{scheme}",
        "ceterms:frameworkName": text(scheme),
        "ceterms:targetNode": node,
        "ceterms:targetNodeName": text(label),
    }


def _listing(names: list[str], shown: int = 5) -> str:
    """Return 'A; B; C' or 'A; B; C and 4 more' for a description."""
    head = "; ".join(names[:shown])
    return head if len(names) <= shown else f"{head} and {len(names) - shown} more"


# --- Building documents ------------------------------------------------------------


class GraphBuilder:
    """Builds the JSON-LD graphs of the organizations, courses, credentials and transfer values."""

    def __init__(
        self, source: str, references: References, articulations: list[Articulation]
    ) -> None:
        self.source = source
        self.references = references
        self.articulations = articulations
        self.by_course: dict[tuple[str, str], list[Articulation]] = {}
        self.by_credential: dict[str, list[Articulation]] = {}
        for articulation in articulations:
            self.by_course.setdefault(articulation.course_key, []).append(articulation)
            self.by_credential.setdefault(articulation.credential, []).append(articulation)

    def graphs(self) -> Iterator[tuple[str, list[dict[str, Any]], list[IngestWarning]]]:
        """Yield (source, graph, warnings) for every document, organizations first."""
        yield from self._organizations()
        for key, rows in self.by_course.items():
            yield f"{self.source}: course {key[0]} {key[1]}", [self.course(key, rows)], []
        for name, rows in self.by_credential.items():
            yield self.credential_graph(name, rows)
        for articulation in self.articulations:
            yield self.transfer_value_graph(articulation)

    # Organizations

    def _organizations(self) -> Iterator[tuple[str, list[dict[str, Any]], list[IngestWarning]]]:
        yield self._fixed_organization(
            MAP_ORGANIZATION,
            "Mapping Articulated Pathways (MAP), the credit for prior learning initiative of "
            "the California Community Colleges, based at Riverside Community College "
            "District. It publishes the articulation data these transfer values come from.",
            MAP_HOME_URL,
        )
        yield self._fixed_organization(
            C_ID_ORGANIZATION,
            "The Course Identification Numbering System of California's public colleges and "
            "universities, whose approved descriptors define the C-ID courses.",
            C_ID_HOME_URL,
        )
        for name, roles in self._named_agencies().items():
            description = "; ".join(
                f"MAP's credential classification (machine-drafted, not yet reviewed) names "
                f"it as the {role} of: {_listing(credentials)}"
                for role, credentials in roles.items()
            )
            node = self._organization_node(name, description + ".")
            yield f"{self.source}: organization {name!r}", [node], []

    def _fixed_organization(self, name: str, description: str, webpage: str):
        node = self._organization_node(name, description)
        node["ceterms:subjectWebpage"] = webpage
        return f"{self.source}: organization {name!r}", [node], []

    def _organization_node(self, name: str, description: str) -> dict[str, Any]:
        ctid = derived_ctid("organization", name)
        return {
            "@id": resource_iri(ctid),
            "@type": "ceterms:Organization",
            "ceterms:ctid": ctid,
            "ceterms:name": text(name),
            "ceterms:description": text(description),
        }

    def _named_agencies(self) -> dict[str, dict[str, list[str]]]:
        """Map each agency the classification names to {role: [credential names]}."""
        named: dict[str, dict[str, list[str]]] = {}
        for credential in self.by_credential:
            issuer, trainer = agencies(self._entries(credential))
            for role, agency in (("issuing agency", issuer), ("training agency", trainer)):
                if agency:
                    named.setdefault(agency, {}).setdefault(role, []).append(credential)
        return named

    def _entries(self, credential: str) -> list[dict[str, Any]]:
        """Return the classification entries of a credential, under its name as MAP writes it."""
        rows = self.by_credential.get(credential, [])
        for name in [r.credential_in_map for r in rows[:1]] + [credential]:
            entries = self.references.classification.get(name)
            if isinstance(entries, list) and entries:
                return [e for e in entries if isinstance(e, dict)]
        return []

    # Courses

    def course(self, key: tuple[str, str], rows: list[Articulation]) -> dict[str, Any]:
        """Build a ceterms:Course, described from the C-ID descriptor where there is one."""
        system, number = key
        ctid = derived_ctid(system.lower(), number)
        node: dict[str, Any] = {
            "@id": resource_iri(ctid),
            "@type": "ceterms:Course",
            "ceterms:ctid": ctid,
            "ceterms:codedNotation": number,
            "ceterms:identifier": [
                {
                    "@type": "ceterms:IdentifierValue",
                    "ceterms:identifierTypeName": text(system),
                    "ceterms:identifierValueCode": number,
                }
            ],
            "ceterms:receivesTransferValueFrom": [
                resource_iri(self._articulation_ctid(r)) for r in rows
            ],
        }
        map_title = rows[0].course_title
        descriptor = self.references.descriptors.get(number) if system == "C-ID" else None
        if descriptor:
            node.update(self._descriptor_terms(descriptor, map_title))
        else:
            node.update(self._map_course_terms(number, map_title, rows[0].discipline))
        return node

    def _descriptor_terms(self, descriptor: dict[str, Any], map_title: str) -> dict[str, Any]:
        terms: dict[str, Any] = {
            "ceterms:name": text(descriptor["title"]),
            "ceterms:description": text(descriptor["description"]),
            "ceterms:subjectWebpage": C_ID_DESCRIPTORS_URL,
            "ceterms:ownedBy": [resource_iri(derived_ctid("organization", C_ID_ORGANIZATION))],
        }
        if map_title.casefold() != descriptor["title"].casefold():
            terms["ceterms:alternateName"] = text(map_title)
        return terms

    def _map_course_terms(self, number: str, title: str, discipline: str) -> dict[str, Any]:
        where = f" in the discipline {discipline}" if discipline else ""
        return {
            "ceterms:name": text(title),
            "ceterms:description": text(
                f"A course that MAP unifies under M-ID {number}{where}, for which California "
                "community colleges award credit for prior learning. The MAP data gives its "
                "title but no course description."
            ),
            "ceterms:subjectWebpage": MAP_EXPORT_URL,
            "ceterms:ownedBy": [resource_iri(derived_ctid("organization", MAP_ORGANIZATION))],
        }

    # Credentials

    def credential_graph(self, name: str, rows: list[Articulation]):
        """Build a credential (or assessment) document with its owner and transfer values."""
        entries = self._entries(name)
        ctdl_class = credential_class(name, entries)
        issuer, trainer = agencies(entries)
        ctid = derived_ctid("map-credential", name)
        node: dict[str, Any] = {
            "@id": resource_iri(ctid),
            "@type": ctdl_class,
            "ceterms:ctid": ctid,
            "ceterms:name": text(name),
            "ceterms:description": text(self._credential_description(name, rows, issuer, trainer)),
            "ceterms:subjectWebpage": MAP_EXPORT_URL,
            "ceterms:providesTransferValueFor": [
                resource_iri(self._articulation_ctid(r)) for r in rows
            ],
        }
        if ctdl_class != "ceterms:AssessmentProfile":
            node["ceterms:credentialStatusType"] = [
                concept("CredentialStatus", "credentialStat:Active", "Active")
            ]
        graph = [node]
        if issuer:
            node["ceterms:ownedBy"] = [resource_iri(derived_ctid("organization", issuer))]
        if trainer:
            node["ceterms:offeredBy"] = [resource_iri(derived_ctid("organization", trainer))]
        if not issuer and not trainer:
            node["ceterms:ownedBy"] = ["_:issuer"]
            graph.append(self._unnamed_issuer(name))
        warnings = [
            IngestWarning(f"{self.source}:{rows[0].line}", column, message)
            for column, message in rows[0].repairs
            if column == "Credential"
        ]
        return f"{self.source}: credential {name!r}", graph, warnings

    def _credential_description(
        self, name: str, rows: list[Articulation], issuer: str | None, trainer: str | None
    ) -> str:
        courses = [f"{r.course_title} ({r.system} {r.number})" for r in rows]
        parts = [
            f"{name} earns credit for prior learning at California community colleges in "
            f"MAP's articulations, for {len(rows)} course(s): {_listing(courses)}."
        ]
        if issuer:
            parts.append(f"MAP's credential classification names {issuer} as its issuing agency.")
        if trainer:
            parts.append(f"It names {trainer} as its training agency.")
        if not issuer and not trainer:
            parts.append("MAP's credential classification names no issuing or training agency.")
        if issuer or trainer:
            parts.append("That classification is machine-drafted and not yet reviewed.")
        return " ".join(parts)

    def _unnamed_issuer(self, name: str) -> dict[str, Any]:
        return {
            "@id": "_:issuer",
            "@type": "ceterms:Organization",
            "ceterms:name": text("Issuer not named in the MAP data"),
            "ceterms:description": text(
                f"MAP's credential classification names no issuing or training agency for {name}."
            ),
        }

    # Transfer values

    def _articulation_ctid(self, articulation: Articulation) -> str:
        return derived_ctid("map-articulation", f"{articulation.number}|{articulation.credential}")

    def transfer_value_graph(self, articulation: Articulation):
        """Build the TransferValueProfile of one row, with its warnings."""
        row = articulation
        ctid = self._articulation_ctid(row)
        course_label = f"{row.course_title} ({row.system} {row.number})"
        node = {
            "@id": resource_iri(ctid),
            "@type": "ceterms:TransferValueProfile",
            "ceterms:ctid": ctid,
            "ceterms:name": text(f"{row.credential}: credit for {course_label}"),
            "ceterms:description": text(self._transfer_description(row, course_label)),
            "ceterms:subjectWebpage": MAP_EXPORT_URL,
            "ceterms:ownedBy": [resource_iri(derived_ctid("organization", MAP_ORGANIZATION))],
            "ceterms:transferValue": [self._value_profile(row)],
            "ceterms:transferValueFrom": [
                resource_iri(derived_ctid("map-credential", row.credential))
            ],
            "ceterms:transferValueFor": [
                resource_iri(derived_ctid(row.system.lower(), row.number))
            ],
            "ceterms:applicability": [
                {
                    "@type": "ceterms:CredentialAlignmentObject",
                    "ceterms:targetNodeName": text(
                        "California community colleges that award this credit"
                    ),
                    "ceterms:targetNodeDescription": text(
                        f"{row.colleges} college(s), MAP's 'Colleges Earned'"
                    ),
                    "ceterms:weight": row.colleges,
                }
            ],
        }
        return f"{self.source}:{row.line}", [node], self._row_warnings(row)

    def _transfer_description(self, row: Articulation, course_label: str) -> str:
        text_ = (
            f"MAP recommends {row.recommendation} for {row.credential}, as credit for "
            f"{course_label}; {row.colleges} California community college(s) award it."
        )
        if row.credential_cell != row.credential:
            text_ += (
                f" MAP lists the credential as {row.credential_cell!r}: more credentials earn "
                "credit for the same course."
            )
        return text_

    def _value_profile(self, row: Articulation) -> dict[str, Any]:
        low, high = row.units
        profile: dict[str, Any] = {
            "@type": "ceterms:ValueProfile",
            "ceterms:creditUnitType": [
                concept("CreditUnit", "creditUnit:SemesterHour", "Semester Hour")
            ],
            "schema:description": text(row.recommendation),
            "ceterms:subject": [
                {
                    "@type": "ceterms:CredentialAlignmentObject",
                    "ceterms:targetNodeName": text(row.subject),
                }
            ],
        }
        if low == high:
            profile["schema:value"] = low
        else:
            profile["schema:minValue"] = low
            profile["schema:maxValue"] = high
        return profile

    def _row_warnings(self, row: Articulation) -> list[IngestWarning]:
        """Warn about an implausible pair, zero units and repaired text in one row."""
        source = f"{self.source}:{row.line}"
        warnings = [IngestWarning(source, column, message) for column, message in row.repairs]
        reason = implausibility(
            self._credential_side(row), self._course_side(row), self.references.top
        )
        if reason:
            warnings.append(
                IngestWarning(
                    source,
                    "Unified Course/Credential",
                    f"implausible articulation: {row.course_title!r} ({row.system} "
                    f"{row.number}) credited for {row.credential!r}, because {reason}; "
                    "check the row against MAP before relying on this transfer value",
                )
            )
        if row.units[1] == 0:
            warnings.append(
                IngestWarning(
                    source,
                    "Credit Recommendation",
                    f"{row.recommendation!r} awards 0 units; it was loaded as a transfer "
                    "value of 0 semester hours",
                )
            )
        return warnings

    def _credential_side(self, row: Articulation) -> list[str]:
        issuer, trainer = agencies(self._entries(row.credential))
        return [row.credential, issuer or "", trainer or "", row.subject]

    def _course_side(self, row: Articulation) -> list[str]:
        side = [row.course_title, row.discipline]
        descriptor = self.references.descriptors.get(row.number) if row.system == "C-ID" else None
        if descriptor:
            side += [descriptor["title"], descriptor["description"]]
        side += self.references.crosswalk_titles.get(row.course_key, [])
        return side
