"""`Json`: a Kubernetes object, or a part of one, as the API server's decoded JSON.

One alias for the whole operator. The bodies it reads and writes are plain mappings; the pydantic models
check the part whose shape matters (the connector's spec) where the reconciler parses it.
"""

from typing import Any

Json = dict[str, Any]
