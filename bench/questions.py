"""The employer query mix: each question with its HTTP API path and its SPARQL text.

Five questions are endpoints of the query API. Their SPARQL text is the one
the API documents for the same request at ``GET /queries/{name}``, built by
``EmployerQueries.sparql_for``, so ``/sparql``, pyoxigraph and ``oxigraph
serve`` run the API's main query. (The API may run more queries for one
request, to add details.) Those texts depend on the data, for example on the
occupation codes in the store that a SOC code covers. So ``questions`` builds
them over the benchmark's store, for the parameter values the mix uses, before
any target runs.

The other two questions have no named query in the API, and their texts are
written here over the statements described in ``docs/graph-model.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from registry.errors import RegistryError
from registry.queries import PREFIXES, literal

PAGE = 50
OWN_SOURCE = "bench/questions.py"
API_SOURCE = "EmployerQueries.sparql_for"


@dataclass(frozen=True)
class Question:
    """One question of the mix.

    ``parameter`` names the list in the manifest's ``parameters`` that the
    values come from. ``path`` is the HTTP API path with ``{value}`` in it, or
    ``None`` where the API has no endpoint for the question. ``source`` names
    where the SPARQL text comes from.
    """

    name: str
    parameter: str
    path: str | None
    sparql: Callable[[str], str]
    source: str


@dataclass(frozen=True)
class ApiQuestion:
    """A question of the query API: ``name`` is also the name of its named query, and
    the value fills the named query's parameter ``query_parameter``."""

    name: str
    parameter: str
    path: str
    query_parameter: str


API_QUESTIONS = (
    ApiQuestion("occupation-credentials", "occupation", "/occupations/{value}/credentials", "code"),
    ApiQuestion(
        "occupation-competencies", "occupation", "/occupations/{value}/competencies", "code"
    ),
    ApiQuestion(
        "competency-credentials", "competency", "/competencies/{value}/credentials", "ctid"
    ),
    ApiQuestion(
        "transfer-values", "transfer_source", "/credentials/{value}/transfer-values", "ctid"
    ),
    ApiQuestion("search", "search", "/search?q={value}", "q"),
)


def resource(ctid: str) -> str:
    """Return the statements about the resource with this CTID."""
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


OWN_QUESTIONS = (
    Question("resource-by-ctid", "resource", "/resources/{value}", resource, OWN_SOURCE),
    Question("required-by", "required_credential", None, required_by, OWN_SOURCE),
)


def questions(employer: Any, values: dict[str, list[str]]) -> list[Question]:
    """Return the mix, with the query API's SPARQL text built for each of ``values``.

    ``employer`` is the ``EmployerQueries`` of a registry open on the
    benchmark's store. ``values`` maps each manifest parameter to the values
    the mix runs with. Raise ``RuntimeError`` naming the question and the
    value when the API cannot build a text.
    """
    mix = [
        _with_api_texts(employer, question, values.get(question.parameter, []))
        for question in API_QUESTIONS
    ]
    return mix + list(OWN_QUESTIONS)


def _with_api_texts(employer: Any, question: ApiQuestion, values: list[str]) -> Question:
    texts = {}
    for value in values:
        try:
            texts[value] = employer.sparql_for(question.name, {question.query_parameter: value})
        except RegistryError as exc:
            raise RuntimeError(
                f"the query API failed to build the {question.name} SPARQL for "
                f"{question.query_parameter}={value!r}: {exc}"
            ) from exc
    return Question(
        question.name,
        question.parameter,
        question.path,
        _built_texts(question.name, texts),
        API_SOURCE,
    )


def _built_texts(name: str, texts: dict[str, str]) -> Callable[[str], str]:
    """Return a lookup of the texts built for ``name``, which rejects any other value."""

    def sparql(value: str) -> str:
        if value not in texts:
            raise LookupError(
                f"no {name} SPARQL was built for {value!r}; pass the value to questions()"
            )
        return texts[value]

    return sparql
