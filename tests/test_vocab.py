"""Pinned vocabulary: sync by digest, rejection of changed files, offline loading."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from conftest import CTDL, SHARED_DATA, require_shared

from registry.errors import InvalidDocument, UnknownContext, VocabularyError
from registry.jsonld import PinnedLoader
from registry.vocab import CTDL_CONTEXT_URL, VocabCache, sync


def test_sync_copies_every_pin(tmp_path):
    require_shared()
    cache = VocabCache(tmp_path / "cache")
    results = sync(cache, [CTDL / "vocab", SHARED_DATA / "contexts"])
    assert {r.status for r in results} == {"copied"}
    assert cache.missing() == []


def test_sync_second_run_keeps_files(tmp_path):
    require_shared()
    cache = VocabCache(tmp_path / "cache")
    sync(cache, [CTDL / "vocab", SHARED_DATA / "contexts"])
    results = sync(cache, [CTDL / "vocab", SHARED_DATA / "contexts"])
    assert {r.status for r in results} == {"present"}


def test_sync_rejects_changed_file(tmp_path):
    require_shared()
    source = tmp_path / "source"
    source.mkdir()
    changed = (
        (CTDL / "vocab" / "ctdl-context.jsonld").read_bytes().replace(b"ceterms", b"xterms", 1)
    )
    (source / "ctdl-context.jsonld").write_bytes(changed)
    cache = VocabCache(tmp_path / "cache")

    results = {r.pinned.name: r for r in sync(cache, [source])}

    result = results["ctdl-context.jsonld"]
    assert result.status == "missing"
    assert "has the pinned file name but sha256" in result.problems[0]
    assert not (tmp_path / "cache" / "ctdl-context.jsonld").exists()


def test_tampered_cache_rejected(vocab_dir: Path, tmp_path):
    cache = VocabCache(tmp_path / "cache")
    cache.folder.mkdir()
    (cache.folder / "ctdl-context.jsonld").write_bytes(b'{"@context": {}}')
    with pytest.raises(VocabularyError, match="run `registry vocab sync` again"):
        cache.load_json(CTDL_CONTEXT_URL)


def test_empty_cache_explains_sync(tmp_path):
    cache = VocabCache(tmp_path / "empty")
    with pytest.raises(VocabularyError, match="registry vocab sync"):
        cache.load_json(CTDL_CONTEXT_URL)


def test_loader_serves_legacy_alias(vocab_dir: Path):
    loader = PinnedLoader(VocabCache(vocab_dir))
    legacy = loader("http://credreg.net/ctdl/schema/context/json")
    current = loader(CTDL_CONTEXT_URL)
    assert legacy["document"] == current["document"]


def test_loader_rejects_unpinned_url(vocab_dir: Path):
    loader = PinnedLoader(VocabCache(vocab_dir))
    with pytest.raises(UnknownContext, match="https://example.org/context.jsonld"):
        loader("https://example.org/context.jsonld")


def test_parse_opens_no_socket(registry, monkeypatch):
    require_shared()

    def reject_connection(*args, **kwargs):
        raise AssertionError("the registry tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", reject_connection)
    monkeypatch.setattr(socket.socket, "connect", reject_connection)
    for path in sorted((CTDL / "graphs").rglob("*.json"))[:10]:
        try:
            registry.parse(path.read_bytes(), path.name)
        except InvalidDocument as exc:
            assert "network" not in exc.detail
