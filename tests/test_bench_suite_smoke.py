"""Keep the registry-scale benchmark suite working: valid generated data and a tiny run.

No test here checks a time; the suite's figures come from runs at 10,000
documents and more (see docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import PROJECT, SHARED_DATA, require_shared

sys.path.insert(0, str(PROJECT / "bench"))

from synthetic import BLOCK_SIZE, Generator, read_soc  # noqa: E402

RESOURCE_IRI = re.compile(r"https://credentialengineregistry\.org/resources/ce-[0-9a-f-]{36}")
SOC_CSV = SHARED_DATA / "occupations" / "osmt-BLS-Import-SOC2018.csv"
KINDS = {
    "organization",
    "framework",
    "occupation",
    "credential",
    "learning",
    "assessment",
    "transfer",
}


@pytest.fixture(scope="module")
def generator() -> Generator:
    require_shared()
    return Generator(7, read_soc(SOC_CSV))


def test_generator_is_deterministic(generator):
    again = Generator(7, read_soc(SOC_CSV))
    for index in (0, 7, 50, 99, 5_006):
        assert json.dumps(generator.document(index)) == json.dumps(again.document(index))


def test_generator_block_has_every_kind(generator):
    kinds = {generator.kind(index) for index in range(BLOCK_SIZE)}
    assert kinds == KINDS


def test_generator_links_only_backwards(generator):
    """A document points only to documents before it, so any prefix is a whole data set."""
    described_before: set[str] = set()
    for index in range(2 * BLOCK_SIZE):
        document = generator.document(index)
        own = {node["@id"] for node in document["@graph"]}
        linked = set(RESOURCE_IRI.findall(json.dumps(document))) - own
        assert linked <= described_before, f"document {index} links ahead: {linked}"
        described_before |= own


def test_large_framework_size(generator):
    assert generator.framework_size(5_006) == 20_000


def test_generated_documents_validate(generator, registry):
    """Two blocks of documents (every kind) pass the registry's SHACL validation."""
    failures = {}
    for index in range(2 * BLOCK_SIZE):
        data = json.dumps(generator.document(index)).encode("utf-8")
        document, report = registry.publisher.validate(data, f"document {index}", None)
        if not report.conforms:
            failures[index] = [
                r for r in report.to_dict()["results"] if r["severity"] == "Violation"
            ]
    assert failures == {}


def test_suite_runs_at_tiny_size(tmp_path, vocab_dir):
    require_shared()
    work, results = tmp_path / "work", tmp_path / "results"
    env = {**os.environ, "REGISTRY_VOCAB_CACHE": str(vocab_dir)}
    command = [sys.executable, str(PROJECT / "bench" / "suite.py"), "--sizes", "110"]
    command += ["--work", str(work), "--results", str(results), "--unvalidated"]
    command += ["--query-values", "1", "--query-passes", "1", "--query-budget", "20"]
    command += ["--query-clients", "1", "2", "--publish-documents", "2"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    load = json.loads((results / "load-110.json").read_text())
    assert load["registry_load"]["loaded"] == 110
    assert load["registry_load"]["failed"] == 0
    assert load["quads"] > 0
    queries = json.loads((results / "queries-110.json").read_text())
    assert set(queries["targets"]) == {
        "registry API",
        "registry /sparql",
        "oxigraph serve",
        "pyoxigraph in-process",
    }
    publish = json.loads((results / "publish-concurrent-110.json").read_text())
    assert [r["status_codes"] for r in publish["rounds"]] == [{"201": 2}, {"201": 2}]
    assert (results / "scaling.png").stat().st_size > 0
