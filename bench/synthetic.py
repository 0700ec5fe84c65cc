"""Synthetic CTDL documents shaped like the ones the reference registry publishes.

Every document is a function of ``(seed, index)`` alone, so a data set of N
documents is the first N of any larger one made with the same seed. A
document points only to documents before it, so the documents after N (which
the publish benchmark sends) find what they point to in the store.
Documents come in blocks of 100 with a fixed composition (see ``BLOCK``).
Inside a block, the kinds that others point to come first.

The shapes follow the published ``/graph`` documents: language maps,
``@graph`` with the main resource first, blank nodes for quality-assurance
organizations and embedded assessments, condition profiles with
``ceterms:targetCompetency`` and ``ceterms:targetCredential`` alignments,
``ceterms:occupationType`` alignments over real SOC 2018 codes, learning
opportunities with ``ceterms:teaches``, assessments with
``ceterms:assesses``, competency frameworks of 10 to 20,000 competencies and
transfer value profiles with ``ceterms:transferValueFrom`` and
``ceterms:transferValueFor``.
"""

from __future__ import annotations

import csv
import hashlib
import math
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.ctid import derived_ctid

RESOURCES = "https://credentialengineregistry.org/resources/"
GRAPHS = "https://credentialengineregistry.org/graph/"
CTDL_CONTEXT = "https://credreg.net/ctdl/schema/context/json"
CTDLASN_CONTEXT = "https://credreg.net/ctdlasn/schema/context/json"
SOC_FRAMEWORK = "https://www.bls.gov/soc/2018/"
ONET_FRAMEWORK = "https://www.onetcenter.org/taxonomy.html"

# Composition of every block of 100 documents, in block order. The shares are
# an estimate of a large credential registry (credentials and learning
# opportunities dominate), not counts taken from the reference registry.
BLOCK = (
    ("organization", 6),
    ("framework", 3),
    ("occupation", 2),
    ("credential", 30),
    ("learning", 38),
    ("assessment", 6),
    ("transfer", 15),
)
BLOCK_SIZE = sum(count for _, count in BLOCK)

# One framework of the maximum size in every 10,000 documents, at framework
# slot 150 of each such span (document 5,006 of the first).
LARGE_FRAMEWORK_EVERY = 10_000
LARGE_FRAMEWORK_SLOT = 150
MAX_COMPETENCIES = 20_000
ALIGNED_COMPETENCIES = 20  # competencies per framework with an occupationType

CREDENTIAL_CLASSES = (
    ("Certificate", 30, "audLevel:PostSecondaryLevel"),
    ("Certification", 15, "audLevel:ProfessionalLevel"),
    ("AssociateDegree", 10, "audLevel:AssociatesDegreeLevel"),
    ("BachelorDegree", 12, "audLevel:BachelorsDegreeLevel"),
    ("MasterDegree", 6, "audLevel:MastersDegreeLevel"),
    ("DoctoralDegree", 1, "audLevel:DoctoralDegreeLevel"),
    ("License", 6, "audLevel:ProfessionalLevel"),
    ("Badge", 3, "audLevel:BeginnerLevel"),
    ("DigitalBadge", 3, "audLevel:BeginnerLevel"),
    ("OpenBadge", 4, "audLevel:BeginnerLevel"),
    ("ApprenticeshipCertificate", 3, "audLevel:ProfessionalLevel"),
    ("CertificateOfCompletion", 7, "audLevel:BeginnerLevel"),
)
LEARNING_CLASSES = (("LearningOpportunityProfile", 30), ("LearningProgram", 20), ("Course", 50))
ORGANIZATION_CLASSES = (
    ("CredentialOrganization", 70),
    ("Organization", 20),
    ("QACredentialOrganization", 10),
)
ORGANIZATION_KINDS = (
    ("Community College", "orgType:TwoYear", "agentSector:Public"),
    ("State University", "orgType:FourYear", "agentSector:Public"),
    ("Technical Institute", "orgType:Postsecondary", "agentSector:PrivateForProfit"),
    ("Training Center", "orgType:TrainingProvider", "agentSector:PrivateForProfit"),
    ("Certification Board", "orgType:CertificationBody", "agentSector:PrivateNonProfit"),
    ("Professional Association", "orgType:ProfessionalAssociation", "agentSector:PrivateNonProfit"),
    ("Apprenticeship Council", "orgType:Business", "agentSector:Public"),
)
PLACES = (
    ("Riverside", "Ohio"),
    ("Lakeview", "Michigan"),
    ("Northfield", "Minnesota"),
    ("Cedar Falls", "Iowa"),
    ("Pine Bluff", "Arkansas"),
    ("Harbor City", "California"),
    ("Millbrook", "Alabama"),
    ("Granite Ridge", "Colorado"),
    ("Bayside", "Florida"),
    ("Fox Hollow", "Indiana"),
    ("Red Mesa", "Arizona"),
    ("Elm Grove", "Wisconsin"),
)
DELIVERY = (
    ("deliveryType:InPerson", "In Person Only"),
    ("deliveryType:OnlineOnly", "Online Only"),
    ("deliveryType:BlendedDelivery", "Blended Delivery"),
)
CLASS_WORDS = {
    "Certificate": ("Certificate in", "Certificado en"),
    "Certification": ("Certified", "Certificación en"),
    "AssociateDegree": ("Associate of Applied Science in", "Título asociado en"),
    "BachelorDegree": ("Bachelor of Science in", "Licenciatura en"),
    "MasterDegree": ("Master of Science in", "Maestría en"),
    "DoctoralDegree": ("Doctor of Philosophy in", "Doctorado en"),
    "License": ("State License for", "Licencia estatal para"),
    "Badge": ("Badge:", "Insignia:"),
    "DigitalBadge": ("Digital Badge:", "Insignia digital:"),
    "OpenBadge": ("Open Badge:", "Insignia abierta:"),
    "ApprenticeshipCertificate": ("Registered Apprenticeship:", "Aprendizaje registrado:"),
    "CertificateOfCompletion": ("Certificate of Completion:", "Certificado de finalización:"),
}


@dataclass(frozen=True)
class Occupation:
    """A detailed SOC 2018 occupation: code, title and definition."""

    code: str
    title: str
    definition: str


def read_soc(path: Path) -> list[Occupation]:
    """Read the detailed occupations from a BLS SOC 2018 CSV (group, code, title, definition)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Occupation(row["SOC Code"], row["SOC Title"], row["SOC Definition"])
        for row in rows
        if row["SOC Group"] == "Detailed" and row["SOC Definition"]
    ]


def lang(text: str) -> dict[str, str]:
    return {"en-US": text}


def iri(ctid: str) -> str:
    return RESOURCES + ctid


def alignment(target: str | None, name: str, **extra: Any) -> dict[str, Any]:
    """Return a ``ceterms:CredentialAlignmentObject`` pointing to ``target``."""
    node: dict[str, Any] = {"@type": "ceterms:CredentialAlignmentObject"}
    if target is not None:
        node["ceterms:targetNode"] = target
    node["ceterms:targetNodeName"] = lang(name)
    node.update(extra)
    return node


def concept(scheme: str, target: str, label: str) -> dict[str, Any]:
    """Return an alignment to a CTDL concept, written as the published documents do."""
    return alignment(
        target,
        label,
        **{
            "ceterms:framework": f"https://credreg.net/ctdl/terms/{scheme}",
            "ceterms:frameworkName": lang(scheme),
        },
    )


class Generator:
    """Builds the document at any index of a data set made from one seed."""

    def __init__(self, seed: int, occupations: list[Occupation]) -> None:
        if not occupations:
            raise ValueError("the SOC list has no detailed occupations; check the CSV file")
        self.seed = seed
        self.occupations = list(occupations)
        random.Random(f"{seed}/soc").shuffle(self.occupations)
        # Zipf-like popularity: a few occupations are the focus of many resources.
        self.weights = [1 / (rank + 1) ** 0.9 for rank in range(len(self.occupations))]

    # Identifiers and per-index attributes ---------------------------------

    def ctid(self, tag: str, index: int, part: int = 0) -> str:
        """Return a CTID (a UUID version 4) fixed by the seed, a tag and numbers."""
        digest = hashlib.sha256(f"{self.seed}/{tag}/{index}/{part}".encode()).digest()
        return f"ce-{uuid.UUID(bytes=digest[:16], version=4)}"

    def rng(self, index: int, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}/{index}/{purpose}")

    def kind(self, index: int) -> str:
        """Return the kind of document at ``index``: its place in the block decides."""
        position = index % BLOCK_SIZE
        for kind, count in BLOCK:
            if position < count:
                if kind == "occupation" and self.occupation_slot(index) >= len(self.occupations):
                    return "credential"  # every SOC occupation already has its document
                return kind
            position -= count
        raise AssertionError("BLOCK_SIZE is the sum of the block counts")

    def occupation_slot(self, index: int) -> int:
        block, position = divmod(index, BLOCK_SIZE)
        start = _block_start("occupation")
        return block * _block_count("occupation") + position - start

    def framework_slot(self, index: int) -> int:
        block, position = divmod(index, BLOCK_SIZE)
        return block * _block_count("framework") + position - _block_start("framework")

    def framework_size(self, index: int) -> int:
        """Return the number of competencies of the framework at ``index``.

        Nine in ten have 10 to 100, one in eleven 100 to 1,000, one in a
        hundred 1,000 to 10,000, and one framework in every 10,000 documents
        has 20,000.
        """
        slot = self.framework_slot(index)
        per_span = LARGE_FRAMEWORK_EVERY // BLOCK_SIZE * _block_count("framework")
        if slot % per_span == LARGE_FRAMEWORK_SLOT:
            return MAX_COMPETENCIES
        rng = self.rng(index, "size")
        draw = rng.random()
        low, high = (10, 100) if draw < 0.9 else (100, 1000) if draw < 0.99 else (1000, 10_000)
        return int(math.exp(rng.uniform(math.log(low), math.log(high))))

    def focus(self, index: int) -> Occupation:
        """Return the occupation a resource prepares for, by popularity."""
        if self.kind(index) == "occupation":
            return self.occupations[self.occupation_slot(index)]
        return self.rng(index, "focus").choices(self.occupations, self.weights)[0]

    def credential_class(self, index: int) -> tuple[str, str]:
        rng = self.rng(index, "class")
        name, _, level = rng.choices(CREDENTIAL_CLASSES, [c[1] for c in CREDENTIAL_CLASSES])[0]
        return name, level

    def learning_class(self, index: int) -> str:
        rng = self.rng(index, "class")
        return rng.choices(LEARNING_CLASSES, [c[1] for c in LEARNING_CLASSES])[0][0]

    def main_ctid(self, index: int) -> str:
        if self.kind(index) == "occupation":
            return derived_ctid("soc2018", self.focus(index).code)
        return self.ctid("document", index)

    def earlier(self, rng: random.Random, index: int, kind: str) -> int | None:
        """Return a random earlier index of ``kind``, or ``None`` if there is none.

        Nine picks in ten fall in the last 20 blocks, so neighbours link to
        each other as resources of one publisher do.
        """
        start, count = _block_start(kind), _block_count(kind)
        own_block = index // BLOCK_SIZE
        for _ in range(8):
            lowest = max(0, own_block - 20) if rng.random() < 0.9 else 0
            block = rng.randint(lowest, own_block)
            candidate = block * BLOCK_SIZE + start + rng.randrange(count)
            if candidate < index and self.kind(candidate) == kind:
                return candidate
        return None

    def competency_ctid(self, framework_index: int, number: int) -> str:
        return self.ctid("competency", framework_index, number)

    # Documents --------------------------------------------------------------

    def document(self, index: int) -> dict[str, Any]:
        """Return the JSON-LD ``/graph`` document at ``index``."""
        builders = {
            "organization": self.organization,
            "framework": self.framework,
            "occupation": self.occupation,
            "credential": self.credential,
            "learning": self.learning,
            "assessment": self.assessment,
            "transfer": self.transfer,
        }
        graph = builders[self.kind(index)](index)
        context = CTDLASN_CONTEXT if self.kind(index) == "framework" else CTDL_CONTEXT
        return {"@context": context, "@id": GRAPHS + self.main_ctid(index), "@graph": graph}

    def organization(self, index: int) -> list[dict[str, Any]]:
        rng = self.rng(index, "document")
        ctid = self.main_ctid(index)
        kind_name, org_type, sector = rng.choice(ORGANIZATION_KINDS)
        town, state = rng.choice(PLACES)
        name = f"{town} {kind_name} {index // BLOCK_SIZE + 1}"
        cls = rng.choices(ORGANIZATION_CLASSES, [c[1] for c in ORGANIZATION_CLASSES])[0][0]
        slug = name.lower().replace(" ", "-")
        node: dict[str, Any] = {
            "@id": iri(ctid),
            "@type": f"ceterms:{cls}",
            "ceterms:ctid": ctid,
            "ceterms:name": lang(name),
            "ceterms:description": lang(
                f"{name} is a {kind_name.lower()} in {town}, {state}, that prepares people "
                f"for work in {self.focus(index).title.lower()} and related occupations."
            ),
            "ceterms:subjectWebpage": f"https://{slug}.example.org/",
            "ceterms:agentType": [concept("OrganizationType", org_type, kind_name)],
            "ceterms:agentSectorType": [concept("AgentSector", sector, sector.split(":")[1])],
            "ceterms:email": [f"info@{slug}.example.org"],
            "ceterms:address": [self.place(rng, name)],
        }
        if rng.random() < 0.3:
            node["ceterms:socialMedia"] = [f"https://social.example.org/{slug}"]
        return [node]

    def place(self, rng: random.Random, name: str) -> dict[str, Any]:
        town, state = rng.choice(PLACES)
        return {
            "@type": "ceterms:Place",
            "ceterms:name": lang(name),
            "ceterms:streetAddress": lang(f"{rng.randint(10, 9999)} Main Street"),
            "ceterms:addressLocality": lang(town),
            "ceterms:addressRegion": lang(state),
            "ceterms:postalCode": f"{rng.randint(10000, 99999)}",
            "ceterms:addressCountry": lang("United States"),
        }

    def occupation_alignment(self, rng: random.Random, occupation: Occupation) -> dict[str, Any]:
        """Align to an occupation as SOC (``29-1141``) or, one in three, O*NET (``29-1141.00``)."""
        if rng.random() < 0.33:
            code = occupation.code + ".00"
            target = f"https://www.onetonline.org/link/summary/{code}"
            framework, framework_name = ONET_FRAMEWORK, "O*NET-SOC Taxonomy"
        else:
            code = occupation.code
            target = f"https://www.bls.gov/soc/2018/major_groups.htm#{code}"
            framework, framework_name = SOC_FRAMEWORK, "Standard Occupational Classification"
        return alignment(
            target,
            occupation.title,
            **{
                "ceterms:codedNotation": code,
                "ceterms:framework": framework,
                "ceterms:frameworkName": lang(framework_name),
                "ceterms:targetNodeDescription": lang(occupation.definition),
            },
        )

    def framework(self, index: int) -> list[dict[str, Any]]:
        rng = self.rng(index, "document")
        ctid = self.main_ctid(index)
        occupation = self.focus(index)
        size = self.framework_size(index)
        owner = self.earlier(rng, index, "organization")
        tops = max(1, size // 10)
        members = [self.competency_ctid(index, number) for number in range(size)]
        node: dict[str, Any] = {
            "@id": iri(ctid),
            "@type": "ceasn:CompetencyFramework",
            "ceterms:ctid": ctid,
            "ceasn:name": lang(f"{occupation.title} Competencies"),
            "ceasn:description": lang(
                f"Competencies for {occupation.title.lower()}: {occupation.definition}"
            ),
            "ceasn:inLanguage": ["en-US"],
            "ceasn:publicationStatusType": "publicationStatus:Published",
            "ceasn:hasTopChild": [iri(member) for member in members[:tops]],
        }
        if owner is not None:
            node["ceasn:publisher"] = [iri(self.main_ctid(owner))]
        graph = [node]
        for number, member in enumerate(members):
            graph.append(self.competency(rng, index, number, member, tops, size, occupation))
        return graph

    def competency(
        self,
        rng: random.Random,
        framework_index: int,
        number: int,
        ctid: str,
        tops: int,
        size: int,
        occupation: Occupation,
    ) -> dict[str, Any]:
        """Return one competency of a two-level tree: ``tops`` top children, the rest below."""
        framework_iri = iri(self.main_ctid(framework_index))
        verb = rng.choice(("Apply", "Explain", "Perform", "Evaluate", "Document", "Plan"))
        node: dict[str, Any] = {
            "@id": iri(ctid),
            "@type": "ceasn:Competency",
            "ceterms:ctid": ctid,
            "ceasn:competencyText": lang(
                f"{verb} task {number + 1} of the work of {occupation.title.lower()}."
            ),
            "ceasn:codedNotation": f"{occupation.code}.{number + 1}",
            "ceasn:isPartOf": framework_iri,
        }
        if number < tops:
            node["ceasn:isTopChildOf"] = framework_iri
            children = range(number + tops, size, tops)
            if children:
                node["ceasn:hasChild"] = [
                    iri(self.competency_ctid(framework_index, child)) for child in children
                ]
        else:
            node["ceasn:isChildOf"] = iri(self.competency_ctid(framework_index, number % tops))
        if number < ALIGNED_COMPETENCIES:
            node["ceterms:occupationType"] = [self.occupation_alignment(rng, occupation)]
        return node

    def competency_alignments(
        self, rng: random.Random, index: int, count: int
    ) -> tuple[list[dict[str, Any]], Occupation | None]:
        """Return alignments to ``count`` competencies of one earlier framework, and its
        occupation, so that a resource and the skills it names share an occupation."""
        framework = self.earlier(rng, index, "framework")
        if framework is None:
            return [], None
        size = self.framework_size(framework)
        occupation = self.focus(framework)
        framework_iri = iri(self.main_ctid(framework))
        numbers = sorted(rng.sample(range(size), min(count, size)))
        alignments = [
            alignment(
                iri(self.competency_ctid(framework, number)),
                f"Task {number + 1} of the work of {occupation.title.lower()}",
                **{
                    "ceterms:framework": framework_iri,
                    "ceterms:frameworkName": lang(f"{occupation.title} Competencies"),
                },
            )
            for number in numbers
        ]
        return alignments, occupation

    def occupation(self, index: int) -> list[dict[str, Any]]:
        rng = self.rng(index, "document")
        occupation = self.focus(index)
        ctid = self.main_ctid(index)
        node: dict[str, Any] = {
            "@id": iri(ctid),
            "@type": "ceterms:Occupation",
            "ceterms:ctid": ctid,
            "ceterms:name": lang(occupation.title),
            "ceterms:description": lang(occupation.definition),
            "ceterms:occupationType": [self.occupation_alignment(rng, occupation)],
        }
        skills = []
        for _ in range(rng.randint(1, 3)):
            framework = self.earlier(rng, index, "framework")
            if framework is not None:
                count = min(3, self.framework_size(framework))
                skills += [self.competency_ctid(framework, n) for n in range(count)]
        if skills:
            node["ceasn:skillEmbodied"] = [iri(skill) for skill in dict.fromkeys(skills)]
        return [node]

    def owner_links(self, rng: random.Random, index: int) -> dict[str, Any]:
        """Return ``ownedBy`` (and usually ``offeredBy``) pointing to an earlier organization."""
        owner = self.earlier(rng, index, "organization")
        owner_iri = iri(self.main_ctid(owner)) if owner is not None else None
        if owner_iri is None:  # only the first documents of a data set have no organization
            owner_iri = iri(self.ctid("organization-placeholder", 0))
        links: dict[str, Any] = {"ceterms:ownedBy": [owner_iri]}
        if rng.random() < 0.7:
            links["ceterms:offeredBy"] = [owner_iri]
        return links

    def credential(self, index: int) -> list[dict[str, Any]]:
        """Return a credential of a weighted CTDL class, prepared for one occupation."""
        rng = self.rng(index, "document")
        ctid = self.main_ctid(index)
        cls, level = self.credential_class(index)
        competencies, skill_occupation = (
            self.competency_alignments(rng, index, rng.randint(3, 12))
            if rng.random() < 0.4
            else ([], None)
        )

        occupation = skill_occupation or self.focus(index)
        words, spanish = CLASS_WORDS[cls]
        name = lang(f"{words} {occupation.title}")
        if rng.random() < 0.05:
            name["es"] = f"{spanish} {occupation.title}"

        node: dict[str, Any] = {
            "@id": iri(ctid),
            "@type": f"ceterms:{cls}",
            "ceterms:ctid": ctid,
            "ceterms:name": name,
            "ceterms:description": lang(
                f"Prepares graduates to work as {occupation.title.lower()}. {occupation.definition}"
            ),
            "ceterms:subjectWebpage": f"https://programs.example.org/{ctid}",
            "ceterms:inLanguage": ["en-US"],
            "ceterms:credentialStatusType": concept(
                "CredentialStatus", "credentialStat:Active", "Active"
            ),
            "ceterms:audienceLevelType": [concept("AudienceLevel", level, level.split(":")[1])],
            **self.owner_links(rng, index),
            "ceterms:occupationType": [self.occupation_alignment(rng, occupation)],
            "ceterms:keyword": {"en-US": occupation.title.lower().split(" and ")[:3]},
        }

        graph = [node]
        conditions = self.conditions(rng, index, competencies, node["ceterms:ownedBy"])
        if conditions:
            node["ceterms:requires"] = conditions
        if rng.random() < 0.5:
            node["ceterms:estimatedCost"] = [self.cost(rng, ctid)]
        if rng.random() < 0.2:
            quality = f"_:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            node["ceterms:accreditedBy"] = [quality]
            graph.append(self.quality_assurance(rng, quality))
        return graph

    def conditions(
        self,
        rng: random.Random,
        index: int,
        competencies: list[dict[str, Any]],
        asserted_by: list[str],
    ) -> list[dict[str, Any]]:
        """Return ``ceterms:requires`` condition profiles: competencies and prior credentials."""
        profiles = []
        if competencies:
            profiles.append(
                {
                    "@type": "ceterms:ConditionProfile",
                    "ceterms:name": lang("Required competencies"),
                    "ceterms:description": lang("Competencies a holder has demonstrated."),
                    "ceterms:assertedBy": asserted_by,
                    "ceterms:targetCompetency": competencies,
                }
            )
        prior = self.earlier(rng, index, "credential") if rng.random() < 0.2 else None
        if prior is not None:
            profiles.append(
                {
                    "@type": "ceterms:ConditionProfile",
                    "ceterms:name": lang("Prerequisite credential"),
                    "ceterms:description": lang("Candidates must already hold this credential."),
                    "ceterms:targetCredential": [iri(self.main_ctid(prior))],
                }
            )
        return profiles

    def cost(self, rng: random.Random, ctid: str) -> dict[str, Any]:
        return {
            "@type": "ceterms:CostProfile",
            "ceterms:name": lang("Tuition"),
            "ceterms:description": lang("Tuition for the whole program."),
            "ceterms:costDetails": f"https://programs.example.org/{ctid}/costs",
            "ceterms:currency": "USD",
            "ceterms:price": float(rng.randrange(100, 40_000, 50)),
            "ceterms:directCostType": concept("CostType", "costType:Tuition", "Tuition"),
        }

    def quality_assurance(self, rng: random.Random, label: str) -> dict[str, Any]:
        """Return a quality-assurance organization described as a blank node."""
        town, _ = rng.choice(PLACES)
        return {
            "@id": label,
            "@type": "ceterms:QACredentialOrganization",
            "ceterms:name": lang(f"{town} Accrediting Commission"),
            "ceterms:subjectWebpage": f"https://{town.lower().replace(' ', '-')}.example.org/",
        }

    def learning(self, index: int) -> list[dict[str, Any]]:
        """Return a learning opportunity, program or course, which often teaches competencies."""
        rng = self.rng(index, "document")
        ctid = self.main_ctid(index)
        cls = self.learning_class(index)
        teaches, skill_occupation = (
            self.competency_alignments(rng, index, rng.randint(2, 10))
            if rng.random() < 0.5
            else ([], None)
        )

        occupation = skill_occupation or self.focus(index)
        delivery, label = rng.choice(DELIVERY)
        prefix = "Introduction to" if cls == "Course" else "Training for"

        node: dict[str, Any] = {
            "@id": iri(ctid),
            "@type": f"ceterms:{cls}",
            "ceterms:ctid": ctid,
            "ceterms:name": lang(f"{prefix} {occupation.title}"),
            "ceterms:description": lang(
                f"Covers the work of {occupation.title.lower()}: {occupation.definition}"
            ),
            "ceterms:subjectWebpage": f"https://courses.example.org/{ctid}",
            "ceterms:inLanguage": ["en-US"],
            **self.owner_links(rng, index),
            "ceterms:deliveryType": [concept("Delivery", delivery, label)],
            "ceterms:estimatedDuration": [
                {
                    "@type": "ceterms:DurationProfile",
                    "ceterms:exactDuration": f"P{rng.randint(1, 24)}W",
                }
            ],
        }
        if delivery == "deliveryType:OnlineOnly":
            node["ceterms:availableOnlineAt"] = [f"https://courses.example.org/{ctid}/online"]
        else:
            node["ceterms:availableAt"] = [self.place(rng, node["ceterms:name"]["en-US"])]

        if teaches:
            node["ceterms:teaches"] = teaches
        if rng.random() < 0.6:
            node["ceterms:occupationType"] = [self.occupation_alignment(rng, occupation)]
        if rng.random() < 0.3:
            node["ceterms:estimatedCost"] = [self.cost(rng, ctid)]
        return [node]

    def assessment(self, index: int) -> list[dict[str, Any]]:
        """Return an assessment, which usually assesses competencies of one framework."""
        rng = self.rng(index, "document")
        ctid = self.main_ctid(index)
        assesses, skill_occupation = (
            self.competency_alignments(rng, index, rng.randint(2, 10))
            if rng.random() < 0.7
            else ([], None)
        )

        occupation = skill_occupation or self.focus(index)
        delivery, label = rng.choice(DELIVERY[:2])

        node: dict[str, Any] = {
            "@id": iri(ctid),
            "@type": "ceterms:AssessmentProfile",
            "ceterms:ctid": ctid,
            "ceterms:name": lang(f"{occupation.title} Examination"),
            "ceterms:description": lang(
                f"An examination of the knowledge and skills of {occupation.title.lower()}."
            ),
            "ceterms:subjectWebpage": f"https://exams.example.org/{ctid}",
            "ceterms:inLanguage": ["en-US"],
            **self.owner_links(rng, index),
            "ceterms:deliveryType": [concept("Delivery", delivery, label)],
            "ceterms:availableOnlineAt": [f"https://exams.example.org/{ctid}/register"],
        }

        if assesses:
            node["ceterms:assesses"] = assesses
        if rng.random() < 0.5:
            node["ceterms:occupationType"] = [self.occupation_alignment(rng, occupation)]
        return [node]

    def transfer(self, index: int) -> list[dict[str, Any]]:
        """Return a transfer value profile: credit for an earlier resource toward a course."""
        rng = self.rng(index, "document")
        ctid = self.main_ctid(index)
        source_kind = rng.choices(("assessment", "credential", "learning"), (4, 3, 3))[0]
        source = self.earlier(rng, index, source_kind)
        target = self.earlier_course(rng, index)

        subject = self.focus(source if source is not None else index)
        credits = float(rng.choice((1, 2, 3, 3, 3, 4, 6, 12)))

        node: dict[str, Any] = {
            "@id": iri(ctid),
            "@type": "ceterms:TransferValueProfile",
            "ceterms:ctid": ctid,
            "ceterms:name": lang(f"Credit for {subject.title}"),
            "ceterms:description": lang(
                f"Credit is recommended for {subject.title.lower()} with a passing score."
            ),
            "ceterms:subjectWebpage": f"https://transfer.example.org/{ctid}",
            "ceterms:ownedBy": self.owner_links(rng, index)["ceterms:ownedBy"],
            "ceterms:startDate": f"20{rng.randint(15, 25)}-0{rng.randint(1, 9)}-01",
            "ceterms:transferValue": [self.value(credits, subject)],
        }

        graph = [node]
        if source is not None and rng.random() < 0.7:
            node["ceterms:transferValueFrom"] = [iri(self.main_ctid(source))]
        else:
            label = f"_:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            node["ceterms:transferValueFrom"] = [label]
            graph.append(self.embedded_assessment(rng, index, label, subject))
        if target is not None:
            node["ceterms:transferValueFor"] = [iri(self.main_ctid(target))]
        return graph

    def earlier_course(self, rng: random.Random, index: int) -> int | None:
        """Return an earlier course, or ``None`` if a few random picks find none."""
        for _ in range(4):
            candidate = self.earlier(rng, index, "learning")
            if candidate is not None and self.learning_class(candidate) == "Course":
                return candidate
        return None

    def value(self, credits: float, occupation: Occupation) -> dict[str, Any]:
        return {
            "@type": "ceterms:ValueProfile",
            "schema:value": credits,
            "schema:description": lang(f"{credits:g} semester hours of lower-division credit."),
            "ceterms:subject": [alignment(None, occupation.title)],
            "ceterms:creditUnitType": [
                concept("CreditUnit", "creditUnit:DegreeCredit", "Degree Credit")
            ],
            "ceterms:creditLevelType": [
                concept("AudienceLevel", "audLevel:LowerDivisionLevel", "Lower Division Level")
            ],
        }

    def embedded_assessment(
        self, rng: random.Random, index: int, label: str, occupation: Occupation
    ) -> dict[str, Any]:
        """Return an assessment outside the registry, described as a blank node in the TVP."""
        node: dict[str, Any] = {
            "@id": label,
            "@type": "ceterms:AssessmentProfile",
            "ceterms:name": lang(f"{occupation.title} Challenge Exam"),
            "ceterms:subjectWebpage": f"https://exams.example.org/challenge/{index}",
        }
        assesses, _ = self.competency_alignments(rng, index, rng.randint(2, 6))
        if assesses:
            node["ceterms:assesses"] = assesses
        return node


def _block_start(kind: str) -> int:
    start = 0
    for name, count in BLOCK:
        if name == kind:
            return start
        start += count
    raise KeyError(kind)


def _block_count(kind: str) -> int:
    return dict(BLOCK)[kind]
