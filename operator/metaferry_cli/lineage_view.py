"""A lineage graph as a tree for the terminal: the element at the root, what it feeds (or is fed by) below.

The catalogue answers a graph, which may join again (a diamond) or loop; a tree shows each element's
branch once and marks later meetings with `(shown above)` instead of repeating the branch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from metaferry_operator.json_types import Json

_BRANCH, _LAST, _PIPE, _GAP = "├── ", "└── ", "│   ", "    "


def lineage_tree(
    graph: Json, *, upstream: bool, paint: Callable[[str, str], str] = lambda text, _: text
) -> Iterator[str]:
    """Lines of the tree; children in order of type then qualified name, so the output is stable."""
    nodes: dict[str, Json] = {node["guid"]: node for node in graph["nodes"]}
    children: dict[str, list[tuple[str, str]]] = {}
    for edge in graph["edges"]:
        parent, child = (edge["end2_guid"], edge["end1_guid"]) if upstream else (edge["end1_guid"], edge["end2_guid"])
        children.setdefault(parent, []).append((edge["type_name"], child))
    for branches in children.values():
        branches.sort(key=lambda branch: (nodes[branch[1]]["type_name"], nodes[branch[1]]["qualified_name"], branch[0]))

    def label(guid: str) -> str:
        node = nodes[guid]
        status = "" if node.get("status", "ACTIVE") == "ACTIVE" else f" [{node['status']}]"
        return f"{paint(node['type_name'], 'bold')} {node['qualified_name']}{status}"

    arrow = "←" if upstream else "→"
    shown = {graph["root"]}
    yield label(graph["root"])

    def below(guid: str, prefix: str) -> Iterator[str]:
        branches = children.get(guid, [])
        for index, (relationship, child) in enumerate(branches):
            last = index == len(branches) - 1
            seen = child in shown
            suffix = paint("  (shown above)", "dim") if seen else ""
            via = paint(f"{relationship} {arrow}", "dim")
            yield f"{prefix}{_LAST if last else _BRANCH}{via} {label(child)}{suffix}"
            if not seen:
                shown.add(child)
                yield from below(child, prefix + (_GAP if last else _PIPE))

    yield from below(graph["root"], "")
    if not children.get(graph["root"]):
        yield f"  (nothing {'upstream' if upstream else 'downstream'} within {graph['depth']} hops)"
    if graph.get("truncated"):
        yield paint(f"(truncated: the catalogue stops a walk at {len(nodes)} elements; ask for less --depth)", "yellow")
