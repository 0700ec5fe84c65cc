"""The employer query mix: each question with its HTTP API path and its SPARQL text.

When ``registry.queries`` provides a question's SPARQL text, that text is
used, so ``/sparql``, pyoxigraph and ``oxigraph serve`` run the main query of
the HTTP API's answer. (The API may run more queries for one request, to add
details.) Otherwise the fallback text below queries the statements described
in ``docs/graph-model.md`` for the same question.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PREFIXES = """PREFIX ceterms: <https://purl.org/ctdl/terms/>
PREFIX ceasn: <https://purl.org/ctdlasn/terms/>
PREFIX schema: <https://schema.org/>
"""
PAGE = 50


@dataclass(frozen=True)
class Question:
    """One question of the mix.

    ``parameter`` names the list in the manifest's ``parameters`` that the
    values come from. ``path`` is the HTTP API path with ``{value}`` in it, or
    ``None`` where the API has no endpoint for the question.
    """

    name: str
    parameter: str
    path: str | None
    sparql: Callable[[str], str]
    source: str = "bench fallback"


def soc_branch(code: str) -> str:
    """Return the code prefix a SOC code covers: ``29-0000`` covers ``29-``, ``29-1140``
    covers ``29-114`` and a detailed code covers itself."""
    if code.endswith("0000"):
        return code[:3]
    if code.endswith("000"):
        return code[:4]
    if code.endswith("0"):
        return code[:6]
    return code


def literal(value: str) -> str:
    """Return ``value`` as a SPARQL string literal (the values come from the generator)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def occupation_credentials(code: str) -> str:
    return f"""{PREFIXES}
SELECT ?resource (SAMPLE(?name_) AS ?name) WHERE {{
  ?resource ceterms:occupationType/ceterms:codedNotation ?code .
  FILTER(STRSTARTS(?code, {literal(soc_branch(code))}))
  ?resource ceterms:ctid ?ctid .
  OPTIONAL {{ ?resource ceterms:name ?name_ }}
}}
GROUP BY ?resource ORDER BY ?resource LIMIT {PAGE + 1}"""


def occupation_competencies(code: str) -> str:
    return f"""{PREFIXES}
SELECT DISTINCT ?competency ?text WHERE {{
  {{
    ?occupation a ceterms:Occupation ; ceterms:occupationType/ceterms:codedNotation ?code .
    FILTER(STRSTARTS(?code, {literal(soc_branch(code))}))
    ?occupation ceasn:skillEmbodied ?competency .
  }} UNION {{
    ?competency a ceasn:Competency ; ceterms:occupationType/ceterms:codedNotation ?code .
    FILTER(STRSTARTS(?code, {literal(soc_branch(code))}))
  }}
  OPTIONAL {{ ?competency ceasn:competencyText ?text }}
}}
ORDER BY ?competency LIMIT {PAGE + 1}"""


def competency_credentials(ctid: str) -> str:
    return f"""{PREFIXES}
SELECT DISTINCT ?resource ?name WHERE {{
  ?competency ceterms:ctid {literal(ctid)} .
  {{ ?resource ceterms:teaches/ceterms:targetNode ?competency }}
  UNION {{ ?resource ceterms:assesses/ceterms:targetNode ?competency }}
  UNION {{ ?resource ceterms:requires/ceterms:targetCompetency/ceterms:targetNode ?competency }}
  ?resource ceterms:ctid ?ctid .
  OPTIONAL {{ ?resource ceterms:name ?name }}
}}
ORDER BY ?resource LIMIT {PAGE + 1}"""


def transfer_values(ctid: str) -> str:
    return f"""{PREFIXES}
SELECT ?profile ?name ?value ?for WHERE {{
  ?resource ceterms:ctid {literal(ctid)} .
  ?profile ceterms:transferValueFrom ?resource ; ceterms:ctid ?profileCtid .
  OPTIONAL {{ ?profile ceterms:name ?name }}
  OPTIONAL {{ ?profile ceterms:transferValue/schema:value ?value }}
  OPTIONAL {{ ?profile ceterms:transferValueFor ?for }}
}}
ORDER BY ?profile LIMIT {PAGE + 1}"""


def search(word: str) -> str:
    return f"""{PREFIXES}
SELECT DISTINCT ?resource ?ctid WHERE {{
  ?resource ceterms:ctid ?ctid ;
    ceterms:name|ceterms:description|ceasn:competencyText ?text .
  FILTER(CONTAINS(LCASE(STR(?text)), {literal(word.lower())}))
}}
LIMIT 100"""


def resource(ctid: str) -> str:
    return f"""{PREFIXES}
SELECT ?predicate ?object WHERE {{
  ?resource ceterms:ctid {literal(ctid)} ; ?predicate ?object .
}}"""


def required_by(ctid: str) -> str:
    """Return the reverse lookup: what requires the credential with this CTID."""
    return f"""{PREFIXES}
SELECT DISTINCT ?resource ?name WHERE {{
  ?credential ceterms:ctid {literal(ctid)} .
  ?resource ceterms:requires/ceterms:targetCredential ?credential ;
    ceterms:ctid ?ctid .
  OPTIONAL {{ ?resource ceterms:name ?name }}
}}
ORDER BY ?resource LIMIT {PAGE + 1}"""


FALLBACK = (
    Question(
        "occupation-credentials",
        "occupation",
        "/occupations/{value}/credentials",
        occupation_credentials,
    ),
    Question(
        "occupation-competencies",
        "occupation",
        "/occupations/{value}/competencies",
        occupation_competencies,
    ),
    Question(
        "competency-credentials",
        "competency",
        "/competencies/{value}/credentials",
        competency_credentials,
    ),
    Question(
        "transfer-values",
        "transfer_source",
        "/credentials/{value}/transfer-values",
        transfer_values,
    ),
    Question("search", "search", "/search?q={value}", search),
    Question("resource-by-ctid", "resource", "/resources/{value}", resource),
    Question("required-by", "required_credential", None, required_by),
)


def questions() -> list[Question]:
    """Return the mix, with the registry's own SPARQL texts wherever it has them."""
    registry_texts = _registry_texts()
    mix = []
    for question in FALLBACK:
        text = registry_texts.get(question.name)
        if text is None:
            mix.append(question)
        else:
            mix.append(
                Question(question.name, question.parameter, question.path, text, "registry.queries")
            )
    return mix


def _registry_texts() -> dict[str, Callable[[str], str]]:
    """Return the SPARQL builders ``registry.queries`` offers, by question name.

    The module may be missing or older than this script; then the fallback
    texts are used for the questions it cannot build.
    """
    try:
        from registry import queries
        from registry.queries import ClassHierarchy, OccupationCode
        from registry.vocab import VocabCache
    except ImportError:
        return {}
    try:
        types = _learning_types(ClassHierarchy, VocabCache)
    except Exception:  # noqa: BLE001 - an older module shape means: use the fallbacks
        return {}
    texts: dict[str, Callable[[str], str]] = {}
    builders: dict[str, Callable[[str], str]] = {
        "occupation-credentials": lambda code: queries.occupation_credentials_query(
            OccupationCode.parse(code), types, PAGE, 0
        ),
        "occupation-competencies": lambda code: queries.occupation_competencies_query(
            OccupationCode.parse(code), PAGE, 0
        ),
        "competency-credentials": lambda ctid: queries.competency_credentials_query(
            ctid, types, PAGE, 0
        ),
        "transfer-values": lambda ctid: queries.transfer_values_query(ctid, PAGE, 0),
        "search": lambda word: queries.search_query([word], [], None),
    }
    for name, build in builders.items():
        try:
            build(_EXAMPLES[name])
        except Exception:  # noqa: BLE001 - this builder's signature changed; use the fallback
            continue
        texts[name] = build
    return texts


_EXAMPLES = {
    "occupation-credentials": "29-1141",
    "occupation-competencies": "29-1141",
    "competency-credentials": "ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b",
    "transfer-values": "ce-2f7bc05c-2f9c-4119-9507-2f64d1a71b7b",
    "search": "nurse",
}


def _learning_types(hierarchy_class: Any, cache_class: Any) -> list[str]:
    """Return the CTDL classes that prepare for an occupation, as SPARQL IRIs."""
    from registry.config import Settings
    from registry.validation import CTDL_SCHEMA_URL, CTDLASN_SCHEMA_URL

    cache = cache_class(Settings.from_env().vocab_cache_dir)
    encodings = [cache.load_json(CTDL_SCHEMA_URL), cache.load_json(CTDLASN_SCHEMA_URL)]
    namespaces = {
        "ceterms": "https://purl.org/ctdl/terms/",
        "ceasn": "https://purl.org/ctdlasn/terms/",
    }
    expanded = []
    for name in sorted(hierarchy_class(encodings).learning_classes()):
        prefix, _, local = name.partition(":")
        expanded.append(f"<{namespaces.get(prefix, prefix + ':')}{local}>")
    return expanded
