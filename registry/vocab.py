"""Pinned vocabulary files: the manifest, the local cache, and ``vocab sync``.

The registry reads JSON-LD contexts and schema encodings only from a local
cache whose files match the sha256 digests pinned in ``vocab/manifest.json``.
Nothing is fetched at request or load time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from registry.errors import VocabularyError

log = logging.getLogger(__name__)

DEFAULT_MANIFEST = Path(__file__).resolve().parents[1] / "vocab" / "manifest.json"

CTDL_CONTEXT_URL = "https://credreg.net/ctdl/schema/context/json"
CTDLASN_CONTEXT_URL = "https://credreg.net/ctdlasn/schema/context/json"


@dataclass(frozen=True)
class PinnedFile:
    """One manifest entry: a URL pinned to the sha256 of its bytes."""

    name: str
    url: str
    sha256: str
    kind: str
    title: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.aliases)


@dataclass(frozen=True)
class SyncResult:
    """Outcome of ``vocab sync`` for one pinned file."""

    pinned: PinnedFile
    status: str  # "copied", "downloaded", "present" or "missing"
    source: str = ""
    problems: tuple[str, ...] = field(default=())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(path: Path = DEFAULT_MANIFEST) -> list[PinnedFile]:
    """Read and check the manifest of pinned files."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VocabularyError(f"cannot read the vocabulary manifest {path}: {exc}") from exc

    pins = []
    for entry in raw.get("files", []):
        aliases = tuple(entry.pop("aliases", ()))
        pins.append(PinnedFile(aliases=aliases, **entry))
    return pins


class VocabCache:
    """The local folder of pinned files, and lookups by URL."""

    def __init__(self, folder: Path, manifest: Path = DEFAULT_MANIFEST) -> None:
        self.folder = folder
        self.pins = read_manifest(manifest)
        self._by_url = {url: pin for pin in self.pins for url in pin.urls}
        self._parsed: dict[str, Any] = {}

    def pin_for(self, url: str) -> PinnedFile | None:
        """Return the pin whose URL or alias is ``url``, or ``None`` if it is not pinned."""
        return self._by_url.get(url)

    def path_of(self, pin: PinnedFile) -> Path:
        return self.folder / pin.name

    def read_bytes(self, pin: PinnedFile) -> bytes:
        """Return a cached file's bytes after checking them against the pin."""
        path = self.path_of(pin)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise VocabularyError(
                f"{pin.url} is not in the vocabulary cache {self.folder}; run "
                "`registry vocab sync --from DIR` (or without --from on a connected machine)"
            ) from exc
        actual = sha256_bytes(data)
        if actual != pin.sha256:
            raise VocabularyError(
                f"the cached copy of {pin.url} ({path}) has sha256 {actual}, but the manifest "
                f"pins {pin.sha256}; run `registry vocab sync` again"
            )
        return data

    def load_json(self, url: str) -> Any:
        """Return the parsed JSON of a pinned URL, parsing each file once per process."""
        pin = self.pin_for(url)
        if pin is None:
            raise VocabularyError(f"{url} is not pinned in the vocabulary manifest")
        if pin.name not in self._parsed:
            self._parsed[pin.name] = json.loads(self.read_bytes(pin).decode("utf-8-sig"))
        return self._parsed[pin.name]

    def missing(self) -> list[PinnedFile]:
        """Return the pins that have no cached file."""
        return [pin for pin in self.pins if not self.path_of(pin).is_file()]

    @cached_property
    def context_urls(self) -> frozenset[str]:
        return frozenset(url for pin in self.pins if pin.kind == "context" for url in pin.urls)


def sync(
    cache: VocabCache, sources: Iterable[Path] = (), download: bool = False, timeout: float = 30.0
) -> list[SyncResult]:
    """Fill the cache from local folders (matched by digest) or from the pinned URLs.

    A cached file that already matches its pin is left alone. A file found
    under its pinned name whose digest differs is reported and not copied.
    """
    cache.folder.mkdir(parents=True, exist_ok=True)
    by_digest = _index_by_digest(sources)
    named = _index_by_name(sources)
    results = []
    for pin in cache.pins:
        results.append(_sync_one(cache, pin, by_digest, named, download, timeout))
    return results


def _sync_one(
    cache: VocabCache,
    pin: PinnedFile,
    by_digest: dict[str, Path],
    named: dict[str, list[Path]],
    download: bool,
    timeout: float,
) -> SyncResult:
    target = cache.path_of(pin)
    if target.is_file() and sha256_file(target) == pin.sha256:
        return SyncResult(pin, "present", str(target))

    source = by_digest.get(pin.sha256)
    if source is not None:
        _copy_atomically(source, target)
        return SyncResult(pin, "copied", str(source))

    problems = [
        f"{path} has the pinned file name but sha256 {sha256_file(path)}, not {pin.sha256}"
        for path in named.get(pin.name, [])
    ]
    if download:
        try:
            _download(pin, target, timeout)
        except VocabularyError as exc:
            problems.append(str(exc))
        else:
            return SyncResult(pin, "downloaded", pin.url)
    return SyncResult(pin, "missing", problems=tuple(problems))


def _iter_files(sources: Iterable[Path]) -> Iterator[Path]:
    for source in sources:
        if source.is_file():
            yield source
        elif source.is_dir():
            yield from (path for path in sorted(source.rglob("*")) if path.is_file())
        else:
            raise VocabularyError(f"--from {source}: no such file or folder")


def _index_by_digest(sources: Iterable[Path]) -> dict[str, Path]:
    return {sha256_file(path): path for path in _iter_files(list(sources))}


def _index_by_name(sources: Iterable[Path]) -> dict[str, list[Path]]:
    index: dict[str, list[Path]] = {}
    for path in _iter_files(list(sources)):
        index.setdefault(path.name, []).append(path)
    return index


def _copy_atomically(source: Path, target: Path) -> None:
    partial = target.with_suffix(target.suffix + ".partial")
    shutil.copyfile(source, partial)
    partial.replace(target)


def _download(pin: PinnedFile, target: Path, timeout: float) -> None:
    """Download a pinned URL and keep it only if its digest matches."""
    import requests  # imported here: only `vocab sync` without --from uses the network

    try:
        response = requests.get(pin.url, timeout=timeout, headers={"Accept": "application/ld+json"})
        response.raise_for_status()
    except requests.RequestException as exc:
        raise VocabularyError(f"downloading {pin.url} failed: {exc}") from exc

    actual = sha256_bytes(response.content)
    if actual != pin.sha256:
        raise VocabularyError(
            f"{pin.url} now serves bytes with sha256 {actual}, not the pinned {pin.sha256}; "
            "review the change and update vocab/manifest.json if it is intended"
        )
    partial = target.with_suffix(target.suffix + ".partial")
    partial.write_bytes(response.content)
    partial.replace(target)
    log.info("downloaded %s to %s", pin.url, target)
