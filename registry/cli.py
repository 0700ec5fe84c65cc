"""The ``registry`` command: ``serve``, ``load`` and ``vocab sync``.

Every setting can come from a flag or from the matching ``REGISTRY_*``
environment variable; flags win.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from registry import __version__
from registry.config import Settings
from registry.errors import RegistryError
from registry.vocab import CTDL_CONTEXT_URL, VocabCache, sync

log = logging.getLogger("registry")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG
        if args.verbose
        else logging.INFO
        if args.command == "serve"
        else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = _settings(args)
        return int(args.handler(args, settings) or 0)
    except RegistryError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="registry", description="CTDL credential registry")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP API")
    _add_store_options(serve)
    _add_server_options(serve)
    serve.set_defaults(handler=_serve)

    load = commands.add_parser("load", help="load CTDL files or folders into the store")
    load.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file or folder")
    load.add_argument(
        "--format",
        default="ctdl",
        help="input format: ctdl (default; JSON-LD, envelopes, Turtle), soc (BLS SOC 2018 CSV), "
        "onet (O*NET-SOC 2019 CSV), esco (ESCO CSV folder [+ crosswalk CSV]), case (CASE "
        "JSON or OpenSALT CSV), osmt (OSMT skill JSON), cpl (MAP articulations CSV)",
    )
    load.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    load.add_argument(
        "--no-validate",
        dest="validate",
        action="store_false",
        help="store documents without checking them against the SHACL shapes (trusted copies)",
    )
    load.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="processes that parse and validate the files while this one stores them "
        "(default 1: this process only; only --format ctdl uses more than one)",
    )
    _add_store_options(load)
    load.set_defaults(handler=_load)

    validate = commands.add_parser(
        "validate", help="check files against the registry's SHACL shapes, offline"
    )
    validate.add_argument("paths", nargs="+", type=Path, metavar="FILE", help="file or folder")
    validate.add_argument(
        "--format", choices=["text", "json"], default="text", help="report format"
    )
    validate.add_argument("--vocab-cache", type=Path, help="vocabulary cache folder")
    validate.set_defaults(handler=_validate)

    publish = commands.add_parser(
        "publish", help="publish files to a running registry with a publisher key"
    )
    publish.add_argument("paths", nargs="+", type=Path, metavar="FILE", help="file or folder")
    publish.add_argument("--org", required=True, help="CTID of the organization to publish for")
    _add_client_options(publish)
    publish.add_argument("--dry-run", action="store_true", help="validate only, store nothing")
    publish.set_defaults(handler=_publish)

    delete = commands.add_parser("delete", help="delete a document from a running registry")
    delete.add_argument("ctid", help="CTID of the document")
    _add_client_options(delete)
    delete.set_defaults(handler=_delete)

    keys = commands.add_parser("keys", help="manage publisher keys (needs --store)")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = key_commands.add_parser("create", help="create a key for an organization")
    create.add_argument(
        "--org", required=True, help="CTID of the organization the key publishes for"
    )
    revoke = key_commands.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key", help="the key, or its id (the part between 'crk_' and the next '_')")
    key_commands.add_parser("list", help="list keys (ids and organizations, never secrets)")
    grant = key_commands.add_parser(
        "grant", help="let one organization publish on behalf of another"
    )
    grant.add_argument("--org", required=True, help="CTID of the publishing organization")
    grant.add_argument("--for", dest="owner", required=True, help="CTID of the owning organization")
    for sub_parser in (create, revoke, grant, key_commands.choices["list"]):
        sub_parser.add_argument("--store", type=Path, help="store folder (REGISTRY_STORE)")
        sub_parser.set_defaults(handler=_keys)

    vocab = commands.add_parser("vocab", help="manage the pinned vocabulary cache")
    vocab_commands = vocab.add_subparsers(dest="vocab_command", required=True, metavar="ACTION")
    vocab_sync = vocab_commands.add_parser(
        "sync", help="fill the cache from folders (--from) or from the pinned URLs"
    )
    vocab_sync.add_argument(
        "--from",
        dest="sources",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="folder or file to copy pinned files from, matched by sha256; repeatable",
    )
    vocab_sync.add_argument("--vocab-cache", type=Path, help="cache folder")
    vocab_sync.set_defaults(handler=_vocab_sync)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def _add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        help="base URL of the registry (default: REGISTRY_BASE_URL or http://127.0.0.1:8080)",
    )
    parser.add_argument("--key", help="publisher key (default: the REGISTRY_KEY variable)")


def _client(args: argparse.Namespace, settings: Settings) -> tuple[str, dict[str, str]]:
    """Return the registry URL and the Authorization header for client commands."""
    import os

    key = args.key or os.environ.get("REGISTRY_KEY")
    if not key:
        raise ValueError("give the publisher key with --key or the REGISTRY_KEY variable")
    return (args.url or settings.base_url).rstrip("/"), {"Authorization": f"Bearer {key}"}


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", type=Path, help="on-disk store folder (default: in memory; env REGISTRY_STORE)"
    )
    parser.add_argument("--base-url", help="public base URL of the registry (REGISTRY_BASE_URL)")
    parser.add_argument("--vocab-cache", type=Path, help="vocabulary cache folder")


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument("--query-timeout", type=float, help="SPARQL time limit in seconds")
    parser.add_argument("--max-results", type=int, help="maximum rows or triples per query")
    parser.add_argument("--max-body-bytes", type=int, help="maximum request body size in bytes")
    parser.add_argument("--query-workers", type=int, help="SPARQL queries run at once")


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    overrides: dict[str, Any] = {
        name: getattr(args, name, None)
        for name in (
            "store",
            "base_url",
            "vocab_cache",
            "host",
            "port",
            "query_timeout",
            "max_results",
            "max_body_bytes",
            "query_workers",
        )
    }
    settings = settings.with_overrides(**overrides)
    host_or_port_given = overrides["host"] is not None or overrides["port"] is not None
    if overrides["base_url"] is None and host_or_port_given:
        settings = settings.with_overrides(base_url=f"http://{settings.host}:{settings.port}")
    return settings


# Requests handled at once beyond the SPARQL workers and their queue (publishes, reads).
OTHER_REQUEST_THREADS = 4


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the HTTP API with waitress, a production WSGI server, in this one process.

    Only one process can open an on-disk store. The server gets a thread for
    every SPARQL worker and every waiting query, so that the registry itself
    returns 503 when its query queue is full, plus ``OTHER_REQUEST_THREADS``
    for other requests. Further requests wait in waitress's own queue.
    """
    from waitress import create_server

    from registry.http import create_app  # Flask and waitress are only needed here

    app = create_app(settings)
    registry = app.extensions["registry"]
    threads = settings.query_workers + registry.queries.queue_length + OTHER_REQUEST_THREADS
    try:
        listener = _listen(settings.host, settings.port)
    except OSError as exc:
        registry.close()
        raise ValueError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}; "
            "stop the process using that port or choose another with --host or --port"
        ) from exc
    server = create_server(app, sockets=[listener], threads=threads)
    count = sum(1 for _ in registry.store.document_ctids())
    print(f"registry serving {count} documents at {settings.base_url}/", flush=True)
    log.info("listening on %s:%d with %d threads", settings.host, settings.port, threads)
    try:
        server.run()  # returns after Ctrl-C; SIGTERM ends the process at once
    finally:
        registry.close()
        log.info("registry stopped")
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """Open the listening socket on the first address ``host`` resolves to.

    Binding here, before waitress starts its threads, lets a busy port fail
    with a plain error and nothing left open.
    """
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from loaders import LOADERS, loader_class
    from registry.service import Registry

    if args.format not in LOADERS:
        print(
            f"error: unknown --format {args.format!r}; available: {', '.join(sorted(LOADERS))}",
            file=sys.stderr,
        )
        return 2
    for path in args.paths:
        if not path.exists():
            print(f"error: {path}: no such file or folder", file=sys.stderr)
            return 2

    if args.workers is None:
        # NOTE: one process by default. On the 2-CPU benchmark machine two workers
        # did not shorten a 10,000-document load: the writing process is the limit.
        args.workers = 1
    registry = Registry(settings)
    try:
        loader = loader_class(args.format)(registry)
        counts = _run_loader(
            loader,
            registry,
            args.paths,
            args.quiet,
            sys.stdout,
            validate=args.validate,
            workers=args.workers,
        )
    finally:
        registry.close()
    return 1 if counts["failed"] else 0


# A load writes documents in batches: one ledger commit and one store
# transaction per batch instead of per document.
BATCH_DOCUMENTS = 250
BATCH_TRIPLES = 200_000


def _run_loader(
    loader: Any,
    registry: Any,
    paths: list[Path],
    quiet: bool,
    out: TextIO,
    validate: bool = True,
    workers: int = 1,
) -> Counter:
    """Load every file, printing a line per unit and a summary.

    With ``validate``, a document with a SHACL violation is reported as failed
    and not stored, as a publish would be refused. Valid documents are stored
    in batches (``Publisher.record_loads``). NOTE: the inverse-link hints
    (sh:Info) of a document do not see documents of its own unstored batch.
    With ``workers`` above 1, worker processes read and validate the files
    (``registry.bulk``) and the outcome is the same.
    """
    from tqdm import tqdm

    files = loader.discover(paths)
    counts: Counter = Counter()
    failures: list[str] = []
    batch: list[Any] = []
    bar = tqdm(
        total=len(files), unit="file", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False
    )

    def flush() -> None:
        _store_batch(registry, [o for o in batch if o.document is not None and not o.error])
        for outcome in batch:
            counts[outcome.status] += 1
            _report(outcome, quiet, out, failures, bar)
        batch.clear()

    outcomes = _outcomes(loader, registry, files, validate, workers, bar.update)
    try:
        for outcome in outcomes:
            batch.append(outcome)
            if _batch_full(batch):
                flush()
    finally:
        outcomes.close()
    flush()
    bar.close()
    _summary(counts, failures, out)
    return counts


def _outcomes(
    loader: Any,
    registry: Any,
    files: list[Path],
    validate: bool,
    workers: int,
    progress: Callable[[], Any],
) -> Generator[Any, None, None]:
    """Yield the outcome of each unit of the files in order, validated if ``validate``.

    The caller writes each full batch before it takes the next outcome, so
    every document is validated against the batches stored before its own.
    """
    workers = min(workers, len(files))
    if workers > 1 and loader.independent_files:
        from registry.bulk import parallel_outcomes

        return parallel_outcomes(
            type(loader),
            registry,
            files,
            workers=workers,
            validate=validate,
            validate_outcome=_validate_outcome_for_load,
            batch_full=_batch_full,
            progress=progress,
        )
    return _read_in_process(loader, registry, files, validate, progress)


def _read_in_process(
    loader: Any, registry: Any, files: list[Path], validate: bool, progress: Callable[[], Any]
) -> Generator[Any, None, None]:
    for path in files:
        for outcome in loader.read(path):
            if outcome.document is not None and validate:
                _validate_outcome_for_load(registry, outcome)
            yield outcome
        progress()


def _batch_full(batch: list[Any]) -> bool:
    return len(batch) >= BATCH_DOCUMENTS or _batch_triples(batch) >= BATCH_TRIPLES


def _batch_triples(batch: list[Any]) -> int:
    return sum(len(o.document.triples) for o in batch if o.document is not None)


def _validate_outcome_for_load(registry: Any, outcome: Any) -> None:
    """Validate one loaded document, recording the violations on the outcome."""
    try:
        document, report = registry.publisher.validate_document(outcome.document)
    except RegistryError as exc:
        outcome.error = exc.detail
        return
    if not report.conforms:
        outcome.error = _violation_summary(document, report)


def _store_batch(registry: Any, outcomes: list[Any]) -> None:
    """Store the documents of a batch; if the batch fails, record why on each of them."""
    if not outcomes:
        return
    try:
        registry.publisher.record_loads([outcome.document for outcome in outcomes])
    except RegistryError as exc:
        for outcome in outcomes:
            outcome.error = f"storing failed: {exc.detail}"


def _violation_summary(document: Any, report: Any, shown: int = 3) -> str:
    """Say why validation rejected a document: the count and the first few violations."""
    from registry.publishing import report_to_dict

    violations = [
        result
        for result in report_to_dict(document, report)["results"]
        if result["severity"] == "Violation"
    ]
    lines = [f"rejected by validation, {len(violations)} violation(s), nothing stored:"]
    for result in violations[:shown]:
        where = result.get("path") or result["focus"]
        lines.append(f"    {where}: {result['message']}")
    if len(violations) > shown:
        lines.append(f"    ... and {len(violations) - shown} more (see `registry validate`)")
    return "\n".join(lines)


def _report(outcome: Any, quiet: bool, out: TextIO, failures: list[str], bar: Any) -> None:
    status = outcome.status
    if status == "failed":
        failures.append(f"{outcome.source}: {outcome.error}")
        if not quiet:
            bar.write(f"FAILED  {outcome.source}: {outcome.error}", file=out)
        return
    if quiet:
        return
    if status == "skipped":
        bar.write(f"skipped {outcome.source}: {outcome.skipped}", file=out)
        return
    document = outcome.document
    label = "warned " if status == "warned" else "loaded "
    bar.write(
        f"{label} {outcome.source} -> {document.ctid} ({len(document.triples)} triples)", file=out
    )
    for warning in document.warnings:
        bar.write(f"          warning at {warning.key}: {warning.message}", file=out)


def _summary(counts: Counter, failures: list[str], out: TextIO) -> None:
    loaded = counts["loaded"] + counts["warned"]
    print(
        f"\n{loaded} documents loaded ({counts['warned']} with warnings), "
        f"{counts['failed']} failed, {counts['skipped']} skipped (not input for this format)",
        file=out,
    )
    if failures:
        print("failed:", file=out)
        for failure in failures:
            print(f"  {failure}", file=out)


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    """Send each file to ``POST /resources/organizations/{org}/documents`` and print the result."""
    import requests

    url, headers = _client(args, settings)
    endpoint = f"{url}/resources/organizations/{args.org}/documents"
    failed = 0
    for path in _files(args.paths):
        if not path.is_file():
            print(f"error: {path}: no such file", file=sys.stderr)
            failed += 1
            continue
        media_type = "text/turtle" if path.suffix.lower() == ".ttl" else "application/ld+json"
        try:
            response = requests.post(
                endpoint,
                data=path.read_bytes(),
                params={"dry_run": "true"} if args.dry_run else None,
                headers={**headers, "Content-Type": media_type},
                timeout=600,
            )
        except requests.RequestException as exc:
            print(f"error: cannot reach the registry at {url}: {exc}", file=sys.stderr)
            return 2
        failed += 0 if response.ok else 1
        _print_response(str(path), response)
    return 1 if failed else 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    import requests

    url, headers = _client(args, settings)
    try:
        response = requests.delete(
            f"{url}/resources/documents/{args.ctid}", headers=headers, timeout=60
        )
    except requests.RequestException as exc:
        print(f"error: cannot reach the registry at {url}: {exc}", file=sys.stderr)
        return 2
    _print_response(args.ctid, response)
    return 0 if response.ok else 1


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonld", ".ttl"))
            )
        else:
            found.append(path)
    return found


def _print_response(label: str, response: Any) -> None:
    """Print one line for a publish or delete response, and each error of a rejection."""
    try:
        body = response.json()
    except ValueError:
        print(f"FAILED  {label}: HTTP {response.status_code}")
        return
    if response.ok:
        version = body.get("version", {}).get("version", "-")
        print(f"{body.get('status', 'ok'):<9} {label} -> {body.get('ctid')} (version {version})")
        return
    detail = str(body.get("detail", "")).replace(
        "; fix each entry in 'errors' and publish again", "; fix these and publish again:"
    )
    print(f"FAILED  {label}: HTTP {response.status_code}: {detail}")
    for error in body.get("errors", []):
        if error.get("severity") == "Violation":
            print(f"          {error.get('path') or error.get('focus')}: {error.get('message')}")
    for warning in body.get("warnings", []):
        print(f"          parse warning at {warning.get('key')}: {warning.get('message')}")


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    """Create, revoke, list or grant publisher keys in the store's ledger.

    Only the ledger (SQLite) is opened, so this works while `registry serve`
    has the document store open.
    """
    from registry.ctid import normalize_ctid
    from registry.ledger import Ledger
    from registry.service import LEDGER_FILE

    if settings.store is None:
        print(
            "error: keys live in a store; give --store PATH or set REGISTRY_STORE", file=sys.stderr
        )
        return 2
    if not settings.store.is_dir():
        print(
            f"error: no store at {settings.store}; check the path, or create the store first "
            "with `registry load` or `registry serve`",
            file=sys.stderr,
        )
        return 2
    ledger = Ledger(settings.store / LEDGER_FILE)
    try:
        if args.keys_command == "create":
            org = normalize_ctid(args.org, "--org")
            key = ledger.create_key(org)
            print(f"created a publisher key for {org}; it is shown only once:")
            print(key)
        elif args.keys_command == "revoke":
            key_id = args.key.split("_")[1] if args.key.startswith("crk_") else args.key
            if not ledger.revoke_key(key_id):
                print(f"error: no active key with id {key_id}", file=sys.stderr)
                return 1
            print(f"revoked key {key_id}")
        elif args.keys_command == "grant":
            publisher = normalize_ctid(args.org, "--org")
            owner = normalize_ctid(args.owner, "--for")
            ledger.grant(publisher, owner)
            print(f"{publisher} may now publish on behalf of {owner}")
        else:
            for key in ledger.keys():
                state = f"revoked {key.revoked}" if key.revoked else "active"
                print(f"{key.key_id}  {key.org}  created {key.created}  {state}")
    finally:
        ledger.close()
    return 0


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    """Validate files offline with the same parser and shapes as publishing."""
    import json

    from loaders.ctdl import CtdlLoader
    from registry.service import Registry

    # Offline: an in-memory store, never the configured one, which a running server locks.
    registry = Registry(replace(settings, store=None))
    registry.cache.load_json(
        CTDL_CONTEXT_URL
    )  # a missing cache is the user's setup, not the file's
    failed = 0
    reports = []
    try:
        loader = CtdlLoader(registry)
        for path in loader.discover(args.paths):
            for outcome in loader.read(path):
                entry = _validate_outcome(registry, outcome)
                if entry is None:
                    if args.format == "text":
                        print(f"skipped {outcome.source}: {outcome.skipped}")
                    continue
                failed += 0 if entry["conforms"] else 1
                reports.append(entry)
                if args.format == "text":
                    _print_validation(entry)
    finally:
        registry.close()
    if args.format == "json":
        print(json.dumps(reports, indent=2, ensure_ascii=False))
    else:
        print(f"\n{len(reports) - failed} of {len(reports)} files conform")
    return 1 if failed else 0


def _validate_outcome(registry: Any, outcome: Any) -> dict[str, Any] | None:
    """Validate one loader outcome; return ``None`` for a file that is not a CTDL document."""
    from registry.publishing import report_to_dict

    if outcome.skipped:
        return None
    if outcome.error:
        return {"file": outcome.source, "conforms": False, "error": outcome.error}
    try:
        document, report = registry.publisher.validate_document(outcome.document)
    except RegistryError as exc:
        return {"file": outcome.source, "conforms": False, "error": exc.detail}
    return {
        "file": outcome.source,
        "ctid": document.ctid,
        "conforms": report.conforms,
        "warnings": [w.to_dict() for w in document.warnings],
        "results": report_to_dict(document, report)["results"],
    }


def _print_validation(entry: dict[str, Any]) -> None:
    if "error" in entry:
        print(f"INVALID {entry['file']}: {entry['error']}")
        return
    label = "ok     " if entry["conforms"] else "INVALID"
    print(f"{label} {entry['file']} ({entry['ctid']})")
    for warning in entry["warnings"]:
        print(f"          parse warning at {warning['key']}: {warning['message']}")
    for result in entry["results"]:
        print(f"          {result['severity']}: {result['message']}")


def _vocab_sync(args: argparse.Namespace, settings: Settings) -> int:
    cache = VocabCache(settings.vocab_cache_dir)
    download = not args.sources
    results = sync(cache, args.sources, download=download)
    missing = 0
    for result in results:
        if result.status == "missing":
            missing += 1
            detail = "; ".join(result.problems) or "no file with the pinned sha256 was found"
            print(f"missing    {result.pinned.url}: {detail}")
        else:
            print(f"{result.status:<10} {result.pinned.url} ({result.pinned.name})")
    print(f"\nvocabulary cache {cache.folder}: {len(results) - missing} of {len(results)} files")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
