"""The employer and partner query API: occupations, competencies, credit and search.

Every response is JSON-LD by default (``application/ld+json`` or
``application/json``), the same graph as Turtle with ``Accept: text/turtle``,
or the list of results as CSV with ``Accept: text/csv``. Pages hold
``limit`` results (50 by default, at most 500) from ``offset``; ``next`` is the
offset of the next page, or null. ``GET /queries/{name}`` returns the SPARQL
text behind an answer, runnable on ``/sparql``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, request, url_for

from registry.employer import API_CONTEXT, NAMED_QUERIES
from registry.http.resources import get_registry
from registry.queries import page_bounds
from registry.rdfio import FORMAT_ALIASES, JSONLD, dump_json, negotiate

employer = Blueprint("employer", __name__)

CSV = "text/csv"
TURTLE = "text/turtle"
OFFERED = [JSONLD, "application/json", TURTLE, CSV]


@employer.get("/occupations/<code>")
def occupation(code: str) -> Response:
    body = get_registry().employer.occupation(code)
    return _answer(body, "occupation", {"code": code})


@employer.get("/occupations/<code>/credentials")
def occupation_credentials(code: str) -> Response:
    limit, offset = _page()
    body = get_registry().employer.occupation_credentials(code, limit, offset)
    return _answer(body, "occupation-credentials", {"code": code})


@employer.get("/occupations/<code>/competencies")
def occupation_competencies(code: str) -> Response:
    limit, offset = _page()
    body = get_registry().employer.occupation_competencies(code, limit, offset)
    return _answer(body, "occupation-competencies", {"code": code})


@employer.get("/competencies/<ctid>/credentials")
def competency_credentials(ctid: str) -> Response:
    limit, offset = _page()
    body = get_registry().employer.competency_credentials(ctid, limit, offset)
    return _answer(body, "competency-credentials", {"ctid": ctid})


@employer.get("/credentials/<ctid>/transfer-values")
def transfer_values(ctid: str) -> Response:
    limit, offset = _page()
    body = get_registry().employer.transfer_values(ctid, limit, offset)
    return _answer(body, "transfer-values", {"ctid": ctid})


@employer.get("/search")
def search() -> Response:
    limit, offset = _page()
    args = request.args
    filters = {key: args.get(key) for key in ("type", "occupation", "competency", "language")}
    body = get_registry().employer.search(args.get("q", ""), limit, offset, **filters)
    params = {"q": args.get("q", ""), **{k: v for k, v in filters.items() if v}}
    return _answer(body, "search", params)


@employer.get("/contexts/query-api.jsonld")
def context() -> Response:
    """Serve the JSON-LD context of the query API's responses."""
    response = Response(
        dump_json({"@context": API_CONTEXT}), content_type="application/ld+json; charset=utf-8"
    )
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@employer.get("/queries")
def list_queries() -> Response:
    """List the named queries: description, endpoint, parameters and an example link."""
    listing = [
        {
            "name": query.name,
            "description": query.description,
            "endpoint": query.endpoint,
            "parameters": query.parameters,
            "sparql": _query_link(query.name, query.example) if query.example else None,
        }
        for query in NAMED_QUERIES.values()
    ]
    return Response(dump_json({"queries": listing}), content_type="application/json")


@employer.get("/queries/<name>")
def show_query(name: str) -> Response:
    """The SPARQL text of a named query for the given parameters, as ``/sparql`` takes it."""
    text = get_registry().employer.sparql_for(name, request.args.to_dict())
    return Response(text, content_type="application/sparql-query; charset=utf-8")


# --- Rendering ------------------------------------------------------------------------------


def _page() -> tuple[int, int]:
    return page_bounds(request.args.get("limit"), request.args.get("offset"))


def _answer(body: dict[str, Any], query_name: str, params: dict[str, str]) -> Response:
    """Render a page in the negotiated format, with links to itself, the next page and
    the SPARQL behind it."""
    limit, offset = _page()
    paging = {} if query_name == "occupation" else {"limit": limit}
    body = {
        "@context": url_for("employer.context", _external=True),
        "@id": _self_link({**params, **paging, "offset": offset} if paging else params),
        **{key: value for key, value in body.items() if key != "@context"},
    }
    if body.get("next") is not None:
        body["next"] = _self_link({**params, **paging, "offset": body["next"]})
    body["sparql"] = _query_link(query_name, {**params, **paging, "offset": offset})
    media_type = negotiate(
        request.accept_mimetypes, OFFERED, _format_name(request.args.get("format"))
    )
    if media_type == TURTLE:
        return _response(_turtle({**body, "@context": API_CONTEXT}), TURTLE)
    if media_type == CSV:
        return _response(_csv(body.get("results", [])), CSV)
    return _response(dump_json(body), media_type)


def _format_name(name: str | None) -> str | None:
    if name and name.lower() == "csv":
        return CSV
    return FORMAT_ALIASES.get(name.lower(), name) if name else None


def _self_link(params: dict[str, Any]) -> str:
    query = urlencode({k: v for k, v in params.items() if k not in ("code", "ctid")})
    base = request.base_url
    return f"{base}?{query}" if query else base


def _query_link(name: str, params: dict[str, Any]) -> str:
    return url_for("employer.show_query", name=name, _external=True, **params)


def _response(body: bytes, media_type: str) -> Response:
    response = Response(body, content_type=f"{media_type}; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


def _turtle(body: dict[str, Any]) -> bytes:
    """Serialize the response as Turtle: Oxigraph parses the JSON-LD, whose context is inline."""
    quads = ox.parse(json.dumps(body).encode("utf-8"), format=ox.RdfFormat.JSON_LD)
    return ox.serialize(
        (quad.triple for quad in quads),
        format=ox.RdfFormat.TURTLE,
        prefixes={
            "ceterms": "https://purl.org/ctdl/terms/",
            "ceasn": "https://purl.org/ctdlasn/terms/",
            "api": "urn:ctdl-registry:api:",
        },
    )


def _csv(results: list[dict[str, Any]]) -> bytes:
    """Write one row per result; nested lists become ``; ``-separated cells."""
    columns: list[str] = []
    for result in results:
        columns.extend(key for key in result if key not in columns)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for result in results:
        writer.writerow([_cell(result.get(column)) for column in columns])
    return out.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    """A CSV cell: lists joined with ``; ``, and for an object the fields that name it
    (path, code, competency, CTID, name) or else all its plain fields (value, unit)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_cell(item) for item in value)
    if isinstance(value, dict):
        naming = [
            str(value[k]) for k in ("path", "code", "competency", "ctid", "name") if k in value
        ]
        plain = [
            str(v)
            for k, v in value.items()
            if not k.startswith("@") and not isinstance(v, (list, dict))
        ]
        return " ".join(naming or plain or [str(value.get("@id", ""))])
    return str(value)
