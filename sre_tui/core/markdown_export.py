"""A runbook as Markdown a person would write: headings, labelled lists, tables, code blocks.

The shape is also what `core.markdown_import` reads back ("the exported shape"): a
`# Runbook: <title>` heading with a labelled list (`**ID:**`, `**Severity:**` …), then one
`##` part per topic. Runbook sections are `##` headings whose labelled list names a
`**Kind:**`; their steps are numbered `###` headings. Values that must survive exactly
(ids, commands, selectors, URLs) are code spans or fenced blocks; prose is escaped text.
"""

from __future__ import annotations

import re
from typing import Any

from sre_tui.core.runbook import Runbook

# Fields written as prose (escaped text), read back as text; every other string is code.
PROSE_KEYS = frozenset({"text", "expect", "description", "meaning", "comment", "note", "title"})
# Fields that hold lists of scalars, written inline ("`a`, `b`" or "200, 201").
LIST_KEYS = frozenset({"tags", "alerts", "urls", "highlight", "severities", "expect_status"})
EMPTY = "(empty)"
NONE = "none"
EMPTY_LIST = "(none)"
DASH = " — "

# The `##` parts of the exported shape; the importer finds them by these titles.
PART_SUMMARY = "Summary"
PART_VARIABLES = "Variables"
PART_SYMPTOMS = "Symptoms"
PART_QUERIES = "Queries"
PART_LOGS = "Logs"
PART_CHECKS = "Health checks"
PART_DASHBOARDS = "Dashboards"
PART_ACTIONS = "Actions"
PART_ESCALATION = "Escalation"
PART_CONTACTS = "Contacts"
TITLE_PREFIX = "Runbook: "

VARIABLE_COLUMNS = ("Variable", "Default", "Example", "Alert label", "Description")
ESCALATION_COLUMNS = ("After (minutes)", "Severities", "To", "Via", "Contact", "Note")
CONTACT_COLUMNS = ("Role", "Name", "Contact", "Via")

_LINE_START = re.compile(r"^(\s*)([-+*=>#]|\d+(?=[.)]))")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def label_of(key: str) -> str:
    """The label shown for a field key ("expect_status" → "Expect status")."""
    return "ID" if key == "id" else key.replace("_", " ").capitalize()


def key_of(label: str) -> str:
    """The field key for a label (inverse of `label_of`)."""
    return label.strip().lower().replace(" ", "_")


def esc(text: str, *, hashes: bool = False, line_starts: bool = True) -> str:
    """Escape `text` so Markdown shows it, and parses back to it, literally."""
    text = text.replace("\\", "\\\\")
    text = re.sub(r"([`*\[\]|#])" if hashes else r"([`*\[\]|])", r"\\\1", text)
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)
    text = re.sub(r"<(?=[A-Za-z/!?])", r"\\<", text)
    text = _ENTITY.sub(r"\\&", text)
    lines = []
    for line in text.split("\n"):
        match = _LINE_START.match(line) if line_starts else None
        if match:
            start = match.end(1)
            if match.group(2)[0].isdigit():
                end = match.end(2)
                line = line[:end] + "\\" + line[end:]
            else:
                line = line[:start] + "\\" + line[start:]
        lines.append(line.rstrip())
    return "\n".join(lines)


def esc_heading(text: str) -> str:
    return esc(" ".join(text.split()), hashes=True)


def esc_cell(text: str) -> str:
    # Inside a table cell nothing at the start of the text can open a block.
    return esc(" ".join(text.split("\n")).strip(), line_starts=False)


def code(text: str) -> str:
    """`text` as a code span that reads back exactly."""
    if text == "":
        return EMPTY
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = ""
    if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " " and text.strip()):
        pad = " "
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(text: str, lang: str) -> list[str]:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    ticks = "`" * (longest + 1)
    # The fence's content is `text` plus one newline when it has none; the reader drops one.
    return [f"{ticks}{lang}", text, ticks]


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return NONE
    if isinstance(value, int | float):
        return repr(value)
    return code(str(value))


def _nested(value: Any, indent: str) -> list[str]:
    """A dict or list as a nested Markdown list (one `- key: value` per entry)."""
    lines: list[str] = []
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for key, item in items:
        head = f"{indent}- " + (f"{code(str(key))}:" if key is not None else "")
        if isinstance(item, dict | list) and item:
            lines.append(head.rstrip() if key is not None else f"{indent}-")
            lines.extend(_nested(item, indent + "  "))
        else:
            empty = "(empty map)" if isinstance(item, dict) else "(empty list)"
            text = empty if isinstance(item, dict | list) else scalar(item)
            lines.append(f"{head} {text}" if key is not None else f"{head}{text}")
    return lines


def field_item(key: str, value: Any) -> list[str]:
    label = f"- **{label_of(key)}:**"
    if key in PROSE_KEYS and isinstance(value, str):
        text = esc(value.rstrip())
        return [f"{label} {text}".replace("\n", "\n  ")]
    if key in LIST_KEYS and isinstance(value, list):
        if not value:
            return [f"{label} {EMPTY_LIST}"]
        return [f"{label} " + ", ".join(scalar(v) for v in value)]
    if isinstance(value, dict | list):
        if not value:
            return [f"{label} " + ("(empty map)" if isinstance(value, dict) else "(empty list)")]
        return [label, *_nested(value, "  ")]
    return [f"{label} {scalar(value)}"]


def field_list(data: dict[str, Any], skip: tuple[str, ...] = ("title",)) -> list[str]:
    lines: list[str] = []
    for key, value in data.items():
        if key not in skip:
            lines.extend(field_item(key, value))
    return lines


def _table(columns: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines.extend("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)
    return lines


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def _paragraphs(text: str) -> list[str]:
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text.strip()):
        out.extend([esc(para), ""])
    return out


def _focus(focus: dict[str, Any]) -> str:
    return ", ".join(f"{key} {code(str(value))}" for key, value in focus.items())


def _verify(verify: dict[str, Any]) -> str:
    bound = "below" if "below" in verify else "above"
    return f"query {code(verify['query'])} {bound} {verify[bound]!r}"


def _link(link: dict[str, Any]) -> str:
    title = esc(link["title"])
    return f"{title}{DASH}{code(link['url'])}" if link.get("url") else title


def to_markdown(runbook: Runbook) -> str:
    """`runbook` as readable Markdown that `markdown_import` reads back to the same runbook."""
    data = _dump(runbook)
    out: list[str] = [f"# {TITLE_PREFIX}{esc_heading(runbook.title)}", ""]
    meta_keys = ("id", "severity", "service", "owner", "platform", "version", "last_reviewed")
    meta = {key: data[key] for key in (*meta_keys, "tags", "alerts", "urls") if key in data}
    meta["severity"] = runbook.severity.value
    out += [*field_list(meta), ""]
    if runbook.summary:
        out += [f"## {PART_SUMMARY}", "", *_paragraphs(runbook.summary)]
    if runbook.variables:
        rows = [
            [
                code(name),
                "" if var.default is None else code(var.default),
                "" if var.example is None else code(var.example),
                "" if var.label is None else code(var.label),
                esc_cell(var.description),
            ]
            for name, var in runbook.variables.items()
        ]
        out += [f"## {PART_VARIABLES}", "", *_table(VARIABLE_COLUMNS, rows), ""]
    if runbook.symptoms:
        out += [f"## {PART_SYMPTOMS}", ""]
        out += [f"- {esc(s.rstrip())}".replace("\n", "\n  ") for s in runbook.symptoms] + [""]
    if runbook.queries:
        out += [f"## {PART_QUERIES}", ""]
        for query in runbook.queries:
            fields = _dump(query)
            promql = fields.pop("promql")
            out += [f"### {esc_heading(query.title)}", "", *field_list(fields), ""]
            out += [*fence(promql, "promql"), ""]
    if runbook.logs is not None:
        out += [f"## {PART_LOGS}", "", *field_list(_dump(runbook.logs)), ""]
    if runbook.checks:
        out += [f"## {PART_CHECKS}", ""]
        for check in runbook.checks:
            out += [f"### {esc_heading(check.title)}", "", *field_list(_dump(check)), ""]
    if runbook.dashboards:
        out += [f"## {PART_DASHBOARDS}", ""]
        out += [f"- {_link(_dump(link))}" for link in runbook.dashboards] + [""]
    for section in runbook.sections:
        out += [f"## {esc_heading(section.title)}", ""]
        out += [f"- **ID:** {code(section.id)}", f"- **Kind:** {section.kind.value}", ""]
        for number, step in enumerate(section.steps, start=1):
            out += _step(number, _dump(step))
    if runbook.actions:
        out += [f"## {PART_ACTIONS}", ""]
        for action in runbook.actions:
            fields = _dump(action)
            fields["kind"] = action.kind
            out += [f"### {esc_heading(action.title)}", "", *field_list(fields), ""]
    if runbook.escalation:
        rows = [
            [
                "" if rule.after_minutes is None else str(rule.after_minutes),
                ", ".join(s.value for s in rule.severities),
                esc_cell(rule.to),
                esc_cell(rule.via),
                esc_cell(rule.contact),
                esc_cell(rule.note),
            ]
            for rule in runbook.escalation
        ]
        out += [f"## {PART_ESCALATION}", "", *_table(ESCALATION_COLUMNS, rows), ""]
    if runbook.contacts:
        rows = [
            [esc_cell(c.role), esc_cell(c.name), esc_cell(c.contact), esc_cell(c.via)]
            for c in runbook.contacts
        ]
        out += [f"## {PART_CONTACTS}", "", *_table(CONTACT_COLUMNS, rows), ""]
    return "\n".join(out).rstrip() + "\n"


def _step(number: int, step: dict[str, Any]) -> list[str]:
    out = [f"### {number}. {esc_heading(step.pop('title'))}", ""]
    text = step.pop("text", "")
    if text:
        out += _paragraphs(text)
    command = step.pop("command", None)
    if command is not None:
        out += [*fence(command, "sh"), ""]
    items = [f"- **ID:** {code(step.pop('id'))}"]
    focus = step.pop("focus", None)
    verify = step.pop("verify", None)
    links = step.pop("links", [])
    items += field_list(step, skip=())
    if focus:
        items.append(f"- **Focus:** {_focus(focus)}")
    if verify:
        items.append(f"- **Verify:** {_verify(verify)}")
    items += [f"- **Link:** {_link(link)}" for link in links]
    return [*out, *items, ""]
