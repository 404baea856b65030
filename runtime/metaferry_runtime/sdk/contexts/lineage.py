"""Lineage integration service (Egeria's Lineage Integrator): processes, ports and the links between them.

Besides Egeria's lineage methods (`setup_data_flow`, `setup_control_flow`, `setup_process_call`,
`setup_lineage_mapping`, process hierarchy), the context accepts raw OpenLineage run events
(`publish_open_lineage_event`), as Egeria's does: the job becomes a Process, its input and output datasets
are found by their natural name (so a file the files service catalogued is linked, not duplicated) or
catalogued as DataSets named `openlineage:<natural name>`, and DataFlow links run input -> process ->
output. A parent run facet nests the job under its parent's Process. Elements another metadata source
owns are linked but never changed. The naming rule (`dataset_qualified_name`, `column_qualified_name`,
`job_qualified_name`, re-exported here for connectors) is written once, in `_openlineage.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openlineage.client.event_v2 import RunEvent
from openlineage.client.generated import documentation_dataset, documentation_job, parent_run

from metaferry_runtime.repository import Element, Transaction
from metaferry_runtime.sdk.contexts import _openlineage
from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementKind, ParentLink, RelationshipKind
from metaferry_runtime.sdk.contexts._openlineage import DATASET_PROXY_PREFIX as DATASET_PROXY_PREFIX
from metaferry_runtime.sdk.contexts._openlineage import column_qualified_name as column_qualified_name
from metaferry_runtime.sdk.contexts._openlineage import dataset_qualified_name as dataset_qualified_name
from metaferry_runtime.sdk.contexts._openlineage import job_qualified_name as job_qualified_name

PROCESS = ElementKind("Process", is_asset=True)
DATA_ASSET = ElementKind("DataAsset", is_asset=True)
PORT = ElementKind("Port", parent=ParentLink("ProcessPort"))
_IN_TABULAR_SCHEMA = ParentLink("AttributeForSchema", via_schema_type="TabularSchemaType")
DATA_SET_COLUMN = ElementKind("TabularColumn", parent=_IN_TABULAR_SCHEMA)
PROCESS_HIERARCHY = RelationshipKind("ProcessHierarchy", end1="parent process", end2="child process")
DATA_FLOW = RelationshipKind("DataFlow", end1="data supplier", end2="data consumer")
CONTROL_FLOW = RelationshipKind("ControlFlow", end1="current step", end2="next step")
PROCESS_CALL = RelationshipKind("ProcessCall", end1="caller", end2="called")
LINEAGE_MAPPING = RelationshipKind("LineageMapping", end1="source element", end2="target element")
PORT_DELEGATION = RelationshipKind("PortDelegation", end1="delegating port", end2="delegated-to port")


@dataclass(frozen=True)
class CataloguedRun:
    """What one OpenLineage run event became in open metadata."""

    process_guid: str
    input_guids: list[str] = field(default_factory=list)
    output_guids: list[str] = field(default_factory=list)
    parent_process_guid: str | None = None


class LineageIntegratorContext(ElementContext):
    """What a lineage connector may do: catalog processes and data assets and the lineage between them."""

    integration_service = "lineage"

    create_process = PROCESS.create()
    upsert_process = PROCESS.upsert()
    update_process = PROCESS.update()
    publish_process = PROCESS.publish()
    withdraw_process = PROCESS.withdraw()
    remove_process = PROCESS.remove()
    find_processes = PROCESS.find()
    get_processes_by_name = PROCESS.get_by_name()
    get_my_processes = PROCESS.get_mine()
    get_process_by_guid = PROCESS.get_by_guid()
    get_process_by_qualified_name = PROCESS.get_by_qualified_name()
    setup_process_parent = PROCESS_HIERARCHY.link()
    clear_process_parent = PROCESS_HIERARCHY.unlink()
    get_child_processes = PROCESS_HIERARCHY.end2_elements()
    get_parent_processes = PROCESS_HIERARCHY.end1_elements()

    create_data_asset = DATA_ASSET.create()
    upsert_data_asset = DATA_ASSET.upsert()
    update_data_asset = DATA_ASSET.update()
    publish_data_asset = DATA_ASSET.publish()
    withdraw_data_asset = DATA_ASSET.withdraw()
    remove_data_asset = DATA_ASSET.remove()
    find_data_assets = DATA_ASSET.find()
    get_data_assets_by_name = DATA_ASSET.get_by_name()
    get_my_data_assets = DATA_ASSET.get_mine()
    get_data_asset_by_guid = DATA_ASSET.get_by_guid()

    upsert_data_set_columns = DATA_SET_COLUMN.upsert_many()
    get_data_set_columns = DATA_SET_COLUMN.children()
    remove_data_set_column = DATA_SET_COLUMN.remove()

    create_port = PORT.create()
    update_port = PORT.update()
    remove_port = PORT.remove()
    find_ports = PORT.find()
    get_port_by_guid = PORT.get_by_guid()
    get_ports_for_process = PORT.children()
    setup_port_delegation = PORT_DELEGATION.link()
    clear_port_delegation = PORT_DELEGATION.unlink()

    setup_data_flow = DATA_FLOW.link()
    clear_data_flow = DATA_FLOW.unlink()
    get_data_flow_consumers = DATA_FLOW.end2_elements()
    get_data_flow_suppliers = DATA_FLOW.end1_elements()
    setup_control_flow = CONTROL_FLOW.link()
    clear_control_flow = CONTROL_FLOW.unlink()
    get_control_flow_next_steps = CONTROL_FLOW.end2_elements()
    get_control_flow_previous_steps = CONTROL_FLOW.end1_elements()
    setup_process_call = PROCESS_CALL.link()
    clear_process_call = PROCESS_CALL.unlink()
    get_called_processes = PROCESS_CALL.end2_elements()
    get_calling_processes = PROCESS_CALL.end1_elements()
    setup_lineage_mapping = LINEAGE_MAPPING.link()
    clear_lineage_mapping = LINEAGE_MAPPING.unlink()
    get_destination_lineage_mappings = LINEAGE_MAPPING.end2_elements()
    get_source_lineage_mappings = LINEAGE_MAPPING.end1_elements()

    def get_lineage_element_by_qualified_name(self, qualified_name: str) -> Element | None:
        """The active element with that qualified name, of any type and whoever owns it: lineage links to
        what other sources catalogued (a database's tables and columns, a file system's files)."""
        with self.read_transaction() as transaction:
            return transaction.find_element_by_name(qualified_name)

    # --- OpenLineage ------------------------------------------------------------------------------------------
    def publish_open_lineage_event(self, event: RunEvent | Mapping[str, Any] | str | bytes) -> CataloguedRun:
        """Catalog an OpenLineage RunEvent (object, dict or JSON text): the job, its datasets, the data flows."""
        self._check_writable("publish_open_lineage_event")
        run_event = _openlineage.parse_run_event(event)
        job = run_event.job
        documentation = (job.facets or {}).get("documentation")
        process_properties: dict[str, Any] = {
            "name": job.name,
            "deployedImplementationType": "OpenLineage job",
            "additionalProperties": {"openLineageNamespace": job.namespace, "openLineageJobName": job.name},
        }
        if isinstance(documentation, documentation_job.DocumentationJobFacet):
            process_properties["description"] = documentation.description
        with self.write_transaction("publish_open_lineage_event") as transaction:
            process_guid = self._merge(
                transaction,
                PROCESS.type_name,
                _openlineage.job_qualified_name(job.namespace, job.name),
                process_properties,
            )
            inputs = [self._dataset(transaction, d.namespace, d.name, d.facets or {}) for d in run_event.inputs or []]
            outputs = [self._dataset(transaction, d.namespace, d.name, d.facets or {}) for d in run_event.outputs or []]
            for dataset_guid in inputs:
                transaction.upsert_relationship(DATA_FLOW.type_name, dataset_guid, process_guid)
            for dataset_guid in outputs:
                transaction.upsert_relationship(DATA_FLOW.type_name, process_guid, dataset_guid)
            parent_guid = None
            parent = (run_event.run.facets or {}).get("parent")
            if isinstance(parent, parent_run.ParentRunFacet):
                parent_guid = self._merge(
                    transaction,
                    PROCESS.type_name,
                    _openlineage.job_qualified_name(parent.job.namespace, parent.job.name),
                    {"name": parent.job.name, "deployedImplementationType": "OpenLineage job"},
                )
                transaction.upsert_relationship(
                    PROCESS_HIERARCHY.type_name, parent_guid, process_guid, {"containmentType": "OWNED"}
                )
        return CataloguedRun(
            process_guid=process_guid, input_guids=inputs, output_guids=outputs, parent_process_guid=parent_guid
        )

    def _dataset(self, transaction: Transaction, namespace: str, name: str, facets: Mapping[str, Any]) -> str:
        natural = _openlineage.dataset_qualified_name(namespace, name)
        known = transaction.find_element_by_name(natural)
        if known is not None:
            return known.guid
        properties: dict[str, Any] = {
            "name": name,
            "additionalProperties": {"openLineageNamespace": namespace, "openLineageName": name},
        }
        documentation = facets.get("documentation")
        if isinstance(documentation, documentation_dataset.DocumentationDatasetFacet):
            properties["description"] = documentation.description
        return self._merge(transaction, "DataSet", _openlineage.DATASET_PROXY_PREFIX + natural, properties)

    def _merge(self, transaction: Transaction, type_name: str, qualified_name: str, properties: dict[str, Any]) -> str:
        """Upsert, keeping what earlier events said and this one does not; another source's element is reused."""
        existing = transaction.find_element_by_name(qualified_name)
        if existing is not None and existing.metadata_collection != transaction.actor:
            return existing.guid
        merged = {**existing.properties, **properties} if existing is not None else properties
        element, _ = transaction.upsert_element(existing.type_name if existing else type_name, qualified_name, merged)
        return element.guid
