"""CSV reading and CTDL building blocks shared by the SOC, O*NET and ESCO loaders.

Reading: ``read_table`` turns a CSV file into rows that carry their line
number, and reports each row it cannot use as an error ``Outcome`` naming
``FILE:LINE``. Bytes that are not UTF-8 are reported per row, so a single
bad byte costs one row, not the file.

Writing: the loaders build each document as CTDL JSON-LD in the shape that
``docs/graph-model.md`` describes (language maps, IRIs as strings) and hand
it to ``registry.ingest.parse_json_document``. The document's ``@context``
is ``CONTEXT``: the two prefixes and the definitions that the pinned CTDL
and CTDL-ASN contexts give the terms these loaders use, so the statements
are the same as with those contexts (a test checks this). A document then
parses in about half a millisecond instead of several, because the full
contexts (over 600 terms each) would be processed again for every document.
A term missing from ``CONTEXT`` would still expand through its prefix, but
its value would lose the context's language map or ``@id`` reading.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loaders.base import Loader, Outcome
from registry.errors import RegistryError
from registry.ingest import IngestWarning, parse_json_document

RESOURCES = "https://credentialengineregistry.org/resources/"
GRAPHS = "https://credentialengineregistry.org/graph/"
LANGUAGE = "en"

LANGUAGE_MAP_TERMS = (
    "ceterms:name",
    "ceterms:description",
    "ceterms:alternateName",
    "ceterms:targetNodeName",
    "ceterms:frameworkName",
    "ceasn:name",
    "ceasn:description",
    "ceasn:competencyLabel",
    "ceasn:competencyText",
    "ceasn:competencyCategory",
    "ceasn:publisherName",
)
IRI_TERMS = (
    "ceterms:framework",
    "ceterms:targetNode",
    "ceterms:isSpecializationOf",
    "ceterms:hasSpecialization",
    "ceterms:isSimilarTo",
    "ceterms:sameAs",
    "ceterms:alignmentType",
    "ceterms:occupationType",
    "ceterms:targetCompetency",
    "ceasn:isPartOf",
    "ceasn:isTopChildOf",
    "ceasn:hasTopChild",
    "ceasn:exactAlignment",
    "ceasn:source",
    "ceasn:skillEmbodied",
    "ceasn:knowledgeEmbodied",
)
CONTEXT: dict[str, Any] = {
    "ceterms": "https://purl.org/ctdl/terms/",
    "ceasn": "https://purl.org/ctdlasn/terms/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "ceterms:ctid": {"@type": "xsd:string"},
    "ceterms:codedNotation": {"@type": "xsd:string"},
    "ceasn:inLanguage": {"@type": "xsd:language"},
    **{term: {"@container": "@language"} for term in LANGUAGE_MAP_TERMS},
    **{term: {"@type": "@id"} for term in IRI_TERMS},
}

# Characters that Python's "surrogateescape" error handler puts in place of
# bytes that are not UTF-8: U+DC80 to U+DCFF stand for bytes 0x80 to 0xFF.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


# --- Reading CSV files ------------------------------------------------------------


@dataclass
class Row:
    """One CSV record: its fields by column name and the line it starts on."""

    path: Path
    line: int
    fields: dict[str, str]

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}"

    def get(self, column: str) -> str:
        """Return the field with surrounding whitespace removed ('' if the column is absent)."""
        return (self.fields.get(column) or "").strip()


@dataclass
class Table:
    """The usable rows of a CSV file, and an error outcome for each unusable one."""

    path: Path
    header: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    errors: list[Outcome] = field(default_factory=list)

    def has_columns(self, columns: Iterable[str]) -> bool:
        return set(columns) <= set(self.header)


def read_table(path: Path) -> Table:
    """Read a UTF-8 CSV file with a header line into a ``Table``.

    A row is rejected, with an error naming its line, when it has more or
    fewer fields than the header or contains bytes that are not UTF-8. A file
    that cannot be read at all yields one error for the file.
    """
    table = Table(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        table.errors.append(Outcome(str(path), error=f"cannot read the file: {exc.strerror}"))
        return table

    text = data.decode("utf-8-sig", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    end_of_previous = 0
    try:
        for record in reader:
            start, end_of_previous = end_of_previous + 1, reader.line_num
            _add_record(table, record, start)
    except csv.Error as exc:
        table.errors.append(
            Outcome(
                f"{path}:{reader.line_num}",
                error=f"the CSV cannot be read past this line ({exc}); fix the quoting there",
            )
        )
    if not table.header and not table.errors:
        table.errors.append(Outcome(str(path), error="the file is empty; expected a header line"))
    return table


def _add_record(table: Table, record: list[str], line: int) -> None:
    """Add the header, a row, or an error for a record starting on ``line``."""
    source = f"{table.path}:{line}"
    if not record:
        return  # a blank line
    bad_byte = _first_bad_byte(record)
    if bad_byte:
        table.errors.append(Outcome(source, error=bad_byte))
        return
    if not table.header:
        table.header = [name.strip() for name in record]
        return
    if len(record) != len(table.header):
        table.errors.append(
            Outcome(
                source,
                error=f"the row has {len(record)} fields but the header has "
                f"{len(table.header)}; quote fields that contain commas or line breaks",
            )
        )
        return
    table.rows.append(Row(table.path, line, dict(zip(table.header, record, strict=True))))


def _first_bad_byte(record: list[str]) -> str | None:
    """Describe the first byte of the record that is not UTF-8, or return ``None``."""
    for index, value in enumerate(record):
        match = _ESCAPED_BYTE.search(value)
        if match:
            byte = ord(match.group()) - 0xDC00
            return (
                f"field {index + 1} holds the byte 0x{byte:02X}, which is not valid UTF-8 "
                f"(near {value[: match.start()][-30:]!r}); save the file as UTF-8"
            )
    return None


def first_line(path: Path) -> str:
    """Return the first line of a file, decoded leniently, or '' if it cannot be read."""
    try:
        with path.open("rb") as handle:
            return handle.readline(4096).decode("utf-8-sig", errors="replace").strip()
    except OSError:
        return ""


def header_columns(path: Path) -> set[str]:
    """Return the column names of a CSV file's header line."""
    line = first_line(path)
    return {name.strip() for name in next(csv.reader([line]), [])} if line else set()


def duplicate_error(row: Row, what: str, value: str, first: Row) -> Outcome:
    """Return the error for a row that repeats an identifier an earlier row has."""
    return Outcome(
        row.source,
        error=f"{what} {value!r} repeats line {first.line}; each {what} may appear once, "
        "so this row was not loaded (remove or correct one of the two)",
    )


# --- A loader for one CSV table per file ------------------------------------------


class CsvTableLoader(Loader):
    """A loader for a format that is one CSV table per file (SOC, O*NET-SOC).

    Subclasses set ``columns`` (the header columns the format needs) and
    ``table_name`` (for messages), and implement ``documents``. A CSV file
    found inside a given folder is skipped as another kind of file when its
    header has none of ``columns``. A file given by name must match.
    """

    suffixes = (".csv",)
    columns: tuple[str, ...] = ()
    table_name = ""

    def __init__(self, registry: Any) -> None:
        super().__init__(registry)
        self._found_in_folders: set[Path] = set()

    def discover(self, paths: Iterable[Path]) -> list[Path]:
        paths = list(paths)
        found = super().discover(paths)
        self._found_in_folders = set(found) - set(paths)
        return found

    def read(self, path: Path) -> Iterator[Outcome]:
        source = str(path)
        if path.suffix.lower() not in self.suffixes:
            yield Outcome(source, skipped=f"not a CSV file; the {self.name} format reads .csv")
            return
        if path in self._found_in_folders and not header_columns(path) & set(self.columns):
            yield Outcome(source, skipped=f"its header has none of the {self.table_name} columns")
            return

        table = read_table(path)
        if table.header and not table.has_columns(self.columns):
            missing = [c for c in self.columns if c not in table.header]
            yield Outcome(
                f"{path}:1",
                error=f"the header lacks the column(s) {', '.join(map(repr, missing))}; "
                f"a {self.table_name} file has the columns {', '.join(map(repr, self.columns))}",
            )
            return
        yield from table.errors
        yield from self.documents(table)

    def documents(self, table: Table) -> Iterator[Outcome]:
        """Yield an outcome per row of a table whose header is right."""
        raise NotImplementedError


# --- Building CTDL documents ------------------------------------------------------


def resource_iri(ctid: str) -> str:
    return RESOURCES + ctid


def text(value: str | list[str]) -> dict[str, str | list[str]]:
    """Return a language map of English text (one string or several)."""
    return {LANGUAGE: value}


def alignment(
    code: str,
    name: str | None,
    framework: str,
    framework_name: str,
    target: str | None = None,
) -> dict[str, Any]:
    """Return a ``ceterms:CredentialAlignmentObject`` naming a code in a classification."""
    node: dict[str, Any] = {
        "@type": "ceterms:CredentialAlignmentObject",
        "ceterms:codedNotation": code,
        "ceterms:framework": framework,
        "ceterms:frameworkName": text(framework_name),
    }
    if name:
        node["ceterms:targetNodeName"] = text(name)
    if target:
        node["ceterms:targetNode"] = target
    return node


def graph_document(ctid: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a ``/graph`` document: the main resource first, then its members."""
    return {"@context": CONTEXT, "@id": GRAPHS + ctid, "@graph": nodes}


def parse(
    loader: Loader, raw: dict[str, Any], source: str, warnings: Iterable[IngestWarning] = ()
) -> Outcome:
    """Turn a built JSON-LD document into an outcome, with the loader's warnings on it."""
    try:
        document = parse_json_document(raw, source, loader.registry.loader, copy_input=False)
    except RegistryError as exc:
        return Outcome(source, error=exc.detail.removeprefix(f"{source}: "))
    document.warnings.extend(warnings)
    return Outcome(source, document=document)
