"""The ESCO loader: ESCO occupations, skills and their relations as CTDL.

Run it on an ESCO CSV folder named for its version, optionally with the
ESCO to O*NET crosswalk and the O*NET-SOC 2019 list::

    registry load --format esco ../shared/data/esco/v1.1.1 \\
        ../shared/data/occupations/nesta-esco_onet_crosswalk_Nov2020.csv

The folder contains ``occupations_en.csv`` and may contain ``ISCOGroups_en.csv``
(the names of ISCO groups), a skills file (``skills_en.csv``, or the subset
``subset-ict_skills_en.csv``) and an occupation-skill relations file
(``occupationSkillRelations_en.csv``, ``occupationSkillRelations.csv`` or
``subset-ict_occupationSkillRelations.csv``). The full file wins when both
are present. Other files in the folder (skill groups, the skills hierarchy,
collections) are not read.

What is written, following ``docs/graph-model.md``:

- one ``ceasn:CompetencyFramework`` document per ESCO version (CTID
  ``derived_ctid("esco-skills", version)``) holding every skill of the
  skills file as a ``ceasn:Competency`` (CTID ``derived_ctid("esco", URI)``);
  ``ceasn:competencyText`` is the ESCO description, or the preferred label
  when there is none, and ``ceasn:competencyCategory`` the skill type;
- one ``ceterms:Occupation`` document per row of ``occupations_en.csv``
  (CTID ``derived_ctid("esco", URI)``), with ``ceterms:occupationType``
  alignments to its ESCO code and its ISCO-08 unit group;
- each relation as a ``ceterms:targetCompetency`` alignment on the
  occupation, with ``ceterms:alignmentType`` ``ESSENTIAL`` or ``OPTIONAL``
  below, and each essential one also as ``ceasn:skillEmbodied`` or
  ``ceasn:knowledgeEmbodied`` by its skill type;
- with the crosswalk, an ``occupationType`` alignment to the O*NET-SOC
  2010 code it gives, and ``ceterms:isSimilarTo`` the O*NET-SOC 2019
  occupation with the same code when that code is in the O*NET-SOC 2019
  list. The list is the O*NET-SOC 2019 CSV given as another path, or else
  the CSV beside the crosswalk whose header is
  ``O*NET-SOC Code,Title,Description``.

The crosswalk uses 2010 codes. About a fifth of them are not O*NET-SOC
2019 codes, and those occupations get the 2010 alignment only.

``ceterms:alignmentType`` takes an IRI (the CTDL context declares it
``"@type": "@id"``, so a plain string such as "essential" would be
dropped), and CTDL has no concept for essential or optional. The values are
therefore the ESCO ontology's properties for the two relations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loaders.base import Loader, Outcome
from loaders.occupations_common import (
    Row,
    Table,
    alignment,
    duplicate_error,
    graph_document,
    header_columns,
    parse,
    read_table,
    resource_iri,
    text,
)
from loaders.onet import COLUMNS as ONET_COLUMNS
from loaders.onet import onet_iri
from registry.ctid import derived_ctid
from registry.ingest import IngestWarning

OCCUPATIONS = "occupations_en.csv"
ISCO_GROUPS = "ISCOGroups_en.csv"
SKILLS = ("skills_en.csv", "subset-ict_skills_en.csv")
RELATIONS = (
    "occupationSkillRelations_en.csv",
    "occupationSkillRelations.csv",
    "subset-ict_occupationSkillRelations.csv",
)

OCCUPATION_COLUMNS = ("conceptUri", "iscoGroup", "preferredLabel", "altLabels", "description")
SKILL_COLUMNS = ("conceptUri", "skillType", "preferredLabel", "description")
RELATION_COLUMNS = ("occupationUri", "relationType", "skillType", "skillUri")
ISCO_COLUMNS = ("conceptUri", "code", "preferredLabel")
CROSSWALK_COLUMNS = ("concept_uri", "onet_code", "onet_occupation")

ESSENTIAL = "http://data.europa.eu/esco/model#relatedEssentialSkill"
OPTIONAL = "http://data.europa.eu/esco/model#relatedOptionalSkill"
RELATION_TYPES = {"essential": ESSENTIAL, "optional": OPTIONAL}
EMBODIED = {"knowledge": "ceasn:knowledgeEmbodied", "skill/competence": "ceasn:skillEmbodied"}

ESCO_HOME = "https://esco.ec.europa.eu/"
ISCO_HOME = "https://www.ilo.org/public/english/bureau/stat/isco/isco08/"
ONET_HOME = "https://www.onetcenter.org/taxonomy.html"
PUBLISHER = "European Commission"

VERSION = re.compile(r"v\d+(\.\d+)*")
OCCUPATION_URI = re.compile(r"http://data\.europa\.eu/esco/occupation/[\w-]+")
SKILL_URI = re.compile(r"http://data\.europa\.eu/esco/skill/[\w-]+")
ISCO_CODE = re.compile(r"\d{4}")
ONET_2010_CODE = re.compile(r"\d{2}-\d{4}\.\d{2}")


def esco_ctid(uri: str) -> str:
    """Return the CTID of an ESCO concept (occupation or skill) by its URI."""
    return derived_ctid("esco", uri)


def framework_ctid(version: str) -> str:
    """Return the CTID of the skills framework of an ESCO version, e.g. ``v1.1.1``."""
    return derived_ctid("esco-skills", version)


@dataclass
class Skill:
    row: Row
    uri: str
    label: str
    skill_type: str
    description: str

    @property
    def iri(self) -> str:
        return resource_iri(esco_ctid(self.uri))


@dataclass
class Relation:
    row: Row
    kind: str
    skill: Skill
    skill_type: str


@dataclass
class CrosswalkMatch:
    row: Row
    code: str
    title: str


@dataclass
class Folder:
    """The contents read from one ESCO folder, and the problems found while reading it."""

    path: Path
    version: str
    isco_names: dict[str, tuple[str, str]] = field(default_factory=dict)
    skills: dict[str, Skill] = field(default_factory=dict)
    skills_file: Path | None = None
    relations: dict[str, list[Relation]] = field(default_factory=dict)
    relation_warnings: dict[str, list[IngestWarning]] = field(default_factory=dict)
    crosswalk: dict[str, CrosswalkMatch] = field(default_factory=dict)
    onet_codes: set[str] | None = None
    problems: list[Outcome] = field(default_factory=list)
    framework_warnings: list[IngestWarning] = field(default_factory=list)

    @property
    def framework_iri(self) -> str:
        return resource_iri(framework_ctid(self.version))


class EscoLoader(Loader):
    """Loads an ESCO CSV folder: occupations, a skills framework and their relations."""

    name = "esco"
    suffixes = (".csv",)

    def __init__(self, registry: Any) -> None:
        super().__init__(registry)
        self.crosswalk: Path | None = None
        self.onet_list: Path | None = None

    def discover(self, paths: Iterable[Path]) -> list[Path]:
        """Return the ESCO folders to read, and note the crosswalk and O*NET-SOC 2019 list.

        A folder without ``occupations_en.csv`` is read as the version folders
        under it that have one (``esco/`` as ``esco/v1.1.1``). A path that is
        none of these is returned too, so that ``read`` reports it.
        """
        units: list[Path] = []
        for path in paths:
            columns = header_columns(path) if path.is_file() else set()
            versions = _version_folders(path)
            if versions:
                units.extend(versions)
            elif path.is_file() and path.name == OCCUPATIONS:
                units.append(path.parent)
            elif set(CROSSWALK_COLUMNS) <= columns:
                self.crosswalk = path
            elif set(ONET_COLUMNS) <= columns:
                self.onet_list = path
            else:
                units.append(path)
        if self.crosswalk is not None and self.onet_list is None:
            self.onet_list = _onet_list_beside(self.crosswalk)
        if self.crosswalk is not None and not units:
            units.append(self.crosswalk)
        return list(dict.fromkeys(units))

    def read(self, path: Path) -> Iterator[Outcome]:
        if path == self.crosswalk:
            yield Outcome(
                str(path),
                error="a crosswalk is read together with an ESCO folder; give the folder too, "
                "e.g. registry load --format esco esco/v1.1.1 CROSSWALK.csv",
            )
            return
        if not (path / OCCUPATIONS).is_file():
            yield Outcome(
                str(path),
                error=f"not an ESCO folder: it has no {OCCUPATIONS}; give the folder of an "
                "ESCO CSV download, e.g. esco/v1.1.1",
            )
            return
        if not VERSION.fullmatch(path.name):
            yield Outcome(
                str(path),
                error=f"the folder name {path.name!r} is not an ESCO version such as v1.1.1; "
                "the loader takes the version from the folder name, so rename the folder",
            )
            return
        yield from self._read_folder(path)

    def _read_folder(self, path: Path) -> Iterator[Outcome]:
        folder = Folder(path, path.name)
        _read_isco_groups(folder)
        _read_skills(folder)
        _read_relations(folder)
        if self.crosswalk is not None:
            _read_crosswalk(folder, self.crosswalk)
            folder.onet_codes = _read_onet_codes(folder, self.crosswalk, self.onet_list)
        yield from folder.problems

        if folder.skills_file is not None:
            source = str(folder.skills_file)
            yield parse(self, _framework_document(folder), source, folder.framework_warnings)
        yield from self._occupations(folder)

    def _occupations(self, folder: Folder) -> Iterator[Outcome]:
        """Yield one outcome per occupation row, then report links to unknown occupations."""
        reported = len(folder.problems)
        table = _table(folder, folder.path / OCCUPATIONS, OCCUPATION_COLUMNS)
        yield from folder.problems[reported:]
        seen: dict[str, Row] = {}
        for row in table.rows:
            uri = row.get("conceptUri")
            error = _check_occupation(row, uri)
            if error is None and uri in seen:
                error = duplicate_error(row, "conceptUri", uri, seen[uri])
            if error is not None:
                yield error
                continue
            seen[uri] = row
            raw, warnings = _occupation_document(folder, row, uri)
            yield parse(self, raw, row.source, warnings)
        yield from _unmatched(folder, set(seen))


# --- Reading the folder's files ----------------------------------------------------


def _table(folder: Folder, path: Path, columns: tuple[str, ...]) -> Table:
    """Read a CSV file of the folder and record its errors, or one error if columns are missing."""
    table = read_table(path)
    folder.problems.extend(table.errors)
    if table.header and not table.has_columns(columns):
        missing = ", ".join(repr(c) for c in columns if c not in table.header)
        folder.problems.append(
            Outcome(
                f"{path}:1",
                error=f"the header lacks the column(s) {missing}, so the file was not read; "
                "use the English CSV files of the ESCO download",
            )
        )
        table.rows = []
    return table


def _first_present(folder: Path, names: tuple[str, ...]) -> Path | None:
    return next((folder / name for name in names if (folder / name).is_file()), None)


def _read_isco_groups(folder: Folder) -> None:
    path = folder.path / ISCO_GROUPS
    if not path.is_file():
        return
    for row in _table(folder, path, ISCO_COLUMNS).rows:
        folder.isco_names[row.get("code")] = (row.get("conceptUri"), row.get("preferredLabel"))


def _read_skills(folder: Folder) -> None:
    """Read the skills file into ``folder.skills``. An empty skill type is a warning."""
    path = _first_present(folder.path, SKILLS)
    if path is None:
        return
    folder.skills_file = path
    for row in _table(folder, path, SKILL_COLUMNS).rows:
        uri, label = row.get("conceptUri"), row.get("preferredLabel")
        if not SKILL_URI.fullmatch(uri):
            folder.problems.append(_bad_uri(row, "conceptUri", uri, "skill"))
        elif uri in folder.skills:
            folder.problems.append(duplicate_error(row, "conceptUri", uri, folder.skills[uri].row))
        elif not label:
            folder.problems.append(
                Outcome(row.source, error=f"preferredLabel is empty for {uri}; add the label")
            )
        else:
            skill = Skill(row, uri, label, row.get("skillType"), row.get("description"))
            folder.skills[uri] = skill
            if not skill.skill_type:
                folder.framework_warnings.append(_empty_skill_type(row, label))


def _read_relations(folder: Folder) -> None:
    """Read the relations file into ``folder.relations``, keyed by occupation URI."""
    path = _first_present(folder.path, RELATIONS)
    if path is None:
        return
    if folder.skills_file is None:
        folder.problems.append(
            Outcome(
                str(path),
                error=f"the folder has relations but no skills file ({' or '.join(SKILLS)}), "
                "so no relation was loaded; add the skills file",
            )
        )
        return
    seen: dict[tuple[str, str], Row] = {}
    for row in _table(folder, path, RELATION_COLUMNS).rows:
        relation = _read_relation(folder, row)
        if relation is None:
            continue
        key = (row.get("occupationUri"), relation.skill.uri)
        if key in seen:
            folder.problems.append(duplicate_error(row, "relation", " -> ".join(key), seen[key]))
            continue
        seen[key] = row
        folder.relations.setdefault(key[0], []).append(relation)


def _read_relation(folder: Folder, row: Row) -> Relation | None:
    """Check one relation row. Record an error and return ``None`` if it is unusable."""
    occupation, kind, skill_uri = (
        row.get("occupationUri"),
        row.get("relationType"),
        row.get("skillUri"),
    )
    problem = None
    if not OCCUPATION_URI.fullmatch(occupation):
        problem = _bad_uri(row, "occupationUri", occupation, "occupation")
    elif kind not in RELATION_TYPES:
        problem = Outcome(
            row.source, error=f"relationType {kind!r} is neither 'essential' nor 'optional'"
        )
    elif skill_uri not in folder.skills:
        problem = Outcome(
            row.source,
            error=f"skillUri {skill_uri!r} is not in {folder.skills_file}, so the relation was "
            "not loaded; add the skill to the skills file or correct the URI",
        )
    if problem is not None:
        folder.problems.append(problem)
        return None

    skill = folder.skills[skill_uri]
    skill_type = row.get("skillType")
    if not skill_type:
        warning = _empty_skill_type(row, skill.label, skill.skill_type, kind)
        folder.relation_warnings.setdefault(occupation, []).append(warning)
    return Relation(row, kind, skill, skill_type or skill.skill_type)


def _read_crosswalk(folder: Folder, path: Path) -> None:
    """Read the crosswalk into ``folder.crosswalk``, keyed by ESCO occupation URI."""
    for row in _table(folder, path, CROSSWALK_COLUMNS).rows:
        uri, code = row.get("concept_uri"), row.get("onet_code")
        if not OCCUPATION_URI.fullmatch(uri):
            folder.problems.append(_bad_uri(row, "concept_uri", uri, "occupation"))
        elif not ONET_2010_CODE.fullmatch(code):
            folder.problems.append(
                Outcome(
                    row.source,
                    error=f"onet_code {code!r} is not an O*NET-SOC code; write it like 15-1199.09",
                )
            )
        elif uri in folder.crosswalk:
            folder.problems.append(
                duplicate_error(row, "concept_uri", uri, folder.crosswalk[uri].row)
            )
        else:
            folder.crosswalk[uri] = CrosswalkMatch(row, code, row.get("onet_occupation"))


def _read_onet_codes(folder: Folder, crosswalk: Path, onet_list: Path | None) -> set[str] | None:
    """Return the O*NET-SOC 2019 codes, or ``None`` (with an error) if there is no list."""
    if onet_list is None:
        folder.problems.append(
            Outcome(
                str(crosswalk),
                error="no O*NET-SOC 2019 list was given or found beside the crosswalk, so no "
                "ceterms:isSimilarTo link was written; give the O*NET-SOC 2019 CSV as "
                "another PATH",
            )
        )
        return None
    table = read_table(onet_list)
    return {row.get("O*NET-SOC Code") for row in table.rows}


def _version_folders(path: Path) -> list[Path]:
    """Return the subfolders of a folder that contain ``occupations_en.csv``, sorted."""
    if not path.is_dir() or (path / OCCUPATIONS).is_file():
        return []
    return sorted(child for child in path.iterdir() if (child / OCCUPATIONS).is_file())


def _onet_list_beside(crosswalk: Path) -> Path | None:
    """Return the CSV next to the crosswalk whose header is the O*NET-SOC 2019 one."""
    for candidate in sorted(crosswalk.parent.glob("*.csv")):
        if set(ONET_COLUMNS) <= header_columns(candidate):
            return candidate
    return None


def _unmatched(folder: Folder, occupations: set[str]) -> Iterator[Outcome]:
    """Report relations and crosswalk rows that name an occupation the folder lacks."""
    for uri, relations in sorted(folder.relations.items()):
        if uri not in occupations:
            for relation in relations:
                yield Outcome(
                    relation.row.source,
                    error=f"occupationUri {uri!r} is not in {folder.path / OCCUPATIONS}, so the "
                    "relation was not loaded; correct the URI or add the occupation",
                )
    for uri, match in sorted(folder.crosswalk.items()):
        if uri not in occupations:
            yield Outcome(
                match.row.source,
                skipped=f"the crosswalk names the ESCO occupation {uri}, which is not in "
                f"ESCO {folder.version}; the row was not used",
            )


def _bad_uri(row: Row, column: str, value: str, kind: str) -> Outcome:
    return Outcome(
        row.source,
        error=f"{column} {value!r} is not an ESCO {kind} URI; write it like "
        f"http://data.europa.eu/esco/{kind}/ followed by the concept's UUID",
    )


def _empty_skill_type(row: Row, label: str, fallback: str = "", kind: str = "") -> IngestWarning:
    """Describe an empty skillType and what the loader did instead."""
    if not kind:
        consequence = "the competency has no ceasn:competencyCategory"
    elif fallback:
        consequence = f"the skills file's type {fallback!r} was used"
    elif kind == "essential":
        consequence = (
            "the relation is written as ceterms:targetCompetency only, not as "
            "ceasn:skillEmbodied or ceasn:knowledgeEmbodied"
        )
    else:
        consequence = "the relation is written as ceterms:targetCompetency, as usual"
    return IngestWarning(
        row.source,
        "skillType",
        f"{row.source}: skillType is empty for {label!r}, so {consequence}; set it to "
        "'knowledge' or 'skill/competence'",
    )


# --- Building the documents --------------------------------------------------------


def _check_occupation(row: Row, uri: str) -> Outcome | None:
    if not OCCUPATION_URI.fullmatch(uri):
        return _bad_uri(row, "conceptUri", uri, "occupation")
    if not row.get("preferredLabel"):
        return Outcome(row.source, error=f"preferredLabel is empty for {uri}; add the label")
    return None


def _framework_document(folder: Folder) -> dict[str, Any]:
    """Build the framework document: the framework, then every skill as a competency."""
    ctid = framework_ctid(folder.version)
    skills = sorted(folder.skills.values(), key=lambda s: s.uri)
    framework = {
        "@id": folder.framework_iri,
        "@type": "ceasn:CompetencyFramework",
        "ceterms:ctid": ctid,
        "ceasn:name": text(f"ESCO skills {folder.version}"),
        "ceasn:description": text(
            f"The knowledge, skill and competence concepts of ESCO {folder.version} (European "
            "Skills, Competences, Qualifications and Occupations) listed in "
            f"{folder.skills_file.name if folder.skills_file else ''}: {len(skills)} concepts."
        ),
        "ceasn:inLanguage": "en",
        "ceasn:publisherName": text(PUBLISHER),
        "ceasn:source": ESCO_HOME,
        "ceasn:hasTopChild": [skill.iri for skill in skills],
    }
    return graph_document(ctid, [framework, *(_competency(folder, s) for s in skills)])


def _competency(folder: Folder, skill: Skill) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": skill.iri,
        "@type": "ceasn:Competency",
        "ceterms:ctid": esco_ctid(skill.uri),
        "ceasn:competencyLabel": text(skill.label),
        "ceasn:competencyText": text(skill.description or skill.label),
        "ceasn:isPartOf": folder.framework_iri,
        "ceasn:isTopChildOf": folder.framework_iri,
        "ceasn:exactAlignment": skill.uri,
    }
    if skill.skill_type:
        node["ceasn:competencyCategory"] = text(skill.skill_type)
    return node


def _occupation_document(
    folder: Folder, row: Row, uri: str
) -> tuple[dict[str, Any], list[IngestWarning]]:
    """Build one occupation's document and the warnings about it."""
    ctid = esco_ctid(uri)
    label = row.get("preferredLabel")
    warnings = list(folder.relation_warnings.get(uri, []))
    node: dict[str, Any] = {
        "@id": resource_iri(ctid),
        "@type": "ceterms:Occupation",
        "ceterms:ctid": ctid,
        "ceterms:name": text(label),
        "ceterms:sameAs": uri,
        "ceterms:occupationType": _occupation_types(folder, row, uri, warnings),
    }
    description = row.get("description") or row.get("definition")
    if description:
        node["ceterms:description"] = text(description)
    alternate = _alternate_names(row.get("altLabels"), label)
    if alternate:
        node["ceterms:alternateName"] = text(alternate)
    _add_onet_similarity(folder, uri, node)
    _add_skills(folder, uri, node)
    return graph_document(ctid, [node]), warnings


def _occupation_types(
    folder: Folder, row: Row, uri: str, warnings: list[IngestWarning]
) -> list[dict[str, Any]]:
    """Return the alignments to the ESCO code, the ISCO group and the O*NET-SOC 2010 code."""
    label = row.get("preferredLabel")
    types = []
    if row.get("code"):
        types.append(
            alignment(row.get("code"), label, ESCO_HOME, f"ESCO occupations {folder.version}", uri)
        )
    isco = row.get("iscoGroup")
    if not ISCO_CODE.fullmatch(isco):
        warnings.append(
            IngestWarning(
                row.source,
                "iscoGroup",
                f"iscoGroup {isco!r} is not a four-digit ISCO-08 unit group code, so the "
                "occupation has no ISCO alignment; correct the code",
            )
        )
    else:
        if folder.isco_names and isco not in folder.isco_names:
            warnings.append(
                IngestWarning(
                    row.source,
                    "iscoGroup",
                    f"iscoGroup {isco!r} is not in {ISCO_GROUPS}, so its ISCO alignment has no "
                    "name; check the code",
                )
            )
        isco_uri, isco_name = folder.isco_names.get(isco, ("", ""))
        types.append(alignment(isco, isco_name, ISCO_HOME, "ISCO-08", isco_uri or None))
    match = folder.crosswalk.get(uri)
    if match is not None:
        types.append(alignment(match.code, match.title, ONET_HOME, "O*NET-SOC 2010"))
    return types


def _alternate_names(alt_labels: str, label: str) -> list[str]:
    """Split ESCO's newline-separated alternative labels, without the preferred one."""
    names = (name.strip() for name in alt_labels.splitlines())
    return [name for name in dict.fromkeys(names) if name and name != label]


def _add_onet_similarity(folder: Folder, uri: str, node: dict[str, Any]) -> None:
    match = folder.crosswalk.get(uri)
    if match is not None and folder.onet_codes and match.code in folder.onet_codes:
        node["ceterms:isSimilarTo"] = [onet_iri(match.code)]


def _add_skills(folder: Folder, uri: str, node: dict[str, Any]) -> None:
    """Add the occupation's skills: embodied links for essential ones, alignments for all."""
    relations = sorted(folder.relations.get(uri, []), key=lambda r: (r.kind, r.skill.uri))
    for relation in relations:
        term = EMBODIED.get(relation.skill_type)
        if relation.kind == "essential" and term:
            node.setdefault(term, []).append(relation.skill.iri)
    if relations:
        node["ceterms:targetCompetency"] = [_skill_alignment(folder, r) for r in relations]


def _skill_alignment(folder: Folder, relation: Relation) -> dict[str, Any]:
    return {
        "@type": "ceterms:CredentialAlignmentObject",
        "ceterms:targetNode": relation.skill.iri,
        "ceterms:targetNodeName": text(relation.skill.label),
        "ceterms:alignmentType": RELATION_TYPES[relation.kind],
        "ceterms:framework": folder.framework_iri,
        "ceterms:frameworkName": text(f"ESCO skills {folder.version}"),
    }
