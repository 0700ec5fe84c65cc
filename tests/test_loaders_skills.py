"""The CASE and OSMT loaders on the real files in ``../shared/data/case`` and ``osmt``.

Results are checked on the parsed graphs with SPARQL, not on text. The real
files are read once per module; tests that need bad input write small files
of their own under ``tmp_path``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import SHARED_DATA

from loaders.base import Outcome
from loaders.case import CaseLoader
from loaders.osmt import OsmtLoader
from registry.cli import main
from registry.config import Settings
from registry.ctid import derived_ctid
from registry.ingest import Document
from registry.service import Registry

CASE = SHARED_DATA / "case"
OSMT = SHARED_DATA / "osmt"
ACT = "opensalt-Ordering-ACT-Holistic-Framework-Math.json"
ELA_CSV = "opensalt-ccsso_ela_item.csv"
RESOURCES = "https://credentialengineregistry.org/resources/"

PREFIXES = """
PREFIX ceasn: <https://purl.org/ctdlasn/terms/>
PREFIX ceterms: <https://purl.org/ctdl/terms/>
"""


# Fixtures and helpers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def skills_registry(vocab_dir: Path, validator) -> Iterator[Registry]:
    """An in-memory registry for this module, sharing the session's validator."""
    instance = Registry(Settings(vocab_cache=vocab_dir, base_url="http://registry.test"))
    instance._validator = validator
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def case_outcomes(skills_registry: Registry) -> dict[str, Outcome]:
    return read_all(CaseLoader(skills_registry), CASE)


@pytest.fixture(scope="module")
def osmt_outcomes(skills_registry: Registry) -> dict[str, Outcome]:
    return read_all(OsmtLoader(skills_registry), OSMT)


def read_all(loader, folder: Path) -> dict[str, Outcome]:
    """Run a loader over a folder and key the outcomes by path relative to it."""
    outcomes = {}
    for path in loader.discover([folder]):
        for outcome in loader.read(path):
            outcomes[str(path.relative_to(folder))] = outcome
    return outcomes


def read_one(loader, path: Path) -> Outcome:
    outcomes = list(loader.read(path))
    assert len(outcomes) == 1
    return outcomes[0]


def select(document: Document, query: str) -> list[dict[str, str]]:
    """Run a SPARQL SELECT over one document's triples; return rows of plain values."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in document.triples)
    solutions = store.query(PREFIXES + query)
    names = [variable.value for variable in solutions.variables]
    return [{name: row[name].value for name in names if row[name] is not None} for row in solutions]


def iri(scheme: str, identifier: str) -> str:
    return RESOURCES + derived_ctid(scheme, identifier)


def warning_at(document: Document, key: str, words: str) -> bool:
    return any(w.key == key and words in w.message for w in document.warnings)


def write(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return path


# CASE: the real files --------------------------------------------------------------------


def test_case_real_files_load_or_skip(case_outcomes: dict[str, Outcome]) -> None:
    loaded = sorted(name for name, o in case_outcomes.items() if o.document is not None)
    skipped = sorted(name for name, o in case_outcomes.items() if o.skipped)
    assert loaded == sorted(
        [
            "opensalt-AdoptedTestFramework.json",
            "opensalt-ItemTypeTestFramework.json",
            "opensalt-MarkdownFramework.json",
            ACT,
            "opensalt-SequenceNumberFramework.json",
            "opensalt-Utf8TestFramework.json",
            ELA_CSV,
        ]
    )
    assert "MANIFEST.md" in skipped
    assert all(name.startswith("schemas/") for name in skipped if name != "MANIFEST.md")
    assert not [name for name, o in case_outcomes.items() if o.error]


def test_case_documents_pass_validation(case_outcomes: dict[str, Outcome], validator) -> None:
    for name, outcome in case_outcomes.items():
        if outcome.document is not None:
            report = validator.validate(outcome.document)
            assert report.violation_count == 0, (name, report.to_dict()["results"][:3])


def test_act_framework_members(case_outcomes: dict[str, Outcome]) -> None:
    document = case_outcomes[ACT].document
    framework = iri("case", "a33fc64e-5c40-11e7-82c4-3d54268aa9ee")
    rows = select(
        document,
        f"""SELECT ?c WHERE {{ ?c a ceasn:Competency ; ceasn:isPartOf <{framework}> }}""",
    )
    names = select(
        document, "SELECT ?name WHERE { ?f a ceasn:CompetencyFramework ; ceasn:name ?name }"
    )
    assert document.ctid == derived_ctid("case", "a33fc64e-5c40-11e7-82c4-3d54268aa9ee")
    assert len(rows) == 28
    assert names == [{"name": "ACT Holistic Framework, Math"}]


def test_act_hierarchy_matches_associations(case_outcomes: dict[str, Outcome]) -> None:
    """Every isChildOf association of the package is a child link both ways in the graph."""
    package = json.loads((CASE / ACT).read_text(encoding="utf-8"))
    document_id = package["CFDocument"]["identifier"]
    expected_children, expected_top = set(), set()
    for association in package["CFAssociations"]:
        child = iri("case", association["originNodeURI"]["identifier"])
        parent_id = association["destinationNodeURI"]["identifier"]
        if parent_id == document_id:
            expected_top.add(child)
        else:
            expected_children.add((child, iri("case", parent_id)))
    document = case_outcomes[ACT].document

    up = select(document, "SELECT ?c ?p WHERE { ?c ceasn:isChildOf ?p }")
    down = select(document, "SELECT ?c ?p WHERE { ?p ceasn:hasChild ?c }")
    top = select(document, "SELECT ?c WHERE { ?f ceasn:hasTopChild ?c . ?c ceasn:isTopChildOf ?f }")
    assert {(row["c"], row["p"]) for row in up} == expected_children
    assert {(row["c"], row["p"]) for row in down} == expected_children
    assert {row["c"] for row in top} == expected_top


def test_act_ordering_is_natural(case_outcomes: dict[str, Outcome]) -> None:
    """The file lists L1.1, L1.10, L1.11 ...; listID orders them L1.1, L1.2 ... L1.24."""
    document = case_outcomes[ACT].document
    rows = select(
        document,
        """SELECT ?code ?list WHERE {
             ?parent ceasn:codedNotation "H.A.MATH.GM.PF.2DFP.L1" ; ceasn:hasChild ?c .
             ?c ceasn:codedNotation ?code ; ceasn:listID ?list }""",
    )
    assert len(rows) == 24
    for row in rows:
        assert row["list"] == row["code"].rsplit(".", 1)[1], row


def test_act_item_fields(case_outcomes: dict[str, Outcome]) -> None:
    document = case_outcomes[ACT].document
    rows = select(
        document,
        """SELECT ?text ?label WHERE { ?c ceasn:codedNotation "H.A.MATH.GM.PF" ;
             ceasn:competencyText ?text ; ceasn:competencyLabel ?label }""",
    )
    comments = select(document, "SELECT ?c WHERE { ?c ceasn:comment ?note }")
    assert rows == [
        {
            "text": "Understanding properties of and relationships among shapes that are "
            "contained in a plane",
            "label": "Plane Figures",
        }
    ]
    assert len(comments) == 11


def test_act_garbled_character_reported(case_outcomes: dict[str, Outcome]) -> None:
    document = case_outcomes[ACT].document
    assert warning_at(document, "$.CFItems[0].fullStatement", "two?- and three")


def test_sequence_number_orders_siblings(case_outcomes: dict[str, Outcome]) -> None:
    document = case_outcomes["opensalt-SequenceNumberFramework.json"].document
    rows = select(
        document, "SELECT ?code ?list WHERE { ?c ceasn:codedNotation ?code ; ceasn:listID ?list }"
    )
    assert {row["code"]: row["list"] for row in rows} == {"SNT.2": "1", "SNT.1": "2"}


def test_item_type_and_status(case_outcomes: dict[str, Outcome]) -> None:
    item_type = case_outcomes["opensalt-ItemTypeTestFramework.json"].document
    adopted = case_outcomes["opensalt-AdoptedTestFramework.json"].document
    categories = select(item_type, "SELECT ?v WHERE { ?c ceasn:competencyCategory ?v }")
    status = select(adopted, "SELECT ?v WHERE { ?f ceasn:publicationStatusType ?v }")
    assert categories == [{"v": "Standard"}]
    assert status == [{"v": "http://purl.org/ctdlasn/vocabs/publicationStatus/Published"}]


def test_utf8_title_kept(case_outcomes: dict[str, Outcome]) -> None:
    document = case_outcomes["opensalt-Utf8TestFramework.json"].document
    names = select(document, "SELECT ?n WHERE { ?f ceasn:name ?n }")
    assert names == [{"n": "UTF8 \U0001d451 Test"}]


def test_reused_document_identifier_reported(case_outcomes: dict[str, Outcome]) -> None:
    """Five OpenSALT test files share one CFDocument UUID; later ones warn that they replace it."""
    names = [
        "opensalt-ItemTypeTestFramework.json",
        "opensalt-MarkdownFramework.json",
        "opensalt-SequenceNumberFramework.json",
        "opensalt-Utf8TestFramework.json",
    ]
    for name in names:
        document = case_outcomes[name].document
        assert warning_at(document, "$.CFDocument.identifier", "replaces it in the store")


def test_ela_spreadsheet_hierarchy(case_outcomes: dict[str, Outcome]) -> None:
    document = case_outcomes[ELA_CSV].document
    members = select(document, "SELECT ?c WHERE { ?c a ceasn:Competency }")
    top = select(document, "SELECT ?c WHERE { ?f ceasn:hasTopChild ?c }")
    placed = select(
        document,
        """SELECT ?c WHERE { ?c a ceasn:Competency .
             FILTER EXISTS { { ?c ceasn:isChildOf ?p } UNION { ?c ceasn:isTopChildOf ?f } } }""",
    )
    assert len(members) == 1189
    assert len(top) == 12
    assert len(placed) == 1189


def test_ela_spreadsheet_child_of_smart_level(case_outcomes: dict[str, Outcome]) -> None:
    """Row L.1.4 (smartLevel 3.6.2.1) is a child of the row with smartLevel 3.6.2."""
    with (CASE / ELA_CSV).open(encoding="utf-8", newline="") as handle:
        rows = {row["smartLevel"]: row for row in csv.DictReader(handle)}
    parent = iri("case", rows["3.6.2"]["identifier"])
    child = iri("case", rows["3.6.2.1"]["identifier"])
    document = case_outcomes[ELA_CSV].document
    links = select(document, f"SELECT ?p WHERE {{ <{child}> ceasn:isChildOf ?p }}")
    levels = select(document, f"SELECT ?l WHERE {{ <{child}> ceasn:educationLevelType ?l }}")
    assert links == [{"p": parent}]
    assert levels == [{"l": "https://purl.org/ctdl/vocabs/audLevel/Primary"}]


def test_ela_spreadsheet_garbled_text_reported(case_outcomes: dict[str, Outcome]) -> None:
    """Every non-ASCII character in this file is Mac Roman text read as Latin-1."""
    expected = set()
    lines = (CASE / ELA_CSV).read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([lines[0]]))
    for number, line in enumerate(lines[1:], start=2):
        for column, value in zip(header, next(csv.reader([line])), strict=True):
            if re.search(r"[^\x00-\x7f]", value):
                expected.add(f"line {number}, column {column}")
    document = case_outcomes[ELA_CSV].document
    reported = {w.key for w in document.warnings if "garbled" in w.message}
    assert expected
    assert reported == expected


# CASE: bad input -------------------------------------------------------------------------


def package(items: list[dict], associations: list[dict], **definitions) -> dict:
    document = {
        "identifier": "d1000000-0000-0000-0000-000000000000",
        "title": "Test",
        "creator": "Tester",
    }
    return {
        "CFDocument": document,
        "CFItems": items,
        "CFAssociations": associations,
        "CFDefinitions": definitions,
    }


def item(number: int, **fields) -> dict:
    return {
        "identifier": f"10000000-0000-0000-0000-{number:012d}",
        "fullStatement": f"Item {number}",
        **fields,
    }


def link(kind: str, origin: str | int, destination: str | int, **fields) -> dict:
    def node(value: str | int) -> dict:
        if isinstance(value, int):
            return {"identifier": f"10000000-0000-0000-0000-{value:012d}"}
        return {"identifier": value}

    return {
        "associationType": kind,
        "originNodeURI": node(origin),
        "destinationNodeURI": node(destination),
        **fields,
    }


DOC = "d1000000-0000-0000-0000-000000000000"


def test_case_associations_kept(skills_registry: Registry, tmp_path: Path) -> None:
    """Each association type lands on the end and term ``ASSOCIATION_TERMS`` names."""
    data = package(
        [item(1), item(2), item(3)],
        [
            link("isChildOf", 1, DOC),
            link("isChildOf", 2, 1),
            link("isChildOf", 3, 1),
            link("exactMatchOf", 2, 3),
            link("isRelatedTo", 2, "20000000-0000-0000-0000-000000000009"),
            link("precedes", 2, 3),
            link("isPeerOf", 3, 2),
            link("exemplar", 3, "30000000-0000-0000-0000-000000000001"),
            link("isPartOf", 3, 1, CFAssociationGroupingURI={"title": "Parts", "identifier": "g"}),
        ],
        CFAssociationGroupings=[{"identifier": "g", "title": "Parts"}],
    )

    document = read_one(CaseLoader(skills_registry), write(tmp_path, "p.json", data)).document

    one, two, three = (iri("case", item(n)["identifier"]) for n in (1, 2, 3))
    outside = iri("case", "20000000-0000-0000-0000-000000000009")
    rows = select(
        document,
        """SELECT ?s ?p ?o WHERE { ?s ?p ?o . FILTER(?p IN (ceasn:exactAlignment,
             ceasn:alignTo, ceasn:prerequisiteAlignment, ceasn:majorAlignment,
             ceasn:comprisedOf)) }""",
    )
    found = {(row["s"], row["p"].rsplit("/", 1)[1], row["o"]) for row in rows}
    top = {row["c"] for row in select(document, "SELECT ?c WHERE { ?f ceasn:hasTopChild ?c }")}
    assert found == {
        (two, "exactAlignment", three),
        (two, "alignTo", outside),
        (three, "prerequisiteAlignment", two),
        (three, "majorAlignment", two),
        (one, "comprisedOf", three),
    }
    assert warning_at(document, "$.CFAssociations[8].CFAssociationGroupingURI", "'Parts'")
    assert warning_at(document, "$.CFDefinitions.CFAssociationGroupings[0]", "'Parts'")
    assert warning_at(document, "$.CFAssociations[4]", "not in this package")
    assert warning_at(document, "$.CFAssociations[7].associationType", "'exemplar'")
    assert top == {one}


def test_case_broken_input_reported(skills_registry: Registry, tmp_path: Path) -> None:
    """Missing and repeated identifiers and broken associations are reported; the rest loads."""
    data = package(
        [
            item(1),
            item(1, fullStatement="Again"),
            {"fullStatement": "No identifier"},
            item(2),
            {"identifier": "10000000-0000-0000-0000-000000000005"},
        ],
        [
            link("isChildOf", 1, DOC),
            link("isChildOf", 9, 1),
            link("isChildOf", 2, "40000000-0000-0000-0000-000000000000"),
        ],
    )
    data["CFItems"][3]["fullStatement"] = "Lone \ud835 surrogate"
    data["CFRubrics"] = [{"identifier": "r1", "title": "Rubric"}]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    document = read_one(CaseLoader(skills_registry), path).document

    members = select(document, "SELECT ?c WHERE { ?c a ceasn:Competency }")
    text = select(
        document,
        f"SELECT ?t WHERE {{ <{iri('case', item(2)['identifier'])}> ceasn:competencyText ?t }}",
    )
    assert len(members) == 2
    assert text == [{"t": "Lone \ufffd surrogate"}]
    assert warning_at(document, "$.CFItems[1].identifier", "repeats the CFItem at $.CFItems[0]")
    assert warning_at(document, "$.CFItems[2].identifier", "has no identifier")
    assert warning_at(document, "$.CFItems[3].fullStatement", "lone UTF-16 surrogate")
    assert warning_at(document, "$.CFAssociations[1].originNodeURI", "not a CFItem of this package")
    assert warning_at(document, "$.CFAssociations[2].destinationNodeURI", "neither this package")
    assert warning_at(document, "$.CFItems[3]", "no isChildOf association")
    assert warning_at(document, "$.CFItems[4].fullStatement", "needs its text; skipped")
    assert warning_at(document, "$.CFRubrics", "CFRubrics is not loaded")


def test_case_malformed_json_fails(skills_registry: Registry, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", '{"CFDocument": {"identifier": "x",}\n}')
    outcome = read_one(CaseLoader(skills_registry), path)
    assert outcome.status == "failed"
    assert "line 1, column 35" in outcome.error


def test_case_missing_document_identifier_fails(skills_registry: Registry, tmp_path: Path) -> None:
    data = package([item(1)], [])
    del data["CFDocument"]["identifier"]
    outcome = read_one(CaseLoader(skills_registry), write(tmp_path, "p.json", data))
    assert outcome.status == "failed"
    assert "$.CFDocument.identifier is missing" in outcome.error


def test_case_not_utf8_read_with_warning(skills_registry: Registry, tmp_path: Path) -> None:
    data = json.dumps(package([item(1, fullStatement="Caf\u00e9")], [link("isChildOf", 1, DOC)]))
    path = tmp_path / "latin.json"
    path.write_bytes(data.replace("\\u00e9", "\u00e9").encode("cp1252"))
    document = read_one(CaseLoader(skills_registry), path).document
    texts = select(document, "SELECT ?t WHERE { ?c ceasn:competencyText ?t }")
    assert texts == [{"t": "Caf\u00e9"}]
    assert warning_at(document, "line 1", "not UTF-8")


def test_case_same_file_same_ctids(skills_registry: Registry) -> None:
    first = read_one(CaseLoader(skills_registry), CASE / ACT).document
    second = read_one(CaseLoader(skills_registry), CASE / ACT).document
    assert first.ctid == second.ctid
    assert first.member_ctids == second.member_ctids
    assert len(first.member_ctids) == 28


# OSMT ------------------------------------------------------------------------------------


def test_osmt_real_files_load_or_skip(osmt_outcomes: dict[str, Outcome]) -> None:
    status = {name: outcome.status for name, outcome in osmt_outcomes.items()}
    assert status == {
        "MANIFEST.md": "skipped",
        "Skills-Import.csv": "warned",
        "categories-v3.json": "skipped",
        "collection-v3.json": "warned",
        "osmt-batch-import-example.csv": "skipped",
        "rsd-v3-skill.json": "warned",
        "search-jobcodes-v3.json": "skipped",
        "skill-audit-log-v3.json": "skipped",
        "skills-list-v3.json": "warned",
    }
    assert "template" in osmt_outcomes["osmt-batch-import-example.csv"].skipped


def test_osmt_documents_pass_validation(osmt_outcomes: dict[str, Outcome], validator) -> None:
    for name, outcome in osmt_outcomes.items():
        if outcome.document is not None:
            report = validator.validate(outcome.document)
            assert report.violation_count == 0, (name, report.to_dict()["results"][:3])


def test_osmt_single_skill(osmt_outcomes: dict[str, Outcome]) -> None:
    document = osmt_outcomes["rsd-v3-skill.json"].document
    skill = iri("osmt", "http://localhost:8080/api/skills/c9d819b3-de84-401e-808a-ddcbfbdd4953")
    rows = select(
        document,
        f"""SELECT ?text ?label ?align ?creator WHERE {{ <{skill}> ceasn:competencyText ?text ;
             ceasn:competencyLabel ?label ; ceasn:alignTo ?align ; ceasn:creator ?creator }}""",
    )
    assert rows == [
        {
            "text": "Standardize levels of access and security to maintain information security.",
            "label": "Access and Security Levels Standardization",
            "align": "https://skills.emsidata.com/skills/KS1254M6N7QPZ96MGR0L",
            "creator": RESOURCES + "ce-036d082d-d80e-41a7-99a0-2d63a4ad3a4a",
        }
    ]
    assert warning_at(document, "$.standards[0]", "'NICE_SP_RSK'")


def test_osmt_occupation_alignments(osmt_outcomes: dict[str, Outcome]) -> None:
    document = osmt_outcomes["rsd-v3-skill.json"].document
    rows = select(
        document,
        """SELECT ?code ?node ?framework WHERE { ?c ceterms:occupationType ?a .
             ?a a ceterms:CredentialAlignmentObject ; ceterms:codedNotation ?code ;
                ceterms:targetNode ?node ; ceterms:framework ?framework }""",
    )
    codes = {row["code"] for row in rows}
    assert codes == {"15-0000", "15-1200", "15-1240", "15-1244", "15-1250", "15-1259"}
    for row in rows:
        assert row["node"] == iri("soc2018", row["code"])
        assert row["framework"] == "https://www.bls.gov/soc/2018/"


def test_osmt_onet_codes_in_skill_list(osmt_outcomes: dict[str, Outcome]) -> None:
    document = osmt_outcomes["skills-list-v3.json"].document
    onet = select(
        document,
        """SELECT ?node ?name WHERE { ?c ceterms:occupationType ?a .
             ?a ceterms:codedNotation "29-2072.00" ; ceterms:targetNode ?node ;
                ceterms:frameworkName ?name }""",
    )
    unnamed_framework = select(
        document, 'SELECT ?c WHERE { ?c ceterms:occupationType/ceterms:codedNotation "21-1018" }'
    )
    members = select(document, "SELECT ?c WHERE { ?c a ceasn:Competency }")
    assert onet == [{"node": iri("onet-soc2019", "29-2072.00"), "name": "O*NET-SOC 2019"}]
    assert unnamed_framework
    assert len(members) == 50


def test_osmt_collection_framework(osmt_outcomes: dict[str, Outcome]) -> None:
    document = osmt_outcomes["collection-v3.json"].document
    framework = iri(
        "osmt", "http://localhost:8080/api/collections/42d882da-aec3-4e0d-9582-c8559912a9c6"
    )
    names = select(document, f"SELECT ?n WHERE {{ <{framework}> ceasn:name ?n }}")
    members = select(document, f"SELECT ?c WHERE {{ ?c ceasn:isPartOf <{framework}> }}")
    assert document.ctid == framework.removeprefix(RESOURCES)
    assert names == [{"n": "IT Network"}]
    assert len(members) == 24


def test_osmt_import_csv(osmt_outcomes: dict[str, Outcome]) -> None:
    """Each row's BLS codes, from all four occupation columns, become its alignments."""
    columns = [
        "BLS Major Group",
        "BLS Minor Group",
        "BLS Broad Occupation",
        "BLS Detailed Occupation",
    ]
    with (OSMT / "Skills-Import.csv").open(encoding="utf-8", newline="") as handle:
        expected = {
            row["Skill Name"]: {code.strip() for c in columns for code in row[c].split(";")}
            for row in csv.DictReader(handle)
        }
    document = osmt_outcomes["Skills-Import.csv"].document
    rows = select(
        document,
        """SELECT ?label ?code WHERE { ?c ceasn:competencyLabel ?label ;
             ceasn:alignTo <https://skills.emsidata.com/skills/KS1200B62W5ZF38RJ7TD> ;
             ceterms:occupationType/ceterms:codedNotation ?code }""",
    )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["label"], set()).add(row["code"])
    assert found == expected
    assert len(found["Data and Data Store Access"]) == 12


def test_osmt_bad_input_reported(skills_registry: Registry, tmp_path: Path) -> None:
    skill = {"skillName": "A", "skillStatement": "Do A.", "occupations": []}
    data = [
        {
            **skill,
            "id": "http://osmt.test/api/skills/1",
            "occupations": [{"code": "15-12"}, {"code": "29-2072.00", "framework": "bls"}],
        },
        {**skill, "id": "http://osmt.test/api/skills/1"},
        {**skill},
        {**skill, "id": "http://osmt.test/api/skills/2", "skillStatement": " "},
    ]
    document = read_one(OsmtLoader(skills_registry), write(tmp_path, "list.json", data)).document
    members = select(document, "SELECT ?c WHERE { ?c a ceasn:Competency }")
    codes = select(
        document, "SELECT ?code WHERE { ?c ceterms:occupationType/ceterms:codedNotation ?code }"
    )
    assert len(members) == 1
    assert codes == [{"code": "29-2072.00"}]
    assert warning_at(document, "$[0].occupations[0].code", "'15-12' is neither")
    assert warning_at(document, "$[0].occupations[1].framework", "does not match")
    assert warning_at(document, "$[1].id", "repeats the skill at $[0]")
    assert warning_at(document, "$[2].id", "has no id")
    assert warning_at(document, "$[3].skillStatement", "needs its text; skipped")


def test_osmt_csv_warnings_name_columns(skills_registry: Registry, tmp_path: Path) -> None:
    text = (
        "Skill Name,Contextualized Skill Statement,BLS Detailed Occupation,Alignment,Extra\n"
        "A,Do A.,15-1251; 15-12,https://example.org/skills/a,x\n"
    )
    document = read_one(OsmtLoader(skills_registry), write(tmp_path, "skills.csv", text)).document
    codes = select(
        document, "SELECT ?code WHERE { ?c ceterms:occupationType/ceterms:codedNotation ?code }"
    )
    assert codes == [{"code": "15-1251"}]
    assert warning_at(document, "line 2, column BLS Detailed Occupation", "'15-12' is neither")
    assert warning_at(document, "line 2", "column 'Extra' is not an OSMT import column")


def test_osmt_malformed_json_fails(skills_registry: Registry, tmp_path: Path) -> None:
    outcome = read_one(OsmtLoader(skills_registry), write(tmp_path, "bad.json", "[{]"))
    assert outcome.status == "failed"
    assert "line 1, column 3" in outcome.error


def test_osmt_same_file_same_ctids(skills_registry: Registry) -> None:
    first = read_one(OsmtLoader(skills_registry), OSMT / "collection-v3.json").document
    second = read_one(OsmtLoader(skills_registry), OSMT / "collection-v3.json").document
    assert first.ctid == second.ctid
    assert first.member_ctids == second.member_ctids


# The command line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "path", "competencies", "code"),
    [("case", CASE / ACT, 28, None), ("osmt", OSMT / "collection-v3.json", 24, "15-1244")],
)
def test_cli_load_stores_framework(
    fmt: str,
    path: Path,
    competencies: int,
    code: str | None,
    vocab_dir: Path,
    validator,
    tmp_path: Path,
    capsys,
    monkeypatch,
) -> None:
    """``registry load --format`` validates and stores the framework and its competencies."""
    monkeypatch.setattr("registry.validation.Validator", lambda cache: validator)
    store = tmp_path / "store"
    arguments = ["load", "--format", fmt, str(path), "--store", str(store)]

    exit_code = main([*arguments, "--vocab-cache", str(vocab_dir)])

    output = capsys.readouterr().out
    assert exit_code == 0, output
    settings = Settings(vocab_cache=vocab_dir, store=store, base_url="http://registry.test")
    registry = Registry(settings)
    try:
        stored = count(registry, "GRAPH ?g { ?c a ceasn:Competency }")
        aligned = count(
            registry, f'GRAPH ?g {{ ?c ceterms:occupationType/ceterms:codedNotation "{code}" }}'
        )
    finally:
        registry.close()
    assert stored == competencies
    assert (aligned > 0) == (code is not None)


def count(registry: Registry, pattern: str) -> int:
    """Count the distinct ``?c`` that match a pattern in the registry's store."""
    query = f"{PREFIXES} SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ {pattern} }}"
    rows = list(registry.store.query(query))
    return int(rows[0]["n"].value)
