"""The runbook loader on any text: a runbook, or a list of problems with a line each —
never a traceback, never a hang."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from sre_tui.backends.config_files import EXAMPLE_CONFIG, load_config
from sre_tui.core.lint import Problem, validate_text
from sre_tui.core.runbook import Runbook
from tests.property.strategies import (
    RUNBOOK_FILES,
    hostile_piece,
    hostile_text,
    json_value,
    property_settings,
    time_limit,
)

PROPERTY = property_settings(100, 2000)
SOURCES = [path.read_text() for path in RUNBOOK_FILES]
TREES = [yaml.safe_load(text) for text in SOURCES]
KILL_SWITCHES = tuple(load_config(str(EXAMPLE_CONFIG)).kill_switch_ids)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def check(text: str) -> None:
    with time_limit(5):
        runbook, problems = validate_text(text, "fuzz.yaml", KILL_SWITCHES)
    assert isinstance(problems, list)
    for problem in problems:
        assert isinstance(problem, Problem)
        assert isinstance(problem.line, int) and problem.line >= 1
        assert isinstance(problem.message, str) and problem.message.strip()
    if runbook is None:
        assert problems, "no runbook and no problem to say why"
    else:
        assert isinstance(runbook, Runbook) and not problems


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """A shipped runbook's text with a few edits: cut, insert, duplicate or move lines."""
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.splitlines(keepends=True) or [""]
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["insert", "cut", "dup", "indent", "swap", "chars"]))
        if edit == "insert":
            pos = draw(st.integers(0, len(lines[at])))
            piece = draw(st.one_of(hostile_piece, hostile_text))
            lines[at] = lines[at][:pos] + piece + lines[at][pos:]
        elif edit == "cut":
            del lines[at : at + draw(st.integers(1, 5))]
        elif edit == "dup":
            lines.insert(at, lines[at])
        elif edit == "indent":
            lines[at] = draw(st.sampled_from(["  ", "\t", " "])) + lines[at]
        elif edit == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        else:
            start = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:start] + lines[at][start + draw(st.integers(0, 10)) :]
        text = "".join(lines)
    return text


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*path, index)))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = dict(node) if isinstance(node, dict) else list(node)
    copy[head] = _replace(copy[head], rest, value)
    return copy


@st.composite
def mutated_tree(draw: st.DrawFn) -> str:
    """A shipped runbook with a few values replaced by arbitrary ones, dumped back."""
    tree = draw(st.sampled_from(TREES))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(tree)
        path = draw(st.sampled_from(paths[1:] or paths))
        tree = _replace(tree, path, draw(json_value))
    return yaml.dump(tree, Dumper=_Dumper, allow_unicode=True, sort_keys=False)


@PROPERTY
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    check(text)


@PROPERTY
@given(mutated_text())
def test_mutated_runbook_text(text: str) -> None:
    check(text)


@PROPERTY
@given(mutated_tree())
def test_mutated_runbook_values(text: str) -> None:
    check(text)


def test_every_shipped_runbook_is_valid() -> None:
    # The mutations start from valid runbooks; make sure they are.
    for text in SOURCES:
        runbook, problems = validate_text(text, "shipped.yaml", KILL_SWITCHES)
        assert runbook is not None, problems
