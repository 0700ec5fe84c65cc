"""Format importers behind one contract (see ``loaders.base.Loader``).

``LOADERS`` maps the name given to ``registry load --format NAME`` to the
module and class that read that format; ``loader_class`` imports it on first
use, so a format's dependencies cost nothing until it is asked for.
"""

from __future__ import annotations

import importlib

from loaders.base import Loader, Outcome

LOADERS: dict[str, str] = {
    "ctdl": "loaders.ctdl:CtdlLoader",
    "onet": "loaders.onet:OnetLoader",
    "soc": "loaders.soc:SocLoader",
    "esco": "loaders.esco:EscoLoader",
    "case": "loaders.case:CaseLoader",
    "osmt": "loaders.osmt:OsmtLoader",
    "cpl": "loaders.cpl:CplLoader",
}


def loader_class(name: str) -> type[Loader]:
    """Return the loader class for a ``--format`` name; raise ``KeyError`` if unknown."""
    module_name, class_name = LOADERS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["LOADERS", "Loader", "Outcome", "loader_class"]
