"""Where a target's dashboards come from: a Grafana HTTP API, or a directory of dashboard JSON files.

A Grafana (an `http(s)://` target) lists its dashboards with `/api/search?type=dash-db`, page by page, and
serves each at `/api/dashboards/uid/<uid>` with its folder in `meta`; `/api/folders` names the folders and
`/api/datasources` says which database each SQL data source reads; `/api/library-elements/<uid>` holds the
library panels dashboards use. A directory (a path or a `file://`
URL) holds dashboards as Grafana provisions them: every `*.json` below it, the subdirectory a file is in
being its folder (as `foldersFromFilesStructure` makes it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict

from metaferry_runtime.connectors.grafana_dashboards.fetching import parsed
from metaferry_runtime.sdk.http import ConditionalFetcher, Fetched, SourceUnavailable, Validators

#: The Grafana API's largest search page is 5000; folders come 1000 to a page.
FOLDER_PAGE_SIZE = 1000


class Listed(BaseModel):
    """One dashboard a listing found: `key` is its uid (an API) or its path below the directory (files)."""

    model_config = ConfigDict(frozen=True)

    key: str
    title: str
    folder: str | None = None
    url: str | None = None  # where a user opens it
    location: str  # where it is fetched from: an API URL or a file path


class Source(Protocol):
    """A target's dashboards: the root of their qualified names, the listing, each dashboard's JSON."""

    root: str

    def dashboards(self) -> list[Listed]: ...
    def read(self, listed: Listed, validators: Validators | None) -> Fetched: ...
    def datasources(self) -> list[Mapping[str, Any]]: ...
    def library_panel(self, uid: str) -> Mapping[str, Any] | None: ...


def source_for(target: str, *, fetcher: ConditionalFetcher, page_size: int) -> Source:
    if target.startswith(("http://", "https://")):
        return GrafanaAPI(target, fetcher=fetcher, page_size=page_size)
    return DashboardFiles(directory_path(target), fetcher=fetcher)


def directory_path(target: str) -> str:
    path = unquote(urlsplit(target).path) if target.startswith("file://") else target
    return os.path.abspath(path)


class GrafanaAPI:
    """A Grafana server (or a Grafana served below a path: `https://example.com/grafana`)."""

    def __init__(self, base: str, *, fetcher: ConditionalFetcher, page_size: int) -> None:
        self.base = base.rstrip("/")
        self.root = f"grafana:{self.base}"
        self._fetcher = fetcher
        self._page_size = page_size

    def dashboards(self) -> list[Listed]:
        folders = self._folders()
        listed: dict[str, Listed] = {}
        page = 1
        while True:
            hits = parsed(
                self._fetcher.get(
                    f"{self.base}/api/search", params={"type": "dash-db", "limit": self._page_size, "page": page}
                )
            )
            if not isinstance(hits, list):
                raise SourceUnavailable(f"{self.base}/api/search did not answer a list of dashboards")
            for hit in hits:
                if (
                    not isinstance(hit, Mapping)
                    or not isinstance(hit.get("uid"), str)
                    or hit.get("type") == "dash-folder"
                ):
                    continue
                uid = hit["uid"]
                folder = hit.get("folderTitle") or folders.get(str(hit.get("folderUid") or ""))
                url = hit.get("url")
                listed[uid] = Listed(
                    key=uid,
                    title=str(hit.get("title") or uid),
                    folder=str(folder) if folder else None,
                    url=self._absolute(url) if isinstance(url, str) else None,
                    location=f"{self.base}/api/dashboards/uid/{quote(uid, safe='')}",
                )
            if len(hits) < self._page_size:
                return list(listed.values())
            page += 1

    def read(self, listed: Listed, validators: Validators | None) -> Fetched:
        return self._fetcher.get(listed.location, validators=validators)

    def library_panel(self, uid: str) -> Mapping[str, Any]:
        """The model of a library panel (`/api/library-elements/<uid>`): the panel its dashboards show."""
        url = f"{self.base}/api/library-elements/{quote(uid, safe='')}"
        answer = parsed(self._fetcher.get(url))
        result = answer.get("result") if isinstance(answer, Mapping) else None
        model = result.get("model") if isinstance(result, Mapping) else None
        if not isinstance(model, Mapping):
            raise SourceUnavailable(f"{url} holds no panel model")
        return model

    def datasources(self) -> list[Mapping[str, Any]]:
        answer = parsed(self._fetcher.get(f"{self.base}/api/datasources"))
        if not isinstance(answer, list):
            raise SourceUnavailable(f"{self.base}/api/datasources did not answer a list")
        return [entry for entry in answer if isinstance(entry, Mapping)]

    def _folders(self) -> dict[str, str]:
        """Folder uid -> title. A token that may not list folders still lists dashboards (with their folders'
        titles in the search hits), so a refusal here is not a failure."""
        folders: dict[str, str] = {}
        page = 1
        while True:
            try:
                answer = parsed(
                    self._fetcher.get(f"{self.base}/api/folders", params={"limit": FOLDER_PAGE_SIZE, "page": page})
                )
            except SourceUnavailable as error:
                if error.status in (403, 404):
                    return folders
                raise
            if not isinstance(answer, list):
                return folders
            folders.update(
                {
                    str(f["uid"]): str(f.get("title") or f["uid"])
                    for f in answer
                    if isinstance(f, Mapping) and "uid" in f
                }
            )
            if len(answer) < FOLDER_PAGE_SIZE:
                return folders
            page += 1

    def _absolute(self, url: str) -> str:
        """Grafana's hit URLs include its sub-path (`/grafana/d/uid/slug`): join them to the origin."""
        if url.startswith(("http://", "https://")):
            return url
        parts = urlsplit(self.base)
        return f"{parts.scheme}://{parts.netloc}{url if url.startswith('/') else '/' + url}"


class DashboardFiles:
    """A directory of dashboard JSON files, read recursively (hidden entries left out)."""

    def __init__(self, directory: str, *, fetcher: ConditionalFetcher) -> None:
        self.directory = directory
        self.root = f"grafana:file://{directory}"
        self._fetcher = fetcher

    def dashboards(self) -> list[Listed]:
        if not os.path.isdir(self.directory):
            raise SourceUnavailable(f"{self.directory} is not a directory")
        listed = []
        for current, directories, files in os.walk(self.directory, onerror=_raise):
            directories[:] = sorted(name for name in directories if not name.startswith("."))
            relative = os.path.relpath(current, self.directory)
            for name in sorted(files):
                if name.endswith(".json") and not name.startswith("."):
                    path = os.path.join(current, name)
                    key = os.path.relpath(path, self.directory)
                    listed.append(
                        Listed(
                            key=key,
                            title=name.removesuffix(".json"),
                            folder=None if relative == "." else relative,
                            url="file://" + path,
                            location=path,
                        )
                    )
        return listed

    def read(self, listed: Listed, validators: Validators | None) -> Fetched:
        return self._fetcher.read_file(listed.location)

    def datasources(self) -> list[Mapping[str, Any]]:
        return []

    def library_panel(self, uid: str) -> Mapping[str, Any] | None:
        """A file cannot hold a library panel's model: its stub is catalogued as it is."""
        return None


def _raise(error: OSError) -> None:
    raise SourceUnavailable(f"cannot list {error.filename}: {error.strerror or error}")


def provisioned_datasources(paths: tuple[str, ...]) -> list[Mapping[str, Any]]:
    """The data sources of Grafana provisioning files (`datasources:` entries, as Grafana reads them)."""
    entries: list[Mapping[str, Any]] = []
    for path in paths:
        try:
            with open(path, "rb") as file:
                document = yaml.safe_load(file)
        except OSError as error:
            raise SourceUnavailable(f"cannot read {path}: {error.strerror or error}") from None
        except yaml.YAMLError as error:
            raise SourceUnavailable(f"{path} is not YAML: {' '.join(str(error).split())[:160]}") from None
        listed = document.get("datasources") if isinstance(document, Mapping) else None
        if not isinstance(listed, list):
            raise SourceUnavailable(f"{path} is not a Grafana data source provisioning file (no datasources list)")
        entries += [entry for entry in listed if isinstance(entry, Mapping)]
    return entries
