"""The `registry` command: load, vocab sync, serve, and settings from the environment."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import CTDL, SAMPLES, SHARED_DATA, require_shared

from registry.cli import main
from registry.config import Settings
from registry.ledger import Ledger

EMT = "ce-deaf8c7f-4706-4bd5-be88-63e40e5296c9"
EMT_OWNER = "ce-8438ac66-e811-4a30-9dbf-bfd7b2763328"


@pytest.fixture
def env(vocab_dir, monkeypatch):
    """Point the command at the test vocabulary cache, with no other REGISTRY_* settings."""
    for name in list(os.environ):
        if name.startswith("REGISTRY_") and name not in ("REGISTRY_SHARED_DATA",):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REGISTRY_VOCAB_CACHE", str(vocab_dir))
    return vocab_dir


def test_load_samples(env, tmp_path, capsys):
    code = main(["load", str(SAMPLES), "--store", str(tmp_path / "store")])
    out = capsys.readouterr().out
    assert code == 0
    assert "10 documents loaded (0 with warnings), 0 failed" in out


def test_load_continues_past_bad_file(env, tmp_path, capsys):
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "a-broken.json").write_text('{"@context": ')
    shutil.copy(SAMPLES / "emt-certificate.graph.json", folder / "b-emt.json")

    code = main(["load", str(folder), "--store", str(tmp_path / "store")])

    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED" in out
    assert "a-broken.json is not valid JSON" in out
    assert "1 documents loaded (0 with warnings), 1 failed" in out


def _failed_files(out: str) -> set[str]:
    """The files listed under "failed:" in a load summary, relative to the CTDL folder."""
    listing = out.split("\nfailed:\n", 1)[1].splitlines()
    return {
        line.strip().split(": ", 1)[0].removeprefix(f"{CTDL}/")
        for line in listing
        if line.startswith("  ") and not line.startswith("    ")
    }


def test_load_real_data_without_validation(env, tmp_path, capsys):
    require_shared()
    code = main(["load", str(CTDL), "--store", str(tmp_path / "store"), "--quiet", "--no-validate"])
    failed = _failed_files(capsys.readouterr().out)
    assert code == 1
    assert len(failed) == 3
    assert "graphs/occupations/nice-sp-rsk-001-occupation-workrole.json" in failed
    assert all(path.startswith("validation/negative/") for path in failed if "nice-sp" not in path)


def test_load_validates_by_default(env, tmp_path, capsys):
    """With validation, exactly the documents known to break the policy are refused."""
    from test_validation import EXPECTED_VIOLATIONS

    require_shared()
    folders = [CTDL / "graphs", CTDL / "resources", CTDL / "envelopes"]
    code = main(["load", *map(str, folders), "--store", str(tmp_path / "store"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    assert _failed_files(out) == {
        *EXPECTED_VIOLATIONS,
        "graphs/occupations/nice-sp-rsk-001-occupation-workrole.json",
    }
    assert "rejected by validation, 2 violation(s), nothing stored:" in out
    assert "ceterms:description is missing on" in out


def test_load_reports_warnings(env, tmp_path, capsys):
    require_shared()
    path = CTDL / "graphs/learning-opportunities/160-driving-academy-lopp.graph.json"
    main(["load", str(path), "--store", str(tmp_path / "store")])
    out = capsys.readouterr().out
    assert "warned" in out
    assert "surrounding whitespace" in out


def test_load_missing_path(env, tmp_path, capsys):
    code = main(["load", str(tmp_path / "absent"), "--store", str(tmp_path / "store")])
    assert code == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_load_unknown_format(env, tmp_path, capsys):
    code = main(["load", str(SAMPLES), "--format", "nope"])
    assert code == 2
    assert "unknown --format 'nope'; available: case, cpl, ctdl, esco, onet, osmt, soc" in (
        capsys.readouterr().err
    )


def test_vocab_sync_command(tmp_path, capsys, monkeypatch):
    require_shared()
    monkeypatch.delenv("REGISTRY_VOCAB_CACHE", raising=False)
    args = ["vocab", "sync", "--vocab-cache", str(tmp_path / "cache")]
    code = main([*args, "--from", str(CTDL / "vocab"), "--from", str(SHARED_DATA / "contexts")])
    assert code == 0
    assert "17 of 17 files" in capsys.readouterr().out


def test_vocab_sync_reports_missing(tmp_path, capsys):
    require_shared()
    code = main(
        ["vocab", "sync", "--vocab-cache", str(tmp_path / "c"), "--from", str(CTDL / "vocab")]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "missing    https://www.w3.org/ns/credentials/v2" in out


def test_settings_from_environment():
    settings = Settings.from_env(
        {"REGISTRY_PORT": "9001", "REGISTRY_QUERY_TIMEOUT": "2.5", "REGISTRY_STORE": "/tmp/x"}
    )
    assert settings.port == 9001
    assert settings.query_timeout == 2.5
    assert settings.store == Path("/tmp/x")
    assert settings.base_url == "http://127.0.0.1:9001"


def test_invalid_environment_value():
    with pytest.raises(ValueError, match="REGISTRY_PORT='eighty'"):
        Settings.from_env({"REGISTRY_PORT": "eighty"})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"registry serve exited with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"registry serve did not answer at {url}")


def test_serve_after_load(env, tmp_path):
    store = tmp_path / "store"
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    assert main(["load", str(SAMPLES), "--store", str(store), "--base-url", base_url]) == 0

    command = [
        sys.executable,
        "-m",
        "registry.cli",
        "serve",
        "--store",
        str(store),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(base_url + "/", process)
        response = requests.get(f"{base_url}/resources/{EMT}", timeout=10)
        assert response.status_code == 200
        assert response.json()["ceterms:ctid"] == EMT
        assert response.headers["Server"] == "waitress"
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert f"registry serving 10 documents at {base_url}/" in output


def test_validate_conforming_sample(env, capsys):
    code = main(["validate", str(SAMPLES / "emt-certificate.graph.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert "1 of 1 files conform" in out


def test_validate_ignores_configured_store(env, tmp_path, monkeypatch, capsys):
    store = tmp_path / "store"
    monkeypatch.setenv("REGISTRY_STORE", str(store))
    assert main(["validate", str(SAMPLES / "emt-certificate.graph.json")]) == 0
    assert not store.exists()


def test_validate_json_reports_violation(env, tmp_path, capsys):
    document = json.loads((SAMPLES / "emt-certificate.graph.json").read_text())
    del document["@graph"][0]["ceterms:name"]
    path = tmp_path / "emt.json"
    path.write_text(json.dumps(document))

    code = main(["validate", str(path), "--format", "json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report[0]["conforms"] is False
    assert "ceterms:name" in {
        r["term"] for r in report[0]["results"] if r["severity"] == "Violation"
    }


def test_validate_negative_file(env, capsys):
    require_shared()
    path = CTDL / "validation/negative/org-missing-email-and-place.json"
    assert main(["validate", str(path)]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_keys_create_prints_key_last(env, tmp_path, capsys):
    store = tmp_path / "store"
    store.mkdir()
    code = main(["keys", "create", "--org", EMT_OWNER.upper(), "--store", str(store)])
    key = capsys.readouterr().out.strip().splitlines()[-1]
    ledger = Ledger(store / "ledger.sqlite3")
    try:
        assert code == 0
        assert ledger.org_for_key(key) == EMT_OWNER
    finally:
        ledger.close()


def test_keys_revoke(env, tmp_path, capsys):
    store = tmp_path / "store"
    store.mkdir()
    main(["keys", "create", "--org", EMT_OWNER, "--store", str(store)])
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["keys", "revoke", key, "--store", str(store)]) == 0
    ledger = Ledger(store / "ledger.sqlite3")
    try:
        assert ledger.org_for_key(key) is None
    finally:
        ledger.close()


def test_keys_need_store(env, capsys):
    assert main(["keys", "list"]) == 2
    assert "--store" in capsys.readouterr().err


def test_keys_mistyped_store_rejected(env, tmp_path, capsys):
    code = main(["keys", "create", "--org", EMT_OWNER, "--store", str(tmp_path / "typo")])
    assert code == 2
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


def test_validate_skips_non_documents(env, capsys):
    code = main(["validate", str(SAMPLES)])
    out = capsys.readouterr().out
    assert code == 0
    assert "skipped" in out
    assert "README.md" in out
    assert "10 of 10 files conform" in out


def test_validate_without_vocabulary(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REGISTRY_VOCAB_CACHE", str(tmp_path / "empty"))
    code = main(["validate", str(SAMPLES / "emt-certificate.graph.json")])
    assert code == 2
    assert "registry vocab sync" in capsys.readouterr().err


def test_serve_on_busy_port(env, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--port", str(port)])
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
