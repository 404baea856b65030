{{/*
The operator's permissions, in one place. "metaferry.operatorNamespacedRules" is what the operator
needs inside every namespace it watches; cluster-wide RBAC grants it through a ClusterRole, the
namespaced mode through one Role per watched namespace. Every verb says why it is granted.
*/}}

{{- define "metaferry.operatorNamespacedRules" -}}
# IntegrationConnectors: the operator's input.
- apiGroups: ["metaferry.io"]
  resources: ["integrationconnectors"]
  verbs:
    - get     # re-read a connector before acting on it
    - list    # kopf's initial listing (and re-listing after a watch expires)
    - watch   # kopf's event stream: create/update/delete/annotate reach the handlers through it
    - patch   # kopf's finalizer and its progress / last-handled-configuration annotations
- apiGroups: ["metaferry.io"]
  resources: ["integrationconnectors/status"]
  verbs:
    - patch   # write status: conditions, phase, refresh counts, lastHandledRefreshAt
    - update  # replace status when a whole-status write is simpler than a merge patch
- apiGroups: ["metaferry.io"]
  resources: ["integrationconnectors/finalizers"]
  verbs:
    - update  # children's ownerReferences set blockOwnerDeletion; clusters that enable the
              # OwnerReferencesPermissionEnforcement admission plugin demand this on the owner
# Children of each connector: its runtime configuration, bearer-token Secret, Deployment,
# Service and NetworkPolicy. The operator creates, converges (patch/update) and removes them.
- apiGroups: [""]
  resources: ["configmaps", "services"]
  verbs:
    - create  # a new connector's runtime configuration / API Service
    - get     # read back a child before converging it
    - list    # find children by label at start-up and after a watch expires
    - watch   # notice a child changed or deleted behind the operator's back
    - patch   # converge a child to the rendered manifest
    - update  # replace a child whose immutable parts changed
    - delete  # remove children of a deleted or suspended connector
- apiGroups: [""]
  resources: ["secrets"]
  verbs:
    - create  # the per-connector bearer-token Secret of the runtime API
    - get     # read the connector's spec.connection.secretRef Secret to hash it (rolls the pod on change)
    - list    # find the token Secrets by label; list+watch also serve the secretRef Secrets
    - watch   # notice a changed secretRef Secret, so the connector restarts with the new secrets
    - patch   # converge the token Secret's labels and ownerReferences
    - update  # rotate the token
    - delete  # remove the token Secret of a deleted connector
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs:
    - create  # one Deployment (replicas 1, Recreate) runs each connector's pod
    - get     # read its rollout state
    - list    # find connector Deployments by label
    - watch   # notice rollouts and deletions
    - patch   # converge image, resources, config hash; scale to 0 on suspend
    - update  # replace a Deployment whose selector must change
    - delete  # remove the Deployment of a deleted connector
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs:
    - create  # admit only operator pods to a connector runtime's API port
    - get     # read back before converging
    - list    # find the policies by label
    - watch   # notice a policy changed or deleted
    - patch   # converge the operator pod labels / namespace in the policy
    - update  # replace a policy that cannot be patched
    - delete  # remove the policy of a deleted connector
- apiGroups: [""]
  resources: ["pods"]
  verbs:
    - get     # a connector pod's IP, readiness and restart count
    - list    # find a connector's pod by label
    - watch   # notice a pod dying, so status turns Failed instead of lying
- apiGroups: [""]
  resources: ["events"]
  verbs:
    - create  # refresh started / finished / failed, shown by kubectl describe ic
    - patch   # kopf aggregates repeated events into one by patching its count
{{- end }}

{{/* Peering objects (only with highAvailability): the operator replicas elect who is active. */}}
{{- define "metaferry.peeringRules" -}}
- apiGroups: ["kopf.dev"]
  resources: [{{ .resource | quote }}]
  verbs:
    - get     # read the peering object
    - list    # kopf's initial listing of the peering object
    - watch   # see other replicas' keep-alives and priorities
    - patch   # write this replica's keep-alive into the peering object's status
{{- end }}
