"""Severities and the policy that gives each one a response time."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        """1 is the most severe; used for sorting."""
        return int(self.value[-1])


class SeverityLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: str
    response_minutes: int = Field(ge=0, description="0 means respond immediately")
    examples: list[str] = Field(default_factory=list)


class AlertPriority(BaseModel):
    """Alert priorities P0–P2 (operational runbooks seed) and what they map to."""

    model_config = ConfigDict(extra="forbid")

    severity: Severity
    acknowledge_minutes: int = Field(ge=0)
    investigate_minutes: int = Field(ge=0)
    description: str = ""


def _default_levels() -> dict[Severity, SeverityLevel]:
    # Response times from the runbook template seed.
    return {
        Severity.SEV1: SeverityLevel(
            definition="Service down or safety incident",
            response_minutes=0,
            examples=["Complete outage", "data breach"],
        ),
        Severity.SEV2: SeverityLevel(
            definition="Major functionality impaired",
            response_minutes=15,
            examples=["50%+ errors", "security issue"],
        ),
        Severity.SEV3: SeverityLevel(
            definition="Degraded performance",
            response_minutes=60,
            examples=["Elevated latency", "partial failures"],
        ),
        Severity.SEV4: SeverityLevel(
            definition="Minor issue",
            response_minutes=240,
            examples=["Cosmetic issues", "edge cases"],
        ),
    }


def _default_priorities() -> dict[str, AlertPriority]:
    # Alert priorities from the operational runbooks seed.
    return {
        "P0": AlertPriority(
            severity=Severity.SEV1,
            acknowledge_minutes=5,
            investigate_minutes=10,
            description="Critical: update status page and notify stakeholders",
        ),
        "P1": AlertPriority(
            severity=Severity.SEV2,
            acknowledge_minutes=15,
            investigate_minutes=30,
            description="Warning: update status page if impact is significant",
        ),
        "P2": AlertPriority(
            severity=Severity.SEV3,
            acknowledge_minutes=60,
            investigate_minutes=120,
            description="Info: update status page if needed",
        ),
    }


class SeverityPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    levels: dict[Severity, SeverityLevel] = Field(default_factory=_default_levels)
    priorities: dict[str, AlertPriority] = Field(default_factory=_default_priorities)

    def response_label(self, severity: Severity) -> str:
        level = self.levels.get(severity)
        if level is None:
            return "?"
        if level.response_minutes == 0:
            return "immediate"
        return format_minutes(level.response_minutes)


def format_minutes(minutes: int) -> str:
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} min"
