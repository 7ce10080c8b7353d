"""The Kubernetes API through the official client: pods (list + watch), events, logs,
and the service proxy for health checks. Blocking: call from worker threads.

Objects come back as plain dicts in the API's own JSON shape (camelCase), parsed straight
from the response bytes: building the client's model classes for thousands of pods is the
slow part of other tools.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


class KubeError(Exception):
    """An API call failed; `status` is the HTTP status (0 for connection problems)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class WatchExpired(KubeError):
    """410 Gone: the resourceVersion is too old; re-list and watch again."""


@dataclass(frozen=True)
class ProbeResult:
    status: int
    seconds: float
    body: str


def _api_message(exc: Exception) -> KubeError:
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        message = exc.reason or "error"
        try:
            body = json.loads(exc.body or "{}")
            message = body.get("message") or message
        except (TypeError, ValueError):
            pass
        cls = WatchExpired if exc.status == 410 else KubeError
        return cls(f"{exc.status} {message}", status=int(exc.status or 0))
    return KubeError(f"Kubernetes API unreachable ({exc.__class__.__name__})")


PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}


def _items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A list answer's objects; anything else in `items` is not an object we can show."""
    items = data.get("items")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


class KubeBackend:
    def __init__(
        self, kubeconfig: str, context: str, namespace: str, *, request_timeout: float = 10.0
    ) -> None:
        from kubernetes import client, config

        self.namespace = namespace
        self.context = context
        self.timeout = request_timeout
        self.api_client = config.new_client_from_config(
            config_file=os.path.expanduser(kubeconfig), context=context
        )
        self.core = client.CoreV1Api(self.api_client)
        self.apps = client.AppsV1Api(self.api_client)
        self.authz = client.AuthorizationV1Api(self.api_client)

    def _raw(self, fn, *args: Any, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
        """Call without building model objects; return the parsed JSON."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        try:
            response = fn(*args, _preload_content=False, _request_timeout=self.timeout, **kwargs)
            data = json.loads(response.data)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _api_message(exc) from None
        except (ValueError, RecursionError):
            raise KubeError("unexpected answer from the Kubernetes API (not JSON)") from None
        if not isinstance(data, dict):
            raise KubeError("unexpected answer from the Kubernetes API (not an object)")
        return data

    def list_pods(
        self, selector: str | None = None, *, namespace: str | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        data = self._raw(
            self.core.list_namespaced_pod,
            namespace or self.namespace,
            label_selector=selector or "",
        )
        meta = data.get("metadata")
        version = meta.get("resourceVersion", "") if isinstance(meta, dict) else ""
        return _items(data), str(version)

    def watch_pods(
        self, selector: str | None, resource_version: str, timeout_seconds: int = 30
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(type, object) events until the server ends the watch; raises WatchExpired on 410."""
        import urllib3
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        stream = watch.Watch()
        try:
            for event in stream.stream(
                self.core.list_namespaced_pod,
                self.namespace,
                label_selector=selector or "",
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=timeout_seconds,
                deserialize=False,
                _request_timeout=timeout_seconds + self.timeout,
            ):
                kind = event.get("type", "")
                raw = event.get("raw_object") or event.get("object") or {}
                if kind == "ERROR":
                    code = int(raw.get("code", 0)) if isinstance(raw, dict) else 0
                    message = raw.get("message", "watch error") if isinstance(raw, dict) else ""
                    cls = WatchExpired if code == 410 else KubeError
                    raise cls(f"{code} {message}", status=code)
                yield kind, raw if isinstance(raw, dict) else {}
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _api_message(exc) from None
        except KeyError:
            # The client, undeserialized, reads an ERROR event's `raw_object`, which the
            # API sends as `object`: it raises here. A watch error means list again.
            raise WatchExpired("the watch ended with an error event; listing again") from None
        finally:
            stream.stop()

    def pod_events(self, pod: str, limit: int = 20) -> list[dict[str, Any]]:
        data = self._raw(
            self.core.list_namespaced_event,
            self.namespace,
            field_selector=f"involvedObject.name={pod}",
        )
        items = _items(data)
        items.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
        return items[-limit:]

    def stream_log(
        self,
        pod: str,
        *,
        container: str | None = None,
        follow: bool = True,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        previous: bool = False,
        idle_timeout: float = 60.0,
        opened: Callable[[Any], None] | None = None,
    ) -> Iterator[str]:
        """Raw log lines with the API's timestamp prefix, as they arrive.

        The client has no sinceTime; a resumed stream asks for `since_seconds` back to the
        last line it showed and drops the repeats (core.logbuffer.ResumePoint).
        """
        import urllib3
        from kubernetes.client.exceptions import ApiException

        kwargs: dict[str, Any] = {"follow": follow, "timestamps": True, "previous": previous}
        if container:
            kwargs["container"] = container
        if tail_lines is not None:
            kwargs["tail_lines"] = tail_lines
        if since_seconds is not None:
            kwargs["since_seconds"] = max(1, int(since_seconds))
        try:
            response = self.core.read_namespaced_pod_log(
                pod,
                self.namespace,
                _preload_content=False,
                _request_timeout=idle_timeout,
                **kwargs,
            )
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _api_message(exc) from None
        if opened is not None:
            opened(response)  # lets the caller interrupt a read blocked on a quiet pod
        pending = b""
        try:
            for chunk in response.stream(4096, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", "replace")
            if pending:
                yield pending.decode("utf-8", "replace")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _api_message(exc) from None
        finally:
            response.release_conn()

    def proxy_get(self, service: str, port: str | int | None, path: str) -> ProbeResult:
        """GET through the API server's service proxy (cluster-internal endpoints)."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        name = f"{service}:{port}" if port else service
        started = time.monotonic()
        try:
            response = self.core.connect_get_namespaced_service_proxy_with_path(
                name,
                self.namespace,
                path.lstrip("/"),
                _preload_content=False,
                _request_timeout=self.timeout,
            )
            body = response.data.decode("utf-8", "replace")
            return ProbeResult(response.status, time.monotonic() - started, body[:2000])
        except ApiException as exc:
            raw = exc.body
            body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
            return ProbeResult(int(exc.status or 0), time.monotonic() - started, body[:2000])
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _api_message(exc) from None

    # --- objects that gated actions change (plain JSON dicts) ---------------------------

    def get_deployment(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self._raw(self.apps.read_namespaced_deployment, name, namespace or self.namespace)

    def get_configmap(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self._raw(self.core.read_namespaced_config_map, name, namespace or self.namespace)

    def list_replicasets(
        self, selector: str | None = None, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        data = self._raw(
            self.apps.list_namespaced_replica_set,
            namespace or self.namespace,
            label_selector=selector or "",
        )
        return _items(data)

    def patch(
        self,
        resource: str,
        name: str,
        body: Any,
        *,
        patch_type: str = "strategic",
        namespace: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """PATCH `deployments`, `deployments/scale` or `configmaps`; `patch_type` is
        strategic, merge or json. With `dry_run` the server checks it and stores nothing."""
        calls = {
            "deployments": self.apps.patch_namespaced_deployment,
            "deployments/scale": self.apps.patch_namespaced_deployment_scale,
            "configmaps": self.core.patch_namespaced_config_map,
        }
        if resource not in calls or patch_type not in PATCH_TYPES:
            raise ValueError(f"cannot patch {resource} with a {patch_type} patch")
        extra: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        return self._raw(
            calls[resource],
            name,
            namespace or self.namespace,
            body,
            _content_type=PATCH_TYPES[patch_type],
            **extra,
        )

    def review_access(
        self,
        verb: str,
        resource: str,
        *,
        group: str = "",
        subresource: str = "",
        name: str = "",
        namespace: str | None = None,
    ) -> tuple[bool, str]:
        """Ask the server (SelfSubjectAccessReview) whether we may `verb` the resource:
        (allowed, reason)."""
        from kubernetes import client

        attributes = client.V1ResourceAttributes(
            verb=verb,
            group=group,
            resource=resource,
            subresource=subresource or None,
            name=name or None,
            namespace=namespace or self.namespace,
        )
        review = client.V1SelfSubjectAccessReview(
            api_version="authorization.k8s.io/v1",
            kind="SelfSubjectAccessReview",
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes),
        )
        answer = self._raw(self.authz.create_self_subject_access_review, review)
        status = answer.get("status") or {}
        reason = str(status.get("reason") or status.get("evaluationError") or "")
        return bool(status.get("allowed")), reason
