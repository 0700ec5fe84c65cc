"""``/sparql``: the SPARQL 1.1 Protocol, query operation only.

Queries arrive by GET (``query`` parameter), by POST with an
``application/x-www-form-urlencoded`` body, or by POST with an
``application/sparql-query`` body. Updates are rejected.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from registry.errors import InvalidQuery, UnsupportedMediaType
from registry.http.resources import get_registry
from registry.jsonld import compact_nodes
from registry.rdfio import RDF_MEDIA_TYPES, dump_json, negotiate, serialize_triples
from registry.results import RESULT_ALIASES, RESULT_MEDIA_TYPES, serialize_results
from registry.sparql import QueryResult
from registry.vocab import CTDL_CONTEXT_URL

sparql = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"


@sparql.route("/sparql", methods=["GET", "POST"])
def query_endpoint() -> Response:
    query, default_graphs, named_graphs = _read_request()
    result = get_registry().queries.run(query, default_graphs, named_graphs)
    return _render(result)


def _read_request() -> tuple[str, list[str], list[str]]:
    """Return the query text and the protocol's dataset parameters."""
    if request.method == "GET":
        params = request.args
        query = params.get("query")
        if query is None and "update" in params:
            raise _update_rejected()
    else:
        content_type = (request.mimetype or "").lower()
        if content_type == SPARQL_UPDATE or (content_type == FORM and "update" in request.form):
            raise _update_rejected()
        if content_type == FORM:
            params = request.form
            query = params.get("query")
        elif content_type == SPARQL_QUERY:
            params = request.args
            query = request.get_data(as_text=True)
        else:
            raise UnsupportedMediaType(
                f"a POST to /sparql must have Content-Type {FORM} or {SPARQL_QUERY}, "
                f"not {request.mimetype or 'none'}",
                accepted=[FORM, SPARQL_QUERY],
            )
    if query is None:
        raise InvalidQuery(
            "no query: send it in the 'query' parameter (GET or form POST) or as an "
            f"{SPARQL_QUERY} body"
        )
    return query, params.getlist("default-graph-uri"), params.getlist("named-graph-uri")


def _update_rejected() -> InvalidQuery:
    return InvalidQuery(
        "this endpoint is read-only: SPARQL updates are not accepted; publish documents "
        "through the publishing API instead"
    )


def _render(result: QueryResult) -> Response:
    if result.kind == "graph":
        return _render_graph(result)
    media_type = _negotiate_results()
    body = serialize_results(result, media_type)
    response = Response(body, content_type=f"{media_type}; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


def _negotiate_results() -> str:
    format_name = request.values.get("format")
    if format_name:
        format_name = RESULT_ALIASES.get(format_name.lower(), format_name)
    accept = [(RESULT_ALIASES.get(value, value), q) for value, q in request.accept_mimetypes]
    return negotiate(accept, RESULT_MEDIA_TYPES, format_name)


def _render_graph(result: QueryResult) -> Response:
    format_name = request.values.get("format")
    media_type = negotiate(request.accept_mimetypes, list(RDF_MEDIA_TYPES), format_name)
    if RDF_MEDIA_TYPES[media_type] is None:
        registry = get_registry()
        nodes = compact_nodes(result.triples, [], registry.loader, CTDL_CONTEXT_URL)
        body = dump_json({"@context": CTDL_CONTEXT_URL, "@graph": nodes})
    else:
        body = serialize_triples(result.triples, media_type, None)
    response = Response(body, content_type=f"{media_type}; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response
