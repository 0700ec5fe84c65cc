"""Generate a synthetic CTDL registry: JSON-LD files for `registry load`, N-Quads for Oxigraph.

Run from the project root (after scripts/setup.sh):

    .venv/bin/python bench/generate.py --documents 10000 --output /tmp/ctdl-10000

The output folder gets:

- ``documents/NNNN/NNNNNNN.json``: one JSON-LD ``/graph`` document per file,
  1,000 files per folder, in index order (``registry load DIR/documents``);
- ``data.nq``: the same documents as N-Quads, each in the named graph the
  registry gives it (``{base URL}/graph/{ctid}``), parsed by the registry's
  own JSON-LD parser so both stores hold the same quads, with blank-node
  labels made unique per document (``oxigraph load --file DIR/data.nq``);
- ``manifest.json``: seed, counts by kind, quads, bytes, and the query
  parameters the query benchmark uses (occupation codes, competency and
  credential CTIDs, search words), taken from the data itself.

The same seed always gives the same bytes, and the first N documents of a
larger data set are the data set of N documents (see ``bench/synthetic.py``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pyoxigraph as ox  # noqa: E402
from synthetic import Generator, read_soc  # noqa: E402

from registry.config import Settings  # noqa: E402

SHARED_DATA = Path(os.environ.get("REGISTRY_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_SOC = SHARED_DATA / "occupations" / "osmt-BLS-Import-SOC2018.csv"
SAMPLE_SIZE = 40  # query parameters kept per kind
FILES_PER_FOLDER = 1000

_worker: dict[str, Any] = {}


def document_path(output: Path, index: int) -> Path:
    return output / "documents" / f"{index // FILES_PER_FOLDER:04d}" / f"{index:07d}.json"


def _start_worker(seed: int, soc: Path, base_url: str, nquads: bool) -> None:
    """Set up a worker process: the generator and, for N-Quads, the registry's parser."""
    _worker["generator"] = Generator(seed, read_soc(soc))
    _worker["graph_prefix"] = base_url.rstrip("/") + "/graph/"
    _worker["loader"] = None
    if nquads:
        from registry.jsonld import PinnedLoader
        from registry.vocab import VocabCache

        _worker["loader"] = PinnedLoader(VocabCache(Settings.from_env().vocab_cache_dir))


def _build(index: int) -> tuple[int, str, bytes, str, dict[str, list[str]]]:
    """Build one document: its kind, JSON bytes, N-Quads text and query-parameter facts."""
    generator: Generator = _worker["generator"]
    document = generator.document(index)
    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    quads = ""
    if _worker["loader"] is not None:
        quads = to_nquads(data, index, _worker["loader"], _worker["graph_prefix"])
    return index, generator.kind(index), data, quads, facts(generator.kind(index), document)


def to_nquads(data: bytes, index: int, loader: Any, graph_prefix: str) -> str:
    """Parse a document as the registry does and write it as N-Quads in its own graph.

    Blank-node labels in N-Quads are scoped to the whole file, so each one is
    renamed ``d{index}b{n}``: unique in the file and the same on every run.
    """
    from registry.ingest import parse_document

    document = parse_document(data, f"document {index}", loader)
    graph = ox.NamedNode(graph_prefix + document.ctid)
    labels: dict[str, ox.BlankNode] = {}

    def relabel(term: Any) -> Any:
        if isinstance(term, ox.BlankNode):
            return labels.setdefault(term.value, ox.BlankNode(f"d{index}b{len(labels)}"))
        return term

    quads = [
        ox.Quad(relabel(t.subject), t.predicate, relabel(t.object), graph) for t in document.triples
    ]
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS).decode("utf-8")


def facts(kind: str, document: dict[str, Any]) -> dict[str, list[str]]:
    """Return the identifiers in a document that make good query parameters."""
    main = document["@graph"][0]
    found: dict[str, list[str]] = {"resource": [main["ceterms:ctid"]]}
    if kind in ("credential", "learning", "assessment"):
        for profile in main.get("ceterms:requires", []):
            found.setdefault("competency", []).extend(
                _ctid(a["ceterms:targetNode"]) for a in profile.get("ceterms:targetCompetency", [])
            )
            found.setdefault("required_credential", []).extend(
                _ctid(iri) for iri in profile.get("ceterms:targetCredential", [])
            )
        for key in ("ceterms:teaches", "ceterms:assesses"):
            found.setdefault("competency", []).extend(
                _ctid(a["ceterms:targetNode"]) for a in main.get(key, [])
            )
    if kind == "transfer":
        found["transfer_source"] = [
            _ctid(iri) for iri in main["ceterms:transferValueFrom"] if not iri.startswith("_:")
        ]
    return found


def _ctid(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


class Parameters:
    """Collects up to ``SAMPLE_SIZE`` distinct identifiers per kind, in index order."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, None]] = {}

    def add(self, found: dict[str, list[str]]) -> None:
        for kind, values in found.items():
            kept = self.values.setdefault(kind, {})
            for value in values:
                if len(kept) < SAMPLE_SIZE:
                    kept[value] = None

    def to_dict(self, generator: Generator) -> dict[str, list[str]]:
        result = {kind: list(values) for kind, values in self.values.items()}
        result["occupation"] = occupation_codes(generator)
        result["search"] = search_words(generator)
        return result


def occupation_codes(generator: Generator) -> list[str]:
    """Return SOC codes from popular to rare, plus the broad and minor groups of the top one."""
    ranked = generator.occupations
    picks = [ranked[rank].code for rank in (0, 1, 2, 5, 10, 30, 100, 300) if rank < len(ranked)]
    top = ranked[0].code
    return picks + [top[:6] + "0", top[:4] + "000"]


def search_words(generator: Generator) -> list[str]:
    """Return one distinctive word from each of the most popular occupation titles."""
    words: list[str] = []
    for occupation in generator.occupations[:40]:
        longest = max(occupation.title.replace(",", "").split(), key=len).lower()
        if longest not in words and len(longest) > 4:
            words.append(longest)
    return words[:10]


def generate(args: argparse.Namespace) -> dict[str, Any]:
    """Write the documents, the N-Quads file and the manifest; return the manifest."""
    output: Path = args.output
    output.mkdir(parents=True, exist_ok=True)
    base_url = args.base_url or Settings.from_env().base_url
    generator = Generator(args.seed, read_soc(args.soc))
    kinds: Counter = Counter()
    parameters = Parameters()
    json_bytes = 0
    quad_count = 0
    started = time.perf_counter()

    nquads_file = (output / "data.nq").open("w", encoding="utf-8") if args.nquads else None
    initargs = (args.seed, args.soc, base_url, args.nquads)
    with multiprocessing.Pool(args.workers, _start_worker, initargs) as pool:
        built = pool.imap(_build, range(args.documents), chunksize=16)
        for index, kind, data, quads, found in built:
            path = document_path(output, index)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if nquads_file is not None:
                nquads_file.write(quads)
                quad_count += quads.count("\n")
            kinds[kind] += 1
            json_bytes += len(data)
            parameters.add(found)
    if nquads_file is not None:
        nquads_file.close()

    manifest = {
        "seed": args.seed,
        "documents": args.documents,
        "kinds": dict(sorted(kinds.items())),
        "competencies": sum(
            generator.framework_size(i)
            for i in range(args.documents)
            if generator.kind(i) == "framework"
        ),
        "json_bytes": json_bytes,
        "quads": quad_count if args.nquads else None,
        "base_url": base_url,
        "soc": str(args.soc.resolve()),
        "seconds": round(time.perf_counter() - started, 1),
        "parameters": parameters.to_dict(generator),
    }
    (output / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000, help="number of documents")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--output", type=Path, required=True, help="folder to write")
    parser.add_argument("--soc", type=Path, default=DEFAULT_SOC, help="BLS SOC 2018 CSV file")
    parser.add_argument(
        "--base-url", help="registry base URL that names the graphs in data.nq (REGISTRY_BASE_URL)"
    )
    parser.add_argument(
        "--no-nquads", dest="nquads", action="store_false", help="skip data.nq (faster)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes (default: CPUs)"
    )
    args = parser.parse_args(argv)
    manifest = generate(args)
    summary = {k: v for k, v in manifest.items() if k != "parameters"}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
