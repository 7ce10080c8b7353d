"""The Kubernetes REST API over HTTP (aiohttp), answering from a `Cluster`.

Serves what kubectl and the `kubernetes` Python client ask for: discovery, list/get/watch
(with resourceVersion, bookmarks, 410 Expired), create/update/patch/delete with dryRun and
resourceVersion preconditions, the scale subresource, pod logs, the service proxy and
self-subject access reviews. Errors are `Status` objects; server-side printing (`Table`) is
offered when the client asks for it, as kubectl does for `get`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import ipaddress
import json
import logging
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from sre_tui.sandbox.cluster import (
    RESOURCES,
    ApiError,
    Cluster,
    Obj,
    RequestRecord,
    ResourceType,
    Watcher,
    bad_request,
    fmt_micro,
    fmt_nano,
    labels_of,
    parse_field_selector,
    parse_label_selector,
    parse_time,
    resource_type,
    selector_string,
)
from sre_tui.sandbox.faults import FaultPlan
from sre_tui.sandbox.patch import PATCH_TYPES
from sre_tui.sandbox.policy import AccessPolicy

log = logging.getLogger(__name__)

# Marks a request already in the request log (streams are logged when they start).
_LOGGED: Any = web.RequestKey("logged", bool) if hasattr(web, "RequestKey") else "sandbox-logged"

USER = "sre-tui-demo"  # the identity the sandbox's token stands for
DEFAULT_WATCH_SECONDS = 1800  # kube-apiserver ends watches after 30–60 min
KUBE_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "sandbox",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


# --- discovery --------------------------------------------------------------------------


def _groups() -> dict[str, str]:
    """Served API groups (besides the core group) → their one version."""
    return {rt.group: rt.version for rt in RESOURCES.values() if rt.group}


def _group_doc(group: str, version: str) -> Obj:
    gv = {"groupVersion": f"{group}/{version}", "version": version}
    return {"name": group, "versions": [gv], "preferredVersion": gv}


_SUBRESOURCE_KIND = {
    "log": ("Pod", ("get",), "", ""),
    "status": ("", ("get", "patch", "update"), "", ""),
    "scale": ("Scale", ("get", "patch", "update"), "autoscaling", "v1"),
    "proxy": ("ServiceProxyOptions", ("create", "delete", "get", "patch", "update"), "", ""),
}


def _resource_list(group: str, version: str) -> Obj:
    resources: list[Obj] = []
    for rt in RESOURCES.values():
        if rt.group != group or rt.version != version:
            continue
        entry: Obj = {
            "name": rt.name,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub in rt.subresources:
            kind, verbs, sub_group, sub_version = _SUBRESOURCE_KIND[sub]
            sub_entry: Obj = {
                "name": f"{rt.name}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": kind or rt.kind,
                "verbs": list(verbs),
            }
            if sub_group:
                sub_entry.update(group=sub_group, version=sub_version)
            resources.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }


# --- presentation -----------------------------------------------------------------------


def event_v1(event: Obj) -> Obj:
    """A core/v1 Event as events.k8s.io/v1 shows it."""
    source = event.get("source") or {}
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": event["metadata"],
        "eventTime": fmt_micro(parse_time(event["firstTimestamp"])),
        "reportingController": event.get("reportingComponent") or source.get("component", ""),
        "reportingInstance": event.get("reportingInstance") or source.get("host", ""),
        "action": event["reason"],
        "reason": event["reason"],
        "regarding": event["involvedObject"],
        "note": event["message"],
        "type": event["type"],
        "deprecatedSource": source,
        "deprecatedFirstTimestamp": event["firstTimestamp"],
        "deprecatedLastTimestamp": event["lastTimestamp"],
        "deprecatedCount": event.get("count", 1),
    }


def human_age(seconds: float) -> str:
    """Kubernetes' short human duration: 45s, 3m12s, 17m, 5h4m, 3d2h, 40d."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    m, h, d = s // 60, s // 3600, s // 86400
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if h < 3:
        return f"{m}m"
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    return f"{d}d"


def _col(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> Obj:
    return {"name": name, "type": kind, "format": fmt, "description": name, "priority": priority}


def pod_status_text(pod: Obj) -> str:
    """What kubectl's STATUS column says for a pod."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase", "Unknown")
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            reason = state["terminated"].get("reason") or "Error"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def _table_columns(kind: str) -> list[Obj]:
    return {
        "Pod": [
            _col("Name", fmt="name"),
            _col("Ready"),
            _col("Status"),
            _col("Restarts"),
            _col("Age"),
            _col("IP", priority=1),
            _col("Node", priority=1),
        ],
        "Deployment": [
            _col("Name", fmt="name"),
            _col("Ready"),
            _col("Up-to-date", "integer"),
            _col("Available", "integer"),
            _col("Age"),
            _col("Containers", priority=1),
            _col("Images", priority=1),
            _col("Selector", priority=1),
        ],
        "ReplicaSet": [
            _col("Name", fmt="name"),
            _col("Desired", "integer"),
            _col("Current", "integer"),
            _col("Ready", "integer"),
            _col("Age"),
            _col("Containers", priority=1),
            _col("Images", priority=1),
            _col("Selector", priority=1),
        ],
        "Service": [
            _col("Name", fmt="name"),
            _col("Type"),
            _col("Cluster-IP"),
            _col("External-IP"),
            _col("Port(s)"),
            _col("Age"),
            _col("Selector", priority=1),
        ],
        "ConfigMap": [_col("Name", fmt="name"), _col("Data", "integer"), _col("Age")],
        "Namespace": [_col("Name", fmt="name"), _col("Status"), _col("Age")],
        "Event": [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
    }.get(kind, [_col("Name", fmt="name"), _col("Age")])


def _table_cells(obj: Obj, now: float) -> list[Any]:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    age = (
        human_age(now - parse_time(meta["creationTimestamp"]))
        if meta.get("creationTimestamp")
        else "<unknown>"
    )
    kind = obj.get("kind")
    template = (spec.get("template") or {}).get("spec") or {}
    containers = ",".join(c["name"] for c in template.get("containers") or [])
    images = ",".join(c["image"] for c in template.get("containers") or [])
    if kind == "Pod":
        statuses = status.get("containerStatuses") or []
        ready = f"{sum(1 for s in statuses if s.get('ready'))}/{len(spec.get('containers') or [])}"
        restarts: Any = sum(int(s.get("restartCount", 0)) for s in statuses)
        finished = [
            s["lastState"]["terminated"]["finishedAt"]
            for s in statuses
            if (s.get("lastState") or {}).get("terminated", {}).get("finishedAt")
        ]
        if restarts and finished:
            restarts = f"{restarts} ({human_age(now - parse_time(max(finished)))} ago)"
        return [
            meta["name"],
            ready,
            pod_status_text(obj),
            restarts,
            age,
            status.get("podIP", "<none>"),
            spec.get("nodeName", "<none>"),
        ]
    if kind == "Deployment":
        return [
            meta["name"],
            f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0),
            age,
            containers,
            images,
            selector_string(spec.get("selector")),
        ]
    if kind == "ReplicaSet":
        return [
            meta["name"],
            spec.get("replicas", 0),
            status.get("replicas", 0),
            status.get("readyReplicas", 0),
            age,
            containers,
            images,
            selector_string(spec.get("selector")),
        ]
    if kind == "Service":
        ports = ",".join(f"{p['port']}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
        selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
        return [
            meta["name"],
            spec.get("type", "ClusterIP"),
            spec.get("clusterIP", "<none>"),
            "<none>",
            ports or "<none>",
            age,
            selector or "<none>",
        ]
    if kind == "ConfigMap":
        return [meta["name"], len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), age]
    if kind == "Namespace":
        return [meta["name"], status.get("phase", "Active"), age]
    if kind == "Event":
        involved = obj.get("involvedObject") or {}
        last = obj.get("lastTimestamp") or obj.get("firstTimestamp")
        seen = human_age(now - parse_time(last)) if last else "<unknown>"
        return [
            seen,
            obj.get("type", ""),
            obj.get("reason", ""),
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
            obj.get("message", ""),
        ]
    return [meta["name"], age]


def to_table(kind: str, objs: list[Obj], rv: str, now: float, include: str) -> Obj:
    def row_object(obj: Obj) -> Obj | None:
        if include == "None":
            return None
        if include == "Object":
            return obj
        return {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }

    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": _table_columns(kind),
        "rows": [{"cells": _table_cells(o, now), "object": row_object(o)} for o in objs],
    }


# --- the server -------------------------------------------------------------------------


@dataclass
class KubeServer:
    url: str  # https://127.0.0.1:PORT
    token: str
    ca_pem: str  # the CA that signed the server's certificate (kubeconfig's CA data)
    _runner: web.AppRunner
    _api: _Api

    async def stop(self) -> None:
        self._api.close_streams()
        _CA_BY_URL.pop(self.url, None)
        await self._runner.cleanup()


@dataclass
class _Request:
    """A parsed resource request."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str
    rest: list[str]  # what follows the subresource (the proxied path)


@dataclass
class _Api:
    cluster: Cluster
    token: str
    policy: AccessPolicy
    address: str = ""
    closing: bool = False
    watchers: set[Watcher] = field(default_factory=set)
    faults: FaultPlan = field(default_factory=FaultPlan)

    def close_streams(self) -> None:
        self.closing = True
        for watcher in list(self.watchers):
            watcher.close()
        self.cluster.logs_changed.fire()

    # -- plumbing

    def _record(self, request: web.Request, status: int) -> None:
        if request.get(_LOGGED):
            return
        request[_LOGGED] = True
        self.cluster.log_request(
            RequestRecord(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                watch=request.query.get("watch") in ("true", "1"),
                status=status,
            )
        )

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        try:
            if not self._authorized(request):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            await self._injected_fault(request)
            response: web.StreamResponse = await handler(request)
        except ApiError as err:
            response = _json(err.status(), err.code)
        except (ConnectionError, asyncio.CancelledError):
            self._record(request, 499)  # the client went away mid-stream
            raise
        except Exception as err:  # a bug here must answer like a server, not drop the line
            log.exception("sandbox API error on %s %s", request.method, request.path)
            response = _json(ApiError(500, "InternalError", f"internal error: {err}").status(), 500)
        self._record(request, response.status)
        return response

    async def _injected_fault(self, request: web.Request) -> None:
        """What the fault plan says for this request: wait, hold, or fail (sandbox.faults)."""
        watch = request.query.get("watch") in ("true", "1")
        fault = self.faults.take(request.path, watch, ("delay", "hang", "error"))
        if fault is None:
            return
        if fault.kind in ("delay", "hang"):
            # In slices, so clearing the fault (or the client hanging up) ends the hold.
            deadline = time.monotonic() + fault.seconds
            while time.monotonic() < deadline and self.faults.active(fault):
                if request.transport is None or request.transport.is_closing():
                    break  # the client gave up (what a hold is for)
                await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            if fault.kind == "delay":
                return
        reason = {403: "Forbidden", 404: "NotFound", 429: "TooManyRequests", 504: "Timeout"}
        raise ApiError(
            fault.status,
            reason.get(fault.status, "InternalError"),
            f"injected fault: {fault.status} for {request.path}",
        )

    def _stream_cut(self, request: web.Request) -> Callable[[], None]:
        def cut() -> None:
            if request.transport is not None:
                request.transport.abort()

        return cut

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), self.token.encode()
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        parts = [p for p in path.split("/") if p]
        if parts == ["version"]:
            return _json(KUBE_VERSION)
        if parts == ["api"]:
            return _json(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": self.address}
                    ],
                }
            )
        if parts == ["apis"]:
            return _json(
                {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [_group_doc(g, v) for g, v in _groups().items()],
                }
            )
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
            if version != "v1":
                raise _no_such_path()
        elif len(parts) >= 2 and parts[0] == "apis":
            group = parts[1]
            if group not in _groups():
                raise _no_such_path()
            if len(parts) == 2:
                return _json(
                    {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, _groups()[group])}
                )
            version, rest = parts[2], parts[3:]
            if version != _groups()[group]:
                raise _no_such_path()
        else:
            raise _no_such_path()  # /openapi/v2, /openapi/v3, /healthz …: not served
        if not rest:
            return _json(_resource_list(group, version))
        parsed = self._parse(group, rest)
        return await self._dispatch(request, parsed)

    def _parse(self, group: str, rest: list[str]) -> _Request:
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        rt = resource_type(group, rest[0])
        if rt is None or (namespace is not None and not rt.namespaced):
            raise _no_such_path()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        if sub and sub not in rt.subresources:
            raise _no_such_path()
        if len(rest) > 3 and sub != "proxy":
            raise _no_such_path()
        return _Request(rt, namespace, name, sub, rest[3:])

    def _verb(self, request: web.Request, parsed: _Request) -> str:
        method = request.method
        if method in ("GET", "HEAD"):
            if parsed.name:
                return "get"
            return "watch" if request.query.get("watch") in ("true", "1") else "list"
        if method == "DELETE":
            return "delete" if parsed.name else "deletecollection"
        return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())

    def _check_policy(self, verb: str, parsed: _Request) -> None:
        rt = parsed.rt
        if rt.name == "selfsubjectaccessreviews":
            return  # everyone may ask what they may do
        allowed, reason = self.policy.allows(verb, rt.name, parsed.namespace, parsed.subresource)
        if allowed:
            return
        resource = f"{rt.name}/{parsed.subresource}" if parsed.subresource else rt.name
        what = f'{rt.qualified} "{parsed.name}"' if parsed.name else rt.qualified
        where = f' in the namespace "{parsed.namespace}"' if parsed.namespace else ""
        raise ApiError(
            403,
            "Forbidden",
            f'{what} is forbidden: User "{USER}" cannot {verb} resource "{resource}" in API '
            f'group "{rt.group}"{where}: {reason}',
            {"name": parsed.name or "", "group": rt.group, "kind": rt.name},
        )

    async def _dispatch(self, request: web.Request, parsed: _Request) -> web.StreamResponse:
        verb = self._verb(request, parsed)
        rt, ns, name, sub = parsed.rt, parsed.namespace, parsed.name, parsed.subresource
        if verb not in rt.verbs and not sub and rt.name != "selfsubjectaccessreviews":
            raise ApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        self._check_policy(verb, parsed)
        if rt.namespaced and ns is None and name is not None:
            raise _no_such_path()
        cluster = self.cluster
        dry_run = _dry_run(request)
        if sub == "proxy":
            if not name or ns is None:
                raise _no_such_path()
            suffix = "/".join(parsed.rest)
            if request.path.endswith("/") and suffix:
                suffix += "/"
            answer = cluster.proxy(ns, name, "/" + suffix)
            return web.Response(
                body=answer.body.encode(),
                status=answer.status,
                headers={"Content-Type": answer.content_type},
            )
        if sub == "log":
            return await self._logs(request, ns or "", name or "")
        if rt.name == "selfsubjectaccessreviews":
            if request.method != "POST" or name:
                raise ApiError(405, "MethodNotAllowed", "only create is allowed")
            if _is_protobuf(request):  # kubectl auth can-i sends its review as protobuf
                review = _review_from_protobuf(await request.read())
            else:
                review = await _body(request)
            return _json(self._access_review(review), 201)
        store = "events" if rt.name == "events" else rt.name
        if verb in ("list", "watch"):
            labels = parse_label_selector(request.query.get("labelSelector"))
            fields = parse_field_selector(request.query.get("fieldSelector"))
            view = _view(rt)

            def predicate(obj: Obj) -> bool:
                return labels(labels_of(obj)) and fields(view(obj))

            if verb == "watch":
                return await self._watch(request, rt, store, ns, predicate)
            items, rv = cluster.list(store, ns, predicate)
            if _wants_table(request):
                return _json(to_table(rt.kind, items, rv, cluster.clock.now(), _include(request)))
            return _json(
                {
                    "kind": f"{rt.kind}List",
                    "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": rv},
                    "items": [view(o) for o in items],
                }
            )
        if verb == "create":
            body = await _body(request)
            if not isinstance(body, dict):
                raise bad_request("the body must be a JSON object")
            body.setdefault("kind", rt.kind)
            if body.get("kind") != rt.kind:
                raise bad_request(f"the body is a {body.get('kind')}, not a {rt.kind}")
            return _json(cluster.create(body, namespace=ns, dry_run=dry_run), 201)
        assert name is not None
        if verb == "get":
            obj = cluster.get(rt, ns or "", name)
            if sub == "scale":
                return _json(cluster.scale_of(obj))
            if _wants_table(request) and not sub:
                return _json(
                    to_table(
                        rt.kind,
                        [obj],
                        obj["metadata"]["resourceVersion"],
                        cluster.clock.now(),
                        _include(request),
                    )
                )
            return _json(_view(rt)(obj))
        if sub not in ("", "scale"):
            raise ApiError(405, "MethodNotAllowed", f"{sub} is read-only here")
        if verb == "patch":
            content_type = request.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip() not in PATCH_TYPES:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media "
                    f"types include: {', '.join(PATCH_TYPES)}",
                )
            body = await _body(request)
            return _json(
                cluster.patch(
                    rt, ns or "", name, body, content_type, dry_run=dry_run, subresource=sub
                )
            )
        if verb == "update":
            body = await _body(request)
            return _json(
                cluster.replace(rt, ns or "", name, body, dry_run=dry_run, subresource=sub)
            )
        if verb == "delete":
            # kubectl may send DeleteOptions as protobuf; the defaults are what it asks for.
            options = {} if _is_protobuf(request) else await _body(request, default={})
            if not isinstance(options, dict):
                raise bad_request("DeleteOptions must be a JSON object")
            grace = options.get("gracePeriodSeconds", request.query.get("gracePeriodSeconds"))
            try:
                grace_seconds = None if grace is None else int(grace)
            except ValueError:
                raise bad_request(f"invalid gracePeriodSeconds {grace!r}") from None
            dry_run = dry_run or options.get("dryRun") == ["All"]
            result = cluster.delete(
                rt,
                ns or "",
                name,
                grace_seconds=grace_seconds,
                preconditions=options.get("preconditions"),
                dry_run=dry_run,
            )
            return _json(result)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method")

    def _access_review(self, body: Any) -> Obj:
        spec = body.get("spec") if isinstance(body, dict) else None
        if not isinstance(spec, dict):
            raise ApiError(
                422, "Invalid", "spec.resourceAttributes or spec.nonResourceAttributes is required"
            )
        attrs = spec.get("resourceAttributes")
        if isinstance(attrs, dict):
            allowed, reason = self.policy.allows(
                str(attrs.get("verb", "")),
                str(attrs.get("resource", "")),
                attrs.get("namespace") or None,
                str(attrs.get("subresource", "")),
            )
        elif isinstance(spec.get("nonResourceAttributes"), dict):
            verb = str(spec["nonResourceAttributes"].get("verb", ""))
            allowed = verb in ("get", "head")
            reason = "allowed by sandbox policy" if allowed else "non-resource URLs are read-only"
        else:
            raise ApiError(
                422, "Invalid", "spec.resourceAttributes or spec.nonResourceAttributes is required"
            )
        status: Obj = {"allowed": allowed, "reason": reason}
        if not allowed:
            status["denied"] = True
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }

    # -- streams

    async def _start_stream(self, request: web.Request, content_type: str) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": content_type, "Cache-Control": "no-cache"}
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        self._record(request, 200)
        return response

    async def _watch(
        self,
        request: web.Request,
        rt: ResourceType,
        store: str,
        namespace: str | None,
        predicate: Callable[[Obj], bool],
    ) -> web.StreamResponse:
        query = request.query
        try:
            timeout = float(query.get("timeoutSeconds", DEFAULT_WATCH_SECONDS))
        except ValueError:
            raise bad_request("invalid timeoutSeconds") from None
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        initial = query.get("sendInitialEvents") in ("true", "1")
        view, table = _view(rt), _wants_table(request)
        cluster = self.cluster
        try:
            if self.faults.take(request.path, True, ("expire",)) is not None:
                raise ApiError(410, "Expired", "too old resource version (injected fault)", {})
            watcher = cluster.watch(
                store, namespace, query.get("resourceVersion"), predicate, initial_events=initial
            )
        except ApiError as err:
            if err.code != 410:
                raise
            # Like kube-apiserver: the watch opens, then says "Expired" as an ERROR event.
            response = await self._start_stream(request, "application/json")
            await response.write(_line({"type": "ERROR", "object": err.status()}))
            await response.write_eof()
            return response
        self.watchers.add(watcher)
        stream = self.faults.stream_opened(
            request.path,
            self._stream_cut(request),
            lambda: watcher.queue.put_nowait(("EXPIRE", {})),  # sandbox.faults
        )
        response = await self._start_stream(request, "application/json")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        next_bookmark = loop.time() + cluster.bookmark_seconds

        def render(obj: Obj) -> Obj:
            if table:
                return to_table(
                    rt.kind,
                    [obj],
                    obj["metadata"]["resourceVersion"],
                    cluster.clock.now(),
                    _include(request),
                )
            return view(obj)

        # With sendInitialEvents the current objects come first, then a bookmark saying so;
        # they are queued already, so each of the first turns of the loop sends one.
        initial_left = watcher.queue.qsize() if initial else -1
        try:
            while not self.closing:
                if initial_left == 0:
                    await response.write(_bookmark(rt, cluster.resource_version, initial_end=True))
                initial_left -= 1
                now = loop.time()
                if now >= deadline or request.transport is None or request.transport.is_closing():
                    break
                if not watcher.queue.empty():
                    # Take what is queued first: a wait_for() with no time left would cancel
                    # the get() before it ran, and the stream would never drain.
                    item = watcher.queue.get_nowait()
                elif bookmarks and now >= next_bookmark:
                    # The queue is empty: every event up to the current version was sent.
                    await response.write(_bookmark(rt, cluster.resource_version))
                    next_bookmark = now + cluster.bookmark_seconds
                    continue
                else:
                    wait = min(deadline - now, 1.0)
                    if bookmarks:
                        wait = min(wait, next_bookmark - now)
                    try:
                        item = await asyncio.wait_for(watcher.queue.get(), max(wait, 0.001))
                    except TimeoutError:
                        continue
                if item is None:
                    break
                kind, obj = item
                if kind == "EXPIRE":
                    expired = ApiError(410, "Expired", "too old resource version (injected)", {})
                    await response.write(_line({"type": "ERROR", "object": expired.status()}))
                    break
                await response.write(_line({"type": kind, "object": render(obj)}))
        except ConnectionError:
            pass  # the client hung up
        finally:
            self.faults.stream_closed(stream)
            cluster.unwatch(watcher)
            self.watchers.discard(watcher)
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response

    async def _logs(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        query = request.query
        flag = lambda key: query.get(key) in ("true", "1")  # noqa: E731
        cluster = self.cluster
        source = cluster.log_source(namespace, name, query.get("container"), flag("previous"))
        if "sinceSeconds" in query and "sinceTime" in query:
            raise ApiError(
                422, "Invalid", "at most one of `sinceTime` or `sinceSeconds` may be specified"
            )
        since: float | None = None
        try:
            if "sinceSeconds" in query:
                seconds = int(query["sinceSeconds"])
                if seconds < 1:
                    raise ApiError(
                        422, "Invalid", "sinceSeconds: Invalid value: must be greater than 0"
                    )
                since = cluster.clock.now() - seconds
            elif "sinceTime" in query:
                since = parse_time(query["sinceTime"])
            tail = int(query["tailLines"]) if "tailLines" in query else None
            limit = int(query["limitBytes"]) if "limitBytes" in query else None
        except ValueError as err:
            raise bad_request(f"invalid log options: {err}") from None
        timestamps = flag("timestamps")
        lines = [entry for entry in source.log.lines if since is None or entry[1] >= since]
        if tail is not None and tail >= 0:
            lines = lines[-tail:] if tail else []
        last_seq = source.log.seq

        def render(entries: list[tuple[int, float, str]]) -> bytes:
            if timestamps:
                return "".join(f"{fmt_nano(ts)} {text}\n" for _, ts, text in entries).encode()
            return "".join(f"{text}\n" for _, _, text in entries).encode()

        body = render(lines)
        if limit is not None:
            body = body[:limit]
        if not (flag("follow") and source.follow_possible):
            return web.Response(body=body, content_type="text/plain", charset="utf-8")
        response = await self._start_stream(request, "text/plain; charset=utf-8")
        sent = len(body)
        stream = self.faults.stream_opened(request.path, self._stream_cut(request))
        try:
            if body:
                await response.write(body)
            while not self.closing and cluster.log_is_live(source):
                if limit is not None and sent >= limit:
                    break
                if request.transport is None or request.transport.is_closing():
                    break
                await cluster.logs_changed.wait(1.0)
                fresh = source.log.after(last_seq)
                if fresh:
                    last_seq = fresh[-1][0]
                    chunk = render(fresh)
                    if limit is not None:
                        chunk = chunk[: max(0, limit - sent)]
                    sent += len(chunk)
                    await response.write(chunk)
            await response.write_eof()
        except ConnectionError:
            pass
        finally:
            self.faults.stream_closed(stream)
        return response


def _no_such_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def _line(obj: Obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def _bookmark(rt: ResourceType, rv: str, *, initial_end: bool = False) -> bytes:
    meta: Obj = {"resourceVersion": rv}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return _line(
        {
            "type": "BOOKMARK",
            "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta},
        }
    )


def _view(rt: ResourceType) -> Callable[[Obj], Obj]:
    return event_v1 if rt.group == "events.k8s.io" else (lambda obj: obj)


def _wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _include(request: web.Request) -> str:
    return request.query.get("includeObject", "Metadata")


def _dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise bad_request(f"Invalid dry run value: {value!r}")
    return bool(values)


def _is_protobuf(request: web.Request) -> bool:
    return "protobuf" in request.headers.get("Content-Type", "")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _protobuf_fields(data: bytes) -> dict[int, bytes]:
    """The length-delimited fields of a protobuf message (enough for the review)."""
    fields: dict[int, bytes] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        wire = key & 7
        if wire == 0:
            _, at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            fields.setdefault(key >> 3, data[at : at + size])
            at += size
        elif wire in (1, 5):
            at += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return fields


def _review_from_protobuf(raw: bytes) -> Obj:
    """A SelfSubjectAccessReview in Kubernetes' protobuf envelope ("k8s\\0" + Unknown)."""
    try:
        if not raw.startswith(b"k8s\x00"):
            raise ValueError("no k8s protobuf envelope")
        review = _protobuf_fields(_protobuf_fields(raw[4:]).get(2, b""))
        spec = _protobuf_fields(review.get(2, b""))

        def strings(message: bytes, names: dict[int, str]) -> Obj:
            found = _protobuf_fields(message)
            return {name: found[n].decode() for n, name in names.items() if n in found}

        if 1 in spec:
            names = {
                1: "namespace",
                2: "verb",
                3: "group",
                4: "version",
                5: "resource",
                6: "subresource",
                7: "name",
            }
            return {"spec": {"resourceAttributes": strings(spec[1], names)}}
        if 2 in spec:
            return {"spec": {"nonResourceAttributes": strings(spec[2], {1: "path", 2: "verb"})}}
    except (IndexError, ValueError, UnicodeDecodeError) as err:
        raise bad_request(f"cannot decode the protobuf body: {err}") from None
    return {"spec": {}}


async def _body(request: web.Request, default: Any = None) -> Any:
    raw = await request.read()
    if not raw.strip():
        if default is not None:
            return default
        raise bad_request("the request has no body")
    try:
        return json.loads(raw)
    except ValueError as err:
        raise bad_request(f"the body is not valid JSON: {err}") from None


async def serve_kube_api(
    cluster: Cluster,
    *,
    token: str,
    policy: AccessPolicy = AccessPolicy(),  # noqa: B008 - frozen, so a shared default is safe
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultPlan | None = None,
) -> KubeServer:
    """Serve the Kubernetes API for `cluster` on host:port (0 picks a free port).

    It is served over TLS because kubectl (client-go) sends credentials only over TLS: over
    plain HTTP every kubectl request would be anonymous and answered 401."""
    ssl_context, ca_pem = await asyncio.to_thread(make_tls, host)
    api = _Api(cluster, token, policy, faults=faults or FaultPlan())
    api.faults.loop = asyncio.get_running_loop()
    app = web.Application(middlewares=[api.middleware], client_max_size=8 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", api.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    bound = runner.addresses[0]
    api.address = f"{bound[0]}:{bound[1]}"
    url = f"https://{bound[0]}:{bound[1]}"
    _CA_BY_URL[url] = ca_pem
    return KubeServer(url=url, token=token, ca_pem=ca_pem, _runner=runner, _api=api)


# CAs of the servers running in this process, so `kubeconfig_yaml(url, token)` can pin them.
_CA_BY_URL: dict[str, str] = {}


def make_tls(host: str) -> tuple[ssl.SSLContext, str]:
    """A throw-away CA and a server certificate for `host` (and localhost), valid 30 days;
    the keys never touch the disk longer than loading them takes. Uses `cryptography`
    when installed, else the `openssl` command."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return _make_tls_openssl(host)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sre-tui sandbox CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for address in {host, "127.0.0.1", "::1"}:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            names.append(x509.DNSName(address))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sre-tui-sandbox")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem).decode()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory(prefix="sre-tui-tls-") as tmp:
        cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert_file.write_bytes(cert.public_bytes(pem) + ca_pem.encode())
        key_file.touch(mode=0o600)
        key_file.write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        context.load_cert_chain(cert_file, key_file)
    return context, ca_pem


def _make_tls_openssl(host: str) -> tuple[ssl.SSLContext, str]:
    """One self-signed certificate, its own CA, made by the openssl command."""
    try:
        ipaddress.ip_address(host)
        names = f"IP:{host},IP:127.0.0.1,DNS:localhost"
    except ValueError:
        names = f"DNS:{host},IP:127.0.0.1,DNS:localhost"
    with tempfile.TemporaryDirectory(prefix="sre-tui-tls-") as tmp:
        cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key_file), "-out", str(cert_file), "-days", "30",
             "-subj", "/CN=sre-tui-sandbox", "-addext", f"subjectAltName={names}",
             "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
             "-addext", "keyUsage=critical,digitalSignature,keyCertSign"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        return context, cert_file.read_text()


def kubeconfig_yaml(
    server_url: str,
    token: str,
    context: str = "demo",
    namespace: str = "production",
    *,
    ca_pem: str | None = None,
) -> str:
    """A kubeconfig that kubectl and the `kubernetes` client accept for the sandbox. The
    server's CA is pinned: `ca_pem`, or that of the server started here at `server_url`."""
    ca = ca_pem or _CA_BY_URL.get(server_url)
    cluster: Obj = {"server": server_url}
    if ca:
        cluster["certificate-authority-data"] = base64.b64encode(ca.encode()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": f"{context}-user", "namespace": namespace},
            }
        ],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)
