"""Helpers shared by the benchmark scripts: machine facts, timing, processes, tables, JSON."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "docs" / "benchmarks"


def machine_description() -> str:
    """Return the CPU model, CPU count and operating system, e.g. for a table header."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def versions() -> dict[str, str]:
    """Return the versions of the registry and of the engines the figures depend on."""
    found = {"python": platform.python_version()}
    for package in ("ctdl-registry", "pyoxigraph", "oxigraph", "pyshacl", "PyLD"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def source_state() -> dict[str, Any]:
    """Return the commit the registry code was measured at, and whether it had local changes."""

    def git(*arguments: str) -> str:
        completed = subprocess.run(
            ["git", "-C", str(ROOT), *arguments], capture_output=True, text=True, check=False
        )
        return completed.stdout.strip()

    changed = git("status", "--porcelain", "--", "registry", "loaders", "shapes")
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_changes": bool(changed)}


def header(workload: str, documents: int) -> dict[str, Any]:
    """Return the fields every result file starts with."""
    return {
        "workload": workload,
        "documents": documents,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "versions": versions(),
        "source": source_state(),
    }


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which ``fraction`` of ``values`` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def latency_summary(milliseconds: list[float]) -> dict[str, float]:
    """Return count, p50, p95, p99 and mean of latencies in milliseconds."""
    if not milliseconds:
        return {"count": 0}
    return {
        "count": len(milliseconds),
        "p50_ms": round(statistics.median(milliseconds), 2),
        "p95_ms": round(percentile(milliseconds, 0.95), 2),
        "p99_ms": round(percentile(milliseconds, 0.99), 2),
        "mean_ms": round(statistics.fmean(milliseconds), 2),
    }


def print_table(title: str, headers: list[str], rows: list[list[Any]]) -> None:
    """Print a Markdown table, so a run's output can be pasted into the benchmark page."""
    print(f"\n{title}\n")
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for number, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if number == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def print_header(figures: dict[str, Any]) -> None:
    print(f"{figures['workload']} at {figures['documents']:,} documents, {figures['date']}")
    print(f"machine: {figures['machine']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in figures["versions"].items()))
    source = figures["source"]
    changes = " with uncommitted changes" if source["uncommitted_changes"] else ""
    print(f"registry code: commit {source['commit']}{changes}")


def save(figures: dict[str, Any], output: Path | None) -> Path:
    """Write the figures as JSON (default ``docs/benchmarks/{workload}-{documents}.json``)."""
    path = output or RESULTS / f"{figures['workload']}-{figures['documents']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nsaved {path}")
    return path


def read_manifest(data: Path) -> dict[str, Any]:
    """Read the manifest ``bench/generate.py`` wrote; explain the fix if it is missing."""
    path = data / "manifest.json"
    if not path.exists():
        raise SystemExit(
            f"no manifest at {path}; generate the data first with "
            f"bench/generate.py --documents N --output {data}"
        )
    return json.loads(path.read_text())


# Runs the command given after the report file and writes the command's pid to
# the report file. When the command exits, it replaces the pid with the peak
# resident set size of the command's processes, as GNU time -v reports it:
# ru_maxrss of the waited-for children, in KiB on Linux.
_PEAK_MEMORY_WRAPPER = """
import resource, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
open(sys.argv[1], "w").write(f"pid {child.pid}")
code = child.wait()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], "w").write(str(peak))
sys.exit(code)
"""


def measured_run(
    command: list[str], env: dict[str, str] | None = None, time_limit: float | None = None
) -> dict[str, Any]:
    """Run a command; return its wall time in seconds, peak memory and output.

    A small wrapper process runs the command, so the peak is the command's
    own maximum resident set size (the largest of its processes). After
    ``time_limit`` seconds the command is stopped, its peak so far is read
    from ``/proc``, and the result has ``"stopped": True``.
    """
    with tempfile.NamedTemporaryFile(mode="r", suffix=".peak") as report:
        full = [sys.executable, "-c", _PEAK_MEMORY_WRAPPER, report.name, *command]
        started = time.perf_counter()
        process = subprocess.Popen(
            full, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            stdout, stderr = process.communicate(timeout=time_limit)
            stopped = False
            peak_kib = int(Path(report.name).read_text() or 0)
        except subprocess.TimeoutExpired:
            stopped = True
            peak_kib = _stop_wrapped(process, Path(report.name).read_text())
            stdout, stderr = process.communicate()
        elapsed = time.perf_counter() - started
    if not stopped and process.returncode not in (0, 1):  # `registry load` exits 1 on a failed file
        raise SystemExit(
            f"{' '.join(command)} failed with exit code {process.returncode}:\n{stderr[-3000:]}"
        )
    return {
        "seconds": round(elapsed, 2),
        "peak_memory_mb": round(peak_kib / 1024, 1),
        "returncode": process.returncode,
        "stopped": stopped,
        "stdout": stdout,
        "stderr": stderr,
    }


def _stop_wrapped(wrapper: Any, report: str) -> int:
    """Stop the command the wrapper runs, then the wrapper; return the command's peak in KiB.

    The peak is ``VmHWM`` from ``/proc/{pid}/status``, read before the stop.
    """
    peak_kib = 0
    if report.startswith("pid "):
        pid = int(report.split()[1])
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kib = int(line.split()[1])
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    wrapper.wait(timeout=120)
    return peak_kib


def folder_size_mb(path: Path) -> float:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return round(total / 1024 / 1024, 1)


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(command: list[str], url: str, log: Path, timeout: float = 300) -> Any:
    """Start a server process, wait until ``url`` responds, and return the process."""
    handle = log.open("w")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{command[0]} exited with {process.returncode}; see {log}")
            try:
                requests.get(url, timeout=10)
                return process
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or still opening a large store.
                time.sleep(0.2)
    except BaseException:
        # Any failure here (Ctrl-C included) must not leave the server holding the store.
        stop_server(process)
        raise
    stop_server(process)
    raise SystemExit(f"{' '.join(command)} did not respond at {url} within {timeout:g} s")


def stop_server(process: Any) -> None:
    """Stop a server started by ``start_server`` (this process's own child only)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
