"""Employer query API benchmark: each endpoint over HTTP against the same queries in-process.

Run from the project root, after bench/generate.py (and ideally bench/load.py):

    .venv/bin/python bench/employer_api.py --data /tmp/ctdl-100000 [--requests 200]

The registry under test holds the synthetic data set plus all the real data:
the published CTDL documents, SOC 2018, O*NET-SOC 2019, ESCO, the Open Skills
Network skill descriptors and California's MAP articulations. It is built in
``DATA/employer-store``, starting from a copy of ``DATA/registry-store`` when
bench/load.py made one (otherwise the synthetic documents are loaded without
validation, as bench/load.py already measures validated loading), and the
real data is added with ``registry load`` as a user would.

For each endpoint (an occupation, credentials for an occupation, competencies
for an occupation, credentials for a competency, transfer values, search) it
times, one request at a time and with the same parameters:

1. in-process: ``Registry.employer``, the code behind the endpoint without
   HTTP: a page from the link or search index, described by SPARQL queries
   through the registry's query runner;
2. HTTP: the same endpoint of ``registry serve`` on a loopback port;
3. with ``--with-sparql``, the endpoint's documented SPARQL
   (``GET /queries/{name}``) run directly in pyoxigraph, as a partner would
   run it on a copy of the data. Only the first ``--sparql-requests``
   requests of each endpoint run it, because the texts for broad codes and
   for search take seconds each.

It prints p50/p95/p99 per endpoint and the HTTP cost against in-process, and
saves them to ``docs/benchmarks/employer-api-{documents}.json``.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from client import Client  # noqa: E402
from common import (  # noqa: E402
    BIN,
    ROOT,
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

SHARED = Path(ROOT.parent / "shared" / "data")
P95_TARGET_MS = 50.0
HTTP_RATIO_TARGET = 1.3

# Real codes and CTIDs asked alongside the synthetic ones.
REAL_CODES = ["29-1141", "15-1131", "15-1244", "29-0000"]
REAL_CREDENTIALS = ["ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b"]


def real_sources() -> list[list[str]]:
    """``registry load`` arguments that add the real data, one command each."""
    occupations = SHARED / "occupations"
    ctdl = SHARED / "ctdl"
    return [
        ["--no-validate", str(ctdl / "graphs"), str(ctdl / "resources"), str(ctdl / "envelopes")],
        ["--format", "soc", str(occupations / "osmt-BLS-Import-SOC2018.csv")],
        ["--format", "onet", str(occupations / "osmt-oNet-Import-ONETSOC.csv")],
        [
            "--format",
            "esco",
            str(SHARED / "esco" / "v1.1.1"),
            str(occupations / "nesta-esco_onet_crosswalk_Nov2020.csv"),
        ],
        ["--format", "osmt", str(SHARED / "osmt")],
        ["--format", "cpl", str(SHARED / "cpl")],
    ]


def build_store(data: Path, store: Path, base_url: str, sources: int) -> None:
    """Make the store under test: the synthetic data plus the first ``sources`` real sources."""
    if store.exists():
        print(f"using the existing store {store}")
        return
    loaded = data / "registry-store"
    if loaded.exists():
        shutil.copytree(loaded, store)
    else:
        run_load(store, base_url, ["--no-validate", str(data / "documents")])
    for arguments in real_sources()[:sources]:
        run_load(store, base_url, arguments)


def run_load(store: Path, base_url: str, arguments: list[str]) -> None:
    command = [str(BIN / "registry"), "load", "--quiet", "--store", str(store)]
    command += ["--base-url", base_url, *arguments]
    started = time.perf_counter()
    # MAP's export has one malformed row, so exit code 1 is expected there.
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    summary = completed.stdout.strip().splitlines()[-1:] or [completed.stderr.strip()[-300:]]
    print(f"  {' '.join(arguments[:3])}: {summary[0]} ({time.perf_counter() - started:.0f} s)")


def requests_for(manifest: dict[str, Any], count: int) -> list[tuple[str, str, dict[str, str]]]:
    """The mix of (endpoint name, URL path, parameters), ``count`` per endpoint."""
    parameters = manifest.get("parameters", {})
    codes = REAL_CODES + list(parameters.get("occupation", []))
    competencies = list(parameters.get("competency", []))
    sources = REAL_CREDENTIALS + list(parameters.get("transfer_source", []))
    words = ["nursing", "software", "forklift"] + list(parameters.get("search", []))
    endpoints: list[tuple[str, list[str], Callable[[str], tuple[str, dict[str, str]]]]] = [
        ("occupation", codes, lambda c: (f"/occupations/{c}", {"code": c})),
        (
            "occupation-credentials",
            codes,
            lambda c: (f"/occupations/{c}/credentials", {"code": c}),
        ),
        (
            "occupation-competencies",
            codes,
            lambda c: (f"/occupations/{c}/competencies", {"code": c}),
        ),
        (
            "competency-credentials",
            competencies,
            lambda c: (f"/competencies/{c}/credentials", {"ctid": c}),
        ),
        (
            "transfer-values",
            sources,
            lambda c: (f"/credentials/{c}/transfer-values", {"ctid": c}),
        ),
        ("search", words, lambda w: (f"/search?q={quote(w)}", {"q": w})),
    ]
    mix = []
    for name, values, build in endpoints:
        if not values:
            continue
        for value in itertools.islice(itertools.cycle(values), count):
            path, params = build(value)
            mix.append((name, path, params))
    return mix


def warm_up_requests(
    mix: list[tuple[str, str, dict[str, str]]],
) -> list[tuple[str, str, dict[str, str]]]:
    """Return one request for each distinct parameter of the mix, sent untimed first.

    The in-process side runs first, on a store whose pages are not in memory
    yet. Warming both sides with every parameter keeps that order from
    favouring the HTTP side.
    """
    seen: dict[str, tuple[str, str, dict[str, str]]] = {}
    for request in mix:
        seen.setdefault(request[1], request)
    return list(seen.values())


def call_in_process(registry: Any, name: str, params: dict[str, str]) -> None:
    employer = registry.employer
    if name == "occupation":
        employer.occupation(params["code"])
    elif name == "occupation-credentials":
        employer.occupation_credentials(params["code"], 50, 0)
    elif name == "occupation-competencies":
        employer.occupation_competencies(params["code"], 50, 0)
    elif name == "competency-credentials":
        employer.competency_credentials(params["ctid"], 50, 0)
    elif name == "transfer-values":
        employer.transfer_values(params["ctid"], 50, 0)
    else:
        employer.search(params["q"], 50, 0)


def time_in_process(
    store: Path, base_url: str, mix: list[tuple[str, str, dict[str, str]]], sparql_requests: int
):
    """Time every request of the mix through ``Registry.employer``; collect each one's SPARQL."""
    from registry.config import Settings
    from registry.errors import RegistryError
    from registry.service import Registry

    registry = Registry(Settings.from_env().with_overrides(store=store, base_url=base_url))
    timings: dict[str, list[float]] = {}
    texts: list[tuple[str, str]] = []
    try:
        for name, _, params in warm_up_requests(mix):
            _ignore_not_found(lambda n=name, p=params: call_in_process(registry, n, p))
        for name, _, params in mix:
            started = time.perf_counter()
            _ignore_not_found(lambda n=name, p=params: call_in_process(registry, n, p))
            timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)
            try:
                texts.append((name, registry.employer.sparql_for(_query_name(name), params)))
            except RegistryError:
                pass
        direct = time_sparql(registry, texts, sparql_requests) if sparql_requests else {}
    finally:
        registry.close()
    return timings, direct


def _query_name(endpoint: str) -> str:
    return "occupation" if endpoint == "occupation" else endpoint


def _ignore_not_found(call: Callable[[], Any]) -> None:
    from registry.errors import NotFound

    try:
        call()
    except NotFound:
        pass


def time_sparql(
    registry: Any, texts: list[tuple[str, str]], per_endpoint: int
) -> dict[str, list[float]]:
    """Time the first documented SPARQL texts of each endpoint directly in pyoxigraph
    (union default graph)."""
    timings: dict[str, list[float]] = {}
    for name, text in texts:
        if len(timings.get(name, [])) >= per_endpoint:
            continue
        started = time.perf_counter()
        results = registry.store.query(text)
        for _ in results:
            pass
        timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)
    return timings


def time_http(store: Path, mix: list[tuple[str, str, dict[str, str]]], log: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "registry"), "serve", "--store", str(store), "--port", str(port)]
    command += ["--base-url", url]
    server = start_server(command, f"{url}/", log)
    timings: dict[str, list[float]] = {}
    statuses: dict[int, int] = {}
    try:
        with Client() as session:
            for _, path, _ in warm_up_requests(mix):
                session.get(url + path, timeout=60)
            for name, path, _ in mix:
                started = time.perf_counter()
                response = session.get(url + path, timeout=60)
                response.content  # noqa: B018 - read the whole body inside the timing
                timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    finally:
        stop_server(server)
    return timings, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder from bench/generate.py")
    parser.add_argument("--store", type=Path, help="store to use (default DATA/employer-store)")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    parser.add_argument("--output", type=Path, help="JSON output file")
    parser.add_argument(
        "--with-sparql",
        action="store_true",
        help="also time each endpoint's documented SPARQL text alone in pyoxigraph",
    )
    parser.add_argument(
        "--sparql-requests",
        type=int,
        default=5,
        help="documented SPARQL texts timed per endpoint with --with-sparql (default 5)",
    )
    parser.add_argument(
        "--ctdl-only",
        action="store_true",
        help="add only the real CTDL documents, not the occupation, skills and credit data "
        "(for a quick smoke run)",
    )
    args = parser.parse_args()

    manifest = read_manifest(args.data)
    store = args.store or args.data / "employer-store"
    base_url = manifest.get("base_url", "http://127.0.0.1:8080")
    build_store(args.data, store, base_url, 1 if args.ctdl_only else len(real_sources()))
    mix = requests_for(manifest, args.requests)

    sparql_requests = args.sparql_requests if args.with_sparql else 0
    in_process, direct = time_in_process(store, base_url, mix, sparql_requests)
    http, statuses = time_http(store, mix, args.data / "employer-api-server.log")

    figures = header("employer-api", manifest["documents"])
    figures["real_data"] = (
        "published CTDL" if args.ctdl_only else "published CTDL, SOC, O*NET-SOC, ESCO, OSMT, MAP"
    )
    figures["requests_per_endpoint"] = args.requests
    figures["http_statuses"] = statuses
    figures["endpoints"] = {}
    rows = []
    for name in http:
        served, local = latency_summary(http[name]), latency_summary(in_process[name])
        sparql = latency_summary(direct.get(name, []))
        ratio = round(served["p50_ms"] / local["p50_ms"], 2) if local.get("p50_ms") else None
        figures["endpoints"][name] = {
            "http": served,
            "in_process": local,
            "documented_sparql": sparql,
            "http_over_in_process_p50": ratio,
            "p95_target_met": served["p95_ms"] <= P95_TARGET_MS,
            "ratio_target_met": ratio is not None and ratio <= HTTP_RATIO_TARGET,
        }
        rows.append(
            [
                name,
                served["p50_ms"],
                served["p95_ms"],
                served["p99_ms"],
                local["p50_ms"],
                local["p95_ms"],
                sparql.get("p50_ms", "-"),
                ratio,
            ]
        )
    print_header(figures)
    print_table(
        f"Employer API, {manifest['documents']:,} synthetic documents plus the real data (ms)",
        ["endpoint", "HTTP p50", "p95", "p99", "in-process p50", "p95", "SPARQL p50", "HTTP/in"],
        rows,
    )
    name = f"employer-api-{manifest['documents']}.json"
    output = args.output or ROOT / "docs" / "benchmarks" / name
    print(f"saved {save(figures, output)}")


if __name__ == "__main__":
    main()
