"""A CTDL credential registry: CTDL RDF in Oxigraph, served as JSON-LD, RDF and SPARQL.

The HTTP app lives in ``registry.http`` (``create_app``); everything else in
this package is plain Python with no Flask import.
"""

__version__ = "0.1.0"
