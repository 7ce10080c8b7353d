"""`sre-tui lint --strict`: what the runbook-writing guide asks for and the schema allows out.

The schema accepts a runbook with no rollback, no escalation path or commands still full
of `[service-name]` placeholders; the guide does not. Each check here finds one such gap
and says where, as warnings (`FILE:LINE: warning: …`) that fail the lint only under
`--strict`. Pure: takes a validated runbook and the text it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from sre_tui.core.lint import Problem
from sre_tui.core.runbook import (
    CommandAction,
    ConfigMapAction,
    EnvAction,
    HttpAction,
    RollbackAction,
    Runbook,
    SectionKind,
)
from sre_tui.core.yamlsource import LineMap, Loc, SourceError, parse

# Placeholders the seeds' templates use for what the author still has to fill in.
PLACEHOLDERS = (
    # [service-name], [pod-name], [command] — not PromQL ranges ([5m]), regex character
    # classes ([Tt]imeout, [a-z_]*, [[:space:]]), indexes (items[0]) or list values in
    # JSON and GraphQL (orderBy: [count_DESC]).
    re.compile(r"(?<![\w\]\[:])(?<!: )\[[A-Za-z][A-Za-z0-9 _:./|-]{2,}\](?![\w\[(*+?{])"),
    # <namespace>, <pod>; shell redirections have a space or a digit around them.
    re.compile(r"(?<![<\w])<[A-Za-z][A-Za-z0-9_.:-]*>"),
    re.compile(r"\bYOUR[_-][A-Za-z0-9_-]+", re.IGNORECASE),
    re.compile(r"\b(?:TODO|FIXME|TBD|CHANGEME|CHANGE_ME|REPLACE_ME)\b"),
    re.compile(r"\b[xX]{3,}\b"),
)

# A step that rolls back, fails back or reverts, by its title, text or command.
ROLLBACK_WORDS = re.compile(
    r"\b(?:roll|fail)(?:s|ed|ing)?[ -]?back\b|\brollout\s+undo\b|\brevert|\bundo\b",
    re.IGNORECASE,
)

TRIAGE_KINDS = {SectionKind.TRIAGE, SectionKind.DIAGNOSIS}
FIX_KINDS = {SectionKind.MITIGATION, SectionKind.REMEDIATION, SectionKind.RECOVERY}


def placeholders(text: str) -> list[str]:
    """Unfilled template placeholders in `text`, in order of appearance."""
    found = [(m.start(), m.group(0)) for pattern in PLACEHOLDERS for m in pattern.finditer(text)]
    return [match for _, match in sorted(found)]


def strict_checks(runbook: Runbook, global_actions: Iterable[Any] = ()) -> list[tuple[Loc, str]]:
    """Every gap between `runbook` and the guide, each with its YAML location.

    `global_actions` are the configured kill switches: a step naming the global rollback
    counts as the runbook's rollback."""
    globals_by_id = {action.id: action for action in global_actions}
    return [
        *_escalation(runbook),
        *_rollback(runbook, globals_by_id),
        *_actions(runbook),
        *_queries(runbook),
        *_placeholder_checks(runbook),
        *_sections(runbook),
        *_ownership(runbook),
    ]


def strict_problems(
    runbook: Runbook, text: str, file: str, global_actions: Iterable[Any] = ()
) -> list[Problem]:
    """`strict_checks` as `FILE:LINE: warning: …` problems, lines taken from `text`."""
    try:
        _, lines = parse(text)
    except SourceError:  # validated already; cannot happen for a runbook that loaded
        lines = LineMap()
    problems = [
        Problem(file, _line(lines, loc), f"warning: {message}")
        for loc, message in strict_checks(runbook, global_actions)
    ]
    return sorted(problems, key=lambda p: p.line)


def _line(lines: LineMap, loc: Loc) -> int:
    if len(loc) == 1 and loc not in lines.lines:
        # A missing top-level key: point at the runbook's id rather than at line 1.
        return lines.lines.get(("id",), 1)
    return lines.line_of(loc)


def _escalation(runbook: Runbook) -> Iterator[tuple[Loc, str]]:
    has_section = any(s.kind is SectionKind.ESCALATION for s in runbook.sections)
    if not runbook.escalation and not has_section:
        yield (
            ("escalation",),
            "no escalation path: add 'escalation' rules (after N minutes → whom, how) "
            "or an escalation section",
        )
    if not runbook.contacts and not any(rule.contact for rule in runbook.escalation):
        yield (
            ("contacts",),
            "no contact: add 'contacts' (role, name, how to reach them) or a 'contact' "
            "on an escalation rule",
        )


def _rollback(runbook: Runbook, globals_by_id: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
    if any(isinstance(action, RollbackAction) for action in runbook.actions):
        return
    for _, step in runbook.steps():
        named = globals_by_id.get(step.action or "")
        if isinstance(named, RollbackAction):
            return
        words = " ".join(filter(None, (step.title, step.text, step.command)))
        if ROLLBACK_WORDS.search(words):
            return
    yield (
        ("actions",),
        "no rollback: add a 'rollback' action or a step that rolls back or reverts the change",
    )


def _actions(runbook: Runbook) -> Iterator[tuple[Loc, str]]:
    for index, action in enumerate(runbook.actions):
        loc: Loc = ("actions", index)
        if isinstance(action, EnvAction | ConfigMapAction) and action.from_value is None:
            what = action.variable if isinstance(action, EnvAction) else action.key
            yield (
                (*loc, "to"),
                f"action '{action.id}' sets {what} without a revert value: add 'from' "
                "(the value to put back)",
            )
        if isinstance(action, HttpAction) and action.revert is None:
            yield (
                loc,
                f"action '{action.id}' has no 'revert' request: say how to undo it",
            )


def _queries(runbook: Runbook) -> Iterator[tuple[Loc, str]]:
    if not runbook.queries:
        yield (("queries",), "no queries: add the metrics to watch, with warn/crit thresholds")
    for index, query in enumerate(runbook.queries):
        if query.warn is None and query.crit is None:
            yield (
                ("queries", index),
                f"query '{query.id}' has no thresholds: add 'warn' and/or 'crit'",
            )


def _commands(runbook: Runbook) -> Iterator[tuple[Loc, str, str]]:
    """(location, what, text) of every command-like string an operator would run."""
    for s_index, section in enumerate(runbook.sections):
        for index, step in enumerate(section.steps):
            if step.command:
                loc: Loc = ("sections", s_index, "steps", index, "command")
                yield loc, f"step '{step.id}' command", step.command
    for index, action in enumerate(runbook.actions):
        loc = ("actions", index)
        if isinstance(action, CommandAction):
            yield (*loc, "command"), f"action '{action.id}' command", action.command
        if isinstance(action, HttpAction):
            yield (*loc, "url"), f"action '{action.id}' url", action.url
    for index, query in enumerate(runbook.queries):
        yield ("queries", index, "promql"), f"query '{query.id}'", query.promql
    for index, check in enumerate(runbook.checks):
        if check.url:
            yield ("checks", index, "url"), f"check '{check.id}' url", check.url


def _placeholder_checks(runbook: Runbook) -> Iterator[tuple[Loc, str]]:
    for loc, what, text in _commands(runbook):
        found = placeholders(text)
        if found:
            listed = ", ".join(dict.fromkeys(found))
            yield (
                loc,
                f"{what} has unfilled placeholder(s) {listed}: use real values or "
                "{{ variables }}",
            )


def _sections(runbook: Runbook) -> Iterator[tuple[Loc, str]]:
    kinds = {section.kind for section in runbook.sections}
    if not kinds & TRIAGE_KINDS:
        yield ("sections",), "no triage or diagnosis section: say how to confirm and diagnose"
    if not kinds & FIX_KINDS:
        yield ("sections",), "no remediation or mitigation section: say how to fix it"
    verifies = any(step.verify for _, step in runbook.steps())
    if SectionKind.VERIFICATION not in kinds and not verifies:
        yield (
            ("sections",),
            "no verification: add a verification section or a step with 'verify'",
        )
    if SectionKind.POST_INCIDENT not in kinds:
        yield ("sections",), "no post-incident section (post-mortem, runbook update)"


def _ownership(runbook: Runbook) -> Iterator[tuple[Loc, str]]:
    if not runbook.owner:
        yield ("owner",), "no 'owner': name the team that owns this runbook"
    if not runbook.dashboards:
        yield ("dashboards",), "no 'dashboards': link the dashboard to watch"
    if not runbook.last_reviewed:
        yield ("last_reviewed",), "no 'last_reviewed' date (YYYY-MM-DD): review quarterly"
    elif not re.fullmatch(r"\d{4}-\d{2}-\d{2}", runbook.last_reviewed):
        yield (
            ("last_reviewed",),
            f"'last_reviewed' {runbook.last_reviewed!r} is not a date (YYYY-MM-DD)",
        )
