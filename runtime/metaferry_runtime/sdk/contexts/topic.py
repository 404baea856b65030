"""Topic integration service (Egeria's Topic Integrator): topics, the event types they carry, their schemas.

As in Egeria, event types hang off the topic's EventTypeList (inserted by the context on first use) by
SchemaTypeOption, and event schema attributes off an event type by AttributeForSchema (nested ones by
NestedSchemaAttribute). `create_topic(..., type_name="KafkaTopic")` records the broker's kind of topic.
The event broker (a SoftwareCapability) hosts its topics by ServerAssetUse: pass the broker's GUID as a
topic's `parent_guid`. A topic's subscribers (a Kafka consumer group, an application) are assets linked by
TopicSubscribers; `upsert_topic_subscriber` catalogues one as a DeployedSoftwareComponent.
"""

from __future__ import annotations

from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementKind, ParentLink, RelationshipKind

EVENT_BROKER = ElementKind("EventBroker")
TOPIC = ElementKind("Topic", is_asset=True, parent=ParentLink("ServerAssetUse"))
SUBSCRIBER = ElementKind("DeployedSoftwareComponent", is_asset=True)
EVENT_TYPE = ElementKind("EventType", parent=ParentLink("SchemaTypeOption", via_schema_type="EventTypeList"))
EVENT_SCHEMA_ATTRIBUTE = ElementKind("EventSchemaAttribute", parent=ParentLink("AttributeForSchema"))
NESTED_SCHEMA_ATTRIBUTE = RelationshipKind("NestedSchemaAttribute", end1="parent attribute", end2="nested attribute")
TOPIC_SUBSCRIBERS = RelationshipKind("TopicSubscribers", end1="topic", end2="subscriber")


class TopicIntegratorContext(ElementContext):
    """What a topic connector may do: catalog topics, their event types and event schema attributes."""

    integration_service = "topic"

    create_event_broker = EVENT_BROKER.create()
    upsert_event_broker = EVENT_BROKER.upsert()
    update_event_broker = EVENT_BROKER.update()
    remove_event_broker = EVENT_BROKER.remove()
    get_event_brokers_by_name = EVENT_BROKER.get_by_name()
    get_my_event_brokers = EVENT_BROKER.get_mine()
    get_event_broker_by_guid = EVENT_BROKER.get_by_guid()
    get_event_broker_by_qualified_name = EVENT_BROKER.get_by_qualified_name()

    create_topic = TOPIC.create()
    upsert_topic = TOPIC.upsert()
    upsert_topics = TOPIC.upsert_many()
    update_topic = TOPIC.update()
    publish_topic = TOPIC.publish()
    withdraw_topic = TOPIC.withdraw()
    remove_topic = TOPIC.remove()
    find_topics = TOPIC.find()
    get_topics_by_name = TOPIC.get_by_name()
    get_my_topics = TOPIC.get_mine()
    get_topic_by_guid = TOPIC.get_by_guid()
    get_topic_by_qualified_name = TOPIC.get_by_qualified_name()
    get_topics_for_event_broker = TOPIC.children()
    upsert_topic_subscriber = SUBSCRIBER.upsert()
    upsert_topic_subscribers = SUBSCRIBER.upsert_many()
    get_my_topic_subscriber_assets = SUBSCRIBER.get_mine()
    add_topic_subscriber = TOPIC_SUBSCRIBERS.link()
    add_topic_subscribers = TOPIC_SUBSCRIBERS.link_many()
    remove_topic_subscriber = TOPIC_SUBSCRIBERS.unlink()
    get_topic_subscribers = TOPIC_SUBSCRIBERS.end2_elements()
    get_subscribed_topics = TOPIC_SUBSCRIBERS.end1_elements()

    create_event_type = EVENT_TYPE.create()
    upsert_event_type = EVENT_TYPE.upsert()
    upsert_event_types = EVENT_TYPE.upsert_many()
    update_event_type = EVENT_TYPE.update()
    remove_event_type = EVENT_TYPE.remove()
    find_event_types = EVENT_TYPE.find()
    get_event_types_by_name = EVENT_TYPE.get_by_name()
    get_my_event_types = EVENT_TYPE.get_mine()
    get_event_type_by_guid = EVENT_TYPE.get_by_guid()
    get_event_types_for_topic = EVENT_TYPE.children()

    create_event_schema_attribute = EVENT_SCHEMA_ATTRIBUTE.create()
    upsert_event_schema_attribute = EVENT_SCHEMA_ATTRIBUTE.upsert()
    upsert_event_schema_attributes = EVENT_SCHEMA_ATTRIBUTE.upsert_many()
    update_event_schema_attribute = EVENT_SCHEMA_ATTRIBUTE.update()
    remove_event_schema_attribute = EVENT_SCHEMA_ATTRIBUTE.remove()
    find_event_schema_attributes = EVENT_SCHEMA_ATTRIBUTE.find()
    get_event_schema_attributes_by_name = EVENT_SCHEMA_ATTRIBUTE.get_by_name()
    get_my_event_schema_attributes = EVENT_SCHEMA_ATTRIBUTE.get_mine()
    get_event_schema_attribute_by_guid = EVENT_SCHEMA_ATTRIBUTE.get_by_guid()
    get_event_schema_attributes_for_event_type = EVENT_SCHEMA_ATTRIBUTE.children()
    add_nested_schema_attribute = NESTED_SCHEMA_ATTRIBUTE.link()
    add_nested_schema_attributes = NESTED_SCHEMA_ATTRIBUTE.link_many()
    remove_nested_schema_attribute = NESTED_SCHEMA_ATTRIBUTE.unlink()
    get_nested_schema_attributes = NESTED_SCHEMA_ATTRIBUTE.end2_elements()
