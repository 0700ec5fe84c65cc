"""The link index stays equal to the documented SPARQL as documents arrive, change and go.

The index joins rows across documents when they are written, so the order of
publishing matters to it: a credential that teaches a competency is matched
to an occupation only once the occupation naming that competency is in. Each
step below publishes, replaces or deletes one document and then compares the
index with the SPARQL texts of ``registry.queries`` for every code key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from registry import queries as q
from registry.config import Settings
from registry.queries import OccupationCode
from registry.service import Registry

BASE = "https://credentialengineregistry.org/resources/"
ORG = "ce-0a6f1b3e-7c2d-4e5f-9a8b-1c2d3e4f5a6b"
OCCUPATION = "ce-1b2c3d4e-5f60-4718-829a-0b1c2d3e4f50"
COMPETENCY = "ce-2c3d4e5f-6071-4829-93ab-1c2d3e4f5061"
TEACHING = "ce-3d4e5f60-7182-4930-a4bc-2d3e4f506172"
ALIGNED = "ce-4e5f6071-8293-4a41-b5cd-3e4f50617283"
REQUIRING = "ce-5f607182-93a4-4b52-86de-4f5061728394"
CODES = ["29-", "29-2", "29-204", "29-2042", "29-2042.00", "31-"]


def node(ctid: str, kind: str, **statements: object) -> dict:
    owner = {"ceterms:ownedBy": [BASE + ORG]}
    return {"@id": BASE + ctid, "@type": kind, "ceterms:ctid": ctid, **owner, **statements}


def alignment(code: str) -> dict:
    return {"@type": "ceterms:CredentialAlignmentObject", "ceterms:codedNotation": code}


def document(main: dict) -> bytes:
    graph = {"@context": "https://credreg.net/ctdl/schema/context/json", "@graph": [main]}
    return json.dumps(graph).encode()


def occupation(*skills: str, code: str = "29-2042.00") -> bytes:
    return document(
        node(
            OCCUPATION,
            "ceterms:Occupation",
            **{
                "ceterms:name": {"en": "Emergency Medical Technicians"},
                "ceterms:occupationType": [alignment(code)],
                "ceasn:skillEmbodied": [BASE + skill for skill in skills],
            },
        )
    )


def competency(code: str | None = None) -> bytes:
    statements: dict[str, object] = {"ceasn:competencyText": {"en": "Assess a patient"}}
    if code:
        statements["ceterms:occupationType"] = [alignment(code)]
    return document(node(COMPETENCY, "ceasn:Competency", **statements))


def credential(ctid: str, **statements: object) -> bytes:
    named = {"ceterms:name": {"en": ctid}}
    return document(node(ctid, "ceterms:Certificate", **named, **statements))


@pytest.fixture
def registry(vocab_dir) -> Iterator[Registry]:
    registry = Registry(Settings(vocab_cache=vocab_dir, base_url="http://registry.test"))
    yield registry
    registry.close()


def sparql_answers(registry: Registry, key_code: str) -> tuple[list, dict]:
    """The documented SPARQL's credentials and competencies under a requested code."""
    employer = registry.employer
    code = OccupationCode.parse(requested(key_code))
    codes = employer.covered_codes(code)
    if not codes:
        return [], {}
    competencies = employer._select(q.occupation_competency_iris_query(codes))
    iris = sorted(row["competency"] for row in competencies)
    text = q.occupation_credentials_query(codes, iris, employer.learning_types, 1000, 0)
    credentials = [
        (row["resource"], sorted(row["matches"].split("\n"))) for row in employer._select(text)
    ]
    skills = {
        row["competency"]: sorted(set(row["relations"].split("\n")))
        for row in employer._select(q.occupation_competencies_query(codes, 1000, 0))
    }
    return credentials, skills


def requested(key: str) -> str:
    """Return the code a request uses for a key: 29- is 29-0000, 29-204 is 29-2040."""
    return {3: key + "0000", 4: key + "000", 6: key + "0"}.get(len(key), key)


def assert_index_matches_sparql(registry: Registry) -> None:
    links = registry.links
    for key in CODES:
        credentials, skills = sparql_answers(registry, key)
        assert links.occupation_credentials(key, 1000, 0) == credentials, key
        assert dict(links.occupation_competencies(key, 1000, 0)) == skills, key


def credentials_for(registry: Registry, key: str) -> list[str]:
    return [iri.removeprefix(BASE) for iri, _ in registry.links.occupation_credentials(key, 50, 0)]


def test_credential_published_before_its_occupation(registry):
    registry.load(competency(), "competency")
    registry.load(credential(TEACHING, **{"ceterms:teaches": [BASE + COMPETENCY]}), "teaching")
    assert credentials_for(registry, "29-2042") == []

    registry.load(occupation(COMPETENCY), "occupation")
    assert credentials_for(registry, "29-2042") == [TEACHING]
    assert credentials_for(registry, "29-") == [TEACHING]
    assert credentials_for(registry, "31-") == []
    assert_index_matches_sparql(registry)

    registry.publisher.delete(OCCUPATION, ORG)
    assert credentials_for(registry, "29-2042") == []
    assert_index_matches_sparql(registry)


def test_more_paths_rank_first_and_replacements_count(registry):
    registry.load(occupation(COMPETENCY), "occupation")
    registry.load(competency("29-2042"), "competency")
    required = {
        "@type": "ceterms:ConditionProfile",
        "ceterms:targetCompetency": [
            {
                "@type": "ceterms:CredentialAlignmentObject",
                "ceterms:targetNode": BASE + COMPETENCY,
            }
        ],
    }
    registry.load(credential(REQUIRING, **{"ceterms:requires": [required]}), "requiring")
    registry.load(
        credential(
            ALIGNED,
            **{
                "ceterms:occupationType": [alignment("29-2042")],
                "ceterms:teaches": [BASE + COMPETENCY],
            },
        ),
        "aligned",
    )
    assert credentials_for(registry, "29-2042") == [ALIGNED, REQUIRING]
    assert_index_matches_sparql(registry)

    # The aligned credential no longer teaches the competency; the other one
    # now matches by more paths.
    registry.load(
        credential(ALIGNED, **{"ceterms:occupationType": [alignment("29-2042")]}), "aligned"
    )
    registry.load(
        credential(
            REQUIRING,
            **{"ceterms:requires": [required], "ceterms:assesses": [BASE + COMPETENCY]},
        ),
        "requiring",
    )
    assert credentials_for(registry, "29-2042") == [REQUIRING, ALIGNED]
    assert_index_matches_sparql(registry)


def test_occupation_code_change_moves_its_competencies(registry):
    registry.load(occupation(COMPETENCY), "occupation")
    registry.load(competency(), "competency")
    assert [c for c, _ in registry.links.occupation_competencies("29-2042", 10, 0)] == [
        BASE + COMPETENCY
    ]
    registry.load(occupation(COMPETENCY, code="31-9011.00"), "occupation")
    assert registry.links.occupation_competencies("29-2042", 10, 0) == []
    assert registry.links.competencies_of("31-") == [BASE + COMPETENCY]
    assert_index_matches_sparql(registry)


def test_index_rebuilt_from_the_store(vocab_dir, tmp_path):
    settings = Settings(vocab_cache=vocab_dir, base_url="http://registry.test", store=tmp_path)
    registry = Registry(settings)
    registry.load(occupation(COMPETENCY), "occupation")
    registry.load(competency(), "competency")
    registry.load(credential(TEACHING, **{"ceterms:teaches": [BASE + COMPETENCY]}), "teaching")
    registry.close()
    for leftover in tmp_path.glob("links.sqlite3*"):
        leftover.unlink()

    reopened = Registry(settings)
    try:
        assert credentials_for(reopened, "29-2042") == [TEACHING]
        assert_index_matches_sparql(reopened)
    finally:
        reopened.close()
