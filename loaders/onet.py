"""The O*NET loader: O*NET-SOC 2019 occupations as CTDL occupations.

Run it as ``registry load --format onet FILE.csv``. The file has the columns
``O*NET-SOC Code``, ``Title`` and ``Description``, one row per occupation, as
in the O*NET-SOC 2019 list that OSMT imports.

Each row becomes one ``ceterms:Occupation`` document (see
``docs/graph-model.md``) with the CTID ``derived_ctid("onet-soc2019", code)``,
a ``ceterms:occupationType`` naming the code in O*NET-SOC 2019 (with its
O*NET OnLine page as ``ceterms:targetNode``), and
``ceterms:isSpecializationOf`` the SOC 2018 detailed occupation that the
code's first seven characters name: 29-1141.01 and 29-1141.00 are both
specializations of 29-1141. That link is the SOC document's IRI derived
from the code, so the SOC file need not be loaded first. Nothing here adds
the reverse ``ceterms:hasSpecialization`` to the SOC documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
from loaders.soc import soc_ctid
from registry.ctid import derived_ctid
from registry.ingest import IngestWarning

SCHEME = "onet-soc2019"
FRAMEWORK = "https://www.onetcenter.org/taxonomy.html"
FRAMEWORK_NAME = "O*NET-SOC 2019"
ONLINE_SUMMARY = "https://www.onetonline.org/link/summary/"
CODE = re.compile(r"(\d{2}-\d{4})\.\d{2}")

COLUMNS = ("O*NET-SOC Code", "Title", "Description")


def onet_ctid(code: str) -> str:
    """Return the CTID of an O*NET-SOC 2019 code, e.g. ``29-1141.01``."""
    return derived_ctid(SCHEME, code)


def onet_iri(code: str) -> str:
    """Return the resource IRI of an O*NET-SOC 2019 occupation."""
    return resource_iri(onet_ctid(code))


class OnetLoader(CsvTableLoader):
    """Loads O*NET-SOC 2019 occupations, one ``ceterms:Occupation`` per row."""

    name = "onet"
    columns = COLUMNS
    table_name = "O*NET-SOC 2019"

    def documents(self, table: Table) -> Iterator[Outcome]:
        seen: dict[str, Row] = {}
        for row in table.rows:
            code = row.get("O*NET-SOC Code")
            error = _check(row, code)
            if error is None and code in seen:
                error = duplicate_error(row, "O*NET-SOC code", code, seen[code])
            if error is not None:
                yield error
                continue
            seen[code] = row
            yield parse(self, _document(row, code), row.source, _warnings(row, code))


def _check(row: Row, code: str) -> Outcome | None:
    """Return the error that rejects a row, or ``None`` if it can be loaded."""
    match = CODE.fullmatch(code)
    if match is None:
        return Outcome(
            row.source,
            error=f"O*NET-SOC Code {code!r} is not an O*NET-SOC code; write the SOC code, a "
            "dot and two digits, e.g. 29-1141.01",
        )
    if match.group(1).endswith("0"):
        return Outcome(
            row.source,
            error=f"O*NET-SOC Code {code!r} starts with the SOC group code {match.group(1)}; "
            "an O*NET-SOC occupation starts with a SOC 2018 detailed occupation code, "
            "which does not end in 0",
        )
    if not row.get("Title"):
        return Outcome(row.source, error=f"Title is empty for {code}; add the occupation title")
    return None


def _document(row: Row, code: str) -> dict[str, Any]:
    """Build the JSON-LD document of one O*NET-SOC occupation."""
    ctid = onet_ctid(code)
    title = row.get("Title")
    node: dict[str, Any] = {
        "@id": resource_iri(ctid),
        "@type": "ceterms:Occupation",
        "ceterms:ctid": ctid,
        "ceterms:name": text(title),
        "ceterms:occupationType": [
            alignment(code, title, FRAMEWORK, FRAMEWORK_NAME, ONLINE_SUMMARY + code),
        ],
        "ceterms:isSpecializationOf": [resource_iri(soc_ctid(code[:7]))],
    }
    if row.get("Description"):
        node["ceterms:description"] = text(row.get("Description"))
    return graph_document(ctid, [node])


def _warnings(row: Row, code: str) -> list[IngestWarning]:
    if row.get("Description"):
        return []
    return [
        IngestWarning(
            row.source,
            "Description",
            f"{code} has no Description, so the document has no ceterms:description; "
            "add the O*NET description",
        )
    ]
