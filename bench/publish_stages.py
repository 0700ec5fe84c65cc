"""Time each step of publishing small real documents, or one framework, without HTTP.

    .venv/bin/python bench/publish_stages.py [--documents 200] [--framework N]

Publishes copies of the real templates that ``bench/publish.py`` uses (or,
with ``--framework``, one generated framework of N competencies) through
``Publisher.publish`` into an on-disk store, with a timer around each step,
and prints milliseconds per document for each. It first times the benchmark's
baseline (parse and add to an in-memory pyoxigraph store) on the same
documents. The timers wrap the steps in place, so the steps add up to a little
less than the total: what is left is the glue between them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from publish import ORG, copies, framework, templates, unvalidated_load  # noqa: E402

import registry.publishing as publishing  # noqa: E402
from registry.config import Settings  # noqa: E402
from registry.service import Registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200, help="documents to publish")
    parser.add_argument(
        "--framework", type=int, help="publish one framework of this many competencies instead"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env().with_overrides(
            store=Path(folder) / "store", max_body_bytes=256 * 1024 * 1024
        )
        registry = Registry(settings)
        if args.framework:
            documents = [framework(args.framework)]
        else:
            documents = copies(templates(registry), args.documents)
        print(f"SHACL engine: {registry.validator.engine}")  # builds the shapes untimed
        baseline = unvalidated_load(registry, documents)

        seconds: dict[str, float] = defaultdict(float)
        for name, owner, attribute in steps(registry):
            setattr(owner, attribute, timed(getattr(owner, attribute), name, seconds))
        started = time.perf_counter()
        for body in documents:
            registry.publisher.publish(body, None, ORG, ORG)
        total = time.perf_counter() - started
        registry.close()

    count = len(documents)
    print(f"{count} documents, {1000 * total / count:.2f} ms per publish without HTTP")
    print(f"baseline (parse, in-memory store): {1000 * baseline / count:.2f} ms per document")
    for name, elapsed in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"  {name:<44} {1000 * elapsed / count:6.2f} ms")


def steps(registry: Registry) -> list[tuple[str, Any, str]]:
    """Return (label, object, attribute) for each timed step of a publish."""
    publisher = registry.publisher
    return [
        ("parse JSON-LD", registry, "parse"),
        ("check that the body is one document", publishing, "_check_single_document"),
        ("check the main resource's class", publishing, "_check_main_type"),
        ("stored statements about referenced resources", publisher, "_referenced"),
        ("SHACL validation", registry.validator, "validate"),
        ("canonical content hash", publishing, "content_hash"),
        ("ledger: look up the current version", registry.ledger, "current"),
        ("ledger: record the version (flushed)", registry.ledger, "record"),
        ("store write, on disk", registry.store, "replace_document"),
        ("ledger: mark the version applied", registry.ledger, "mark_applied"),
        ("full-text search index", registry.search, "index"),
        ("occupation and competency link index", registry.links, "index"),
    ]


def timed(step: Callable[..., Any], name: str, seconds: dict[str, float]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            seconds[name] += time.perf_counter() - started

    return run


if __name__ == "__main__":
    main()
