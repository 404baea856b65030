"""`metaferry-runtime`: run one connector from an IntegrationConnector manifest, without Kubernetes or in a pod."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from metaferry_runtime import __version__
from metaferry_runtime.secured import SECRETS_DIR_ENV, SECRETS_DIR_FLAG

if TYPE_CHECKING:
    from metaferry_runtime.repository import MetadataRepository
    from metaferry_runtime.resource import ConnectorResource

EXIT_OK = 0
EXIT_CONNECTOR_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_REPOSITORY_UNAVAILABLE = 3

REPOSITORY_ENV = "METAFERRY_REPOSITORY_URL"
LISTEN_HOST_ENV = "METAFERRY_LISTEN_HOST"
SEARCH_INDEX_ENV = "METAFERRY_SEARCH_INDEX"
DEFAULT_REPOSITORY = "sqlite:///metaferry.db"
DEFAULT_PORT = 8080
SECRETS_DIR_HELP = f"directory of secured properties, one file per key (default ${SECRETS_DIR_ENV})"

EPILOG = f"""\
exit codes:
  {EXIT_OK}  success (for --once: the refresh succeeded)
  {EXIT_CONNECTOR_FAILED}  the connector failed (it could not start, or its refresh failed)
  {EXIT_BAD_INPUT}  bad usage or an invalid manifest, token or secrets directory
  {EXIT_REPOSITORY_UNAVAILABLE}  the open metadata repository cannot be opened

environment:
  {REPOSITORY_ENV}     repository URL when --repository is not given (default {DEFAULT_REPOSITORY})
  METAFERRY_API_TOKEN_FILE     file holding the bearer token for POST /refresh and /restart
  METAFERRY_API_TOKEN          the bearer token itself (when no token file is given)
  {SECRETS_DIR_ENV}        directory of secured properties (one file per key), when {SECRETS_DIR_FLAG} is not given
  {LISTEN_HOST_ENV}        host to listen on when --listen is not given (default 0.0.0.0)
  {SEARCH_INDEX_ENV}      the search index directory of `search` when --index is not given
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metaferry-runtime",
        description="Run an open-metadata integration connector described by an IntegrationConnector manifest.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_repository(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--repository",
            metavar="URL",
            default=os.environ.get(REPOSITORY_ENV, DEFAULT_REPOSITORY),
            help=f"open metadata repository: sqlite:///FILE or postgresql://... (default ${REPOSITORY_ENV} or"
            f" {DEFAULT_REPOSITORY})",
        )

    run = commands.add_parser(
        "run", help="run a connector", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    run.add_argument("manifest", metavar="FILE.yaml", help="an IntegrationConnector manifest")
    run.add_argument("--once", action="store_true", help="start, refresh once, disconnect, print a summary")
    add_repository(run)
    run.add_argument(
        "--listen",
        metavar="ADDR",
        help=f"HOST:PORT for the HTTP API (default ${LISTEN_HOST_ENV} or 0.0.0.0, port {DEFAULT_PORT})",
    )
    run.add_argument("--token-file", metavar="FILE", help="bearer token file for POST calls")
    run.add_argument(SECRETS_DIR_FLAG, metavar="DIR", help=SECRETS_DIR_HELP)
    run.add_argument(
        "--shutdown-grace",
        metavar="DURATION",
        default="10s",
        help="time given to running calls at shutdown (default 10s)",
    )
    run.add_argument("--log-format", choices=("json", "text"), default=None, help="json in pods, text otherwise")

    check = commands.add_parser("check", help="test the connection step by step with a dry-run refresh")
    check.add_argument("manifest", metavar="FILE.yaml")
    add_repository(check)
    check.add_argument(SECRETS_DIR_FLAG, metavar="DIR", help=SECRETS_DIR_HELP)
    check.add_argument(
        "--result-file",
        metavar="PATH",
        help="also write the steps as JSON here (in a pod: /dev/termination-log, read by `metaferry check`)",
    )

    elements = commands.add_parser("elements", help="list or search what the repository holds")
    add_repository(elements)
    elements.add_argument("--type", dest="type_name", help="only this type (and its subtypes)")
    elements.add_argument("--search", help="case-insensitive text in names and descriptions")
    elements.add_argument("--collection", help="only elements owned by this metadata collection")
    elements.add_argument("--archived", action="store_true", help="include archived elements")
    elements.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")

    search = commands.add_parser("search", help="query the search-indexer's full-text index, without a runtime")
    search.add_argument("text", metavar="TEXT", help='words, "a phrase", -excluded, or field:word')
    search.add_argument("--type", dest="type_name", help="only elements of this type (and its subtypes)")
    search.add_argument(
        "--index",
        metavar="DIR",
        default=os.environ.get(SEARCH_INDEX_ENV, "."),
        help=f"the search-indexer's endpoint directory (default ${SEARCH_INDEX_ENV} or the current directory)",
    )
    search.add_argument("--limit", type=int, default=10, help="at most this many (default 10)")
    search.add_argument("--output", choices=("table", "json"), default="table", help="json: with scores, highlights")

    migrate = commands.add_parser(
        "migrate",
        help="bring the repository's schema to this version, once, under a lock (a Helm hook Job runs it)",
    )
    add_repository(migrate)

    connectors = commands.add_parser(
        "connectors", help="list the installed connectors: service, description, configuration properties"
    )
    connectors.add_argument(
        "--output", choices=("table", "json"), default="table", help="json: with each configuration schema"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {
        "run": _run,
        "check": _check,
        "elements": _elements,
        "search": _search,
        "connectors": _connectors,
        "migrate": _migrate,
    }[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        return EXIT_CONNECTOR_FAILED


def _fail(message: str, code: int) -> int:
    print(f"metaferry-runtime: {message}", file=sys.stderr)
    return code


def _load(args: argparse.Namespace) -> tuple[ConnectorResource, dict[str, str] | None] | int:
    """The manifest and the secured properties (None when no secrets directory was given)."""
    from metaferry_runtime.resource import ManifestError, load_manifest
    from metaferry_runtime.secured import read_secured_properties

    try:
        resource = load_manifest(args.manifest)
    except ManifestError as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    directory = args.secrets_dir or os.environ.get(SECRETS_DIR_ENV)
    try:
        secrets = read_secured_properties(directory) if directory else None
    except (OSError, ValueError) as error:
        return _fail(f"cannot read secured properties: {error}", EXIT_BAD_INPUT)
    return resource, secrets


def _open_repository(url: str) -> MetadataRepository | int:
    from metaferry_runtime.repository import open_repository

    try:
        return open_repository(url)
    except Exception as error:
        return _fail(f"cannot open the repository {_redact_url(url)}: {error}", EXIT_REPOSITORY_UNAVAILABLE)


def _migrate(args: argparse.Namespace) -> int:
    """Opening a repository applies the missing schema versions in one transaction under the schema lock (an
    advisory lock on PostgreSQL), so concurrent migrators take turns; a schema newer than this runtime is
    refused with the versions named (exit 3)."""
    from metaferry_runtime.repository.sql.schema import LATEST_VERSION

    repository = _open_repository(args.repository)
    if isinstance(repository, int):
        return repository
    try:
        print(f"metaferry-runtime: repository {repository.url} is at schema version {LATEST_VERSION}")
    finally:
        repository.close()
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from metaferry_runtime.api import load_api_token
    from metaferry_runtime.audit import SecretMasker
    from metaferry_runtime.lifecycle import ConnectorRuntime, RuntimeSettings
    from metaferry_runtime.logs import configure_logging
    from metaferry_runtime.resource import parse_duration
    from metaferry_runtime.serve import ListenAddress, serve
    from metaferry_runtime.summary import print_refresh_summary

    log_format = args.log_format or ("json" if os.environ.get("KUBERNETES_SERVICE_HOST") else "text")
    masker = SecretMasker()  # shared by the log handler and the runtime, which adds the API token to it
    configure_logging(log_format=log_format, masker=masker)
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    resource, secrets = loaded
    masker.add((secrets or {}).values())
    try:
        grace = parse_duration(args.shutdown_grace)
        listen = ListenAddress.parse(args.listen or f"{os.environ.get(LISTEN_HOST_ENV) or '0.0.0.0'}:{DEFAULT_PORT}")
        token = None if args.once else load_api_token(args.token_file)
    except (ValueError, OSError) as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    repository = _open_repository(args.repository)
    if isinstance(repository, int):
        return repository
    runtime = ConnectorRuntime(
        resource=resource,
        repository=repository,
        secured_properties=secrets,
        masker=masker,
        settings=RuntimeSettings(shutdown_grace=grace),
    )
    try:
        if args.once:
            record = asyncio.run(runtime.run_once())
            print_refresh_summary(runtime, record, repository_url=_redact_url(args.repository))
            ok = record is not None and record.error is None
            return EXIT_OK if ok else EXIT_CONNECTOR_FAILED
        asyncio.run(serve(runtime, listen=listen, token=token))
        return EXIT_OK
    finally:
        repository.close()


def _check(args: argparse.Namespace) -> int:
    from metaferry_runtime.audit import SecretMasker
    from metaferry_runtime.check import check_connector, check_passed, result_document
    from metaferry_runtime.logs import configure_logging

    masker = SecretMasker()
    configure_logging(log_format="text", masker=masker, level="WARNING")  # warnings and errors, on stderr
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    resource, secrets = loaded
    masker.add((secrets or {}).values())
    repository = _open_repository(args.repository)
    if isinstance(repository, int):
        return repository
    try:
        steps = check_connector(resource, repository, secrets, masker=masker)
    finally:
        repository.close()
    for step in steps:
        print(f"{'ok ' if step.ok else 'FAIL'}  {step.name:<16} {step.detail}")
    if args.result_file:
        with open(args.result_file, "w", encoding="utf-8") as result:
            result.write(result_document(steps))
    return EXIT_OK if check_passed(steps) else EXIT_CONNECTOR_FAILED


def _elements(args: argparse.Namespace) -> int:
    from metaferry_runtime.repository import Page

    repository = _open_repository(args.repository)
    if isinstance(repository, int):
        return repository
    try:
        with repository.transaction(actor="metaferry-cli") as transaction:
            found = transaction.find_elements(
                search_string=args.search,
                type_name=args.type_name,
                metadata_collection=args.collection,
                include_archived=args.archived,
                page=Page(start_from=0, page_size=max(1, min(args.limit, 10_000))),
            )
    except Exception as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    finally:
        repository.close()
    rows = [("TYPE", "QUALIFIED NAME", "OWNER", "VERSION", "STATUS")]
    rows += [(e.type_name, e.qualified_name, e.metadata_collection, str(e.version), e.status.value) for e in found]
    for line in _table(rows):
        print(line)
    print(f"({len(found)} element{'s' if len(found) != 1 else ''})")
    return EXIT_OK


def _search(args: argparse.Namespace) -> int:
    import json

    from metaferry_runtime.sdk.search import SearchIndex, SearchIndexError

    if not 1 <= args.limit <= 1000:
        return _fail("--limit must be from 1 to 1000", EXIT_BAD_INPUT)
    try:
        results = SearchIndex(args.index, writable=False).search(args.text, type_name=args.type_name, limit=args.limit)
    except SearchIndexError as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    if args.output == "json":
        print(json.dumps(results.to_wire(), indent=2))
        return EXIT_OK
    for problem in results.problems:
        print(f"metaferry-runtime: part of the query was ignored: {problem}", file=sys.stderr)
    rows = [("SCORE", "TYPE", "QUALIFIED NAME", "OWNER")]
    rows += [(f"{hit.score:.2f}", hit.type_name, hit.qualified_name, hit.metadata_collection) for hit in results.hits]
    for line in _table(rows):
        print(line)
    print(f"({len(results.hits)} hit{'s' if len(results.hits) != 1 else ''})")
    return EXIT_OK


def _connectors(args: argparse.Namespace) -> int:
    """Every entry point of group metaferry.connectors; one that fails to import is listed with its error."""
    import json

    from metaferry_runtime.sdk.broker import available_connectors, resolve_connector_class

    described: list[dict[str, Any]] = []
    for name, target in sorted(available_connectors().items()):
        entry: dict[str, Any] = {"name": name, "class": target}
        try:
            connector_class = resolve_connector_class(name)
        except Exception as error:
            entry.update(service=None, description=f"cannot be loaded: {error}", configuration=None)
        else:
            model = connector_class.configuration_model
            entry.update(
                service=connector_class.integration_service,
                description=(connector_class.__doc__ or "").strip().split("\n")[0],
                configuration=model.model_json_schema(by_alias=True) if model is not None else None,
            )
        described.append(entry)
    if args.output == "json":
        print(json.dumps(described, indent=2))
        return EXIT_OK
    rows = [("NAME", "SERVICE", "DESCRIPTION")]
    rows += [(entry["name"], entry["service"] or "any", entry["description"]) for entry in described]
    indent = " " * (max(len(row[0]) for row in rows) + 2)
    for index, line in enumerate(_table(rows)):
        print(line)
        schema = described[index - 1]["configuration"] if index else None
        if schema:
            print(indent + "properties: " + ", ".join(schema.get("properties", {})))
    return EXIT_OK


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Rows as aligned columns, two spaces apart (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _redact_url(url: str) -> str:
    """Hide a password in a database URL before it is printed."""
    scheme, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:****@{host}" if ":" in credentials else url


if __name__ == "__main__":
    sys.exit(main())
