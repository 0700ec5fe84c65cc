"""Keep the benchmark script working: a run at a tiny size (figures are not checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import PROJECT, require_shared


def test_publish_benchmark_runs(tmp_path, vocab_dir):
    require_shared()
    output = tmp_path / "publish.json"
    env = {**os.environ, "REGISTRY_VOCAB_CACHE": str(vocab_dir)}
    command = [sys.executable, str(PROJECT / "bench" / "publish.py")]
    command += ["--documents", "3", "--framework", "20", "--output", str(output)]
    subprocess.run(command, check=True, env=env, capture_output=True, timeout=600)
    figures = json.loads(output.read_text())
    assert figures["documents"] == 3
    assert figures["framework_competencies"] == 20


def test_publish_stages_runs(vocab_dir):
    require_shared()
    env = {**os.environ, "REGISTRY_VOCAB_CACHE": str(vocab_dir)}
    command = [sys.executable, str(PROJECT / "bench" / "publish_stages.py"), "--documents", "3"]
    completed = subprocess.run(
        command, check=True, env=env, capture_output=True, text=True, timeout=600
    )
    assert "3 documents" in completed.stdout
    assert "store write, on disk" in completed.stdout
