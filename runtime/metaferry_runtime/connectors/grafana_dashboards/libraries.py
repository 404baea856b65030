"""Library panels: a dashboard that uses one holds only a stub (`libraryPanel: {uid, name}` and its place);
the panel itself, targets and all, is the library element's model, which Grafana serves apart. A change to
the model changes every dashboard that uses it without changing their JSON, so the digest a Report holds
covers the models too, and a refresh fetches each model once whatever the number of dashboards using it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from metaferry_runtime.connectors.grafana_dashboards.sources import Source


class LibraryPanels:
    """The models one target's refresh fetched, by uid (None: the source holds no models, as files do)."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._models: dict[str, Mapping[str, Any] | None] = {}

    def models(self, uids: tuple[str, ...]) -> dict[str, Mapping[str, Any]]:
        """The models of these library panels; SourceUnavailable when one cannot be fetched (the dashboard fails)."""
        for uid in uids:
            if uid not in self._models:
                self._models[uid] = self._source.library_panel(uid)
        return {uid: model for uid in uids if (model := self._models[uid]) is not None}


def combined_digest(body_digest: str, models: Mapping[str, Mapping[str, Any]]) -> str:
    """The dashboard's digest, with its library panels' models when it uses any."""
    if not models:
        return body_digest
    digest = hashlib.sha256(body_digest.encode())
    for uid in sorted(models):
        digest.update(uid.encode() + b"\0" + json.dumps(models[uid], sort_keys=True).encode() + b"\0")
    return digest.hexdigest()
