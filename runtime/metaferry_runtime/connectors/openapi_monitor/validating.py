"""Checking a document against its specification with openapi-spec-validator; problems are returned, never
raised, so a document that breaks the rules is still catalogued as far as it can be read.

`full` applies the OpenAPI rules (the JSON Schema of the specification, then per-keyword checks such as
unique operationIds, defaults that match their schemas, path parameters that are declared); `schema` only
the JSON Schema of the specification, about four times faster on a large document; `off` nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema_path.typing import ResolverHandlers
from openapi_spec_validator import (
    OpenAPIV2SpecValidator,
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
    OpenAPIV32SpecValidator,
)
from openapi_spec_validator.validation.validators import SpecValidator

from metaferry_runtime.connectors.openapi_monitor.settings import Validation


def _validator_class(document: Mapping[str, Any]) -> type[SpecValidator] | None:
    version = str(document.get("openapi") or document.get("swagger") or "")
    if version.startswith("2"):
        return OpenAPIV2SpecValidator
    if version.startswith("3.0"):
        return OpenAPIV30SpecValidator
    if version.startswith("3.1"):
        return OpenAPIV31SpecValidator
    if version.startswith("3.2"):
        return OpenAPIV32SpecValidator
    return None


def problems_of(
    document: Mapping[str, Any], *, url: str, handlers: ResolverHandlers, level: Validation, limit: int
) -> tuple[int, list[str]]:
    """How many problems (counting up to 100 times `limit`) and the first `limit` of them, one line each."""
    if level == "off":
        return 0, []
    validator_class = _validator_class(document)
    if validator_class is None:
        return 1, [f"unknown specification version {document.get('openapi') or document.get('swagger')!r}"]
    errors: Iterator[ValidationError]
    try:
        if level == "schema":
            errors = validator_class.schema_validator.iter_errors(document)
        else:
            validator = _with_handlers(validator_class, handlers)(dict(document), base_uri=url)
            errors = validator.iter_errors()
        found = [_line(error) for error in islice(errors, limit * 100)]
    except Exception as error:  # a validator that breaks on a document is itself a problem to report
        return 1, [f"the validator stopped: {type(error).__name__}: {' '.join(str(error).split())[:200]}"]
    return len(found), found[:limit]


def _with_handlers(validator_class: type[SpecValidator], handlers: ResolverHandlers) -> type[SpecValidator]:
    """The validator resolving external `$ref`s through the connector's own fetcher (timeouts, credentials)."""
    return type(validator_class.__name__, (validator_class,), {"resolver_handlers": handlers})


def _line(error: ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path) or "(document)"
    message = " ".join(error.message.split())
    return f"{where}: {message[:200]}"
