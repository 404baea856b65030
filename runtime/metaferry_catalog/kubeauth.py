"""Auth the Kubernetes way: a bearer token is authenticated by a TokenReview and its user authorized by a
SubjectAccessReview on a virtual resource, so who may read the catalogue is ordinary RBAC.

The virtual resource is `get` on `integrationconnectors/catalog` in API group `metaferry.io`, cluster-wide:
grant it with a ClusterRole such as

    rules:
    - apiGroups: ["metaferry.io"]
      resources: ["integrationconnectors/catalog"]
      verbs: ["get"]

The catalogue's own identity needs `create` on `tokenreviews` and `subjectaccessreviews` (the built-in
ClusterRole `system:auth-delegator`). Verdicts are kept for `cache_seconds` under the token's SHA-256,
never the token, so a busy reader costs the API server two calls per interval, not per request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from metaferry_catalog.auth import Verdict, bearer_token

log = logging.getLogger(__name__)

CACHE_ENTRIES = 10_000


@dataclass(frozen=True)
class VirtualResource:
    group: str = "metaferry.io"
    resource: str = "integrationconnectors"
    subresource: str = "catalog"
    verb: str = "get"


class KubernetesTokens:
    def __init__(
        self, api: client.ApiClient, *, resource: VirtualResource | None = None, cache_seconds: float = 10.0
    ) -> None:
        self._authn = client.AuthenticationV1Api(api)
        self._authz = client.AuthorizationV1Api(api)
        self.resource = resource or VirtualResource()
        self.cache_seconds = cache_seconds
        self._cache: OrderedDict[str, tuple[Verdict, float]] = OrderedDict()

    async def verdict(self, authorization: str | None) -> Verdict:
        token = bearer_token(authorization)
        if token is None:
            return Verdict.UNAUTHENTICATED
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        verdict = await asyncio.to_thread(self._review, token)
        if verdict is not Verdict.UNAVAILABLE:
            self._cache[key] = (verdict, now + self.cache_seconds)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return verdict

    def _review(self, token: str) -> Verdict:
        try:
            review = self._authn.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
            status = review.status
            if status is None or not status.authenticated or status.user is None:
                return Verdict.UNAUTHENTICATED
            user = status.user
            r = self.resource
            access = self._authz.create_subject_access_review(
                client.V1SubjectAccessReview(
                    spec=client.V1SubjectAccessReviewSpec(
                        user=user.username,
                        groups=user.groups,
                        uid=user.uid,
                        extra=user.extra,
                        resource_attributes=client.V1ResourceAttributes(
                            group=r.group, resource=r.resource, subresource=r.subresource, verb=r.verb
                        ),
                    )
                )
            )
        except (ApiException, HTTPError) as error:
            # The exception's text carries the request body (the token): log its status only.
            log.warning("cannot review a catalogue token: %s", getattr(error, "status", type(error).__name__))
            return Verdict.UNAVAILABLE
        allowed = access.status is not None and bool(access.status.allowed)
        if not allowed:
            log.info("catalogue read refused for %s", user.username)
        return Verdict.ALLOWED if allowed else Verdict.FORBIDDEN
