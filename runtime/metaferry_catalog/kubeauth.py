"""Auth the Kubernetes way: a bearer token is authenticated by a TokenReview and its user authorized by a
SubjectAccessReview on a virtual resource per action, so who may read or curate the catalogue is ordinary
RBAC, and the TokenReview's username is the curator of what the token writes.

Reading is `get` on `integrationconnectors/catalog` in API group `metaferry.io`; curating is `create` on
`curations` in the same group and needs reading too (a curation answers with the element it changed).
Both are cluster-wide, so only ClusterRoleBindings grant them (a RoleBinding never does): grant them
with a ClusterRole such as

    rules:
    - apiGroups: ["metaferry.io"]
      resources: ["integrationconnectors/catalog"]
      verbs: ["get"]
    - apiGroups: ["metaferry.io"]   # curators only
      resources: ["curations"]
      verbs: ["create"]

The catalogue's own identity needs `create` on `tokenreviews` and `subjectaccessreviews` (the built-in
ClusterRole `system:auth-delegator`). Judgements are kept for `cache_seconds` under the token's SHA-256
and the action, never the token, so a busy reader costs the API server two calls per interval, not per
request.
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

from metaferry_catalog.auth import Action, Judgement, Verdict, bearer_token

log = logging.getLogger(__name__)

CACHE_ENTRIES = 10_000


@dataclass(frozen=True)
class VirtualResource:
    group: str = "metaferry.io"
    resource: str = "integrationconnectors"
    subresource: str = "catalog"
    verb: str = "get"


READ = VirtualResource()
CURATE = VirtualResource(resource="curations", subresource="", verb="create")


class KubernetesTokens:
    def __init__(
        self,
        api: client.ApiClient,
        *,
        resource: VirtualResource | None = None,
        curate_resource: VirtualResource | None = None,
        cache_seconds: float = 10.0,
    ) -> None:
        self._authn = client.AuthenticationV1Api(api)
        self._authz = client.AuthorizationV1Api(api)
        self.resource = resource or READ
        self.curate_resource = curate_resource or CURATE
        self.cache_seconds = cache_seconds
        self._cache: OrderedDict[tuple[str, Action], tuple[Judgement, float]] = OrderedDict()

    async def judge(self, authorization: str | None, action: Action) -> Judgement:
        token = bearer_token(authorization)
        if token is None:
            return Judgement(Verdict.UNAUTHENTICATED)
        key = (hashlib.sha256(token.encode()).hexdigest(), action)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        judgement = await asyncio.to_thread(self._review, token, action)
        if judgement.verdict is not Verdict.UNAVAILABLE:
            self._cache[key] = (judgement, now + self.cache_seconds)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return judgement

    def _review(self, token: str, action: Action) -> Judgement:
        needed = [self.resource] if action is Action.READ else [self.resource, self.curate_resource]
        try:
            review = self._authn.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
            status = review.status
            if status is None or not status.authenticated or status.user is None or not status.user.username:
                return Judgement(Verdict.UNAUTHENTICATED)
            user = status.user
            allowed = all(self._allows(user, r) for r in needed)
        except (ApiException, HTTPError) as error:
            # The exception's text carries the request body (the token): log its status only.
            log.warning("cannot review a catalogue token: %s", getattr(error, "status", type(error).__name__))
            return Judgement(Verdict.UNAVAILABLE)
        if not allowed:
            log.info("catalogue %s refused for %s", action.name.lower(), user.username)
        return Judgement(Verdict.ALLOWED if allowed else Verdict.FORBIDDEN, user.username)

    def _allows(self, user: client.V1UserInfo, r: VirtualResource) -> bool:
        access = self._authz.create_subject_access_review(
            client.V1SubjectAccessReview(
                spec=client.V1SubjectAccessReviewSpec(
                    user=user.username,
                    groups=user.groups,
                    uid=user.uid,
                    extra=user.extra,
                    resource_attributes=client.V1ResourceAttributes(
                        group=r.group, resource=r.resource, subresource=r.subresource or None, verb=r.verb
                    ),
                )
            )
        )
        return access.status is not None and bool(access.status.allowed)
