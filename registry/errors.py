"""The registry's error tree.

Every error the registry raises on purpose is a ``RegistryError``. Each class
carries the HTTP status, the problem ``type`` URI and the short title that the
HTTP layer renders as an RFC 9457 ``application/problem+json`` body. The
instance's message is the ``detail``: it states what failed, on which value,
and how to fix it. Extra members (``errors``, ``url``, ...) travel in
``extensions``.

    RegistryError (500)
    ├── InvalidRequest (400)
    │   ├── InvalidDocument (400)       a submitted or loaded document is unusable
    │   │   ├── UnknownContext (400)    it names a remote @context that is not pinned
    │   │   └── DocumentMismatch (400)  the URL names another CTID than the document
    │   └── InvalidQuery (400)          malformed SPARQL, an update, SERVICE, ...
    ├── Unauthorized (401)              no valid publisher key
    ├── Forbidden (403)                 the key's organization may not do this
    ├── NotFound (404)
    │   └── Gone (410)                  the document was deleted; its history remains
    ├── NotAcceptable (406)
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)
    ├── ValidationFailed (422)          SHACL violations; ``errors`` lists the results
    ├── QueryLimitExceeded (503 for time, 422 for size)
    │   ├── QueryTimeout (503)
    │   └── ResultTooLarge (422)
    ├── ServiceBusy (503)
    └── VocabularyError (500)           the pinned vocabulary cache is missing or wrong

Library exceptions (pyoxigraph, PyLD, json) are converted to these classes
where they enter registry code, with ``raise ... from exc``.
"""

from __future__ import annotations

from typing import Any

# Problem types are URNs: stable identifiers that promise no documentation page.
PROBLEM_BASE = "urn:ctdl-registry:problem:"


class RegistryError(Exception):
    """Base class: an error with an HTTP status and a problem type."""

    status = 500
    slug = "internal-error"
    title = "Internal registry error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Return the RFC 9457 problem object for this error."""
        problem: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            problem["instance"] = instance
        problem.update(self.extensions)
        return problem


class InvalidRequest(RegistryError):
    status = 400
    slug = "invalid-request"
    title = "Invalid request"


class InvalidDocument(InvalidRequest):
    slug = "invalid-document"
    title = "Invalid CTDL document"


class UnknownContext(InvalidDocument):
    slug = "unknown-context"
    title = "Unknown JSON-LD context"


class InvalidQuery(InvalidRequest):
    slug = "invalid-query"
    title = "Invalid SPARQL query"


class DocumentMismatch(InvalidDocument):
    slug = "document-mismatch"
    title = "Document does not match the request"


class Unauthorized(RegistryError):
    status = 401
    slug = "unauthorized"
    title = "Publisher key required"


class Forbidden(RegistryError):
    status = 403
    slug = "forbidden"
    title = "Not allowed for this organization"


class ValidationFailed(RegistryError):
    status = 422
    slug = "validation-failed"
    title = "Document failed validation"

    # The full report, for renderers that serve the SHACL report graph.
    report: Any = None


class NotFound(RegistryError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Gone(NotFound):
    status = 410
    slug = "gone"
    title = "Document deleted"


class NotAcceptable(RegistryError):
    status = 406
    slug = "not-acceptable"
    title = "Not acceptable"


class PayloadTooLarge(RegistryError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class UnsupportedMediaType(RegistryError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class QueryLimitExceeded(RegistryError):
    status = 503
    slug = "query-limit-exceeded"
    title = "Query limit exceeded"


class QueryTimeout(QueryLimitExceeded):
    status = 503
    slug = "query-timeout"
    title = "Query time limit exceeded"


class ResultTooLarge(QueryLimitExceeded):
    status = 422
    slug = "result-too-large"
    title = "Query result too large"


class ServiceBusy(RegistryError):
    status = 503
    slug = "service-busy"
    title = "Registry busy"


class VocabularyError(RegistryError):
    status = 500
    slug = "vocabulary-error"
    title = "Vocabulary cache error"
