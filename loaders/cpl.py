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

The documents built from the rows, and the values chosen where the minimum
data policy requires what the sources lack, are described in
``loaders.cpl_documents``. Malformed rows (no course or credential, no course
number, an unknown C-ID, unparsable units or college count, a repeated
articulation) are failed outcomes naming the file and line; the other rows load.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from loaders.base import Loader, Outcome
from loaders.cpl_documents import Articulation, GraphBuilder, References
from loaders.cpl_subjects import TopIndex, implausibility
from registry.errors import RegistryError
from registry.ingest import Document, parse_json_document
from registry.service import Registry
from registry.vocab import CTDL_CONTEXT_URL

DESCRIPTORS_FILE = "ccc-cid_descriptors.json"
CLASSIFICATION_FILE = "map-credentials-issuer-classification.json"
TOP_FILE = "ccc-top_categories.json"
CROSSWALK_FILE = "map-course_crosswalk.json"
COLUMNS = ("Unified Course", "Discipline", "Colleges Earned", "Credit Recommendation", "Credential")

UNIFIED_COURSE = re.compile(
    r"^(?P<title>.*?)\s*\((?P<number>[^()]*?)\s*·\s*(?P<system>C-ID|M-ID)\)$"
)
RECOMMENDATION = re.compile(
    r"^(?P<low>\d*\.?\d+)(?:\s*(?:-|–|or)\s*(?P<high>\d*\.?\d+))?\s+hours?\s+in\s+(?P<subject>.+)$"
)
OTHER_CREDENTIALS = re.compile(r"\s*\(\+(?P<count>\d+)\)$")
MOJIBAKE_MARKERS = ("Ã", "â€", "Â")
MISSING_NUMBERS = {"", "NULL", "N/A", "—"}


class CplLoader(Loader):
    """Loader of MAP articulation exports (``registry load --format cpl``)."""

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
        same as with the full context. Processing the full context (about 600
        terms) for each small document took 75% of the load time: 10.8 s
        against 2.7 s for 1,500 documents, one run on the 2-core development
        machine.
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
    try:
        return References(
            descriptors={d["descriptor"]: d for d in descriptors["descriptors"]},
            classification=dict(classification),
            top=TopIndex(top["codes"]),
            crosswalk_titles=_crosswalk_titles(crosswalk),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"a reference file in {folder} lacks an expected member ({exc}): "
            f"{DESCRIPTORS_FILE} needs 'descriptors' with 'descriptor', 'title' and "
            f"'description'; {TOP_FILE} needs 'codes'; {CLASSIFICATION_FILE} and "
            f"{CROSSWALK_FILE} are objects keyed by name"
        ) from exc


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
    """Read every row; return the valid articulations and an error outcome per malformed row.

    Raise ``ValueError`` when the file itself cannot be read as a MAP export.
    """
    articulations: list[Articulation] = []
    errors: list[Outcome] = []
    first_line: dict[tuple[str, str, str], int] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        _check_columns(path, reader.fieldnames)
        try:
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
                        Outcome(source, error=_repeat_message(articulation, first_line[key]))
                    )
                    continue
                first_line[key] = reader.line_num
                articulations.append(articulation)
        except csv.Error as exc:
            raise ValueError(
                f"{path}:{reader.line_num}: the file cannot be read as CSV ({exc}); "
                "save the export as UTF-8 CSV"
            ) from exc
    return articulations, errors


def _check_columns(path: Path, fieldnames: Any) -> None:
    missing = [column for column in COLUMNS if column not in (fieldnames or [])]
    if missing:
        raise ValueError(
            f"{path}: line 1 lacks the column(s) {', '.join(missing)}; a MAP export "
            f"has the columns {', '.join(COLUMNS)}"
        )


def _repeat_message(articulation: Articulation, first_line: int) -> str:
    return (
        f"repeats the articulation of line {first_line} ({articulation.number} for "
        f"{articulation.credential!r}); remove one of the two rows"
    )


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
