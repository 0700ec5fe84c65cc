"""The employer API benchmark at a tiny size, to keep the script working (no times checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import PROJECT, require_shared


def test_employer_benchmark_runs(tmp_path, vocab_dir):
    require_shared()
    env = {**os.environ, "REGISTRY_VOCAB_CACHE": str(vocab_dir)}
    data, output = tmp_path / "data", tmp_path / "employer.json"
    generate = [sys.executable, str(PROJECT / "bench" / "generate.py"), "--documents", "60"]
    generate += ["--output", str(data)]
    subprocess.run(generate, env=env, check=True, capture_output=True, timeout=600)

    command = [sys.executable, str(PROJECT / "bench" / "employer_api.py"), "--data", str(data)]
    command += ["--requests", "3", "--ctdl-only", "--with-sparql", "--output", str(output)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    figures = json.loads(output.read_text())
    assert set(figures["endpoints"]) >= {"occupation-credentials", "transfer-values", "search"}
    for endpoint in figures["endpoints"].values():
        assert endpoint["http"]["count"] == 3
        assert endpoint["in_process"]["count"] == 3
    assert set(figures["http_statuses"]) <= {"200", "404"}
