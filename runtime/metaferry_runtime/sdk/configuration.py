"""Typed configuration properties: a connector declares a model, and the runtime validates before initialize.

A connector sets `configuration_model` to a `ConnectorConfiguration` subclass. The runtime (through
`configure_connector`, so `run`, `check` and the test kit alike) validates the manifest's
`spec.connection.configurationProperties` against it before `initialize`: a wrong value is CONFIG_FAILED
(status reason `InvalidConfiguration`) naming the key path and what was expected, in the style of manifest
errors, and the connector reads `self.configuration`, already typed and checked. `metaferry-runtime
connectors --output json` prints each model's JSON schema for tools.

Field names are snake_case in Python and camelCase in the manifest (`max_depth` <-> `maxDepth`), unknown
keys are refused (a misspelt property must not be silently ignored), and a field's description is quoted
in its error, so the message says what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from metaferry_runtime.sdk.errors import InvalidConfiguration

ConfigurationT = TypeVar("ConfigurationT", bound="ConnectorConfiguration")

#: Where the properties sit in the manifest: the prefix of every problem's key path.
PROPERTIES_PATH = "spec.connection.configurationProperties"


class ConnectorConfiguration(BaseModel):
    """Base of a connector's configuration model: camelCase keys, unknown keys refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, use_attribute_docstrings=True
    )


def validate_configuration(
    model: type[ConfigurationT], properties: Mapping[str, Any], *, path: str = PROPERTIES_PATH
) -> ConfigurationT:
    """The properties as `model`, or InvalidConfiguration listing every problem with its key path (under
    `path`, where the properties sit in the manifest)."""
    try:
        return model.model_validate(dict(properties))
    except ValidationError as error:
        raise InvalidConfiguration([_problem(model, item, path) for item in error.errors()]) from error


def _problem(model: type[BaseModel], item: Any, prefix: str) -> str:
    location = tuple(item["loc"])
    path = prefix + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
    if item["type"] == "extra_forbidden":
        known = ", ".join(sorted(field.alias or name for name, field in model.model_fields.items()))
        return f"{path}: unknown property (check its spelling; this connector takes {known})"
    message = item["msg"].removeprefix("Value error, ")
    description = _description(model, location)
    return f"{path}: {message}" + (f" (expected: {description})" if description else "")


def _description(model: type[BaseModel], location: tuple[Any, ...]) -> str | None:
    """The description of the top-level field the problem is in."""
    if not location or not isinstance(location[0], str):
        return None
    for name, field in model.model_fields.items():
        if location[0] in (name, field.alias):
            return field.description
    return None
