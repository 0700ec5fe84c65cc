"""The loader contract.

A loader reads source files of one format and yields ``Outcome`` objects, one
per unit it tried to turn into a CTDL document (a file for CTDL itself, a row
or record for tabular sources). Each outcome carries either a ``Document``
ready for the store, an error saying why that unit failed, or a reason it was
skipped because it is not input for this loader. Warnings ride on the
document. Loaders never write to the store; ``registry load`` does, so every
format gets the same atomic per-document replace, progress and summary.

To add a format: subclass ``Loader``, set ``name`` and ``suffixes``,
implement ``read``, and add its ``module:Class`` path to ``loaders.LOADERS``.
Set ``independent_files`` if each file can be read on its own: ``registry
load --workers`` then reads files in worker processes, each with its own
instance of the loader.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from registry.ingest import Document
from registry.service import Registry


@dataclass
class Outcome:
    """The result of one unit of input: a document, an error, or a skip reason."""

    source: str
    document: Document | None = None
    error: str | None = None
    skipped: str | None = None

    @property
    def status(self) -> str:
        if self.error:
            return "failed"
        if self.skipped:
            return "skipped"
        assert self.document is not None
        return "warned" if self.document.warnings else "loaded"


class Loader(ABC):
    """Turns source files of one format into CTDL documents."""

    name: str = ""
    suffixes: tuple[str, ...] = ()
    # True when what ``read`` yields for a file depends on that file alone, not on
    # files read before it, so separate loader instances may read files in
    # parallel (``registry load --workers``).
    independent_files: bool = False

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def discover(self, paths: Iterable[Path]) -> list[Path]:
        """Expand folders into the files under them, sorted; keep files as given."""
        found: list[Path] = []
        for path in paths:
            if path.is_dir():
                found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
            else:
                found.append(path)
        return found

    @abstractmethod
    def read(self, path: Path) -> Iterator[Outcome]:
        """Yield one ``Outcome`` per unit of input in ``path``, reporting bad input as an
        error outcome instead of raising."""
