"""The JSON-LD graphs that the cpl loader builds from MAP articulations.

Documents (CTIDs from ``registry.ctid.derived_ctid``, schemes as in
docs/graph-model.md):

- ``ceterms:TransferValueProfile`` per row (scheme ``map-articulation``,
  identifier ``{course number}|{credential name}``). ``ceterms:transferValueFrom``
  is the credential and ``ceterms:transferValueFor`` the course, both by IRI.
  ``ceterms:transferValue`` is a ``ceterms:ValueProfile`` with ``schema:value``
  (or ``schema:minValue`` and ``schema:maxValue`` for "3-4 hours" and "3 or 4
  hours"), ``ceterms:creditUnitType`` ``creditUnit:DegreeCredit``,
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
  where, judging by the data, more credentials earn the same course. NOTE:
  MAP does not document the suffix, so it is quoted in the transfer value's
  description, left out of the credential's name, and not interpreted.
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
- Credit unit: ``creditUnit:DegreeCredit`` (credit toward a college degree),
  as the reference registry's ACE transfer values use. MAP counts "hours"
  without saying whether they are semester or quarter hours, so the more
  specific ``creditUnit:SemesterHour`` would claim more than the data says.

Warnings on a document: an implausible credential/course pair (see
``loaders.cpl_subjects``), a recommendation of zero units, and text that was
repaired from mis-decoded UTF-8 ("â€”" for "—").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from loaders.cpl_subjects import TopIndex, implausibility
from registry.ctid import derived_ctid
from registry.ingest import IngestWarning

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
        trainer = str(best.get("training_agency") or "").strip() or None
        return str(best["issuing_agency"]).strip(), trainer
    with_trainer = [e for e in entries if e.get("training_agency")]
    if with_trainer:
        best = max(with_trainer, key=lambda e: e.get("confidence_trainer") or 0)
        return None, str(best["training_agency"]).strip()
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


def _listing(names: list[str], limit: int = 5) -> str:
    """Return 'A; B; C' or 'A; B; C and 4 more' for a description."""
    head = "; ".join(names[:limit])
    return head if len(names) <= limit else f"{head} and {len(names) - limit} more"


# --- Building documents ------------------------------------------------------------


class GraphBuilder:
    """Builder of the organization, course, credential and transfer value graphs of an export."""

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
        graph = [node, *self._add_owner(node, name, issuer, trainer)]

        warnings = [
            IngestWarning(f"{self.source}:{rows[0].line}", column, message)
            for column, message in rows[0].repairs
            if column == "Credential"
        ]
        return f"{self.source}: credential {name!r}", graph, warnings

    def _add_owner(
        self, node: dict[str, Any], name: str, issuer: str | None, trainer: str | None
    ) -> list[dict[str, Any]]:
        """Add the owner and offerer to a credential node; return the blank nodes it needs."""
        if issuer:
            node["ceterms:ownedBy"] = [resource_iri(derived_ctid("organization", issuer))]
        if trainer:
            node["ceterms:offeredBy"] = [resource_iri(derived_ctid("organization", trainer))]
        if issuer or trainer:
            return []

        node["ceterms:ownedBy"] = ["_:issuer"]
        return [self._unnamed_issuer(name)]

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
            text_ += f" MAP lists the credential as {row.credential_cell!r}."
        return text_

    def _value_profile(self, row: Articulation) -> dict[str, Any]:
        low, high = row.units
        profile: dict[str, Any] = {
            "@type": "ceterms:ValueProfile",
            "ceterms:creditUnitType": [
                concept("CreditUnit", "creditUnit:DegreeCredit", "Degree Credit")
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
        """Return the warnings of one row: an implausible pair, zero units, repaired text."""
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
                    f"{row.recommendation!r} awards no units; it was loaded with "
                    "schema:value 0, so check with MAP whether the articulation grants credit",
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
