"""The SOC, O*NET and ESCO loaders on the real files, through the loader classes and the CLI.

The loader classes read the whole real files once per module. The CLI
validates every document before storing it, so it reads slices of the real
files to keep that within a few seconds: the SOC 2018 and O*NET-SOC rows of
major groups 13, 15 and 29, and the ESCO ICT occupations. Bad input is
written to small CSV files under ``tmp_path``.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import SHARED_DATA, require_shared
from rdf_oracle import canonical

from loaders import Outcome, occupations_common
from loaders.esco import ESSENTIAL, OPTIONAL, EscoLoader, esco_ctid, framework_ctid
from loaders.occupations_common import resource_iri
from loaders.onet import OnetLoader, onet_ctid, onet_iri
from loaders.soc import SocLoader, soc_ctid
from registry.cli import main
from registry.config import Settings
from registry.service import Registry
from registry.vocab import CTDL_CONTEXT_URL, CTDLASN_CONTEXT_URL

OCCUPATION_DATA = SHARED_DATA / "occupations"
SOC_FILE = OCCUPATION_DATA / "osmt-BLS-Import-SOC2018.csv"
ONET_FILE = OCCUPATION_DATA / "osmt-oNet-Import-ONETSOC.csv"
CROSSWALK = OCCUPATION_DATA / "nesta-esco_onet_crosswalk_Nov2020.csv"
ESCO_FOLDER = SHARED_DATA / "esco" / "v1.1.1"
ESCO_RELATIONS = ESCO_FOLDER / "subset-ict_occupationSkillRelations.csv"
ESCO_SKILLS = ESCO_FOLDER / "subset-ict_skills_en.csv"

SOFTWARE_DEVELOPER = "http://data.europa.eu/esco/occupation/f2b15a0e-e65a-438a-affb-29b9d50b77d1"
GREEN_ICT_CONSULTANT = "http://data.europa.eu/esco/occupation/22987b58-dbfa-4ecd-ae3f-82dd209255f6"
MISSING_FROM_V111 = "http://data.europa.eu/esco/occupation/98562ce3-9632-4226-b129-c67eb9c54f0f"
EMPTY_TYPE_SKILL = "http://data.europa.eu/esco/skill/c13fb093-5ffb-491a-b8b7-fa2d42a57e2e"

PREFIXES = """
PREFIX ceterms: <https://purl.org/ctdl/terms/>
PREFIX ceasn: <https://purl.org/ctdlasn/terms/>
"""
BASE_URL = "http://registry.test"


# --- Helpers and fixtures ----------------------------------------------------------


def require_occupation_data() -> None:
    require_shared()
    if not (SOC_FILE.is_file() and ESCO_FOLDER.is_dir()):
        pytest.skip(f"occupation data not found under {SHARED_DATA}")


def run_loader(loader_class: type, registry: Registry, paths: list[Path]) -> list[Outcome]:
    """Run a loader class the way `registry load` does, without storing anything."""
    loader = loader_class(registry)
    return [outcome for path in loader.discover(paths) for outcome in loader.read(path)]


def graph_of(outcomes: list[Outcome]) -> ox.Store:
    """Put the statements of every loaded document into one in-memory store."""
    store = ox.Store()
    for outcome in outcomes:
        if outcome.document is not None:
            store.extend(ox.Quad(*t, ox.DefaultGraph()) for t in outcome.document.triples)
    return store


def select(store: ox.Store, query: str, **options) -> list[dict[str, str | None]]:
    """Run a SPARQL SELECT query and return each solution as a dict of strings."""
    results = store.query(PREFIXES + query, **options)
    names = [variable.value for variable in results.variables]
    return [
        {name: (solution[name].value if solution[name] is not None else None) for name in names}
        for solution in results
    ]


def values(store: ox.Store, query: str, **options) -> set[str]:
    """Return the values of the only variable of a SELECT query."""
    return {next(iter(row.values())) for row in select(store, query, **options)}


def by_status(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    grouped: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        grouped.setdefault(outcome.status, []).append(outcome)
    return grouped


def errors_by_line(outcomes: list[Outcome], path: Path) -> dict[int, str]:
    """Map line numbers of ``path`` to the errors reported there."""
    prefix = f"{path}:"
    return {
        int(o.source.removeprefix(prefix)): o.error
        for o in outcomes
        if o.error and o.source.startswith(prefix)
    }


def document_for(outcomes: list[Outcome], ctid: str):
    return next(o.document for o in outcomes if o.document is not None and o.document.ctid == ctid)


@pytest.fixture(scope="module")
def parser(vocab_dir: Path) -> Iterator[Registry]:
    """A registry whose only use here is parsing: loaders never write to the store."""
    instance = Registry(Settings(vocab_cache=vocab_dir, base_url=BASE_URL))
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def soc_outcomes(parser: Registry) -> list[Outcome]:
    require_occupation_data()
    return run_loader(SocLoader, parser, [SOC_FILE])


@pytest.fixture(scope="module")
def onet_outcomes(parser: Registry) -> list[Outcome]:
    require_occupation_data()
    return run_loader(OnetLoader, parser, [ONET_FILE])


@pytest.fixture(scope="module")
def esco_outcomes(parser: Registry) -> list[Outcome]:
    require_occupation_data()
    return run_loader(EscoLoader, parser, [ESCO_FOLDER, CROSSWALK])


@pytest.fixture(scope="module")
def soc_graph(soc_outcomes: list[Outcome]) -> ox.Store:
    return graph_of(soc_outcomes)


@pytest.fixture(scope="module")
def esco_graph(esco_outcomes: list[Outcome]) -> ox.Store:
    return graph_of(esco_outcomes)


# --- SOC 2018 ---------------------------------------------------------------------


def test_soc_loads_every_row(soc_outcomes, soc_graph):
    statuses = by_status(soc_outcomes)
    assert set(statuses) == {"loaded"}
    assert len(statuses["loaded"]) == 1447
    occupations = values(soc_graph, "SELECT ?o WHERE { ?o a ceterms:Occupation }")
    assert len(occupations) == 1447


def test_soc_only_major_groups_lack_parent(soc_graph):
    tops = values(
        soc_graph,
        """SELECT ?code WHERE {
            ?o a ceterms:Occupation ; ceterms:occupationType/ceterms:codedNotation ?code .
            FILTER NOT EXISTS { ?o ceterms:isSpecializationOf ?parent }
        }""",
    )
    assert len(tops) == 23
    assert all(code.endswith("-0000") for code in tops)


def test_soc_hierarchy_of_registered_nurses(soc_graph):
    chain = select(
        soc_graph,
        f"""SELECT ?broad ?minor ?major WHERE {{
            <{resource_iri(soc_ctid("29-1141"))}> ceterms:isSpecializationOf ?b .
            ?b ceterms:occupationType/ceterms:codedNotation ?broad ;
               ceterms:isSpecializationOf ?m .
            ?m ceterms:occupationType/ceterms:codedNotation ?minor ;
               ceterms:isSpecializationOf ?j .
            ?j ceterms:occupationType/ceterms:codedNotation ?major .
        }}""",
    )
    assert chain == [{"broad": "29-1140", "minor": "29-1000", "major": "29-0000"}]


def test_soc_parents_list_children(soc_graph):
    one_way = select(
        soc_graph,
        """SELECT ?child ?parent WHERE {
            ?child ceterms:isSpecializationOf ?parent .
            FILTER NOT EXISTS { ?parent ceterms:hasSpecialization ?child }
        }""",
    )
    assert one_way == []


def test_soc_physicians_follow_file_order(soc_graph):
    """29-1221 to 29-1229 belong to broad group 29-1210, which their codes do not show."""
    parents = values(
        soc_graph,
        f"""SELECT ?code WHERE {{
            <{resource_iri(soc_ctid("29-1221"))}> ceterms:isSpecializationOf
                / ceterms:occupationType / ceterms:codedNotation ?code .
        }}""",
    )
    assert parents == {"29-1210"}


def test_soc_group_description_from_title(soc_graph):
    descriptions = select(
        soc_graph,
        f"""SELECT ?text (LANG(?text) AS ?language) WHERE {{
            <{resource_iri(soc_ctid("29-1000"))}> ceterms:description ?text .
        }}""",
    )
    assert descriptions == [
        {
            "text": "Minor group 29-1000 of the 2018 Standard Occupational Classification "
            "(SOC): Healthcare Diagnosing or Treating Practitioners.",
            "language": "en",
        }
    ]


# --- O*NET-SOC 2019 ---------------------------------------------------------------


def test_onet_loads_every_row(onet_outcomes):
    statuses = by_status(onet_outcomes)
    assert set(statuses) == {"loaded"}
    assert len(statuses["loaded"]) == 1016


def test_onet_specializes_soc_detailed(onet_outcomes):
    graph = graph_of(onet_outcomes)
    parents = values(
        graph,
        f"""SELECT ?parent WHERE {{
            <{onet_iri("29-1141.01")}> ceterms:isSpecializationOf ?parent .
        }}""",
    )
    assert parents == {resource_iri(soc_ctid("29-1141"))}


def test_onet_parents_are_soc_documents(onet_outcomes, soc_graph):
    parents = values(
        graph_of(onet_outcomes), "SELECT DISTINCT ?p WHERE { ?o ceterms:isSpecializationOf ?p }"
    )
    detailed = values(
        soc_graph,
        """SELECT ?o WHERE {
            ?o a ceterms:Occupation .
            FILTER NOT EXISTS { ?o ceterms:hasSpecialization ?child }
        }""",
    )
    assert len(parents) == 867
    assert parents <= detailed


# --- ESCO -------------------------------------------------------------------------


def test_esco_loads_occupations_and_framework(esco_outcomes, esco_graph):
    statuses = by_status(esco_outcomes)
    assert set(statuses) == {"loaded", "warned", "skipped"}
    assert len(statuses["loaded"]) + len(statuses["warned"]) == 3008
    occupations = values(esco_graph, "SELECT ?o WHERE { ?o a ceterms:Occupation }")
    competencies = values(
        esco_graph,
        f"""SELECT ?c WHERE {{
            ?c a ceasn:Competency ;
               ceasn:isPartOf <{resource_iri(framework_ctid("v1.1.1"))}> .
        }}""",
    )
    assert len(occupations) == 3007
    assert len(competencies) == 1015


def test_esco_relations_of_software_developer(esco_graph):
    """Every relation row of the real file is an alignment of the right type."""
    expected = _relations_from_csv(SOFTWARE_DEVELOPER)
    found = select(
        esco_graph,
        f"""SELECT ?skill ?type WHERE {{
            <{resource_iri(esco_ctid(SOFTWARE_DEVELOPER))}> ceterms:targetCompetency ?a .
            ?a ceterms:targetNode ?skill ; ceterms:alignmentType ?type .
        }}""",
    )
    assert len(found) == 104
    assert {(row["skill"], row["type"]) for row in found} == {
        (resource_iri(esco_ctid(skill)), ESSENTIAL if kind == "essential" else OPTIONAL)
        for skill, kind, _ in expected
    }


def test_esco_essential_skills_embodied(esco_graph):
    expected = _relations_from_csv(SOFTWARE_DEVELOPER)
    subject = f"<{resource_iri(esco_ctid(SOFTWARE_DEVELOPER))}>"
    for term, skill_type in (("knowledgeEmbodied", "knowledge"), ("skillEmbodied", "skill")):
        found = values(esco_graph, f"SELECT ?c WHERE {{ {subject} ceasn:{term} ?c }}")
        assert found == {
            resource_iri(esco_ctid(skill))
            for skill, kind, found_type in expected
            if kind == "essential" and found_type.startswith(skill_type)
        }, term


def _relations_from_csv(occupation: str) -> list[tuple[str, str, str]]:
    with ESCO_RELATIONS.open(encoding="utf-8", newline="") as handle:
        return [
            (row["skillUri"], row["relationType"], row["skillType"])
            for row in csv.DictReader(handle)
            if row["occupationUri"] == occupation
        ]


def test_esco_crosswalk_links_2019_occupation(esco_graph):
    subject = f"<{resource_iri(esco_ctid(GREEN_ICT_CONSULTANT))}>"
    similar = values(esco_graph, f"SELECT ?o WHERE {{ {subject} ceterms:isSimilarTo ?o }}")
    alignments = select(
        esco_graph,
        f"""SELECT ?code ?name WHERE {{
            {subject} ceterms:occupationType ?a .
            ?a ceterms:codedNotation ?code ; ceterms:frameworkName ?name .
            FILTER (STR(?name) = "O*NET-SOC 2010")
        }}""",
    )
    assert similar == {onet_iri("13-1199.05")}
    assert alignments == [{"code": "13-1199.05", "name": "O*NET-SOC 2010"}]


def test_esco_crosswalk_2010_only_code(esco_graph):
    """Software developer maps to 15-1131.00, an O*NET-SOC 2010 code that 2019 dropped."""
    subject = f"<{resource_iri(esco_ctid(SOFTWARE_DEVELOPER))}>"
    similar = values(esco_graph, f"SELECT ?o WHERE {{ {subject} ceterms:isSimilarTo ?o }}")
    codes = values(
        esco_graph,
        f"SELECT ?code WHERE {{ {subject} ceterms:occupationType/ceterms:codedNotation ?code }}",
    )
    assert similar == set()
    assert codes == {"2512.4", "2512", "15-1131.00"}


def test_esco_similarity_count_matches_crosswalk(esco_graph):
    with ONET_FILE.open(encoding="utf-8", newline="") as handle:
        codes_2019 = {row["O*NET-SOC Code"] for row in csv.DictReader(handle)}
    with CROSSWALK.open(encoding="utf-8", newline="") as handle:
        expected = {
            row["concept_uri"]
            for row in csv.DictReader(handle)
            if row["onet_code"] in codes_2019 and row["concept_uri"] != MISSING_FROM_V111
        }
    linked = values(esco_graph, "SELECT DISTINCT ?o WHERE { ?o ceterms:isSimilarTo ?x }")
    assert linked == {resource_iri(esco_ctid(uri)) for uri in expected}


def test_esco_real_data_quirks_reported(esco_outcomes):
    skipped = [o for o in esco_outcomes if o.skipped]
    warned = {o.source: o.document.warnings for o in esco_outcomes if o.status == "warned"}
    framework_source = str(ESCO_SKILLS)
    assert [o.source for o in skipped] == [f"{CROSSWALK}:1234"]
    assert MISSING_FROM_V111 in skipped[0].skipped
    assert len(warned) == 6
    assert [w.source for w in warned[framework_source]] == [f"{ESCO_SKILLS}:4943"]
    relation_lines = sorted(
        int(warning.source.removeprefix(f"{ESCO_RELATIONS}:"))
        for source, found in warned.items()
        if source != framework_source
        for warning in found
    )
    assert relation_lines == [23, 1153, 1396, 2638, 3644]


def test_esco_empty_type_essential_not_embodied(esco_graph):
    found = select(
        esco_graph,
        f"""SELECT ?o ?term WHERE {{
            VALUES ?term {{ ceasn:skillEmbodied ceasn:knowledgeEmbodied }}
            ?o ?term <{resource_iri(esco_ctid(EMPTY_TYPE_SKILL))}> .
        }}""",
    )
    assert found == []
    aligned = values(
        esco_graph,
        f"""SELECT ?type WHERE {{
            ?o ceterms:targetCompetency ?a .
            ?a ceterms:targetNode <{resource_iri(esco_ctid(EMPTY_TYPE_SKILL))}> ;
               ceterms:alignmentType ?type .
        }}""",
    )
    assert aligned == {ESSENTIAL, OPTIONAL}


# --- Validation and identifiers ---------------------------------------------------


SAMPLE_CTIDS = {
    "soc": [soc_ctid(code) for code in ("29-0000", "29-1000", "29-1140", "29-1141", "29-1221")],
    "onet": [onet_ctid(code) for code in ("29-1141.01", "15-1252.00", "11-1011.00")],
    "esco": [
        esco_ctid(uri)
        for uri in (
            SOFTWARE_DEVELOPER,
            GREEN_ICT_CONSULTANT,
            "http://data.europa.eu/esco/occupation/00030d09-2b3a-4efd-87cc-c4ea39d27c34",
        )
    ],
}


@pytest.mark.parametrize("kind", sorted(SAMPLE_CTIDS))
def test_sample_documents_validate(kind, request, validator):
    outcomes = request.getfixturevalue(f"{kind}_outcomes")
    for ctid in SAMPLE_CTIDS[kind]:
        report = validator.validate(document_for(outcomes, ctid))
        violations = [r.message for r in report.results if r.severity == "Violation"]
        assert violations == [], ctid


def test_same_file_twice_same_ctids(parser, soc_outcomes, onet_outcomes):
    for loader_class, path, first in (
        (SocLoader, SOC_FILE, soc_outcomes),
        (OnetLoader, ONET_FILE, onet_outcomes),
    ):
        second = run_loader(loader_class, parser, [path])
        assert [(o.source, o.document.ctid) for o in second] == [
            (o.source, o.document.ctid) for o in first
        ]


def _loader_runs(parser: Registry, tmp_path: Path) -> list[Outcome]:
    """Run the three loaders on small files that use every term the loaders write."""
    folder = _bad_esco_folder(tmp_path)
    soc = _write(
        tmp_path / "soc.csv",
        [SOC_HEADER, "Broad,29-1140,Registered Nurses,", "Detailed,29-1141,Nurses,Care."],
    )
    return [
        *run_loader(SocLoader, parser, [soc]),
        *run_loader(OnetLoader, parser, [tmp_path / "onet.csv"]),
        *run_loader(EscoLoader, parser, [folder, tmp_path / "crosswalk.csv"]),
    ]


def test_documents_same_with_full_ctdl_context(parser, tmp_path, monkeypatch):
    """The loaders' small context gives the statements the pinned CTDL contexts give."""
    short = _loader_runs(parser, tmp_path / "short")
    monkeypatch.setattr(occupations_common, "CONTEXT", [CTDL_CONTEXT_URL, CTDLASN_CONTEXT_URL])
    full = _loader_runs(parser, tmp_path / "full")
    pairs = [(a.document, b.document) for a, b in zip(short, full, strict=True) if a.document]
    assert len(pairs) == 7
    for first, second in pairs:
        assert first.ctid == second.ctid
        assert canonical(first.triples) == canonical(second.triples), first.ctid


# --- Bad input --------------------------------------------------------------------


def _write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\n".join(lines).encode(encoding) + b"\n")
    return path


SOC_HEADER = "SOC Group,SOC Code,SOC Title,SOC Definition"


def test_soc_bad_rows_reported(parser, tmp_path):
    path = tmp_path / "soc.csv"
    _write(
        path,
        [
            SOC_HEADER,
            "Major,29-0000,Healthcare Practitioners and Technical Occupations,",
            "Minor,29-1000,Healthcare Diagnosing or Treating Practitioners,",
            "Broad,29-1140,Registered Nurses,",
            'Detailed,29-1141,Registered Nurses,"Assess patient health problems and needs."',
            "Detailed,29-1141,Registered Nurses again,Twice.",
            "Detailed,29-114,Short code,Bad code.",
            "Sub,29-1142,Unknown level,Bad level.",
            "Detailed,29-1143,Too,many,fields",
            "Major,29-1145,Not a major code,",
            "Detailed,29-1146,,No title.",
        ],
    )
    with path.open("ab") as handle:
        handle.write("Detailed,29-1147,Caf\u00e9 workers,Latin-1.\n".encode("latin-1"))

    outcomes = run_loader(SocLoader, parser, [path])
    errors = errors_by_line(outcomes, path)
    assert sorted(errors) == [6, 7, 8, 9, 10, 11, 12]
    assert "repeats line 5" in errors[6]
    assert "'29-114'" in errors[7]
    assert "'Sub'" in errors[8]
    assert "5 fields but the header has 4" in errors[9]
    assert "does not fit SOC Group 'Major'" in errors[10]
    assert "SOC Title is empty" in errors[11]
    assert "0xE9" in errors[12]
    loaded = [o.document.ctid for o in outcomes if o.document]
    assert loaded == [soc_ctid(c) for c in ("29-0000", "29-1000", "29-1140", "29-1141")]


def test_soc_orphan_loads_with_warning(parser, tmp_path):
    path = _write(tmp_path / "soc.csv", [SOC_HEADER, "Detailed,29-1141,Registered Nurses,Care."])
    (outcome,) = run_loader(SocLoader, parser, [path])
    assert outcome.status == "warned"
    assert [w.key for w in outcome.document.warnings] == ["SOC Code"]


def test_onet_bad_rows_reported(parser, tmp_path):
    path = _write(
        tmp_path / "onet.csv",
        [
            "O*NET-SOC Code,Title,Description",
            "29-1141.01,Acute Care Nurses,Provide advanced nursing care.",
            "29-1141.1,Short code,Bad.",
            "29-1140.00,Group code,Bad.",
            "29-1141.01,Acute Care Nurses,Twice.",
            '29-1141.02,"Advanced Practice Psychiatric Nurses,Unclosed quote',
        ],
    )
    outcomes = run_loader(OnetLoader, parser, [path])
    errors = errors_by_line(outcomes, path)
    assert sorted(errors) == [3, 4, 5, 6]
    assert "'29-1141.1'" in errors[3]
    assert "SOC group code 29-1140" in errors[4]
    assert "repeats line 2" in errors[5]
    assert [o.document.ctid for o in outcomes if o.document] == [onet_ctid("29-1141.01")]


def test_wrong_file_for_format(parser, tmp_path):
    """A file given by name must match, but a CSV found in a folder is skipped if it does not."""
    onet = _write(tmp_path / "onet.csv", ["O*NET-SOC Code,Title,Description", "29-1141.01,A,B"])
    (tmp_path / "folder").mkdir()
    other = _write(tmp_path / "folder" / "notes.csv", ["a,b", "1,2"])
    given = run_loader(SocLoader, parser, [onet])
    found = run_loader(SocLoader, parser, [tmp_path / "folder"])
    assert [(o.source, o.status) for o in given] == [(f"{onet}:1", "failed")]
    assert [(o.source, o.status) for o in found] == [(str(other), "skipped")]


OCCUPATION_A = "http://data.europa.eu/esco/occupation/aaaaaaaa-0000-4000-8000-000000000001"
OCCUPATION_B = "http://data.europa.eu/esco/occupation/bbbbbbbb-0000-4000-8000-000000000002"
OCCUPATION_C = "http://data.europa.eu/esco/occupation/cccccccc-0000-4000-8000-000000000003"
OCCUPATION_D = "http://data.europa.eu/esco/occupation/dddddddd-0000-4000-8000-000000000004"
SKILL_1 = "http://data.europa.eu/esco/skill/11111111-0000-4000-8000-000000000001"
SKILL_2 = "http://data.europa.eu/esco/skill/22222222-0000-4000-8000-000000000002"
SKILL_9 = "http://data.europa.eu/esco/skill/99999999-0000-4000-8000-000000000009"


def _bad_esco_folder(tmp_path: Path) -> Path:
    """Write an ESCO folder, crosswalk and O*NET list with one problem per row."""
    folder = tmp_path / "v0.1"
    folder.mkdir(parents=True)
    _write(
        folder / "occupations_en.csv",
        [
            "conceptType,conceptUri,iscoGroup,preferredLabel,altLabels,description,code",
            f"Occupation,{OCCUPATION_A},2512,software developer,"
            '"coder\nprogrammer",Develops.,2512.4',
            "Occupation,http://example.org/occupation/1,2512,wrong URI,,Bad.,2512.9",
            f"Occupation,{OCCUPATION_A},2512,software developer again,,Twice.,2512.4",
            f"Occupation,{OCCUPATION_B},25x,tester,,Tests.,2519.1",
            f"Occupation,{OCCUPATION_D},9999,unknown group,,Works.,9999.1",
        ],
    )
    _write(
        folder / "ISCOGroups_en.csv",
        [
            "conceptType,conceptUri,code,preferredLabel",
            "ISCOGroup,http://data.europa.eu/esco/isco/C2512,2512,Software developers",
        ],
    )
    _write(
        folder / "subset-ict_skills_en.csv",
        [
            "conceptType,conceptUri,skillType,preferredLabel,description",
            f"KnowledgeSkillCompetence,{SKILL_1},knowledge,Python,The language.",
            f"KnowledgeSkillCompetence,{SKILL_2},,cloud security,Secure clouds.",
            "KnowledgeSkillCompetence,skill-3,knowledge,no URI,Bad.",
        ],
    )
    _write(
        folder / "subset-ict_occupationSkillRelations.csv",
        [
            "occupationUri,relationType,skillType,skillUri",
            f"{OCCUPATION_A},essential,knowledge,{SKILL_1}",
            f"{OCCUPATION_A},essential,,{SKILL_2}",
            f"{OCCUPATION_B},required,knowledge,{SKILL_1}",
            f"{OCCUPATION_B},optional,knowledge,{SKILL_9}",
            f"{OCCUPATION_C},optional,knowledge,{SKILL_1}",
            f"{OCCUPATION_A},optional,knowledge,{SKILL_1}",
        ],
    )
    _write(
        tmp_path / "crosswalk.csv",
        [
            "id,esco_occupation,isco_code,onet_code,onet_occupation,concept_uri",
            f"1,software developer,2512,15-1252.00,software developers,{OCCUPATION_A}",
            f"2,tester,2519,15-1199,testers,{OCCUPATION_B}",
            f"3,unknown,2519,15-1199.01,testers,{OCCUPATION_C}",
        ],
    )
    _write(
        tmp_path / "onet.csv",
        ["O*NET-SOC Code,Title,Description", "15-1252.00,Software Developers,Develop."],
    )
    return folder


def test_esco_bad_rows_reported(parser, tmp_path):
    folder = _bad_esco_folder(tmp_path)
    outcomes = run_loader(EscoLoader, parser, [folder, tmp_path / "crosswalk.csv"])

    assert errors_by_line(outcomes, folder / "occupations_en.csv").keys() == {4, 5}
    assert errors_by_line(outcomes, folder / "subset-ict_skills_en.csv").keys() == {4}
    relation_errors = errors_by_line(outcomes, folder / "subset-ict_occupationSkillRelations.csv")
    assert sorted(relation_errors) == [4, 5, 6, 7]
    assert "'required'" in relation_errors[4]
    assert SKILL_9 in relation_errors[5]
    assert OCCUPATION_C in relation_errors[6]
    assert "repeats line 2" in relation_errors[7]
    assert errors_by_line(outcomes, tmp_path / "crosswalk.csv").keys() == {3}
    assert [o.source for o in outcomes if o.skipped] == [f"{tmp_path / 'crosswalk.csv'}:4"]


def test_esco_bad_rows_keep_good_links(parser, tmp_path):
    folder = _bad_esco_folder(tmp_path)
    outcomes = run_loader(EscoLoader, parser, [folder, tmp_path / "crosswalk.csv"])
    graph = graph_of(outcomes)
    subject = f"<{resource_iri(esco_ctid(OCCUPATION_A))}>"

    knowledge = values(graph, f"SELECT ?c WHERE {{ {subject} ceasn:knowledgeEmbodied ?c }}")
    aligned = values(
        graph, f"SELECT ?c WHERE {{ {subject} ceterms:targetCompetency/ceterms:targetNode ?c }}"
    )
    similar = values(graph, f"SELECT ?o WHERE {{ {subject} ceterms:isSimilarTo ?o }}")
    names = values(graph, f"SELECT ?n WHERE {{ {subject} ceterms:alternateName ?n }}")
    assert knowledge == {resource_iri(esco_ctid(SKILL_1))}
    assert aligned == {resource_iri(esco_ctid(SKILL_1)), resource_iri(esco_ctid(SKILL_2))}
    assert similar == {onet_iri("15-1252.00")}
    assert names == {"coder", "programmer"}


def test_esco_bad_rows_warn_on_documents(parser, tmp_path):
    folder = _bad_esco_folder(tmp_path)
    outcomes = run_loader(EscoLoader, parser, [folder, tmp_path / "crosswalk.csv"])
    warnings = {
        o.document.ctid: [(w.source, w.key) for w in o.document.warnings]
        for o in outcomes
        if o.document is not None
    }
    relations = folder / "subset-ict_occupationSkillRelations.csv"
    assert warnings == {
        framework_ctid("v0.1"): [(f"{folder / 'subset-ict_skills_en.csv'}:3", "skillType")],
        esco_ctid(OCCUPATION_A): [(f"{relations}:3", "skillType")],
        esco_ctid(OCCUPATION_B): [(f"{folder / 'occupations_en.csv'}:6", "iscoGroup")],
        esco_ctid(OCCUPATION_D): [(f"{folder / 'occupations_en.csv'}:7", "iscoGroup")],
    }


def test_esco_parent_folder_reads_versions(parser, tmp_path):
    folder = _bad_esco_folder(tmp_path)
    assert EscoLoader(parser).discover([tmp_path]) == [folder]


def test_esco_isco_group_named(parser, tmp_path):
    folder = _bad_esco_folder(tmp_path)
    graph = graph_of(run_loader(EscoLoader, parser, [folder]))
    names = select(
        graph,
        f"""SELECT ?name ?node WHERE {{
            <{resource_iri(esco_ctid(OCCUPATION_A))}> ceterms:occupationType ?a .
            ?a ceterms:codedNotation "2512" ;
               ceterms:targetNodeName ?name ;
               ceterms:targetNode ?node .
        }}""",
    )
    assert names == [
        {"name": "Software developers", "node": "http://data.europa.eu/esco/isco/C2512"}
    ]


def test_esco_crosswalk_alone_is_error(parser, tmp_path):
    _bad_esco_folder(tmp_path)
    outcomes = run_loader(EscoLoader, parser, [tmp_path / "crosswalk.csv"])
    assert [(o.source, o.status) for o in outcomes] == [(str(tmp_path / "crosswalk.csv"), "failed")]


# --- The registry load command ----------------------------------------------------


@contextlib.contextmanager
def _shared_validator(validator) -> Iterator[None]:
    """Let each `registry load` reuse the session's validator instead of building its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("registry.validation.Validator", lambda cache: validator)
        yield


def _load(arguments: list[str], store: Path, vocab_dir: Path) -> tuple[int, str]:
    """Run `registry load` and return its exit code and output."""
    output = io.StringIO()
    command = [
        "load",
        *arguments,
        "--store",
        str(store),
        "--vocab-cache",
        str(vocab_dir),
        "--base-url",
        BASE_URL,
        "--quiet",
    ]
    with contextlib.redirect_stdout(output):
        code = main(command)
    return code, output.getvalue()


def _slice(source: Path, target: Path, column: str, prefixes: tuple[str, ...]) -> tuple[Path, int]:
    """Write the header and the rows of ``source`` whose ``column`` starts with a prefix."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [row for row in reader if row[column].startswith(prefixes)]
        fields = reader.fieldnames
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return target, len(rows)


def _ict_folder(target: Path) -> Path:
    """Make an ESCO folder whose occupations are the real ICT subset (links, not copies)."""
    folder = target / "v1.1.1"
    folder.mkdir()
    (folder / "occupations_en.csv").symlink_to(ESCO_FOLDER / "subset-ict_occupations_en.csv")
    for name in ("ISCOGroups_en.csv", ESCO_SKILLS.name, ESCO_RELATIONS.name):
        (folder / name).symlink_to(ESCO_FOLDER / name)
    return folder


@pytest.fixture(scope="module")
def cli_store_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli") / "store"


@pytest.fixture(scope="module")
def cli_runs(cli_store_path, vocab_dir, validator) -> dict[str, tuple[int, str, int]]:
    """Load SOC, O*NET and ESCO slices with `registry load` into one on-disk store.

    Returns each format's exit code, output and the number of documents expected.
    """
    require_occupation_data()
    work = cli_store_path.parent
    groups = ("13-", "15-", "29-")
    soc, soc_rows = _slice(SOC_FILE, work / "soc.csv", "SOC Code", groups)
    onet, onet_rows = _slice(ONET_FILE, work / "onet.csv", "O*NET-SOC Code", groups)
    folder = _ict_folder(work)
    esco = ["--format", "esco", str(folder), str(CROSSWALK), str(ONET_FILE)]
    with _shared_validator(validator):
        return {
            "soc": (*_load(["--format", "soc", str(soc)], cli_store_path, vocab_dir), soc_rows),
            "onet": (*_load(["--format", "onet", str(onet)], cli_store_path, vocab_dir), onet_rows),
            "esco": (*_load(esco, cli_store_path, vocab_dir), 91 + 1),
        }


@pytest.fixture(scope="module")
def cli_store(cli_runs, cli_store_path, vocab_dir) -> Iterator[Registry]:
    instance = Registry(Settings(vocab_cache=vocab_dir, base_url=BASE_URL, store=cli_store_path))
    yield instance
    instance.close()


@pytest.mark.parametrize("kind", ["soc", "onet", "esco"])
def test_cli_loads_and_validates(kind, cli_runs):
    code, out, expected = cli_runs[kind]
    warned = 6 if kind == "esco" else 0
    assert code == 0, out
    assert (
        out.strip()
        .splitlines()[0]
        .startswith(f"{expected} documents loaded ({warned} with warnings), 0 failed")
    )


def test_cli_stores_every_document(cli_store, cli_runs):
    stored = set(cli_store.store.document_ctids())
    assert len(stored) == sum(expected for _, _, expected in cli_runs.values())


def test_cli_store_links_across_loaders(cli_store):
    nurses = select(
        cli_store.store,
        f"""SELECT ?name WHERE {{
            <{onet_iri("29-1141.01")}> ceterms:isSpecializationOf ?soc .
            ?soc ceterms:occupationType/ceterms:codedNotation "29-1141" ; ceterms:name ?name .
        }}""",
    )
    similar = values(
        cli_store.store,
        f"""SELECT ?code WHERE {{
            <{resource_iri(esco_ctid(GREEN_ICT_CONSULTANT))}> ceterms:isSimilarTo ?o .
            ?o a ceterms:Occupation ; ceterms:occupationType/ceterms:codedNotation ?code .
        }}""",
    )
    assert nurses == [{"name": "Registered Nurses"}]
    assert similar == {"13-1199.05"}


def test_cli_ctids_match_loader_classes(cli_store, esco_outcomes):
    """The CLI on the ICT subset and the class on the full file give the same CTIDs."""
    stored = set(cli_store.store.document_ctids())
    esco_ctids = {o.document.ctid for o in esco_outcomes if o.document is not None}
    from_cli = {ctid for ctid in stored if ctid in esco_ctids}
    assert len(from_cli) == 92
    assert framework_ctid("v1.1.1") in from_cli
    assert esco_ctid(SOFTWARE_DEVELOPER) in from_cli


def test_cli_bad_rows_fail_the_load(tmp_path, vocab_dir, validator):
    path = _write(
        tmp_path / "onet.csv",
        ["O*NET-SOC Code,Title,Description", "29-1141.01,Acute Care Nurses,Care.", "29-11,Bad,X"],
    )
    with _shared_validator(validator):
        code, out = _load(["--format", "onet", str(path)], tmp_path / "store", vocab_dir)
    failed = out.split("\nfailed:\n", 1)[1].splitlines()
    assert code == 1
    assert [line.strip().split(": ", 1)[0] for line in failed] == [f"{path}:3"]
