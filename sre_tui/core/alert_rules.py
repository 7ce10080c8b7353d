"""`sre-tui lint --alerts`: Prometheus alerting rules checked against the runbooks.

Every alert should open a runbook in the app, which maps an alert the way
`core.alerts.runbook_for` does: by its `runbook_url` annotation (the last path segment is a
runbook id, or the URL is listed in a runbook's `urls`), then by its name in a runbook's
`alerts`. A `runbook_url` that points into our runbooks (it shares its base with URLs that
do resolve, or starts with a base given on the command line) must resolve; and a runbook
should name no alert that no rule defines (a renamed alert leaves it unreachable).

Pure: takes the texts of the rule files and the loaded runbooks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sre_tui.core.alerts import runbook_id_from_url
from sre_tui.core.lint import Loaded, Problem
from sre_tui.core.yamlsource import LineMap, Loc, SourceError, parse

# `{{ $labels.name }}` (Prometheus) and `{{ .Labels.name }}` (Go template data) in URLs.
LABEL_REF = re.compile(r"{{-?\s*(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)\s*-?}}")


@dataclass(frozen=True)
class AlertRule:
    """One `alert:` rule and the lines its parts came from."""

    name: str
    file: str
    line: int
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    url_line: int = 0

    @property
    def runbook_url(self) -> str | None:
        # The same annotations the app reads (`Alert.runbook_url`).
        return self.annotations.get("runbook_url") or self.annotations.get("runbook")

    def resolved_url(self) -> str | None:
        """`runbook_url` with label references filled from the rule's own labels and
        name; None when it depends on labels known only when the alert fires."""
        url = self.runbook_url
        if url is None:
            return None
        values = {**self.labels, "alertname": self.name}
        url = LABEL_REF.sub(lambda m: values.get(m.group(1), m.group(0)), url)
        return None if "{{" in url else url


def parse_rules(text: str, file: str) -> tuple[list[AlertRule], list[Problem]]:
    """The alerting rules of one Prometheus rule file (or PrometheusRule resource)."""
    try:
        data, lines = parse(text)
    except SourceError as exc:
        return [], [Problem(file, exc.line, exc.message)]
    problems = [Problem(file, line, message) for line, message in lines.duplicates]
    root: Loc = ()
    if isinstance(data, dict) and isinstance(data.get("spec"), dict) and "groups" not in data:
        data, root = data["spec"], ("spec",)  # a PrometheusRule custom resource
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        problems.append(Problem(file, lines.line_of(root), "expected a mapping with 'groups'"))
        return [], problems
    rules: list[AlertRule] = []
    for g_index, group in enumerate(data["groups"]):
        g_loc: Loc = (*root, "groups", g_index)
        if not isinstance(group, dict) or not isinstance(group.get("rules", []), list):
            problems.append(
                Problem(file, lines.line_of(g_loc), "a group is a mapping with a 'rules' list")
            )
            continue
        for r_index, rule in enumerate(group.get("rules") or []):
            r_loc: Loc = (*g_loc, "rules", r_index)
            parsed = _rule(rule, r_loc, file, lines)
            if isinstance(parsed, AlertRule):
                rules.append(parsed)
            elif parsed is not None:
                problems.append(parsed)
    return rules, sorted(problems, key=lambda p: p.line)


def _rule(rule: Any, loc: Loc, file: str, lines: LineMap) -> AlertRule | Problem | None:
    if not isinstance(rule, dict):
        return Problem(file, lines.line_of(loc), "a rule is a mapping")
    if "alert" not in rule:
        if "record" in rule:
            return None  # a recording rule: no runbook expected
        return Problem(file, lines.line_of(loc), "a rule needs 'alert' or 'record'")
    name = rule["alert"]
    if not isinstance(name, str) or not name:
        return Problem(file, lines.line_of((*loc, "alert")), "'alert' must be a name")
    labels, annotations = rule.get("labels") or {}, rule.get("annotations") or {}
    for key, value in (("labels", labels), ("annotations", annotations)):
        if not isinstance(value, dict):
            return Problem(file, lines.line_of((*loc, key)), f"'{key}' must be a mapping")
    url_key = "runbook_url" if "runbook_url" in annotations else "runbook"
    return AlertRule(
        name=name,
        file=file,
        line=lines.line_of((*loc, "alert")),
        labels={str(k): str(v) for k, v in labels.items()},
        annotations={str(k): str(v) for k, v in annotations.items()},
        url_line=lines.line_of((*loc, "annotations", url_key)),
    )


def url_base(url: str) -> str:
    """The URL without its last path segment, query or fragment: where its siblings live."""
    path = re.split(r"[?#]", url, maxsplit=1)[0].rstrip("/")
    return path.rsplit("/", 1)[0] + "/" if "/" in path else path


def check_alert_rules(
    rules: Sequence[AlertRule],
    runbooks: Sequence[Loaded],
    bases: Iterable[str] = (),
) -> list[Problem]:
    """Alerts without a runbook, `runbook_url`s into our runbooks that do not resolve, and
    runbook `alerts` that no rule defines. `bases` are URL prefixes of our runbooks, in
    addition to those inferred from URLs that resolve."""
    books = [loaded.runbook for loaded in runbooks]
    ids = {book.id for book in books}
    listed_urls = {url for book in books for url in book.urls}

    def by_url(url: str) -> Any | None:
        wanted = runbook_id_from_url(url)
        return next((b for b in books if b.id == wanted or url in b.urls), None)

    ours = {b for b in bases if b}
    ours |= {url_base(url) for url in listed_urls}
    for rule in rules:
        url = rule.resolved_url()
        if url and runbook_id_from_url(url) in ids:
            ours.add(url_base(url))

    problems: list[Problem] = []
    for rule in rules:
        problems.extend(_check_rule(rule, books, by_url, ours))
    defined = {rule.name for rule in rules}
    for loaded in runbooks:
        problems.extend(_unknown_alerts(loaded, defined))
    return sorted(problems, key=lambda p: (p.file, p.line))


def _check_rule(rule: AlertRule, books: list[Any], by_url: Any, ours: set[str]) -> list[Problem]:
    named = next((b for b in books if rule.name in b.alerts), None)
    raw, url = rule.runbook_url, rule.resolved_url()
    url_line = rule.url_line or rule.line
    if raw and url is None:
        if named is not None:
            return []
        message = (
            f"alert '{rule.name}' has no runbook: its runbook_url {raw!r} depends on labels "
            "known only when it fires and no runbook lists it in 'alerts'"
        )
        return [Problem(rule.file, url_line, message)]
    target = by_url(url) if url else None
    if url and target is None and any(url.startswith(base) for base in ours):
        wanted = runbook_id_from_url(url)
        message = (
            f"alert '{rule.name}': runbook_url {url} points to runbook '{wanted}', which "
            "does not exist (and no runbook lists the URL in 'urls')"
        )
        return [Problem(rule.file, url_line, message)]
    if target is None and named is None:
        why = f"its runbook_url {url} is not one of ours" if url else "it has no runbook_url"
        message = f"alert '{rule.name}' has no runbook: {why} and no runbook lists it in 'alerts'"
        return [Problem(rule.file, rule.line, message)]
    if target is not None and named is not None and target.id != named.id:
        message = (
            f"alert '{rule.name}' opens runbook '{target.id}' (by runbook_url) but runbook "
            f"'{named.id}' lists it in 'alerts'"
        )
        return [Problem(rule.file, url_line, message)]
    return []


def _unknown_alerts(loaded: Loaded, defined: set[str]) -> list[Problem]:
    missing = [(i, name) for i, name in enumerate(loaded.runbook.alerts) if name not in defined]
    if not missing:
        return []
    try:
        _, lines = parse(loaded.source)
    except SourceError:
        lines = LineMap()
    return [
        Problem(
            loaded.path,
            lines.line_of(("alerts", index)),
            f"runbook '{loaded.runbook.id}' names alert '{name}', which no rule defines",
        )
        for index, name in missing
    ]
