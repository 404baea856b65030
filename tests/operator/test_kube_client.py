"""The operator's Kubernetes client: requests beyond the connection pool wait in the client, in order."""

from __future__ import annotations

import asyncio

import httpx
from kubernetes import client as k8s_client

from metaferry_operator.kube import KubeClient


async def test_no_more_requests_are_in_flight_than_connections() -> None:
    in_flight, most, order = 0, 0, []

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        order.append(request.url.path)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={"metadata": {"name": request.url.path.rsplit("/", 1)[-1]}})

    configuration = k8s_client.Configuration()
    configuration.host = "http://api.test"
    kube = KubeClient(configuration, max_connections=3)
    kube._http = httpx.AsyncClient(base_url="http://api.test", transport=httpx.MockTransport(answer))
    paths = [f"/api/v1/namespaces/data/configmaps/c{index}" for index in range(20)]
    answers = await asyncio.gather(*(kube.get(path) for path in paths))
    await kube.aclose()
    assert [body["metadata"]["name"] for body in answers if body] == [path.rsplit("/", 1)[-1] for path in paths]
    assert most == 3
    assert order == paths  # waiting requests are sent in the order they were made
