"""Plot how the benchmark figures change with the registry's size, from the saved JSON.

    .venv/bin/python bench/plot.py [--results DIR] [--output PNG]

The defaults are ``docs/benchmarks`` and ``docs/benchmarks/scaling.png``.

It reads every ``load-N.json``, ``queries-N.json`` and
``publish-concurrent-N.json`` in the results folder. It draws four panels
against the number of documents N, on log scales: bulk load time, bulk load
peak memory, the p95 latency of each employer question through the HTTP API
with one client, and throughput. Throughput is the query mix's queries per
second at the largest client count, and validated publishes per second.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402
from common import RESULTS  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402


def read_results(folder: Path, workload: str) -> dict[int, dict[str, Any]]:
    """Return the saved figures of one workload, by number of documents."""
    found = {}
    for path in folder.glob(f"{workload}-*.json"):
        match = re.fullmatch(rf"{workload}-(\d+)\.json", path.name)
        if match:
            found[int(match.group(1))] = json.loads(path.read_text())
    return dict(sorted(found.items()))


def series(results: dict[int, dict[str, Any]], pick: Any) -> tuple[list[int], list[float]]:
    """Return the sizes and values where ``pick(figures)`` gives a number."""
    sizes, values = [], []
    for size, figures in results.items():
        try:
            value = pick(figures)
        except (KeyError, IndexError, TypeError):
            continue
        if value is not None:
            sizes.append(size)
            values.append(value)
    return sizes, values


def complete(result: dict[str, Any], field: str) -> float | None:
    """Return a load figure, or ``None`` for the time of a load stopped at its time limit."""
    if field == "seconds" and result.get("stopped_at_time_limit"):
        return None
    return result[field]


def draw_load(axes: Any, loads: dict[int, dict[str, Any]], field: str, label: str) -> None:
    for key, name in (
        ("registry_load", "registry load (validating)"),
        ("registry_load_unvalidated", "registry load --no-validate"),
        ("oxigraph_load", "oxigraph load"),
    ):
        sizes, values = series(loads, lambda f, key=key: complete(f[key], field))
        if sizes:
            axes.plot(sizes, values, marker="o", label=name)
    axes.set_ylabel(label)


def draw_query_latency(axes: Any, queries: dict[int, dict[str, Any]]) -> None:
    names = sorted({name for figures in queries.values() for name in figures["questions"]})
    for name in names:
        sizes, values = series(
            queries,
            lambda f, name=name: f["targets"]["registry API"]["runs"][0]["per_question"][name][
                "p95_ms"
            ],
        )
        if sizes:
            axes.plot(sizes, values, marker="o", label=name)
    axes.axhline(50, color="grey", linestyle="--", linewidth=1, label="target: 50 ms")
    axes.set_ylabel("HTTP API p95, 1 client (ms)")


def draw_throughput(axes: Any, queries: dict[int, Any], publishes: dict[int, Any]) -> None:
    for target in ("registry API", "registry /sparql", "oxigraph serve", "pyoxigraph in-process"):
        sizes, values = series(
            queries, lambda f, target=target: f["targets"][target]["runs"][-1]["queries_per_second"]
        )
        if sizes:
            axes.plot(sizes, values, marker="o", label=f"{target}, queries/s")
    for index in (0, -1):
        sizes, values = series(
            publishes, lambda f, index=index: f["rounds"][index]["documents_per_second"]
        )
        label_index = next(iter(publishes.values()))["rounds"][index]["publishers"] if sizes else 0
        if sizes:
            axes.plot(
                sizes,
                values,
                marker="s",
                linestyle=":",
                label=f"publish, {label_index} publisher(s), documents/s",
            )
    axes.set_ylabel("per second")


def plot(results: Path, output: Path) -> Path:
    """Draw the four panels into ``output`` and return its path."""
    loads = read_results(results, "load")
    queries = read_results(results, "queries")
    publishes = read_results(results, "publish-concurrent")

    figure, panels = plt.subplots(2, 2, figsize=(13, 9))
    draw_load(panels[0][0], loads, "seconds", "bulk load time (s)")
    panels[0][0].set_title("Bulk load: time")
    draw_load(panels[0][1], loads, "peak_memory_mb", "peak memory (MB)")
    panels[0][1].axhline(4096, color="grey", linestyle="--", linewidth=1, label="target: 4 GB")
    panels[0][1].set_title("Bulk load: peak memory")
    draw_query_latency(panels[1][0], queries)
    panels[1][0].set_title("Employer queries: p95 latency")
    draw_throughput(panels[1][1], queries, publishes)
    panels[1][1].set_title("Throughput (query mix at the most clients; publishing)")

    sizes = sorted(set(loads) | set(queries) | set(publishes))
    for axes in panels.flat:
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xticks(sizes)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axes.xaxis.set_minor_formatter(NullFormatter())
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,g}"))
        axes.yaxis.set_minor_formatter(NullFormatter())
        axes.set_xlabel("documents in the registry")
        axes.grid(True, which="both", linewidth=0.3)
        axes.legend(fontsize=7)

    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of result JSON")
    parser.add_argument("--output", type=Path, default=RESULTS / "scaling.png", help="PNG file")
    args = parser.parse_args(argv)
    print(f"saved {plot(args.results, args.output)}")


if __name__ == "__main__":
    main()
