{{/*
The operator's permissions, in one place. "metaferry.operatorNamespacedRules" is what the operator
needs inside every namespace it watches; cluster-wide RBAC grants it through a ClusterRole, the
namespaced mode through one Role per watched namespace. Every verb says why it is granted.
*/}}

{{- define "metaferry.operatorNamespacedRules" -}}
# Only what the operator's code (operator/metaferry_operator/kube.py, handlers.py, reconciler.py)
# and kopf actually call. kopf registers event handlers only: no finalizers, no progress or
# last-handled-configuration annotations, so it never patches or reads a single connector.
# IntegrationConnectors: the operator's input.
- apiGroups: ["metaferry.io"]
  resources: ["integrationconnectors"]
  verbs:
    - list    # kopf's initial listing (and re-listing after a watch expires)
    - watch   # kopf's event stream: create/update/delete/annotate reach the handlers through it
- apiGroups: ["metaferry.io"]
  resources: ["integrationconnectors/status"]
  verbs:
    - patch   # write status (merge patch): conditions, phase, refresh counts, lastHandledRefreshAt
- apiGroups: ["metaferry.io"]
  resources: ["integrationconnectors/finalizers"]
  verbs:
    - update  # children's ownerReferences set blockOwnerDeletion; clusters that enable the
              # OwnerReferencesPermissionEnforcement admission plugin demand this on the owner
# Children of each connector: its runtime configuration, bearer-token Secret, Deployment, Service
# and NetworkPolicy. The operator server-side applies them (a PATCH, which also needs create when
# the child does not exist yet) and learns of them through kopf's watches; the garbage collector
# removes them with their connector (ownerReferences), so the operator never updates or deletes one.
- apiGroups: [""]
  resources: ["configmaps", "services"]
  verbs:
    - create  # server-side apply of a connector's runtime configuration / API Service, first time
    - patch   # server-side apply: converge the child to the rendered manifest
    - list    # kopf's initial listing of children (label managed-by=metaferry-operator)
    - watch   # notice a child changed or deleted behind the operator's back, and re-apply it
- apiGroups: [""]
  resources: ["secrets"]
  verbs:
    - create  # server-side apply of the per-connector bearer-token Secret of the runtime API, first time
    - patch   # server-side apply: converge the token Secret's labels and ownerReferences
    - get     # read back the token, and read a spec.connection.secretRef Secret the watch has not
              # delivered yet (only its digest is kept: a change rolls the connector's pod)
    - list    # kopf's initial listing; list+watch serve the token and secretRef Secrets
    - watch   # notice a changed secretRef Secret, so the connector restarts with the new secrets
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs:
    - create  # server-side apply of the Deployment (replicas 1, Recreate) running a connector's pod
    - patch   # server-side apply: converge image, resources, config hash; scale to 0 on suspend
    - list    # kopf's initial listing of connector Deployments (by label)
    - watch   # rollout state, edits and deletions
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs:
    - create  # server-side apply of the policy admitting only operator pods to the runtime API port
    - patch   # server-side apply: converge the operator pod labels / namespace in the policy
    - list    # kopf's initial listing of the policies (by label)
    - watch   # notice a policy changed or deleted
- apiGroups: [""]
  resources: ["pods"]
  verbs:
    - list    # kopf's initial listing of connector pods (by label): IP, readiness, restarts
    - watch   # notice a pod dying, so status turns Failed instead of lying
- apiGroups: [""]
  resources: ["events"]
  verbs:
    - create  # refresh started / finished / failed, shown by kubectl describe ic (kopf posts, too)
{{- end }}
