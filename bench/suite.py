"""Run every benchmark workload at one or more registry sizes, then plot the scaling.

    .venv/bin/python bench/suite.py --sizes 10000 100000 --work /tmp/ctdl-bench

For each size it generates the data into ``WORK/N``, unless a data set of
that size is already there. Then it runs each workload as its own process:
the bulk load (``bench/load.py``), the employer query mix
(``bench/query_mix.py``) and concurrent publishing
(``bench/publish_concurrent.py``). Publishing adds documents to the store,
so it comes last. Results go to
``docs/benchmarks/{workload}-{N}.json`` (or ``--results``), and
``bench/plot.py`` draws ``scaling.png`` next to them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS

BENCH = Path(__file__).resolve().parent


def step(script: str, *arguments: str) -> None:
    """Run one benchmark script in its own process; stop the suite if it fails."""
    command = [sys.executable, str(BENCH / script), *arguments]
    print(f"\n$ {' '.join(command)}", flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    print(f"({script} took {time.perf_counter() - started:.0f} s)", flush=True)


def has_data(folder: Path, size: int) -> bool:
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return False
    found = json.loads(manifest.read_text())
    return found["documents"] == size


def run_size(size: int, args: argparse.Namespace) -> None:
    data = args.work / str(size)
    if not has_data(data, size):
        step("generate.py", "--documents", str(size), "--output", str(data), "--seed", "1")
    results = args.results
    load = ["--data", str(data), "--output", str(results / f"load-{size}.json")]
    load += ["--unvalidated"] if args.unvalidated else []
    load += ["--time-limit", str(args.load_time_limit)] if args.load_time_limit else []
    step("load.py", *load)
    loaded = json.loads((results / f"load-{size}.json").read_text())["registry_load"]
    if loaded.get("stopped_at_time_limit"):
        print(
            f"registry load was stopped with {loaded['loaded']:,} of {size:,} documents, so "
            "the query and publish benchmarks are not run on this partial store"
        )
        return
    queries = ["--data", str(data), "--output", str(results / f"queries-{size}.json")]
    queries += ["--budget", str(args.query_budget), "--values", str(args.query_values)]
    queries += ["--passes", str(args.query_passes), "--clients", *map(str, args.query_clients)]
    step("query_mix.py", *queries)
    publish = ["--data", str(data), "--output", str(results / f"publish-concurrent-{size}.json")]
    step("publish_concurrent.py", *publish, "--documents", str(args.publish_documents))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000], help="registry sizes, in documents"
    )
    parser.add_argument("--work", type=Path, required=True, help="folder for data and stores")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for result JSON")
    parser.add_argument(
        "--unvalidated", action="store_true", help="also time registry load --no-validate"
    )
    parser.add_argument(
        "--load-time-limit", type=float, help="stop registry load after this many seconds"
    )
    parser.add_argument(
        "--query-budget", type=float, default=120, help="seconds per query target and client count"
    )
    parser.add_argument(
        "--query-values", type=int, default=10, help="parameter values per question"
    )
    parser.add_argument("--query-passes", type=int, default=3, help="passes over the query mix")
    parser.add_argument(
        "--query-clients", type=int, nargs="+", default=[1, 8], help="concurrent query clients"
    )
    parser.add_argument(
        "--publish-documents", type=int, default=200, help="documents per publish round"
    )
    args = parser.parse_args(argv)
    for size in args.sizes:
        run_size(size, args)
    step("plot.py", "--results", str(args.results), "--output", str(args.results / "scaling.png"))


if __name__ == "__main__":
    main()
