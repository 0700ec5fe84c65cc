"""Concurrent publish benchmark: validated publishing over HTTP into a registry of N documents.

Run from the project root, after bench/generate.py and bench/load.py:

    .venv/bin/python bench/publish_concurrent.py --data /tmp/ctdl-10000 [--documents 200]

It creates a publisher key with ``registry keys create`` and starts
``registry serve`` on a loopback port with the on-disk store
``DATA/registry-store``. Then it publishes new generated documents through
``POST /resources/organizations/{org}/documents``, validation on. They are
the documents after the first N, so they point only to documents already in
the store. Each round publishes ``--documents`` documents, with as many
concurrent publishers as each ``--publishers`` value says. The published
documents stay in the store.

Figures (documents per second, p50/p95/p99 latency) are printed as a table
and saved to ``docs/benchmarks/publish-concurrent-{documents}.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from client import Client
from common import (
    BIN,
    free_port,
    header,
    latency_summary,
    print_header,
    print_table,
    read_manifest,
    save,
    start_server,
    stop_server,
)
from synthetic import Generator, read_soc


def create_key(store: Path, org: str) -> str:
    """Create a publisher key with `registry keys create`; the key is the last line printed."""
    command = [str(BIN / "registry"), "keys", "create", "--org", org, "--store", str(store)]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    return completed.stdout.strip().splitlines()[-1]


def documents(generator: Generator, start: int, count: int) -> list[tuple[str, bytes]]:
    """Return (kind, JSON bytes) of the generated documents ``start`` to ``start + count``."""
    return [
        (generator.kind(index), json.dumps(generator.document(index)).encode("utf-8"))
        for index in range(start, start + count)
    ]


def warm_up(url: str, org: str, key: str, body: bytes) -> None:
    """Validate one document without storing it, so the server builds its shapes untimed."""
    response = Client().post(
        f"{url}/resources/organizations/{org}/documents",
        params={"dry_run": "true"},
        data=body,
        headers={"Content-Type": "application/ld+json", "Authorization": f"Bearer {key}"},
        timeout=900,
    )
    if response.status_code != 200:
        raise SystemExit(
            f"the warm-up publish failed: HTTP {response.status_code}: {response.text}"
        )


def publish_round(
    url: str, org: str, key: str, batch: list[tuple[str, bytes]], publishers: int
) -> dict[str, Any]:
    """Publish a batch with ``publishers`` threads; return rate, latencies and outcomes."""
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    outcomes: Counter = Counter()
    first_failure: list[str] = []
    lock = threading.Lock()
    local = threading.local()
    endpoint = f"{url}/resources/organizations/{org}/documents"
    headers = {"Content-Type": "application/ld+json", "Authorization": f"Bearer {key}"}

    def publish(item: tuple[str, bytes]) -> None:
        kind, body = item
        session = getattr(local, "session", None) or Client()
        local.session = session
        started = time.perf_counter()
        response = session.post(endpoint, data=body, headers=headers, timeout=900)
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            outcomes[response.status_code] += 1
            if response.status_code not in (200, 201):
                if not first_failure:
                    first_failure.append(f"HTTP {response.status_code}: {response.text[:300]}")
                return
            latencies.append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(publishers) as pool:
        list(pool.map(publish, batch))
    wall = time.perf_counter() - started
    return {
        "publishers": publishers,
        "documents": len(batch),
        "seconds": round(wall, 2),
        "documents_per_second": round(len(latencies) / wall, 2),
        "latency": latency_summary(latencies),
        "latency_by_kind": {kind: latency_summary(values) for kind, values in by_kind.items()},
        "status_codes": {str(code): count for code, count in outcomes.items()},
        "first_failure": first_failure[0] if first_failure else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    manifest = read_manifest(args.data)
    store = args.data / "registry-store"
    if not store.exists():
        raise SystemExit(f"load the store first: bench/load.py --data {args.data}")
    generator = Generator(manifest["seed"], read_soc(args.soc or Path(manifest["soc"])))
    org = generator.main_ctid(0)  # the first document is an organization
    key = create_key(store, org)
    total = manifest["documents"] + manifest.get("published", 0)

    figures = header("publish-concurrent", manifest["documents"])
    figures["rounds"] = []
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "registry"), "serve", "--store", str(store), "--port", str(port)]
    command += ["--max-body-bytes", str(512 * 1024 * 1024)]
    server = start_server(command, url + "/", args.data / "registry-publish.log")
    try:
        warm_up(url, org, key, documents(generator, total, 1)[0][1])
        for publishers in args.publishers:
            batch = documents(generator, total, args.documents)
            total += len(batch)
            figures["rounds"].append(publish_round(url, org, key, batch, publishers))
            print(f"  {publishers} publisher(s) done", flush=True)
    finally:
        stop_server(server)
        manifest["published"] = total - manifest["documents"]
        (args.data / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return figures


def report(figures: dict[str, Any]) -> None:
    print_header(figures)
    rows = []
    for result in figures["rounds"]:
        latency = result["latency"]
        rows.append(
            [
                result["publishers"],
                result["documents"],
                f"{result['documents_per_second']:.1f}",
                f"{latency.get('p50_ms', 0):.0f}",
                f"{latency.get('p95_ms', 0):.0f}",
                f"{latency.get('p99_ms', 0):.0f}",
                json.dumps(result["status_codes"]),
            ]
        )
    print_table(
        "Validated publish over HTTP",
        ["Publishers", "Documents", "Documents/s", "p50 ms", "p95 ms", "p99 ms", "HTTP status"],
        rows,
    )
    for result in figures["rounds"]:
        if result["first_failure"]:
            print(f"first failure with {result['publishers']}: {result['first_failure']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder from bench/generate.py")
    parser.add_argument("--documents", type=int, default=200, help="documents per round")
    parser.add_argument(
        "--publishers", type=int, nargs="+", default=[1, 4], help="concurrent publishers per round"
    )
    parser.add_argument(
        "--soc", type=Path, help="BLS SOC 2018 CSV file (default: the one the data was made from)"
    )
    parser.add_argument("--output", type=Path, help="JSON file (default docs/benchmarks/...)")
    args = parser.parse_args(argv)
    figures = run(args)
    report(figures)
    save(figures, args.output)


if __name__ == "__main__":
    sys.exit(main())
