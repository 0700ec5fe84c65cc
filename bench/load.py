"""Bulk load benchmark: `registry load` (validating) against `oxigraph load` on the same quads.

Run from the project root, after generating the data with bench/generate.py:

    .venv/bin/python bench/load.py --data /tmp/ctdl-10000 [--unvalidated] [--workers N]

It loads ``DATA/documents`` with ``registry load`` into a new on-disk store
``DATA/registry-store`` (validation on, as the command does by default), and
``DATA/data.nq`` with ``oxigraph load`` into ``DATA/oxigraph-store``. Both
run as separate processes under ``/usr/bin/time -v`` for their wall time and
peak memory. With ``--unvalidated`` it also times ``registry load
--no-validate`` into a scratch store, which shows what validation costs.
``--workers`` is passed on to ``registry load``; without it, the load uses
its default (one process). The stores stay for the query and
publish benchmarks.

Figures are printed as a table and saved to
``docs/benchmarks/load-{documents}.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BIN,
    folder_size_mb,
    header,
    measured_run,
    print_header,
    print_table,
    read_manifest,
    save,
)


def registry_supports_validation() -> bool:
    """Return whether this `registry load` validates (it has a --no-validate option)."""
    completed = subprocess.run(
        [str(BIN / "registry"), "load", "--help"], capture_output=True, text=True, check=True
    )
    return "--no-validate" in completed.stdout


def registry_load(
    data: Path,
    store: Path,
    base_url: str,
    validate: bool,
    time_limit: float | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run `registry load` on the generated documents; return time, memory and counts.

    A load stopped at ``time_limit`` reports the documents stored by then,
    counted in the store's ledger, so its rate is still measured.
    """
    if store.exists():
        shutil.rmtree(store)
    command = [str(BIN / "registry"), "load", str(data / "documents"), "--store", str(store)]
    command += ["--base-url", base_url, "--quiet"]
    if not validate:
        command.append("--no-validate")
    if workers is not None:
        command += ["--workers", str(workers)]
    run = measured_run(command, env=os.environ.copy(), time_limit=time_limit)

    if run["stopped"]:
        counts = {"loaded": stored_versions(store), "warned": None, "failed": None}
    else:
        counts = load_summary(run["stdout"])
    if counts["loaded"] == 0 and not run["stopped"]:
        raise SystemExit(f"registry load stored no document; its output:\n{run['stdout'][-3000:]}")
    return {
        "validate": validate,
        "workers": workers,
        "stopped_at_time_limit": run["stopped"],
        "seconds": run["seconds"],
        "peak_memory_mb": run["peak_memory_mb"],
        "store_mb": folder_size_mb(store),
        **counts,
        "failures": failure_lines(run["stdout"]),
    }


def stored_versions(store: Path) -> int:
    """Return how many document versions the store's ledger has applied to the store."""
    connection = sqlite3.connect(f"file:{store / 'ledger.sqlite3'}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT count(*) FROM versions WHERE applied = 1").fetchone()[0]
    finally:
        connection.close()


def load_summary(output: str) -> dict[str, int]:
    """Read the counts from the summary line `registry load` prints last."""
    match = re.search(r"(\d+) documents loaded \((\d+) with warnings\), (\d+) failed", output)
    if match is None:
        raise SystemExit(f"cannot find the summary in the output of registry load:\n{output}")
    loaded, warned, failed = (int(group) for group in match.groups())
    return {"loaded": loaded, "warned": warned, "failed": failed}


def failure_lines(output: str, shown: int = 5) -> list[str]:
    """Return the first failure lines of a `registry load` output (nothing if all loaded)."""
    lines = output.split("\nfailed:\n", 1)
    return lines[1].splitlines()[:shown] if len(lines) == 2 else []


def oxigraph_load(data: Path, store: Path) -> dict[str, Any]:
    """Run `oxigraph load` on the N-Quads file; return time, memory and store size."""
    if store.exists():
        shutil.rmtree(store)
    command = [str(BIN / "oxigraph"), "load", "--location", str(store)]
    command += ["--file", str(data / "data.nq")]
    run = measured_run(command)
    if run["returncode"] != 0:
        raise SystemExit(f"oxigraph load failed:\n{run['stderr'][-3000:]}")
    return {
        "seconds": run["seconds"],
        "peak_memory_mb": run["peak_memory_mb"],
        "store_mb": folder_size_mb(store),
    }


def forget_published(data: Path, manifest: dict[str, Any]) -> None:
    """Record that the new store contains none of the documents a publish benchmark added."""
    manifest["published"] = 0
    (data / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def rates(result: dict[str, Any], documents: int, quads: int | None) -> dict[str, Any]:
    seconds = max(result["seconds"], 1e-9)
    return {
        **result,
        "documents_per_second": round(documents / seconds, 1),
        "quads_per_second": round(quads / seconds) if quads is not None else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    manifest = read_manifest(args.data)
    documents, quads = manifest["documents"], manifest["quads"]
    if quads is None:
        raise SystemExit(f"{args.data} has no data.nq; generate it without --no-nquads")
    figures = header("load", documents)
    figures["quads"] = quads
    figures["json_bytes"] = manifest["json_bytes"]
    validating = registry_supports_validation()
    figures["registry_load_validates"] = validating

    figures["oxigraph_load"] = rates(
        oxigraph_load(args.data, args.data / "oxigraph-store"), documents, quads
    )
    store = args.data / "registry-store"
    registry = registry_load(
        args.data, store, manifest["base_url"], True, args.time_limit, args.workers
    )
    if registry["stopped_at_time_limit"]:  # the quads of a partial load are not counted
        figures["registry_load"] = rates(registry, registry["loaded"], None)
    else:
        figures["registry_load"] = rates(registry, documents, quads)
    forget_published(args.data, manifest)
    if args.unvalidated and validating:
        scratch = args.data / "scratch-store"
        plain = registry_load(args.data, scratch, manifest["base_url"], False, workers=args.workers)
        shutil.rmtree(scratch)
        figures["registry_load_unvalidated"] = rates(plain, documents, quads)

    # Equal to the ratio of the times for a complete load; also defined for a stopped one.
    registry_rate = figures["registry_load"]["documents_per_second"]
    oxigraph_rate = figures["oxigraph_load"]["documents_per_second"]
    figures["time_ratio_to_oxigraph"] = round(oxigraph_rate / registry_rate, 2)
    return figures


def report(figures: dict[str, Any]) -> None:
    print_header(figures)
    validates = figures["registry_load_validates"]
    print(f"quads: {figures['quads']:,}; registry load validates: {validates}")
    labels = (
        ("registry_load", "registry load" + (" (validating)" if validates else "")),
        ("registry_load_unvalidated", "registry load --no-validate"),
        ("oxigraph_load", "oxigraph load (N-Quads)"),
    )
    rows = [table_row(label, figures[key]) for key, label in labels if key in figures]
    print_table(
        "Bulk load",
        ["Loader", "Seconds", "Documents/s", "Quads/s", "Peak memory MB", "Store MB"],
        rows,
    )
    print(f"\nregistry load / oxigraph load time: {figures['time_ratio_to_oxigraph']} times")
    result = figures["registry_load"]
    if result.get("stopped_at_time_limit"):
        print(f"registry load was stopped at the time limit with {result['loaded']:,} documents")
    if result["failed"]:
        print(f"{result['failed']} documents failed in registry load, e.g.:")
        for line in result["failures"]:
            print(f"  {line}")


def table_row(label: str, result: dict[str, Any]) -> list[str]:
    quads = result["quads_per_second"]
    return [
        label + (" (stopped)" if result.get("stopped_at_time_limit") else ""),
        f"{result['seconds']:.1f}",
        f"{result['documents_per_second']:,.1f}",
        f"{quads:,}" if quads is not None else "n/a",
        f"{result['peak_memory_mb']:,.0f}",
        f"{result['store_mb']:,.0f}",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder from bench/generate.py")
    parser.add_argument(
        "--unvalidated", action="store_true", help="also time registry load --no-validate"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        help="stop registry load after this many seconds and report the rate so far",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes for registry load (default: its own, one process)",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default docs/benchmarks/...)")
    args = parser.parse_args(argv)
    figures = run(args)
    report(figures)
    save(figures, args.output)


if __name__ == "__main__":
    main()
