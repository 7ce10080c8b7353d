"""Prometheus HTTP API (any compatible store: Thanos, Mimir, VictoriaMetrics).

Blocking (prometheus-api-client on requests): call from worker threads. Errors become
`PrometheusError` with the server's own message, never raw bytes or a traceback.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sre_tui.core.alerts import Alert

DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_POINTS = 11_000  # Prometheus answers 400 above this many points per series


class PrometheusError(Exception):
    """A query failed; the message is the server's (or the connection's) own words."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix seconds, value)


def parse_duration(text: str) -> float:
    total = sum(int(n) * UNIT_SECONDS[u] for n, u in DURATION.findall(text))
    if total <= 0:
        raise ValueError(f"not a duration: {text!r}")
    return total


def step_for(range_seconds: float, points: int = 120) -> float:
    """A step that gives about `points` points over the range, never too many."""
    return max(1.0, range_seconds / points, range_seconds / MAX_POINTS)


def _explain(exc: Exception) -> str:
    text = str(exc)
    match = re.search(r"\((b'.*'|b\".*\")\)$", text, re.DOTALL)
    if match:
        try:
            body = json.loads(ast.literal_eval(match.group(1)).decode("utf-8", "replace"))
            return f"{body.get('errorType', 'error')}: {body.get('error', text)}"
        except (ValueError, SyntaxError, AttributeError):
            pass
    return text


class PrometheusBackend:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        auth: tuple[str, str] | None = None,
        verify: bool = True,
    ) -> None:
        from prometheus_api_client import PrometheusConnect  # heavy: requests, urllib3
        from urllib3.util.retry import Retry

        self.url = url.rstrip("/")
        self._timeout = timeout
        self._auth = auth  # basic auth; never logged or shown
        self._verify = verify
        # No retries of our own: the pane re-polls, and a 5xx retried 4× takes ~6 s.
        self._client = PrometheusConnect(
            self.url, retry=Retry(total=0), timeout=timeout, auth=auth, disable_ssl=not verify
        )

    def _call(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        from prometheus_api_client import PrometheusApiClientException
        from requests import RequestException

        try:
            return fn(*args, **kwargs)
        except PrometheusApiClientException as exc:
            raise PrometheusError(_explain(exc)) from None
        except ValueError as exc:  # before RequestException: requests' JSONDecodeError is both
            raise PrometheusError(f"unexpected answer from {self.url} (not JSON: {exc})") from None
        except RequestException as exc:
            from sre_tui.backends.tls import certificate_problem

            if problem := certificate_problem(exc):
                raise PrometheusError(
                    f"Prometheus at {self.url}: TLS certificate not trusted ({problem}); "
                    "tls_verify: false on the environment turns verification off"
                ) from None
            reason = exc.__class__.__name__
            raise PrometheusError(f"Prometheus at {self.url} unreachable ({reason})") from None
        except (KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
            # The client indexes the answer before we see it: a malformed one lands here.
            raise PrometheusError(f"unexpected answer from {self.url}: {exc!r}") from None

    def _parse(self, build):  # type: ignore[no-untyped-def]
        """Turn an answer into our types; a malformed one is the backend's error."""
        try:
            return build()
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise PrometheusError(f"unexpected answer from {self.url}: {exc!r}") from None

    def range_query(
        self, promql: str, range_text: str, end: datetime | None = None
    ) -> list[Series]:
        end = end or datetime.now(UTC)
        seconds = parse_duration(range_text)
        start = datetime.fromtimestamp(end.timestamp() - seconds, UTC)
        raw = self._call(
            self._client.custom_query_range, promql, start, end, f"{step_for(seconds):g}s"
        )
        return self._parse(
            lambda: [
                Series(
                    labels={str(k): str(v) for k, v in dict(item.get("metric", {})).items()},
                    points=[(float(t), float(v)) for t, v in item.get("values", [])],
                )
                for item in raw
            ]
        )

    def instant(self, promql: str) -> list[tuple[dict[str, str], float]]:
        raw = self._call(self._client.custom_query, promql)
        return self._parse(
            lambda: [
                (
                    {str(k): str(v) for k, v in dict(item.get("metric", {})).items()},
                    float(item["value"][1]),
                )
                for item in raw
            ]
        )

    def alerts(self) -> list[Alert]:
        """Firing and pending alerts from Prometheus' own API (when there is no Alertmanager)."""
        import httpx

        try:
            response = httpx.get(
                f"{self.url}/api/v1/alerts",
                timeout=self._timeout,
                auth=self._auth,
                verify=self._verify,
            )
            response.raise_for_status()
            raw = response.json()["data"]["alerts"]
        except httpx.HTTPError as exc:
            raise PrometheusError(f"Prometheus at {self.url}: {exc}") from None
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise PrometheusError(f"unexpected answer from {self.url}: {exc!r}") from None

        def texts(value: object) -> dict[str, str]:
            return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

        def alert(item: dict) -> Alert:
            labels = texts(item.get("labels"))
            active = item.get("activeAt")
            return Alert(
                name=labels.get("alertname", "?"),
                labels=labels,
                annotations=texts(item.get("annotations")),
                starts_at=parse_time(active) if isinstance(active, str) else None,
                state=str(item.get("state", "firing")),
                source="prometheus",
            )

        return self._parse(
            lambda: [
                alert(item)
                for item in (raw if isinstance(raw, list) else [])
                if isinstance(item, dict)
            ]
        )


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
