"""The OSMT loader: Open Skills Network rich skill descriptors (RSDs), OSMT API v3.

Accepted files: a single RSD (``"type": "RichSkillDescriptor"``), a collection
with embedded skills (``"type": "RichSkillCollection"``), a skill list (a JSON
array of RSDs or RSD summaries), and batch-import CSV files with skill rows.
OSMT's other API responses (category lists, audit logs, job-code searches) and
header-only CSV templates are skipped with the reason.

Every ``ceasn:Competency`` needs its framework, so:

- a collection becomes a ``ceasn:CompetencyFramework`` with its skills as
  members; its CTID is derived from the collection's ``id`` URL;
- loose skills (a single RSD, a skill list, a CSV file) go into one framework
  per source file. Its CTID is derived from the OSMT instance's skills URL and
  the file name (``http://host/api/skills#skills-list-v3.json``), so loading
  the same file again replaces that framework.

A skill's CTID is derived from its ``id`` URL (scheme ``osmt``); a CSV row has
none, so its CTID is derived from the file name and the skill name. A skill
that names the collections it belongs to also gets ``ceasn:isPartOf`` those
collections' frameworks.

Mapping: ``skillStatement`` to ``ceasn:competencyText``, ``skillName`` to
``ceasn:competencyLabel``, ``categories`` to ``ceasn:competencyCategory``,
``keywords`` to ``ceasn:conceptKeyword``, ``authors`` to ``ceasn:author``,
``creator`` (an organization IRI) to ``ceasn:creator``, ``status`` to
``ceasn:publicationStatusType``. Alignments and standards with an IRI become
``ceasn:alignTo``; occupations become ``ceterms:occupationType`` alignment
objects with ``ceterms:codedNotation`` (BLS SOC 2018 or O*NET-SOC 2019 code)
and ``ceterms:targetNode`` the occupation's derived CTID. What has no CTDL
term (names without IRIs, certifications, employers, publish dates) is
reported as a warning.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from loaders.base import Loader, Outcome
from loaders.competency_documents import (
    DEFAULT_LANGUAGE,
    PUBLICATION_STATUS,
    Findings,
    LoadError,
    clean_text,
    compact,
    date_only,
    date_time,
    framework_graph,
    language_map,
    read_text,
    resource_iri,
    text_list,
    to_document,
)
from registry.ctid import derived_ctid

SCHEME = "osmt"
SOC_CODE = re.compile(r"^\d{2}-\d{4}$")
ONET_CODE = re.compile(r"^\d{2}-\d{4}\.\d{2}$")
# The classifications as the SOC and O*NET loaders name them, so alignments agree.
SOC = ("soc2018", "https://www.bls.gov/soc/2018/", "Standard Occupational Classification (2018)")
ONET = ("onet-soc2019", "https://www.onetcenter.org/taxonomy.html", "O*NET-SOC 2019")

STATUS = {"published": "Published", "draft": "Draft", "archived": "Deprecated"}

SKILL_FIELDS = {
    "type",
    "id",
    "uuid",
    "skillName",
    "skillStatement",
    "categories",
    "category",
    "keywords",
    "authors",
    "author",
    "creator",
    "status",
    "creationDate",
    "updateDate",
    "alignments",
    "standards",
    "occupations",
    "collections",
    "@context",
}
# Fields reported as having no CTDL term on a competency when they hold something.
SKILL_FIELDS_WITHOUT_TERM = {"publishDate", "archiveDate", "certifications", "employers"}

# Batch-import CSV columns (both OSMT header dialects) -> RSD field.
CSV_COLUMNS = {
    "Skill Name": "skillName",
    "RSD Name": "skillName",
    "Contextualized Skill Statement": "skillStatement",
    "Skill Statement": "skillStatement",
    "Skill Category": "categories",
    "Categories": "categories",
    "Keywords": "keywords",
    "Authors": "authors",
    "Professional Standards": "standards",
    "Standards": "standards",
    "Certifications": "certifications",
    "Employers": "employers",
    "Collection": "collections",
}
CSV_OCCUPATIONS = {
    "BLS Major Group",
    "BLS Minor Group",
    "BLS Broad Occupation",
    "BLS Detailed Occupation",
    "O*NET Job Role",
    "Occupation Major Groups",
    "Occupation Minor Groups",
    "Broad Occupations",
    "Detailed Occupations",
    "O*NET Job Codes",
}
CSV_ALIGNMENT = re.compile(r"^Alignment(?: (\d+))? (Title|Name|URL|Framework)$|^Alignment$")


class OsmtLoader(Loader):
    """Loads OSMT rich skill descriptors, collections, skill lists and import CSV files."""

    name = "osmt"
    suffixes = (".json", ".csv")

    def read(self, path: Path) -> Iterator[Outcome]:
        source = str(path)
        suffix = path.suffix.lower()
        if suffix not in self.suffixes:
            yield Outcome(source, skipped=f"{suffix or 'no suffix'} files are not OSMT exports")
            return
        findings = Findings(source)
        findings.warn(
            "$",
            f"OSMT states no language; text was tagged {DEFAULT_LANGUAGE!r} and the framework's "
            f"ceasn:inLanguage set to {DEFAULT_LANGUAGE!r}",
        )
        try:
            text = read_text(path, findings)
            unit = read_csv(text, path.name) if suffix == ".csv" else read_json(text)
            if isinstance(unit, str):
                yield Outcome(source, skipped=unit)
                return
            graph = build_graph(unit, path.name, findings)
            yield Outcome(source, document=to_document(graph, source, self.registry, findings))
        except LoadError as exc:
            yield Outcome(source, error=str(exc))


# Reading ---------------------------------------------------------------------------------


def read_json(text: str) -> dict[str, Any] | str:
    """Return ``{"collection": ..., "skills": [...], "paths": [...]}`` or a skip reason."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    if isinstance(raw, dict) and raw.get("type") == "RichSkillCollection":
        skills = raw.get("skills") or []
        if not isinstance(skills, list):
            raise LoadError("$.skills must be an array of rich skill descriptors")
        paths = [f"$.skills[{index}]" for index in range(len(skills))]
        return {"collection": raw, "skills": skills, "paths": paths}
    if isinstance(raw, dict) and (
        raw.get("type") == "RichSkillDescriptor" or "skillStatement" in raw
    ):
        return {"collection": None, "skills": [raw], "paths": ["$"]}
    if isinstance(raw, list) and raw and all(isinstance(s, dict) for s in raw):
        if any("skillStatement" in s for s in raw):
            paths = [f"$[{index}]" for index in range(len(raw))]
            return {"collection": None, "skills": raw, "paths": paths}
        return _describe_other_response(raw[0])
    return "JSON that is not an OSMT skill, collection or skill list"


def _describe_other_response(first: dict[str, Any]) -> str:
    if "operationType" in first:
        return "an OSMT audit log (change history), not skills"
    if first.get("type") == "Category" or "skillCount" in first:
        return "an OSMT category list, not skills"
    if "code" in first and "frameworkName" in first:
        return "an OSMT job-code search result, not skills"
    return "a JSON array without rich skill descriptors (no skillStatement)"


def read_csv(text: str, file_name: str) -> dict[str, Any] | str:
    """Turn batch-import CSV rows into RSD-shaped dicts; skip a header-only template."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c for c in reader.fieldnames or [] if c]
    if not any(CSV_COLUMNS.get(c) == "skillStatement" for c in columns):
        return "CSV without a skill statement column: not an OSMT batch-import file"
    skills, paths = [], []
    line = reader.line_num + 1
    for row in reader:
        if any((value or "").strip() for key, value in row.items() if key):
            skills.append(_csv_skill(row, file_name))
            paths.append(f"line {line}")
        line = reader.line_num + 1
    if not skills:
        return "an OSMT batch-import template: a header row and no skills"
    return {"collection": None, "skills": skills, "paths": paths}


def _csv_skill(row: dict[str, Any], file_name: str) -> dict[str, Any]:
    """Return one CSV row as an RSD-shaped dict; multi-valued cells are ``;``-separated."""
    skill: dict[str, Any] = {"occupations": [], "alignments": [], "columns": {}}
    alignments: dict[str, dict[str, str]] = {}
    for column, value in row.items():
        value = (value or "").strip()
        if not column or not value:
            continue
        if column in CSV_OCCUPATIONS:
            codes = [code.strip() for code in value.split(";") if code.strip()]
            skill["occupations"] += [{"code": code, "column": column} for code in codes]
        elif (match := CSV_ALIGNMENT.match(column)) is not None:
            alignment = alignments.setdefault(match.group(1) or "1", {})
            alignment[match.group(2) or "URL"] = value
            alignment.setdefault("column", column)
        elif column in CSV_COLUMNS:
            skill[CSV_COLUMNS[column]] = _csv_values(CSV_COLUMNS[column], value)
            skill["columns"][CSV_COLUMNS[column]] = column
        else:
            skill.setdefault("unknown columns", []).append(column)
    for alignment in alignments.values():
        skill["alignments"].append(
            {
                "id": alignment.get("URL"),
                "skillName": alignment.get("Title") or alignment.get("Name"),
                "framework": alignment.get("Framework"),
                "column": alignment["column"],
            }
        )
    name = skill.get("skillName")
    skill["id"] = f"import:{file_name}#{name}" if name else None
    return skill


def _csv_values(field_name: str, value: str) -> Any:
    if field_name in ("skillName", "skillStatement"):
        return value
    parts = [part.strip() for part in value.split(";") if part.strip()]
    if field_name == "standards":
        return [{"skillName": part} for part in parts]
    if field_name in ("certifications", "employers"):
        return [{"name": part} for part in parts]
    if field_name == "collections":
        return [{"name": part} for part in parts]
    return parts


# Building --------------------------------------------------------------------------------


def build_graph(unit: dict[str, Any], file_name: str, findings: Findings) -> dict:
    """Build the framework's ``/graph`` JSON-LD: a collection, or the file's loose skills."""
    skills = _unique_skills(unit["skills"], unit["paths"], findings)
    if not skills:
        raise LoadError(
            "no skill in the file has an id, so nothing was loaded; give each skill its id URL"
        )
    collection = unit["collection"]
    if collection is not None:
        framework = _collection_node(collection, findings)
    else:
        framework = _file_framework(skills, file_name)
    competencies = [
        _competency_node(skill, path, framework["@id"], findings) for skill, path in skills
    ]
    framework["ceasn:hasTopChild"] = [c["@id"] for c in competencies]
    return framework_graph(compact(framework), [compact(c) for c in competencies])


def _unique_skills(
    skills: list[Any], paths: list[str], findings: Findings
) -> list[tuple[dict[str, Any], str]]:
    """Keep each skill with an id once; report the others with their location."""
    kept: dict[str, tuple[dict[str, Any], str]] = {}
    for skill, path in zip(skills, paths, strict=True):
        if not isinstance(skill, dict):
            findings.warn(path, f"a skill must be an object, found {type(skill).__name__}; skipped")
            continue
        identifier = skill.get("id")
        if not isinstance(identifier, str) or not identifier.strip():
            findings.warn(
                _where(skill, path, "id"),
                "the skill has no id (or, in a CSV file, no skill name), so it gets no stable "
                "CTID and was skipped",
            )
            continue
        statement = skill.get("skillStatement")
        if not isinstance(statement, str) or not statement.strip():
            findings.warn(
                _where(skill, path, "skillStatement"),
                f"skill {identifier} has no skillStatement, and every competency needs its "
                "text; skipped",
            )
            continue
        if identifier in kept:
            findings.warn(
                _where(skill, path, "id"),
                f"id {identifier} repeats the skill at {kept[identifier][1]}; this one was skipped",
            )
            continue
        kept[identifier] = (skill, path)
    return list(kept.values())


def _collection_node(collection: dict[str, Any], findings: Findings) -> dict[str, Any]:
    identifier = collection.get("id")
    if not isinstance(identifier, str) or not identifier.strip():
        raise LoadError("$.id is missing: the collection needs its id URL, the source of its CTID")
    ctid = derived_ctid(SCHEME, identifier)
    name = clean_text(collection.get("name"), "$.name", findings)
    if not name:
        raise LoadError("$.name is missing: a framework needs a name")
    _report_collection_extras(collection, findings)
    return {
        "@id": resource_iri(ctid),
        "@type": "ceasn:CompetencyFramework",
        "ceterms:ctid": ctid,
        "ceasn:name": language_map(name, DEFAULT_LANGUAGE),
        "ceasn:description": language_map(
            clean_text(collection.get("description"), "$.description", findings),
            DEFAULT_LANGUAGE,
        ),
        "ceasn:inLanguage": DEFAULT_LANGUAGE,
        "ceasn:identifier": identifier.strip(),
        "ceasn:author": text_list(collection.get("author"), "$.author", findings),
        "ceasn:creator": _iri(collection.get("creator")),
        "ceasn:publicationStatusType": _status(collection.get("status"), "$.status", findings),
        "ceasn:dateCreated": date_only(collection.get("creationDate"), "$.creationDate", findings),
        "ceasn:dateModified": date_time(collection.get("updateDate"), "$.updateDate", findings),
    }


def _report_collection_extras(collection: dict[str, Any], findings: Findings) -> None:
    if collection.get("skillKeywords"):
        findings.warn(
            "$.skillKeywords",
            "skillKeywords summarises the embedded skills' own fields, which were loaded; the "
            "summary itself was not stored",
        )
    if collection.get("publishDate"):
        findings.warn(
            "$.publishDate",
            f"publishDate {collection['publishDate']!r} has no CTDL-ASN term; not kept",
        )


def _file_framework(skills: list[tuple[dict[str, Any], str]], file_name: str) -> dict[str, Any]:
    """Return the framework that contains the loose skills of one file."""
    instance = _instance(skills[0][0]["id"])
    identifier = f"{instance}#{file_name}"
    ctid = derived_ctid(SCHEME, identifier)
    where = f" from {instance}" if "://" in instance else ""
    return {
        "@id": resource_iri(ctid),
        "@type": "ceasn:CompetencyFramework",
        "ceterms:ctid": ctid,
        "ceasn:name": language_map(f"OSMT skills in {file_name}", DEFAULT_LANGUAGE),
        "ceasn:description": language_map(
            f"Rich skill descriptors{where}, loaded from the file {file_name}.", DEFAULT_LANGUAGE
        ),
        "ceasn:inLanguage": DEFAULT_LANGUAGE,
    }


def _instance(skill_id: str) -> str:
    """Return the OSMT skills URL a skill id lives under (``http://host/api/skills``)."""
    base, separator, _ = skill_id.rpartition("/skills/")
    return f"{base}/skills" if separator else skill_id.split("#", 1)[0]


def _competency_node(
    skill: dict[str, Any], path: str, framework_iri: str, findings: Findings
) -> dict[str, Any]:
    identifier = skill["id"].strip()
    ctid = derived_ctid(SCHEME, identifier)
    _report_unknown_fields(skill, path, findings)
    statement = clean_text(
        skill.get("skillStatement"), _where(skill, path, "skillStatement"), findings
    )
    node = {
        "@id": resource_iri(ctid),
        "@type": "ceasn:Competency",
        "ceterms:ctid": ctid,
        "ceasn:isPartOf": [framework_iri, *_collection_iris(skill, path, findings)],
        "ceasn:isTopChildOf": framework_iri,
        "ceasn:competencyText": language_map(statement, DEFAULT_LANGUAGE),
        "ceasn:competencyLabel": language_map(
            clean_text(skill.get("skillName"), _where(skill, path, "skillName"), findings),
            DEFAULT_LANGUAGE,
        ),
        "ceasn:competencyCategory": language_map(
            text_list(
                skill.get("categories") or skill.get("category"),
                _where(skill, path, "categories"),
                findings,
            ),
            DEFAULT_LANGUAGE,
        ),
        "ceasn:conceptKeyword": language_map(
            text_list(skill.get("keywords"), _where(skill, path, "keywords"), findings),
            DEFAULT_LANGUAGE,
        ),
        "ceasn:author": text_list(
            skill.get("authors") or skill.get("author"), _where(skill, path, "authors"), findings
        ),
        "ceasn:creator": _iri(skill.get("creator")),
        "ceasn:identifier": identifier if "://" in identifier else None,
        "ceasn:publicationStatusType": _status(
            skill.get("status"), _where(skill, path, "status"), findings
        ),
        "ceasn:dateCreated": date_only(
            skill.get("creationDate"), _where(skill, path, "creationDate"), findings
        ),
        "ceasn:dateModified": date_time(
            skill.get("updateDate"), _where(skill, path, "updateDate"), findings
        ),
        "ceasn:alignTo": _alignments(skill, path, findings),
        "ceterms:occupationType": _occupations(skill, path, findings),
    }
    return node


def _collection_iris(skill: dict[str, Any], path: str, findings: Findings) -> list[str]:
    """Return the frameworks of the collections a skill names (by uuid under its instance)."""
    iris = []
    for index, collection in enumerate(skill.get("collections") or []):
        uuid = collection.get("uuid") if isinstance(collection, dict) else None
        base = _instance(skill["id"]).removesuffix("/skills")
        if uuid and "://" in base:
            iris.append(resource_iri(derived_ctid(SCHEME, f"{base}/collections/{uuid}")))
            continue
        findings.warn(
            _where(skill, path, "collections", index),
            f"collection {collection!r} has no uuid, so its framework cannot be named; not kept",
        )
    return iris


def _alignments(skill: dict[str, Any], path: str, findings: Findings) -> list[str]:
    """Return the IRIs of the skill's alignments and standards; report those without one."""
    iris: list[str] = []
    for field_name in ("alignments", "standards"):
        for index, entry in enumerate(skill.get(field_name) or []):
            key = _where(skill, path, field_name, index)
            entry = entry if isinstance(entry, dict) else {"skillName": entry}
            iri = _iri(entry.get("id"))
            name = entry.get("skillName")
            _note_alignment_framework(entry, field_name, key, findings)
            if iri:
                iris.append(iri)
                if name:
                    findings.note(
                        f"{field_name} names",
                        key,
                        f"{field_name} names such as {name!r} have no CTDL term next to "
                        "ceasn:alignTo; only the IRI was kept",
                    )
                continue
            findings.note(
                f"{field_name} without IRI",
                key,
                f"{field_name} entries such as {name!r} have no IRI, and CTDL-ASN alignment terms "
                "link by IRI; not kept; give each an id URL",
            )
    return iris


def _note_alignment_framework(
    entry: dict[str, Any], field_name: str, key: str, findings: Findings
) -> None:
    """Report the framework an alignment names, which ceasn:alignTo cannot carry."""
    framework = entry.get("framework") or entry.get("isPartOf")
    if isinstance(framework, dict):
        framework = framework.get("name") or framework.get("id")
    if framework:
        findings.note(
            f"{field_name} frameworks",
            key,
            f"{field_name} frameworks such as {framework!r} have no CTDL term next to "
            "ceasn:alignTo; not kept",
        )


def _occupations(skill: dict[str, Any], path: str, findings: Findings) -> list[dict[str, Any]]:
    """Return one ``ceterms:occupationType`` alignment object per distinct occupation code."""
    found: dict[str, dict[str, Any]] = {}
    for index, occupation in enumerate(skill.get("occupations") or []):
        key = _where(skill, path, "occupations", index)
        if not isinstance(occupation, dict):
            findings.warn(key, "an occupation must be an object with a code; skipped")
            continue
        code = clean_text(occupation.get("code"), _member(key, "code"), findings)
        classification = _classification(code, occupation, key, findings)
        if code is None or classification is None or code in found:
            continue
        found[code] = _occupation_alignment(code, occupation, classification, key, findings)
    return list(found.values())


def _classification(
    code: str | None, occupation: dict[str, Any], key: str, findings: Findings
) -> tuple[str, str, str] | None:
    """Choose SOC 2018 or O*NET-SOC 2019 by the code's form; report a contradiction."""
    if code is None:
        findings.warn(key, "the occupation has no code; skipped")
        return None
    framework = (occupation.get("frameworkName") or occupation.get("framework") or "").lower()
    if SOC_CODE.match(code):
        classification = SOC
    elif ONET_CODE.match(code):
        classification = ONET
    else:
        findings.warn(
            _member(key, "code"),
            f"{code!r} is neither a SOC code (15-1244) nor an O*NET-SOC code (15-1244.00); skipped",
        )
        return None
    expected = "bls" if classification is SOC else "o*net"
    if framework and framework != expected:
        findings.warn(
            _member(key, "framework"),
            f"framework {framework!r} does not match code {code!r}, which is a "
            f"{classification[2]} code; it was read as one",
        )
    return classification


def _occupation_alignment(
    code: str,
    occupation: dict[str, Any],
    classification: tuple[str, str, str],
    key: str,
    findings: Findings,
) -> dict[str, Any]:
    scheme, framework, framework_name = classification
    name = occupation.get("targetNodeName") or occupation.get("name")
    return compact(
        {
            "@type": "ceterms:CredentialAlignmentObject",
            "ceterms:codedNotation": code,
            "ceterms:targetNode": resource_iri(derived_ctid(scheme, code)),
            "ceterms:targetNodeName": language_map(
                clean_text(name, _member(key, "name"), findings), DEFAULT_LANGUAGE
            ),
            "ceterms:targetNodeDescription": language_map(
                clean_text(occupation.get("description"), _member(key, "description"), findings),
                DEFAULT_LANGUAGE,
            ),
            "ceterms:framework": framework,
            "ceterms:frameworkName": language_map(framework_name, DEFAULT_LANGUAGE),
        }
    )


def _where(skill: dict[str, Any], path: str, name: str, index: int | None = None) -> str:
    """Return the location of a skill field: a JSON path, or a CSV line and column."""
    if "columns" in skill:
        column = skill["columns"].get(name, name)
        if index is not None:
            column = skill[name][index].get("column", column)
        return f"{path}, column {column}"
    return f"{path}.{name}" if index is None else f"{path}.{name}[{index}]"


def _member(key: str, name: str) -> str:
    """Return the location of member ``name`` of the value at ``key``; a CSV cell has none."""
    return key if key.startswith("line ") else f"{key}.{name}"


def _status(value: Any, key: str, findings: Findings) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    status = STATUS.get(value.lower())
    if status is None:
        findings.warn(key, f"status {value!r} is not published, draft or archived; not kept")
        return None
    return PUBLICATION_STATUS + status


def _iri(value: Any) -> str | None:
    if isinstance(value, str) and "://" in value and " " not in value.strip():
        return value.strip()
    return None


def _report_unknown_fields(skill: dict[str, Any], path: str, findings: Findings) -> None:
    for column in skill.get("unknown columns", []):
        findings.note(
            f"column {column}", path, f"column {column!r} is not an OSMT import column; not kept"
        )
    for name, value in skill.items():
        if (
            name in SKILL_FIELDS
            or name in ("columns", "unknown columns")
            or value in (None, "", [])
        ):
            continue
        reason = (
            "has no CTDL-ASN term on a competency"
            if name in SKILL_FIELDS_WITHOUT_TERM
            else "is not an OSMT field this loader maps"
        )
        findings.note(
            f"field {name}", _where(skill, path, name), f"skill field {name!r} {reason}; not kept"
        )
