"""The demo's feature-flag and rate-limit service: the target of the HTTP kill switches.

`FlagStore` is the state (shared with the scenarios, which read the global rate limit);
`make_flags_app` serves it over HTTP with a bearer token, the way a real flag service or
rate limiter would be reached from `config/*.yaml` (`PUT /api/flags/ai_enabled`,
`PUT /api/limits/global`).
"""

from __future__ import annotations

import hmac
import json
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from aiohttp import web

DEFAULT_FLAGS: dict[str, bool] = {
    "ai_enabled": True,
    "guardrails_strict": True,
    "fallback_enabled": False,
}
DEFAULT_LIMITS: dict[str, float] = {"global": 1000.0}


@dataclass(frozen=True)
class FlagChange:
    """One accepted write, kept for the demo's audit trail (and for tests)."""

    time: float
    kind: Literal["flag", "limit"]
    name: str
    before: bool | float
    after: bool | float


class FlagStore:
    """Thread-safe flags and limits: the HTTP handlers and the scenario's tick thread
    both touch it."""

    def __init__(
        self,
        flags: Mapping[str, bool] | None = None,
        limits: Mapping[str, float] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        history_limit: int = 1000,
    ) -> None:
        self._flags = dict(DEFAULT_FLAGS if flags is None else flags)
        self._limits = {
            k: float(v) for k, v in (DEFAULT_LIMITS if limits is None else limits).items()
        }
        self._clock = clock
        self._lock = threading.Lock()
        # Bounded: a demo left running with a script toggling flags must not grow forever.
        self._history: deque[FlagChange] = deque(maxlen=history_limit)

    def flag(self, name: str) -> bool:
        """Raises KeyError for an unknown flag."""
        with self._lock:
            return self._flags[name]

    def limit(self, name: str) -> float:
        """Requests per second; raises KeyError for an unknown limit."""
        with self._lock:
            return self._limits[name]

    def flags(self) -> dict[str, bool]:
        with self._lock:
            return dict(self._flags)

    def limits(self) -> dict[str, float]:
        with self._lock:
            return dict(self._limits)

    def set_flag(self, name: str, enabled: bool) -> FlagChange:
        if not isinstance(enabled, bool):
            raise TypeError("enabled must be a boolean")
        with self._lock:
            before = self._flags[name]  # KeyError: unknown flags are not created by a PUT
            self._flags[name] = enabled
            change = FlagChange(self._clock(), "flag", name, before, enabled)
            self._history.append(change)
            return change

    def set_limit(self, name: str, requests_per_second: float) -> FlagChange:
        value = _check_rps(requests_per_second)
        with self._lock:
            before = self._limits[name]
            self._limits[name] = value
            change = FlagChange(self._clock(), "limit", name, before, value)
            self._history.append(change)
            return change

    @property
    def history(self) -> list[FlagChange]:
        """Every accepted write, oldest first (a write of the same value is recorded too:
        it is still an action someone took)."""
        with self._lock:
            return list(self._history)


def _check_rps(value: object) -> float:
    # bool is an int in Python; `true` is not a rate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("requests_per_second must be a number")
    if not math.isfinite(value) or value < 0:
        raise ValueError("requests_per_second must be a finite number >= 0")
    return float(value)


def _number(value: float) -> int | float:
    """1000.0 → 1000, so a revert body compares equal to what the server answers."""
    return int(value) if value.is_integer() else value


# --- HTTP ---------------------------------------------------------------------------------

STORE_KEY = web.AppKey("flag_store", FlagStore)
TOKEN_KEY = web.AppKey("flag_token", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, error: str, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status, headers=headers)


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == "/healthz":
        return await handler(request)
    token = request.app[TOKEN_KEY]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # compare_digest: the demo token is a secret in spirit; do not leak it through timing.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        return _error(
            401,
            "unauthorized",
            "missing or invalid bearer token",
            **{"WWW-Authenticate": 'Bearer realm="sre-tui-demo"'},
        )
    return await handler(request)


async def _json_object(request: web.Request, name: str) -> dict[str, Any] | web.Response:
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "bad_request", "body must be a JSON object")
    if not isinstance(body, dict):
        return _error(400, "bad_request", f"body must be a JSON object, not {type(body).__name__}")
    if body.get("name", name) != name:
        return _error(400, "bad_request", f"body names {body['name']!r} but the URL names {name!r}")
    return body


def _unexpected(body: dict[str, Any], allowed: set[str]) -> web.Response | None:
    extra = sorted(set(body) - allowed - {"name"})
    if extra:
        return _error(400, "bad_request", f"unexpected field(s): {', '.join(extra)}")
    return None


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _list_flags(request: web.Request) -> web.Response:
    flags = request.app[STORE_KEY].flags()
    return web.json_response({"flags": [{"name": k, "enabled": v} for k, v in flags.items()]})


async def _list_limits(request: web.Request) -> web.Response:
    limits = request.app[STORE_KEY].limits()
    items = [{"name": k, "requests_per_second": _number(v)} for k, v in limits.items()]
    return web.json_response({"limits": items})


async def _get_flag(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    try:
        enabled = request.app[STORE_KEY].flag(name)
    except KeyError:
        return _error(404, "not_found", f"no flag named {name!r}")
    return web.json_response({"name": name, "enabled": enabled})


async def _put_flag(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    store = request.app[STORE_KEY]
    try:
        store.flag(name)
    except KeyError:
        return _error(404, "not_found", f"no flag named {name!r}")
    body = await _json_object(request, name)
    if isinstance(body, web.Response):
        return body
    if (bad := _unexpected(body, {"enabled"})) is not None:
        return bad
    if not isinstance(body.get("enabled"), bool):
        return _error(400, "bad_request", 'expected {"enabled": true|false}')
    change = store.set_flag(name, body["enabled"])
    return web.json_response({"name": name, "enabled": change.after})


async def _get_limit(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    try:
        rps = request.app[STORE_KEY].limit(name)
    except KeyError:
        return _error(404, "not_found", f"no limit named {name!r}")
    return web.json_response({"name": name, "requests_per_second": _number(rps)})


async def _put_limit(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    store = request.app[STORE_KEY]
    try:
        store.limit(name)
    except KeyError:
        return _error(404, "not_found", f"no limit named {name!r}")
    body = await _json_object(request, name)
    if isinstance(body, web.Response):
        return body
    if (bad := _unexpected(body, {"requests_per_second"})) is not None:
        return bad
    try:
        change = store.set_limit(name, body.get("requests_per_second"))
    except (TypeError, ValueError) as exc:
        return _error(400, "bad_request", f'expected {{"requests_per_second": number >= 0}}: {exc}')
    assert isinstance(change.after, float)
    return web.json_response({"name": name, "requests_per_second": _number(change.after)})


async def _history(request: web.Request) -> web.Response:
    changes = [asdict(c) for c in request.app[STORE_KEY].history]
    return web.json_response({"changes": changes})


def make_flags_app(store: FlagStore, token: str) -> web.Application:
    """The flag/rate-limit service. Every route but /healthz needs `Authorization: Bearer
    <token>`."""
    if not token:
        raise ValueError("a token is required: the kill switches authenticate")
    app = web.Application(middlewares=[_auth])
    app[STORE_KEY] = store
    app[TOKEN_KEY] = token
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/api/flags", _list_flags)
    app.router.add_get("/api/flags/{name}", _get_flag)
    app.router.add_put("/api/flags/{name}", _put_flag)
    app.router.add_get("/api/limits", _list_limits)
    app.router.add_get("/api/limits/{name}", _get_limit)
    app.router.add_put("/api/limits/{name}", _put_limit)
    app.router.add_get("/api/history", _history)
    return app


async def start_flags_server(
    store: FlagStore, token: str, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Serve on `host:port` (0: any free port); returns the runner (call `cleanup()` to
    stop) and the base URL."""
    runner = web.AppRunner(make_flags_app(store, token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]  # the real port when 0 was asked for
    return runner, f"http://{host}:{bound}"
