"""``GET /openapi.json``: the OpenAPI 3.1 description of every HTTP endpoint.

The description is written out here, next to the views, rather than generated
from them, so that it can describe what each response means. A test compares its
paths and methods with the Flask URL map, so neither can drift from the other.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from registry import __version__
from registry.rdfio import dump_json

openapi = Blueprint("openapi", __name__)

PROBLEM = {"$ref": "#/components/responses/Problem"}
JSONLD_ANSWER = {"$ref": "#/components/responses/Answer"}
RDF_DOCUMENT = {"$ref": "#/components/responses/RdfDocument"}


def _path_param(name: str, description: str, example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
        "example": example,
    }


def _query_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema}


CTID = _path_param(
    "ctid", "CTID: 'ce-' followed by a UUID", "ce-deaf8c7f-4706-4bd5-be88-63e40e5296c9"
)
ORG = _path_param(
    "org",
    "CTID of the organization the document is published for",
    "ce-8438ac66-e811-4a30-9dbf-bfd7b2763328",
)
CODE = _path_param(
    "code",
    "SOC 2018 code (29-0000 major, 29-1000 minor, 29-1140 broad, 29-1141 detailed) or "
    "O*NET-SOC code (29-1141.01). A SOC code covers its whole branch of the hierarchy.",
    "29-2042",
)
PAGING = [
    _query_param(
        "limit",
        "results per page",
        {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    ),
    _query_param("offset", "results to skip", {"type": "integer", "minimum": 0, "default": 0}),
]
FORMAT = _query_param(
    "format",
    "overrides the Accept header: jsonld, json, ttl, nt, nq, rdf or csv (where offered)",
    {"type": "string"},
)
DRY_RUN = _query_param("dry_run", "validate only, store nothing", {"type": "boolean"})


def _get(
    summary: str, parameters: list[dict[str, Any]], ok: dict[str, Any], tag: str
) -> dict[str, Any]:
    return {
        "get": {
            "tags": [tag],
            "summary": summary,
            "parameters": parameters,
            "responses": {"200": ok, "400": PROBLEM, "404": PROBLEM, "503": PROBLEM},
        }
    }


def _publish(summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "tags": ["publishing"],
        "summary": summary,
        "security": [{"publisherKey": []}],
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {
                "application/ld+json": {"schema": {"type": "object"}},
                "application/json": {"schema": {"type": "object"}},
                "text/turtle": {"schema": {"type": "string"}},
            },
        },
        "responses": {
            "200": {
                "description": "updated, or unchanged when the graph is isomorphic to the current one"
            },
            "201": {"description": "created"},
            "400": PROBLEM,
            "401": PROBLEM,
            "403": PROBLEM,
            "413": PROBLEM,
            "415": PROBLEM,
            "422": {
                "description": "validation failed; the body holds the report",
                "content": {"application/problem+json": {}},
            },
        },
    }


def paths() -> dict[str, Any]:
    """Return every endpoint, keyed as OpenAPI writes paths (``{name}`` for parameters)."""
    return {
        "/": _get(
            "what this registry holds and where its endpoints are",
            [],
            {"description": "summary", "content": {"application/json": {}}},
            "read",
        ),
        "/resources/{ctid}": _get(
            "one resource as published (the reference registry's /resources URL)",
            [CTID, FORMAT],
            RDF_DOCUMENT,
            "read",
        ),
        "/graph/{ctid}": _get(
            "the whole document holding a resource: its blank nodes and members",
            [CTID, FORMAT],
            RDF_DOCUMENT,
            "read",
        ),
        "/graph/{ctid}/versions": _get(
            "every version of a document: time, publisher, content hash",
            [CTID],
            {"description": "versions", "content": {"application/json": {}}},
            "history",
        ),
        "/graph/{ctid}/versions/{number}": _get(
            "an old version of a document",
            [
                CTID,
                {
                    **_path_param("number", "version number, from 1", "1"),
                    "schema": {"type": "integer", "minimum": 1},
                },
                FORMAT,
            ],
            RDF_DOCUMENT,
            "history",
        ),
        "/events": _get(
            "the change feed: publishes and deletes in order",
            [
                _query_param(
                    "after", "sequence number already seen", {"type": "integer", "default": 0}
                ),
                _query_param(
                    "limit", "events per page", {"type": "integer", "maximum": 1000, "default": 100}
                ),
            ],
            {"description": "events", "content": {"application/json": {}}},
            "history",
        ),
        "/sparql": {
            "get": {
                "tags": ["sparql"],
                "summary": "SPARQL 1.1 Protocol query over all current documents (read-only; no SERVICE)",
                "parameters": [
                    _query_param("query", "SPARQL query", {"type": "string"}),
                    _query_param("default-graph-uri", "graph IRI", {"type": "string"}),
                    _query_param("named-graph-uri", "graph IRI", {"type": "string"}),
                ],
                "responses": {
                    "200": {"$ref": "#/components/responses/SparqlResults"},
                    "400": PROBLEM,
                    "406": PROBLEM,
                    "422": PROBLEM,
                    "503": PROBLEM,
                },
            },
            "post": {
                "tags": ["sparql"],
                "summary": "the same, with the query in an application/sparql-query or form body",
                "requestBody": {
                    "content": {
                        "application/sparql-query": {"schema": {"type": "string"}},
                        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                    }
                },
                "responses": {
                    "200": {"$ref": "#/components/responses/SparqlResults"},
                    "400": PROBLEM,
                    "415": PROBLEM,
                    "503": PROBLEM,
                },
            },
        },
        "/resources/organizations/{org}/documents": {
            "post": _publish("publish or replace a document for an organization", [ORG, DRY_RUN])
        },
        "/resources/organizations/{org}/documents/{ctid}": {
            "put": _publish("publish or replace the document with this CTID", [ORG, CTID, DRY_RUN])
        },
        "/resources/documents/{ctid}": {
            "delete": {
                "tags": ["publishing"],
                "summary": "remove a document from the current graph, keeping a tombstone and its history",
                "security": [{"publisherKey": []}],
                "parameters": [CTID],
                "responses": {
                    "200": {"description": "deleted"},
                    "401": PROBLEM,
                    "403": PROBLEM,
                    "404": PROBLEM,
                    "410": PROBLEM,
                },
            }
        },
        "/validate": {
            "post": {
                "tags": ["publishing"],
                "summary": "the validation report of a document, without storing it (no key needed)",
                "requestBody": {
                    "required": True,
                    "content": {"application/ld+json": {}, "text/turtle": {}},
                },
                "responses": {
                    "200": {
                        "description": "report as JSON, or the SHACL report graph with Accept: text/turtle"
                    },
                    "400": PROBLEM,
                    "415": PROBLEM,
                },
            }
        },
        "/occupations/{code}": _get(
            "the occupations with this code, their broader and narrower occupations and first skills",
            [CODE, FORMAT],
            JSONLD_ANSWER,
            "employers",
        ),
        "/occupations/{code}/credentials": _get(
            "credentials, learning opportunities and assessments that prepare for the occupation, directly (occupationType) or through competencies; each result names the paths that matched, its competencies and the credentials it requires",
            [CODE, *PAGING, FORMAT],
            JSONLD_ANSWER,
            "employers",
        ),
        "/occupations/{code}/competencies": _get(
            "the competencies of the occupation, with how each is linked (essential, optional, occupationType)",
            [CODE, *PAGING, FORMAT],
            JSONLD_ANSWER,
            "employers",
        ),
        "/competencies/{ctid}/credentials": _get(
            "what teaches, assesses or requires the competency",
            [CTID, *PAGING, FORMAT],
            JSONLD_ANSWER,
            "employers",
        ),
        "/credentials/{ctid}/transfer-values": _get(
            "the college credit a credential earns (direction from), or for a course the credit it is given for (direction for)",
            [CTID, *PAGING, FORMAT],
            JSONLD_ANSWER,
            "credit",
        ),
        "/search": _get(
            "full-text search over names, descriptions, competency text and keywords, ranked (BM25) and stemmed",
            [
                {
                    **_query_param("q", "words; the last may be a prefix", {"type": "string"}),
                    "required": True,
                },
                _query_param(
                    "type",
                    "CTDL class with its subclasses, e.g. Credential or ceasn:Competency",
                    {"type": "string"},
                ),
                _query_param(
                    "occupation",
                    "only what prepares for, or is a competency of, this occupation code",
                    {"type": "string"},
                ),
                _query_param(
                    "competency",
                    "only what teaches, assesses or requires this competency (CTID)",
                    {"type": "string"},
                ),
                _query_param(
                    "language",
                    "language tag of the matched text, e.g. en or es",
                    {"type": "string"},
                ),
                *PAGING,
                FORMAT,
            ],
            JSONLD_ANSWER,
            "employers",
        ),
        "/queries": _get(
            "the named SPARQL queries behind the query API",
            [],
            {"description": "list", "content": {"application/json": {}}},
            "sparql",
        ),
        "/queries/{name}": _get(
            "the SPARQL text of a named query for given parameters (e.g. code, ctid, q, limit, offset), runnable on /sparql",
            [_path_param("name", "query name from /queries", "occupation-credentials")],
            {"description": "SPARQL text", "content": {"application/sparql-query": {}}},
            "sparql",
        ),
        "/contexts/query-api.jsonld": _get(
            "the JSON-LD context of the query API's answers",
            [],
            {"description": "context", "content": {"application/ld+json": {}}},
            "read",
        ),
        "/openapi.json": _get(
            "this description",
            [],
            {"description": "OpenAPI 3.1", "content": {"application/json": {}}},
            "read",
        ),
    }


def document(server: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CTDL credential registry",
            "version": __version__,
            "description": "Credentials, competencies, occupations and transfer values in CTDL, as linked data. Read, SPARQL, publishing (Bearer publisher keys) and the employer query API.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": server}],
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "publisherKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a key from `registry keys create --org CTID`",
                }
            },
            "responses": {
                "Problem": {
                    "description": "an RFC 9457 problem: type, title, status, detail and the field or value at fault",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                },
                "Answer": {
                    "description": "a page of answers: JSON-LD (default), Turtle, or CSV of the results",
                    "content": {
                        "application/ld+json": {},
                        "application/json": {},
                        "text/turtle": {},
                        "text/csv": {},
                    },
                },
                "RdfDocument": {
                    "description": "CTDL as JSON-LD (default), Turtle, N-Triples, N-Quads or RDF/XML",
                    "content": {
                        "application/ld+json": {},
                        "text/turtle": {},
                        "application/n-triples": {},
                        "application/n-quads": {},
                        "application/rdf+xml": {},
                    },
                },
                "SparqlResults": {
                    "description": "SPARQL results (JSON, XML, CSV, TSV) or a graph for CONSTRUCT and DESCRIBE",
                    "content": {
                        "application/sparql-results+json": {},
                        "application/sparql-results+xml": {},
                        "text/csv": {},
                        "text/tab-separated-values": {},
                        "text/turtle": {},
                    },
                },
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                    },
                }
            },
        },
    }


@openapi.get("/openapi.json")
def openapi_document() -> Response:
    body = document(request.host_url.rstrip("/"))
    return Response(dump_json(body), content_type="application/json")
