"""``metaferry-operator``: ``run`` the operator, or print the ``crd``.

``run`` embeds kopf (``kopf.operator``) rather than shelling out to ``kopf run``, so the settings are
validated once, up front, and the handlers come from this package, not from a file path.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import kopf

from metaferry_operator import __version__, config, crd, logs, metrics

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metaferry-operator", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the operator (settings: METAFERRY_* variables or these flags)")
    config.add_flags(run)
    run.add_argument("--verbose", action="store_true", help="debug logging")
    manifests = commands.add_parser(
        "crd", help="print the IntegrationConnector CustomResourceDefinition (YAML), or write it and its policy"
    )
    manifests.add_argument(
        "--output-dir",
        type=Path,
        help="write the CRD, its ValidatingAdmissionPolicy and the policy's binding here (one file each)",
    )
    return parser


def liveness_endpoint(settings: config.OperatorConfig) -> str | None:
    """kopf's liveness URL on METAFERRY_LISTEN_HOST (an IPv6 literal such as ``::`` in brackets); None = off."""
    if not settings.health_port:
        return None
    host = f"[{settings.listen_host}]" if ":" in settings.listen_host else settings.listen_host
    return f"http://{host}:{settings.health_port}/healthz"


async def _operate(settings: config.OperatorConfig) -> int:
    """Run kopf until SIGTERM (exit code 0) or until leadership is lost (1)."""
    from metaferry_operator import handlers  # noqa: F401 - registers the kopf handlers

    memo = kopf.Memo(config=settings, stop_flag=asyncio.Event(), leadership_lost=False)
    await kopf.operator(
        clusterwide=not settings.watch_namespaces,
        namespaces=list(settings.watch_namespaces),
        standalone=True,  # replicas coordinate through a Lease (module `leader`), not kopf peering
        liveness_endpoint=liveness_endpoint(settings),
        stop_flag=memo.stop_flag,
        memo=memo,
    )
    return 1 if memo.leadership_lost else 0


def run(flags: argparse.Namespace) -> int:
    try:
        settings = config.load_config(environ=os.environ, flags=flags)
    except config.ConfigError as error:
        print(f"metaferry-operator: {error}", file=sys.stderr)
        return 2
    logs.configure(log_format=settings.log_format, verbose=flags.verbose)
    scope = ", ".join(settings.watch_namespaces) or "all namespaces"
    logger.info("metaferry-operator %s watching %s", __version__, scope)
    metrics.serve(host=settings.listen_host, port=settings.metrics_port)
    return asyncio.run(_operate(settings))


def main(argv: Sequence[str] | None = None) -> int:
    flags = _parser().parse_args(argv)
    if flags.command == "crd":
        if flags.output_dir is None:
            crd.main()
        else:
            for name, text in crd.manifest_files().items():
                (flags.output_dir / name).write_text(text)
        return 0
    return run(flags)


if __name__ == "__main__":
    sys.exit(main())
