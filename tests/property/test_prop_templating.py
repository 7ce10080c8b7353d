"""Hostile values never change the shape of a command, a query or a target: the rendered
text parses into the same pieces as with a harmless value, the value being one literal
piece, or the render is refused with TemplateError."""

from __future__ import annotations

import re
import shlex
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml
from hypothesis import given
from hypothesis import strategies as st

from sre_tui.core.templating import (
    K8S_LABEL_VALUE,
    K8S_NAME,
    Context,
    TemplateError,
    placeholders,
    render,
)
from tests.property.strategies import RUNBOOK_FILES, hostile_text, property_settings

PROPERTY = property_settings(150, 500)


def _strings(node: object, key: str) -> list[str]:
    """Every string value under `key` anywhere in a YAML tree."""
    found: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                found.append(v)
            found.extend(_strings(v, key))
    elif isinstance(node, list):
        for item in node:
            found.extend(_strings(item, key))
    return found


def _shipped(key: str) -> list[str]:
    texts: list[str] = []
    for path in RUNBOOK_FILES:
        texts.extend(_strings(yaml.safe_load(path.read_text()), key))
    return sorted({t for t in texts if placeholders(t)})


COMMANDS = [
    *_shipped("command"),
    "kubectl -n {{ namespace }} logs {{ pod }} --tail=50",
    "echo {{ a }}{{ b }} x{{ a }}y",
    "curl -s http://svc/{{ a }}?q={{ b }} | jq .",
    "echo $(cat {{ a }}) `echo {{ b }}` # {{ a }}",
    "{{ a }}",
]
QUERIES = [
    *_shipped("promql"),
    'up{job="{{ a }}", instance=~"{{ b }}"}',
    'sum(rate(x{a!~"{{ a }}"}[{{ b }}])) > {{ a }}',
    "foo{a='{{ a }}'} > {{ b }}",
    "foo{a='\"'} > {{ a }}",
    'foo{a=`"`} > {{ a }}',
    'foo{a=~`{{ a }}`, b="{{ b }}"}',
    '# "comment\nfoo > {{ a }}',
    'label_replace(up, "x", "{{ a }}", "y", "(.*)")',
]
URLS = [
    *_shipped("url"),
    *_shipped("path"),
    "https://grafana.example/d/{{ a }}?var-ns={{ b }}&from=now-1h#{{ a }}",
    "http://{{ a }}:8080/api/{{ b }}/status",
]


def _values(text: str, value: str, other: str) -> dict[str, str]:
    names = placeholders(text)
    return {name: (value if i % 2 == 0 else other) for i, name in enumerate(dict.fromkeys(names))}


def _markers(text: str) -> dict[str, str]:
    return {name: f"MARK{i}X" for i, name in enumerate(dict.fromkeys(placeholders(text)))}


def _render_pair(
    template: str, value: str, other: str, context: Context
) -> tuple[dict[str, str], str, dict[str, str], str] | None:
    """(values, rendered with them, markers, rendered with the markers) — the hostile
    rendering and the shape it must keep — or None when the values are refused."""
    values = _values(template, value, other)
    try:
        rendered = render(template, values, context)
    except TemplateError:
        return None
    markers = _markers(template)
    return values, rendered, markers, render(template, markers, context)


def _substitute(piece: str, markers: dict[str, str], values: dict[str, str]) -> str:
    for name, marker in markers.items():
        piece = piece.replace(marker, values[name])
    return piece


# --- shell ------------------------------------------------------------------------------


@PROPERTY
@given(st.sampled_from(COMMANDS), hostile_text, hostile_text)
def test_shell_value_is_one_literal_piece(template: str, value: str, other: str) -> None:
    if (pair := _render_pair(template, value, other, Context.SHELL)) is None:
        return
    values, rendered, markers, shape = pair
    expected = [_substitute(t, markers, values) for t in shlex.split(shape)]
    assert shlex.split(rendered) == expected


# --- PromQL -----------------------------------------------------------------------------

_PROMQL_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<comment>\#[^\n]*)
    |(?P<dq>"(?:[^"\\\n]|\\.)*")|(?P<sq>'(?:[^'\\\n]|\\.)*')|(?P<raw>`[^`]*`)
    |(?P<word>[A-Za-z0-9_:.]+)|(?P<op>=~|!~|!=|==|>=|<=|.)""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _promql_tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens as PromQL's lexer splits them; strings come back decoded."""
    tokens = []
    for match in _PROMQL_TOKEN.finditer(text):
        kind = match.lastgroup or ""
        piece = match.group()
        if kind in ("space", "comment"):
            continue
        if kind in ("dq", "sq"):
            piece, kind = _ESCAPE.sub(r"\1", piece[1:-1]), "string"
        elif kind == "raw":
            piece, kind = piece[1:-1], "string"
        tokens.append((kind, piece))
    return tokens


@PROPERTY
@given(st.sampled_from(QUERIES), hostile_text, hostile_text)
def test_promql_value_stays_inside_its_string(template: str, value: str, other: str) -> None:
    if (pair := _render_pair(template, value, other, Context.PROMQL)) is None:
        return
    values, rendered, markers, shape_text = pair
    shape = _promql_tokens(shape_text)
    got = _promql_tokens(rendered)
    assert len(got) == len(shape), (rendered, got, shape)
    for index, ((kind, text), (want_kind, want)) in enumerate(zip(got, shape, strict=True)):
        assert kind == want_kind, (rendered, got, shape)
        literal = _substitute(want, markers, values)
        if want_kind != "string" or want == literal:
            assert text == literal, (rendered, got, shape)
            continue
        previous = shape[index - 1][1] if index else ""
        if previous in ("=~", "!~"):
            # A regex matcher: the value matches itself literally, as a whole.
            pattern = text
            assert re.fullmatch(pattern, literal), (rendered, pattern, literal)
            assert re.sub(r"\\(.)", r"\1", pattern) == literal
        else:
            assert text == literal, (rendered, got, shape)


# --- Kubernetes names, selectors, URLs ---------------------------------------------------


@PROPERTY
@given(hostile_text)
def test_k8s_name_is_a_name_or_refused(value: str) -> None:
    try:
        name = render("{{ a }}", {"a": value}, Context.K8S_NAME)
    except TemplateError:
        return
    assert name == value and K8S_NAME.fullmatch(name) and len(name) <= 253


@PROPERTY
@given(hostile_text, hostile_text)
def test_selector_value_cannot_add_a_requirement(value: str, other: str) -> None:
    try:
        selector = render("app={{ a }},tier={{ b }}", {"a": value, "b": other}, Context.SELECTOR)
    except TemplateError:
        return
    parts = selector.split(",")
    assert parts == [f"app={value}", f"tier={other}"]
    assert K8S_LABEL_VALUE.fullmatch(value) and K8S_LABEL_VALUE.fullmatch(other)


@PROPERTY
@given(st.sampled_from(URLS), hostile_text, hostile_text)
def test_url_value_adds_no_segment_or_parameter(template: str, value: str, other: str) -> None:
    if (pair := _render_pair(template, value, other, Context.URL)) is None:
        return
    values, rendered, markers, shape_text = pair
    shape = urlsplit(shape_text)
    got = urlsplit(rendered)
    assert (got.scheme, got.fragment.count("/")) == (shape.scheme, shape.fragment.count("/"))
    assert unquote(got.netloc) == _substitute(shape.netloc, markers, values)
    segments, want_segments = got.path.split("/"), shape.path.split("/")
    assert len(segments) == len(want_segments)
    for segment, want in zip(segments, want_segments, strict=True):
        assert unquote(segment) == _substitute(want, markers, values)
        assert unquote(segment) not in (".", "..") or want in (".", "..")
    query = parse_qsl(got.query, keep_blank_values=True)
    want_query = parse_qsl(shape.query, keep_blank_values=True)
    assert len(query) == len(want_query)
    for (key, item), (want_key, want_item) in zip(query, want_query, strict=True):
        assert (key, item) == (
            _substitute(want_key, markers, values),
            _substitute(want_item, markers, values),
        )
