"""Tests for the invented career-passport sample in ``samples/``.

Each document must load without warnings, and the links between the documents
must resolve in SPARQL.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from registry.service import Registry

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*.json"))

RESOURCES = "https://credentialengineregistry.org/resources/"
EMT_CERTIFICATE = RESOURCES + "ce-deaf8c7f-4706-4bd5-be88-63e40e5296c9"
CPR_CERTIFICATION_CTID = "ce-44734b76-76c2-4a00-8bb4-06d34170c52a"
EMT_FRAMEWORK = RESOURCES + "ce-931a8e13-fd15-449b-9c4a-3256737082bf"
REQUIRED_COMPETENCIES = {
    RESOURCES + "ce-f4989527-c23b-40a3-ac6b-677f34e3ea58",
    RESOURCES + "ce-c31cfdd7-d85f-4dfb-b055-7dcbcf3dcab4",
    RESOURCES + "ce-4a535988-9535-4ff0-9513-495e473098f3",
    RESOURCES + "ce-f6880ed2-aa8e-47cf-917c-ba685c20bc63",
    RESOURCES + "ce-c9ca6afe-67f8-4652-afff-79cfdd08de79",
}

PREFIXES = """
PREFIX ceterms: <https://purl.org/ctdl/terms/>
PREFIX ceasn: <https://purl.org/ctdlasn/terms/>
"""


@pytest.fixture
def samples_registry(registry: Registry) -> Registry:
    """The empty ``registry`` fixture with every sample document loaded."""
    for path in SAMPLE_FILES:
        registry.load(path.read_bytes(), path.name)
    return registry


def test_sample_folder_not_empty() -> None:
    assert SAMPLE_FILES != []


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.name)
def test_sample_loads_without_warnings(registry: Registry, path: Path) -> None:
    document = registry.load(path.read_bytes(), path.name)

    assert document.warnings == []


def test_emt_found_by_soc_code(samples_registry: Registry) -> None:
    result = samples_registry.queries.run(
        PREFIXES
        + """
        SELECT ?credential WHERE {
          ?credential a ceterms:Certificate ;
            ceterms:occupationType ?alignment .
          ?alignment ceterms:codedNotation "29-2042" .
        }
        """
    )

    assert result.rows == [[ox.NamedNode(EMT_CERTIFICATE)]]


def test_emt_requires_cpr_certification(samples_registry: Registry) -> None:
    result = samples_registry.queries.run(
        PREFIXES
        + f"""
        SELECT ?ctid WHERE {{
          <{EMT_CERTIFICATE}> ceterms:requires ?condition .
          ?condition a ceterms:ConditionProfile ;
                     ceterms:targetCredential ?credential .
          ?credential a ceterms:Certification ;
                      ceterms:ctid ?ctid .
        }}
        """
    )

    ctids = [row[0].value for row in result.rows]
    assert ctids == [CPR_CERTIFICATION_CTID]


def test_emt_competencies_in_framework(samples_registry: Registry) -> None:
    # OPTIONAL keeps a required competency that is missing from the framework in the
    # result, with ?framework unbound, so the failure names it.
    result = samples_registry.queries.run(
        PREFIXES
        + f"""
        SELECT ?competency ?framework WHERE {{
          <{EMT_CERTIFICATE}> ceterms:requires/ceterms:targetCompetency/ceterms:targetNode
            ?competency .
          OPTIONAL {{
            ?competency a ceasn:Competency ;
                        ceasn:isPartOf ?framework .
          }}
        }}
        """
    )

    frameworks = {}
    for competency, framework in result.rows:
        frameworks[competency.value] = None if framework is None else framework.value
    assert set(frameworks) == REQUIRED_COMPETENCIES
    assert set(frameworks.values()) == {EMT_FRAMEWORK}
