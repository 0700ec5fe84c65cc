"""Publishing endpoints, on the reference registry's URLs so its clients can switch.

``POST /resources/organizations/{org}/documents`` publishes or replaces a
document on behalf of an organization, ``DELETE /resources/documents/{ctid}``
deletes one, ``POST /validate`` only reports. Publishers authenticate with
``Authorization: Bearer KEY``.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from registry.errors import InvalidRequest, Unauthorized, UnsupportedMediaType, ValidationFailed
from registry.http.resources import get_registry
from registry.publishing import report_to_dict
from registry.rdfio import dump_json, negotiate

publishing = Blueprint("publishing", __name__)

BODY_TYPES = {"application/ld+json", "application/json", "text/turtle", "application/n-triples"}
REPORT_TYPES = ["application/json", "text/turtle"]


def _publisher_org() -> str:
    """Return the organization of the request's Bearer key, or raise ``Unauthorized``."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized(
            "send the publisher key as 'Authorization: Bearer KEY'; an operator creates keys "
            "with `registry keys create --org CTID --store STORE`"
        )
    org = get_registry().ledger.org_for_key(key.strip())
    if org is None:
        raise Unauthorized("the publisher key is not valid or has been revoked; ask for a new one")
    return org


def _body() -> tuple[bytes, str]:
    media_type = (request.mimetype or "").lower()
    if media_type not in BODY_TYPES:
        raise UnsupportedMediaType(
            f"send the document as one of {', '.join(sorted(BODY_TYPES))}, not "
            f"{request.mimetype or 'a body without Content-Type'}",
            accepted=sorted(BODY_TYPES),
        )
    data = request.get_data()
    if not data.strip():
        raise InvalidRequest("the request body is empty; send the CTDL document to publish")
    return data, media_type


def _wants_turtle() -> bool:
    return negotiate(request.accept_mimetypes, REPORT_TYPES) == "text/turtle"


def _json(body: dict, status: int = 200) -> Response:
    return Response(dump_json(body), status=status, content_type="application/json")


def _turtle_report(report, status: int) -> Response:
    return Response(report.to_turtle(), status=status, content_type="text/turtle; charset=utf-8")


def _is_true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


@publishing.post("/resources/organizations/<org>/documents")
@publishing.put("/resources/organizations/<org>/documents/<ctid>")
def publish(org: str, ctid: str | None = None) -> Response:
    publisher_org = _publisher_org()
    data, media_type = _body()
    dry_run = _is_true(request.args.get("dry_run"))
    try:
        result = get_registry().publisher.publish(
            data, media_type, org, publisher_org, expected_ctid=ctid, dry_run=dry_run
        )
    except ValidationFailed as error:
        if error.report is not None and _wants_turtle():
            return _turtle_report(error.report, 422)
        raise
    status = 201 if result.status == "created" else 200
    response = _json(result.to_dict(), status)
    response.headers["Location"] = f"/graph/{result.document.ctid}"
    return response


@publishing.delete("/resources/documents/<ctid>")
def delete(ctid: str) -> Response:
    publisher_org = _publisher_org()
    version = get_registry().publisher.delete(ctid, publisher_org)
    return _json({"status": "deleted", "ctid": version.ctid, "version": version.summary()})


@publishing.post("/validate")
def validate() -> Response:
    data, media_type = _body()
    document, report = get_registry().publisher.validate(data, "request body", media_type)
    if _wants_turtle():
        return _turtle_report(report, 200)
    body = {
        "ctid": document.ctid,
        "conforms": report.conforms,
        "warnings": [w.to_dict() for w in document.warnings],
        "validation": report_to_dict(document, report),
    }
    return _json(body)


@publishing.get("/graph/<ctid>/versions")
def versions(ctid: str) -> Response:
    registry = get_registry()
    history = registry.versions(ctid)
    items = [{**v.summary(), "href": f"/graph/{v.ctid}/versions/{v.version}"} for v in history]
    return _json({"ctid": history[0].ctid, "versions": items})


@publishing.get("/events")
def events() -> Response:
    """Return the change feed: publishes and deletes after a sequence number, in commit order."""
    try:
        after = int(request.args.get("after", "0"))
        limit = min(int(request.args.get("limit", "100")), 1000)
    except ValueError as exc:
        raise InvalidRequest("'after' and 'limit' must be whole numbers") from exc
    items = get_registry().ledger.events(after, limit)
    next_after = items[-1]["seq"] if items else after
    return _json({"events": items, "next": f"/events?after={next_after}&limit={limit}"})
