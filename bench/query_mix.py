"""Employer query benchmark: registry HTTP API and /sparql against pyoxigraph and oxigraph serve.

Run from the project root, after bench/generate.py and bench/load.py:

    .venv/bin/python bench/query_mix.py --data /tmp/ctdl-10000 [--clients 1 8]

The mix is in ``bench/questions.py``: credentials for an occupation,
competencies for an occupation, credentials for a competency, transfer values,
full-text search, a resource by CTID and a reverse lookup (what requires this
credential). The parameter values come from the data. Four targets
run it, one after another so that they never compete for the CPUs:

1. the registry's HTTP API (``registry serve`` on ``DATA/registry-store``);
2. the registry's ``/sparql`` with each question's SPARQL text;
3. ``oxigraph serve-read-only`` on ``DATA/oxigraph-store`` (loaded from the
   same quads by ``oxigraph load``), with the union default graph as the
   registry has it;
4. the same SPARQL in this process with pyoxigraph, on the registry's store.

Each target runs the mix once to warm up, then ``--passes`` times at each
client count. Figures are p50/p95/p99 per question and queries per second
for the mix, printed as tables and saved to
``docs/benchmarks/queries-{documents}.json``.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
from client import Client, Reply
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
from questions import Question, questions

from registry.config import Settings
from registry.service import Registry

SPARQL_JSON = "application/sparql-results+json"
Task = tuple[Question, str]


class HttpTarget:
    """Sends each task to a server over HTTP, one kept-alive ``Client`` per client thread."""

    def __init__(
        self,
        name: str,
        send: Callable[[Client, Task], Reply],
        empty_on_404: bool = False,
    ) -> None:
        self.name = name
        self.empty_on_404 = empty_on_404
        self._send = send
        self._local = threading.local()

    def run(self, task: Task) -> int:
        """Run one task and return its number of result rows; raise on an HTTP error."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = Client()
        response = self._send(session, task)
        if response.status_code == 404 and self.empty_on_404:
            return 0  # the API returns 404 for a code or CTID with nothing in the registry
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        return count_rows(response.json())


def count_rows(body: dict[str, Any]) -> int:
    """Return the rows of a SPARQL JSON result, or the results of an API page."""
    if "results" in body and isinstance(body["results"], dict):
        return len(body["results"].get("bindings", []))
    if isinstance(body.get("results"), list):
        return len(body["results"])
    return 1  # a single resource


def api_target(base: str) -> HttpTarget:
    def send(session: Client, task: Task) -> Reply:
        question, value = task
        path = (question.path or "").replace("{value}", quote(value, safe=""))
        return session.get(base + path, headers={"Accept": "application/json"}, timeout=300)

    return HttpTarget("registry API", send, empty_on_404=True)


def registry_sparql_target(base: str) -> HttpTarget:
    def send(session: Client, task: Task) -> Reply:
        question, value = task
        return session.post(
            base + "/sparql",
            data={"query": question.sparql(value)},
            headers={"Accept": SPARQL_JSON},
            timeout=300,
        )

    return HttpTarget("registry /sparql", send)


def oxigraph_target(base: str) -> HttpTarget:
    def send(session: Client, task: Task) -> Reply:
        question, value = task
        return session.post(
            base + "/query",
            data=question.sparql(value).encode("utf-8"),
            headers={"Content-Type": "application/sparql-query", "Accept": SPARQL_JSON},
            timeout=300,
        )

    return HttpTarget("oxigraph serve", send)


class InProcessTarget:
    """Runs the SPARQL text with pyoxigraph in this process, over the union of the graphs."""

    name = "pyoxigraph in-process"

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def run(self, task: Task) -> int:
        question, value = task
        results = self.store.query(question.sparql(value), use_default_graph_as_union=True)
        return sum(1 for _ in results)


def make_tasks(
    mix: list[Question], parameters: dict[str, list[str]], per_question: int
) -> list[Task]:
    """Return (question, value) pairs: up to ``per_question`` values each, in a fixed shuffle."""
    tasks = []
    for question in mix:
        values = parameters.get(question.parameter, [])[:per_question]
        tasks.extend((question, value) for value in values)
    random.Random(0).shuffle(tasks)
    return tasks


def measure(target: Any, tasks: list[Task], clients: int, passes: int, budget: float) -> dict:
    """Run the tasks ``passes`` times with ``clients`` threads; return latencies and rates.

    No task starts after ``budget`` seconds; the ones left are counted as skipped.
    """
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    skipped = 0
    lock = threading.Lock()
    deadline = time.monotonic() + budget

    def timed(task: Task) -> None:
        nonlocal skipped
        if time.monotonic() > deadline:
            with lock:
                skipped += 1
            return
        started = time.perf_counter()
        try:
            target.run(task)
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            with lock:
                errors[task[0].name].append(f"{task[1]}: {exc}"[:300])
            return
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies[task[0].name].append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(timed, tasks * passes))
    wall = time.perf_counter() - started
    done = sum(len(values) for values in latencies.values())
    return {
        "clients": clients,
        "queries": done,
        "skipped_after_budget": skipped,
        "seconds": round(wall, 2),
        "queries_per_second": round(done / wall, 1) if wall else 0.0,
        "per_question": {name: latency_summary(values) for name, values in latencies.items()},
        "errors": {
            name: {"count": len(found), "first": found[0]} for name, found in errors.items()
        },
    }


def warm_up(target: Any, mix: list[Question], parameters: dict[str, list[str]]) -> dict[str, Any]:
    """Run each question once with its first value: rows (to compare targets) and seconds."""
    found: dict[str, Any] = {}
    for question in mix:
        values = parameters.get(question.parameter, [])
        if not values:
            continue
        started = time.perf_counter()
        try:
            rows: Any = target.run((question, values[0]))
        except Exception as exc:  # noqa: BLE001 - shown in the results
            rows = f"error: {exc}"[:200]
        found[question.name] = {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}
    return found


@dataclass
class Mix:
    """The questions, their tasks, and the questions found too slow to measure so far."""

    questions: list[Question]
    parameters: dict[str, list[str]]
    tasks: list[Task]
    args: argparse.Namespace
    slow: dict[str, str] = field(default_factory=dict)

    def for_api(self) -> Mix:
        """Return the part of the mix the HTTP API has endpoints for.

        It starts with no slow questions: the API answers occupations and
        search from its indexes, so a SPARQL text too slow on another target
        tells nothing about the API's response time.
        """
        return Mix(
            [q for q in self.questions if q.path is not None],
            self.parameters,
            [t for t in self.tasks if t[0].path is not None],
            self.args,
        )


def benchmark_target(target: Any, mix: Mix, shares_slow: bool = True) -> dict[str, Any]:
    """Warm a target up and measure the mix at each client count.

    A question that took more than ``--slow-seconds`` (or failed) in a warm-up
    is left out from then on, for this target and, with ``shares_slow``, the
    ones measured after it. One such query can keep a CPU busy for minutes and
    so slow every other measurement down. The API does more than its SPARQL
    query, so its slow questions are not left out of the SPARQL targets.
    """
    fresh = [q for q in mix.questions if q.name not in mix.slow]
    first = warm_up(target, fresh, mix.parameters)
    left_out = {
        name: mix.slow[name] for name in mix.slow if name in {q.name for q in mix.questions}
    }
    for name, result in first.items():
        if result["seconds"] > mix.args.slow_seconds or isinstance(result["rows"], str):
            left_out[name] = f"{result['seconds']} s for one query in the warm-up on {target.name}"
            if shares_slow:
                mix.slow[name] = left_out[name]
    measured = [task for task in mix.tasks if task[0].name not in left_out]
    result: dict[str, Any] = {"warm_up": first, "left_out": left_out, "runs": []}
    for clients in mix.args.clients:
        result["runs"].append(measure(target, measured, clients, mix.args.passes, mix.args.budget))
        print(f"  {target.name}: {clients} client(s) done", flush=True)
    return result


def oxigraph_phase(mix: Mix) -> dict[str, Any]:
    """Serve the store `oxigraph load` made with `oxigraph serve-read-only` and measure it.

    It runs first because its server stops a query at the time limit, so a
    question too slow for the mix is found without a query left running.
    """
    data, port = mix.args.data, free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "oxigraph"), "serve-read-only", "--location"]
    command += [str(data / "oxigraph-store"), "--bind", f"127.0.0.1:{port}"]
    command += ["--union-default-graph", "--timeout-s", str(int(mix.args.query_timeout))]
    server = start_server(command, base + "/", data / "oxigraph-serve.log")
    try:
        return {"oxigraph serve": benchmark_target(oxigraph_target(base), mix)}
    finally:
        stop_server(server)


def registry_phase(mix: Mix) -> dict[str, Any]:
    """Serve the registry's store and measure its HTTP API and /sparql."""
    data, port = mix.args.data, free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "registry"), "serve", "--store", str(data / "registry-store")]
    command += ["--port", str(port), "--query-workers", str(max(mix.args.clients))]
    command += ["--query-timeout", str(mix.args.query_timeout)]
    server = start_server(command, base + "/", data / "registry-serve.log")
    try:
        return {
            "registry API": benchmark_target(api_target(base), mix.for_api(), shares_slow=False),
            "registry /sparql": benchmark_target(registry_sparql_target(base), mix),
        }
    finally:
        stop_server(server)


def in_process_phase(mix: Mix) -> dict[str, Any]:
    """Open the registry's store read-only in this process and run the SPARQL texts."""
    store = ox.Store.read_only(str(mix.args.data / "registry-store" / "oxigraph"))
    try:
        target = InProcessTarget(store)
        return {target.name: benchmark_target(target, mix)}
    finally:
        del store


def run(args: argparse.Namespace) -> dict[str, Any]:
    manifest = read_manifest(args.data)
    if not (args.data / "registry-store").exists() or not (args.data / "oxigraph-store").exists():
        raise SystemExit(f"load the stores first: bench/load.py --data {args.data}")
    parameters = manifest["parameters"]
    questions_ = prepare_questions(args.data, manifest["base_url"], parameters, args.values)
    mix = Mix(questions_, parameters, make_tasks(questions_, parameters, args.values), args)
    figures = header("queries", manifest["documents"])
    figures["quads"] = manifest["quads"]
    figures["questions"] = {q.name: {"path": q.path, "sparql_from": q.source} for q in questions_}
    figures["sparql_examples"] = {
        q.name: q.sparql(parameters[q.parameter][0])
        for q in questions_
        if parameters.get(q.parameter)
    }
    figures["settings"] = {
        "values_per_question": args.values,
        "passes": args.passes,
        "budget_seconds": args.budget,
        "slow_seconds": args.slow_seconds,
        "server_query_timeout_seconds": args.query_timeout,
    }
    figures["targets"] = {}
    for phase in (oxigraph_phase, registry_phase, in_process_phase):
        figures["targets"].update(phase(mix))
    figures["ratios"] = ratios(figures["targets"], args.clients)
    return figures


def prepare_questions(
    data: Path, base_url: str, parameters: dict[str, list[str]], per_question: int
) -> list[Question]:
    """Build the mix with the registry's query API open on ``DATA/registry-store``.

    The registry is closed again before any target starts, because only one
    process can open the store. The texts cover the values ``make_tasks`` and
    ``warm_up`` take: the first ``per_question`` of each parameter, at least one.
    """
    values = {name: found[: max(per_question, 1)] for name, found in parameters.items()}
    settings = Settings.from_env().with_overrides(store=data / "registry-store", base_url=base_url)
    registry = Registry(settings)
    try:
        return questions(registry.employer, values)
    finally:
        registry.close()


def ratios(targets: dict[str, Any], clients: list[int]) -> dict[str, Any]:
    """Return the ratios the targets are stated in: HTTP over in-process, /sparql over oxigraph."""
    found: dict[str, Any] = {}
    for index, count in enumerate(clients):
        runs = {name: target["runs"][index] for name, target in targets.items()}
        sparql, oxigraph = runs.get("registry /sparql"), runs.get("oxigraph serve")
        if sparql and oxigraph and oxigraph["queries_per_second"]:
            found[f"sparql_throughput_vs_oxigraph_serve_{count}_clients"] = round(
                sparql["queries_per_second"] / oxigraph["queries_per_second"], 2
            )
        local = runs.get("pyoxigraph in-process")
        for name, key in (("registry API", "api"), ("registry /sparql", "sparql")):
            if runs.get(name) and local:
                found[f"{key}_p50_over_in_process_{count}_clients"] = p50_ratios(runs[name], local)
    return found


def p50_ratios(measured: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float]:
    """Return, per question both measured, the p50 of one run over that of the baseline run."""
    found = {}
    for name, summary in measured["per_question"].items():
        base = baseline["per_question"].get(name, {}).get("p50_ms")
        if summary.get("count") and base:
            found[name] = round(summary["p50_ms"] / base, 2)
    return found


def report(figures: dict[str, Any]) -> None:
    print_header(figures)
    order = ("registry API", "registry /sparql", "oxigraph serve", "pyoxigraph in-process")
    targets = {name: figures["targets"][name] for name in order if name in figures["targets"]}
    for index, clients in enumerate(run["clients"] for run in next(iter(targets.values()))["runs"]):
        names = list(figures["questions"])
        rows = []
        for name in names:
            row = [name]
            for target in targets.values():
                summary = target["runs"][index]["per_question"].get(name, {})
                row.append(
                    f"{summary['p50_ms']:.1f} / {summary['p95_ms']:.1f} / {summary['p99_ms']:.1f}"
                    if summary.get("count")
                    else "n/a"
                )
            rows.append(row)
        rows.append(
            ["queries/s (mix)"]
            + [f"{target['runs'][index]['queries_per_second']:.1f}" for target in targets.values()]
        )
        print_table(
            f"Employer queries, {clients} client(s): p50 / p95 / p99 ms",
            ["Question", *targets],
            rows,
        )
    print("\nWarm-up (first value of each question): rows, seconds")
    for name, target in targets.items():
        warm = {q: (r["rows"], r["seconds"]) for q, r in target["warm_up"].items()}
        print(f"  {name}: {warm}")
        for question, reason in target["left_out"].items():
            print(f"  {name} left {question} out of the measured mix: {reason}")
    for name, target in targets.items():
        for run_figures in target["runs"]:
            for question, error in run_figures["errors"].items():
                print(f"  errors in {name}, {question}: {error['count']}, e.g. {error['first']}")
    print(f"\nratios: {figures['ratios']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder from bench/generate.py")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="client counts")
    parser.add_argument("--values", type=int, default=10, help="parameter values per question")
    parser.add_argument("--passes", type=int, default=3, help="measured passes over the mix")
    parser.add_argument(
        "--query-timeout", type=float, default=30, help="server query time limit in seconds"
    )
    parser.add_argument(
        "--budget", type=float, default=120, help="seconds per target and client count"
    )
    parser.add_argument(
        "--slow-seconds",
        type=float,
        default=10,
        help="leave a question out of the measured mix if its warm-up query took longer",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default docs/benchmarks/...)")
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_PROXY", "127.0.0.1")
    figures = run(args)
    report(figures)
    save(figures, args.output)


if __name__ == "__main__":
    main()
