"""The SOC loader: the BLS Standard Occupational Classification 2018 as CTDL occupations.

Run it as ``registry load --format soc FILE.csv``. The file has one row per
group or occupation with the columns ``SOC Group`` (Major, Minor, Broad or
Detailed), ``SOC Code``, ``SOC Title`` and ``SOC Definition``, as in the BLS
hierarchy file that OSMT imports.

Each row becomes one ``ceterms:Occupation`` document (see
``docs/graph-model.md``). Its CTID is ``derived_ctid("soc2018", code)``, its
``ceterms:occupationType`` names the code in SOC 2018, and
``ceterms:isSpecializationOf`` / ``ceterms:hasSpecialization`` link it to
its parent and children: major > minor > broad > detailed.

The parent is the group one level up whose code, without its trailing
zeros, begins the child's code (29-1141 is in 29-1140, in 29-1000, in
29-0000). SOC 2018 has a few children whose codes do not follow that rule:
29-1221 to 29-1229 belong to the broad group 29-1210 "Physicians". For
those, the parent is the group one level up that the file lists last
before the row, if it is in the same major group. That is how the BLS
lists them.

Groups have no definition in the file. Their ``ceterms:description`` is
built from the level, code and title only, e.g. "Minor group 29-1000 of the
2018 Standard Occupational Classification (SOC): Healthcare Diagnosing or
Treating Practitioners." It adds no fact the row does not state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from loaders.base import Outcome
from loaders.occupations_common import (
    CsvTableLoader,
    Row,
    Table,
    alignment,
    duplicate_error,
    graph_document,
    parse,
    resource_iri,
    text,
)
from registry.ctid import derived_ctid
from registry.ingest import IngestWarning

SCHEME = "soc2018"
FRAMEWORK = "https://www.bls.gov/soc/2018/"
FRAMEWORK_NAME = "Standard Occupational Classification (2018)"
LEVELS = ("major", "minor", "broad", "detailed")
CODE = re.compile(r"\d{2}-\d{4}")

COLUMNS = ("SOC Group", "SOC Code", "SOC Title", "SOC Definition")


@dataclass
class SocEntry:
    """A SOC 2018 group or detailed occupation read from one row."""

    row: Row
    level: str
    code: str
    title: str
    definition: str
    parent: SocEntry | None = None
    children: list[SocEntry] = field(default_factory=list)

    @property
    def ctid(self) -> str:
        return soc_ctid(self.code)

    @property
    def depth(self) -> int:
        return LEVELS.index(self.level)


def soc_ctid(code: str) -> str:
    """Return the CTID of a SOC 2018 code, e.g. ``29-1141``."""
    return derived_ctid(SCHEME, code)


class SocLoader(CsvTableLoader):
    """Loads the SOC 2018 hierarchy, one ``ceterms:Occupation`` per group and occupation."""

    name = "soc"
    columns = COLUMNS
    table_name = "SOC 2018"

    def documents(self, table: Table) -> Iterator[Outcome]:
        entries: list[SocEntry] = []
        seen: dict[str, SocEntry] = {}
        for row in table.rows:
            entry, error = _read_entry(row)
            if error is None and entry is not None and entry.code in seen:
                error = duplicate_error(row, "SOC code", entry.code, seen[entry.code].row)
            if error is not None:
                yield error
                continue
            assert entry is not None
            seen[entry.code] = entry
            entries.append(entry)

        orphans = _link_parents(entries)
        for entry in entries:
            yield parse(self, _document(entry), entry.row.source, _warnings(entry, orphans))


def _read_entry(row: Row) -> tuple[SocEntry | None, Outcome | None]:
    """Read and check one row, and return the entry or the error that rejects the row."""
    level = row.get("SOC Group").lower()
    code = row.get("SOC Code")
    title = row.get("SOC Title")
    if level not in LEVELS:
        return None, Outcome(
            row.source,
            error=f"SOC Group {row.get('SOC Group')!r} is not a SOC level; use Major, Minor, "
            "Broad or Detailed",
        )
    if not CODE.fullmatch(code):
        return None, Outcome(
            row.source,
            error=f"SOC Code {code!r} is not a SOC 2018 code; write two digits, a hyphen and "
            "four digits, e.g. 29-1141",
        )
    if (level == "major") != code.endswith("-0000"):
        expected = "ends in -0000" if level == "major" else "does not end in -0000"
        return None, Outcome(
            row.source,
            error=f"SOC Code {code!r} does not fit SOC Group {row.get('SOC Group')!r}: the code "
            f"of a {level} {'group' if level != 'detailed' else 'occupation'} {expected}",
        )
    if not title:
        return None, Outcome(row.source, error=f"SOC Title is empty for {code}; add the title")
    return SocEntry(row, level, code, title, row.get("SOC Definition")), None


def _link_parents(entries: list[SocEntry]) -> set[str]:
    """Set each entry's parent and children, and return the codes left without a parent."""
    by_prefix = {(e.depth, e.code.rstrip("0")): e for e in entries}
    last_at_depth: dict[int, SocEntry] = {}
    orphans: set[str] = set()
    for entry in entries:
        if entry.depth > 0:
            parent = _parent_by_code(entry, by_prefix) or _parent_by_order(entry, last_at_depth)
            if parent is None:
                orphans.add(entry.code)
            else:
                entry.parent = parent
                parent.children.append(entry)
        last_at_depth[entry.depth] = entry
    return orphans


def _parent_by_code(entry: SocEntry, by_prefix: dict[tuple[int, str], SocEntry]) -> SocEntry | None:
    """Return the group one level up whose code, without trailing zeros, begins ``entry.code``."""
    for length in range(len(entry.code) - 1, 2, -1):
        parent = by_prefix.get((entry.depth - 1, entry.code[:length]))
        if parent is not None:
            return parent
    return None


def _parent_by_order(entry: SocEntry, last_at_depth: dict[int, SocEntry]) -> SocEntry | None:
    """Return the group one level up listed last before ``entry``, if in its major group."""
    candidate = last_at_depth.get(entry.depth - 1)
    if candidate is not None and candidate.code[:2] == entry.code[:2]:
        return candidate
    return None


def _description(entry: SocEntry) -> str:
    if entry.level == "detailed":
        return entry.definition
    return (
        f"{entry.level.capitalize()} group {entry.code} of the 2018 Standard Occupational "
        f"Classification (SOC): {entry.title}."
    )


def _document(entry: SocEntry) -> dict[str, Any]:
    """Build the JSON-LD document of one SOC group or occupation."""
    node: dict[str, Any] = {
        "@id": resource_iri(entry.ctid),
        "@type": "ceterms:Occupation",
        "ceterms:ctid": entry.ctid,
        "ceterms:name": text(entry.title),
        "ceterms:occupationType": [
            alignment(entry.code, entry.title, FRAMEWORK, FRAMEWORK_NAME),
        ],
    }
    description = _description(entry)
    if description:
        node["ceterms:description"] = text(description)
    if entry.parent is not None:
        node["ceterms:isSpecializationOf"] = [resource_iri(entry.parent.ctid)]
    if entry.children:
        node["ceterms:hasSpecialization"] = [resource_iri(c.ctid) for c in entry.children]
    return graph_document(entry.ctid, [node])


def _warnings(entry: SocEntry, orphans: set[str]) -> list[IngestWarning]:
    """Report a missing definition or parent. The document is loaded without it."""
    warnings = []
    if entry.level == "detailed" and not entry.definition:
        warnings.append(
            IngestWarning(
                entry.row.source,
                "SOC Definition",
                f"the detailed occupation {entry.code} has no SOC Definition, so the document "
                "has no ceterms:description; add the BLS definition",
            )
        )
    if entry.code in orphans:
        up = LEVELS[entry.depth - 1]
        warnings.append(
            IngestWarning(
                entry.row.source,
                "SOC Code",
                f"no {up} group in the file contains {entry.code}, so the document has no "
                f"ceterms:isSpecializationOf; add the {up} group's row before it",
            )
        )
    return warnings
