"""The catalogue API over HTTP, as the CLI needs it: every failure becomes a CliError that names the URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from metaferry_cli.errors import CliError
from metaferry_operator.json_types import Json

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_MEANINGS = {
    401: "the catalogue wants a valid token (--catalog-token or METAFERRY_CATALOG_TOKEN)",
    403: "this token may not do that (curating needs a curator token)",
    400: "the catalogue refused the request",
    404: "no such element",
    413: "the change is too large",
    503: "the catalogue's repository is unavailable",
}


class CatalogClient:
    def __init__(self, base_url: str | None, token: str | None) -> None:
        if not base_url:
            raise CliError(
                "give --catalog URL (or set METAFERRY_CATALOG_URL), e.g. http://127.0.0.1:8090,"
                " or --repository URL to read a local repository"
            )
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=TIMEOUT)

    def search(self, **params: Any) -> list[Json]:
        page: Json = self._call("GET", "/api/v1/elements", params={k: v for k, v in params.items() if v is not None})
        return list(page["items"])

    def element(self, guid: str) -> Json:
        return self._call("GET", f"/api/v1/elements/{quote(guid, safe='')}")  # type: ignore[no-any-return]

    def lineage(self, guid: str, *, direction: str, depth: int) -> Json:
        path = f"/api/v1/elements/{quote(guid, safe='')}/lineage"
        return self._call("GET", path, params={"direction": direction, "depth": depth})  # type: ignore[no-any-return]

    def curate(self, guid: str, properties: Json) -> Json:
        path = f"/api/v1/elements/{quote(guid, safe='')}"
        return self._call("PATCH", path, json={"properties": properties})  # type: ignore[no-any-return]

    def resolve(self, guid_or_name: str) -> str:
        """A GUID as given; a qualified name looked up exactly (search matches substrings)."""
        found = [e for e in self.search(text=guid_or_name, limit=200) if e["qualified_name"] == guid_or_name]
        if len(found) == 1:
            return str(found[0]["guid"])
        if found:
            raise CliError(f"{len(found)} elements have the qualified name {guid_or_name!r}; give a GUID")
        return guid_or_name  # taken as a GUID: the catalogue answers 404 when it is neither

    def _call(self, method: str, path: str, **arguments: Any) -> Any:
        try:
            response = self._http.request(method, path, **arguments)
        except httpx.HTTPError as error:
            raise CliError(f"cannot reach the catalogue at {self.base_url}: {error}") from None
        if response.is_success:
            return response.json()
        try:
            detail = response.json().get("detail") or response.text
        except ValueError:
            detail = response.text
        meaning = _MEANINGS.get(response.status_code, response.reason_phrase)
        raise CliError(f"{response.status_code}: {meaning}: {detail}")
