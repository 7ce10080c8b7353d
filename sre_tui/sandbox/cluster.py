"""An in-memory Kubernetes: object store, watch history, controllers and a pretend kubelet.

Everything here runs on one asyncio loop, so the store needs no locks: the HTTP layer
(`kube_api`) calls the synchronous methods from its handlers, and `_run` advances the
controllers and the scenario every `tick_seconds`. Stored objects are never mutated in
place (a change stores a new dict), so watch history and responses can share them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import math
import random
import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import takewhile
from typing import Any

from sre_tui.core.rollout import template_key
from sre_tui.sandbox.interfaces import Clock, HealthAnswer, PodBehaviour, PodView, Scenario
from sre_tui.sandbox.patch import PatchError, apply_patch

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"
# Deployment annotations the controller does not copy to its ReplicaSets (as Kubernetes).
_NOT_COPIED = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' SafeEncodeString alphabet
MAX_EVENTS = 1000
NODES = ("sandbox-node-1", "sandbox-node-2", "sandbox-node-3")


# --- time -------------------------------------------------------------------------------


def fmt_time(t: float) -> str:
    """RFC 3339 with seconds, as Kubernetes writes metav1.Time."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_micro(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fmt_nano(t: float) -> str:
    """RFC 3339 with nanoseconds, the prefix `kubectl logs --timestamps` shows."""
    whole = math.floor(t)
    nanos = round((t - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def parse_time(text: str) -> float:
    """RFC 3339 (any fraction length, Z or offset) → epoch seconds; ValueError if not."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    base = datetime.fromisoformat(match.group(1) + zone).timestamp()
    return base + (float("0." + match.group(2)) if match.group(2) else 0.0)


# --- errors -----------------------------------------------------------------------------


class ApiError(Exception):
    """An error the API answers with a Kubernetes `Status` object."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> Obj:
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


# --- resource types ---------------------------------------------------------------------

_READ = ("get", "list", "watch")
_WRITE = ("create", "update", "patch", "delete")


@dataclass(frozen=True)
class ResourceType:
    name: str  # plural, as in URLs
    kind: str
    group: str
    version: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    generation: bool = False  # metadata.generation tracks spec changes

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How error messages name the resource: `deployments.apps`, `pods`."""
        return f"{self.name}.{self.group}" if self.group else self.name

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def not_found(self, name: str) -> ApiError:
        return ApiError(
            404,
            "NotFound",
            f'{self.qualified} "{name}" not found',
            {"name": name, "group": self.group, "kind": self.name},
        )

    def conflict(self, name: str) -> ApiError:
        return ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {self.qualified} "{name}": the object has been '
            "modified; please apply your changes to the latest version and try again",
            {"name": name, "group": self.group, "kind": self.name},
        )

    def invalid(self, name: str, causes: list[tuple[str, str]]) -> ApiError:
        text = "; ".join(f"{path}: {message}" for path, message in causes)
        qualified_kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return ApiError(
            422,
            "Invalid",
            f'{qualified_kind} "{name}" is invalid: {text}',
            {
                "name": name,
                "group": self.group,
                "kind": self.kind,
                "causes": [
                    {"reason": "FieldValueInvalid", "message": m, "field": p} for p, m in causes
                ],
            },
        )


RESOURCES: dict[tuple[str, str], ResourceType] = {
    (r.group, r.name): r
    for r in (
        ResourceType(
            "namespaces", "Namespace", "", "v1", False, (*_READ, "create", "patch"), ("ns",)
        ),
        ResourceType(
            "pods",
            "Pod",
            "",
            "v1",
            True,
            (*_READ, "create", "patch", "delete"),
            ("po",),
            ("log", "status"),
            ("all",),
        ),
        ResourceType(
            "services",
            "Service",
            "",
            "v1",
            True,
            (*_READ, "create", "patch", "delete"),
            ("svc",),
            ("proxy",),
            ("all",),
        ),
        ResourceType("configmaps", "ConfigMap", "", "v1", True, (*_READ, *_WRITE), ("cm",)),
        ResourceType("events", "Event", "", "v1", True, _READ, ("ev",)),
        ResourceType(
            "deployments",
            "Deployment",
            "apps",
            "v1",
            True,
            (*_READ, *_WRITE),
            ("deploy",),
            ("scale", "status"),
            ("all",),
            generation=True,
        ),
        ResourceType(
            "replicasets",
            "ReplicaSet",
            "apps",
            "v1",
            True,
            _READ,
            ("rs",),
            ("status",),
            ("all",),
            generation=True,
        ),
        ResourceType("events", "Event", "events.k8s.io", "v1", True, _READ, ("ev",)),
        ResourceType(
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            "authorization.k8s.io",
            "v1",
            False,
            ("create",),
        ),
    )
}
# Where each resource lives in the store (events.k8s.io events are a view of core events).
STORED = ("namespaces", "pods", "services", "configmaps", "events", "deployments", "replicasets")


def resource_type(group: str, name: str) -> ResourceType | None:
    return RESOURCES.get((group, name))


def _by_kind(kind: str) -> ResourceType:
    for rt in RESOURCES.values():
        if rt.kind == kind and rt.name in STORED and rt.group != "events.k8s.io":
            return rt
    raise bad_request(f"no kind {kind!r} is registered in this sandbox")


# --- selectors --------------------------------------------------------------------------

_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*(?P<value>\([^)]*\)|[A-Za-z0-9_.-]*))?\s*$"
)


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> Callable[[dict[str, str]], bool]:
    """The label selector grammar of `?labelSelector=` (equality and set based)."""
    checks: list[Callable[[dict[str, str]], bool]] = []
    for part in _split_top(text or ""):
        m = _REQUIREMENT.match(part)
        if not m or (m.group("neg") and m.group("op")):
            raise bad_request(f"unable to parse requirement: {part.strip()!r}")
        key, op = m.group("key"), (m.group("op") or "").strip()
        value = m.group("value") or ""
        if not op:
            neg = bool(m.group("neg"))
            checks.append(lambda labels, k=key, n=neg: (k in labels) != n)
        elif op in ("in", "notin"):
            if not value.startswith("("):
                raise bad_request(f"unable to parse requirement: {part.strip()!r}")
            values = {v.strip() for v in value[1:-1].split(",") if v.strip()}
            if op == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif op == "!=":
            checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
        else:
            checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
    return lambda labels: all(check(labels) for check in checks)


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A LabelSelector object (matchLabels, matchExpressions); an empty one matches nothing."""
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def selector_string(selector: Obj | None) -> str:
    parts = [f"{k}={v}" for k, v in sorted(((selector or {}).get("matchLabels") or {}).items())]
    for expr in (selector or {}).get("matchExpressions") or []:
        op, key = expr.get("operator"), expr.get("key")
        values = ",".join(sorted(expr.get("values") or []))
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(
                op, f"!{key}"
            )
        )
    return ",".join(parts)


def _dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def parse_field_selector(text: str | None) -> Predicate:
    """`?fieldSelector=metadata.name=web,status.phase!=Running` (any dotted path)."""
    checks: list[Predicate] = []
    for part in _split_top(text or ""):
        m = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*", part)
        if not m:
            raise bad_request(f"invalid field selector: {part.strip()!r}")
        path, op, value = m.groups()

        def check(obj: Obj, p: str = path, neg: bool = op == "!=", v: str = value) -> bool:
            found = _dig(obj, p)
            text = (
                ""
                if found is None
                else str(found).lower()
                if isinstance(found, bool)
                else str(found)
            )
            return (text == v) != neg

        checks.append(check)
    return lambda obj: all(check(obj) for check in checks)


def labels_of(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


# --- validation helpers -----------------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_or_percent(value: Any, total: int, *, round_up: bool) -> int | None:
    if _is_int(value):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\d+%", value):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return None


def _validate_pod_spec(spec: Any, at: str, causes: list[tuple[str, str]]) -> None:
    if not isinstance(spec, dict):
        causes.append((at, "Required value"))
        return
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        causes.append((f"{at}.containers", "Required value"))
        return
    seen: set[str] = set()
    for i, c in enumerate(containers):
        where = f"{at}.containers[{i}]"
        if not isinstance(c, dict):
            causes.append((where, "Invalid value: must be an object"))
            continue
        name = c.get("name")
        if not isinstance(name, str) or not _DNS_LABEL.match(name):
            causes.append((f"{where}.name", f"Invalid value: {name!r}: must be a DNS label"))
        elif name in seen:
            causes.append((f"{where}.name", f'Duplicate value: "{name}"'))
        else:
            seen.add(name)
        if not isinstance(c.get("image"), str) or not c["image"].strip():
            causes.append((f"{where}.image", "Required value"))
        env = c.get("env", [])
        if not isinstance(env, list):
            causes.append((f"{where}.env", "Invalid value: must be a list"))
            env = []
        for j, var in enumerate(env):
            at_env = f"{where}.env[{j}]"
            if not isinstance(var, dict) or not isinstance(var.get("name"), str):
                causes.append((f"{at_env}.name", "Required value"))
            elif not _ENV_NAME.match(var["name"]):
                causes.append((f"{at_env}.name", f"Invalid value: {var['name']!r}"))
            elif "value" in var and not isinstance(var["value"], str):
                causes.append(
                    (f"{at_env}.value", f"Invalid value: {var['value']!r}: must be a string")
                )
        for j, port in enumerate(c.get("ports") or []):
            number = port.get("containerPort") if isinstance(port, dict) else None
            if not _is_int(number) or not 0 < number < 65536:
                causes.append((f"{where}.ports[{j}].containerPort", f"Invalid value: {number!r}"))


def _default_pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for c in spec.get("containers") or []:
        if not isinstance(c, dict):
            continue
        image = str(c.get("image", ""))
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for port in c.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def _hash_of(value: Any) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()
    return "".join(_HASH_ALPHABET[b % len(_HASH_ALPHABET)] for b in digest[:10])


def template_hash(template: Obj) -> str:
    """A stable pod-template-hash: pods of one template share it, as in Kubernetes."""
    return _hash_of(template_key(template))


def _revision(obj: Obj) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _owner_uid(obj: Obj) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def _owner_ref(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


# --- watches ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    watch: bool
    status: int


@dataclass(frozen=True)
class WatchEvent:
    rv: int
    resource: str
    type: str  # ADDED | MODIFIED | DELETED
    object: Obj
    old: Obj | None  # the state before, so a filtered watch sees objects enter and leave


class Watcher:
    """One client's watch: the events it should see, queued for its HTTP stream.

    A `None` in the queue ends the stream: the cluster stopped, or the client fell so far
    behind that the server drops it (as kube-apiserver does), and it must re-watch."""

    def __init__(self, resource: str, namespace: str | None, predicate: Predicate, limit: int):
        self.resource, self.namespace, self.predicate = resource, namespace, predicate
        self.queue: asyncio.Queue[tuple[str, Obj] | None] = asyncio.Queue()
        self._limit = limit
        self.closed = False

    def _in_scope(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        if self.namespace and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.predicate(obj)

    def offer(self, event: WatchEvent) -> None:
        if self.closed or event.resource != self.resource:
            return
        was, now = self._in_scope(event.old), self._in_scope(event.object)
        if event.type == "DELETED":
            kind = "DELETED" if was or now else ""
        elif was and now:
            kind = "MODIFIED"
        elif now:
            kind = "ADDED"
        elif was:
            kind = "DELETED"
        else:
            kind = ""
        if kind:
            self.push(kind, event.object)

    def push(self, kind: str, obj: Obj) -> None:
        if self.queue.qsize() >= self._limit:
            self.close()
            return
        self.queue.put_nowait((kind, obj))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class _Pulse:
    """Wakes every waiter once per `fire()`: log followers wait for the next tick."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)


# --- the pretend kubelet's view of a pod ------------------------------------------------


@dataclass
class ContainerLog:
    """One container instance's output, bounded; `seq` lets followers resume."""

    lines: deque[tuple[int, float, str]]
    seq: int = 0

    def append(self, ts: float, text: str) -> None:
        self.seq += 1
        self.lines.append((self.seq, ts, text))

    def after(self, seq: int) -> list[tuple[int, float, str]]:
        """Lines newer than `seq`, read from the end: followers cost O(new lines)."""
        fresh = list(takewhile(lambda entry: entry[0] > seq, reversed(self.lines)))
        fresh.reverse()
        return fresh


@dataclass
class _Container:
    name: str
    image: str
    current: ContainerLog | None = None  # None until the first start
    previous: ContainerLog | None = None
    running: bool = False


@dataclass
class _PodRuntime:
    uid: str
    namespace: str
    name: str
    deployment: str
    behaviour: PodBehaviour
    created_at: float
    node: str
    ip: str
    containers: list[_Container]
    state: str = "pulling"  # pulling | pullfail | running | crashloop
    state_since: float = 0.0
    started_at: float | None = None
    restart_count: int = 0
    ready: bool = False
    ready_changed_at: float = 0.0
    backoff_until: float = 0.0
    last_terminated: Obj | None = None
    next_backoff_event: float = 0.0
    probe_warned: bool = False
    terminating: bool = False
    remove_at: float = 0.0


@dataclass(frozen=True)
class LogSource:
    """What a log request reads: one instance of one container of one pod."""

    pod_uid: str
    container: str
    log: ContainerLog
    follow_possible: bool  # false for `previous` and for a container that is not running


# --- the cluster ------------------------------------------------------------------------


class Cluster:
    """The simulated cluster. Start it on the loop that serves the API."""

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock,
        *,
        watch_history: int = 1000,
        tick_seconds: float = 0.25,
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.watch_history = watch_history
        self.bookmark_seconds = 5.0  # wall seconds between watch BOOKMARKs
        self.termination_seconds = 2.0  # scenario seconds a deleted pod stays Terminating
        self.log_lines_kept = 10_000
        self.request_log: list[RequestRecord] = []
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {name: {} for name in STORED}
        self._rv = 0
        self._history: deque[WatchEvent] = deque(maxlen=watch_history)
        self._expired_rv = 0  # events at or before this resourceVersion are forgotten
        self._watchers: set[Watcher] = set()
        self._runtimes: dict[str, _PodRuntime] = {}
        self._events_by_key: dict[tuple[str, str, str, str], tuple[str, str]] = {}
        self._rng = random.Random()
        self._pod_count = 0
        self._service_count = 0
        self._last_tick: float | None = None
        self._wake = asyncio.Event()
        self.logs_changed = _Pulse()
        self._task: asyncio.Task[None] | None = None
        self.stopped = False

    # -- lifecycle

    async def start(self) -> None:
        if not any(ns == "default" for _, ns in self._objects["namespaces"]):
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
        manifests = self.scenario.initial_objects()
        # Namespaces first, as `kubectl apply -f` of a directory would need them.
        for manifest in sorted(manifests, key=lambda m: m.get("kind") != "Namespace"):
            self.create(copy.deepcopy(manifest))
        self._reconcile(self.clock.now())
        self._task = asyncio.create_task(self._run(), name="sandbox-cluster")

    async def stop(self) -> None:
        self.stopped = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for watcher in list(self._watchers):
            watcher.close()
        self.logs_changed.fire()

    def log_request(self, record: RequestRecord) -> None:
        self.request_log.append(record)
        if len(self.request_log) > 20_000:  # bounded: a demo may run for days
            del self.request_log[:10_000]

    async def _run(self) -> None:
        next_tick = 0.0
        loop = asyncio.get_running_loop()
        while not self.stopped:
            now = self.clock.now()
            try:
                self._reconcile(now)
                if loop.time() >= next_tick:
                    next_tick = loop.time() + self.tick_seconds
                    self._scenario_tick(now)
            except Exception:  # a bug in one tick must not stop the cluster
                log.exception("sandbox tick failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_tick - loop.time()))

    def wake(self) -> None:
        """Reconcile soon: an API write should not wait a whole tick to take effect."""
        self._wake.set()

    # -- store

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def _write(self, resource: str, obj: Obj, kind: str) -> Obj:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        key = _key(obj)
        table = self._objects[resource]
        old = table.get(key)
        if kind == "DELETED":
            table.pop(key, None)
        else:
            table[key] = obj
        if len(self._history) == self._history.maxlen:
            self._expired_rv = self._history[0].rv
        event = WatchEvent(self._rv, resource, kind, obj, old)
        self._history.append(event)
        for watcher in list(self._watchers):
            watcher.offer(event)
        return obj

    def _store_if_changed(self, resource: str, new: Obj) -> Obj:
        current = self._objects[resource].get(_key(new))
        if current is not None and current == new:
            return current
        return self._write(resource, new, "MODIFIED" if current is not None else "ADDED")

    def _find(self, resource: str, namespace: str, name: str) -> Obj | None:
        return self._objects[resource].get((namespace, name))

    def items(self, resource: str, namespace: str | None = None) -> list[Obj]:
        return [
            o for (ns, _), o in self._objects[resource].items() if not namespace or ns == namespace
        ]

    def list(
        self, resource: str, namespace: str | None = None, predicate: Predicate | None = None
    ) -> tuple[list[Obj], str]:
        objs = [o for o in self.items(resource, namespace) if predicate is None or predicate(o)]
        return sorted(objs, key=_key), self.resource_version

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        found = self._find(rt.name, namespace if rt.namespaced else "", name)
        if found is None:
            raise rt.not_found(name)
        return found

    def watch(
        self,
        resource: str,
        namespace: str | None,
        resource_version: str | None,
        predicate: Predicate,
        *,
        initial_events: bool = False,
    ) -> Watcher:
        """Register a watcher. With no resourceVersion (or "0") it starts with the current
        objects as ADDED events; with one, it replays the retained history after it, and
        raises 410 Expired when that part of the history is gone."""
        watcher = Watcher(resource, namespace, predicate, self.watch_history + 10_000)
        if initial_events or resource_version in (None, "", "0"):
            for obj in self.list(resource, namespace, predicate)[0]:
                watcher.queue.put_nowait(("ADDED", obj))
        else:
            try:
                since = int(str(resource_version))
            except ValueError:
                raise bad_request(f"invalid resource version {resource_version!r}") from None
            if since < self._expired_rv:
                raise ApiError(
                    410,
                    "Expired",
                    f"too old resource version: {since} ({self._expired_rv})",
                )
            for event in self._history:
                if event.rv > since:
                    watcher.offer(event)
        self._watchers.add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    # -- writes through the API

    def _now(self) -> float:
        return self.clock.now()

    def create(self, manifest: Obj, *, namespace: str | None = None, dry_run: bool = False) -> Obj:
        if not isinstance(manifest, dict) or not isinstance(manifest.get("metadata"), dict):
            raise bad_request("the object has no metadata")
        rt = _by_kind(str(manifest.get("kind", "")))
        obj = copy.deepcopy(manifest)
        meta = obj["metadata"]
        if rt.namespaced:
            ns = namespace or meta.get("namespace") or "default"
            if meta.get("namespace", ns) != ns:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            meta["namespace"] = ns
            if self._find("namespaces", "", ns) is None:
                raise resource_type("", "namespaces").not_found(ns)  # type: ignore[union-attr]
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + self._suffix()
        name = str(meta.get("name") or "")
        if self._find(rt.name, meta.get("namespace", ""), name) is not None:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{rt.qualified} "{name}" already exists',
                {"name": name, "group": rt.group, "kind": rt.name},
            )
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        for server_field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(server_field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = fmt_time(self._now())
        if rt.generation:
            meta["generation"] = 1
        self._prepare(rt, obj, None)
        if dry_run:
            return obj
        if rt.name == "pods":
            return self._create_pod(obj, deployment="")
        if rt.name == "services":
            self._service_count += 1
            obj["spec"].setdefault(
                "clusterIP", f"10.96.{self._service_count // 250}.{self._service_count % 250 + 10}"
            )
            obj["spec"]["clusterIPs"] = [obj["spec"]["clusterIP"]]
        if rt.name == "namespaces":
            obj["status"] = {"phase": "Active"}
        stored = self._write(rt.name, obj, "ADDED")
        self.wake()
        return stored

    def replace(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        *,
        dry_run: bool = False,
        subresource: str = "",
    ) -> Obj:
        current = self.get(rt, namespace, name)
        if not isinstance(body, dict):
            raise bad_request("the body must be a JSON object")
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise rt.conflict(name)
        if subresource == "scale":
            return self._set_scale(rt, current, body, dry_run)
        if subresource:
            raise ApiError(405, "MethodNotAllowed", f"{subresource} cannot be replaced here")
        new = copy.deepcopy(body)
        return self._update(rt, current, new, dry_run)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        content_type: str,
        *,
        dry_run: bool = False,
        subresource: str = "",
    ) -> Obj:
        current = self.get(rt, namespace, name)
        if subresource not in ("", "scale"):
            raise ApiError(405, "MethodNotAllowed", f"{subresource} cannot be patched here")
        target = self.scale_of(current) if subresource == "scale" else current
        kind = "Scale" if subresource == "scale" else rt.kind
        try:
            patched = apply_patch(target, body, content_type, kind)
        except PatchError as err:
            raise ApiError(422, "Invalid", str(err)) from None
        # A resourceVersion in the patch is a precondition, as on a real API server.
        wanted = (patched.get("metadata") or {}).get("resourceVersion")
        if wanted != current["metadata"]["resourceVersion"]:
            raise rt.conflict(name)
        if subresource == "scale":
            return self._set_scale(rt, current, patched, dry_run)
        return self._update(rt, current, patched, dry_run)

    def scale_of(self, deployment: Obj) -> Obj:
        meta = deployment["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": deployment["spec"].get("replicas", 1)},
            "status": {
                "replicas": (deployment.get("status") or {}).get("replicas", 0),
                "selector": selector_string(deployment["spec"].get("selector")),
            },
        }

    def _set_scale(self, rt: ResourceType, current: Obj, scale: Obj, dry_run: bool) -> Obj:
        replicas = (scale.get("spec") or {}).get("replicas")
        if not _is_int(replicas) or replicas < 0:
            raise ApiError(
                422,
                "Invalid",
                f'Scale.autoscaling "{current["metadata"]["name"]}" is invalid: spec.replicas: '
                f"Invalid value: {replicas!r}: must be greater than or equal to 0",
            )
        new = copy.deepcopy(current)
        new["spec"]["replicas"] = replicas
        return self.scale_of(self._update(rt, current, new, dry_run))

    def _update(self, rt: ResourceType, current: Obj, new: Obj, dry_run: bool) -> Obj:
        meta, old_meta = new.setdefault("metadata", {}), current["metadata"]
        if meta.get("name", old_meta["name"]) != old_meta["name"]:
            raise bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({old_meta['name']})"
            )
        if rt.namespaced and meta.get("namespace", old_meta["namespace"]) != old_meta["namespace"]:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        # Fields only the server sets survive any update, as they do on a real server.
        for server_field in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "resourceVersion",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "ownerReferences",
        ):
            if server_field in old_meta:
                meta[server_field] = old_meta[server_field]
            else:
                meta.pop(server_field, None)
        if "status" in current and rt.name in ("deployments", "pods", "namespaces", "services"):
            new["status"] = copy.deepcopy(current["status"])
        self._prepare(rt, new, current)
        if rt.generation and new.get("spec") != current.get("spec"):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        if new == current or dry_run:
            return new
        stored = self._write(rt.name, new, "MODIFIED")
        self.wake()
        return stored

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        *,
        grace_seconds: int | None = None,
        preconditions: Obj | None = None,
        dry_run: bool = False,
    ) -> Obj:
        current = self.get(rt, namespace, name)
        if "delete" not in rt.verbs:
            raise ApiError(405, "MethodNotAllowed", f"{rt.name} cannot be deleted here")
        for field_name in ("uid", "resourceVersion"):
            wanted = (preconditions or {}).get(field_name)
            if wanted and wanted != current["metadata"].get(field_name):
                raise ApiError(
                    409,
                    "Conflict",
                    f"Precondition failed: {field_name} in precondition: {wanted}, "
                    f"{field_name} in object meta: {current['metadata'].get(field_name)}",
                )
        now = self._now()
        if rt.name == "pods":
            grace = grace_seconds
            if grace is None:
                grace = int(current["spec"].get("terminationGracePeriodSeconds", 30))
            if dry_run:
                preview = copy.deepcopy(current)
                preview["metadata"].setdefault("deletionTimestamp", fmt_time(now + grace))
                return preview
            result = self._delete_pod(current, grace, now)
            self.wake()
            return result
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": name,
                "group": rt.group,
                "kind": rt.name,
                "uid": current["metadata"]["uid"],
            },
        }
        if dry_run:
            return status
        self._write(rt.name, copy.deepcopy(current), "DELETED")
        self._collect_orphans(current["metadata"]["uid"], now)
        self.wake()
        return status

    def _collect_orphans(self, owner_uid: str, now: float) -> None:
        """Background cascading deletion of what the deleted object controlled."""
        for rs in self.items("replicasets"):
            if _owner_uid(rs) == owner_uid:
                self._write("replicasets", copy.deepcopy(rs), "DELETED")
                self._collect_orphans(rs["metadata"]["uid"], now)
        for pod in self.items("pods"):
            if _owner_uid(pod) == owner_uid and not pod["metadata"].get("deletionTimestamp"):
                self._delete_pod(
                    pod, int(pod["spec"].get("terminationGracePeriodSeconds", 30)), now
                )

    # -- validation and defaults

    def _prepare(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        """Default and validate `obj` in place; a 422 Status names every bad field."""
        meta = obj["metadata"]
        name = meta.get("name")
        causes: list[tuple[str, str]] = []
        pattern = _DNS_LABEL if rt.name in ("namespaces", "services") else _DNS_SUBDOMAIN
        if not isinstance(name, str) or not name:
            causes.append(("metadata.name", "Required value: name or generateName is required"))
        elif not pattern.match(name) or len(name) > 253:
            causes.append(
                ("metadata.name", f"Invalid value: {name!r}: must be a lowercase RFC 1123 name")
            )
        for map_field in ("labels", "annotations"):
            values = meta.get(map_field)
            if values is not None and (
                not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
            ):
                causes.append((f"metadata.{map_field}", "Invalid value: values must be strings"))
        if rt.name == "deployments":
            self._prepare_deployment(obj, old, causes)
        elif rt.name == "pods":
            if isinstance(obj.get("spec"), dict):
                _default_pod_spec(obj["spec"])
            _validate_pod_spec(obj.get("spec"), "spec", causes)
            if old is not None and obj.get("spec") != old.get("spec"):
                causes.append(
                    ("spec", "Forbidden: pod updates may not change fields other than metadata")
                )
        elif rt.name == "configmaps":
            for map_field in ("data", "binaryData"):
                values = obj.get(map_field) or {}
                if not isinstance(values, dict):
                    causes.append((map_field, "Invalid value: must be a map"))
                    continue
                for key, value in values.items():
                    if not _CONFIG_KEY.match(key):
                        causes.append(
                            (f"{map_field}[{key}]", f"Invalid value: {key!r}: a valid config key")
                        )
                    if not isinstance(value, str):
                        causes.append(
                            (f"{map_field}[{key}]", f"Invalid value: {value!r}: must be a string")
                        )
            if old is not None and old.get("immutable") is True:
                # As kube-apiserver's ValidateConfigMapUpdate: an immutable map stays as it is.
                frozen = "Forbidden: field is immutable when `immutable` is set"
                if obj.get("immutable") is not True:
                    causes.append(("immutable", frozen))
                for map_field in ("data", "binaryData"):
                    if (obj.get(map_field) or {}) != (old.get(map_field) or {}):
                        causes.append((map_field, frozen))
        elif rt.name == "services":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            ports = spec.get("ports") or []
            for i, port in enumerate(ports):
                if not isinstance(port, dict) or not _is_int(port.get("port")):
                    causes.append((f"spec.ports[{i}].port", "Required value"))
                    continue
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port["port"])
            if old is not None and spec.get("clusterIP") != old["spec"].get("clusterIP"):
                causes.append(("spec.clusterIP", "Invalid value: field is immutable"))
        if causes:
            raise rt.invalid(str(name), causes)

    def _prepare_deployment(self, obj: Obj, old: Obj | None, causes: list[tuple[str, str]]) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            causes.append(("spec", "Required value"))
            return
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxSurge", "25%")
            rolling.setdefault("maxUnavailable", "25%")
            surge = _int_or_percent(rolling["maxSurge"], 100, round_up=True)
            unavailable = _int_or_percent(rolling["maxUnavailable"], 100, round_up=False)
            if surge is None or surge < 0:
                causes.append(("spec.strategy.rollingUpdate.maxSurge", "Invalid value"))
            if unavailable is None or unavailable < 0:
                causes.append(("spec.strategy.rollingUpdate.maxUnavailable", "Invalid value"))
            if surge == 0 and unavailable == 0:
                causes.append(
                    (
                        "spec.strategy.rollingUpdate.maxUnavailable",
                        "Invalid value: 0: may not be 0 when `maxSurge` is 0",
                    )
                )
        elif strategy["type"] == "Recreate":
            if "rollingUpdate" in strategy:
                causes.append(
                    (
                        "spec.strategy.rollingUpdate",
                        "Forbidden: may not be specified when strategy `type` is 'Recreate'",
                    )
                )
        else:
            causes.append(("spec.strategy.type", f"Unsupported value: {strategy['type']!r}"))
        replicas = spec["replicas"]
        if not _is_int(replicas) or replicas < 0:
            causes.append(
                (
                    "spec.replicas",
                    f"Invalid value: {replicas!r}: must be greater than or equal to 0",
                )
            )
        deadline = spec["progressDeadlineSeconds"]
        if not _is_int(deadline) or deadline <= 0:
            causes.append(("spec.progressDeadlineSeconds", f"Invalid value: {deadline!r}"))
        template = spec.get("template")
        if not isinstance(template, dict):
            causes.append(("spec.template", "Required value"))
            return
        template.setdefault("metadata", {})
        if isinstance(template.get("spec"), dict):
            _default_pod_spec(template["spec"])
        _validate_pod_spec(template.get("spec"), "spec.template.spec", causes)
        selector = spec.get("selector")
        if not isinstance(selector, dict) or not (
            selector.get("matchLabels") or selector.get("matchExpressions")
        ):
            causes.append(("spec.selector", "Required value"))
        elif not selector_matches(selector, template["metadata"].get("labels") or {}):
            causes.append(
                (
                    "spec.template.metadata.labels",
                    "Invalid value: `selector` does not match template `labels`",
                )
            )
        if old is not None and selector != old["spec"].get("selector"):
            causes.append(("spec.selector", "Invalid value: field is immutable"))

    # -- pods

    def _suffix(self) -> str:
        return "".join(self._rng.choice(_HASH_ALPHABET) for _ in range(5))

    def _create_pod(self, pod: Obj, *, deployment: str) -> Obj:
        now = self._now()
        meta, spec = pod["metadata"], pod["spec"]
        index = self._pod_count
        self._pod_count += 1
        node_i = index % len(NODES)
        spec.setdefault("nodeName", NODES[node_i])
        containers = [_Container(c["name"], c["image"]) for c in spec["containers"]]
        env = {
            e["name"]: str(e.get("value", ""))
            for e in spec["containers"][0].get("env") or []
            if isinstance(e, dict) and "name" in e
        }
        try:
            behaviour = self.scenario.pod_behaviour(meta["namespace"], deployment, env)
        except Exception:
            log.exception("scenario.pod_behaviour failed; using defaults")
            behaviour = PodBehaviour()
        runtime = _PodRuntime(
            uid=meta["uid"],
            namespace=meta["namespace"],
            name=meta["name"],
            deployment=deployment,
            behaviour=behaviour,
            created_at=now,
            node=spec["nodeName"],
            ip=f"10.244.{node_i}.{(index // len(NODES)) % 250 + 2}",
            containers=containers,
            state_since=now,
            ready_changed_at=now,
        )
        self._runtimes[runtime.uid] = runtime
        pod["status"] = self._pod_status(runtime, pod)
        stored = self._write("pods", pod, "ADDED")
        self._event(
            stored,
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {runtime.node}",
            component="default-scheduler",
            field_path=None,
        )
        for c in containers:
            self._event(stored, "Pulling", f'Pulling image "{c.image}"', container=c.name)
        return stored

    def _delete_pod(self, pod: Obj, grace: int, now: float) -> Obj:
        runtime = self._runtimes.get(pod["metadata"]["uid"])
        if grace <= 0 or runtime is None:
            return self._remove_pod(pod)
        if runtime.terminating:
            runtime.remove_at = min(runtime.remove_at, now + min(grace, self.termination_seconds))
            return pod
        runtime.terminating = True
        runtime.remove_at = now + min(grace, self.termination_seconds)
        if runtime.ready:
            runtime.ready, runtime.ready_changed_at = False, now
        new = copy.deepcopy(pod)
        new["metadata"]["deletionTimestamp"] = fmt_time(now + grace)
        new["metadata"]["deletionGracePeriodSeconds"] = grace
        new["status"] = self._pod_status(runtime, new)
        stored = self._write("pods", new, "MODIFIED")
        for c in runtime.containers:
            if c.running:
                self._event(stored, "Killing", f"Stopping container {c.name}", container=c.name)
        return stored

    def _remove_pod(self, pod: Obj) -> Obj:
        self._runtimes.pop(pod["metadata"]["uid"], None)
        gone = self._write("pods", copy.deepcopy(pod), "DELETED")
        self.logs_changed.fire()  # followers of this pod's logs end their streams
        return gone

    def _runtime(self, namespace: str, name: str) -> tuple[Obj, _PodRuntime]:
        pod = self._find("pods", namespace, name)
        runtime = self._runtimes.get(pod["metadata"]["uid"]) if pod else None
        if pod is None or runtime is None:
            raise RESOURCES[("", "pods")].not_found(name)
        return pod, runtime

    def pod_view(self, pod: Obj) -> PodView | None:
        runtime = self._runtimes.get(pod["metadata"]["uid"])
        if runtime is None:
            return None
        first = pod["spec"]["containers"][0]
        env = {
            e["name"]: str(e.get("value", ""))
            for e in first.get("env") or []
            if isinstance(e, dict) and "name" in e
        }
        labels = dict(labels_of(pod))
        return PodView(
            namespace=runtime.namespace,
            name=runtime.name,
            deployment=runtime.deployment,
            container=first["name"],
            image=first["image"],
            env=env,
            phase=pod["status"]["phase"],
            # A terminating pod has left the service's endpoints: it serves no traffic.
            ready=runtime.ready and not runtime.terminating,
            started_at=runtime.started_at if runtime.containers[0].running else None,
            restart_count=runtime.restart_count,
            template_hash=labels.get(HASH_LABEL, ""),
            labels=labels,
        )

    def pod_views(self, namespace: str | None = None) -> list[PodView]:
        views = (self.pod_view(p) for p in self.items("pods", namespace))
        return [v for v in views if v is not None]

    # -- logs

    def log_source(
        self, namespace: str, name: str, container: str | None, previous: bool
    ) -> LogSource:
        pod, runtime = self._runtime(namespace, name)
        names = [c.name for c in runtime.containers]
        if container is None:
            default = (pod["metadata"].get("annotations") or {}).get(
                "kubectl.kubernetes.io/default-container"
            )
            if len(names) > 1 and default not in names:
                raise bad_request(
                    f"a container name must be specified for pod {name}, choose one of: "
                    f"[{' '.join(names)}]"
                )
            container = default if default in names else names[0]
        chosen = next((c for c in runtime.containers if c.name == container), None)
        if chosen is None:
            raise bad_request(f"container {container} is not valid for pod {name}")
        if previous:
            # The last terminated instance: during a crash back-off that is the current one.
            last = chosen.previous if chosen.running else chosen.current
            if last is None or (not chosen.running and runtime.restart_count == 0):
                raise bad_request(
                    f'previous terminated container "{container}" in pod "{name}" not found'
                )
            return LogSource(runtime.uid, container, last, follow_possible=False)
        if chosen.current is None:
            reason = pod["status"]["containerStatuses"][names.index(container)]["state"]
            waiting = (reason.get("waiting") or {}).get("reason", "ContainerCreating")
            if waiting in ("ErrImagePull", "ImagePullBackOff"):
                waiting = "trying and failing to pull image"
            raise bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: {waiting}'
            )
        return LogSource(runtime.uid, container, chosen.current, follow_possible=chosen.running)

    def log_is_live(self, source: LogSource) -> bool:
        """Whether a followed log can still grow: the same instance is running, the pod exists."""
        runtime = self._runtimes.get(source.pod_uid)
        if runtime is None or self.stopped:
            return False
        chosen = next((c for c in runtime.containers if c.name == source.container), None)
        return chosen is not None and chosen.current is source.log and chosen.running

    def _scenario_tick(self, now: float) -> None:
        try:
            produced = self.scenario.tick(now, self.pod_views())
        except Exception:
            log.exception("scenario.tick failed")
            produced = {}
        since = self._last_tick if self._last_tick is not None else now
        self._last_tick = now
        for (namespace, name), lines in (produced or {}).items():
            pod = self._find("pods", namespace, name)
            runtime = self._runtimes.get(pod["metadata"]["uid"]) if pod else None
            target = runtime.containers[0] if runtime else None
            if target is None or not target.running or target.current is None:
                continue  # a pod that is not running writes nothing
            split = [part for line in lines for part in str(line).splitlines()]
            # Spread the tick's lines over the interval, as a real process writes them.
            for i, text in enumerate(split):
                target.current.append(since + (now - since) * (i + 1) / len(split), text)
        self.logs_changed.fire()

    def _new_log(self) -> ContainerLog:
        return ContainerLog(deque(maxlen=self.log_lines_kept))

    # -- services

    def proxy(self, namespace: str, target: str, path: str) -> HealthAnswer:
        """GET through the API server's service proxy: `name`, `name:port`, `scheme:name:port`."""
        parts = target.split(":")
        if len(parts) == 3:
            parts = parts[1:]
        name, port = parts[0], parts[1] if len(parts) > 1 else ""
        service = self.get(RESOURCES[("", "services")], namespace, name)
        ports = service["spec"].get("ports") or []
        if port and not any(port in (str(p.get("port")), p.get("name")) for p in ports):
            raise ApiError(
                503, "ServiceUnavailable", f'no endpoints available for service "{target}"'
            )
        selector = service["spec"].get("selector") or {}
        pods = [
            view
            for pod in self.items("pods", namespace)
            if selector
            and all(labels_of(pod).get(k) == v for k, v in selector.items())
            and (view := self.pod_view(pod)) is not None
        ]
        if not any(p.ready for p in pods):
            raise ApiError(
                503, "ServiceUnavailable", f'no endpoints available for service "{name}"'
            )
        return self.scenario.health(namespace, name, path, pods)

    # -- events

    def _event(
        self,
        involved: Obj,
        reason: str,
        message: str,
        *,
        type_: str = "Normal",
        component: str = "kubelet",
        container: str | None = None,
        field_path: str | None = "",
    ) -> None:
        now = fmt_time(self._now())
        meta = involved["metadata"]
        key = (meta["uid"], reason, message, type_)
        existing_key = self._events_by_key.get(key)
        existing = self._find("events", *existing_key) if existing_key else None
        if existing is not None:
            updated = copy.deepcopy(existing)
            updated["count"] = int(updated.get("count", 1)) + 1
            updated["lastTimestamp"] = now
            self._write("events", updated, "MODIFIED")
            return
        runtime = self._runtimes.get(meta["uid"])
        host = runtime.node if runtime and component == "kubelet" else None
        involved_ref: Obj = {
            "kind": involved["kind"],
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta["uid"],
            "apiVersion": involved["apiVersion"],
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if container:
            involved_ref["fieldPath"] = f"spec.containers{{{container}}}"
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
                "namespace": meta.get("namespace") or "default",
                "uid": str(uuid.uuid4()),
                "creationTimestamp": now,
            },
            "involvedObject": involved_ref,
            "reason": reason,
            "message": message,
            "source": {"component": component, **({"host": host} if host else {})},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        stored = self._write("events", event, "ADDED")
        self._events_by_key[key] = _key(stored)
        table = self._objects["events"]
        while len(table) > MAX_EVENTS:  # bounded, as the API server's event TTL bounds them
            oldest = next(iter(table.values()))
            self._write("events", copy.deepcopy(oldest), "DELETED")
            self._events_by_key = {
                k: v for k, v in self._events_by_key.items() if v != _key(oldest)
            }

    # -- the controllers

    def _reconcile(self, now: float) -> None:
        self._kubelet(now)
        for deployment in self.items("deployments"):
            self._sync_deployment(deployment, now, self._pods_by_owner())
        # Scaling one ReplicaSet touches only its own pods: one index serves them all.
        index = self._pods_by_owner()
        for rs in self.items("replicasets"):
            self._sync_replicaset(rs, now, index.get(rs["metadata"]["uid"], []))
        pods = self._pods_by_owner()
        for rs in self.items("replicasets"):
            self._replicaset_status(rs, pods.get(rs["metadata"]["uid"], []))
        for deployment in self.items("deployments"):
            self._deployment_status(deployment, now, pods)

    def _pods_by_owner(self) -> dict[str, list[tuple[Obj, _PodRuntime]]]:
        """Active (not terminating) pods with their runtimes, by controlling owner uid."""
        owned: dict[str, list[tuple[Obj, _PodRuntime]]] = {}
        for pod in self.items("pods"):
            runtime = self._runtimes.get(pod["metadata"]["uid"])
            owner = _owner_uid(pod)
            if owner and runtime and not runtime.terminating:
                owned.setdefault(owner, []).append((pod, runtime))
        return owned

    def _owned_replicasets(self, deployment: Obj) -> list[Obj]:
        uid = deployment["metadata"]["uid"]
        ns = deployment["metadata"]["namespace"]
        return [rs for rs in self.items("replicasets", ns) if _owner_uid(rs) == uid]

    def _sync_deployment(
        self, deployment: Obj, now: float, pods: dict[str, list[tuple[Obj, _PodRuntime]]]
    ) -> None:
        spec = deployment["spec"]
        meta = deployment["metadata"]
        if spec.get("paused"):
            return
        replicasets = self._owned_replicasets(deployment)
        key = template_key(spec["template"])
        new_rs = next(
            (rs for rs in replicasets if template_key(rs["spec"]["template"]) == key), None
        )
        max_revision = max((_revision(rs) for rs in replicasets), default=0)
        desired = int(spec.get("replicas", 1))
        surge, unavailable = self._fenceposts(deployment)
        if new_rs is None:
            new_rs = self._create_replicaset(deployment, max_revision + 1, now)
            replicasets.append(new_rs)
        elif _revision(new_rs) < max_revision:
            # Rolled back to an older template: its ReplicaSet becomes the newest revision.
            updated = copy.deepcopy(new_rs)
            notes = updated["metadata"].setdefault("annotations", {})
            history = [h for h in notes.get(REVISION_HISTORY, "").split(",") if h]
            notes[REVISION_HISTORY] = ",".join([*history, str(_revision(new_rs))])
            notes[REVISION] = str(max_revision + 1)
            new_rs = self._store_if_changed("replicasets", updated)
            self._progressing(
                deployment,
                "FoundNewReplicaSet",
                f'Found new replica set "{new_rs["metadata"]["name"]}"',
                now,
            )
        annotations = meta.get("annotations") or {}
        if annotations.get(REVISION) != str(_revision(new_rs)):
            updated = copy.deepcopy(self._find("deployments", *_key(deployment)) or deployment)
            updated["metadata"].setdefault("annotations", {})[REVISION] = str(_revision(new_rs))
            deployment = self._store_if_changed("deployments", updated)
        olds = sorted(
            (
                rs
                for rs in replicasets
                if rs is not new_rs and rs["metadata"]["uid"] != new_rs["metadata"]["uid"]
            ),
            key=lambda rs: (rs["metadata"]["creationTimestamp"], _revision(rs)),
        )

        def count(rs: Obj, *, available: bool = False) -> int:
            owned = pods.get(rs["metadata"]["uid"], [])
            return sum(1 for _, r in owned if r.ready) if available else len(owned)

        want: dict[str, int] = {
            rs["metadata"]["uid"]: int(rs["spec"].get("replicas", 0)) for rs in replicasets
        }
        new_uid = new_rs["metadata"]["uid"]
        if spec["strategy"]["type"] == "Recreate":
            for rs in olds:
                want[rs["metadata"]["uid"]] = 0
            old_pods_left = any(
                _owner_uid(p) in {rs["metadata"]["uid"] for rs in olds}
                for p in self.items("pods", meta["namespace"])
            )
            want[new_uid] = 0 if old_pods_left else desired
        elif not any(want[rs["metadata"]["uid"]] for rs in olds):
            want[new_uid] = desired  # no rollout in flight: a plain scale
        else:
            total = sum(want.values())
            if want[new_uid] < desired:
                want[new_uid] += max(0, min(desired + surge - total, desired - want[new_uid]))
            elif want[new_uid] > desired:
                want[new_uid] = desired
            min_available = desired - unavailable
            new_unavailable = want[new_uid] - count(new_rs, available=True)
            budget = sum(want.values()) - min_available - new_unavailable
            # Kubernetes' reconcileOldReplicaSets: nothing while the budget is spent; else
            # first old pods that are unavailable anyway, then healthy ones while enough
            # pods stay available.
            if budget > 0:
                for rs in olds:
                    uid = rs["metadata"]["uid"]
                    cut = min(max(0, want[uid] - count(rs, available=True)), budget)
                    want[uid] -= cut
                    budget -= cut
                available = sum(count(rs, available=True) for rs in replicasets)
                scale_down = available - min_available
                for rs in olds:
                    uid = rs["metadata"]["uid"]
                    cut = min(want[uid], max(0, scale_down))
                    want[uid] -= cut
                    scale_down -= cut
        for rs in replicasets:
            uid = rs["metadata"]["uid"]
            self._scale_replicaset(deployment, rs, want[uid], desired, desired + surge)
        self._cleanup_history(deployment, new_uid, pods)

    def _fenceposts(self, deployment: Obj) -> tuple[int, int]:
        spec = deployment["spec"]
        desired = int(spec.get("replicas", 1))
        rolling = spec["strategy"].get("rollingUpdate") or {}
        if spec["strategy"]["type"] != "RollingUpdate":
            return 0, desired
        surge = _int_or_percent(rolling.get("maxSurge", "25%"), desired, round_up=True) or 0
        unavailable = (
            _int_or_percent(rolling.get("maxUnavailable", "25%"), desired, round_up=False) or 0
        )
        if surge == 0 and unavailable == 0:
            unavailable = 1
        return surge, unavailable

    def _create_replicaset(self, deployment: Obj, revision: int, now: float) -> Obj:
        meta, spec = deployment["metadata"], deployment["spec"]
        template = copy.deepcopy(spec["template"])
        pod_hash = template_hash(template)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = copy.deepcopy(spec["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        annotations = {
            k: v for k, v in (meta.get("annotations") or {}).items() if k not in _NOT_COPIED
        }
        annotations[REVISION] = str(revision)
        name = f"{meta['name']}-{pod_hash}"
        rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "uid": str(uuid.uuid4()),
                "creationTimestamp": fmt_time(now),
                "generation": 1,
                "labels": {**(template["metadata"].get("labels") or {})},
                "annotations": annotations,
                "ownerReferences": [_owner_ref(deployment)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
            "status": {"replicas": 0},
        }
        stored = self._write("replicasets", rs, "ADDED")
        self._progressing(
            deployment, "NewReplicaSetCreated", f'Created new replica set "{name}"', now
        )
        return stored

    def _scale_replicaset(
        self, deployment: Obj, rs: Obj, replicas: int, desired: int, max_total: int
    ) -> None:
        current = self._find("replicasets", *_key(rs)) or rs
        old = int(current["spec"].get("replicas", 0))
        updated = copy.deepcopy(current)
        updated["spec"]["replicas"] = replicas
        notes = updated["metadata"].setdefault("annotations", {})
        notes[DESIRED_REPLICAS] = str(desired)
        notes[MAX_REPLICAS] = str(max_total)
        if replicas != old:
            updated["metadata"]["generation"] = int(updated["metadata"].get("generation", 1)) + 1
        self._store_if_changed("replicasets", updated)
        if replicas != old:
            direction = "up" if replicas > old else "down"
            self._event(
                deployment,
                "ScalingReplicaSet",
                f"Scaled {direction} replica set {rs['metadata']['name']} from {old} to {replicas}",
                component="deployment-controller",
            )

    def _cleanup_history(
        self, deployment: Obj, new_uid: str, pods: dict[str, list[tuple[Obj, _PodRuntime]]]
    ) -> None:
        limit = int(deployment["spec"].get("revisionHistoryLimit", 10))
        idle = [
            rs
            for rs in self._owned_replicasets(deployment)
            if rs["metadata"]["uid"] != new_uid
            and not rs["spec"].get("replicas")
            and not pods.get(rs["metadata"]["uid"])
        ]
        idle.sort(key=_revision)
        for rs in idle[: max(0, len(idle) - limit)]:
            self._write("replicasets", copy.deepcopy(rs), "DELETED")

    def _sync_replicaset(self, rs: Obj, now: float, pods: list[tuple[Obj, _PodRuntime]]) -> None:
        want = int(rs["spec"].get("replicas", 0))
        deployment = next(
            (
                d
                for d in self.items("deployments", rs["metadata"]["namespace"])
                if d["metadata"]["uid"] == _owner_uid(rs)
            ),
            None,
        )
        for _ in range(want - len(pods)):
            template = copy.deepcopy(rs["spec"]["template"])
            name = f"{rs['metadata']['name']}-{self._suffix()}"
            tmeta = template.get("metadata") or {}
            pod: Obj = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "generateName": f"{rs['metadata']['name']}-",
                    "namespace": rs["metadata"]["namespace"],
                    "uid": str(uuid.uuid4()),
                    "creationTimestamp": fmt_time(now),
                    "labels": dict(tmeta.get("labels") or {}),
                    "ownerReferences": [_owner_ref(rs)],
                },
                "spec": template["spec"],
            }
            if tmeta.get("annotations"):
                pod["metadata"]["annotations"] = dict(tmeta["annotations"])
            self._create_pod(pod, deployment=deployment["metadata"]["name"] if deployment else "")
            self._event(
                rs, "SuccessfulCreate", f"Created pod: {name}", component="replicaset-controller"
            )
        if len(pods) > want:
            # Delete the least useful first: not ready, then the youngest (as Kubernetes).
            victims = sorted(pods, key=lambda pr: (pr[1].ready, -pr[1].created_at))[
                : len(pods) - want
            ]
            for pod, _ in victims:
                grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
                self._delete_pod(pod, grace, now)
                self._event(
                    rs,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    component="replicaset-controller",
                )

    def _replicaset_status(self, rs: Obj, pods: list[tuple[Obj, _PodRuntime]]) -> None:
        current = self._find("replicasets", *_key(rs))
        if current is None:
            return
        ready = sum(1 for _, r in pods if r.ready)
        status: Obj = {"replicas": len(pods)}
        if pods:
            status["fullyLabeledReplicas"] = len(pods)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        status["observedGeneration"] = current["metadata"].get("generation", 1)
        if current.get("status") != status:
            updated = copy.deepcopy(current)
            updated["status"] = status
            self._store_if_changed("replicasets", updated)

    def _progressing(self, deployment: Obj, reason: str, message: str, now: float) -> None:
        current = self._find("deployments", *_key(deployment))
        if current is None:
            return
        updated = copy.deepcopy(current)
        conditions = updated.setdefault("status", {}).setdefault("conditions", [])
        _set_condition(conditions, "Progressing", "True", reason, message, now, touch=True)
        self._store_if_changed("deployments", updated)

    def _deployment_status(
        self, deployment: Obj, now: float, pods: dict[str, list[tuple[Obj, _PodRuntime]]]
    ) -> None:
        current = self._find("deployments", *_key(deployment))
        if current is None:
            return
        spec = current["spec"]
        desired = int(spec.get("replicas", 1))
        replicasets = self._owned_replicasets(current)
        key = template_key(spec["template"])
        new_rs = next(
            (rs for rs in replicasets if template_key(rs["spec"]["template"]) == key), None
        )
        total = sum(len(pods.get(rs["metadata"]["uid"], [])) for rs in replicasets)
        ready = sum(
            sum(1 for _, r in pods.get(rs["metadata"]["uid"], []) if r.ready) for rs in replicasets
        )
        updated_count = len(pods.get(new_rs["metadata"]["uid"], [])) if new_rs else 0
        old_status = current.get("status") or {}
        status: Obj = {"observedGeneration": current["metadata"].get("generation", 1)}
        for name, value in (
            ("replicas", total),
            ("updatedReplicas", updated_count),
            ("readyReplicas", ready),
            ("availableReplicas", ready),
            ("unavailableReplicas", max(0, desired - ready)),
        ):
            if value:  # zero counts are omitted, as the API server's omitempty does
                status[name] = value
        conditions = copy.deepcopy(old_status.get("conditions") or [])
        _, unavailable = self._fenceposts(current)
        if ready >= desired - unavailable:
            _set_condition(
                conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now,
            )
        else:
            _set_condition(
                conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            )
        rs_name = new_rs["metadata"]["name"] if new_rs else current["metadata"]["name"]
        complete = updated_count == desired and total == desired and ready == desired
        progressing = next((c for c in conditions if c["type"] == "Progressing"), None)
        old_total = int(old_status.get("replicas", 0))
        old_updated = int(old_status.get("updatedReplicas", 0))
        progressed = (
            updated_count > old_updated
            or ready > int(old_status.get("readyReplicas", 0))
            or (total - updated_count) < (old_total - old_updated)
        )
        if complete and not spec.get("paused"):
            _set_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                now,
                touch=not (progressing and progressing.get("reason") == "NewReplicaSetAvailable"),
            )
        elif progressed:
            _set_condition(
                conditions,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{rs_name}" is progressing.',
                now,
                touch=True,
            )
        elif (
            progressing is not None
            and progressing.get("reason")
            not in ("NewReplicaSetAvailable", "ProgressDeadlineExceeded")
            and now - parse_time(progressing["lastUpdateTime"])
            > int(spec.get("progressDeadlineSeconds", 600))
        ):
            _set_condition(
                conditions,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
                now,
                touch=True,
            )
        status["conditions"] = sorted(conditions, key=lambda c: c["type"] != "Available")
        if status != old_status:
            updated = copy.deepcopy(current)
            updated["status"] = status
            self._store_if_changed("deployments", updated)

    # -- the pretend kubelet

    def _kubelet(self, now: float) -> None:
        for pod in self.items("pods"):
            runtime = self._runtimes.get(pod["metadata"]["uid"])
            if runtime is None:
                continue
            if runtime.terminating and now >= runtime.remove_at:
                self._remove_pod(pod)
                continue
            changed = self._advance(runtime, pod, now)
            status = self._pod_status(runtime, pod)
            if status != pod.get("status"):
                updated = copy.deepcopy(pod)
                updated["status"] = status
                self._write("pods", updated, "MODIFIED")
            if changed:
                self.logs_changed.fire()

    def _start(self, runtime: _PodRuntime, pod: Obj, at: float, *, first: bool) -> None:
        runtime.state, runtime.state_since, runtime.started_at = "running", at, at
        runtime.probe_warned = False
        for c in runtime.containers:
            if c.current is not None:
                c.previous = c.current
            c.current = self._new_log()
            c.running = True
            if first:
                pull = runtime.behaviour.pull_seconds
                self._event(
                    pod,
                    "Pulled",
                    f'Successfully pulled image "{c.image}" in {pull:.3g}s',
                    container=c.name,
                )
            else:
                self._event(
                    pod,
                    "Pulled",
                    f'Container image "{c.image}" already present on machine',
                    container=c.name,
                )
            self._event(pod, "Created", f"Created container: {c.name}", container=c.name)
            self._event(pod, "Started", f"Started container {c.name}", container=c.name)

    def _advance(self, runtime: _PodRuntime, pod: Obj, now: float) -> bool:
        """Move the pod along its lifecycle to `now`; True when a container started or stopped."""
        b = runtime.behaviour
        changed = False
        for _ in range(100):  # a fast clock may cross several transitions in one tick
            if runtime.state == "pulling":
                at = runtime.state_since + b.pull_seconds
                if now < at:
                    break
                if b.image_pull_fails:
                    runtime.state, runtime.state_since = "pullfail", at
                    runtime.next_backoff_event = at
                    image = runtime.containers[0].image
                    self._event(
                        pod,
                        "Failed",
                        f'Failed to pull image "{image}": rpc error: code = '
                        f'NotFound desc = failed to pull and unpack image "{image}": not found',
                        type_="Warning",
                        container=runtime.containers[0].name,
                    )
                    self._event(
                        pod,
                        "Failed",
                        "Error: ErrImagePull",
                        type_="Warning",
                        container=runtime.containers[0].name,
                    )
                    continue
                self._start(runtime, pod, at, first=True)
                changed = True
            elif runtime.state == "pullfail":
                if now >= runtime.next_backoff_event:
                    c = runtime.containers[0]
                    self._event(
                        pod, "BackOff", f'Back-off pulling image "{c.image}"', container=c.name
                    )
                    self._event(
                        pod, "Failed", "Error: ImagePullBackOff", type_="Warning", container=c.name
                    )
                    runtime.next_backoff_event = now + 30
                break
            elif runtime.state == "running":
                started = runtime.started_at or now
                ready_at = started + b.ready_after_seconds
                crash_at = (
                    started + b.crash_after_seconds
                    if b.crash_after_seconds is not None
                    else math.inf
                )
                if not runtime.ready and not runtime.terminating and ready_at <= min(now, crash_at):
                    runtime.ready, runtime.ready_changed_at = True, ready_at
                if (
                    not runtime.ready
                    and not runtime.probe_warned
                    and now - started >= 1.0
                    and now < crash_at
                ):
                    runtime.probe_warned = True
                    self._event(
                        pod,
                        "Unhealthy",
                        "Readiness probe failed: HTTP probe failed with statuscode: 503",
                        type_="Warning",
                        container=runtime.containers[0].name,
                    )
                if now < crash_at or runtime.terminating:
                    break
                self._crash(runtime, pod, crash_at)
                changed = True
            elif runtime.state == "crashloop":
                if now < runtime.backoff_until or runtime.terminating:
                    break
                self._start(runtime, pod, runtime.backoff_until, first=False)
                changed = True
            else:
                break
        return changed

    def _crash(self, runtime: _PodRuntime, pod: Obj, at: float) -> None:
        runtime.restart_count += 1
        if runtime.ready:
            runtime.ready, runtime.ready_changed_at = False, at
        runtime.last_terminated = {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": fmt_time(runtime.started_at or at),
            "finishedAt": fmt_time(at),
            "containerID": self._container_id(runtime),
        }
        for c in runtime.containers:
            c.running = False
        backoff = min(10.0 * 2 ** (runtime.restart_count - 1), 300.0)
        runtime.state, runtime.state_since, runtime.backoff_until = "crashloop", at, at + backoff
        runtime.started_at = None
        c = runtime.containers[0]
        self._event(
            pod,
            "BackOff",
            f"Back-off restarting failed container {c.name} in pod "
            f"{runtime.name}_{runtime.namespace}({runtime.uid})",
            type_="Warning",
            container=c.name,
        )

    def _container_id(self, runtime: _PodRuntime) -> str:
        digest = hashlib.sha256(f"{runtime.uid}/{runtime.restart_count}".encode()).hexdigest()
        return f"containerd://{digest}"

    def _pod_status(self, runtime: _PodRuntime, pod: Obj) -> Obj:
        created = fmt_time(runtime.created_at)
        ready = runtime.ready and not runtime.terminating
        statuses = []
        for c in runtime.containers:
            repo = c.image.split("@")[0].rsplit(":", 1)[0]
            image_id = f"{repo}@sha256:{hashlib.sha256(c.image.encode()).hexdigest()}"
            status: Obj = {
                "name": c.name,
                "image": c.image,
                "imageID": "",
                "ready": ready,
                "restartCount": runtime.restart_count,
                "started": runtime.state == "running",
            }
            if runtime.state == "pulling":
                status["state"] = {"waiting": {"reason": "ContainerCreating"}}
            elif runtime.state == "pullfail":
                early = self._now() - runtime.state_since < 10
                status["state"] = {
                    "waiting": {
                        "reason": "ErrImagePull" if early else "ImagePullBackOff",
                        "message": f'Back-off pulling image "{c.image}"',
                    }
                }
            elif runtime.state == "running":
                status["state"] = {"running": {"startedAt": fmt_time(runtime.started_at or 0)}}
                status["imageID"] = image_id
                status["containerID"] = self._container_id(runtime)
            else:
                back = int(runtime.backoff_until - runtime.state_since)
                status["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off {back}s restarting failed container={c.name} "
                        f"pod={runtime.name}_{runtime.namespace}({runtime.uid})",
                    }
                }
                status["imageID"] = image_id
            status["lastState"] = (
                {"terminated": runtime.last_terminated} if runtime.last_terminated else {}
            )
            statuses.append(status)
        names = ",".join(c.name for c in runtime.containers)
        not_ready = {
            "reason": "ContainersNotReady",
            "message": f"containers with unready status: [{names}]",
        }

        def condition(kind: str, ok: bool, since: str, extra: Obj | None = None) -> Obj:
            return {
                "type": kind,
                "status": "True" if ok else "False",
                "lastProbeTime": None,
                "lastTransitionTime": since,
                **({} if ok else (extra or {})),
            }

        ready_since = fmt_time(runtime.ready_changed_at)
        sandbox = runtime.state != "pulling" or self._now() - runtime.created_at > 0.5
        status_obj: Obj = {
            "phase": "Pending" if runtime.state in ("pulling", "pullfail") else "Running",
            "conditions": [
                condition("PodReadyToStartContainers", sandbox, created),
                condition("Initialized", True, created),
                condition("Ready", ready, ready_since, not_ready),
                condition("ContainersReady", ready, ready_since, not_ready),
                condition("PodScheduled", True, created),
            ],
            "hostIP": f"192.168.49.{NODES.index(runtime.node) + 2 if runtime.node in NODES else 2}",
            "podIP": runtime.ip,
            "podIPs": [{"ip": runtime.ip}],
            "startTime": created,
            "containerStatuses": statuses,
            "qosClass": "BestEffort",
        }
        status_obj["hostIPs"] = [{"ip": status_obj["hostIP"]}]
        return status_obj


def _set_condition(
    conditions: list[Obj],
    kind: str,
    status: str,
    reason: str,
    message: str,
    now: float,
    *,
    touch: bool = False,
) -> None:
    """Set a deployment condition; the transition time moves only when the status does,
    the update time when `touch` (progress was made) or anything changed."""
    stamp = fmt_time(now)
    existing = next((c for c in conditions if c["type"] == kind), None)
    if existing is None:
        conditions.append(
            {
                "type": kind,
                "status": status,
                "lastUpdateTime": stamp,
                "lastTransitionTime": stamp,
                "reason": reason,
                "message": message,
            }
        )
        return
    if existing["status"] != status:
        existing["lastTransitionTime"] = stamp
    if touch or (existing["status"], existing["reason"], existing["message"]) != (
        status,
        reason,
        message,
    ):
        existing["lastUpdateTime"] = stamp
    existing.update(status=status, reason=reason, message=message)
