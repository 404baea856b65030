"""The `metaferry` command: global options in the kubectl style, one module per group of commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from metaferry_cli import __version__, catalog_commands, check_command, connector_commands, logs_command
from metaferry_cli.errors import CliError
from metaferry_cli.output import FORMATS, Output

#: What a command returns: the process's exit code (0 done, 1 the work failed, 2 bad input or no answer).
Command = Callable[[argparse.Namespace, Output], int]

CATALOG_URL_ENV = "METAFERRY_CATALOG_URL"
CATALOG_TOKEN_ENV = "METAFERRY_CATALOG_TOKEN"


def common_options() -> argparse.ArgumentParser:
    """Accepted after every command, as kubectl's are: `metaferry status files -n data -o json`."""
    common = argparse.ArgumentParser(add_help=False)
    cluster = common.add_argument_group("cluster (the user's kubeconfig, as kubectl reads it)")
    cluster.add_argument("--kubeconfig", help="kubeconfig file (default $KUBECONFIG, then ~/.kube/config)")
    cluster.add_argument("--context", help="the kubeconfig context to use (default: its current context)")
    cluster.add_argument("-n", "--namespace", help="the namespace (default: the context's, else default)")
    cluster.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace (status)")
    catalog = common.add_argument_group("catalogue API (search, show, lineage, curate)")
    catalog.add_argument(
        "--catalog",
        default=os.environ.get(CATALOG_URL_ENV),
        help=f"the catalogue API's base URL, e.g. http://127.0.0.1:8090 (${CATALOG_URL_ENV})",
    )
    catalog.add_argument(
        "--catalog-token",
        default=os.environ.get(CATALOG_TOKEN_ENV),
        help=f"bearer token for the catalogue API (${CATALOG_TOKEN_ENV}; never printed)",
    )
    catalog.add_argument(
        "--repository",
        metavar="URL",
        help="instead of --catalog: a local repository (e.g. sqlite:///metaferry.db), read through a private"
        " catalogue for this command; for check --file, the repository of the dry run",
    )
    common.add_argument("-o", "--output", choices=FORMATS, default="text", help="text (default), json or yaml")
    return common


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="metaferry",
        description="Refresh and inspect metaferry IntegrationConnectors; search and curate their catalogue.",
    )
    top.add_argument("--version", action="version", version=__version__)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    connector_commands.register(commands, common)
    logs_command.register(commands, common)
    check_command.register(commands, common)
    catalog_commands.register(commands, common)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Output(args.output)
    run: Command = args.run
    try:
        return run(args, out)
    except CliError as error:
        out.error(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
