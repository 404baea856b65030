#!/usr/bin/env python3
"""The chart's values are documented once, in values.yaml; the README's table and the schema's descriptions
are generated from it (`make chart-docs`), and `--check` (run by the tests) fails when either has drifted.

A value is documented by a comment starting `# --` right above its key (helm-docs' convention; following
`#` lines continue it). A documented mapping whose children are not documented is one row, its default
shown whole; a mapping whose children are documented is a section, and each child is a row. A value
without a `# --` comment is an error: nothing in values.yaml goes undocumented.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[1] / "charts" / "metaferry"
BEGIN = "<!-- values table: generated from values.yaml by `make chart-docs`; do not edit -->"
END = "<!-- end of the values table -->"
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?P<rest>.*)$")


@dataclass(frozen=True)
class Value:
    """One documented key: its dotted path, its default from values.yaml and its description."""

    path: tuple[str, ...]
    default: Any
    description: str


def _documented_keys(text: str) -> dict[tuple[str, ...], str]:
    """Every key's path mapped to its `# --` comment ('' for a key without one)."""
    keys: dict[tuple[str, ...], str] = {}
    stack: list[tuple[int, str]] = []
    comment: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            comment = [stripped.removeprefix("# --").strip()]
            continue
        if stripped.startswith("#") and comment is not None:
            comment.append(stripped.removeprefix("#").strip())
            continue
        match = _KEY.match(line)
        if match is None:
            if not stripped:
                comment = None
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        keys[tuple(key for _, key in stack)] = " ".join(comment or [])
        comment = None
    return keys


def documented_values(values_text: str) -> list[Value]:
    """The rows of the table, in values.yaml's order; ValueError names every undocumented key."""
    defaults = yaml.safe_load(values_text)
    keys = _documented_keys(values_text)
    rows: list[Value] = []
    undocumented: list[str] = []
    for path, description in keys.items():
        if any(path[:n] in {row.path for row in rows} for n in range(1, len(path))):
            continue  # inside a documented mapping shown whole
        default = _lookup(defaults, path)
        children = [other for other in keys if other[:-1] == path]
        if isinstance(default, dict) and children and any(keys[child] for child in children):
            continue  # a section: its children are the rows
        if isinstance(default, dict) and children and not description:
            continue  # a plain grouping key
        if not description:
            undocumented.append(".".join(path))
            continue
        rows.append(Value(path, default, description))
    if undocumented:
        raise ValueError("values without a `# --` comment in values.yaml: " + ", ".join(undocumented))
    return rows


def _lookup(values: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        values = values[key]
    return values


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    return "`" + json.dumps(value, separators=(", ", ": ")).replace("|", "\\|") + "`"


def table(values: list[Value]) -> str:
    lines = ["| key | default | description |", "|---|---|---|"]
    for value in values:
        description = value.description.replace("|", "\\|")
        lines.append(f"| `{'.'.join(value.path)}` | {_default(value.default)} | {description} |")
    return "\n".join(lines)


def readme_with_table(readme: str, values: list[Value]) -> str:
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"the chart README has no generated values table (markers {BEGIN!r} and {END!r})")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table(values)}\n{END}{tail}"


def schema_with_descriptions(schema: dict[str, Any], values: list[Value]) -> dict[str, Any]:
    """The schema with each documented value's description set to its values.yaml comment."""
    for value in values:
        node = schema
        for key in value.path:
            node = node["properties"][key]
        node["description"] = value.description
    return schema


def generated(chart: Path = CHART) -> dict[Path, str]:
    """What the README and the schema must hold, from values.yaml."""
    values = documented_values((chart / "values.yaml").read_text())
    schema = json.loads((chart / "values.schema.json").read_text())
    return {
        chart / "README.md": readme_with_table((chart / "README.md").read_text(), values),
        chart / "values.schema.json": json.dumps(schema_with_descriptions(schema, values), indent=2) + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the README or schema has drifted")
    flags = parser.parse_args(argv)
    try:
        files = generated()
    except (ValueError, KeyError) as error:
        print(f"chart-docs: {error}", file=sys.stderr)
        return 1
    stale = [path for path, text in files.items() if path.read_text() != text]
    if flags.check:
        for path in stale:
            print(f"chart-docs: {path.relative_to(CHART.parents[1])} is stale: run `make chart-docs`", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(files[path])
    return 0


if __name__ == "__main__":
    sys.exit(main())
