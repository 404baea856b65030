"""The `dbt-project` connector (analytics service): a dbt project's nodes, tests, exposures, lineage and terms."""

from metaferry_runtime.connectors.dbt_project.connector import DbtProjectConnector, DbtProjectMessages

__all__ = ["DbtProjectConnector", "DbtProjectMessages"]
