"""Alertmanager API v2: firing alerts (and, later, silences)."""

from __future__ import annotations

import httpx

from sre_tui.backends.prometheus import parse_time
from sre_tui.core.alerts import Alert


class AlertmanagerError(Exception):
    pass


class AlertmanagerBackend:
    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def alerts(self) -> list[Alert]:
        """Active alerts, silenced and inhibited ones included (marked by state)."""
        try:
            response = httpx.get(f"{self.url}/api/v2/alerts", timeout=self.timeout)
            response.raise_for_status()
            raw = response.json()
        except httpx.HTTPStatusError as exc:
            raise AlertmanagerError(
                f"Alertmanager at {self.url} answered {exc.response.status_code}"
            ) from None
        except httpx.HTTPError as exc:
            raise AlertmanagerError(
                f"Alertmanager at {self.url} unreachable ({exc.__class__.__name__})"
            ) from None
        except ValueError:
            raise AlertmanagerError(f"Alertmanager at {self.url}: answer is not JSON") from None
        alerts = []
        for item in raw if isinstance(raw, list) else []:
            labels = {str(k): str(v) for k, v in (item.get("labels") or {}).items()}
            notes = {str(k): str(v) for k, v in (item.get("annotations") or {}).items()}
            status = item.get("status") or {}
            alerts.append(
                Alert(
                    name=labels.get("alertname", "?"),
                    labels=labels,
                    annotations=notes,
                    starts_at=parse_time(item.get("startsAt")),
                    state="suppressed" if status.get("state") == "suppressed" else "firing",
                    fingerprint=str(item.get("fingerprint", "")),
                )
            )
        return alerts
