"""Fault switches for the demo environment: backends failing on purpose.

`FaultPlan` is consulted by the simulated Kubernetes API on every request (kube_api.py) and
by a small proxy in front of Prometheus (`PrometheusProxy`). Switches:

- `error(path, status)`: answer requests whose path matches with `status` (500, 403 …)
- `delay(path, seconds)`: answer them late; `hang(path, seconds)`: hold them longer than a
  client waits (a timeout), then answer 504
- `cut_streams(path)`: drop the open watch and log streams mid-stream (no final chunk)
- `expire_next_watch(path)`: the next matching watch says `410 Gone` (resourceVersion too old);
  `expire_watches(path)`: the open ones say it now, as an ERROR event
- `prometheus = "garbage" | "error" | None`: the proxy answers non-JSON, or `prometheus_status`
- `stop(service)` / `start(service)`: stop or restart Prometheus or Alertmanager
- `clear()`: everything back to normal

`path` is a regular expression searched in the request path; `PODS`, `LOGS` and `EVENTS`
are the usual ones. `watch=True/False` limits a switch to watches or to plain requests.

Tests reach the plan as `DemoEnvironment.faults`. Users of `sre-tui demo --headless` reach
it through the flag service: `POST {flags}/api/faults` with the flag token as a bearer and a
JSON body such as `{"action": "error", "path": "/pods$", "status": 500}`, `{"action":
"clear"}` or `{"action": "stop", "service": "alertmanager"}` (see `FaultPlan.apply`);
`GET {flags}/api/faults` lists the active switches.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

PODS = r"/pods$"
LOGS = r"/pods/[^/]+/log$"
EVENTS = r"/events$"
KINDS = ("error", "delay", "hang", "expire")


@dataclass
class Fault:
    kind: str  # one of KINDS
    path: re.Pattern[str]
    status: int = 500
    seconds: float = 0.0
    watch: bool | None = None  # True: watches only; False: everything but watches
    remaining: int | None = None  # how many more requests it applies to (None: all)
    since: float = field(default_factory=time.time)

    def matches(self, path: str, watch: bool) -> bool:
        if self.watch is not None and self.watch != watch:
            return False
        return self.path.search(path) is not None

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path.pattern,
            "status": self.status,
            "seconds": self.seconds,
            "watch": self.watch,
            "remaining": self.remaining,
            "since": self.since,
        }


class FaultPlan:
    """The active faults. Safe to change from any thread (tests run the demo's loop in a
    thread of their own); stream cuts run on the demo's loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.faults: list[Fault] = []
        self.prometheus: str | None = None  # "garbage" | "error"
        self.prometheus_status = 503
        self.loop: asyncio.AbstractEventLoop | None = None
        self.services: dict[str, Any] = {}  # name → sandbox.backends.Service
        # Open streams: path, how to cut it, how to expire it (watches only).
        self._streams: dict[int, tuple[str, Callable[[], None], Callable[[], None] | None]] = {}
        self._next_stream = 0

    # ---- switches ----------------------------------------------------------------------

    def _add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def error(
        self, path: str, status: int = 500, *, watch: bool | None = None, count: int | None = None
    ) -> Fault:
        return self._add(Fault("error", re.compile(path), status, watch=watch, remaining=count))

    def delay(self, path: str, seconds: float, *, watch: bool | None = None) -> Fault:
        return self._add(Fault("delay", re.compile(path), seconds=seconds, watch=watch))

    def hang(self, path: str, seconds: float = 30.0, *, watch: bool | None = None) -> Fault:
        """Hold matching requests `seconds` (longer than the client's timeout), then 504."""
        return self._add(Fault("hang", re.compile(path), 504, seconds=seconds, watch=watch))

    def expire_next_watch(self, path: str = PODS) -> Fault:
        return self._add(Fault("expire", re.compile(path), 410, watch=True, remaining=1))

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self.faults:
                self.faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
        self.prometheus = None

    def cut_streams(self, path: str = ".*") -> int:
        """Drop every open watch or log stream whose path matches, as a broken connection
        does: the client sees the stream end without its final chunk. Returns how many."""
        pattern = re.compile(path)
        with self._lock:
            cuts = [cut for p, cut, _ in self._streams.values() if pattern.search(p)]
        return self._on_loop(cuts)

    def expire_watches(self, path: str = PODS) -> int:
        """Open watches whose path matches end with an ERROR event `410 Gone`, as when the
        API server's watch cache no longer holds their resourceVersion."""
        pattern = re.compile(path)
        with self._lock:
            found = [e for p, _, e in self._streams.values() if e and pattern.search(p)]
        return self._on_loop(found)

    def _on_loop(self, calls: list[Callable[[], None]]) -> int:
        for call in calls:
            if self.loop is not None and not _on_loop(self.loop):
                self.loop.call_soon_threadsafe(call)
            else:
                call()
        return len(calls)

    def stop(self, service: str) -> None:
        """Stop Prometheus or Alertmanager (blocking: from a thread or a test)."""
        self.services[service].stop()

    def start(self, service: str) -> None:
        self.services[service].restart()

    # ---- what the servers ask ----------------------------------------------------------

    def take(self, path: str, watch: bool, kinds: tuple[str, ...]) -> Fault | None:
        """The first active fault of these kinds for this request (counted down)."""
        with self._lock:
            for fault in self.faults:
                if fault.kind in kinds and fault.matches(path, watch):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def active(self, fault: Fault) -> bool:
        with self._lock:
            return fault in self.faults

    def stream_opened(
        self, path: str, cut: Callable[[], None], expire: Callable[[], None] | None = None
    ) -> int:
        with self._lock:
            self._next_stream += 1
            self._streams[self._next_stream] = (path, cut, expire)
            return self._next_stream

    def stream_closed(self, key: int) -> None:
        with self._lock:
            self._streams.pop(key, None)

    # ---- the control endpoint ----------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        with self._lock:
            faults = [f.describe() for f in self.faults]
        return {
            "faults": faults,
            "prometheus": self.prometheus,
            "prometheus_status": self.prometheus_status,
            "streams": len(self._streams),
        }

    def apply(self, spec: dict[str, Any]) -> dict[str, Any]:
        """One switch from a JSON object (blocking for stop/start). Raises ValueError."""
        action = spec.get("action")
        path = str(spec.get("path", ".*"))
        watch = spec.get("watch")
        try:
            re.compile(path)
        except re.error as exc:
            raise ValueError(f"path is not a regular expression: {exc}") from None
        if watch is not None and not isinstance(watch, bool):
            raise ValueError("watch must be true, false or null")
        if action == "error":
            self.error(path, int(spec.get("status", 500)), watch=watch, count=spec.get("count"))
        elif action == "delay":
            self.delay(path, float(spec["seconds"]), watch=watch)
        elif action == "hang":
            self.hang(path, float(spec.get("seconds", 30.0)), watch=watch)
        elif action == "expire":
            self.expire_next_watch(str(spec.get("path", PODS)))
            return {"expired": self.expire_watches(str(spec.get("path", PODS)))}
        elif action == "cut":
            return {"cut": self.cut_streams(path)}
        elif action == "prometheus":
            mode = spec.get("mode")
            if mode not in ("garbage", "error", None):
                raise ValueError("mode must be garbage, error or null")
            self.prometheus_status = int(spec.get("status", self.prometheus_status))
            self.prometheus = mode
        elif action in ("stop", "start"):
            service = spec.get("service")
            if service not in self.services:
                raise ValueError(f"service must be one of {sorted(self.services)}")
            (self.stop if action == "stop" else self.start)(service)
        elif action == "clear":
            self.clear()
        else:
            raise ValueError(
                "action must be error, delay, hang, expire, cut, prometheus, stop, start or clear"
            )
        return self.describe()


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def add_control_routes(app: web.Application, plan: FaultPlan) -> None:
    """`GET/POST /api/faults` on an app that authenticates already (the flag service)."""

    async def show(_: web.Request) -> web.Response:
        return web.json_response(plan.describe())

    async def change(request: web.Request) -> web.Response:
        try:
            spec = await request.json()
            if not isinstance(spec, dict):
                raise ValueError("body must be a JSON object")
            answer = await asyncio.to_thread(plan.apply, spec)
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": "bad_request", "message": str(exc)}, status=400)
        return web.json_response(answer)

    app.router.add_get("/api/faults", show)
    app.router.add_post("/api/faults", change)


# --- Prometheus -------------------------------------------------------------------------

GARBAGE = b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{\x00\xff<html>'


class PrometheusProxy:
    """Forwards to Prometheus unless the plan says otherwise. With Prometheus down, the
    connection is dropped without an answer, so clients see it unreachable as before."""

    def __init__(self, upstream: str, plan: FaultPlan) -> None:
        self.upstream = upstream.rstrip("/")
        self.plan = plan
        self.session: ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        mode = self.plan.prometheus
        if mode == "garbage":
            return web.Response(body=GARBAGE, content_type="application/json")
        if mode == "error":
            status = self.plan.prometheus_status
            body = {"status": "error", "errorType": "internal", "error": f"injected {status}"}
            return web.json_response(body, status=status)
        if self.session is None:
            self.session = ClientSession(timeout=ClientTimeout(total=30), auto_decompress=False)
        try:
            async with self.session.request(
                request.method,
                f"{self.upstream}{request.rel_url}",
                data=await request.read(),
                headers={
                    k: v for k, v in request.headers.items() if k.lower() in _FORWARDED_HEADERS
                },
            ) as upstream:
                body = await upstream.read()
                headers = {
                    k: v for k, v in upstream.headers.items() if k.lower() in _RETURNED_HEADERS
                }
                return web.Response(body=body, status=upstream.status, headers=headers)
        except (ClientError, OSError, TimeoutError):
            if request.transport is not None:
                request.transport.abort()  # like the real thing: no answer at all
            raise web.HTTPBadGateway() from None


_FORWARDED_HEADERS = {"content-type", "accept", "accept-encoding", "authorization"}
_RETURNED_HEADERS = {"content-type", "content-encoding"}
