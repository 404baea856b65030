"""How catalog-exchange names open metadata elements in DataHub, and reads DataHub's names back."""

from __future__ import annotations

import pytest

from metaferry_runtime.connectors.catalog_exchange import urns
from metaferry_runtime.connectors.catalog_exchange.entities import InvalidDataHubFile, from_records, parse_document


@pytest.mark.parametrize(
    ("qualified_name", "platform", "name", "authority"),
    [
        ("postgres://db:5432/shop.sales.orders", "postgres", "shop.sales.orders", "db:5432"),
        ("postgresql://db:5432/shop", "postgres", "shop", "db:5432"),
        ("file:///data/landing/a.csv", "file", "/data/landing/a.csv", None),
        ("sqlite:///data/shop.db/main/orders", "sqlite", "/data/shop.db/main/orders", None),
        ("s3://bucket/path/key", "s3", "bucket/path/key", None),
        ("openlineage:s3://bucket/key", "s3", "bucket/key", None),
        ("kafka://broker:9092/orders", "kafka", "orders", "broker:9092"),
        ("warehouse.orders", "metaferry", "warehouse.orders", None),
    ],
)
def test_a_qualified_name_becomes_datahubs_platform_and_name(
    qualified_name: str, platform: str, name: str, authority: str | None
) -> None:
    assert urns.dataset_name(qualified_name) == urns.DatasetName(platform, name, authority)


def test_a_dataset_urn_parses_back_even_with_commas_in_its_name() -> None:
    urn = urns.dataset_urn("file", "/data/a,b.csv", "PROD")
    assert urn == "urn:li:dataset:(urn:li:dataPlatform:file,/data/a,b.csv,PROD)"
    assert urns.parse_dataset_urn(urn) == ("file", "/data/a,b.csv", "PROD")
    with pytest.raises(ValueError, match="not a dataset URN"):
        urns.parse_dataset_urn("urn:li:dataset:(postgres,x,PROD)")


def test_an_openlineage_job_is_a_job_of_its_namespaces_flow() -> None:
    flow, job = urns.process_job("openlineage:job:airflow/daily_orders", "PROD")
    assert flow == "urn:li:dataFlow:(openlineage,airflow,PROD)"
    assert job == "urn:li:dataJob:(urn:li:dataFlow:(openlineage,airflow,PROD),daily_orders)"
    assert urns.parse_data_job_urn(job) == (flow, "daily_orders")


def test_mces_and_mcps_with_the_aspect_as_text_are_read_like_mcps() -> None:
    urn = "urn:li:dataset:(urn:li:dataPlatform:postgres,shop.sales.orders,PROD)"
    mce = {
        "proposedSnapshot": {
            "com.linkedin.pegasus2avro.metadata.snapshot.DatasetSnapshot": {
                "urn": urn,
                "aspects": [
                    {"com.linkedin.pegasus2avro.dataset.DatasetProperties": {"name": "orders", "customProperties": {}}},
                    {
                        "com.linkedin.pegasus2avro.schema.SchemaMetadata": {
                            "fields": [
                                {
                                    "fieldPath": "id",
                                    "nativeDataType": "integer",
                                    "type": {"type": {"com.linkedin.pegasus2avro.schema.NumberType": {}}},
                                }
                            ]
                        }
                    },
                ],
            }
        }
    }
    text = {
        "entityType": "dataset",
        "entityUrn": urn,
        "changeType": "UPSERT",
        "aspectName": "status",
        "aspect": {"value": '{"removed": true}', "contentType": "application/json"},
    }
    tag = {"entityType": "tag", "entityUrn": "urn:li:tag:pii", "aspectName": "tagProperties", "aspect": {"json": {}}}
    (entity,) = from_records([mce, text, tag], "test")
    assert (entity.name, entity.platform, entity.removed) == ("orders", "postgres", True)
    assert [(c.name, c.type_class) for c in entity.columns or []] == [("id", "NumberType")]


def test_a_document_that_is_not_a_list_of_records_is_refused() -> None:
    with pytest.raises(InvalidDataHubFile, match="not a JSON list"):
        parse_document("[1, 2]", "x.json")
    with pytest.raises(InvalidDataHubFile, match="record 0 is not valid DataHub metadata: missing field 'entityUrn'"):
        from_records([{"aspectName": "status"}], "x.json")
