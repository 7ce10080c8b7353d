"""What a session works with: config, environment, runbooks, the incident store, the user.

Shared by the CLI and the app (and so by the tests): one way to start or resume an
incident. No Textual here.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sre_tui.backends.config_files import LoadedConfig
from sre_tui.backends.incident_store import IncidentStore, StoredIncident, StoreError
from sre_tui.backends.runbook_files import (
    SUFFIXES,
    Fingerprint,
    RunbookSet,
    fingerprint,
    load_runbooks,
)
from sre_tui.backends.secrets import SecretError
from sre_tui.core.alerts import Alert
from sre_tui.core.config import Environment
from sre_tui.core.escalation import combined_rules
from sre_tui.core.incident import EnvInfo, Incident, utcnow
from sre_tui.core.lint import Loaded, render_model, validate_text
from sre_tui.core.runbook import EscalationRule, Runbook
from sre_tui.core.sanitize import inert
from sre_tui.core.severity import Severity
from sre_tui.core.templating import TemplateError
from sre_tui.core.variables import render, resolve


def alert_record(alert: Alert) -> dict[str, Any]:
    """What the incident keeps of the alert that started it (text made inert)."""
    return {
        "name": inert(alert.name),
        "labels": {inert(k): inert(v) for k, v in alert.labels.items()},
        "starts_at": alert.starts_at.isoformat() if alert.starts_at else None,
        "runbook_url": inert(alert.runbook_url or ""),
    }


class WorkspaceError(Exception):
    """A problem to tell the user before any screen opens."""


def current_user(config_user: str | None) -> str:
    if config_user:
        return config_user
    if env := os.environ.get("SRE_TUI_USER"):
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass
class ActiveIncident:
    incident: Incident
    runbook: Runbook | None  # rendered with the incident's variables
    rules: list[EscalationRule]
    # Global kill switches rendered with the incident's variables; those whose variables
    # the incident lacks (e.g. no deployment) are left out.
    kill_switches: list[Any] = field(default_factory=list)

    def action(self, action_id: str) -> Any | None:
        """A runbook action, else a global kill switch, by id."""
        found = self.runbook.action(action_id) if self.runbook else None
        return found or next((k for k in self.kill_switches if k.id == action_id), None)


@dataclass
class Workspace:
    loaded: LoadedConfig
    env_name: str
    environment: Environment | None
    store: IncidentStore
    runbook_paths: list[Path] = field(default_factory=list)
    user: str = "unknown"
    host: str = ""
    read_only: bool = False  # --read-only: no mutating action in this session, ever
    _runbooks: RunbookSet | None = None

    @classmethod
    def open(
        cls,
        loaded: LoadedConfig,
        env_name: str | None = None,
        store: IncidentStore | None = None,
        runbook_paths: list[Path] | None = None,
        *,
        read_only: bool = False,
    ) -> Workspace:
        config = loaded.config
        name = env_name or config.default_environment
        if name is None and len(config.environments) == 1:
            name = next(iter(config.environments))
        if name is not None and name not in config.environments:
            known = ", ".join(config.environments) or "none"
            raise WorkspaceError(f"unknown environment '{name}' (configured: {known})")
        environment = config.environments.get(name) if name else None
        return cls(
            loaded=loaded,
            env_name=name or "none",
            environment=environment,
            store=store or IncidentStore(),
            runbook_paths=runbook_paths or loaded.runbook_paths(),
            user=current_user(config.user),
            host=socket.gethostname(),
            read_only=read_only,
        )

    @property
    def audit_path(self) -> Path:
        """The append-only audit log, beside the incidents."""
        return self.store.root.parent / "audit.jsonl"

    @property
    def runbooks(self) -> RunbookSet:
        """Every runbook, read and validated on first use (not before the first frame)."""
        if self._runbooks is None:
            self._runbooks = load_runbooks(self.runbook_paths, self.loaded.kill_switch_ids)
        return self._runbooks

    def reload_runbooks(self) -> RunbookSet:
        """Read and validate every runbook again (files added, edited or removed)."""
        self._runbooks = load_runbooks(self.runbook_paths, self.loaded.kill_switch_ids)
        return self._runbooks

    def runbooks_fingerprint(self) -> Fingerprint:
        """Changes when a runbook file is added, removed or edited; costs no file reads."""
        return fingerprint(self.runbook_paths)

    def find_runbook(self, runbook_id: str) -> Loaded | None:
        """One runbook by id; reads only `<id>.yaml` when the file is named after it."""
        if self._runbooks is None:
            for directory in self.runbook_paths:
                for suffix in SUFFIXES:
                    candidate = directory / f"{runbook_id}{suffix}"
                    if not candidate.is_file():
                        continue
                    found = load_runbooks([candidate], self.loaded.kill_switch_ids)
                    if found.runbooks and found.runbooks[0].runbook.id == runbook_id:
                        return found.runbooks[0]
        return self.runbooks.by_id(runbook_id)

    @property
    def env_info(self) -> EnvInfo:
        env = self.environment
        if env is None:
            return EnvInfo(name=self.env_name)
        return EnvInfo(
            name=self.env_name,
            context=env.context,
            namespace=env.namespace,
            production=env.production,
            read_only=env.read_only,
            tls_verify=env.tls_verify,
        )

    def kill_switches_for(self, values: dict[str, str]) -> list[Any]:
        values = {"environment": self.env_name, **values}
        if self.environment is not None:
            values.setdefault("namespace", self.environment.namespace)
        rendered = []
        for switch in self.loaded.config.kill_switches:
            try:
                rendered.append(render_model(switch, values))
            except TemplateError:
                continue
        return rendered

    def rules_for(self, runbook: Runbook | None) -> list[EscalationRule]:
        return combined_rules(runbook.escalation if runbook else [], self.loaded.config.escalation)

    def prepare(
        self,
        loaded: Loaded,
        given: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
    ) -> tuple[Runbook, dict[str, str]]:
        """Resolve and render a runbook; every template problem surfaces here."""
        try:
            values = resolve(
                loaded.runbook,
                env_name=self.env_name,
                environment=self.environment,
                given=given,
                labels=labels,
            )
            return render(loaded.runbook, values), values
        except TemplateError as exc:
            raise WorkspaceError(f"runbook '{loaded.runbook.id}': {exc}") from None

    def start(
        self,
        loaded: Loaded | None,
        *,
        title: str | None = None,
        severity: Severity | None = None,
        given: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
        alert: Alert | None = None,
        now: datetime | None = None,
    ) -> ActiveIncident:
        """Start an incident (on a runbook, or with a title and severity alone); from an
        alert, the runbook's variables are filled from the alert's labels."""
        if alert is not None:
            labels = {**alert.labels, **(labels or {})}
        now = now or utcnow()
        rendered, values = (None, {})
        if loaded is not None:
            rendered, values = self.prepare(loaded, given, labels)
        title = (title or (rendered.title if rendered else "")).strip()
        if not title:
            raise WorkspaceError("an incident without a runbook needs a title")
        severity = severity or (rendered.severity if rendered else Severity.SEV3)
        start = Incident.start_event(
            incident_id=self.store.new_id(now),
            title=title,
            severity=severity,
            user=self.user,
            now=now,
            environment=self.env_info,
            runbook_id=loaded.runbook.id if loaded else None,
            variables=values,
            host=self.host,
            alert=alert_record(alert) if alert else None,
        )
        self.store.create(start, loaded.source if loaded else None)
        return ActiveIncident(
            Incident.replay([start]),
            rendered,
            self.rules_for(rendered),
            self.kill_switches_for(values),
        )

    def resume(self, incident_id: str | None = None) -> ActiveIncident:
        try:
            stored = self.store.load(incident_id) if incident_id else self.store.latest()
        except StoreError as exc:
            raise WorkspaceError(str(exc)) from None
        if stored is None:
            raise WorkspaceError(f"no incidents under {self.store.root}")
        return self.reopen(stored)

    def reopen(self, stored: StoredIncident) -> ActiveIncident:
        incident = stored.incident
        runbook = None
        if stored.runbook_source is not None:
            parsed, problems = validate_text(
                stored.runbook_source,
                f"{incident.id}/runbook.yaml",
                self.loaded.kill_switch_ids,
            )
            if parsed is None:
                raise WorkspaceError("\n".join(str(p) for p in problems))
            try:
                runbook = render(parsed, incident.variables)
            except TemplateError as exc:
                raise WorkspaceError(f"{incident.id}: {exc}") from None
        return ActiveIncident(
            incident, runbook, self.rules_for(runbook), self.kill_switches_for(incident.variables)
        )


@dataclass(frozen=True)
class LiveBackends:
    """Clients for the environment's live sources; each None with the reason it is absent."""

    kube: Any = None
    kube_reason: str | None = None
    prometheus: Any = None
    prometheus_reason: str | None = None
    alerts: Any = None  # Alertmanager, else Prometheus' own alerts API
    alerts_reason: str | None = None


def _basic_auth(ref: str | None) -> tuple[str, str] | None:
    """("user", "password") from a secret whose value is "user:password"."""
    if ref is None:
        return None
    from sre_tui.backends.secrets import SecretResolver, remember

    value = SecretResolver().resolve(ref)
    user, sep, password = value.partition(":")
    if not sep:
        raise SecretError(f"{ref} must hold 'user:password' for basic auth")
    remember(password)  # the password alone is a secret too (the log masks it)
    return user, password


def connect(environment: Environment | None) -> LiveBackends:
    """Build the clients (reads the kubeconfig: call from a worker thread)."""
    from sre_tui.backends.alertmanager import AlertmanagerBackend
    from sre_tui.backends.prometheus import PrometheusBackend

    if environment is None:
        reason = "no environment configured"
        return LiveBackends(kube_reason=reason, prometheus_reason=reason, alerts_reason=reason)
    kube = kube_reason = None
    if environment.kubeconfig and environment.context:
        try:
            from sre_tui.backends.kube import KubeBackend

            kube = KubeBackend(environment.kubeconfig, environment.context, environment.namespace)
        except Exception as exc:  # a broken kubeconfig must not take the app down
            kube_reason = f"cannot load kubeconfig {environment.kubeconfig}: {exc}"
    else:
        kube_reason = "this environment has no kubeconfig/context"
    prometheus, prom_reason = (
        None,
        (
            "Prometheus is not configured for this environment (prometheus_url); "
            "for the demo, install prometheus (make backends)"
        ),
    )
    if environment.prometheus_url:
        try:
            auth = _basic_auth(environment.prometheus_auth)
            prometheus = PrometheusBackend(
                environment.prometheus_url, auth=auth, verify=environment.tls_verify
            )
            prom_reason = None
        except SecretError as exc:
            prom_reason = f"Prometheus credentials: {exc}"
    if environment.alertmanager_url:
        alerts = AlertmanagerBackend(environment.alertmanager_url, verify=environment.tls_verify)
        alerts_reason = None
    elif prometheus is not None:
        alerts, alerts_reason = prometheus, None
    else:
        alerts, alerts_reason = None, "no Alertmanager or Prometheus configured"
    return LiveBackends(kube, kube_reason, prometheus, prom_reason, alerts, alerts_reason)
