"""From a catalog target to the documents it stands for: a document URL, a base URL whose well-known
paths are tried in order, a document index (the Kubernetes API server's `/openapi/v3`, one document per
API group), or a file.

What a target turned out to be is remembered, so later refreshes go straight to its documents; a target
that stops answering there is discovered again on the next refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from metaferry_runtime.connectors.openapi_monitor.fetching import Fetcher, as_mapping, file_url, parse
from metaferry_runtime.connectors.openapi_monitor.reading import specification_of
from metaferry_runtime.sdk.http import Fetched, SourceUnavailable, Validators, is_http

#: A document URL names its file; a base URL does not, and has the well-known paths tried below it.
DOCUMENT_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True)
class Plan:
    kind: Literal["document", "index"]
    url: str


class FetchedDocument:
    """One document of a target, parsed only when `value()` is asked for (an unchanged body is not)."""

    def __init__(self, url: str, group: str | None, fetched: Fetched, value: Mapping[str, Any] | None = None) -> None:
        self.url = url
        self.group = group
        self.fetched = fetched
        self._value = value

    @property
    def not_modified(self) -> bool:
        return self.fetched.body is None

    def value(self) -> Mapping[str, Any]:
        """The document; SourceUnavailable when it is neither JSON nor YAML, or not an OpenAPI document."""
        if self._value is None:
            value = as_mapping(parse(self.fetched), self.url)
            if specification_of(value) is None:
                raise SourceUnavailable(f"{self.url} is not an OpenAPI document (no openapi or swagger field)")
            self._value = value
        return self._value


class Sources:
    """Fetches each target's documents, conditionally; `validators_for(url)` gives what was last read."""

    def __init__(self, *, fetcher: Fetcher, well_known_paths: tuple[str, ...]) -> None:
        self._fetcher = fetcher
        self._well_known = well_known_paths
        self._plans: dict[str, Plan] = {}
        self._indexes: dict[str, tuple[Validators, dict[str, str]]] = {}  # index URL -> (validators, group -> URL)

    def documents(self, target: str, validators_for: Callable[[str], Validators | None]) -> list[FetchedDocument]:
        plan = self._plans.get(target)
        if plan is None:
            return self._discover(target)
        try:
            if plan.kind == "index":
                return self._index(plan.url, None, validators_for)
            fetched = self._fetcher.fetch(plan.url, validators_for(plan.url))
        except SourceUnavailable:
            del self._plans[target]  # discovered again next time
            raise
        return [_document(fetched, None)]

    def fetch_again(self, url: str, group: str | None) -> FetchedDocument:
        """The document in full (no conditional request): what was remembered of it is not in the repository."""
        return _document(self._fetcher.fetch(url), group)

    def _discover(self, target: str) -> list[FetchedDocument]:
        if not is_http(target):
            url = file_url(target)
            self._plans[target] = Plan("document", url)
            return [_document(self._fetcher.fetch(url), None)]
        candidates = [target]
        if not urlsplit(target).path.endswith(DOCUMENT_SUFFIXES):
            candidates += [target.rstrip("/") + path for path in self._well_known]
        tried = []
        for candidate in candidates:
            try:
                fetched = self._fetcher.fetch(candidate)
                value = parse(fetched)
            except SourceUnavailable as error:
                if error.status in (None, 401):  # unreachable or credentials refused: other paths will not do better
                    raise
                tried.append(f"{candidate} ({error})" if len(candidates) == 1 else candidate)
                continue
            if isinstance(value, Mapping) and specification_of(value) is not None:
                self._plans[target] = Plan("document", candidate)
                return [FetchedDocument(candidate, None, fetched, value)]
            if _is_index(value):
                self._plans[target] = Plan("index", candidate)
                return self._index(candidate, (fetched, value), lambda url: None)
            tried.append(f"{candidate} (not an OpenAPI document)")
        raise SourceUnavailable(f"no OpenAPI document found at {target}: tried {', '.join(tried)}")

    def _index(
        self,
        url: str,
        first: tuple[Fetched, Any] | None,
        validators_for: Callable[[str], Validators | None],
    ) -> list[FetchedDocument]:
        """Each per-group document of an index, fetched conditionally; the index itself too."""
        known = self._indexes.get(url)
        if first is None:
            fetched = self._fetcher.fetch(url, known[0] if known else None)
            value = None if fetched.body is None else parse(fetched)
        else:
            fetched, value = first
        if value is None and known is not None:
            groups = known[1]
        else:
            groups = {
                str(group): urljoin(url, str(entry["serverRelativeURL"]))
                for group, entry in as_mapping(value, url).get("paths", {}).items()
            }
            self._indexes[url] = (fetched.validators(), groups)
        return [
            _document(self._fetcher.fetch(document_url, validators_for(document_url)), group)
            for group, document_url in sorted(groups.items())
        ]


def _document(fetched: Fetched, group: str | None) -> FetchedDocument:
    return FetchedDocument(fetched.url, group, fetched)


def _is_index(value: Any) -> bool:
    """The Kubernetes API server's `/openapi/v3`: {"paths": {"apis/apps/v1": {"serverRelativeURL": ...}}}."""
    if not isinstance(value, Mapping) or not isinstance(value.get("paths"), Mapping) or "openapi" in value:
        return False
    entries = list(value["paths"].values())
    return bool(entries) and all(isinstance(entry, Mapping) and "serverRelativeURL" in entry for entry in entries)
