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
