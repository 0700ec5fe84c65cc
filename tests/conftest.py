"""Shared fixtures: real data from ``../shared/data``, a synced vocabulary cache,
in-memory registries, the Flask client and a live server on loopback.

Tests that need ``../shared/data`` are skipped when it is absent, unless
``REGISTRY_REQUIRE_SHARED=1`` (set by ``.ci/run``) turns that skip into a failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from registry.config import Settings
from registry.http import create_app
from registry.service import Registry
from registry.vocab import VocabCache, sync

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("REGISTRY_SHARED_DATA", PROJECT.parent / "shared" / "data"))
CTDL = SHARED_DATA / "ctdl"
SAMPLES = PROJECT / "samples"

# Real published documents that are not registry documents, with the reason the
# loader rejects them; every other file under these folders must load.
REJECTED_REAL_DOCUMENTS = {
    "graphs/occupations/nice-sp-rsk-001-occupation-workrole.json": "has no CTID",
}


def require_shared() -> None:
    """Skip (or fail, under CI) when the shared data folder is missing."""
    if CTDL.is_dir():
        return
    message = f"shared data not found at {SHARED_DATA}; set REGISTRY_SHARED_DATA"
    if os.environ.get("REGISTRY_REQUIRE_SHARED") == "1":
        pytest.fail(message)
    pytest.skip(message)


def real_documents() -> list[Path]:
    """Every published document under graphs/, resources/ and envelopes/."""
    if not CTDL.is_dir():
        return []
    folders = [CTDL / "graphs", CTDL / "resources", CTDL / "envelopes"]
    return sorted(p for folder in folders for p in folder.rglob("*.json"))


def document_id(path: Path) -> str:
    return str(path.relative_to(CTDL))


@pytest.fixture(scope="session")
def vocab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vocabulary cache filled from the shared copies, as `registry vocab sync --from` does."""
    require_shared()
    folder = tmp_path_factory.mktemp("vocab")
    results = sync(VocabCache(folder), [CTDL / "vocab", SHARED_DATA / "contexts"])
    missing = [r.pinned.url for r in results if r.status == "missing"]
    assert not missing, f"pinned files missing from shared data: {missing}"
    return folder


@pytest.fixture
def settings(vocab_dir: Path) -> Settings:
    return Settings(vocab_cache=vocab_dir, base_url="http://registry.test")


@pytest.fixture(scope="session")
def validator(vocab_dir: Path):
    """One SHACL validator for the session: building it reads the whole vocabulary."""
    from registry.validation import Validator

    return Validator(VocabCache(vocab_dir))


@pytest.fixture
def registry(settings: Settings, validator) -> Iterator[Registry]:
    """An empty registry with an in-memory store."""
    instance = Registry(settings)
    instance._validator = validator
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def loaded_registry(vocab_dir: Path) -> Iterator[Registry]:
    """One registry holding every real document; tests must not change it."""
    instance = Registry(Settings(vocab_cache=vocab_dir, base_url="http://registry.test"))
    for path in real_documents():
        if document_id(path) not in REJECTED_REAL_DOCUMENTS:
            instance.load(path.read_bytes(), document_id(path))
    yield instance
    instance.close()


@pytest.fixture
def app(registry: Registry):
    return create_app(registry=registry)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def loaded_client(loaded_registry: Registry):
    return create_app(registry=loaded_registry).test_client()


@pytest.fixture(scope="session")
def live_url(loaded_registry: Registry) -> Iterator[str]:
    """A real threaded HTTP server on a free loopback port, serving ``loaded_registry``."""
    server = make_server("127.0.0.1", 0, create_app(registry=loaded_registry), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
