"""search, show, lineage and curate: the catalogue API's reads and curated edits from the terminal."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from metaferry_cli.catalog_client import CatalogClient
from metaferry_cli.lineage_view import lineage_tree
from metaferry_cli.local_catalogue import local_catalogue
from metaferry_cli.output import Output
from metaferry_operator.json_types import Json


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to the `metaferry` parser."""
    search = commands.add_parser("search", parents=[common], help="search the catalogue")
    search.add_argument("text")
    search.add_argument("--type", help="an element type, with its subtypes")
    search.add_argument("--limit", type=int, default=50)
    search.add_argument("--archived", action="store_true", help="include archived elements")
    search.set_defaults(run=run_search)

    show = commands.add_parser("show", parents=[common], help="one element, curated values beside harvested ones")
    show.add_argument("element", metavar="GUID|QUALIFIED_NAME")
    show.set_defaults(run=run_show)

    lineage = commands.add_parser("lineage", parents=[common], help="what an element feeds, or is fed by, as a tree")
    lineage.add_argument("element", metavar="GUID|QUALIFIED_NAME")
    way = lineage.add_mutually_exclusive_group()
    way.add_argument("--downstream", dest="upstream", action="store_false", help="what it feeds (the default)")
    way.add_argument("--upstream", dest="upstream", action="store_true", help="what feeds it")
    lineage.add_argument("--depth", type=int, default=3, help="hops to follow, 1 to 5 (default 3)")
    lineage.set_defaults(run=run_lineage, upstream=False)

    curate = commands.add_parser("curate", parents=[common], help="set or remove curated property values")
    curate.add_argument("element", metavar="GUID|QUALIFIED_NAME")
    curate.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a string value")
    curate.add_argument("--set-json", action="append", default=[], metavar="NAME=JSON", help="any JSON value")
    curate.add_argument("--unset", action="append", default=[], metavar="NAME", help="show the harvested value again")
    curate.set_defaults(run=run_curate)


@contextmanager
def catalogue(args: argparse.Namespace) -> Iterator[CatalogClient]:
    """The catalogue at --catalog; else, with --repository, a private one over that repository for this command."""
    if args.catalog or not args.repository:
        yield CatalogClient(args.catalog, args.catalog_token)
        return
    with local_catalogue(args.repository) as (base, token):
        yield CatalogClient(base, token)


def run_search(args: argparse.Namespace, out: Output) -> int:
    with catalogue(args) as catalog:
        items = catalog.search(text=args.text, type=args.type, limit=args.limit, archived=args.archived or None)
    if not out.text:
        out.document(items)
    elif not items:
        out.line(f"nothing matches {args.text!r}")
    else:
        rows = [[e["guid"], e["type_name"], e["qualified_name"], e.get("display_name") or ""] for e in items]
        out.table(["GUID", "TYPE", "QUALIFIED NAME", "NAME"], rows)
    return 0


def run_show(args: argparse.Namespace, out: Output) -> int:
    with catalogue(args) as catalog:
        element = catalog.element(catalog.resolve(args.element))
    if out.text:
        for line in describe_element(element):
            out.line(line)
    else:
        out.document(element)
    return 0


def run_lineage(args: argparse.Namespace, out: Output) -> int:
    direction = "upstream" if args.upstream else "downstream"
    with catalogue(args) as catalog:
        graph = catalog.lineage(catalog.resolve(args.element), direction=direction, depth=args.depth)
    if out.text:
        for line in lineage_tree(graph, upstream=args.upstream, paint=out.paint):
            out.line(line)
    else:
        out.document(graph)
    return 0


def run_curate(args: argparse.Namespace, out: Output) -> int:
    changes: Json = {}
    for pair in args.set:
        name, value = _pair(pair, "--set")
        changes[name] = value
    for pair in args.set_json:
        name, text = _pair(pair, "--set-json")
        try:
            changes[name] = json.loads(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--set-json {name}: not JSON: {text!r}") from None
    for name in args.unset:
        changes[name] = None
    if not changes:
        out.error("give --set NAME=VALUE, --set-json NAME=JSON or --unset NAME")
        return 2
    with catalogue(args) as catalog:
        element = catalog.curate(catalog.resolve(args.element), changes)
    if out.text:
        for name in changes:
            out.line(_property_line(element, name))
    else:
        out.document(element)
    return 0


def _pair(text: str, option: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{option} wants NAME=VALUE, not {text!r}")
    return name, value


def describe_element(element: Json) -> Iterator[str]:
    """The element for people: identity, provenance, then every property with its curation beside it."""
    provenance = element.get("provenance") or {}
    yield f"{element['type_name']} {element['qualified_name']}"
    yield f"  guid:        {element['guid']}  (version {element.get('version')}, {element.get('status')})"
    yield f"  collection:  {provenance.get('metadata_collection')}"
    yield f"  refreshes:   created by {provenance.get('created_by_refresh')}, last {provenance.get('last_refresh_id')}"
    if element.get("zones"):
        yield f"  zones:       {', '.join(element['zones'])}"
    classifications = [c["name"] for c in element.get("classifications") or []]
    if classifications:
        yield f"  classified:  {', '.join(classifications)}"
    yield "properties:"
    for name in sorted(element.get("properties") or {}):
        yield "  " + _property_line(element, name)
    relationships = (element.get("relationships") or {}).get("items") or []
    if relationships:
        yield "relationships:"
        for link in relationships:
            yield f"  {link.get('type_name')}: {link.get('end1_guid')} -> {link.get('end2_guid')}"


def _property_line(element: Json, name: str) -> str:
    value = (element.get("properties") or {}).get(name)
    curation = (element.get("curations") or {}).get(name)
    line = f"{name}: {json.dumps(value)}"
    if curation is None:
        return line
    harvested = (element.get("harvested_properties") or {}).get(name)
    return f"{line}  (curated by {curation['curator']} at {curation['time']}; harvested: {json.dumps(harvested)})"
