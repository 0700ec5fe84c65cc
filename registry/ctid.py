"""CTIDs: the registry's identifiers, ``ce-`` followed by a UUID.

The reference registry compares CTIDs case-insensitively and stores them in
lower case; published data contains upper-case ones and UUIDs of any version.
"""

from __future__ import annotations

import re

from registry.errors import InvalidDocument, NotFound

CTID_PATTERN = re.compile(
    r"ce-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
_TRAILING_CTID = re.compile(r"(ce-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})/?$", re.IGNORECASE)


def is_ctid(value: str) -> bool:
    return CTID_PATTERN.fullmatch(value.strip()) is not None


def normalize_ctid(value: str, field: str = "ceterms:ctid") -> str:
    """Return the lower-case CTID, or raise ``InvalidDocument`` naming the field."""
    candidate = value.strip()
    if not is_ctid(candidate):
        raise InvalidDocument(
            f"{field} {value!r} is not a CTID; a CTID is 'ce-' followed by a UUID, "
            "e.g. ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b",
            field=field,
            value=value,
        )
    return candidate.lower()


def ctid_in_iri(iri: str) -> str | None:
    """Return the lower-case CTID that ends an IRI such as ``.../resources/ce-...``."""
    match = _TRAILING_CTID.search(iri)
    return match.group(1).lower() if match else None


def path_ctid(value: str) -> str:
    """Normalise a CTID taken from a URL path; an invalid one is simply not found."""
    if not is_ctid(value):
        raise NotFound(
            f"{value!r} is not a CTID ('ce-' followed by a UUID), so no document has it",
            ctid=value,
        )
    return value.strip().lower()
