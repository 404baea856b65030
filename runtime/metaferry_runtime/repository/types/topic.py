"""Event brokers, topics and their event schemas (Egeria models 0223, 0535): the topic service."""

from metaferry_runtime.repository.types.defs import ElementTypeDef, PropertyKind, RelationshipTypeDef, TypeArea

S, INT = PropertyKind.STRING, PropertyKind.INTEGER

AREA = TypeArea(
    name="topic",
    element_types=(
        ElementTypeDef.of("EventBroker", "SoftwareCapability", "A capability that hosts topics."),
        ElementTypeDef.of("Topic", "DataSet", topicType=S, topicName=S),
        ElementTypeDef.of(
            "KafkaTopic", "Topic", partitions=INT, replicas=INT, retentionMs=INT, retentionBytes=INT, cleanupPolicy=S
        ),
        ElementTypeDef.of("EventTypeList", "ComplexSchemaType", "The event types a topic carries."),
        ElementTypeDef.of("EventType", "ComplexSchemaType"),
        ElementTypeDef.of("EventSchemaAttribute", "SchemaAttribute"),
    ),
    relationship_types=(
        RelationshipTypeDef.of(
            "SchemaTypeOption", ("SchemaType", "schemaOptionalUses"), ("SchemaType", "schemaOptions")
        ),
        RelationshipTypeDef.of("TopicSubscribers", ("Topic", "topics"), ("Asset", "subscribers")),
    ),
)
