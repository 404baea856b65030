"""Write sample access metadata into a repository, as a security office and a data steward would, so the
opa-publisher example has something to publish: users alice and bob, groups finance-analysts (alice) and
marketing (bob), zones finance and marketing that each group may read, and two assets, one in each zone.

    python examples/opa-sample.py sqlite:///.tmp/metaferry.db
"""

from __future__ import annotations

import sys

from metaferry_runtime.repository import open_repository
from metaferry_runtime.sdk.contexts import create_context

ASSETS = {"finance": "file:///data/finance/ledger.csv", "marketing": "file:///data/marketing/campaigns.csv"}


def main(url: str) -> None:
    repository = open_repository(url)
    office = create_context("security", repository=repository, connector_name="office",
                            metadata_source_qualified_name="security-office")  # fmt: skip
    steward = create_context("files", repository=repository, connector_name="steward",
                             metadata_source_qualified_name="data-steward")  # fmt: skip
    try:
        with office.change_batch():
            for user, group in (("alice", "finance-analysts"), ("bob", "marketing")):
                user_element, _ = office.upsert_user_identity(f"user:{user}", {"userId": user})
                group_element, _ = office.upsert_security_group(group, {"name": group})
                office.add_user_to_security_group(group_element.guid, user_element.guid)
            for zone, group in (("finance", "finance-analysts"), ("marketing", "marketing")):
                zone_element, _ = office.upsert_governance_zone(f"zone:{zone}", {"name": zone})
                office.add_security_tags(zone_element.guid, {"accessGroups": {"read": [group]}})
        with steward.change_batch():
            for zone, name in ASSETS.items():
                asset, _ = steward.upsert_data_file(name, {"name": name.rsplit("/", 1)[1]})
                steward.publish_data_file(asset.guid, [zone])
    finally:
        office.disconnect()
        steward.disconnect()
        repository.close()
    print(f"wrote 2 users, 2 groups, 2 zones and 2 assets to {url}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///metaferry.db")
