"""Building blocks shared by the CASE and OSMT loaders.

Both loaders write one CTDL-ASN document per framework: a
``ceasn:CompetencyFramework`` and its ``ceasn:Competency`` members in one
``@graph``, as the reference registry publishes them, with CTIDs derived from
the source identifiers (``registry.ctid.derived_ctid``). The JSON-LD goes
through ``registry.ingest.parse_json_document``, so a loaded framework is
read exactly as a published one would be.

``Findings`` collects what the source contained but CTDL could not take, and
bad input that was skipped or kept with a doubt. Each becomes a warning on the
document that names the source location (JSON path or CSV line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from registry.errors import RegistryError
from registry.ingest import Document, IngestWarning, parse_json_document
from registry.vocab import CTDL_CONTEXT_URL, CTDLASN_CONTEXT_URL

# Resource IRIs of derived CTIDs follow the reference registry's form.
RESOURCE_BASE = "https://credentialengineregistry.org/resources/"
GRAPH_BASE = "https://credentialengineregistry.org/graphs/"
CONTEXT = [CTDL_CONTEXT_URL, CTDLASN_CONTEXT_URL]

# The language tag of text whose source states no language. Each loader warns when it uses it.
DEFAULT_LANGUAGE = "en"

PUBLICATION_STATUS = "publicationStatus:"

# Signs of text decoded with the wrong character set (mojibake) or damaged on the way.
GARBLED_PATTERNS = [
    (re.compile("\ufffd"), "a U+FFFD replacement character, so a character was lost"),
    (re.compile("[\u0080-\u009f]"), "a C1 control character, usually a byte in another encoding"),
    (re.compile("Ã[\u0080-\u00bf]|â€|Â[\u00a0-\u00bf]"), "UTF-8 text decoded as Latin-1"),
    (
        re.compile(r"(?<=\d)[ÐÑ](?=[\dA-Z])|(?<= )[ÐÑ](?= )"),
        "a Mac Roman dash (– or —) decoded as Latin-1 (Ð or Ñ)",
    ),
    (
        re.compile(r"(?<=[a-z])É(?=[\s).,\"]|$)|(?<=[a-z])Õ(?=[a-z])"),
        "a Mac Roman ellipsis or apostrophe (… or ’) decoded as Latin-1 (É or Õ)",
    ),
    (
        re.compile(r"(?<=[A-Za-z])\?(?=[-A-Za-z])"),
        "a '?' inside a word, where a character was lost",
    ),
]
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class LoadError(Exception):
    """A unit of input that cannot become a document. The message explains why and what to fix."""


@dataclass
class Findings:
    """The warnings about one source unit.

    ``warn`` records one warning at one location. ``note`` groups repeats of
    the same fact (one per topic) into a single warning with a count, so a
    fact true of a thousand items stays one line.
    """

    source: str
    items: list[IngestWarning] = field(default_factory=list)
    groups: dict[str, list[Any]] = field(default_factory=dict)

    def warn(self, key: str, message: str) -> None:
        self.items.append(IngestWarning(self.source, key, message))

    def note(self, topic: str, key: str, message: str) -> None:
        if topic in self.groups:
            self.groups[topic][2] += 1
        else:
            self.groups[topic] = [key, message, 1]

    def warnings(self) -> list[IngestWarning]:
        grouped = [
            IngestWarning(
                self.source, key, message if count == 1 else f"{message} ({count} places)"
            )
            for key, message, count in self.groups.values()
        ]
        return [*self.items, *grouped]


def read_text(path: Path, findings: Findings) -> str:
    """Read a file as UTF-8; read Windows-1252 instead, with a warning, if it is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read the file: {exc.strerror}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        findings.warn(
            f"line {line}",
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "it was read as Windows-1252; save it as UTF-8",
        )
        return data.decode("cp1252", errors="replace")


def at(path: str, name: str) -> str:
    """Return the location of field ``name`` under ``path``: a JSON path or a CSV column."""
    return f"{path}, column {name}" if path.startswith("line ") else f"{path}.{name}"


def resource_iri(ctid: str) -> str:
    return RESOURCE_BASE + ctid


def clean_text(value: Any, key: str, findings: Findings) -> str | None:
    """Return ``value`` as stripped text, or ``None`` when it is empty or not text.

    Text that looks garbled is kept as the source wrote it and reported.
    Lone UTF-16 surrogates (from ``\\ud835``-style JSON escapes without their
    pair) cannot be stored as RDF, so each becomes U+FFFD and is reported.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        findings.warn(key, f"expected text, found {type(value).__name__} {value!r}; not kept")
        return None
    text = value.strip()
    if LONE_SURROGATE.search(text):
        findings.warn(
            key,
            f"{text!r} holds a lone UTF-16 surrogate (half of an escaped character); it was "
            "replaced by U+FFFD; escape both halves, e.g. \\ud835\\udc51",
        )
        text = LONE_SURROGATE.sub("\ufffd", text)
    _report_garbled(text, key, findings)
    return text or None


def _report_garbled(text: str, key: str, findings: Findings) -> None:
    if "://" in text:
        return
    for pattern, meaning in GARBLED_PATTERNS:
        match = pattern.search(text)
        if match:
            start = max(match.start() - 20, 0)
            excerpt = text[start : match.end() + 20]
            findings.warn(
                key,
                f"the text looks garbled: {excerpt!r} has {meaning}; it was kept as written; "
                "fix the source text and save it as UTF-8",
            )
            return


def text_list(value: Any, key: str, findings: Findings, separator: str | None = None) -> list[str]:
    """Return the non-empty texts of a string, a list of strings, or a separated string."""
    if value is None:
        return []
    if isinstance(value, str) and separator:
        parts: list[Any] = value.split(separator)
        keys = [key] * len(parts)
    elif isinstance(value, list):
        parts = value
        keys = [f"{key}[{index}]" for index in range(len(value))]
    else:
        parts, keys = [value], [key]
    found = []
    for part, part_key in zip(parts, keys, strict=True):
        text = clean_text(part, part_key, findings)
        if text and text not in found:
            found.append(text)
    return found


def language_map(texts: str | list[str] | None, language: str) -> dict[str, Any] | None:
    """Return a JSON-LD language map for one text or several, or ``None`` if there is none."""
    if not texts:
        return None
    return {language: texts}


def date_time(value: str | None, key: str, findings: Findings) -> str | None:
    """Return an ISO 8601 date-time for ``ceasn:dateModified``, or report why not."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        findings.warn(
            key,
            f"{value!r} is not an ISO 8601 date-time, so it was not kept; "
            "write e.g. 2017-10-18T15:02:46+00:00",
        )
        return None
    return parsed.isoformat()


def date_only(value: str | None, key: str, findings: Findings) -> str | None:
    """Return the date part of an ISO 8601 date-time, for ``ceasn:dateCreated`` (``xsd:date``)."""
    stamp = date_time(value, key, findings)
    return stamp[:10] if stamp else None


def compact(node: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is ``None`` or empty, so the JSON-LD holds only stated facts."""
    return {key: value for key, value in node.items() if value not in (None, [], {}, "")}


def framework_graph(framework: dict[str, Any], competencies: list[dict[str, Any]]) -> dict:
    """Return the ``/graph`` document of a framework and its competencies."""
    ctid = framework["ceterms:ctid"]
    return {
        "@context": CONTEXT,
        "@id": GRAPH_BASE + ctid,
        "@graph": [framework, *competencies],
    }


def to_document(graph: dict[str, Any], source: str, registry: Any, findings: Findings) -> Document:
    """Parse a framework graph with the registry's JSON-LD reader and attach the findings.

    Raises ``LoadError`` if the registry cannot read it, which would be a bug
    in the loader, not in the source.
    """
    try:
        document = parse_json_document(graph, source, registry.loader, copy_input=False)
    except RegistryError as exc:
        raise LoadError(f"the CTDL built from this file was rejected: {exc.detail}") from exc
    document.warnings[:0] = findings.warnings()
    return document


def natural_key(text: str | None) -> tuple:
    """Return a sort key that orders ``L.2`` before ``L.10`` and ``a.`` before ``b.``."""
    if not text:
        return ((1, ""),)
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts if p)
