"""The demo's flag / rate-limit service: the store, and the HTTP API the kill switches hit."""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from sre_tui.sandbox.flags import FlagStore, make_flags_app, start_flags_server

TOKEN = "demo-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_store_defaults_and_history() -> None:
    clock = iter(range(100, 200))
    store = FlagStore(clock=lambda: float(next(clock)))
    assert store.flags() == {
        "ai_enabled": True,
        "guardrails_strict": True,
        "fallback_enabled": False,
    }
    assert store.limits() == {"global": 1000.0}
    store.set_flag("ai_enabled", False)
    store.set_limit("global", 0)
    assert store.flag("ai_enabled") is False and store.limit("global") == 0
    [first, second] = store.history
    assert (first.time, first.kind, first.name, first.before, first.after) == (
        100.0, "flag", "ai_enabled", True, False,
    )  # fmt: skip
    assert (second.kind, second.name, second.before, second.after) == (
        "limit",
        "global",
        1000.0,
        0.0,
    )
    with pytest.raises(KeyError):
        store.set_flag("nope", True)
    with pytest.raises(TypeError):
        store.set_flag("ai_enabled", "false")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.set_limit("global", -1)
    assert len(store.history) == 2  # refused writes are not history


def test_store_is_thread_safe_and_history_bounded() -> None:
    store = FlagStore(history_limit=5000)

    def writer(n: int) -> None:
        for i in range(200):
            store.set_limit("global", n * 1000 + i)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = store.history
    assert len(history) == 1600
    # every change's `before` is the previous change's `after`: no lost updates
    for prev, cur in itertools.pairwise(history):
        assert cur.before == prev.after
    small = FlagStore(history_limit=3)
    for i in range(5):
        small.set_limit("global", i)
    assert [c.after for c in small.history] == [2, 3, 4]


@pytest.fixture
async def client() -> AsyncIterator[tuple[TestClient, FlagStore]]:
    store = FlagStore()
    async with TestClient(TestServer(make_flags_app(store, TOKEN))) as c:
        yield c, store


async def test_a_token_is_required(client: tuple[TestClient, FlagStore]) -> None:
    c, _ = client
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        resp = await c.get("/api/flags/ai_enabled", headers=headers)
        assert resp.status == 401
        assert (await resp.json())["error"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = await c.put("/api/limits/global", json={"requests_per_second": 0})
    assert resp.status == 401
    assert (await c.get("/healthz")).status == 200  # probes need no token


async def test_get_and_put_flags(client: tuple[TestClient, FlagStore]) -> None:
    c, store = client
    resp = await c.get("/api/flags", headers=AUTH)
    assert {"name": "ai_enabled", "enabled": True} in (await resp.json())["flags"]
    resp = await c.put("/api/flags/ai_enabled", json={"enabled": False}, headers=AUTH)
    assert resp.status == 200
    assert await resp.json() == {"name": "ai_enabled", "enabled": False}
    resp = await c.get("/api/flags/ai_enabled", headers=AUTH)
    assert await resp.json() == {"name": "ai_enabled", "enabled": False}
    assert store.flag("ai_enabled") is False
    # the kill switch's revert body
    resp = await c.put("/api/flags/ai_enabled", json={"enabled": True}, headers=AUTH)
    assert (await resp.json())["enabled"] is True
    changes = [(ch.name, ch.before, ch.after) for ch in store.history]
    assert changes == [("ai_enabled", True, False), ("ai_enabled", False, True)]


async def test_get_and_put_limits(client: tuple[TestClient, FlagStore]) -> None:
    c, store = client
    resp = await c.get("/api/limits/global", headers=AUTH)
    assert await resp.json() == {"name": "global", "requests_per_second": 1000}
    resp = await c.put("/api/limits/global", json={"requests_per_second": 0}, headers=AUTH)
    assert await resp.json() == {"name": "global", "requests_per_second": 0}
    assert store.limit("global") == 0
    resp = await c.put("/api/limits/global", json={"requests_per_second": 12.5}, headers=AUTH)
    assert (await resp.json())["requests_per_second"] == 12.5
    resp = await c.get("/api/history", headers=AUTH)
    changes = (await resp.json())["changes"]
    assert [(ch["before"], ch["after"]) for ch in changes] == [(1000, 0), (0, 12.5)]
    assert all(isinstance(ch["time"], float) for ch in changes)


async def test_unknown_names_are_404(client: tuple[TestClient, FlagStore]) -> None:
    c, store = client
    for method, path, body in (
        ("GET", "/api/flags/nope", None),
        ("PUT", "/api/flags/nope", {"enabled": False}),
        ("GET", "/api/limits/nope", None),
        ("PUT", "/api/limits/nope", {"requests_per_second": 1}),
    ):
        resp = await c.request(method, path, json=body, headers=AUTH)
        assert resp.status == 404, (method, path)
        assert "nope" in (await resp.json())["message"]
    assert store.history == []


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/flags/ai_enabled", {"enabled": "false"}, '"enabled": true|false'),
        ("/api/flags/ai_enabled", {"enabled": 0}, '"enabled": true|false'),
        ("/api/flags/ai_enabled", {}, '"enabled": true|false'),
        ("/api/flags/ai_enabled", [False], "JSON object"),
        ("/api/flags/ai_enabled", {"enabled": False, "ttl": 5}, "unexpected field(s): ttl"),
        ("/api/flags/ai_enabled", {"name": "other", "enabled": False}, "URL names"),
        ("/api/limits/global", {"requests_per_second": "0"}, "must be a number"),
        ("/api/limits/global", {"requests_per_second": True}, "must be a number"),
        ("/api/limits/global", {"requests_per_second": -5}, ">= 0"),
        ("/api/limits/global", {"rps": 0}, "unexpected field(s): rps"),
    ],
)
async def test_wrong_bodies_are_400(
    client: tuple[TestClient, FlagStore], path: str, body: object, message: str
) -> None:
    c, store = client
    resp = await c.put(path, json=body, headers=AUTH)
    assert resp.status == 400
    payload = await resp.json()
    assert payload["error"] == "bad_request" and message in payload["message"]
    assert store.history == []


async def test_a_body_that_is_not_json_is_400(client: tuple[TestClient, FlagStore]) -> None:
    c, _ = client
    resp = await c.put("/api/flags/ai_enabled", data=b"enabled=false", headers=AUTH)
    assert resp.status == 400
    assert "JSON object" in (await resp.json())["message"]


async def test_served_on_a_real_localhost_port() -> None:
    store = FlagStore()
    runner, url = await start_flags_server(store, TOKEN)
    try:
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        limit = f"{url}/api/limits/global"
        async with (
            aiohttp.ClientSession(headers=AUTH) as session,
            session.put(limit, json={"requests_per_second": 0}) as r,
        ):
            assert r.status == 200
        assert store.limit("global") == 0
    finally:
        await runner.cleanup()


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(ValueError):
        make_flags_app(FlagStore(), "")
