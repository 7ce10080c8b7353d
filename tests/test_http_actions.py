"""HTTP kill switches against the demo flag service, served for real on a loopback port."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import keyring
import pytest
from aiohttp import web
from keyring.backend import KeyringBackend
from keyring.compat import properties

from sre_tui.actions.http import NO_REVERT, HttpPerformer
from sre_tui.backends.secrets import SERVICE, SecretResolver
from sre_tui.core.actions import (
    ActionError,
    Outcome,
    Plan,
    outcome_to_json,
    plan_from_json,
    plan_to_json,
)
from sre_tui.core.incident import EnvInfo
from sre_tui.core.runbook import HttpAction
from sre_tui.sandbox.backends import free_port
from sre_tui.sandbox.flags import FlagStore, make_flags_app

TOKEN = "flag-token-7b1d9e03c4a5"
ENV = EnvInfo("staging", context="kind-staging", namespace="shop", production=False)
HOSTILE = "\x1b]0;pwned\x07\x1b[2Jboom"


@dataclass
class Server:
    url: str
    store: FlagStore


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def _extra_routes(app: web.Application) -> None:
    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="enabled=yes")

    async def hostile(request: web.Request) -> web.Response:
        return web.Response(text=HOSTILE + "x" * 1000, status=500)

    async def echo(request: web.Request) -> web.Response:
        # A careless server that echoes the request's headers in its error.
        return web.json_response({"message": f"denied: {dict(request.headers)}"}, status=403)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({"enabled": True})

    app.router.add_get("/plain", plain)
    app.router.add_put("/hostile", hostile)
    app.router.add_put("/echo", echo)
    app.router.add_get("/slow", slow)


@pytest.fixture
def server(loop: asyncio.AbstractEventLoop) -> Iterator[Server]:
    store = FlagStore()
    app = make_flags_app(store, TOKEN)
    _extra_routes(app)
    runner = web.AppRunner(app, access_log=None)

    async def start() -> str:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    url = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield Server(url, store)
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)


@pytest.fixture
def performer() -> HttpPerformer:
    return HttpPerformer(ENV, SecretResolver({"FLAG_TOKEN": TOKEN}))


def flag_action(base: str, **changes: Any) -> HttpAction:
    raw: dict[str, Any] = {
        "id": "disable-ai",
        "kind": "http",
        "title": "Disable AI features",
        "method": "PUT",
        "url": f"{base}/api/flags/ai_enabled",
        "body": {"enabled": False},
        "auth": "env:FLAG_TOKEN",
        "read": {"field": "enabled"},
        "revert": {"body": {"enabled": True}},
    }
    raw.update(changes)
    return HttpAction.model_validate({k: v for k, v in raw.items() if v is not None})


def no_token_anywhere(*items: Plan | Outcome) -> None:
    for item in items:
        data = plan_to_json(item) if isinstance(item, Plan) else outcome_to_json(item)
        assert TOKEN not in json.dumps(data, ensure_ascii=False)


def test_flag_off_then_revert(server: Server, performer: HttpPerformer) -> None:
    plan = performer.prepare(flag_action(server.url))
    assert (plan.before, plan.after, plan.before_known) == ("true", "false", True)
    assert plan.subject == "enabled" and plan.confirm_name == "ai_enabled"
    assert plan.target == f"PUT {server.url}/api/flags/ai_enabled"
    assert f"request: PUT {server.url}/api/flags/ai_enabled" in plan.details
    assert 'body: {"enabled": false}' in plan.details
    assert "header Authorization: <secret env:FLAG_TOKEN>" in plan.details
    assert not plan.dry_run.available and "no dry-run" in plan.dry_run.message
    assert plan.access.permitted is None
    assert plan.access.reason == "no access review for HTTP services"
    assert plan.revertible and plan.state["auth"] == "env:FLAG_TOKEN"

    outcome = performer.apply(plan)
    assert outcome.ok, outcome.message
    assert server.store.flag("ai_enabled") is False
    assert outcome.after == "false"
    assert outcome.response.startswith("200 ")

    revert = performer.prepare_revert(plan, outcome)
    assert (revert.before, revert.after, revert.revertible) == ("false", "true", False)
    undone = performer.apply(revert)
    assert undone.ok, undone.message
    assert server.store.flag("ai_enabled") is True
    assert [c.after for c in server.store.history] == [False, True]
    no_token_anywhere(plan, outcome, revert, undone)


def test_rate_limit_with_dotted_read_of_the_list(server: Server, performer: HttpPerformer) -> None:
    action = flag_action(
        server.url,
        id="lower-limit",
        url=f"{server.url}/api/limits/global",
        body={"requests_per_second": 100},
        read={"url": f"{server.url}/api/limits", "field": "limits.0.requests_per_second"},
        revert={"body": {"requests_per_second": 1000}},
    )
    plan = performer.prepare(action)
    # The read field is not a key of the body: the plan shows the body itself.
    assert (plan.before, plan.after) == ("1000", '{"requests_per_second": 100}')
    outcome = performer.apply(plan)
    assert outcome.ok and outcome.after == "100"
    assert server.store.limit("global") == 100
    performer.apply(performer.prepare_revert(plan, outcome))
    assert server.store.limit("global") == 1000


def test_plan_survives_json_and_runs_as_shown(server: Server, performer: HttpPerformer) -> None:
    plan = plan_from_json(
        json.loads(json.dumps(plan_to_json(performer.prepare(flag_action(server.url)))))
    )
    assert performer.apply(plan).ok
    assert server.store.flag("ai_enabled") is False


def test_without_read_the_current_value_is_unknown(
    server: Server, performer: HttpPerformer
) -> None:
    plan = performer.prepare(flag_action(server.url, read=None, revert=None))
    assert plan.before is None and plan.before_known is False
    assert "unknown →" in plan.summary()
    assert plan.after == '{"enabled": false}'
    assert "current value: unknown (the action declares no read request)" in plan.details
    assert not plan.revertible and plan.revert_note == NO_REVERT
    outcome = performer.apply(plan)
    assert outcome.ok and outcome.after is None
    assert server.store.flag("ai_enabled") is False
    with pytest.raises(ActionError, match="declares no revert request"):
        performer.prepare_revert(plan, outcome)


def test_wrong_token_fails_clearly(server: Server) -> None:
    wrong = HttpPerformer(ENV, SecretResolver({"FLAG_TOKEN": "not-the-token"}))
    with pytest.raises(ActionError, match="answered 401: missing or invalid bearer token"):
        wrong.prepare(flag_action(server.url))
    plan = wrong.prepare(flag_action(server.url, read=None))
    outcome = wrong.apply(plan)
    assert not outcome.ok
    assert "answered 401" in outcome.message and "invalid bearer token" in outcome.message
    assert outcome.response.startswith("401 ")
    assert server.store.flag("ai_enabled") is True and server.store.history == []


def test_missing_token_names_the_reference(server: Server) -> None:
    performer = HttpPerformer(ENV, SecretResolver({}))
    with pytest.raises(ActionError, match="env:FLAG_TOKEN is not set"):
        performer.prepare(flag_action(server.url))
    plan = HttpPerformer(ENV, SecretResolver({"FLAG_TOKEN": TOKEN})).prepare(
        flag_action(server.url)
    )
    outcome = performer.apply(plan)  # the token vanished between dialog and apply
    assert not outcome.ok and "nothing sent" in outcome.message
    assert "env:FLAG_TOKEN" in outcome.message
    assert server.store.history == []


def test_no_auth_declared_is_refused_by_the_server(server: Server, performer) -> None:
    outcome = performer.apply(performer.prepare(flag_action(server.url, read=None, auth=None)))
    assert not outcome.ok and "answered 401" in outcome.message


def test_conflict_refuses_and_changes_nothing(server: Server, performer: HttpPerformer) -> None:
    plan = performer.prepare(flag_action(server.url))
    server.store.set_flag("ai_enabled", False)  # someone else, after the dialog opened
    outcome = performer.apply(plan)
    assert outcome.conflict and not outcome.ok
    assert outcome.current == "false"
    assert "changed since the dialog opened" in outcome.message
    assert len(server.store.history) == 1


def test_secret_from_the_keyring_with_its_own_scheme(server: Server) -> None:
    class Memory(KeyringBackend):
        @properties.classproperty
        def priority(cls) -> float:
            raise RuntimeError("test backend: installed explicitly only")

        def get_password(self, service: str, username: str) -> str | None:
            return f"Bearer {TOKEN}" if (service, username) == (SERVICE, "flag-service") else None

        def set_password(self, service: str, username: str, password: str) -> None:
            raise NotImplementedError

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        performer = HttpPerformer(ENV)
        plan = performer.prepare(flag_action(server.url, auth="keyring:flag-service"))
        assert "header Authorization: <secret keyring:flag-service>" in plan.details
        outcome = performer.apply(plan)
    finally:
        keyring.set_keyring(previous)
    assert outcome.ok, outcome.message
    assert server.store.flag("ai_enabled") is False
    no_token_anywhere(plan, outcome)


def test_unreachable_service(performer: HttpPerformer) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ActionError, match=r"cannot read the current value: GET .* is unreachable"):
        performer.prepare(flag_action(url))
    outcome = performer.apply(performer.prepare(flag_action(url, read=None)))
    assert not outcome.ok and "is unreachable" in outcome.message


def test_timeout_is_a_clear_failure(server: Server) -> None:
    import httpx

    performer = HttpPerformer(
        ENV, SecretResolver({"FLAG_TOKEN": TOKEN}), timeout=httpx.Timeout(0.2)
    )
    with pytest.raises(ActionError, match=r"GET .*/slow timed out"):
        performer.prepare(flag_action(server.url, read={"url": f"{server.url}/slow"}))


def test_read_answer_not_json_or_without_the_field(
    server: Server, performer: HttpPerformer
) -> None:
    with pytest.raises(ActionError, match="is not JSON: enabled=yes"):
        performer.prepare(flag_action(server.url, read={"url": f"{server.url}/plain"}))
    with pytest.raises(ActionError, match="no field 'state' in the answer"):
        performer.prepare(flag_action(server.url, read={"field": "state"}))


def test_error_response_is_inert_short_and_holds_no_secret(
    server: Server, performer: HttpPerformer
) -> None:
    hostile = performer.apply(
        performer.prepare(flag_action(server.url, url=f"{server.url}/hostile", read=None))
    )
    assert not hostile.ok and "answered 500" in hostile.message
    assert "\x1b" not in hostile.response and "\x07" not in hostile.response
    assert hostile.response.startswith("500 boom") and len(hostile.response) <= 310

    echoed = performer.apply(
        performer.prepare(flag_action(server.url, url=f"{server.url}/echo", read=None))
    )
    assert not echoed.ok and "answered 403" in echoed.message
    assert "<secret>" in echoed.message
    no_token_anywhere(echoed)


def test_sensitive_runbook_headers_are_hidden_in_the_plan(
    server: Server, performer: HttpPerformer
) -> None:
    plan = performer.prepare(
        flag_action(server.url, headers={"X-Api-Key": "literal-key", "X-Team": "sre"})
    )
    assert "header X-Api-Key: <hidden>" in plan.details
    assert "header X-Team: sre" in plan.details
    assert "literal-key" not in json.dumps(list(plan.details))
    assert performer.apply(plan).ok
