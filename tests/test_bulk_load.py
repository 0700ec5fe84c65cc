"""`registry load --workers N`: worker processes give the load of a single process."""

from __future__ import annotations

import _thread
import contextlib
import io
import multiprocessing
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from conftest import CTDL, SAMPLES, require_shared
from rdflib.compare import isomorphic

import registry.cli
from loaders.ctdl import CtdlLoader
from registry.bulk import (
    StoredStatements,
    ValidationTask,
    _WorkerState,
    pack,
    parallel_outcomes,
    store_lookups,
    unpack,
)
from registry.cli import _run_loader, _validate_outcome_for_load, main
from registry.config import Settings
from registry.service import LEDGER_FILE, Registry
from registry.store import OxigraphStore

BASE_URL = "http://registry.test"

# Small batches, so that later documents are validated against stored ones.
TEST_BATCH_DOCUMENTS = 4

# Blank-node labels are new on every parse, and a failed document lists its
# first violations in the order of their focus nodes' labels.
BLANK_NODE = re.compile(r"_:[A-Za-z0-9]+")


def load_input(folder: Path) -> list[Path]:
    """Real documents that load, warn, fail validation or fail to parse, and a skipped file."""
    broken = folder / "broken"
    broken.mkdir()
    (broken / "truncated.json").write_text('{"@context": ')
    (broken / "notes.md").write_text("not a document\n")
    negative = CTDL / "validation" / "negative"
    return [SAMPLES, CTDL / "graphs", negative, broken]


@pytest.fixture(scope="module")
def loads(vocab_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict]:
    """The same input loaded with one process and with two workers: output, code, store."""
    require_shared()
    folder = tmp_path_factory.mktemp("bulk")
    paths = load_input(folder)
    results = {}
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("REGISTRY_") and name != "REGISTRY_SHARED_DATA":
                patch.delenv(name)
        patch.setenv("REGISTRY_VOCAB_CACHE", str(vocab_dir))
        patch.setattr(registry.cli, "BATCH_DOCUMENTS", TEST_BATCH_DOCUMENTS)
        for workers in (1, 2):
            store = folder / f"store-{workers}"
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(
                    ["load", *map(str, paths), "--store", str(store), "--base-url", BASE_URL]
                    + ["--workers", str(workers)]
                )
            results[workers] = {"code": code, "out": out.getvalue(), "store": store}
    return results


def report_lines(out: str) -> list[str]:
    """The report with violation lines about blank nodes left out (see ``BLANK_NODE``)."""
    return [line for line in out.splitlines() if not BLANK_NODE.search(line)]


def ledger_rows(store: Path) -> list[tuple]:
    connection = sqlite3.connect(f"file:{store / LEDGER_FILE}?mode=ro", uri=True)
    try:
        return connection.execute(
            "SELECT ctid, version, action, owner, publisher, content_hash, content, applied "
            "FROM versions ORDER BY ctid, version"
        ).fetchall()
    finally:
        connection.close()


def event_order(store: Path) -> list[tuple]:
    connection = sqlite3.connect(f"file:{store / LEDGER_FILE}?mode=ro", uri=True)
    try:
        return connection.execute(
            "SELECT ctid, version, action FROM events ORDER BY seq"
        ).fetchall()
    finally:
        connection.close()


def stored_graphs(store: Path) -> dict[str, rdflib.Graph]:
    """Each stored document graph, read back as an rdflib graph."""
    opened = OxigraphStore(store, BASE_URL)
    try:
        graphs = {}
        for ctid in opened.document_ctids():
            triples = opened.document_triples(ctid) or []
            ntriples = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
            graphs[ctid] = rdflib.Graph().parse(data=ntriples, format="nt")
        return graphs
    finally:
        opened.close()


def test_parallel_load_exit_code(loads):
    assert loads[1]["code"] == 1
    assert loads[2]["code"] == 1


def test_parallel_load_report_lines(loads):
    assert report_lines(loads[2]["out"]) == report_lines(loads[1]["out"])


def test_parallel_load_reports_failures(loads):
    out = loads[2]["out"]
    assert "truncated.json is not valid JSON" in out
    assert "negative/org-missing-email-and-place.json: rejected by validation" in out
    assert "skipped " in out


def test_parallel_load_ledger_versions(loads):
    single = ledger_rows(loads[1]["store"])
    assert len(single) > 20
    assert ledger_rows(loads[2]["store"]) == single
    assert event_order(loads[2]["store"]) == event_order(loads[1]["store"])


def test_parallel_load_store_graphs(loads):
    single = stored_graphs(loads[1]["store"])
    parallel = stored_graphs(loads[2]["store"])
    assert parallel.keys() == single.keys()
    for ctid, graph in single.items():
        assert isomorphic(parallel[ctid], graph), ctid


def test_parallel_load_leaves_no_workers(loads):
    assert multiprocessing.active_children() == []


def test_packed_document_round_trip(registry):
    source = SAMPLES / "emt-certificate.graph.json"
    document = registry.parse(source.read_bytes(), str(source))
    copy = unpack(pack(document))
    assert copy.triples == document.triples
    assert copy.node_paths == document.node_paths
    assert copy.primary == document.primary


def test_stored_statements_match_store(registry):
    """The lookups sent to a worker give the validator what the store itself gives."""
    organization = SAMPLES / "alder-valley-college.graph.json"
    credential = SAMPLES / "emt-certificate.graph.json"
    registry.load(organization.read_bytes(), str(organization))
    document = registry.parse(credential.read_bytes(), str(credential))
    expected = registry.publisher._referenced(document)

    statements = StoredStatements()
    statements.set_lookups(store_lookups(registry.store, document))
    real_store = registry.store
    registry.store = statements
    try:
        answered = registry.publisher._referenced(document)
    finally:
        registry.store = real_store
    assert expected
    assert answered == expected


# --- Workers that fail ------------------------------------------------------
# The loaders below are imported by the spawned workers from this module.


class CrashingLoader(CtdlLoader):
    """Ends its process on files named crash.json, as a native crash would."""

    def read(self, path: Path) -> Iterator:
        if path.name == "crash.json":
            os._exit(3)
        yield from super().read(path)


class RaisingLoader(CtdlLoader):
    """Raises an unexpected exception on files named bug.json."""

    def read(self, path: Path) -> Iterator:
        if path.name == "bug.json":
            raise RuntimeError("simulated loader bug")
        yield from super().read(path)


class StuckLoader(CtdlLoader):
    """Never finishes reading a file, so that a test can interrupt the load."""

    def read(self, path: Path) -> Iterator:
        time.sleep(3600)
        yield from super().read(path)


class NoStartLoader(CtdlLoader):
    """Cannot be built in a worker process."""

    def __init__(self, registry: Registry) -> None:
        if multiprocessing.parent_process() is not None:
            raise RuntimeError("simulated start-up failure")
        super().__init__(registry)


def validate_or_crash(registry: Registry, outcome) -> None:
    """Validate as `registry load` does, but end the process on files named a-crash.json."""
    if outcome.source.endswith("a-crash.json"):
        os._exit(4)
    _validate_outcome_for_load(registry, outcome)


@pytest.fixture
def three_files(tmp_path: Path) -> Path:
    folder = tmp_path / "input"
    folder.mkdir()
    shutil.copy(SAMPLES / "alder-valley-college.graph.json", folder / "a-college.json")
    shutil.copy(SAMPLES / "emt-certificate.graph.json", folder / "c-emt.json")
    shutil.copy(SAMPLES / "estuary-bay-college.graph.json", folder / "d-college.json")
    return folder


def run_load(settings: Settings, loader_type: type, paths: list[Path], workers: int) -> tuple:
    """Run the load loop of `registry load` without validation; return counts and report."""
    instance = Registry(settings)
    out = io.StringIO()
    try:
        counts = _run_loader(
            loader_type(instance), instance, paths, False, out, validate=False, workers=workers
        )
    finally:
        instance.close()
    return counts, out.getvalue()


def test_worker_crash_fails_its_file(settings, three_files):
    shutil.copy(SAMPLES / "emt-certificate.graph.json", three_files / "crash.json")

    counts, out = run_load(settings, CrashingLoader, [three_files], workers=2)

    assert counts["failed"] == 1
    assert counts["loaded"] == 3
    assert "crash.json: the load worker process reading this file exited with code 3" in out
    assert multiprocessing.active_children() == []


def test_worker_exception_fails_its_file(settings, three_files, caplog):
    shutil.copy(SAMPLES / "emt-certificate.graph.json", three_files / "bug.json")

    counts, out = run_load(settings, RaisingLoader, [three_files], workers=2)

    assert counts["failed"] == 1
    assert counts["loaded"] == 3
    assert "bug.json: internal error: RuntimeError: simulated loader bug" in out
    assert "simulated loader bug" in caplog.text


def test_worker_start_failure_stops_load(settings, three_files):
    from registry.errors import RegistryError

    with pytest.raises(RegistryError, match="simulated start-up failure"):
        run_load(settings, NoStartLoader, [three_files], workers=2)
    assert multiprocessing.active_children() == []


def test_interrupt_stops_workers(settings, three_files):
    """Ctrl-C in the main process ends the load and its workers, which ignore SIGINT."""
    timer = threading.Timer(5.0, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_load(settings, StuckLoader, [three_files], workers=2)
    finally:
        timer.cancel()
    assert multiprocessing.active_children() == []


def test_single_file_loads_in_process(settings, three_files):
    """One file needs no worker process, so a loader that cannot start in one still loads it."""
    counts, _ = run_load(settings, NoStartLoader, [three_files / "c-emt.json"], workers=2)
    assert counts["loaded"] == 1


def test_worker_crash_in_validation(settings, three_files):
    """The document being validated fails; the others queued on that worker are validated."""
    shutil.copy(SAMPLES / "emt-certificate.graph.json", three_files / "a-crash.json")
    files = sorted(three_files.iterdir())
    instance = Registry(settings)
    try:
        outcomes = list(
            parallel_outcomes(
                CtdlLoader,
                instance,
                files,
                workers=2,
                validate=True,
                validate_outcome=validate_or_crash,
                batch_full=lambda batch: False,
                progress=lambda: None,
            )
        )
    finally:
        instance.close()

    errors = {Path(outcome.source).name: outcome.error for outcome in outcomes}
    assert errors["a-crash.json"].startswith(
        "the load worker process validating this document exited with code 4"
    )
    assert errors["a-college.json"] is None
    assert errors["c-emt.json"] is None
    assert errors["d-college.json"] is None
    assert multiprocessing.active_children() == []


def test_worker_validates_sent_document(settings, registry):
    """A worker validates a document it did not read when the task carries it."""
    state = _WorkerState(settings, CtdlLoader, True, _validate_outcome_for_load)
    valid = SAMPLES / "emt-certificate.graph.json"
    document = registry.parse(valid.read_bytes(), str(valid))
    lookups = store_lookups(registry.store, document)
    invalid = CTDL / "validation" / "negative" / "org-missing-email-and-place.json"
    rejected = registry.parse(invalid.read_bytes(), str(invalid))

    assert state.validate(ValidationTask((7, 0), str(valid), lookups, pack(document))) is None
    rejected_lookups = store_lookups(registry.store, rejected)
    error = state.validate(ValidationTask((8, 0), str(invalid), rejected_lookups, pack(rejected)))
    assert error.startswith("rejected by validation")
    with pytest.raises(RuntimeError, match="neither kept nor sent"):
        state.validate(ValidationTask((9, 0), str(valid), lookups))
