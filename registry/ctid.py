"""CTIDs: the registry's identifiers, ``ce-`` followed by a UUID.

The reference registry compares CTIDs case-insensitively and stores them in
lower case; published data contains upper-case ones and UUIDs of any version.
"""

from __future__ import annotations

import re
import uuid

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


# Namespace of the CTIDs that loaders derive from source identifiers. Changing
# it changes every derived CTID, so it is fixed for the life of the project.
DERIVED_NAMESPACE = uuid.UUID("5b0f6a52-3c1e-4d53-9a57-2a7c0e1d8f40")


def derived_ctid(scheme: str, identifier: str) -> str:
    """Return the CTID for ``identifier`` in a source ``scheme``, the same on every run.

    ``scheme`` names the source's identifier space (``"soc2018"``,
    ``"onet-soc2019"``, ``"esco"``, ...); ``identifier`` is the code or URI in it,
    compared after trimming. Loading the same file twice yields the same CTIDs,
    and two loaders that name the same source identifier agree on its CTID.
    """
    return f"ce-{uuid.uuid5(DERIVED_NAMESPACE, f'{scheme}:{identifier.strip()}')}"
