"""The runbook format: a validated schema for what the seeds' runbooks describe.

Field names follow DESIGN.md. Unknown fields are errors. String fields that may hold
`{{ variable }}` placeholders declare, in `TEMPLATED`, the context their values land in,
so templating can escape for it (see `core.templating`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sre_tui.core.severity import Severity
from sre_tui.core.templating import Context

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
ENV_VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
DURATION_PATTERN = r"^(\d+(ms|s|m|h|d|w))+$"
SECRET_REF_PATTERN = r"^(keyring|env):[A-Za-z0-9_.\-/]+$"

Id = Annotated[str, Field(pattern=ID_PATTERN)]


class Model(BaseModel):
    """Base for every runbook model: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    TEMPLATED: ClassVar[dict[str, Context]] = {}


class Link(Model):
    title: str
    url: str | None = None
    TEMPLATED: ClassVar[dict[str, Context]] = {"url": Context.URL}


class Variable(Model):
    description: str = ""
    default: str | None = None
    example: str | None = None
    # Alert label that fills this variable when an incident starts from an alert.
    label: str | None = None

    @field_validator("default", "example", mode="before")
    @classmethod
    def _scalar_to_str(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int | float):
            return str(value)
        return value


class Direction(StrEnum):
    ABOVE = "above"  # larger is worse (latency, errors)
    BELOW = "below"  # smaller is worse (ready pods, cache hit rate)


class Query(Model):
    id: Id
    title: str
    promql: str
    unit: str = ""
    normal: str = ""  # human description of the normal range, e.g. "< 1%"
    warn: float | None = None
    crit: float | None = None
    direction: Direction = Direction.ABOVE
    range: str = Field(default="30m", pattern=DURATION_PATTERN)
    description: str = ""
    TEMPLATED: ClassVar[dict[str, Context]] = {"title": Context.TEXT, "promql": Context.PROMQL}

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Query:
        if self.warn is not None and self.crit is not None:
            worse = (
                self.crit >= self.warn
                if self.direction is Direction.ABOVE
                else (self.crit <= self.warn)
            )
            if not worse:
                side = "above" if self.direction is Direction.ABOVE else "below"
                raise ValueError(
                    f"crit ({self.crit}) must be {side} warn ({self.warn}) "
                    f"for direction '{self.direction}'"
                )
        return self


class LogSpec(Model):
    selector: str  # label selector, e.g. "app={{ deployment }}"
    container: str | None = None
    highlight: list[str] = Field(default_factory=list)  # regular expressions
    TEMPLATED: ClassVar[dict[str, Context]] = {
        "selector": Context.SELECTOR,
        "container": Context.K8S_NAME,
    }

    @field_validator("highlight")
    @classmethod
    def _valid_patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                message = f"highlight pattern {pattern!r} is not a valid regex: {exc}"
                raise ValueError(message) from None
        return patterns


class Check(Model):
    """An HTTP health endpoint: an absolute URL, or a cluster service reached via the API."""

    id: Id
    title: str
    url: str | None = None
    service: str | None = None
    port: int | str | None = None
    path: str = "/health"
    expect_status: int = Field(default=200, ge=100, le=599)
    meaning: str = ""
    TEMPLATED: ClassVar[dict[str, Context]] = {
        "url": Context.URL,
        "service": Context.K8S_NAME,
        "port": Context.K8S_NAME,
        "path": Context.URL,
    }

    @model_validator(mode="after")
    def _one_target(self) -> Check:
        if (self.url is None) == (self.service is None):
            raise ValueError("a check needs exactly one of 'url' or 'service'")
        return self


class Pane(StrEnum):
    METRICS = "metrics"
    PODS = "pods"
    LOGS = "logs"
    CHECKS = "checks"


class Focus(Model):
    pane: Pane
    query: str | None = None  # a query id, for the metrics pane
    filter: str | None = None  # a log filter (regex), for the logs pane
    check: str | None = None  # a check id, for the checks pane


class Verify(Model):
    """A PromQL condition that shows whether a step's goal holds ("p95 below 0.5 s")."""

    query: str
    below: float | None = None
    above: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Verify:
        if (self.below is None) == (self.above is None):
            raise ValueError("verify needs exactly one of 'below' or 'above'")
        return self


class Step(Model):
    id: Id
    title: str
    text: str = ""
    command: str | None = None
    expect: str | None = None
    focus: Focus | None = None
    action: str | None = None  # id of an action in this runbook or a global kill switch
    # The command only reads (a diagnostic): it runs on one key, without a confirmation.
    read_only: bool = False
    command_timeout_seconds: int = Field(default=60, ge=1, le=3600)
    verify: Verify | None = None
    links: list[Link] = Field(default_factory=list)
    TEMPLATED: ClassVar[dict[str, Context]] = {
        "command": Context.SHELL,
        "title": Context.TEXT,
        "text": Context.TEXT,
        "expect": Context.TEXT,
    }


class SectionKind(StrEnum):
    TRIAGE = "triage"
    DIAGNOSIS = "diagnosis"
    MITIGATION = "mitigation"
    REMEDIATION = "remediation"
    VERIFICATION = "verification"
    COMMUNICATION = "communication"
    ESCALATION = "escalation"
    RECOVERY = "recovery"
    POST_INCIDENT = "post-incident"


class Section(Model):
    id: Id
    kind: SectionKind
    title: str
    steps: list[Step] = Field(min_length=1)


ValueType = Literal["string", "integer", "number", "boolean"]


class ValueSpec(Model):
    """Typed value with bounds, shared by env and configmap toggles."""

    type: ValueType = "string"
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None


def check_value(value: str, spec: ValueSpec) -> str | None:
    """Return a message when `value` does not fit `spec`, else None."""
    if spec.choices is not None and value not in spec.choices:
        return f"{value!r} is not one of {', '.join(spec.choices)}"
    if spec.type == "boolean":
        if value not in ("true", "false"):
            return f"{value!r} is not a boolean (true or false)"
        return None
    if spec.type in ("integer", "number"):
        try:
            number = int(value) if spec.type == "integer" else float(value)
        except ValueError:
            return f"{value!r} is not {'an integer' if spec.type == 'integer' else 'a number'}"
        if spec.min is not None and number < spec.min:
            return f"{value} is below the minimum {spec.min:g}"
        if spec.max is not None and number > spec.max:
            return f"{value} is above the maximum {spec.max:g}"
    return None


def _scalar_str(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


class ActionBase(Model):
    id: Id
    title: str
    description: str = ""
    kill_switch: bool = False
    namespace: str | None = None  # defaults to the environment's namespace


class KubeTarget(ActionBase):
    deployment: str
    TEMPLATED: ClassVar[dict[str, Context]] = {
        "title": Context.TEXT,
        "deployment": Context.K8S_NAME,
        "namespace": Context.K8S_NAME,
    }


class EnvAction(KubeTarget):
    """Set an environment variable on a deployment's container (e.g. a timeout)."""

    kind: Literal["env"]
    container: str | None = None
    variable: str = Field(pattern=ENV_VAR_PATTERN)
    from_value: str | None = Field(default=None, alias="from")
    to_value: str = Field(alias="to")
    value: ValueSpec = Field(default_factory=ValueSpec)
    TEMPLATED: ClassVar[dict[str, Context]] = {
        **KubeTarget.TEMPLATED,
        "container": Context.K8S_NAME,
    }

    _coerce = field_validator("from_value", "to_value", mode="before")(_scalar_str)

    @model_validator(mode="after")
    def _values_fit(self) -> EnvAction:
        for label, value in (("from", self.from_value), ("to", self.to_value)):
            if value is not None and (problem := check_value(value, self.value)):
                raise ValueError(f"'{label}' value {problem}")
        return self


class ScaleAction(KubeTarget):
    kind: Literal["scale"]
    replicas: int = Field(ge=0)
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=50, ge=1)

    @model_validator(mode="after")
    def _bounded(self) -> ScaleAction:
        if not self.min_replicas <= self.replicas <= self.max_replicas:
            raise ValueError(
                f"replicas {self.replicas} outside bounds {self.min_replicas}..{self.max_replicas}"
            )
        return self


class RestartAction(KubeTarget):
    kind: Literal["restart"]


class RollbackAction(KubeTarget):
    kind: Literal["rollback"]
    to_revision: int | None = Field(default=None, ge=1)


class ConfigMapAction(ActionBase):
    """Set a key in a ConfigMap (flags stored in ConfigMaps, e.g. OpenFeature/flagd)."""

    kind: Literal["configmap"]
    configmap: str
    key: str = Field(pattern=r"^[-._A-Za-z0-9]+$")
    from_value: str | None = Field(default=None, alias="from")
    to_value: str = Field(alias="to")
    value: ValueSpec = Field(default_factory=ValueSpec)
    TEMPLATED: ClassVar[dict[str, Context]] = {
        "title": Context.TEXT,
        "configmap": Context.K8S_NAME,
        "namespace": Context.K8S_NAME,
    }

    _coerce = field_validator("from_value", "to_value", mode="before")(_scalar_str)

    @model_validator(mode="after")
    def _values_fit(self) -> ConfigMapAction:
        for label, value in (("from", self.from_value), ("to", self.to_value)):
            if value is not None and (problem := check_value(value, self.value)):
                raise ValueError(f"'{label}' value {problem}")
        return self


HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


def _http_url(url: str | None) -> str | None:
    if url is not None and not re.match(r"^https?://", url):
        raise ValueError("url must start with http:// or https://")
    return url


class HttpRead(Model):
    """How to read the current value, shown in the confirmation dialog."""

    method: Literal["GET", "POST"] = "GET"
    url: str | None = None  # defaults to the action's URL
    # Dotted path into the JSON answer ("enabled", "limits.0.requests_per_second");
    # empty: the whole answer.
    field: str = ""
    TEMPLATED: ClassVar[dict[str, Context]] = {"url": Context.URL}

    _url = field_validator("url")(_http_url)


class HttpRevert(Model):
    """The request that undoes the action (same URL and method unless given)."""

    method: HttpMethod | None = None
    url: str | None = None
    body: dict[str, Any] | None = None
    TEMPLATED: ClassVar[dict[str, Context]] = {"url": Context.URL, "body": Context.TEXT}

    _url = field_validator("url")(_http_url)


class HttpAction(ActionBase):
    """A webhook to a feature-flag service or rate limiter."""

    kind: Literal["http"]
    method: HttpMethod = "POST"
    url: str
    body: dict[str, Any] | None = None  # sent as JSON; values are never spliced into text
    headers: dict[str, str] = Field(default_factory=dict)
    auth: str | None = Field(default=None, pattern=SECRET_REF_PATTERN)
    expect_status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204])
    read: HttpRead | None = None
    revert: HttpRevert | None = None
    # Body and header values are sent as JSON / header values, never spliced into text.
    TEMPLATED: ClassVar[dict[str, Context]] = {
        "title": Context.TEXT,
        "description": Context.TEXT,
        "url": Context.URL,
        "body": Context.TEXT,
        "headers": Context.TEXT,
    }

    _url = field_validator("url")(_http_url)


class SilenceAction(ActionBase):
    """Silence matching alerts in Alertmanager for a while."""

    kind: Literal["silence"]
    matchers: dict[str, str] = Field(min_length=1)
    duration_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    comment: str
    TEMPLATED: ClassVar[dict[str, Context]] = {
        "title": Context.TEXT,
        "comment": Context.TEXT,
        "matchers": Context.TEXT,
    }


class CommandAction(ActionBase):
    """A shell command, run with the incident environment's kubeconfig and context."""

    kind: Literal["command"]
    command: str
    read_only: bool = False  # a diagnostic: runs on one key, without a confirmation
    timeout_seconds: int = Field(default=60, ge=1, le=3600)
    TEMPLATED: ClassVar[dict[str, Context]] = {
        "title": Context.TEXT,
        "description": Context.TEXT,
        "command": Context.SHELL,
    }


Action = Annotated[
    EnvAction
    | ScaleAction
    | RestartAction
    | RollbackAction
    | ConfigMapAction
    | HttpAction
    | SilenceAction
    | CommandAction,
    Field(discriminator="kind"),
]


class EscalationRule(Model):
    """After N minutes (from incident start) → whom, how."""

    after_minutes: int | None = Field(default=None, ge=0)
    severities: list[Severity] = Field(default_factory=list)  # empty: every severity
    to: str
    via: str = ""
    contact: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _has_trigger(self) -> EscalationRule:
        if self.after_minutes is None and not self.severities:
            raise ValueError("an escalation rule needs 'after_minutes' or 'severities'")
        return self


class Contact(Model):
    role: str
    name: str = ""
    contact: str = ""
    via: str = ""


class Runbook(Model):
    id: Id
    title: str
    severity: Severity
    service: str = ""
    owner: str = ""
    summary: str = ""
    platform: str = "kubernetes"
    version: str = "1.0"
    last_reviewed: str | None = None
    tags: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)  # runbook_url annotations that map here
    variables: dict[str, Variable] = Field(default_factory=dict)
    symptoms: list[str] = Field(default_factory=list)
    queries: list[Query] = Field(default_factory=list)
    logs: LogSpec | None = None
    checks: list[Check] = Field(default_factory=list)
    dashboards: list[Link] = Field(default_factory=list)
    sections: list[Section] = Field(min_length=1)
    actions: list[Action] = Field(default_factory=list)
    escalation: list[EscalationRule] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    TEMPLATED: ClassVar[dict[str, Context]] = {
        "title": Context.TEXT,
        "service": Context.TEXT,
        "summary": Context.TEXT,
    }

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, variables: dict[str, Variable]) -> dict[str, Variable]:
        for name in variables:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"variable name {name!r} is not an identifier")
        return variables

    # Lookups used by the UI and by cross-checks.
    def steps(self) -> list[tuple[Section, Step]]:
        return [(section, step) for section in self.sections for step in section.steps]

    def step(self, step_id: str) -> Step | None:
        return next((s for _, s in self.steps() if s.id == step_id), None)

    def query(self, query_id: str) -> Query | None:
        return next((q for q in self.queries if q.id == query_id), None)

    def action(self, action_id: str) -> Any | None:
        return next((a for a in self.actions if a.id == action_id), None)
