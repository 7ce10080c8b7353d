"""`{{ name }}` templating with values inserted safely for where they land.

Single braces belong to PromQL, JSONPath and the shell and are left alone. Values are
untrusted (they come from the command line and from alert labels), so every field says
what kind of text it is and each value is escaped or validated for that kind. A value
that cannot be made safe raises `TemplateError` with a message meant for the user.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from enum import StrEnum
from urllib.parse import quote

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Anything that looks like a placeholder but is not a valid one ("{{ 1x }}", "{{}}").
LOOSE_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")

# DNS-1123 subdomain (object names) and label rules, as the API server checks them.
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
K8S_NAME = re.compile(rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$")
K8S_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# Outside a quoted string, PromQL only ever gets a duration, a number or an identifier.
PROMQL_BARE = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$|^-?\d+(\.\d+)?$|^[A-Za-z_:][A-Za-z0-9_:]*$")
# C0, DEL, C1 (U+009B starts a terminal escape sequence) and Unicode line separators.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_VALUE_LEN = 1024


class Context(StrEnum):
    """Where a rendered value lands."""

    TEXT = "text"  # shown to a human, never interpreted
    SHELL = "shell"  # a command line
    PROMQL = "promql"
    K8S_NAME = "k8s-name"  # a whole field that must be a Kubernetes object name
    SELECTOR = "selector"  # a label selector: values must be valid label values
    URL = "url"


class TemplateError(ValueError):
    """A value cannot be inserted safely, or a variable is missing."""


def placeholders(text: str) -> list[str]:
    return [m.group(1) for m in PLACEHOLDER.finditer(text)]


def malformed_placeholders(text: str) -> list[str]:
    """Return `{{ ... }}` spans that are not a single valid variable name."""
    return [
        m.group(0)
        for m in LOOSE_PLACEHOLDER.finditer(text)
        if not PLACEHOLDER.fullmatch(m.group(0))
    ]


def _check_common(name: str, value: str) -> None:
    if len(value) > MAX_VALUE_LEN:
        raise TemplateError(f"value of '{name}' is longer than {MAX_VALUE_LEN} characters")
    if CONTROL_CHARS.search(value):
        raise TemplateError(
            f"value of '{name}' contains control characters (newline, escape, …); refused"
        )


def _promql_string(value: str) -> str:
    # Inside a double-quoted PromQL string: escape backslash and quote.
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _open_quote(text: str, pos: int) -> tuple[int, str] | None:
    """Index and character of the quote opening the PromQL string that `pos` lies in.

    PromQL has three kinds of strings ("…", '…' and raw `…`) and `#` comments; a quote
    of another kind, or one in a comment, opens nothing.
    """
    opened: tuple[int, str] | None = None
    i = 0
    while i < pos:
        ch = text[i]
        if opened is None:
            if ch == "#":
                end = text.find("\n", i)
                if end == -1 or end >= pos:
                    return None
                i = end
            elif ch in "\"'`":
                opened = (i, ch)
        elif ch == "\\" and opened[1] != "`":
            i += 2
            continue
        elif ch == opened[1]:
            opened = None
        i += 1
    return opened


REGEX_MATCHER = re.compile(r"[=!]~\s*$")
REGEX_META = re.compile(r"([\\.^$|?*+()\[\]{}])")


def shell_quote_context(text: str, pos: int) -> str | None:
    """Return the quote character open at `pos` in a shell command, if any."""
    quote_char: str | None = None
    i = 0
    while i < pos:
        ch = text[i]
        if quote_char is None:
            if ch == "\\":
                i += 2
                continue
            if ch in "'\"":
                quote_char = ch
        elif ch == quote_char:
            quote_char = None
        elif ch == "\\" and quote_char == '"':
            i += 2
            continue
        i += 1
    return quote_char


def escape_value(
    name: str, value: str, context: Context, *, in_string: bool = False, in_regex: bool = False
) -> str:
    """Make `value` safe for `context`, or raise TemplateError."""
    _check_common(name, value)
    if context is Context.TEXT:
        return value
    if context is Context.SHELL:
        return shlex.quote(value)
    if context is Context.PROMQL:
        if in_string:
            # In a `=~"…"` matcher the value is a literal, not a pattern of its own.
            return _promql_string(REGEX_META.sub(r"\\\1", value) if in_regex else value)
        if not PROMQL_BARE.match(value):
            raise TemplateError(
                f"value {value!r} of '{name}' is not a duration, number or metric name; "
                "outside a quoted label value PromQL accepts nothing else"
            )
        return value
    if context is Context.K8S_NAME:
        if len(value) > 253 or not K8S_NAME.match(value):
            raise TemplateError(
                f"value {value!r} of '{name}' is not a valid Kubernetes name "
                "(lower-case letters, digits, '-' and '.')"
            )
        return value
    if context is Context.SELECTOR:
        if len(value) > 63 or not K8S_LABEL_VALUE.match(value):
            raise TemplateError(
                f"value {value!r} of '{name}' is not a valid Kubernetes label value"
            )
        return value
    if context is Context.URL:
        if value.strip(".") == "":
            raise TemplateError(f"value {value!r} of '{name}' would change the URL's path")
        return quote(value, safe="")
    raise TemplateError(f"unknown template context {context}")  # pragma: no cover


def render(text: str, values: Mapping[str, str], context: Context) -> str:
    """Replace every `{{ name }}` in `text`, escaping each value for `context`."""
    out: list[str] = []
    last = 0
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1)
        if name not in values:
            raise TemplateError(f"variable '{name}' has no value (pass --var {name}=VALUE)")
        out.append(text[last : match.start()])
        preceding = text[: match.start()]
        if context is Context.SHELL and (len(preceding) - len(preceding.rstrip("\\"))) % 2:
            raise TemplateError(
                f"placeholder '{{{{ {name} }}}}' follows a backslash in a command; "
                "the backslash would escape the quoting sre-tui adds"
            )
        if context is Context.SHELL and shell_quote_context(text, match.start()):
            raise TemplateError(
                f"placeholder '{{{{ {name} }}}}' sits inside quotes in a command; "
                "write it unquoted, sre-tui quotes values itself"
            )
        value = str(values[name])
        starts_word = not preceding or preceding[-1] in " \t\n;|&("
        if context is Context.SHELL and starts_word and value.startswith("-"):
            # Quoting keeps it one word, yet a command still reads a word "--kubeconfig=…"
            # as an option: a value from an alert label must not choose a command's options.
            raise TemplateError(
                f"value {value!r} of '{name}' starts with '-': the command would read it "
                "as an option"
            )
        opened = _open_quote(text, match.start()) if context is Context.PROMQL else None
        # Only double-quoted strings are escaped into; in '…' and `…` (and comments) a
        # value must pass the bare-value rules, which admit no quote of any kind.
        quote = opened[0] if opened is not None and opened[1] == '"' else None
        in_regex = quote is not None and bool(REGEX_MATCHER.search(text[:quote]))
        out.append(
            escape_value(name, value, context, in_string=quote is not None, in_regex=in_regex)
        )
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def missing(texts: Iterable[str], values: Mapping[str, str]) -> list[str]:
    """Names used in `texts` that `values` does not define, in first-use order."""
    seen: dict[str, None] = {}
    for text in texts:
        for name in placeholders(text):
            if name not in values:
                seen.setdefault(name)
    return list(seen)
