"""Format importers behind one contract (see ``loaders.base.Loader``).

``LOADERS`` maps the name given to ``registry load --format NAME`` to the
loader class.
"""

from loaders.base import Loader, Outcome
from loaders.ctdl import CtdlLoader

LOADERS: dict[str, type[Loader]] = {
    CtdlLoader.name: CtdlLoader,
}

__all__ = ["LOADERS", "Loader", "Outcome"]
