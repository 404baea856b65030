"""`metaferry-catalog serve`: the catalogue API over a repository URL, standalone."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from metaferry_catalog import __version__
from metaferry_catalog.app import make_app
from metaferry_catalog.auth import Authenticator, StaticTokens, TokenFileError
from metaferry_runtime.repository import RepositoryError, open_repository

REPOSITORY_ENV = "METAFERRY_REPOSITORY_URL"
TOKEN_FILE_ENV = "METAFERRY_CATALOG_TOKEN_FILE"
EXIT_BAD_INPUT = 2
EXIT_REPOSITORY_UNAVAILABLE = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metaferry-catalog", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the catalogue API")
    serve.add_argument("--repository", default=os.environ.get(REPOSITORY_ENV), help=f"URL (default ${REPOSITORY_ENV})")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8090)
    serve.add_argument(
        "--token-file",
        type=Path,
        default=os.environ.get(TOKEN_FILE_ENV),
        help=f"bearer tokens, one a line: TOKEN [user=NAME] [curator] (${TOKEN_FILE_ENV})",
    )
    serve.add_argument(
        "--kubernetes-auth",
        action="store_true",
        help="check tokens by TokenReview and SubjectAccessReview (read: get integrationconnectors/catalog)",
    )
    serve.add_argument("--kubeconfig", type=Path, help="with --kubernetes-auth: the API server (default: in-cluster)")
    serve.add_argument("--no-auth", action="store_true", help="serve without tokens (behind your own auth only)")
    return parser


def _authenticator(args: argparse.Namespace) -> Authenticator | None:
    if args.token_file is not None:
        return StaticTokens.from_file(Path(args.token_file))
    if not args.kubernetes_auth:
        return None
    from kubernetes import client, config

    from metaferry_catalog.kubeauth import KubernetesTokens

    if args.kubeconfig is not None:
        api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(args.kubeconfig)
        )
    else:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        api = client.ApiClient(configuration)
    return KubernetesTokens(api)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.repository:
        print(f"metaferry-catalog: give --repository or set {REPOSITORY_ENV}", file=sys.stderr)
        return EXIT_BAD_INPUT
    chosen = [args.token_file is not None, args.kubernetes_auth, args.no_auth]
    if sum(chosen) != 1:
        print("metaferry-catalog: give one of --token-file, --kubernetes-auth or --no-auth", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        tokens = _authenticator(args)
    except TokenFileError as error:
        print(f"metaferry-catalog: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        repository = open_repository(args.repository)
    except RepositoryError as error:
        print(f"metaferry-catalog: cannot open the repository: {error}", file=sys.stderr)
        return EXIT_REPOSITORY_UNAVAILABLE
    try:
        print(f"metaferry-catalog: serving {repository.url} on http://{args.host}:{args.port}", flush=True)
        # A short shutdown: open change-feed streams never end by themselves, and clients resume by Last-Event-ID.
        web.run_app(make_app(repository, tokens=tokens), host=args.host, port=args.port, print=None, shutdown_timeout=5)
    finally:
        repository.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
