"""Validate runbook text: schema, cross-references and templates, each problem with a line."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sre_tui.core import templating
from sre_tui.core.runbook import Runbook
from sre_tui.core.templating import Context, TemplateError
from sre_tui.core.yamlsource import LineMap, Loc, SourceError, parse

M = TypeVar("M", bound=BaseModel)

ID_LINE = re.compile(r"^id\s*:", re.MULTILINE)

# Variables every environment provides.
BUILTIN_VARIABLES = ("namespace", "context", "environment")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Loaded:
    """A runbook and the text it was read from (kept so incidents can snapshot it)."""

    runbook: Runbook
    source: str
    path: str


def _field_key(model: BaseModel, name: str) -> str:
    info = type(model).model_fields[name]
    return info.alias or name


def iter_templated(model: BaseModel, loc: Loc = ()) -> Iterator[tuple[Loc, str, Context]]:
    """Every templated string in `model`, with its YAML location and context."""
    templated = getattr(type(model), "TEMPLATED", {})
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = _field_key(model, name)
        if name in templated and isinstance(value, str | dict | list):
            yield from _iter_values(value, (*loc, key), templated[name])
        elif isinstance(value, BaseModel):
            yield from iter_templated(value, (*loc, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from iter_templated(item, (*loc, key, index))
        elif isinstance(value, dict) and name != "variables":
            for k, item in value.items():
                if isinstance(item, BaseModel):
                    yield from iter_templated(item, (*loc, key, k))


def _iter_values(value: Any, loc: Loc, context: Context) -> Iterator[tuple[Loc, str, Context]]:
    """String leaves of a templated field (a string, or the values of a mapping or list)."""
    if isinstance(value, str):
        yield loc, value, context
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _iter_values(item, (*loc, key), context)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _iter_values(item, (*loc, index), context)


def _render_value(value: Any, values: Mapping[str, str], context: Context) -> Any:
    if isinstance(value, str):
        return templating.render(value, values, context)
    if isinstance(value, dict):
        return {key: _render_value(item, values, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_value(item, values, context) for item in value]
    return value


def render_model(model: Any, values: Mapping[str, str]) -> Any:
    """A copy of `model` with every templated string rendered for its context."""
    if not isinstance(model, BaseModel):
        return model
    templated = getattr(type(model), "TEMPLATED", {})
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in templated and isinstance(value, str | dict | list):
            updates[name] = _render_value(value, values, templated[name])
        elif isinstance(value, BaseModel):
            updates[name] = render_model(value, values)
        elif isinstance(value, list) and any(isinstance(v, BaseModel) for v in value):
            updates[name] = [render_model(v, values) for v in value]
    return model.model_copy(update=updates)


def _format_pydantic(error: Mapping[str, Any]) -> str:
    loc = ".".join(str(part) for part in error["loc"] if not _is_union_tag(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown field '{loc}'"
    if error["type"] == "missing":
        return f"missing required field '{loc}'"
    if error["type"] == "union_tag_invalid":
        return f"{loc}: unknown action kind {error.get('input', {}).get('kind')!r}; " + (
            "expected env, scale, restart, rollback, configmap, http, silence or command"
        )
    return f"{loc}: {message}" if loc else message


def _is_union_tag(part: Any) -> bool:
    # Discriminated unions add the tag ("env", "scale", …) to the error location.
    return part in {"env", "scale", "restart", "rollback", "configmap", "http", "silence"}


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    return tuple(part for part in loc if not _is_union_tag(part))


def cross_check(runbook: Runbook, global_actions: Collection[str] = ()) -> list[tuple[Loc, str]]:
    """Problems the schema alone cannot see: duplicate ids, dangling references, templates."""
    problems: list[tuple[Loc, str]] = []

    def unique(items: list[Any], loc: str) -> None:
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.id in seen:
                problems.append(((loc, index, "id"), f"duplicate {loc} id '{item.id}'"))
            seen.add(item.id)

    unique(runbook.sections, "sections")
    unique(runbook.queries, "queries")
    unique(runbook.checks, "checks")
    unique(runbook.actions, "actions")
    step_ids: set[str] = set()
    query_ids = {q.id for q in runbook.queries}
    check_ids = {c.id for c in runbook.checks}
    action_ids = {a.id for a in runbook.actions}
    for s_index, section in enumerate(runbook.sections):
        for index, step in enumerate(section.steps):
            loc: Loc = ("sections", s_index, "steps", index)
            if step.id in step_ids:
                problems.append(((*loc, "id"), f"duplicate step id '{step.id}'"))
            step_ids.add(step.id)
            if step.action is not None and step.action not in action_ids | set(global_actions):
                message = (
                    f"step '{step.id}' names unknown action '{step.action}' (neither in this "
                    "runbook's actions nor among the configured kill switches)"
                )
                problems.append(((*loc, "action"), message))
            focus = step.focus
            if focus and focus.query and focus.query not in query_ids:
                message = f"step '{step.id}' focuses unknown query '{focus.query}'"
                problems.append(((*loc, "focus", "query"), message))
            if focus and focus.check and focus.check not in check_ids:
                message = f"step '{step.id}' focuses unknown check '{focus.check}'"
                problems.append(((*loc, "focus", "check"), message))
            if focus and focus.pane == "logs" and runbook.logs is None:
                message = f"step '{step.id}' focuses logs but the runbook has no 'logs'"
                problems.append(((*loc, "focus", "pane"), message))
            if step.verify and step.verify.query not in query_ids:
                problems.append(
                    (
                        (*loc, "verify", "query"),
                        f"step '{step.id}' verifies with unknown query '{step.verify.query}'",
                    )
                )
    problems.extend(template_problems(runbook))
    return problems


def template_problems(runbook: Runbook) -> list[tuple[Loc, str]]:
    """Undefined variables, malformed placeholders, placeholders in unsafe places."""
    problems: list[tuple[Loc, str]] = []
    declared = set(runbook.variables) | set(BUILTIN_VARIABLES)
    # A harmless value that passes every context, to find placeholders in unsafe spots.
    probe = dict.fromkeys(declared, "x")
    for loc, text, context in iter_templated(runbook):
        for bad in templating.malformed_placeholders(text):
            problems.append((loc, f"malformed placeholder {bad!r}; use {{{{ name }}}}"))
        for name in templating.placeholders(text):
            if name not in declared:
                message = f"undefined variable '{name}' (declare it under 'variables')"
                problems.append((loc, message))
        try:
            used = dict.fromkeys(templating.placeholders(text), "x")
            templating.render(text, {**probe, **used}, context)
        except TemplateError as exc:
            problems.append((loc, str(exc)))
    return problems


def parse_model(text: str, file: str, cls: type[M]) -> tuple[M | None, LineMap, list[Problem]]:
    """Parse YAML `text` into `cls`; schema problems carry the line they point at."""
    try:
        data, lines = parse(text)
    except SourceError as exc:
        return None, LineMap(), [Problem(file, exc.line, exc.message)]
    problems = [Problem(file, line, message) for line, message in lines.duplicates]
    if not isinstance(data, dict):
        return None, lines, [*problems, Problem(file, 1, "expected a YAML mapping at the top")]
    try:
        model = cls.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            line = lines.line_of(_clean_loc(error["loc"]))
            problems.append(Problem(file, line, _format_pydantic(error)))
        return None, lines, sorted(problems, key=lambda p: p.line)
    return model, lines, problems


def validate_text(
    text: str, file: str, global_actions: Collection[str] = ()
) -> tuple[Runbook | None, list[Problem]]:
    """Parse and validate one runbook file's text; steps may name `global_actions`."""
    runbook, lines, problems = parse_model(text, file, Runbook)
    if runbook is None:
        return None, problems
    problems.extend(_located(file, lines, cross_check(runbook, global_actions)))
    problems.sort(key=lambda p: p.line)
    return (None if problems else runbook), problems


def _located(file: str, lines: LineMap, items: list[tuple[Loc, str]]) -> list[Problem]:
    return [Problem(file, lines.line_of(loc), message) for loc, message in items]


def duplicate_ids(loaded: list[Loaded]) -> list[Problem]:
    """Runbook ids used by more than one file, reported at each later file's `id:` line."""
    first: dict[str, str] = {}
    problems = []
    for item in loaded:
        runbook_id = item.runbook.id
        if runbook_id in first:
            match = ID_LINE.search(item.source)
            line = item.source[: match.start()].count("\n") + 1 if match else 1
            message = f"duplicate runbook id '{runbook_id}' (also in {first[runbook_id]})"
            problems.append(Problem(item.path, line, message))
        else:
            first[runbook_id] = item.path
    return problems
