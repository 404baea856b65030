"""One entry of `spec.catalogTargets`: a name, or a name with configuration properties of its own.

Egeria hands a connector its catalog targets with per-target properties (one schema read with other
filters, one document fetched with other headers). The short form stays valid, so every manifest written
before the object form existed keeps working, and an entry without properties is written back in the short
form: the resource's wire form, and so the operator's config hash, does not change for those manifests.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)

from metaferry_runtime.resource.base import KubeModel

MAX_NAME_LENGTH = 2048

#: What the API server checks for each entry (`self`). An entry can be a string or an object, which a
#: structural schema cannot type, and the API server compiles no CRD rule over an untyped value; so the
#: entry is free-form in the CRD and the operator's ValidatingAdmissionPolicy evaluates these rules
#: (`metaferry_operator.admission`), with the models' validators behind them.
ENTRY_RULES: list[dict[str, str]] = [
    {
        "rule": "type(self) == string || type(self) == map",
        "message": "a catalogTargets entry must be a name or an object {name, configurationProperties}",
    },
    {
        "rule": f"type(self) != string || (size(self) >= 1 && size(self) <= {MAX_NAME_LENGTH})",
        "message": f"a catalogTargets name must have 1 to {MAX_NAME_LENGTH} characters",
    },
    {
        "rule": "type(self) != map || self.all(key, key == 'name' || key == 'configurationProperties')",
        "message": "a catalogTargets object takes only name and configurationProperties",
    },
    {
        "rule": "type(self) != map || (has(self.name) && type(self.name) == string"
        f" && size(self.name) >= 1 && size(self.name) <= {MAX_NAME_LENGTH})",
        "message": f"a catalogTargets object needs a name of 1 to {MAX_NAME_LENGTH} characters",
    },
    {
        "rule": "type(self) != map || !has(self.configurationProperties) || type(self.configurationProperties) == map",
        "message": "a catalogTargets object's configurationProperties must be an object",
    },
]


class CatalogTarget(KubeModel):
    """Something the connector works on (a folder, a schema, a URL...) with settings for it alone."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="What the connector works on.")
    configuration_properties: dict[str, Any] = Field(
        default_factory=dict,
        description="Settings for this target only, read by the connector (strings, numbers, lists, objects).",
    )

    @model_serializer(mode="wrap")
    def _short_form_without_properties(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        if not self.configuration_properties:
            return self.name
        return handler(self)


def _from_short_form(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


CatalogTargetEntry = Annotated[
    CatalogTarget,
    BeforeValidator(_from_short_form),
    WithJsonSchema(
        {
            "description": "A name, or {name, configurationProperties} for a target with settings of its own.",
            "x-kubernetes-preserve-unknown-fields": True,
        }
    ),
]
