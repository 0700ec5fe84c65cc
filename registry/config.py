"""Registry settings, read from ``REGISTRY_*`` environment variables and overridden by flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


def default_vocab_cache() -> Path:
    """Return the vocabulary cache folder: ``$XDG_CACHE_HOME/ctdl-registry/vocab``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ctdl-registry" / "vocab"


@dataclass(frozen=True)
class Settings:
    """Everything the registry can be configured with.

    ``store`` is a folder for the on-disk Oxigraph store, or ``None`` for an
    in-memory store that is lost when the process ends.

    When all ``query_workers`` are busy, up to ``query_queue_length`` more
    queries (default: 4 per worker) wait for a free worker, each for at most
    ``query_queue_wait`` seconds (default: half of ``query_timeout``). The
    wait counts toward the query's ``query_timeout``.
    """

    store: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = "http://127.0.0.1:8080"
    vocab_cache: Path | None = None
    query_timeout: float = 10.0
    max_results: int = 100_000
    max_body_bytes: int = 16 * 1024 * 1024
    query_workers: int = 4
    query_queue_length: int | None = None
    query_queue_wait: float | None = None

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with every override that is not ``None`` applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def vocab_cache_dir(self) -> Path:
        return self.vocab_cache or default_vocab_cache()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``REGISTRY_<FIELD>`` variables, e.g. ``REGISTRY_QUERY_TIMEOUT=5``."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = environ.get("REGISTRY_" + field.name.upper())
            if raw is None or raw == "":
                continue
            values[field.name] = _convert(field.name, raw)
        settings = cls(**values)
        if "base_url" not in values and ("host" in values or "port" in values):
            settings = replace(settings, base_url=f"http://{settings.host}:{settings.port}")
        return settings


def _convert(name: str, raw: str) -> Any:
    """Convert one environment value to the type of the field it sets."""
    converters: dict[str, Any] = {
        "store": Path,
        "vocab_cache": Path,
        "port": int,
        "query_timeout": float,
        "max_results": int,
        "max_body_bytes": int,
        "query_workers": int,
        "query_queue_length": int,
        "query_queue_wait": float,
    }
    convert = converters.get(name, str)
    try:
        return convert(raw)
    except ValueError as exc:
        raise ValueError(
            f"REGISTRY_{name.upper()}={raw!r} is invalid: expected {convert.__name__}"
        ) from exc
