# Who may do what with an asset, decided with the document the opa-publisher connector keeps at
# data.metaferry. Ask with: POST /v1/data/access/allow {"input": {"user": "alice", "action": "read",
# "asset": "postgres://warehouse-db:5432/warehouse.sales"}}
package access

import rego.v1

default allow := false

# One of the user's groups may do the action in one of the asset's governance zones
# (the zone's SecurityTags accessGroups, e.g. {"read": ["finance-analysts"]}).
allow if {
	some zone in data.metaferry.assets[input.asset].zones
	some group in data.metaferry.users[input.user].groups
	group in data.metaferry.zones[zone].accessGroups[input.action]
}

# Or the asset's own SecurityTags grant the action to one of the user's groups.
allow if {
	some group in data.metaferry.users[input.user].groups
	group in data.metaferry.assets[input.asset].accessGroups[input.action]
}

# The Confidentiality level is there for policies to use directly, e.g. to audit reads above level 3.
restricted if data.metaferry.assets[input.asset].confidentiality.level > 3
