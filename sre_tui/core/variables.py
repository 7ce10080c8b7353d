"""Resolve a runbook's variable values and render it for an incident."""

from __future__ import annotations

from collections.abc import Mapping

from sre_tui.core.config import Environment
from sre_tui.core.lint import iter_templated, render_model
from sre_tui.core.runbook import Runbook
from sre_tui.core.templating import TemplateError, placeholders


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """`["a=1", "b=x=y"]` → `{"a": "1", "b": "x=y"}`."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise TemplateError(f"--var {pair!r} is not NAME=VALUE")
        values[name] = value
    return values


def resolve(
    runbook: Runbook,
    *,
    env_name: str,
    environment: Environment | None,
    given: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Values for every variable the runbook uses.

    Precedence, lowest first: runbook defaults, environment (namespace, context, its
    `variables`), alert labels, then values given on the command line.
    """
    values: dict[str, str] = {"environment": env_name}
    for name, var in runbook.variables.items():
        if var.default is not None:
            values[name] = var.default
    if environment is not None:
        values["namespace"] = environment.namespace
        if environment.context:
            values["context"] = environment.context
        values.update(environment.variables)
    if labels:
        for name, var in runbook.variables.items():
            label = var.label or name
            if label in labels:
                values[name] = labels[label]
    given = dict(given or {})
    unknown = sorted(set(given) - set(runbook.variables) - {"namespace", "context"})
    if unknown:
        known = ", ".join(sorted(runbook.variables)) or "none"
        raise TemplateError(
            f"unknown variable(s) {', '.join(unknown)} for runbook '{runbook.id}' (known: {known})"
        )
    values.update(given)
    used = {name for _, text, _ in iter_templated(runbook) for name in placeholders(text)}
    missing = sorted(used - set(values))
    if missing:
        raise TemplateError(
            "missing value for "
            + ", ".join(missing)
            + " — pass "
            + " ".join(f"--var {m}=VALUE" for m in missing)
        )
    return values


def render(runbook: Runbook, values: Mapping[str, str]) -> Runbook:
    """The runbook with every placeholder filled; raises TemplateError on unsafe values."""
    return render_model(runbook, values)
