"""Errors that wrap another keep it as their cause, so a traceback shows what really went wrong."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from metaferry_runtime.connectors.sqlite_schema import open_read_only
from metaferry_runtime.resource import ManifestError
from metaferry_runtime.resource.manifest import load_manifest, parse_manifest
from metaferry_runtime.sdk import ConnectorConfigurationError
from metaferry_runtime.sdk.broker import resolve_connector_class


def test_an_invalid_manifest_keeps_the_validation_error() -> None:
    with pytest.raises(ManifestError) as raised:
        parse_manifest({"apiVersion": "metaferry.io/v1alpha1", "kind": "IntegrationConnector"}, source="test")
    assert isinstance(raised.value.__cause__, ValidationError)


def test_a_manifest_that_is_not_yaml_keeps_the_parser_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("spec: [unclosed\n")
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    assert isinstance(raised.value.__cause__, yaml.YAMLError)


def test_a_connector_module_that_fails_to_import_keeps_the_import_error() -> None:
    with pytest.raises(Exception, match="cannot import module") as raised:
        resolve_connector_class("no_such_module_anywhere:Connector")
    assert isinstance(raised.value.__cause__, ImportError)


def test_a_file_that_is_not_sqlite_keeps_sqlites_error(tmp_path: Path) -> None:
    path = tmp_path / "not.db"
    path.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(ConnectorConfigurationError) as raised:
        open_read_only(str(path), busy_timeout=1)
    assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)
