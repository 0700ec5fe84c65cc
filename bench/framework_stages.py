"""Time each stage of publishing one large competency framework, without HTTP.

    .venv/bin/python bench/framework_stages.py [--size 20000]

Prints seconds per stage: parse, validation data graph, SHACL, content hash
and store write. The benchmark page uses them to show where a framework
publish spends its time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from publish import framework  # noqa: E402

from registry.config import Settings  # noqa: E402
from registry.publishing import content_hash  # noqa: E402
from registry.service import Registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000, help="competencies in the framework")
    args = parser.parse_args()
    body = framework(args.size)

    with tempfile.TemporaryDirectory() as folder:
        registry = Registry(Settings.from_env().with_overrides(store=Path(folder) / "store"))
        validator = registry.validator
        stages = []

        started = time.perf_counter()
        document = registry.parse(body, "framework")
        stages.append(("parse JSON-LD", time.perf_counter() - started))

        started = time.perf_counter()
        data = validator.data_graph(document, [])
        stages.append(("build validation data graph", time.perf_counter() - started))

        started = time.perf_counter()
        validator.run_shacl(data)
        stages.append(("run SHACL shapes", time.perf_counter() - started))

        started = time.perf_counter()
        content_hash(document.triples)
        stages.append(("canonical content hash", time.perf_counter() - started))

        started = time.perf_counter()
        registry.store.replace_document(document)
        stages.append(("store write (on disk)", time.perf_counter() - started))
        registry.close()

    print(f"{len(document.triples)} triples")
    for name, seconds in stages:
        print(f"{name:<30} {seconds:6.2f} s")
    print(f"{'total':<30} {sum(s for _, s in stages):6.2f} s")


if __name__ == "__main__":
    main()
