"""Alertmanager API v2: firing alerts and silences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from sre_tui.backends.prometheus import parse_time
from sre_tui.backends.tls import certificate_problem
from sre_tui.core.alerts import Alert
from sre_tui.core.sanitize import inert


class AlertmanagerError(Exception):
    pass


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def matches(self, labels: dict[str, str]) -> bool:
        """As Alertmanager matches: an absent label is the empty string."""
        given = labels.get(self.name, "")
        if self.is_regex:
            try:
                hit = re.fullmatch(self.value, given) is not None
            except re.error:
                return False
        else:
            hit = given == self.value
        return hit if self.is_equal else not hit

    def __str__(self) -> str:
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}[
            (self.is_regex, self.is_equal)
        ]
        return f'{self.name}{op}"{self.value}"'


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime | None
    ends_at: datetime | None
    created_by: str
    comment: str
    state: str  # active | pending | expired

    def matches(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)


def api_time(ts: datetime) -> str:
    """RFC 3339 in UTC, as the API expects."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AlertmanagerBackend:
    def __init__(self, url: str, *, timeout: float = 5.0, verify: bool = True) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.verify = verify  # the environment's tls_verify; off only when it says so
        # One client for every poll (it is thread-safe): a client per call built a TLS
        # context each time (~60 ms) and a fresh connection.
        self._client = httpx.Client(timeout=timeout, verify=verify)

    def _request(self, method: str, path: str, *, json: Any = None) -> Any:
        """The decoded JSON answer (None for an empty body); AlertmanagerError otherwise."""
        try:
            response = self._client.request(method, f"{self.url}{path}", json=json)
            response.raise_for_status()
            return response.json() if response.content.strip() else None
        except httpx.HTTPStatusError as exc:
            detail = inert(exc.response.text.strip())[:300]
            raise AlertmanagerError(
                f"Alertmanager at {self.url} answered {exc.response.status_code}"
                + (f": {detail}" if detail else "")
            ) from None
        except httpx.HTTPError as exc:
            if problem := certificate_problem(exc):
                raise AlertmanagerError(
                    f"Alertmanager at {self.url}: TLS certificate not trusted ({problem}); "
                    "tls_verify: false on the environment turns verification off"
                ) from None
            raise AlertmanagerError(
                f"Alertmanager at {self.url} unreachable ({exc.__class__.__name__})"
            ) from None
        except (ValueError, RecursionError):
            raise AlertmanagerError(f"Alertmanager at {self.url}: answer is not JSON") from None

    def alerts(self) -> list[Alert]:
        """Active alerts, silenced and inhibited ones included (marked by state)."""
        raw = self._request("GET", "/api/v2/alerts")
        alerts = []
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, dict):
                continue
            labels = {str(k): str(v) for k, v in _obj(item.get("labels")).items()}
            notes = {str(k): str(v) for k, v in _obj(item.get("annotations")).items()}
            status = _obj(item.get("status"))
            alerts.append(
                Alert(
                    name=labels.get("alertname", "?"),
                    labels=labels,
                    annotations=notes,
                    starts_at=_time(item.get("startsAt")),
                    state="suppressed" if status.get("state") == "suppressed" else "firing",
                    fingerprint=str(item.get("fingerprint", "")),
                )
            )
        return alerts

    def silences(self) -> list[Silence]:
        """Every silence Alertmanager knows, expired ones included (see `state`)."""
        raw = self._request("GET", "/api/v2/silences")
        items = raw if isinstance(raw, list) else []
        return [_silence(item) for item in items if isinstance(item, dict)]

    def silence(self, silence_id: str) -> Silence:
        raw = self._request("GET", f"/api/v2/silence/{_safe_id(silence_id)}")
        if not isinstance(raw, dict):
            raise AlertmanagerError(f"Alertmanager at {self.url}: no silence {silence_id}")
        return _silence(raw)

    def create_silence(
        self,
        matchers: dict[str, str],
        starts: datetime,
        ends: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        """Create a silence on equality matchers; returns its id."""
        if not matchers:
            raise AlertmanagerError("a silence needs at least one matcher")
        body = {
            "matchers": [
                {"name": k, "value": v, "isRegex": False, "isEqual": True}
                for k, v in matchers.items()
            ],
            "startsAt": api_time(starts),
            "endsAt": api_time(ends),
            "createdBy": created_by,
            "comment": comment,
        }
        raw = self._request("POST", "/api/v2/silences", json=body)
        silence_id = raw.get("silenceID") if isinstance(raw, dict) else None
        if not silence_id:
            raise AlertmanagerError(f"Alertmanager at {self.url} returned no silence id")
        return str(silence_id)

    def expire_silence(self, silence_id: str) -> None:
        self._request("DELETE", f"/api/v2/silence/{_safe_id(silence_id)}")


def _safe_id(silence_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9-]+", silence_id):
        raise AlertmanagerError(f"{silence_id!r} is not a silence id")
    return silence_id


def _obj(value: Any) -> dict[str, Any]:
    """`value` when the answer has an object there, else an empty one."""
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> datetime | None:
    return parse_time(value) if isinstance(value, str) else None


def _silence(item: dict[str, Any]) -> Silence:
    raw_matchers = item.get("matchers")
    matchers = tuple(
        Matcher(
            name=str(m.get("name", "")),
            value=str(m.get("value", "")),
            is_regex=bool(m.get("isRegex", False)),
            is_equal=bool(m.get("isEqual", True)),
        )
        for m in (raw_matchers if isinstance(raw_matchers, list) else [])
        if isinstance(m, dict)
    )
    return Silence(
        id=str(item.get("id", "")),
        matchers=matchers,
        starts_at=_time(item.get("startsAt")),
        ends_at=_time(item.get("endsAt")),
        created_by=str(item.get("createdBy", "")),
        comment=str(item.get("comment", "")),
        state=str(_obj(item.get("status")).get("state", "")),
    )
