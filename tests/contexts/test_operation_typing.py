"""Context operations are typed by the code that runs them: mypy refuses a call that does not match."""

from __future__ import annotations

from pathlib import Path

from mypy import api as mypy

from metaferry_runtime.sdk.contexts.files import FilesIntegratorContext

CALLS = """\
from metaferry_runtime.sdk.contexts.files import FilesIntegratorContext


def use(context: FilesIntegratorContext) -> None:
    guid: str = context.create_data_file("files://a", {"name": "a"}, parent_guid="folder")
    element, change = context.upsert_data_file("files://a")
    context.create_data_file(42)
    context.upsert_data_file("files://a", zones=["published"])
    reveal_type(context.find_data_files(""))
"""


def test_mypy_checks_a_connectors_calls_against_each_operations_implementation(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(CALLS)
    report, _, _ = mypy.run([str(probe), "--no-error-summary", "--cache-dir", str(tmp_path / "cache")])
    lines = "\n".join(line.removeprefix(str(probe)) for line in report.splitlines() if line.startswith(str(probe)))
    assert ':7: error: Argument 1 to "__call__" of "CreateElement" has incompatible type "int"' in lines, report
    assert ':8: error: Unexpected keyword argument "zones"' in lines, report
    assert 'Revealed type is "list[metaferry_runtime.repository.model.Element]"' in lines, report
    assert ":5:" not in lines and ":6:" not in lines, report  # the right calls pass


def test_an_operation_is_named_after_the_attribute_it_is_assigned_to() -> None:
    context_class = FilesIntegratorContext
    operation = vars(context_class)["create_data_file"]
    assert operation._action == "create_data_file"
    assert "Create the element" in (operation.__doc__ or "")
