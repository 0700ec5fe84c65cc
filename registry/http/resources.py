"""``/resources/{ctid}`` and ``/graph/{ctid}``, the reference registry's read URLs."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from registry import __version__
from registry.rdfio import RDF_MEDIA_TYPES, dump_json, negotiate, serialize_triples
from registry.service import Registry

resources = Blueprint("resources", __name__)

OFFERED = list(RDF_MEDIA_TYPES)


def get_registry() -> Registry:
    return current_app.extensions["registry"]


def _chosen_media_type() -> str:
    return negotiate(request.accept_mimetypes, OFFERED, request.args.get("format"))


def _rdf_response(body: bytes, media_type: str, canonical: str | None = None) -> Response:
    mimetype = media_type
    if media_type.startswith("text/") or media_type.endswith(("json", "xml")):
        mimetype = f"{media_type}; charset=utf-8"
    response = Response(body, content_type=mimetype)
    response.headers["Vary"] = "Accept"
    if canonical:
        response.headers["Content-Location"] = canonical
    return response


@resources.get("/")
def index() -> Response:
    registry = get_registry()
    body = {
        "name": "CTDL credential registry",
        "version": __version__,
        "documents": registry.ledger.count_current(),
        "endpoints": {
            "resource": "/resources/{ctid}",
            "graph": "/graph/{ctid}",
            "sparql": "/sparql",
            "versions": "/graph/{ctid}/versions",
            "events": "/events?after={seq}",
            "publish": "POST /resources/organizations/{org}/documents",
            "delete": "DELETE /resources/documents/{ctid}",
            "validate": "POST /validate",
            "occupation": "/occupations/{code}",
            "credentials for an occupation": "/occupations/{code}/credentials",
            "competencies of an occupation": "/occupations/{code}/competencies",
            "credentials for a competency": "/competencies/{ctid}/credentials",
            "transfer values": "/credentials/{ctid}/transfer-values",
            "search": "/search?q=...",
            "named queries": "/queries",
            "openapi": "/openapi.json",
        },
        "formats": OFFERED,
    }
    return Response(dump_json(body), content_type="application/json")


@resources.get("/graph/<ctid>")
def graph(ctid: str) -> Response:
    """Serve the whole document that contains ``ctid``: its resource, blank nodes and members."""
    registry = get_registry()
    media_type = _chosen_media_type()
    if RDF_MEDIA_TYPES[media_type] is None:
        return _rdf_response(dump_json(registry.graph_jsonld(ctid)), media_type)
    stored = registry.graph(ctid)
    body = serialize_triples(stored.triples, media_type, stored.graph_iri)
    return _rdf_response(body, media_type, canonical=f"/graph/{stored.ctid}")


@resources.get("/graph/<ctid>/versions/<int:number>")
def version(ctid: str, number: int) -> Response:
    """One version of a document, current or old, in any RDF format."""
    registry = get_registry()
    media_type = _chosen_media_type()
    stored = registry.version_graph(ctid, number)
    if RDF_MEDIA_TYPES[media_type] is None:
        return _rdf_response(dump_json(registry.render_jsonld(stored)), media_type)
    return _rdf_response(
        serialize_triples(stored.triples, media_type, stored.graph_iri), media_type
    )


@resources.get("/resources/<ctid>")
def resource(ctid: str) -> Response:
    """Serve one resource and the blank nodes it uses."""
    registry = get_registry()
    media_type = _chosen_media_type()
    if RDF_MEDIA_TYPES[media_type] is None:
        return _rdf_response(dump_json(registry.resource_jsonld(ctid)), media_type)
    graph_iri, _, triples = registry.resource(ctid)
    return _rdf_response(serialize_triples(triples, media_type, graph_iri), media_type)
