"""Bringing the repository in step with a plan, in the caller's transaction (a refresh or a change batch).

If the broker element carries the plan's digest, the repository already holds this plan: every element is
marked observed by name (one call) and nothing is written. Otherwise every element is upserted in bulk
(an unchanged one costs a comparison), children are linked to their parents when created or changed, the
subscriptions are linked and those that ended are removed, and the broker gets the new digest. Deletion
detection then archives what the plan no longer names under the cluster's prefix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from metaferry_runtime.connectors.kafka_topics.plan import DIGEST_KEY, TOPIC_TYPE, Plan
from metaferry_runtime.sdk import ElementUpsert
from metaferry_runtime.sdk.contexts.topic import TopicIntegratorContext

DETECTED_TYPES = ("Topic", "EventTypeList", "EventType", "EventSchemaAttribute", "DeployedSoftwareComponent")
UNCHANGED = "UNCHANGED"


@dataclass
class Outcome:
    digest_matched: bool = False
    changed: int = 0
    archived: int = 0


def write_plan(context: TopicIntegratorContext, plan: Plan) -> Outcome:
    digest = plan.digest()
    broker_properties = {**plan.broker}
    broker_properties["additionalProperties"] = {**plan.broker.get("additionalProperties", {}), DIGEST_KEY: digest}
    existing = context.get_event_broker_by_qualified_name(plan.broker_name)
    stored = (existing.properties.get("additionalProperties") or {}).get(DIGEST_KEY) if existing else None
    outcome = Outcome()
    if stored == digest and not context.mark_observed_by_names(plan.names()):
        outcome.digest_matched = True
    else:
        outcome.changed = _write_all(context, plan, broker_properties)
    outcome.archived = len(context.detect_deletions(type_names=DETECTED_TYPES, scope_prefix=plan.scope))
    return outcome


def _write_all(context: TopicIntegratorContext, plan: Plan, broker_properties: dict[str, object]) -> int:
    changed = 0
    broker, change = context.upsert_event_broker(plan.broker_name, broker_properties)
    changed += change != UNCHANGED
    guids: dict[str, str] = {plan.broker_name: broker.guid}
    topics = [ElementUpsert(name, properties, TOPIC_TYPE) for name, properties in plan.topics.items()]
    changed += _record(guids, topics, context.upsert_topics(topics, parent_guid=broker.guid))
    by_topic: dict[str, list[ElementUpsert]] = defaultdict(list)
    for name, (topic, properties) in plan.event_types.items():
        by_topic[topic].append(ElementUpsert(name, properties))
    for topic, upserts in by_topic.items():
        changed += _record(guids, upserts, context.upsert_event_types(upserts, parent_guid=guids[topic]))
    if plan.event_type_lists:  # inserted by the context with the first event type; kept while it has some
        context.mark_observed_by_names(plan.event_type_lists)
    changed += _write_attributes(context, plan, guids)
    subscribers = [ElementUpsert(name, properties) for name, properties in plan.subscribers.items()]
    created: set[str] = set()
    if subscribers:
        results = context.upsert_topic_subscribers(subscribers)
        changed += _record(guids, subscribers, results)
        created = {u.qualified_name for u, (_, c) in zip(subscribers, results, strict=True) if c == "ELEMENT_CREATED"}
    if plan.subscriptions:
        pairs = [(guids[topic], guids[subscriber]) for topic, subscriber in sorted(plan.subscriptions)]
        changed += sum(1 for _, c in context.add_topic_subscribers(pairs) if c != UNCHANGED)
    for subscriber in plan.subscribers.keys() - created:  # subscriptions that ended
        for subscribed in context.get_subscribed_topics(guids[subscriber]):
            name = subscribed.qualified_name
            if name.startswith(plan.scope) and (name, subscriber) not in plan.subscriptions:
                context.remove_topic_subscriber(subscribed.guid, guids[subscriber])
                changed += 1
    return changed


def _write_attributes(context: TopicIntegratorContext, plan: Plan, guids: dict[str, str]) -> int:
    """Top-level attributes under their event type, then each level of nested ones under its parent."""
    changed = 0
    levels: list[dict[str, list[ElementUpsert]]] = []
    depth_of: dict[str, int] = {}
    for name, attribute in plan.attributes.items():
        depth = 0 if attribute.top_level else depth_of[attribute.parent] + 1
        depth_of[name] = depth
        while len(levels) <= depth:
            levels.append(defaultdict(list))
        levels[depth][attribute.parent].append(ElementUpsert(name, attribute.properties))
    for depth, by_parent in enumerate(levels):
        for parent, upserts in by_parent.items():
            if depth == 0:
                results = context.upsert_event_schema_attributes(upserts, parent_guid=guids[parent])
            else:
                results = context.upsert_event_schema_attributes(upserts)
                linked = [(guids[parent], guid) for guid, change in results if change != UNCHANGED]
                if linked:
                    context.add_nested_schema_attributes(linked)
            changed += _record(guids, upserts, results)
    return changed


def _record(guids: dict[str, str], upserts: Sequence[ElementUpsert], results: Sequence[tuple[str, str]]) -> int:
    for upsert, (guid, _) in zip(upserts, results, strict=True):
        guids[upsert.qualified_name] = guid
    return sum(1 for _, change in results if change != UNCHANGED)
