"""The configuration properties every database connector takes, and a schema target's own table filters."""

from __future__ import annotations

import re

from pydantic import Field

from metaferry_runtime.sdk.configuration import ConnectorConfiguration


class TableFilters(ConnectorConfiguration):
    """Which tables to read: a connector's settings, and a schema target's own (its `catalog_target_model`)."""

    include_tables: tuple[re.Pattern[str], ...] = Field(
        default=(), description="regular expressions; a table is read when one matches its name or schema.table"
    )
    exclude_tables: tuple[re.Pattern[str], ...] = Field(
        default=(), description="regular expressions; a table matching one (name or schema.table) is left out"
    )

    def wants(self, schema: str, table: str) -> bool:
        """Whether to catalogue the table: patterns match the whole table name or `schema.table`."""
        names = (table, f"{schema}.{table}")
        if self.include_tables and not any(p.fullmatch(n) for p in self.include_tables for n in names):
            return False
        return not any(p.fullmatch(n) for p in self.exclude_tables for n in names)

    def over(self, base: TableFilters) -> TableFilters:
        """These filters where set, `base`'s elsewhere: a target's includeTables replaces the connector's
        includeTables for that target and leaves its excludeTables in force."""
        inherited = {
            name: getattr(base, name) for name in TableFilters.model_fields if name not in self.model_fields_set
        }
        return TableFilters.model_validate({**self.model_dump(include=set(TableFilters.model_fields)), **inherited})


class RelationalSettings(TableFilters):
    """Configuration properties every database connector takes; a connector subclasses it for its own
    and names it as its `configuration_model`."""
