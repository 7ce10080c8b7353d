"""Probe a runbook's HTTP health endpoints: directly, or through the API server's proxy."""

from __future__ import annotations

import time
from typing import Any

import httpx

from sre_tui.backends.kube import KubeError, ProbeResult
from sre_tui.core.runbook import Check


def probe(check: Check, kube: Any | None, timeout: float = 5.0) -> ProbeResult:
    """GET the check's endpoint; a connection failure is a result (status 0), not an error."""
    if check.url:
        started = time.monotonic()
        try:
            response = httpx.get(check.url, timeout=timeout, follow_redirects=False)
            return ProbeResult(
                response.status_code, time.monotonic() - started, response.text[:2000]
            )
        except httpx.HTTPError as exc:
            return ProbeResult(0, time.monotonic() - started, f"{exc.__class__.__name__}: {exc}")
    if kube is None:
        return ProbeResult(0, 0.0, "no Kubernetes connection for the service proxy")
    try:
        return kube.proxy_get(check.service, check.port, check.path)
    except KubeError as exc:
        return ProbeResult(0, 0.0, str(exc))
