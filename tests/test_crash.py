"""A publish interrupted by killing the server leaves the old or the new version, never a mix."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pyoxigraph as ox
import pytest
import requests
from rdf_oracle import canonical

ALDER = "ce-8438ac66-e811-4a30-9dbf-bfd7b2763328"
BASE = "https://credentialengineregistry.org/resources/"
FRAMEWORK = "ce-5a1e0000-0000-4000-8000-00000000c0de"
SIZE = 1500


def framework(label: str) -> bytes:
    """A competency framework whose every competency text carries ``label``."""
    members = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"competency {i}")) for i in range(SIZE)]
    graph = [
        {
            "@id": BASE + FRAMEWORK,
            "@type": "ceasn:CompetencyFramework",
            "ceterms:ctid": FRAMEWORK,
            "ceasn:name": {"en-US": f"Crash test framework {label}"},
            "ceasn:description": {"en-US": "Generated to interrupt a publish."},
            "ceasn:inLanguage": ["en"],
            "ceasn:publisher": [BASE + ALDER],
            "ceasn:hasTopChild": [f"{BASE}ce-{m}" for m in members],
        }
    ]
    for i, member in enumerate(members):
        graph.append(
            {
                "@id": f"{BASE}ce-{member}",
                "@type": "ceasn:Competency",
                "ceterms:ctid": f"ce-{member}",
                "ceasn:competencyText": {"en-US": f"Task {i}, edition {label}."},
                "ceasn:isPartOf": BASE + FRAMEWORK,
                "ceasn:isTopChildOf": BASE + FRAMEWORK,
            }
        )
    document = {"@context": "https://credreg.net/ctdlasn/schema/context/json", "@graph": graph}
    return json.dumps(document).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`registry serve` as a child process that the test can kill."""

    def __init__(self, store, vocab_dir) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "registry.cli", "serve", "--store", str(store)]
        command += ["--port", str(self.port), "--vocab-cache", str(vocab_dir)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        self.kill()
        raise AssertionError("registry serve did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def _publish(url: str, key: str, body: bytes) -> requests.Response:
    return requests.post(
        f"{url}/resources/organizations/{ALDER}/documents",
        data=body,
        headers={"Content-Type": "application/ld+json", "Authorization": f"Bearer {key}"},
        timeout=300,
    )


def _served(url: str) -> set[str]:
    response = requests.get(
        f"{url}/graph/{FRAMEWORK}", headers={"Accept": "application/n-triples"}, timeout=60
    )
    assert response.status_code == 200
    return canonical(q.triple for q in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES))


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.5])
def test_killed_publish_is_old_or_new(tmp_path, vocab_dir, registry, delay):
    store = tmp_path / "store"
    store.mkdir()
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.cli",
            "keys",
            "create",
            "--org",
            ALDER,
            "--store",
            str(store),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    old_body, new_body = framework("A"), framework("B")
    old = canonical(registry.parse(old_body, "A").triples)
    new = canonical(registry.parse(new_body, "B").triples)

    server = Server(store, vocab_dir)
    try:
        assert _publish(server.url, key, old_body).status_code == 201
        sender = threading.Thread(target=lambda: _safe_publish(server.url, key, new_body))
        sender.start()
        time.sleep(delay)
    finally:
        server.kill()
    sender.join(timeout=60)

    restarted = Server(store, vocab_dir)
    try:
        served = _served(restarted.url)
        versions = requests.get(f"{restarted.url}/graph/{FRAMEWORK}/versions", timeout=30).json()
    finally:
        restarted.kill()
    assert served in (old, new)
    expected_versions = 1 if served == old else 2
    assert len(versions["versions"]) == expected_versions


def _safe_publish(url: str, key: str, body: bytes) -> None:
    try:
        _publish(url, key, body)
    except requests.RequestException:
        pass  # the server was killed mid-request, which is the point of the test


@pytest.mark.parametrize("extra_delay", [0.0, 0.4])
def test_killed_bulk_load_is_recovered_whole(tmp_path, vocab_dir, extra_delay):
    """`registry load` writes new graphs through Oxigraph's bulk loader, without a
    transaction. Killed while it writes, the next start must hold every recorded
    version whole (recovery rewrites the ones not marked applied) and no graph
    without a version."""

    from conftest import PROJECT, SHARED_DATA

    from registry.config import Settings
    from registry.service import Registry

    sys.path.insert(0, str(PROJECT / "bench"))
    from synthetic import Generator, read_soc

    generator = Generator(11, read_soc(SHARED_DATA / "occupations" / "osmt-BLS-Import-SOC2018.csv"))
    documents = tmp_path / "documents"
    documents.mkdir()
    for index in range(1200):
        (documents / f"{index:05d}.json").write_text(json.dumps(generator.document(index)))
    store = tmp_path / "store"
    command = [sys.executable, "-m", "registry.cli", "load", str(documents), "--quiet"]
    command += ["--store", str(store), "--vocab-cache", str(vocab_dir)]
    command += ["--base-url", "https://credentialengineregistry.org"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_recorded_versions(store / "ledger.sqlite3", process)
        time.sleep(extra_delay)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    registry = Registry(
        Settings(
            store=store, vocab_cache=vocab_dir, base_url="https://credentialengineregistry.org"
        )
    )
    try:
        assert registry.ledger.unapplied() == []
        stored = set(registry.store.document_ctids())
        for ctid in stored:
            current = registry.ledger.current(ctid)
            assert current is not None and current.action == "publish", ctid
            content = ox.parse(current.content or b"", format=ox.RdfFormat.N_TRIPLES)
            expected = canonical(quad.triple for quad in content)
            assert canonical(registry.store.document_triples(ctid)) == expected, ctid
        assert stored, "the load was killed before any document was stored"
        # Every recorded publish has its graph: nothing recorded was lost.
        assert registry.ledger.count_current() == len(stored)
    finally:
        registry.close()


def _wait_for_recorded_versions(ledger_path, process) -> None:
    """Return once the load has committed its first versions (bounded wait)."""
    import sqlite3

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "registry load ended before it could be interrupted"
        if ledger_path.exists():
            try:
                with sqlite3.connect(ledger_path, timeout=1) as ledger:
                    if ledger.execute("SELECT count(*) FROM versions").fetchone()[0]:
                        return
            except sqlite3.OperationalError:
                pass  # the table is not created yet
        time.sleep(0.02)
    raise AssertionError("registry load recorded no version within 180 s")
