"""The cpl loader: MAP articulations as transfer values, courses, credentials and organizations.

The real MAP export, from the ``cpl`` folder of the shared data, is read once
through the loader class. It is also loaded once by ``registry load --format
cpl`` into an on-disk store, which the tests query with SPARQL. Small CSV
files written to ``tmp_path``, beside links to the real reference files, cover
malformed rows.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path

import pytest
from conftest import SHARED_DATA, require_shared
from rdf_oracle import canonical

from loaders.cpl import (
    CLASSIFICATION_FILE,
    CROSSWALK_FILE,
    CTDL_CONTEXT_URL,
    DESCRIPTORS_FILE,
    TOP_FILE,
    CplLoader,
    read_articulations,
    read_references,
)
from loaders.cpl_documents import GraphBuilder, credential_class
from loaders.cpl_subjects import TopIndex, implausibility
from registry.cli import main
from registry.config import Settings
from registry.ctid import derived_ctid
from registry.ingest import RDF_TYPE, parse_json_document
from registry.service import Registry

CPL = SHARED_DATA / "cpl"
EXPORT = CPL / "map-articulations-by-course.derived.csv"
REFERENCES = (DESCRIPTORS_FILE, CLASSIFICATION_FILE, TOP_FILE, CROSSWALK_FILE)
HEADER = (
    "#,Unified Course,Discipline,Colleges Earned,Credit Recommendation,Credential,Adoption Leverage"
)
CETERMS = "https://purl.org/ctdl/terms/"

# Real rows of the export, by CSV line (the header is line 1).
AP_STATISTICS_LINE = 2  # Introduction to Statistics (MATH 110 · C-ID) <- AP Statistics (+4)
WATER_TREATMENT_LINE = 6  # Water Treatment I (NULL · C-ID) <- Cisco Networking Essentials
GROUP_COMMUNICATION_LINE = 369  # Group Communication (COMM M1025 · M-ID) <- AP Computer Science A


def require_cpl() -> None:
    """Skip (or fail, under CI) when the MAP export is missing from the shared data."""
    require_shared()
    if EXPORT.is_file():
        return
    message = f"MAP export not found at {EXPORT}"
    if os.environ.get("REGISTRY_REQUIRE_SHARED") == "1":
        pytest.fail(message)
    pytest.skip(message)


def by_source(outcomes) -> dict:
    return {outcome.source: outcome for outcome in outcomes}


def primary_type(document) -> str:
    return next(
        t.object.value.removeprefix(CETERMS)
        for t in document.triples
        if t.predicate.value == RDF_TYPE and t.subject.value == document.primary
    )


def export_line(line: int) -> str:
    """Return one line of the real export, without its line break."""
    return EXPORT.read_text(encoding="utf-8-sig").splitlines()[line - 1]


def write_export(folder: Path, lines: list[str]) -> Path:
    """Write a small export beside links to the real reference files; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in REFERENCES:
        (folder / name).symlink_to(CPL / name)
    path = folder / "articulations.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cpl_registry(vocab_dir: Path, validator):
    """A registry with an in-memory store, for reading with the loader class."""
    require_cpl()
    instance = Registry(Settings(vocab_cache=vocab_dir, base_url="http://registry.test"))
    instance._validator = validator
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def real_outcomes(cpl_registry):
    """Every outcome of the real export, read through the loader class."""
    return list(CplLoader(cpl_registry).read(EXPORT))


@pytest.fixture(scope="module")
def real_store(tmp_path_factory, vocab_dir: Path):
    """An on-disk store filled from the real export by ``registry load --format cpl``.

    It is loaded with --no-validate to keep the run short. Validation through
    the command is tested on a small export below, and the sample validation
    test validates real documents of each kind.
    """
    require_cpl()
    store = tmp_path_factory.mktemp("cpl-store") / "store"
    code = main(
        [
            "load",
            "--format",
            "cpl",
            str(EXPORT),
            "--store",
            str(store),
            "--vocab-cache",
            str(vocab_dir),
            "--base-url",
            "http://registry.test",
            "--quiet",
            "--no-validate",
        ]
    )
    registry = Registry(
        Settings(store=store, vocab_cache=vocab_dir, base_url="http://registry.test")
    )
    yield code, registry
    registry.close()


# --- The real export through the loader class ------------------------------------


def test_export_fails_only_null_course_row(real_outcomes):
    failed = [o for o in real_outcomes if o.status == "failed"]

    assert [o.source for o in failed] == [f"{EXPORT}:{WATER_TREATMENT_LINE}"]
    assert "no C-ID number ('NULL')" in failed[0].error


def test_real_export_yields_each_document_kind(real_outcomes):
    kinds = Counter(primary_type(o.document) for o in real_outcomes if o.document)

    assert kinds["TransferValueProfile"] == 2354
    assert kinds["Course"] == 2354
    assert kinds["Organization"] > 2
    assert kinds["AssessmentProfile"] > 0
    assert kinds["Certification"] > 0


def test_implausible_row_is_flagged(real_outcomes):
    outcome = by_source(real_outcomes)[f"{EXPORT}:{GROUP_COMMUNICATION_LINE}"]
    messages = [w.message for w in outcome.document.warnings]

    assert outcome.status == "warned"
    assert any(m.startswith("implausible articulation: 'Group Communication'") for m in messages)
    assert any("'AP Computer Science A'" in m for m in messages)


def test_water_treatment_row_is_also_called_implausible(real_outcomes):
    outcome = by_source(real_outcomes)[f"{EXPORT}:{WATER_TREATMENT_LINE}"]

    assert "also implausible" in outcome.error
    assert "course: 0958" in outcome.error


def test_plausible_row_has_no_warning(real_outcomes):
    outcome = by_source(real_outcomes)[f"{EXPORT}:{AP_STATISTICS_LINE}"]

    assert outcome.status == "loaded"


def test_sample_of_each_kind_has_no_violation(real_outcomes, validator):
    documents: dict[str, list] = {}
    for outcome in real_outcomes:
        if outcome.document:
            documents.setdefault(primary_type(outcome.document), []).append(outcome.document)
    sample = random.Random(7)

    for kind, group in sorted(documents.items()):
        for document in sample.sample(group, min(10, len(group))):
            report = validator.validate(document)
            violations = [r for r in report.results if r.severity == "Violation"]
            assert violations == [], f"{kind} {document.source}: {violations}"


@pytest.mark.parametrize(
    "suffix",
    [
        f":{AP_STATISTICS_LINE}",
        ": course C-ID MATH 110",
        ": credential 'Generic Credit by Exam — Saddleback College'",
        ": organization 'California MAP Initiative'",
    ],
)
def test_cut_context_gives_full_context_triples(suffix, real_outcomes, cpl_registry):
    source = f"{EXPORT}{suffix}"
    document = by_source(real_outcomes)[source].document

    full = parse_json_document(
        {"@context": CTDL_CONTEXT_URL, "@graph": _graph_of(source)}, "full", cpl_registry.loader
    )

    assert canonical(full.triples) == canonical(document.triples)


def _graph_of(source: str) -> list:
    """Rebuild the JSON-LD graph the loader built for ``source``."""
    references = read_references(EXPORT.parent)
    articulations, _ = read_articulations(EXPORT, references)
    builder = GraphBuilder(str(EXPORT), references, articulations)
    for graph_source, graph, _warnings in builder.graphs():
        if graph_source == source:
            return graph
    raise AssertionError(f"no graph built for {source}")


# --- The real export through `registry load` --------------------------------------


def test_cli_real_export_exits_1(real_store):
    code, registry = real_store

    assert code == 1


def test_articulation_is_transfer_value_of_its_credential(real_store):
    """Line 2: 4 hours in Introduction to Statistics (MATH 110) for AP Statistics at 10 colleges."""
    _, registry = real_store
    query = """
        PREFIX ceterms: <https://purl.org/ctdl/terms/>
        PREFIX schema: <https://schema.org/>
        SELECT ?value ?unit ?colleges ?recommendation ?credentialType WHERE {
            ?tvp a ceterms:TransferValueProfile ;
                 ceterms:transferValueFrom ?credential ;
                 ceterms:transferValueFor ?course ;
                 ceterms:transferValue ?profile ;
                 ceterms:applicability/ceterms:weight ?colleges .
            ?profile schema:value ?value ;
                     schema:description ?recommendation ;
                     ceterms:creditUnitType/ceterms:targetNode ?unit .
            ?credential ceterms:name "AP Statistics"@en-us ; a ?credentialType .
            ?course a ceterms:Course ; ceterms:codedNotation "MATH 110" .
        }
    """
    rows = list(registry.store.query(query))

    assert len(rows) == 1
    row = rows[0]
    assert float(row["value"].value) == 4.0
    assert row["unit"].value == "https://purl.org/ctdl/vocabs/creditUnit/DegreeCredit"
    assert float(row["colleges"].value) == 10.0
    assert row["recommendation"].value == "4 hours in Introduction to Statistics"
    assert row["credentialType"].value == CETERMS + "AssessmentProfile"


def test_transfer_value_ctid_is_derived(real_store):
    _, registry = real_store
    ctid = derived_ctid("map-articulation", "MATH 110|AP Statistics")

    stored = registry.graph(ctid)

    assert stored.ctid == ctid


# --- Small exports written to tmp_path -------------------------------------------

STATISTICS = "Introduction to Statistics (MATH 110 · C-ID)"
MALFORMED = {
    2: "1,(MATH 110 · C-ID),—,3,3 hours in Statistics,AP Statistics,0",
    3: "2,Introduction to Statistics (MATH 110 · C-ID),—,3,3 hours in Statistics,,0",
    4: f"3,{STATISTICS},—,3,three hours in Statistics,AP Statistics,0",
    5: "4,Basket Weaving (BASK 999 · C-ID),—,3,3 hours in Basket Weaving,AP Statistics,0",
    6: f"5,{STATISTICS},—,many,3 hours in Statistics,AP Statistics,0",
    7: "6,Introduction to Statistics,—,3,3 hours in Statistics,AP Statistics,0",
}
EXPECTED_ERRORS = {
    2: "Unified Course '(MATH 110 · C-ID)' is not 'Title (NUMBER · C-ID)'",
    3: "Credential is empty",
    4: "Credit Recommendation 'three hours in Statistics' has no units",
    5: "names the C-ID 'BASK 999', which is not an approved C-ID descriptor",
    6: "Colleges Earned 'many' is not a whole number",
    7: "Unified Course 'Introduction to Statistics' is not 'Title (NUMBER · C-ID)'",
}
GOOD_ROW = (
    "7,Introduction to Statistics (MATH 110 · C-ID),—,3,3-4 hours in Statistics,AP Statistics,0"
)


def test_malformed_rows_fail_with_their_line(tmp_path, cpl_registry):
    path = write_export(tmp_path, [*MALFORMED.values(), GOOD_ROW])

    outcomes = by_source(CplLoader(cpl_registry).read(path))

    for line, expected in EXPECTED_ERRORS.items():
        outcome = outcomes[f"{path}:{line}"]
        assert outcome.status == "failed", line
        assert expected in outcome.error, (line, outcome.error)
    assert outcomes[f"{path}:8"].status == "loaded"


def test_repeated_articulation_fails_naming_first_line(tmp_path, cpl_registry):
    path = write_export(tmp_path, [GOOD_ROW, GOOD_ROW])

    outcomes = by_source(CplLoader(cpl_registry).read(path))

    assert outcomes[f"{path}:2"].status == "loaded"
    assert outcomes[f"{path}:3"].status == "failed"
    assert "repeats the articulation of line 2" in outcomes[f"{path}:3"].error


def test_range_of_units_becomes_min_and_max(tmp_path, cpl_registry):
    path = write_export(tmp_path, [GOOD_ROW])

    document = by_source(CplLoader(cpl_registry).read(path))[f"{path}:2"].document
    values = {
        t.predicate.value.removeprefix("https://schema.org/"): float(t.object.value)
        for t in document.triples
        if t.predicate.value in ("https://schema.org/minValue", "https://schema.org/maxValue")
    }

    assert values == {"minValue": 3.0, "maxValue": 4.0}


def test_missing_reference_file_fails_the_export(tmp_path, cpl_registry):
    path = tmp_path / "articulations.csv"
    path.write_text(HEADER + "\n" + GOOD_ROW + "\n", encoding="utf-8")

    outcomes = list(CplLoader(cpl_registry).read(path))

    assert [o.status for o in outcomes] == ["failed"]
    assert f"{DESCRIPTORS_FILE} not found" in outcomes[0].error


def test_missing_column_fails_the_export(tmp_path, cpl_registry):
    path = write_export(tmp_path, [GOOD_ROW])
    path.write_text(path.read_text(encoding="utf-8").replace(",Credential,", ",Source,"), "utf-8")

    outcomes = list(CplLoader(cpl_registry).read(path))

    assert [o.status for o in outcomes] == ["failed"]
    assert "line 1 lacks the column(s) Credential" in outcomes[0].error


def test_same_export_twice_gives_same_ctids(tmp_path, cpl_registry, real_outcomes):
    lines = [export_line(n) for n in range(2, 40)]
    path = write_export(tmp_path, lines)

    first = [o.document for o in CplLoader(cpl_registry).read(path) if o.document]
    second = [o.document for o in CplLoader(cpl_registry).read(path) if o.document]
    real_ctids = {o.document.ctid for o in real_outcomes if o.document}

    assert [d.ctid for d in first] == [d.ctid for d in second]
    assert all(
        canonical(a.triples) == canonical(b.triples) for a, b in zip(first, second, strict=True)
    )
    assert {d.ctid for d in first} <= real_ctids


def test_cli_load_validates_and_reports_lines(tmp_path, vocab_dir, capsys):
    rows = [export_line(AP_STATISTICS_LINE), export_line(GROUP_COMMUNICATION_LINE), MALFORMED[4]]
    path = write_export(tmp_path / "export", rows)
    store = tmp_path / "store"

    code = main(
        [
            "load",
            "--format",
            "cpl",
            str(path),
            "--store",
            str(store),
            "--vocab-cache",
            str(vocab_dir),
        ]
    )
    output = capsys.readouterr().out

    assert code == 1
    assert f"FAILED  {path}:4: Credit Recommendation 'three hours in Statistics'" in output
    assert "rejected by validation" not in output
    assert "warning at Unified Course/Credential: implausible articulation" in output


def test_cli_load_of_clean_export_exits_0(tmp_path, vocab_dir):
    path = write_export(tmp_path / "export", [export_line(AP_STATISTICS_LINE)])

    code = main(
        [
            "load",
            "--format",
            "cpl",
            str(path),
            "--store",
            str(tmp_path / "store"),
            "--vocab-cache",
            str(vocab_dir),
            "--quiet",
        ]
    )

    assert code == 0


# --- The rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AP Statistics", "ceterms:AssessmentProfile"),
        ("CLEP College Algebra", "ceterms:AssessmentProfile"),
        ("IB Theatre HL", "ceterms:AssessmentProfile"),
        ("Generic Credit by Exam — Saddleback College", "ceterms:AssessmentProfile"),
        ("Paramedic License", "ceterms:License"),
        ("CompTIA A+", "ceterms:Certification"),
    ],
)
def test_credential_class_from_name(name, expected):
    assert credential_class(name, []) == expected


def test_credential_class_from_classification_notes():
    entries = [{"issuing_agency": None, "_notes": "Local course CBE."}]

    assert credential_class("10-Key Data Entry", entries) == "ceterms:AssessmentProfile"


@pytest.fixture(scope="module")
def top_index():
    require_cpl()
    import json

    return TopIndex(json.loads((CPL / TOP_FILE).read_text(encoding="utf-8"))["codes"])


def test_unrelated_subjects_are_implausible(top_index):
    reason = implausibility(
        ["Cisco Networking Academy — Networking Essentials", "Cisco Networking 1"],
        ["Water Treatment I"],
        top_index,
    )

    assert reason is not None
    assert "course: 0958" in reason


def test_shared_words_are_plausible(top_index):
    reason = implausibility(
        ["AP Statistics", "College Board", "Introduction to Statistics"],
        ["Introduction to Statistics"],
        top_index,
    )

    assert reason is None
