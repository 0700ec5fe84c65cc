"""Publish benchmark: validated publishing over HTTP against unvalidated pyoxigraph loading.

Run from the project root (after scripts/setup.sh):

    .venv/bin/python bench/publish.py [--documents 300] [--framework 20000]

It starts ``registry serve`` (waitress, as an operator runs it) on a loopback
port with an on-disk store in a temporary folder. It publishes copies of the
real credential documents under fresh CTIDs with validation on, one request at
a time over one keep-alive connection. It publishes as many other copies
through the same code in this process, without HTTP, into a second on-disk
store, to show what HTTP costs. For comparison it times the first documents
parsed and added to a bare pyoxigraph store without validation, twice: into
an in-memory store, and into an on-disk store as the registry keeps (from
each document's N-Triples, the registry's own fastest write of a new graph).
The four take turns in 4 rounds, so that a change in machine load during the run
affects each of them alike. It then publishes one competency framework of
``--framework`` competencies. Figures are printed as a table and saved to
``docs/benchmarks/publish.json``.

The registry's search and link indexes apply a publish before their next
read, not during the publish (``registry.derived``). So that this work is
counted, each round ends with one read of each index, timed as index
catch-up. The ratios are given without and with it. The framework's time
until the indexes include it is reported next to its publish time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pyoxigraph as ox
from client import Client
from common import BIN, free_port, start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry import __version__  # noqa: E402
from registry.config import Settings  # noqa: E402
from registry.service import Registry  # noqa: E402

SHARED = Path(os.environ.get("REGISTRY_SHARED_DATA", ROOT.parent / "shared" / "data"))
SOURCES = ["graphs/credentials", "graphs/learning-opportunities", "resources"]
ORG = "ce-0b0e0a11-0000-4000-8000-00000000b0b0"
ROUNDS = 4
CTID_RE = re.compile(
    r"ce-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def templates(registry: Registry) -> list[tuple[str, str]]:
    """Return (CTID, text) of real documents that pass validation, to copy under new CTIDs."""
    found = []
    for folder in SOURCES:
        for path in sorted((SHARED / "ctdl" / folder).glob("*.json")):
            text = path.read_text(encoding="utf-8-sig")
            try:
                document, report = registry.publisher.validate(text.encode(), path.name, None)
            except Exception as exc:  # noqa: BLE001 - a template that fails is just skipped
                print(f"skipping {path.name}: {exc}", file=sys.stderr)
                continue
            if report.conforms:
                found.append((document.ctid, text))
    return found


def copies(templates: list[tuple[str, str]], count: int) -> list[bytes]:
    """Make ``count`` documents by giving template copies a fresh CTID."""
    result = []
    for i in range(count):
        ctid, text = templates[i % len(templates)]
        fresh = f"ce-{uuid.uuid4()}"
        pattern = re.compile(re.escape(ctid), re.IGNORECASE)
        result.append(pattern.sub(fresh, text).encode())
    return result


def framework(size: int) -> bytes:
    """Generate a competency framework of ``size`` competencies, shaped like published ones."""
    framework_ctid = f"ce-{uuid.uuid4()}"
    base = "https://credentialengineregistry.org/resources/"
    members = [f"ce-{uuid.uuid4()}" for _ in range(size)]
    graph = [
        {
            "@id": base + framework_ctid,
            "@type": "ceasn:CompetencyFramework",
            "ceterms:ctid": framework_ctid,
            "ceasn:name": {"en-US": "Benchmark framework"},
            "ceasn:description": {"en-US": f"A generated framework of {size} competencies."},
            "ceasn:inLanguage": ["en"],
            "ceasn:publisher": [base + ORG],
            "ceasn:hasTopChild": [base + m for m in members],
        }
    ]
    for i, ctid in enumerate(members):
        graph.append(
            {
                "@id": base + ctid,
                "@type": "ceasn:Competency",
                "ceterms:ctid": ctid,
                "ceasn:competencyText": {"en-US": f"Performs generated task number {i}."},
                "ceasn:codedNotation": f"B.{i}",
                "ceasn:isPartOf": base + framework_ctid,
                "ceasn:isTopChildOf": base + framework_ctid,
            }
        )
    document = {
        "@context": "https://credreg.net/ctdlasn/schema/context/json",
        "@id": "https://credentialengineregistry.org/graph/" + framework_ctid,
        "@graph": graph,
    }
    return json.dumps(document).encode()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def publish_all(
    url: str, key: str, documents: list[bytes], session: Client | None = None
) -> tuple[float, list[float]]:
    latencies = []
    session = session or Client()
    headers = {"Content-Type": "application/ld+json", "Authorization": f"Bearer {key}"}
    started = time.perf_counter()
    for body in documents:
        sent = time.perf_counter()
        response = session.post(
            f"{url}/resources/organizations/{ORG}/documents",
            data=body,
            headers=headers,
            timeout=600,
        )
        latencies.append((time.perf_counter() - sent) * 1000)
        if response.status_code not in (200, 201):
            raise SystemExit(f"publish failed with {response.status_code}: {response.text[:500]}")
    return time.perf_counter() - started, latencies


def publish_in_process(registry: Registry, documents: list[bytes]) -> float:
    """Publish each document through ``Publisher.publish`` directly: validation,
    ledger and store as over HTTP, without the HTTP request, then apply the
    indexes' pending writes."""
    started = time.perf_counter()
    for body in documents:
        registry.publisher.publish(body, None, ORG, ORG)
    for index in registry.indexes:
        index.flush()
    return time.perf_counter() - started


def catch_up(url: str, session: Client) -> float:
    """Read each derived index once over HTTP, so it applies its pending writes."""
    started = time.perf_counter()
    for path in ("/search?q=catchup", "/occupations/00-0000/credentials"):
        response = session.get(url + path, timeout=600)
        if response.status_code not in (200, 404):
            raise SystemExit(f"GET {path} failed with {response.status_code}")
    return time.perf_counter() - started


def unvalidated_load(
    registry: Registry, documents: list[bytes], store: ox.Store | None = None
) -> float:
    """Parse each document (same JSON-LD path) and add it to a bare pyoxigraph store."""
    store = ox.Store() if store is None else store
    started = time.perf_counter()
    for i, body in enumerate(documents):
        document = registry.parse(body, f"document {i}")
        graph = ox.NamedNode(f"urn:bench:{document.ctid}")
        store.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in document.triples)
    return time.perf_counter() - started


def unvalidated_disk_load(registry: Registry, documents: list[bytes], store: ox.Store) -> float:
    """Parse each document and load its N-Triples into an on-disk pyoxigraph store,
    one transaction per document, as the registry writes a new graph."""
    started = time.perf_counter()
    for i, body in enumerate(documents):
        document = registry.parse(body, f"document {i}")
        graph = ox.NamedNode(f"urn:bench:{document.ctid}")
        serialized = ox.serialize(document.triples, format=ox.RdfFormat.N_TRIPLES)
        store.load(serialized, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
    return time.perf_counter() - started


def measure_in_rounds(
    url: str,
    key: str,
    registry: Registry,
    documents: list[bytes],
    others: list[bytes],
    disk_store: ox.Store,
) -> tuple[float, list[float], float, float, float, float]:
    """Time the HTTP publishes, the in-process publishes and the baseline in ``ROUNDS`` turns.

    Each round runs a share of all three, so a change in the load of a shared
    machine during the run slows each measure alike instead of one of them.
    Returns the HTTP seconds and latencies, the HTTP index catch-up seconds,
    the in-process seconds (with its catch-up), and the baseline seconds in
    memory and on disk.
    """
    session = Client()
    store = ox.Store()
    http_seconds = catch_up_seconds = in_process_seconds = baseline_seconds = 0.0
    disk_seconds = 0.0
    latencies: list[float] = []
    size = -(-len(documents) // ROUNDS)
    for start in range(0, len(documents), size):
        elapsed, round_latencies = publish_all(url, key, documents[start : start + size], session)
        http_seconds += elapsed
        latencies += round_latencies
        catch_up_seconds += catch_up(url, session)
        in_process_seconds += publish_in_process(registry, others[start : start + size])
        baseline_seconds += unvalidated_load(registry, documents[start : start + size], store)
        disk_seconds += unvalidated_disk_load(registry, documents[start : start + size], disk_store)
    return (
        http_seconds,
        latencies,
        catch_up_seconds,
        in_process_seconds,
        baseline_seconds,
        disk_seconds,
    )


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    system = f"{platform.system()} {platform.release()}"
    return f"{model or cpu}, {os.cpu_count()} CPUs, {system}"


def create_key(store: Path) -> str:
    """Create a publisher key for ``ORG`` with `registry keys create`; it is printed last."""
    command = [str(BIN / "registry"), "keys", "create", "--org", ORG, "--store", str(store)]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    return completed.stdout.strip().splitlines()[-1]


def warm_up(url: str, key: str, body: bytes) -> None:
    """Validate one document without storing it, so the server builds its shapes untimed."""
    response = Client().post(
        f"{url}/resources/organizations/{ORG}/documents",
        params={"dry_run": "true"},
        data=body,
        headers={"Content-Type": "application/ld+json", "Authorization": f"Bearer {key}"},
        timeout=600,
    )
    if response.status_code != 200:
        raise SystemExit(f"the warm-up publish failed with {response.status_code}: {response.text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300, help="documents to publish")
    parser.add_argument(
        "--framework", type=int, default=20000, help="competencies in the framework"
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "docs" / "benchmarks" / "publish.json"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as folder:
        served_store = Path(folder) / "served"
        served_store.mkdir()
        key = create_key(served_store)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [str(BIN / "registry"), "serve", "--store", str(served_store)]
        command += ["--port", str(port), "--max-body-bytes", str(256 * 1024 * 1024)]
        server = start_server(command, url + "/", Path(folder) / "registry-serve.log")
        settings = Settings.from_env().with_overrides(store=Path(folder) / "in-process")
        registry = Registry(settings)
        try:
            found = templates(registry)
            documents = copies(found, args.documents)
            engine = registry.validator.engine  # builds the shapes before timing
            warm_up(url, key, documents[0])
            others = copies(found, args.documents)
            disk_store = ox.Store(str(Path(folder) / "baseline"))
            measured = measure_in_rounds(url, key, registry, documents, others, disk_store)
            elapsed, latencies, caught_up, in_process, baseline, disk_baseline = measured
            del disk_store

            big = framework(args.framework)
            framework_elapsed, _ = publish_all(url, key, [big])
            framework_indexed = catch_up(url, Client())
        finally:
            stop_server(server)
            registry.close()

    figures = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        # Other work on a shared machine slows every figure; the 1-minute load
        # average before and after the run shows how busy it was.
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "versions": {
            "registry": __version__,
            "python": platform.python_version(),
            "pyoxigraph": metadata.version("pyoxigraph"),
            "pyshacl": metadata.version("pyshacl"),
            "pyld": metadata.version("PyLD"),
            "waitress": metadata.version("waitress"),
        },
        "shacl_engine": engine,
        "templates": len(found),
        "documents": len(documents),
        "publish_docs_per_second": round(len(documents) / elapsed, 1),
        "publish_p50_ms": round(statistics.median(latencies), 1),
        "publish_p95_ms": round(percentile(latencies, 0.95), 1),
        "unvalidated_docs_per_second": round(len(documents) / baseline, 1),
        "validated_cost_ratio": round(elapsed / baseline, 2),
        "index_catch_up_seconds": round(caught_up, 2),
        "validated_cost_ratio_with_indexes": round((elapsed + caught_up) / baseline, 2),
        "in_process_publish_docs_per_second": round(len(documents) / in_process, 1),
        "in_process_cost_ratio": round(in_process / baseline, 2),
        # The same ratios against loading into an on-disk store, as the registry keeps.
        "unvalidated_disk_docs_per_second": round(len(documents) / disk_baseline, 1),
        "validated_cost_ratio_on_disk": round(elapsed / disk_baseline, 2),
        "validated_cost_ratio_with_indexes_on_disk": round(
            (elapsed + caught_up) / disk_baseline, 2
        ),
        "in_process_cost_ratio_on_disk": round(in_process / disk_baseline, 2),
        "framework_competencies": args.framework,
        "framework_bytes": len(big),
        "framework_publish_seconds": round(framework_elapsed, 2),
        "framework_indexed_seconds": round(framework_elapsed + framework_indexed, 2),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    width = max(len(k) for k in figures)
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
