"""One error body everywhere: RFC 9457 ``application/problem+json``.

Registry errors carry their own status and type; Flask's HTTP errors (404 for
an unknown route, 405, 413 from ``MAX_CONTENT_LENGTH``) and unexpected
exceptions are converted to the same shape.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from registry.errors import PROBLEM_BASE, PayloadTooLarge, RegistryError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_response(problem: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(problem, ensure_ascii=False, indent=2)
    response = Response(body, status=problem["status"], mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(RegistryError, _registry_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _registry_error(error: RegistryError) -> Response:
    if error.status >= 500:
        log.warning("%s %s failed: %s", request.method, request.path, error.detail)
    headers = {}
    retry_after = error.extensions.get("retry_after")
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="ctdl-registry"'

    return problem_response(error.to_problem(request.path), headers)


def _too_large(error: RequestEntityTooLarge) -> Response:
    limit = request.max_content_length
    converted = PayloadTooLarge(
        f"the request body is larger than the {limit} byte limit; split the upload or ask "
        "the operator to raise REGISTRY_MAX_BODY_BYTES",
        limit_bytes=limit,
    )
    return _registry_error(converted)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    slug = (error.name or "error").lower().replace(" ", "-")
    problem = {
        "type": PROBLEM_BASE + slug,
        "title": error.name,
        "status": status,
        "detail": _http_detail(error),
        "instance": request.path,
    }
    headers = {}
    if status == 405:
        allowed = error.get_headers()
        headers = {name: value for name, value in allowed if name == "Allow"}
    return problem_response(problem, headers)


def _http_detail(error: HTTPException) -> str:
    if error.code == 404:
        return f"no resource at {request.path}; see the README for the registry's endpoints"
    if error.code == 405:
        allowed = ", ".join(sorted(getattr(error, "valid_methods", None) or []))
        return f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    return error.description or error.name


def _unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    problem = {
        "type": PROBLEM_BASE + "internal-error",
        "title": "Internal registry error",
        "status": 500,
        "detail": "the registry failed to handle this request; the error is in its log",
        "instance": request.path,
    }
    return problem_response(problem)
