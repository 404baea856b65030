"""The metaferry operator: turns IntegrationConnector resources into running connector pods.

Parts, one idea per module:

- ``config``: the operator's settings (environment variables and ``run`` flags).
- ``naming``: names, labels, annotations and paths shared by the other modules.
- ``crd``: the CustomResourceDefinition, generated from the runtime's pydantic models.
- ``rendering``: pure functions from a connector to its child manifests.
- ``observation``: pure summaries of the pod, the Deployment and the runtime's report.
- ``actions``: the on-demand refresh/restart tokens (Flux's ``requestedAt`` pattern).
- ``status``: pure computation of the status stanza, its conditions and the events to post.
- ``kube`` / ``runtime_client``: the two HTTP clients (Kubernetes API, connector runtime).
- ``cache``: what the watches saw (pods, children, Secret digests), fed by kopf.
- ``reconciler``: one connector's reconcile steps; ``supervisor``: one task per connector.
- ``handlers``: the thin kopf registrations; ``cli``: the ``metaferry-operator`` command.
"""

__version__ = "0.1.0"
