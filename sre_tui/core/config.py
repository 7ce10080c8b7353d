"""Configuration: environments, runbook directories, global kill switches, contacts, policy."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from sre_tui.core.runbook import SECRET_REF_PATTERN, Action, Contact, EscalationRule
from sre_tui.core.severity import SeverityPolicy


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(ConfigModel):
    description: str = ""
    kubeconfig: str | None = None
    # Always explicit: nothing falls back to kubectl's current context.
    context: str | None = None
    namespace: str = Field(default="default", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    prometheus_url: str | None = None
    # Basic auth for Prometheus: a secret reference whose value is "user:password".
    prometheus_auth: str | None = Field(default=None, pattern=SECRET_REF_PATTERN)
    alertmanager_url: str | None = None
    # Verify servers' TLS certificates. Turning it off is explicit and shown in the header.
    tls_verify: bool = True
    read_only: bool = False
    production: bool = False
    variables: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _context_with_kubeconfig(self) -> Environment:
        if self.kubeconfig is not None and self.context is None:
            raise ValueError("an environment with a kubeconfig must name its context")
        return self


class NamedContact(Contact):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")


class Refresh(ConfigModel):
    metrics_seconds: float = Field(default=15, gt=0)
    alerts_seconds: float = Field(default=30, gt=0)
    # Frames per second drawn to the terminal; lower it on a slow SSH link to cut bytes.
    fps: int | None = Field(default=None, ge=1, le=120)


class Config(ConfigModel):
    # Validated in this order: `default_environment` is checked against `environments`.
    environments: dict[str, Environment] = Field(default_factory=dict)
    default_environment: str | None = None
    user: str | None = None
    runbook_dirs: list[str] = Field(default_factory=lambda: ["runbooks"])
    kill_switches: list[Action] = Field(default_factory=list)
    contacts: list[NamedContact] = Field(default_factory=list)
    escalation: list[EscalationRule] = Field(default_factory=list)
    severity: SeverityPolicy = Field(default_factory=SeverityPolicy)
    refresh: Refresh = Field(default_factory=Refresh)
    TEMPLATED: ClassVar[dict] = {}

    @field_validator("default_environment")
    @classmethod
    def _default_exists(cls, name: str | None, info: ValidationInfo) -> str | None:
        environments = info.data.get("environments", {})
        if name is not None and name not in environments:
            raise ValueError(
                f"'{name}' is not among the environments "
                f"({', '.join(environments) or 'none defined'})"
            )
        return name

    @model_validator(mode="after")
    def _unique_switches(self) -> Config:
        ids = [k.id for k in self.kill_switches]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate kill switch ids: {', '.join(sorted(dupes))}")
        return self

    def kill_switch(self, switch_id: str):  # -> Action | None
        return next((k for k in self.kill_switches if k.id == switch_id), None)
