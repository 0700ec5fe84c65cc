"""Time each stage of publishing one large competency framework, without HTTP.

    .venv/bin/python bench/framework_stages.py [--size 20000] [--engine native|pyshacl]

Prints seconds per stage: parse, validation (in the engine's own steps),
content hash and store write. The benchmark page uses them to show where a
framework publish spends its time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from publish import framework  # noqa: E402

from registry.config import Settings  # noqa: E402
from registry.publishing import content_hash  # noqa: E402
from registry.service import Registry  # noqa: E402
from registry.validation import Validator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000, help="competencies in the framework")
    parser.add_argument(
        "--engine", choices=("native", "pyshacl"), default="native", help="SHACL engine to time"
    )
    args = parser.parse_args()
    body = framework(args.size)

    with tempfile.TemporaryDirectory() as folder:
        registry = Registry(Settings.from_env().with_overrides(store=Path(folder) / "store"))
        validator = registry.validator.with_engine(args.engine)
        stages: list[tuple[str, float]] = []

        document = timed(stages, "parse JSON-LD", lambda: registry.parse(body, "framework"))
        validation_stages(stages, validator, document, args.engine)
        timed(stages, "canonical content hash", lambda: content_hash(document.triples))
        timed(stages, "store write (on disk)", lambda: registry.store.replace_document(document))
        registry.close()

    print(f"{len(document.triples)} triples, {args.engine} SHACL engine")
    for name, seconds in stages:
        print(f"{name:<34} {seconds:6.2f} s")
    print(f"{'total':<34} {sum(s for _, s in stages):6.2f} s")


def validation_stages(
    stages: list[tuple[str, float]], validator: Validator, document: Any, engine: str
) -> None:
    """Time validation in the steps of the chosen engine."""
    if engine == "native":
        index = timed(stages, "index the document", lambda: validator.document_index(document))
        timed(
            stages, "run the shapes, write messages", lambda: validator.check_index(document, index)
        )
        return
    data = timed(stages, "build the rdflib data graph", lambda: validator.data_graph(document, []))
    timed(stages, "run the shapes (pyshacl)", lambda: validator.run_shacl(data))


def timed(stages: list[tuple[str, float]], name: str, step: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = step()
    stages.append((name, time.perf_counter() - started))
    return result


if __name__ == "__main__":
    main()
