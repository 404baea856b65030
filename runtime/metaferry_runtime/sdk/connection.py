"""The Connection a connector is initialized with (OCF's Connection: endpoint, configuration, secrets)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Connection(BaseModel):
    """Secured properties are `SecretStr`: printing or logging the connection never shows them."""

    model_config = ConfigDict(frozen=True)

    endpoint: str | None = None
    configuration_properties: dict[str, Any] = Field(default_factory=dict)
    secured_properties: dict[str, SecretStr] = Field(default_factory=dict)

    def secret(self, key: str) -> str | None:
        """The clear value of a secured property, for the connector's own use only."""
        value = self.secured_properties.get(key)
        return value.get_secret_value() if value is not None else None

    def secret_values(self) -> list[str]:
        return [value.get_secret_value() for value in self.secured_properties.values()]
