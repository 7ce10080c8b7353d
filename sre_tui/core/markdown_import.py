"""Markdown runbooks → runbook dicts (the YAML shape) and warnings; no file I/O.

The text is read with markdown-it-py (CommonMark, GFM tables, task lists) into a tree of
heading sections. Each section's content is split into labelled parts, whether the label
is a heading ("## Diagnosis") or a bold lead-in ("**Symptoms:** …", "1. **Immediate
Actions:**"). A section becomes a runbook when its parts look like one (symptoms or a
meaning next to steps), when it is titled "Issue: …", or when it sits under "Common
Issues", "Emergency Procedures" or "Runbooks". Tables such as Kill Switches, Key Metrics,
Health Endpoints and Emergency Contacts outside every runbook apply to all runbooks of the
document. What cannot be mapped is kept as step text or listed in a warning.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.tasklists import tasklists_plugin
from pydantic import ValidationError

from sre_tui.core import markdown_export as ex
from sre_tui.core.lint import BUILTIN_VARIABLES, cross_check
from sre_tui.core.runbook import ENV_VAR_PATTERN, ID_PATTERN, Runbook
from sre_tui.core.templating import PLACEHOLDER, shell_quote_context
from sre_tui.core.yamlsource import MAX_BYTES as MAX_YAML_BYTES

MAX_TITLE = 100
SHELL_LANGS = {"", "bash", "sh", "shell", "console", "zsh", "shell-session", "terminal", "cmd"}
COMMAND_WORDS = re.compile(
    r"^(\$\s*)?(kubectl|curl|wget|helm|aws|gcloud|az|psql|mysql|redis-cli|docker|podman|"
    r"systemctl|journalctl|grep|cat|ls|tail|head|ssh|git|find|jq|sh|bash|python3?|promtool|"
    r"amtool|nc|dig|nslookup|ping|top|ps|df|du|free|openssl|vault|terraform|watch|kill|"
    r"sudo|echo|export|cd|make|npm|wrangler|istioctl|linkerd|etcdctl|crictl|oc|k9s|"
    r"\./|/)\S*"
)
WORD_PLACEHOLDER = re.compile(r"\[([A-Za-z][A-Za-z0-9_.:-]*)\]|<([A-Za-z][A-Za-z0-9_.:-]*)>")
CHAR_RANGE = re.compile(r"^[A-Za-z0-9]-[A-Za-z0-9]$")
ONLY_PLACEHOLDER = re.compile(r"^(\[[^\]]*\]|<[^>]*>|\.\.\.|…)$")
SEVERITY_WORDS = (
    (re.compile(r"\bsev-?\s*([1-4])\b", re.I), None),
    (re.compile(r"\bp0\b|\bcritical\b", re.I), "SEV1"),
    (re.compile(r"\bp1\b|\bhigh\b|\bmajor\b", re.I), "SEV2"),
    (re.compile(r"\bp2\b|\bmedium\b|\bwarning\b|\bmoderate\b", re.I), "SEV3"),
    (re.compile(r"\bp3\b|\blow\b|\binfo\b|\bminor\b", re.I), "SEV4"),
)
ROLES = (
    ("symptoms", r"symptom|signs?\b|indicators?"),
    ("alert", r"^alert( name)?s?$"),
    ("severity", r"^(severity|criticality|priority)$"),
    ("meaning", r"^(meaning|description|summary|overview|what it means|context)$"),
    ("impact", r"impact"),
    ("toggles", r"toggle|environment variables?|env vars?"),
    ("dashboards", r"dashboard"),
    ("escalation", r"escalat|contacts?$|who to call"),
    ("post-incident", r"post.?(mortem|incident)|follow.?up"),
    ("verification", r"verif|validat|confirm recovery"),
    ("triage", r"immediate|triage|first (steps|response)|initial response|quick check"),
    ("mitigation", r"mitigat|workaround|stop (the )?(bleeding|writes)|contain"),
    ("remediation", r"resol|fix|remediat|restore|recover|rollback|solution|repair"),
    ("diagnosis", r"diagnos|check|investigat|commands?$|assess|debug|troubleshoot|inspect"),
)
STEP_ROLES = {"triage", "diagnosis", "mitigation", "remediation", "verification", "toggles"}
RUNBOOK_PARENTS = re.compile(
    r"common issues|known issues|common problems|emergency|^runbooks?$|^alerts?$|"
    r"failure (modes|scenarios)|^playbooks?$|^incidents?$|^scenarios$",
    re.I,
)
TARGET_VARIABLES = ("deployment", "service_name", "service", "app", "app_name", "system_name")
STOPWORDS = {"is", "the", "a", "an", "of", "on", "in", "to", "for", "and"}


@dataclass
class ImportResult:
    runbooks: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ImportFailed(ValueError):
    """The text holds no runbook this importer can recognise."""


# --- Markdown tree ---------------------------------------------------------------------


def parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table").use(tasklists_plugin)


def plain(children: Iterable[SyntaxTreeNode]) -> str:
    """Inline nodes as plain text (code spans without backticks, checkboxes dropped)."""
    out: list[str] = []
    for node in children:
        if node.type in ("text", "code_inline"):
            out.append(node.content)
        elif node.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif node.type == "html_inline":
            if "task-list-item-checkbox" not in node.content:
                out.append(node.content)
        else:
            out.append(plain(node.children))
    return "".join(out)


def meaningful(children: Iterable[SyntaxTreeNode]) -> list[SyntaxTreeNode]:
    return [
        c
        for c in children
        if not (c.type == "text" and not c.content.strip())
        and not (c.type == "html_inline" and "task-list-item-checkbox" in c.content)
    ]


def inline_of(node: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    """The inline children of a paragraph, heading or table cell."""
    for child in node.children:
        if child.type == "inline":
            return list(child.children)
    return []


@dataclass
class Sec:
    level: int
    title: str
    blocks: list[SyntaxTreeNode] = field(default_factory=list)
    children: list[Sec] = field(default_factory=list)
    parent: Sec | None = None

    def walk(self) -> Iterator[Sec]:
        yield self
        for child in self.children:
            yield from child.walk()

    def path(self) -> str:
        names = []
        node: Sec | None = self
        while node is not None and node.level > 0:
            names.append(node.title)
            node = node.parent
        return " › ".join(reversed(names)) or "(document)"


def build_tree(root: SyntaxTreeNode) -> Sec:
    doc = Sec(0, "")
    stack = [doc]
    for node in root.children:
        if node.type == "heading":
            level = int(node.tag[1])
            while stack[-1].level >= level:
                stack.pop()
            sec = Sec(level, " ".join(plain(inline_of(node)).split()), parent=stack[-1])
            stack[-1].children.append(sec)
            stack.append(sec)
        else:
            stack[-1].blocks.append(node)
    return doc


# --- Labelled parts --------------------------------------------------------------------

Item = tuple[str, Any]  # ("line", [inline nodes]) or ("node", SyntaxTreeNode)


@dataclass
class Part:
    label: str | None
    items: list[Item] = field(default_factory=list)
    level: int = 0  # heading level when the label is a heading

    @property
    def role(self) -> str | None:
        return role_of(self.label) if self.label else None


def role_of(label: str) -> str | None:
    text = re.sub(r"^[\d.\s)]+", "", label).strip().lower()
    for role, pattern in ROLES:
        if re.search(pattern, text):
            return role
    return None


def split_lines(children: list[SyntaxTreeNode]) -> list[list[SyntaxTreeNode]]:
    lines: list[list[SyntaxTreeNode]] = [[]]
    for child in children:
        if child.type in ("softbreak", "hardbreak"):
            lines.append([])
        else:
            lines[-1].append(child)
    return [line for line in lines if meaningful(line)]


def leading_label(line: list[SyntaxTreeNode]) -> tuple[str | None, list[SyntaxTreeNode]]:
    """`**Label:** rest` → ("Label", rest); otherwise (None, line)."""
    nodes = meaningful(line)
    if not nodes or nodes[0].type != "strong":
        return None, line
    label = " ".join(plain(nodes[0].children).split())
    rest = line[line.index(nodes[0]) + 1 :]
    if label.endswith(":") and len(label) > 1:
        return label[:-1].strip(), rest
    if rest and rest[0].type == "text" and rest[0].content.lstrip().startswith(":"):
        head = rest[0].content.lstrip()[1:]
        return label, [_FakeText(head), *rest[1:]]  # type: ignore[list-item]
    return None, line


@dataclass
class _FakeText:
    """A text node standing for what is left of a text after a label's colon."""

    content: str
    type: str = "text"
    children: tuple[()] = ()


def segment(blocks: list[SyntaxTreeNode]) -> list[Part]:
    parts = [Part(None)]
    for block in blocks:
        if block.type == "paragraph":
            for line in split_lines(inline_of(block)):
                label, rest = leading_label(line)
                if label:
                    parts.append(Part(label, [("line", rest)] if meaningful(rest) else []))
                else:
                    parts[-1].items.append(("line", line))
            continue
        if block.type in ("ordered_list", "bullet_list") and len(block.children) == 1:
            item = block.children[0]
            first = item.children[0] if item.children else None
            if first is not None and first.type == "paragraph":
                lines = split_lines(inline_of(first))
                label, rest = leading_label(lines[0]) if lines else (None, [])
                if label:
                    part = Part(label, [("line", rest)] if meaningful(rest) else [])
                    part.items += [("line", line) for line in lines[1:]]
                    part.items += [("node", child) for child in item.children[1:]]
                    parts.append(part)
                    continue
        parts[-1].items.append(("node", block))
    return [part for part in parts if part.label or part.items]


def sec_parts(sec: Sec) -> list[Part]:
    parts = segment(sec.blocks)
    for child in sec.children:
        for index, sub in enumerate(child.walk()):
            title = sub.title if index == 0 else f"{child.title}: {sub.title}"
            inner = segment(sub.blocks)
            lead = inner[0] if inner and inner[0].label is None else Part(None)
            parts.append(Part(title, lead.items, level=sub.level))
            parts.extend(p for p in inner if p.label is not None)
    return parts


# --- Small helpers ---------------------------------------------------------------------


def slug(text: str, sep: str = "-", limit: int = 60) -> str:
    value = re.sub(r"[^a-z0-9]+", sep, text.lower()).strip(sep)[:limit].strip(sep)
    return value or "item"


def identifier(word: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", word).strip("_").lower() or "value"
    return f"v_{name}" if name[0].isdigit() else name


class Ids:
    """Unique ids within one collection."""

    def __init__(self, sep: str = "-") -> None:
        self.seen: set[str] = set()
        self.sep = sep

    def make(self, text: str) -> str:
        base = slug(text, self.sep)
        candidate, n = base, 2
        while candidate in self.seen:
            candidate = f"{base[:56]}{self.sep}{n}"
            n += 1
        self.seen.add(candidate)
        return candidate


def severity_of(text: str) -> str | None:
    for pattern, value in SEVERITY_WORDS:
        match = pattern.search(text)
        if match:
            return value or f"SEV{match.group(1)}"
    return None


def minutes_of(text: str) -> int | None:
    match = re.search(r"(\d+)\s*(m\b|min|minute|h\b|hr|hour)", text, re.I)
    if not match:
        return None
    value = int(match.group(1))
    return value * 60 if match.group(2).lower().startswith("h") else value


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS}


def split_title(text: str) -> tuple[str, str]:
    """A step title from `text`; the rest (or all of it, when cut) as the text."""
    text = " ".join(text.split())
    if len(text) <= MAX_TITLE:
        return text, ""
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    if len(sentence) <= MAX_TITLE:
        return sentence, text
    return text[: MAX_TITLE - 1].rstrip() + "…", text


def defuse_braces(text: str) -> str:
    """`{{ … }}` that is not a valid placeholder would be a lint error; break it apart."""
    if "{{" not in text and "}}" not in text:
        return text
    kept: list[str] = []
    last = 0
    for match in PLACEHOLDER.finditer(text):
        kept.append(text[last : match.start()].replace("{{", "{ {").replace("}}", "} }"))
        kept.append(match.group(0))
        last = match.end()
    kept.append(text[last:].replace("{{", "{ {").replace("}}", "} }"))
    return "".join(kept)


def table_rows(node: SyntaxTreeNode) -> tuple[list[str], list[list[str]]]:
    header: list[str] = []
    rows: list[list[str]] = []
    for part in node.children:
        for tr in part.children:
            cells = [" ".join(plain(inline_of(cell)).split()) for cell in tr.children]
            if part.type == "thead":
                header = cells
            else:
                rows.append(cells)
    return header, rows


def unemph(text: str) -> str:
    return text.strip().strip("_*").strip()


def is_placeholder(text: str) -> bool:
    stripped = unemph(text)
    return not stripped or stripped in ("—", "-", "–") or bool(ONLY_PLACEHOLDER.match(stripped))


# --- Pre-processing --------------------------------------------------------------------

FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)\s*$")
MARKDOWN_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*(markdown|md)\s*$", re.I)


def unwrap_markdown_fences(text: str, warnings: list[str]) -> str:
    """Re-join a document pasted inside a ```markdown fence so it parses as Markdown.

    Its inner fences end the outer one early under CommonMark; here inner fences pair up
    and the outer fence ends at a bare fence followed by a `##` heading (or at the end).
    """
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if MARKDOWN_FENCE.match(line)), None)
    while start is not None:
        end: int | None = None
        inner_open = False
        for j in range(start + 1, len(lines)):
            match = FENCE_LINE.match(lines[j])
            if not match:
                continue
            info = match.group(2)
            if inner_open:
                if not info:  # a bare fence closes the inner block
                    inner_open = False
                continue
            if info:
                inner_open = True
                continue
            following = next((line for line in lines[j + 1 :] if line.strip()), None)
            if following is None or re.match(r"^ {0,3}#{2,6}\s", following):
                end = j
                break
            inner_open = True
        stop = end if end is not None else len(lines)
        where = f"lines {start + 1}–{stop + 1}"
        warnings.append(f"read the Markdown pasted inside a ```markdown fence ({where})")
        lines = lines[:start] + lines[start + 1 : stop] + lines[stop + 1 :]
        start = next(
            (i for i, line in enumerate(lines[start:], start) if MARKDOWN_FENCE.match(line)),
            None,
        )
    return "\n".join(lines)


def strip_front_matter(text: str, warnings: list[str]) -> tuple[str, dict[str, str]]:
    if not text.startswith("---\n"):
        return text, {}
    end = text.find("\n---", 4)
    if end == -1 or text[:end].count("\n") > 60:
        return text, {}
    meta: dict[str, str] = {}
    for line in text[4:end].splitlines():
        key, _, value = line.partition(":")
        if value.strip():
            meta[key.strip().lower()] = value.strip().strip("'\"")
    used = {k: v for k, v in meta.items() if k in ("title", "severity", "alert")}
    ignored = sorted(set(meta) - set(used))
    if ignored:
        warnings.append(f"front matter keys not imported: {', '.join(ignored)}")
    rest = text[end + 4 :]
    return rest.split("\n", 1)[1] if "\n" in rest else "", used


# --- Runbook drafts --------------------------------------------------------------------


@dataclass
class StepDraft:
    title: str
    text: str = ""
    command: str | None = None
    expect: str | None = None
    action: str | None = None
    read_only: bool = False
    wants_command: bool = False  # its text ended with ":" (a command block follows)


@dataclass
class SectionDraft:
    kind: str
    title: str
    steps: list[StepDraft] = field(default_factory=list)


@dataclass
class Context:
    """Document-level content that applies to every runbook of the document."""

    queries: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    kill_steps: list[StepDraft] = field(default_factory=list)
    escalation: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    escalation_steps: list[StepDraft] = field(default_factory=list)
    post_steps: list[StepDraft] = field(default_factory=list)
    alert_rows: list[dict[str, str]] = field(default_factory=list)
    matched_alerts: set[str] = field(default_factory=set)
    dashboards: list[dict[str, Any]] = field(default_factory=list)
    needs_target: bool = False


class Draft:
    """One runbook being assembled."""

    def __init__(self, title: str, warn: list[str]) -> None:
        self.title = title
        self.warn = warn
        self.severity: str | None = None
        self.summary: list[str] = []
        self.symptoms: list[str] = []
        self.alerts: list[str] = []
        self.tags: list[str] = []
        self.owner = ""
        self.sections: list[SectionDraft] = []
        self.actions: list[dict[str, Any]] = []
        self.queries: list[dict[str, Any]] = []
        self.dashboards: list[dict[str, Any]] = []
        self.escalation: list[dict[str, Any]] = []
        self.contacts: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []
        self.action_ids = Ids()
        self.uses_target = False

    def section(self, kind: str, title: str) -> SectionDraft:
        for existing in self.sections:
            if existing.kind == kind and existing.title == title:
                return existing
        created = SectionDraft(kind, title)
        self.sections.append(created)
        return created

    def note(self, message: str) -> None:
        self.warn.append(f"{self.title}: {message}")


# --- Steps from Markdown blocks --------------------------------------------------------


def looks_like_command(text: str) -> bool:
    return bool(COMMAND_WORDS.match(text.strip())) and "\n" not in text.strip()


def steps_from_fence(lang: str, code: str, draft: Draft) -> list[StepDraft]:
    lang = (lang.split()[0] if lang.strip() else "").lower()
    code = code.rstrip("\n")
    if not code.strip():
        return []
    shell = lang in SHELL_LANGS and (lang != "" or _shell_like(code))
    if not shell:
        lines = code.split("\n")
        comment = next((ln for ln in lines if ln.strip().startswith(("--", "#", "//"))), None)
        title = comment.strip().lstrip("-#/ ").strip() if comment else f"{lang or 'Text'} block"
        if lang:
            draft.note(f"kept a {lang} code block as step text (not a shell command): {title}")
        return [StepDraft(title=title, text=code)]
    steps: list[StepDraft] = []
    comments: list[str] = []
    pending: list[str] = []
    used_comment = False
    lines = code.split("\n")
    if "<<" in code:  # a here-document: keep the block whole
        title = next((ln.lstrip("# ").strip() for ln in lines if ln.startswith("#")), "")
        body = "\n".join(ln for ln in lines if not ln.startswith("#"))
        return [StepDraft(title=title or body.split("\n")[0][:60], command=body.strip())]
    for raw in lines:
        line = raw.rstrip()
        stripped = line.strip()
        if not pending and stripped.startswith("#"):
            text = stripped.lstrip("#").strip()
            if text:
                if used_comment:
                    comments = []
                    used_comment = False
                comments.append(text)
            continue
        if not stripped and not pending:
            continue
        if lang in ("console", "shell-session") and stripped.startswith("$ "):
            stripped = stripped[2:]
        pending.append(stripped if not pending else line)
        if line.endswith("\\"):
            continue
        command = "\n".join(pending)
        pending = []
        title = " ".join(comments) if comments and not used_comment else ""
        steps.append(_command_step(title, command, draft))
        used_comment = bool(comments)
    if pending:
        steps.append(_command_step(" ".join(comments), "\n".join(pending), draft))
    if not steps and comments:
        steps.append(StepDraft(title=" ".join(comments)))
        draft.note(f"code block holds only comments; kept as a step: {' '.join(comments)}")
    return steps


def _shell_like(code: str) -> bool:
    """A code block without a language holds commands unless it looks like a drawing."""
    if re.search(r"[\u2190-\u21ff\u2500-\u257f]|-->|==>", code):
        return False
    lines = [ln.strip() for ln in code.split("\n") if ln.strip()]
    if any(ln.startswith("#") for ln in lines):
        return True
    return all(
        COMMAND_WORDS.match(ln) or ONLY_PLACEHOLDER.match(ln) or re.match(r"^[\w./-]+(\s|$)", ln)
        for ln in lines
    )


def _command_step(title: str, command: str, draft: Draft) -> StepDraft:
    if ONLY_PLACEHOLDER.match(command.strip()):
        draft.note(f"command placeholder {command.strip()} kept as step text")
        return StepDraft(title=title or command.strip(), text=f"Command: {command.strip()}")
    if not title:
        title = command.split("\n")[0].rstrip("\\ ")
        title = f"Run {title}" if len(title) <= 80 else f"Run {title[:77]}…"
    return StepDraft(title=title, command=command)


def step_from_item(item: SyntaxTreeNode, draft: Draft) -> list[StepDraft]:
    """A list item → a step (its nested list gives command / expected outcome / text)."""
    title_parts: list[str] = []
    texts: list[str] = []
    command: str | None = None
    expect: str | None = None
    extra: list[StepDraft] = []
    for index, child in enumerate(item.children):
        if child.type == "paragraph":
            inline = inline_of(child)
            nodes = meaningful(inline)
            if index > 0 and nodes and all(n.type == "em" for n in nodes):
                expect = " ".join(plain(inline).split())
                continue
            text, cmd = _text_and_command(inline)
            if cmd and command is None:
                command = cmd
            (title_parts if index == 0 else texts).append(text)
        elif child.type in ("bullet_list", "ordered_list"):
            for sub in child.children:
                sub_nodes = meaningful(inline_of(sub.children[0])) if sub.children else []
                sub_text = " ".join(plain(inline_of(sub.children[0])).split()) if sub_nodes else ""
                if len(sub_nodes) == 1 and sub_nodes[0].type == "code_inline":
                    code_text = sub_nodes[0].content
                    if command is None and not ONLY_PLACEHOLDER.match(code_text.strip()):
                        command = code_text
                        continue
                if sub_nodes and all(n.type == "em" for n in sub_nodes):
                    expect = sub_text
                    continue
                if sub_text:
                    texts.append(f"- {sub_text}")
                for deeper in sub.children[1:]:
                    texts.append(_block_text(deeper))
        elif child.type in ("fence", "code_block"):
            fence_steps = steps_from_fence(
                child.info if child.type == "fence" else "", child.content, draft
            )
            if len(fence_steps) == 1 and command is None and fence_steps[0].command:
                command = fence_steps[0].command
            else:
                extra.extend(fence_steps)
        else:
            texts.append(_block_text(child))
    title, rest = split_title(" ".join(" ".join(title_parts).split()))
    text = "\n".join(t for t in [rest, *texts] if t)
    if not title:
        title, text = (split_title(text)[0], text) if text else ("Step", "")
    step = StepDraft(title=title.rstrip(":").strip() or "Step", text=text, command=command)
    step.expect = expect
    step.wants_command = title.endswith(":") and command is None
    return [step, *extra]


def _text_and_command(inline: list[SyntaxTreeNode]) -> tuple[str, str | None]:
    """A line's text and the command in its last code span, if it holds one.

    "Check health: <code>curl …</code>" gives ("Check health", "curl …").
    """
    nodes = meaningful(inline)
    codes = [n for n in nodes if n.type == "code_inline"]
    last = codes[-1] if codes else None
    # "Label: `cmd args`" (the code span ends the line after a colon) is a command too.
    labelled = (
        last is not None
        and nodes[-1] is last
        and plain(inline[: inline.index(last)]).rstrip().endswith(":")
        and re.match(r"^[\w./-]+\s+\S", last.content.strip()) is not None
    )
    if last is not None and (looks_like_command(last.content) or labelled):
        cmd = last
        position = inline.index(cmd)
        before = " ".join(plain(inline[:position]).split()).rstrip(" :-—–")
        after = " ".join(plain(inline[position + 1 :]).split())
        if before or after:
            return " ".join(t for t in (before, after) if t), cmd.content
        return cmd.content, cmd.content
    return " ".join(plain(inline).split()), None


def _block_text(node: SyntaxTreeNode) -> str:
    if node.type == "paragraph":
        return plain(inline_of(node)).strip()
    if node.type in ("fence", "code_block"):
        return node.content.rstrip("\n")
    if node.type in ("bullet_list", "ordered_list"):
        return "\n".join(f"- {_block_text(c).strip()}" for c in node.children)
    if node.type == "table":
        header, rows = table_rows(node)
        return "\n".join(
            "; ".join(f"{h}: {c}" for h, c in zip(header, row, strict=False)) for row in rows
        )
    if node.type == "html_block":
        return node.content.strip()
    return "\n".join(_block_text(c) for c in node.children).strip()


def steps_from_items(items: list[Item], draft: Draft) -> list[StepDraft]:
    steps: list[StepDraft] = []
    for kind, value in items:
        if kind == "line":
            text, cmd = _text_and_command(value)
            nodes = meaningful(value)
            if steps and nodes and all(n.type == "em" for n in nodes):
                steps[-1].expect = text
                continue
            if not text:
                continue
            title, rest = split_title(text)
            wants = text.endswith(":") and cmd is None
            steps.append(StepDraft(title=title.rstrip(":"), text=rest, command=cmd))
            steps[-1].wants_command = wants
            continue
        node: SyntaxTreeNode = value
        if node.type in ("bullet_list", "ordered_list"):
            for item in node.children:
                steps.extend(step_from_item(item, draft))
        elif node.type in ("fence", "code_block"):
            found = steps_from_fence(node.info if node.type == "fence" else "", node.content, draft)
            previous = steps[-1] if steps else None
            if (
                previous
                and previous.wants_command
                and previous.command is None
                and found
                and found[0].command
                and found[0].title.startswith("Run ")
            ):
                previous.command = found.pop(0).command
            steps.extend(found)
        elif node.type == "table":
            header, rows = table_rows(node)
            for row in rows:
                cells = [c for c in row if c]
                if not cells:
                    continue
                title, _ = split_title(cells[0])
                text = "; ".join(
                    f"{h}: {c}" for h, c in zip(header[1:], row[1:], strict=False) if c
                )
                steps.append(StepDraft(title=title, text=text))
        elif node.type == "hr":
            continue
        else:
            text = _block_text(node)
            if text:
                title, _ = split_title(text.split("\n")[0])
                steps.append(StepDraft(title=title, text=text))
    return steps


def lines_of(items: list[Item]) -> list[str]:
    """Items as plain lines (list items one each), for symptoms and similar lists."""
    out: list[str] = []
    for kind, value in items:
        if kind == "line":
            text = " ".join(plain(value).split())
            if text:
                out.append(text)
        elif value.type in ("bullet_list", "ordered_list"):
            for item in value.children:
                text = " ".join(_block_text(item).split())
                if text:
                    out.append(text)
        elif value.type != "hr":
            text = _block_text(value)
            if text:
                out.append(text)
    return out


# --- Special parts ---------------------------------------------------------------------

TOGGLE = re.compile(
    r"(?P<verb>increase|decrease|raise|lower|reduce|change|bump|set|adjust)?\w*\s*"
    r"(?:it\s+)?(?:from\s+(?P<from>[^\s,;]+)\s+)?to\s+(?P<to>[^\s,;]+)(?P<rest>.*)$",
    re.I,
)


def value_spec(*values: str | None) -> dict[str, Any]:
    present = [v for v in values if v is not None]
    if present and all(re.fullmatch(r"-?\d+", v) for v in present):
        return {"type": "integer"}
    if present and all(re.fullmatch(r"-?\d+(\.\d+)?", v) for v in present):
        return {"type": "number"}
    if present and all(v in ("true", "false") for v in present):
        return {"type": "boolean"}
    return {}


def toggle_items(items: list[Item]) -> list[tuple[str, list[SyntaxTreeNode]]]:
    out: list[tuple[str, list[SyntaxTreeNode]]] = []
    for kind, value in items:
        if kind == "line":
            out.append((plain(value), value))
        elif value.type in ("bullet_list", "ordered_list"):
            for item in value.children:
                first = item.children[0] if item.children else None
                inline = inline_of(first) if first is not None and first.type == "paragraph" else []
                out.append((_block_text(item), inline))
        else:
            out.append((_block_text(value), []))
    return out


def add_toggles(draft: Draft, items: list[Item], target: str, title: str) -> None:
    section = draft.section("mitigation", title)
    for text, inline in toggle_items(items):
        text = " ".join(text.split())
        codes = [n.content for n in meaningful(inline) if n.type == "code_inline"]
        variable = next((c for c in codes if re.fullmatch(ENV_VAR_PATTERN, c)), None)
        if variable is None:
            match = re.match(r"^([A-Z_][A-Z0-9_]*)\b", text)
            variable = match.group(1) if match else None
        rest = text.split(variable, 1)[1].lstrip(" :=-—–") if variable else text
        match = TOGGLE.search(rest) if variable else None
        if variable is None or match is None:
            draft.section("mitigation", title).steps.append(
                StepDraft(title=split_title(text)[0], text=text)
            )
            draft.note(f"toggle not understood, kept as a step: {text}")
            continue
        from_value = match.group("from")
        to_value = match.group("to").rstrip(".")
        if from_value is not None:
            from_value = from_value.rstrip(".")
        spec = value_spec(from_value, to_value)
        action_id = draft.action_ids.make(variable)
        arrow = f"{from_value} → {to_value}" if from_value is not None else f"→ {to_value}"
        action: dict[str, Any] = {
            "id": action_id,
            "kind": "env",
            "title": f"{variable} {arrow}",
        }
        description = match.group("rest").strip(" .,;")
        if description:
            action["description"] = description
        action["deployment"] = "{{ " + target + " }}"
        action["variable"] = variable
        if from_value is not None:
            action["from"] = from_value
        action["to"] = to_value
        if spec:
            action["value"] = spec
        draft.actions.append(action)
        draft.uses_target = True
        section.steps.append(StepDraft(title=rest_title(variable, rest), action=action_id))


def rest_title(variable: str, rest: str) -> str:
    verb = rest.split()[0].lower() if rest.split() else "set"
    if verb in ("increase", "decrease", "raise", "lower", "reduce", "change", "set", "adjust"):
        return f"{rest.split()[0].capitalize()} {variable} {' '.join(rest.split()[1:])}".strip()
    return f"{variable}: {rest}".strip()


def add_dashboards(draft: Draft, items: list[Item], query_ids: Ids) -> None:
    for text, inline in toggle_items(items):
        text = " ".join(text.split())
        if not text:
            continue
        nodes = meaningful(inline)
        links = [n for n in _walk_inline(nodes) if n.type == "link"]
        codes = [n.content for n in nodes if n.type == "code_inline"]
        if text.lower().startswith("prometheus") and codes:
            for metric in codes:
                draft.queries.append(
                    {
                        "id": query_ids.make(metric),
                        "title": metric,
                        "promql": metric,
                        "description": f"From the source: {text}",
                    }
                )
            continue
        link: dict[str, Any] = {"title": text}
        href = links[0].attrs.get("href") if links else None
        if isinstance(href, str) and re.match(r"^https?://", href):
            link["url"] = href
        draft.dashboards.append(link)


def _walk_inline(nodes: Iterable[SyntaxTreeNode]) -> Iterator[SyntaxTreeNode]:
    for node in nodes:
        yield node
        yield from _walk_inline(node.children)


class QueryIds(Ids):
    def __init__(self) -> None:
        super().__init__("_")


def add_escalation_lines(draft: Draft, items: list[Item], title: str) -> None:
    section = draft.section("escalation", title)
    for text in lines_of(items):
        minutes = minutes_of(text) if re.search(r"\bafter\b|\bwithin\b", text, re.I) else None
        target = text.split(":", 1)[1].strip() if ":" in text else text
        target = re.sub(r"^(page|call|notify|escalate to|contact)\s+", "", target, flags=re.I)
        if minutes is not None:
            draft.escalation.append({"after_minutes": minutes, "to": target, "note": text})
        section.steps.append(StepDraft(title=split_title(text)[0], text=split_title(text)[1]))


# --- Document-level context ------------------------------------------------------------

CONTEXT_KINDS = (
    ("kill", r"kill.?switch"),
    ("metrics", r"key metrics|^metrics$|slis?\b|thresholds"),
    ("health", r"health (endpoints|checks)"),
    ("contacts", r"contacts|escalation path|key personnel|on.?call|external vendors"),
    ("escalation", r"escalation"),
    ("severity", r"severity (definitions|levels)"),
    ("post", r"post.?(incident|mortem)"),
    ("alerts", r"alert responses|key alerts|^alerts$"),
    ("dashboards", r"^dashboards$"),
)


def context_kind(title: str) -> str | None:
    text = re.sub(r"^[\d.\s)]+", "", title).strip().lower()
    for kind, pattern in CONTEXT_KINDS:
        if re.search(pattern, text):
            return kind
    return None


def first_table(sec: Sec) -> SyntaxTreeNode | None:
    return next((b for b in sec.blocks if b.type == "table"), None)


def column(header: list[str], *names: str) -> int | None:
    lowered = [h.lower() for h in header]
    for name in names:
        for index, cell in enumerate(lowered):
            if re.search(name, cell):
                return index
    return None


def cell(row: list[str], index: int | None) -> str:
    return unemph(row[index]) if index is not None and index < len(row) else ""


def read_context(sec: Sec, ctx: Context, warn: list[str], target: str) -> bool:
    """Fold a document-level section into `ctx`; False when it means nothing here."""
    kind = context_kind(sec.title)
    table = first_table(sec)
    if kind == "kill" and table is not None:
        read_kill_switches(table, ctx, warn, target)
    elif kind == "metrics" and table is not None:
        read_metrics(table, ctx, warn)
    elif kind == "health" and table is not None:
        read_health(table, ctx, warn, target)
    elif kind in ("contacts", "escalation") and table is not None:
        read_contacts(table, ctx, warn, sec.title)
    elif kind == "escalation" and sec.children:
        for child in sec.children:
            text = "\n".join(lines_of(segment(child.blocks)[0].items if child.blocks else []))
            ctx.escalation_steps.append(StepDraft(title=f"Escalate to {child.title}", text=text))
            ctx.contacts.append({"role": child.title})
        warn.append(
            f"{sec.path()}: escalation levels have no times; kept as escalation steps and contacts"
        )
    elif kind == "severity":
        rows = table_rows(table)[1] if table is not None else []
        levels = "; ".join(f"{r[0]}: {r[1]}" for r in rows if len(r) > 1)
        warn.append(
            f"{sec.path()}: severity definitions belong to the configuration's severity policy, "
            f"not to runbooks; not imported ({levels or 'no table'})"
        )
    elif kind == "post":
        parts = segment(sec.blocks)
        for part in parts:
            ctx.post_steps.extend(steps_from_items(part.items, Draft(sec.title, warn)))
    elif kind == "alerts" and table is not None:
        header, rows = table_rows(table)
        for row in rows:
            ctx.alert_rows.append({h.lower(): unemph(c) for h, c in zip(header, row, strict=False)})
    elif kind == "dashboards":
        draft = Draft(sec.title, warn)
        add_dashboards(draft, segment(sec.blocks)[0].items if sec.blocks else [], QueryIds())
        ctx.dashboards.extend(draft.dashboards)
        ctx.queries.extend(draft.queries)
    else:
        return False
    return True


ACTIVATE = (
    (
        re.compile(r"kubectl\s+set\s+env\s+(?:deployment/|deploy/)([\w.{} -]+?)\s+(\w+)=(\S+)"),
        "env",
    ),
    (
        re.compile(
            r"kubectl\s+scale\s+(?:deployment[/ ]|deploy/)([\w.{} -]+?)\s+--replicas[= ](\d+)"
        ),
        "scale",
    ),
    (re.compile(r"kubectl\s+rollout\s+undo\s+(?:deployment/|deploy/)([\w.{} -]+)"), "rollback"),
    (re.compile(r"kubectl\s+rollout\s+restart\s+(?:deployment/|deploy/)([\w.{} -]+)"), "restart"),
)


def read_kill_switches(table: SyntaxTreeNode, ctx: Context, warn: list[str], target: str) -> None:
    header, rows = table_rows(table)
    name_col = column(header, "switch", "name", "flag") or 0
    what_col = column(header, "what", "does", "effect", "purpose")
    how_col = column(header, "how", "activate", "command")
    ids = Ids()
    for row in rows:
        name, what, how = cell(row, name_col), cell(row, what_col), cell(row, how_col)
        if not name:
            continue
        action_id = ids.make(f"kill-{name}")
        text = "; ".join(
            t for t in (what and f"What it does: {what}", how and f"How to activate: {how}") if t
        )
        title = f"Kill switch: {name}" + (f" ({what})" if what else "")
        action: dict[str, Any] | None = None
        url = re.search(r"https?://\S+", how)
        matched = next(((p.search(how), kind) for p, kind in ACTIVATE if p.search(how)), None)
        deployment = "{{ " + target + " }}"
        if matched is not None:
            match, kind = matched
            action = {"id": action_id, "kind": kind, "title": title, "kill_switch": True}
            action["deployment"] = deployment
            if kind == "env":
                action.update({"variable": match.group(2), "to": match.group(3)})
                spec = value_spec(match.group(3))
                if spec:
                    action["value"] = spec
            elif kind == "scale":
                action["replicas"] = int(match.group(2))
                action["min_replicas"] = 0
        elif url:
            action = {
                "id": action_id,
                "kind": "http",
                "title": title,
                "kill_switch": True,
                "method": "POST",
                "url": url.group(0).rstrip(").,`"),
            }
        elif re.search(r"\b(roll ?back|revert to (the )?previous)", f"{name} {what}", re.I):
            action = {"id": action_id, "kind": "rollback", "title": title, "kill_switch": True}
            action["deployment"] = deployment
        if action is not None:
            if what and action["kind"] != "http":
                action["description"] = what
            ctx.actions.append(action)
            if action["kind"] != "http":
                ctx.needs_target = True
            ctx.kill_steps.append(StepDraft(title=title, text=text, action=action_id))
        else:
            ctx.kill_steps.append(StepDraft(title=title, text=text))
            warn.append(
                f"kill switch '{name}' ({what or 'no description'}) names no command or URL "
                "an action could run; kept as a step"
            )


THRESHOLD = re.compile(
    r"^\s*(?P<op>[<>]=?|≥|≤)?\s*\$?(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>[^\s\d]*)"
)


def threshold(text: str) -> tuple[float, str, str] | None:
    match = THRESHOLD.match(text.replace("~", ""))
    if not match:
        return None
    unit = match.group("unit").strip(".,")
    unit = "×" if unit.lower() == "x" else unit
    return float(match.group("num")), unit, match.group("op") or ""


def read_metrics(table: SyntaxTreeNode, ctx: Context, warn: list[str]) -> None:
    header, rows = table_rows(table)
    name_col = column(header, "metric", "name", "sli") or 0
    normal_col = column(header, "normal")
    warn_col = column(header, "warn", "alert threshold", "threshold")
    crit_col = column(header, "crit")
    ids = QueryIds()
    for row in rows:
        name = cell(row, name_col)
        if not name:
            continue
        query: dict[str, Any] = {"id": ids.make(name), "title": name}
        code = re.search(r"`([^`]+)`", row[name_col]) if name_col < len(row) else None
        promql = code.group(1) if code else slug(name, "_")
        query["promql"] = promql
        normal = cell(row, normal_col)
        warn_at = threshold(cell(row, warn_col))
        crit_at = threshold(cell(row, crit_col))
        unit = (warn_at or crit_at or (None, "", ""))[1]
        if unit:
            query["unit"] = unit
        if normal:
            query["normal"] = normal
        if warn_at:
            query["warn"] = warn_at[0]
        if crit_at:
            query["crit"] = crit_at[0]
        op = (warn_at or crit_at or (None, "", ""))[2]
        if op.startswith(("<", "≤")):
            query["direction"] = "below"
        if warn_at and crit_at:
            worse = (
                crit_at[0] >= warn_at[0]
                if not op.startswith(("<", "≤"))
                else crit_at[0] <= warn_at[0]
            )
            if not worse:
                del query["crit"]
                warn.append(
                    f"metric '{name}': critical {crit_at[0]:g} is not worse than warning; dropped"
                )
        extra = [
            f"{h}: {unemph(c)}"
            for index, (h, c) in enumerate(zip(header, row, strict=False))
            if index not in (name_col, normal_col, warn_col, crit_col)
            and unemph(c)
            and not is_placeholder(c)
        ]
        if extra:
            query["description"] = "; ".join(extra)
        if not code:
            warn.append(
                f"metric '{name}' has no PromQL in the source; its query is the placeholder "
                f"'{promql}' (replace it)"
            )
        ctx.queries.append(query)


def read_health(table: SyntaxTreeNode, ctx: Context, warn: list[str], target: str) -> None:
    header, rows = table_rows(table)
    path_col = column(header, "endpoint", "path", "url") or 0
    expect_col = column(header, "expect", "status")
    meaning_col = column(header, "meaning", "description", "purpose")
    ids = Ids()
    for row in rows:
        path = cell(row, path_col).strip("`")
        if not path:
            continue
        meaning = cell(row, meaning_col)
        check: dict[str, Any] = {
            "id": ids.make(path.strip("/") or "root"),
            "title": meaning or path,
        }
        if re.match(r"^https?://", path):
            check["url"] = path
        elif path.startswith("/"):
            check["service"] = "{{ " + target + " }}"
            check["path"] = path
            ctx.needs_target = True
        else:
            warn.append(f"health endpoint '{path}' is neither a path nor a URL; not imported")
            continue
        status = re.search(r"\b([1-5]\d\d)\b", cell(row, expect_col))
        if status:
            check["expect_status"] = int(status.group(1))
        if meaning:
            check["meaning"] = meaning
        ctx.checks.append(check)


def read_contacts(table: SyntaxTreeNode, ctx: Context, warn: list[str], title: str) -> None:
    header, rows = table_rows(table)
    role_col = column(header, "^role", "^level", "vendor", "team")
    name_col = column(header, "^name")
    contact_col = column(header, "^contact", "support contact", "phone", "email", "slack")
    via_col = column(header, "method", "via", "channel")
    when_col = column(header, "escalate after", "when", "after")
    level_col = column(header, "^level")
    used = {role_col, name_col, contact_col, via_col, when_col, level_col}
    extra_cols = [h for i, h in enumerate(header) if i not in used]
    purpose_col = column(header, "purpose")
    for row in rows:
        role = cell(row, role_col)
        contact = cell(row, contact_col)
        if role_col is not None and role_col == level_col and contact:
            role, contact = contact, ""
        if purpose_col is not None and cell(row, purpose_col):
            role = f"{role} ({cell(row, purpose_col)})"
        if not role:
            continue
        entry: dict[str, Any] = {"role": role}
        for key, col in (("name", name_col), ("contact", contact_col), ("via", via_col)):
            value = cell(row, col)
            if key == "contact" and role_col == level_col:
                value = ""
            if value:
                entry[key] = value
        ctx.contacts.append(entry)
        when = cell(row, when_col)
        minutes = minutes_of(when)
        sev = re.findall(r"SEV-?\s*([1-4])", when, re.I)
        rule: dict[str, Any] = {}
        if minutes is not None:
            rule["after_minutes"] = minutes
        if sev:
            rule["severities"] = [f"SEV{n}" for n in sev]
        if rule:
            rule["to"] = role
            for key in ("via", "contact"):
                if entry.get(key):
                    rule[key] = entry[key]
            level = cell(row, level_col)
            if level:
                rule["note"] = level
            ctx.escalation.append(rule)
        elif (
            when and not is_placeholder(when) and not re.match(r"first|initial|always", when, re.I)
        ):
            warn.append(
                f"{title}: '{role}' — '{when}' has no time or severity; kept as a contact only"
            )
    if extra_cols:
        warn.append(f"{title}: columns not imported: {', '.join(extra_cols)}")


def apply_context(draft: Draft, ctx: Context) -> None:
    """Add document-level (or part-level) tables' content to `draft`."""
    for row in ctx.alert_rows:
        name = row.get("alert") or row.get("alert name") or ""
        if (
            name
            and words(name.strip("`"))
            and words(name) <= words(draft.title) | {"high", "low"}
            and (len(words(name) & words(draft.title)) >= max(1, len(words(name)) - 1))
        ):
            draft.alerts.append(name.strip("`"))
            ctx.matched_alerts.add(name)
            sev = row.get("severity")
            if sev and draft.severity is None:
                draft.severity = severity_of(sev)
            first = row.get("first action") or row.get("response")
            cause = row.get("likely cause") or row.get("condition")
            if first:
                text = f"Likely cause: {cause}" if cause else ""
                first_section = draft.section("triage", "First response")
                first_section.steps.insert(0, StepDraft(title=first, text=text))
                draft.sections.remove(first_section)
                draft.sections.insert(0, first_section)
    renamed: dict[str, str] = {}
    for action in ctx.actions:
        renamed[action["id"]] = draft.action_ids.make(action["id"])
        draft.actions.append(dict(action, id=renamed[action["id"]]))
    if ctx.kill_steps:
        draft.section("mitigation", "Kill switches").steps.extend(
            StepDraft(**dict(vars(s), action=renamed.get(s.action or "", s.action)))
            for s in ctx.kill_steps
        )
    if ctx.escalation_steps:
        draft.section("escalation", "Escalation").steps.extend(
            StepDraft(**vars(s)) for s in ctx.escalation_steps
        )
    if ctx.post_steps:
        draft.section("post-incident", "Post-incident").steps.extend(
            StepDraft(**vars(s)) for s in ctx.post_steps
        )
    draft.escalation.extend(ctx.escalation)
    draft.contacts.extend(ctx.contacts)
    draft.checks.extend(ctx.checks)
    draft.dashboards.extend(ctx.dashboards)
    existing = {q["id"] for q in draft.queries}
    draft.queries.extend(q for q in ctx.queries if q["id"] not in existing)
    if ctx.needs_target and (ctx.actions or ctx.checks):
        draft.uses_target = True


# --- Placeholders → variables ----------------------------------------------------------


def templatize_command(command: str, variables: dict[str, str], draft: Draft) -> str:
    """`[service-name]` / `<namespace>` → `{{ service_name }}` where the shell allows it."""
    out: list[str] = []
    last = 0
    for match in WORD_PLACEHOLDER.finditer(command):
        word = match.group(1) or match.group(2)
        if CHAR_RANGE.match(word):
            continue
        preceding = command[: match.start()]
        if shell_quote_context(command, match.start()) or preceding.endswith("\\"):
            draft.note(
                f"placeholder {match.group(0)} sits inside quotes in `{command.strip()}`; "
                "left as written (a {{ variable }} there would be a lint error)"
            )
            continue
        name = identifier(word)
        variables.setdefault(name, word)
        out.append(command[last : match.start()])
        out.append("{{ " + name + " }}")
        last = match.end()
    out.append(command[last:])
    return "".join(out)


def infer_target(commands: list[str]) -> str | None:
    names: Counter[str] = Counter()
    for command in commands:
        for match in re.finditer(
            r"(?:deployment/|deployment\s+|deploy/|-l\s+app=)([a-z0-9][a-z0-9.-]*)", command
        ):
            names[match.group(1)] += 1
    return names.most_common(1)[0][0] if names else None


# --- Runbooks from sections ------------------------------------------------------------

KIND_OF_ROLE = {
    "triage": "triage",
    "diagnosis": "diagnosis",
    "mitigation": "mitigation",
    "remediation": "remediation",
    "verification": "verification",
    "post-incident": "post-incident",
    "escalation": "escalation",
}


def clean_title(title: str) -> tuple[str, str | None, str | None]:
    """ "TIMEOUT: Service Timeout Handling" → (title, code, alert); "Issue: X" → X."""
    match = re.match(r"^(issue|problem|alert|incident|runbook)\s*[:\-—]\s*(.+)$", title, re.I)
    if match:
        alert = match.group(2).strip() if match.group(1).lower() == "alert" else None
        return match.group(2).strip(), None, alert
    match = re.match(r"^([A-Z][A-Z0-9_]{1,40})\s*:\s*(.+)$", title)
    if match:
        return match.group(2).strip(), match.group(1), None
    if re.fullmatch(r"[A-Z][A-Za-z0-9_]+", title) and re.search(r"[a-z][A-Z]", title):
        return title, None, title
    return title, None, None


def is_candidate(sec: Sec) -> bool:
    if sec.level == 0 or not (sec.blocks or sec.children):
        return False
    if re.match(r"^(issue|problem|alert)\s*:", sec.title, re.I):
        return True
    roles = {p.role for p in sec_parts(sec) if p.label}
    if roles & {"symptoms", "meaning", "impact"} and roles & STEP_ROLES:
        return True
    if roles & {"triage", "mitigation"} and len(roles & (STEP_ROLES | {"escalation"})) >= 2:
        return True
    if sec.parent is not None and RUNBOOK_PARENTS.search(sec.parent.title):
        return bool(roles & (STEP_ROLES | {"symptoms", "escalation"})) or any(
            b.type in ("fence", "ordered_list", "bullet_list") for b in sec.blocks
        )
    return False


def is_template_title(title: str) -> bool:
    rest = re.sub(r"^(runbook|issue|alert)\s*:\s*", "", title, flags=re.I)
    return bool(re.fullmatch(r"\[[^\]]*\]|<[^>]*>", rest.strip()))


def exported_shape(sec: Sec) -> bool:
    first = next((b for b in sec.blocks if b.type != "hr"), None)
    if first is None or first.type != "bullet_list":
        return False
    labels = [leading_label(inline_of(i.children[0]))[0] for i in first.children if i.children]
    return "ID" in labels and "Severity" in labels


def sev_list_items(sec: Sec) -> list[tuple[str, str]]:
    """The plan shape: under a "SEV-1 (Critical)" heading, `- **Name:** trigger` items."""
    if severity_of(sec.title) is None or not re.search(
        r"sev|p[0-3]\b|critical|high|medium|low", sec.title, re.I
    ):
        return []
    found: list[tuple[str, str]] = []
    for block in sec.blocks:
        if block.type != "bullet_list":
            continue
        for item in block.children:
            if not item.children or item.children[0].type != "paragraph":
                continue
            label, rest = leading_label(inline_of(item.children[0]))
            if label:
                found.append((label, " ".join(plain(rest).split())))
    return found


class Importer:
    def __init__(self, text: str, source: str, global_actions: Collection[str] = ()) -> None:
        self.source = source
        self.global_actions = global_actions
        self.warnings: list[str] = []
        self.text = text

    def run(self) -> ImportResult:
        text = self.text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        text, front = strip_front_matter(text, self.warnings)
        text = unwrap_markdown_fences(text, self.warnings)
        root = SyntaxTreeNode(parser().parse(text))
        doc = build_tree(root)
        if front.get("title") and not doc.children:
            doc.title = front["title"]
        drafts: list[dict[str, Any]] = []
        claimed: set[int] = set()
        runbook_secs: list[Sec] = []
        exported: list[Sec] = []
        plan: list[tuple[Sec, list[tuple[str, str]]]] = []
        for sec in doc.walk():
            if any(id(a) in claimed for a in self._ancestors(sec)):
                continue
            if sec.level and exported_shape(sec):
                exported.append(sec)
                claimed.add(id(sec))
            elif items := sev_list_items(sec):
                plan.append((sec, items))
                claimed.add(id(sec))
        candidates = [s for s in doc.walk() if not self._claimed(s, claimed) and is_candidate(s)]
        cand_ids = {id(s) for s in candidates}
        for sec in candidates:
            if any(id(d) in cand_ids for d in list(sec.walk())[1:]):
                continue  # a container of runbooks
            if is_template_title(sec.title):
                self.warnings.append(
                    f"{sec.path()}: a template (its title is a placeholder); skipped"
                )
                claimed.add(id(sec))
                continue
            runbook_secs.append(sec)
            claimed.add(id(sec))
        ctx = Context()
        all_commands = [
            b.content for s in runbook_secs for x in s.walk() for b in x.blocks if b.type == "fence"
        ]
        target_default = infer_target(all_commands)
        target = "deployment"
        unmapped: list[str] = []
        for sec in doc.walk():
            if sec.level == 0 or self._claimed(sec, claimed):
                continue
            if read_context(sec, ctx, self.warnings, target):
                claimed.add(id(sec))
                continue
            if any(id(s) in claimed for s in sec.walk()):
                if sec.blocks and any(b.type != "hr" for b in sec.blocks):
                    unmapped.append(sec.title)
                continue
            if sec.blocks or not sec.children:
                unmapped.append(sec.title)
        if doc.blocks and any(b.type != "hr" for b in doc.blocks) and doc.children:
            unmapped.insert(0, "(text before the first heading)")
        for sec in exported:
            try:
                drafts.append(self.read_exported(sec))
            except (IndexError, KeyError, ValueError, TypeError, StopIteration) as exc:
                self.warnings.append(
                    f"{sec.path()}: looks like an exported runbook but could not be read "
                    f"({type(exc).__name__}: {exc}); not imported"
                )
        for sec, items in plan:
            drafts.extend(self.plan_runbooks(sec, items))
        for sec in runbook_secs:
            drafts.append(self.section_runbook(sec, ctx, target, target_default))
        if not drafts:
            if not doc.children and not doc.blocks:
                raise ImportFailed("the document is empty")
            raise ImportFailed(
                "no runbook found: expected sections such as '### Issue: …' with "
                "**Symptoms** / **Diagnosis** / **Resolution**, a Prometheus alert runbook "
                "(Meaning / Impact / Diagnosis / Mitigation), or an exported runbook"
            )
        for row in ctx.alert_rows:
            name = row.get("alert") or row.get("alert name") or ""
            if name and name not in ctx.matched_alerts:
                summary = "; ".join(f"{k}: {v}" for k, v in row.items() if v)
                self.warnings.append(f"alert row matches no runbook, not imported: {summary}")
        if unmapped:
            names = ", ".join(dict.fromkeys(unmapped))
            self.warnings.append(f"not part of any runbook, not imported: {names}")
        ids = Ids()
        for draft in drafts:
            wanted = draft["id"]
            draft["id"] = ids.make(wanted)
            if draft["id"] != wanted:
                self.warnings.append(
                    f"runbook id '{wanted}' used twice; renamed to '{draft['id']}'"
                )
        for draft in drafts:
            for problem in lint_problems(draft, self.global_actions):
                self.warnings.append(f"{draft['id']}: lint: {problem}")
            if len(repr(draft)) > MAX_YAML_BYTES // 2 and len(to_yaml(draft)) > MAX_YAML_BYTES:
                self.warnings.append(
                    f"{draft['id']}: larger than {MAX_YAML_BYTES // 1024} KiB as YAML; "
                    "sre-tui refuses runbook files that large (split the source)"
                )
        return ImportResult(drafts, self.warnings)

    @staticmethod
    def _ancestors(sec: Sec) -> Iterator[Sec]:
        node = sec.parent
        while node is not None:
            yield node
            node = node.parent

    def _claimed(self, sec: Sec, claimed: set[int]) -> bool:
        return id(sec) in claimed or any(id(a) in claimed for a in self._ancestors(sec))

    # -- the generic shapes -------------------------------------------------------------

    def section_runbook(
        self, sec: Sec, ctx: Context, target: str, target_default: str | None
    ) -> dict[str, Any]:
        title, code, alert = clean_title(sec.title)
        draft = Draft(title, self.warnings)
        if code:
            draft.tags.append(code.lower())
        if alert:
            draft.alerts.append(alert)
        query_ids = QueryIds()
        for part in sec_parts(sec):
            role = part.role
            label = part.label or ""
            if part.label is None:
                prose = [v for k, v in part.items if k == "line"]
                others = [(k, v) for k, v in part.items if k != "line"]
                draft.summary.extend(" ".join(plain(line).split()) for line in prose)
                if others:
                    steps = steps_from_items(others, draft)
                    if steps:
                        draft.section("triage", "Steps").steps.extend(steps)
                continue
            nodes = [v for k, v in part.items if k == "node"]
            if context_kind(label) and any(n.type == "table" for n in nodes):
                local = Context()
                if read_context(Sec(part.level, label, nodes), local, self.warnings, target):
                    apply_context(draft, local)
                    continue
            if role == "symptoms":
                draft.symptoms.extend(lines_of(part.items))
            elif role in ("meaning", "impact"):
                text = "\n".join(lines_of(part.items))
                if text:
                    draft.summary.append(text if role == "meaning" else f"Impact: {text}")
            elif role == "alert":
                draft.alerts.extend(
                    re.findall(r"[A-Za-z_][A-Za-z0-9_:]*", " ".join(lines_of(part.items)))[:1]
                )
            elif role == "severity":
                draft.severity = severity_of(" ".join(lines_of(part.items))) or draft.severity
            elif role == "toggles":
                add_toggles(draft, part.items, target, label)
            elif role == "dashboards":
                add_dashboards(draft, part.items, query_ids)
            elif role == "escalation":
                add_escalation_lines(draft, part.items, label)
            else:
                kind = KIND_OF_ROLE.get(role or "")
                if kind is None:
                    has_steps = any(section.steps for section in draft.sections)
                    kind = "remediation" if has_steps else "diagnosis"
                    self.warnings.append(
                        f"{title}: part '{label}' has no known meaning; its steps went to a "
                        f"{kind} section"
                    )
                steps = steps_from_items(part.items, draft)
                if steps:
                    draft.section(kind, label).steps.extend(steps)
                elif part.items:
                    draft.note(f"part '{label}' gave no steps: {' '.join(lines_of(part.items))}")
        return self.finish(draft, ctx, target, target_default, sec.path())

    def plan_runbooks(self, sec: Sec, items: list[tuple[str, str]]) -> list[dict[str, Any]]:
        severity = severity_of(sec.title)
        out = []
        ctx = Context()
        for name, trigger in items:
            draft = Draft(name, self.warnings)
            draft.severity = severity
            if trigger:
                draft.summary.append(trigger)
                draft.symptoms.append(trigger)
            if not re.search(r"\bmanual", trigger, re.I):
                draft.alerts.append(
                    "".join(w.capitalize() for w in re.findall(r"[A-Za-z0-9]+", name))
                )
            step = StepDraft(title="Confirm the trigger", text=trigger, expect=f"{name} confirmed")
            draft.section("triage", "Triage & diagnosis").steps.append(step)
            out.append(self.finish(draft, ctx, "deployment", None, sec.path()))
        self.warnings.append(
            f"{sec.path()}: {len(items)} planned runbook(s) hold only their trigger; "
            "add diagnosis and remediation steps"
        )
        return out

    def finish(
        self, draft: Draft, ctx: Context, target: str, target_default: str | None, where: str
    ) -> dict[str, Any]:
        apply_context(draft, ctx)
        return self.assemble(draft, target, target_default, where)

    def assemble(
        self, draft: Draft, target: str, target_default: str | None, where: str
    ) -> dict[str, Any]:
        variables: dict[str, str] = {}
        sections: list[dict[str, Any]] = []
        section_ids, step_ids = Ids(), Ids()
        for section in draft.sections:
            steps = []
            for step in section.steps:
                entry: dict[str, Any] = {
                    "id": step_ids.make(step.title),
                    "title": self._defuse(draft, step.title),
                }
                if step.text:
                    entry["text"] = self._defuse(draft, step.text)
                if step.command:
                    entry["command"] = self._defuse(
                        draft, templatize_command(step.command, variables, draft)
                    )
                if step.expect:
                    entry["expect"] = self._defuse(draft, step.expect)
                if step.action:
                    entry["action"] = step.action
                steps.append(entry)
            if steps:
                sections.append(
                    {
                        "id": section_ids.make(section.title),
                        "kind": section.kind,
                        "title": section.title,
                        "steps": steps,
                    }
                )
        if not sections:
            text = "\n".join(draft.summary) or draft.title
            sections.append(
                {
                    "id": "triage",
                    "kind": "triage",
                    "title": "Triage",
                    "steps": [
                        {
                            "id": "review",
                            "title": "Review what the source says",
                            "text": self._defuse(draft, text),
                        }
                    ],
                }
            )
            draft.note("no steps found in the source; added one step holding its text")
        severity = draft.severity
        if severity is None:
            severity = "SEV3"
            draft.note("no severity given; set to SEV3")
        decl: dict[str, dict[str, str]] = {}
        if draft.uses_target:
            default = target_default or next(
                (variables[v] for v in TARGET_VARIABLES if v in variables), "service"
            )
            decl[target] = {
                "description": "Deployment the actions and health checks apply to",
                "default": default,
            }
            if target_default:
                draft.note(
                    f"actions and checks target {{{{ {target} }}}} "
                    f"(default '{default}', from the commands)"
                )
        for name, word in variables.items():
            if name not in decl and name not in BUILTIN_VARIABLES:
                decl[name] = {"description": f"Placeholder [{word}] in the source", "default": word}
        runbook: dict[str, Any] = {
            "id": slug(draft.title),
            "title": self._defuse(draft, draft.title),
            "severity": severity,
        }
        if draft.summary:
            runbook["summary"] = self._defuse(draft, "\n\n".join(draft.summary))
        if draft.tags:
            runbook["tags"] = draft.tags
        if draft.alerts:
            runbook["alerts"] = list(dict.fromkeys(draft.alerts))
        if decl:
            runbook["variables"] = decl
        if draft.symptoms:
            runbook["symptoms"] = [self._defuse(draft, s) for s in draft.symptoms]
        if draft.queries:
            runbook["queries"] = [
                dict(q, promql=self._defuse(draft, q["promql"])) for q in draft.queries
            ]
        if draft.checks:
            runbook["checks"] = draft.checks
        if draft.dashboards:
            runbook["dashboards"] = draft.dashboards
        runbook["sections"] = sections
        if draft.actions:
            runbook["actions"] = draft.actions
        if draft.escalation:
            runbook["escalation"] = draft.escalation
        if draft.contacts:
            runbook["contacts"] = draft.contacts
        return runbook

    def _defuse(self, draft: Draft, text: str) -> str:
        fixed = defuse_braces(text)
        if fixed != text:
            draft.note(f"'{{{{' / '}}}}' that are not sre-tui placeholders were split: {fixed}")
        return fixed

    # -- the exported shape -------------------------------------------------------------

    def read_exported(self, sec: Sec) -> dict[str, Any]:
        title = sec.title.removeprefix(ex.TITLE_PREFIX)
        first = next(b for b in sec.blocks if b.type == "bullet_list")
        runbook: dict[str, Any] = {"title": title, **read_fields(first)}
        if not isinstance(runbook.get("id"), str) or not re.fullmatch(ID_PATTERN, runbook["id"]):
            raise ValueError("its **ID:** is missing or not a valid runbook id")
        runbook["sections"] = []
        for part in sec.children:
            fields_block = next((b for b in part.blocks if b.type == "bullet_list"), None)
            fields = read_fields(fields_block) if fields_block is not None else {}
            if "kind" in fields and "id" in fields:
                steps = [read_step(step) for step in part.children]
                runbook["sections"].append(
                    {
                        "id": fields["id"],
                        "kind": fields["kind"],
                        "title": part.title,
                        "steps": steps,
                    }
                )
            elif part.title == ex.PART_SUMMARY:
                runbook["summary"] = paragraphs(part.blocks)
            elif part.title == ex.PART_VARIABLES:
                runbook["variables"] = read_variables(part)
            elif part.title == ex.PART_SYMPTOMS:
                runbook["symptoms"] = [
                    list_item_text(i)
                    for b in part.blocks
                    if b.type == "bullet_list"
                    for i in b.children
                ]
            elif part.title == ex.PART_QUERIES:
                runbook["queries"] = [read_query(q) for q in part.children]
            elif part.title == ex.PART_LOGS:
                runbook["logs"] = fields
            elif part.title == ex.PART_CHECKS:
                runbook["checks"] = [read_check(c) for c in part.children]
            elif part.title == ex.PART_DASHBOARDS:
                runbook["dashboards"] = [
                    read_link(inline_of(i.children[0]))
                    for b in part.blocks
                    if b.type == "bullet_list"
                    for i in b.children
                    if i.children
                ]
            elif part.title == ex.PART_ACTIONS:
                runbook["actions"] = [read_action(a) for a in part.children]
            elif part.title == ex.PART_ESCALATION:
                runbook["escalation"] = read_escalation(part)
            elif part.title == ex.PART_CONTACTS:
                runbook["contacts"] = read_contacts_table(part)
            else:
                self.warnings.append(
                    f"{title}: part '{part.title}' is not part of the exported shape; not imported"
                )
        return runbook


# --- Reading the exported shape --------------------------------------------------------


def paragraphs(blocks: list[SyntaxTreeNode]) -> str:
    return "\n\n".join(plain(inline_of(b)) for b in blocks if b.type == "paragraph")


def list_item_text(item: SyntaxTreeNode) -> str:
    return "\n\n".join(plain(inline_of(c)) for c in item.children if c.type == "paragraph")


def decode_inline(nodes: list[SyntaxTreeNode]) -> Any:
    """One value: a code span is a string; plain text a number, yes/no, none or text."""
    useful = meaningful(nodes)
    if len(useful) == 1 and useful[0].type == "code_inline":
        return useful[0].content
    text = plain(nodes).strip()
    return decode_plain(text)


def decode_plain(text: str) -> Any:
    if text == ex.EMPTY:
        return ""
    if text == "(empty map)":
        return {}
    if text == "(empty list)":
        return []
    if text in ("yes", "true"):
        return True
    if text in ("no", "false"):
        return False
    if text == ex.NONE:
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*(e-?\d+)?|-?\d+e-?\d+|-?inf|nan", text):
        return float(text)
    return text


def decode_list(nodes: list[SyntaxTreeNode]) -> list[Any]:
    useful = meaningful(nodes)
    if plain(nodes).strip() == ex.EMPTY_LIST:
        return []
    codes = [n.content for n in useful if n.type == "code_inline"]
    if codes:
        return codes
    return [decode_plain(v.strip()) for v in plain(nodes).split(",") if v.strip()]


def decode_nested(node: SyntaxTreeNode) -> Any:
    """A nested list written by `markdown_export._nested` → dict or list."""
    keyed: dict[str, Any] = {}
    listed: list[Any] = []
    for item in node.children:
        first = item.children[0] if item.children else None
        inline = inline_of(first) if first is not None and first.type == "paragraph" else []
        sub = next((c for c in item.children if c.type == "bullet_list"), None)
        useful = meaningful(inline)
        if (
            useful
            and useful[0].type == "code_inline"
            and len(inline) > 1
            and plain(inline[inline.index(useful[0]) + 1 :]).startswith(":")
        ):
            key = useful[0].content
            rest = inline[inline.index(useful[0]) + 1 :]
            rest_text = plain(rest)[1:]
            if sub is not None:
                keyed[key] = decode_nested(sub)
            else:
                value_nodes = [n for n in rest if n.type == "code_inline"]
                keyed[key] = (
                    value_nodes[0].content if value_nodes else decode_plain(rest_text.strip())
                )
        else:
            listed.append(decode_nested(sub) if sub is not None else decode_inline(inline))
    return keyed if keyed else listed


def read_fields(node: SyntaxTreeNode, list_keys: frozenset[str] = ex.LIST_KEYS) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for item in node.children:
        if not item.children or item.children[0].type != "paragraph":
            continue
        label, rest = leading_label(inline_of(item.children[0]))
        if label is None:
            continue
        key = "id" if label == "ID" else ex.key_of(label)
        nested = next((c for c in item.children if c.type == "bullet_list"), None)
        if nested is not None:
            fields[key] = decode_nested(nested)
        elif key in ex.PROSE_KEYS:
            fields[key] = plain(rest).strip()
        elif key in list_keys:
            fields[key] = decode_list(rest)
        else:
            fields[key] = decode_inline(rest)
    return fields


def read_link(inline: list[SyntaxTreeNode]) -> dict[str, Any]:
    useful = meaningful(inline)
    if useful and useful[-1].type == "code_inline":
        before = plain(inline[: inline.index(useful[-1])])
        if before.endswith(ex.DASH):
            return {"title": before[: -len(ex.DASH)].strip(), "url": useful[-1].content}
    return {"title": plain(inline).strip()}


def read_step(sec: Sec) -> dict[str, Any]:
    step: dict[str, Any] = {"title": re.sub(r"^\d+\.\s", "", sec.title, count=1)}
    texts = [plain(inline_of(b)) for b in sec.blocks if b.type == "paragraph"]
    if texts:
        step["text"] = "\n\n".join(texts)
    fence = next((b for b in sec.blocks if b.type == "fence"), None)
    if fence is not None:
        step["command"] = fence.content[:-1] if fence.content.endswith("\n") else fence.content
    fields_block = next((b for b in sec.blocks if b.type == "bullet_list"), None)
    links = []
    for item in fields_block.children if fields_block is not None else []:
        if not item.children:
            continue
        label, rest = leading_label(inline_of(item.children[0]))
        if label == "Focus":
            focus: dict[str, Any] = {}
            previous = ""
            for node in rest:
                if node.type == "code_inline":
                    focus[previous.strip(" ,").split()[-1]] = node.content
                previous = node.content if node.type == "text" else previous
            step["focus"] = focus
        elif label == "Verify":
            codes = [n.content for n in rest if n.type == "code_inline"]
            bound = re.search(r"(below|above)\s+(\S+)", plain(rest))
            if codes and bound:
                step["verify"] = {"query": codes[0], bound.group(1): float(bound.group(2))}
        elif label == "Link":
            links.append(read_link(rest))
    fields = read_fields(fields_block) if fields_block is not None else {}
    for key in ("focus", "verify", "link"):
        fields.pop(key, None)
    step.update(fields)
    if links:
        step["links"] = links
    return step


def read_query(sec: Sec) -> dict[str, Any]:
    query: dict[str, Any] = {"title": sec.title}
    block = next((b for b in sec.blocks if b.type == "bullet_list"), None)
    if block is not None:
        query.update(read_fields(block))
    fence = next((b for b in sec.blocks if b.type == "fence"), None)
    if fence is not None:
        query["promql"] = fence.content[:-1] if fence.content.endswith("\n") else fence.content
    return query


def read_check(sec: Sec) -> dict[str, Any]:
    block = next((b for b in sec.blocks if b.type == "bullet_list"), None)
    fields = read_fields(block, ex.LIST_KEYS - {"expect_status"}) if block is not None else {}
    return {"title": sec.title, **fields}


def read_action(sec: Sec) -> dict[str, Any]:
    block = next((b for b in sec.blocks if b.type == "bullet_list"), None)
    return {"title": sec.title, **(read_fields(block) if block is not None else {})}


def _table_of(sec: Sec) -> tuple[list[str], list[list[SyntaxTreeNode]]]:
    table = first_table(sec)
    if table is None:
        return [], []
    header: list[str] = []
    rows: list[list[SyntaxTreeNode]] = []
    for part in table.children:
        for tr in part.children:
            if part.type == "thead":
                header = [plain(inline_of(c)).strip() for c in tr.children]
            else:
                rows.append(list(tr.children))
    return header, rows


def read_variables(sec: Sec) -> dict[str, Any]:
    _, rows = _table_of(sec)
    out: dict[str, Any] = {}
    for row in rows:
        cells = [inline_of(c) for c in row]
        name = decode_inline(cells[0])
        var: dict[str, Any] = {}
        for key, index in (("default", 1), ("example", 2), ("label", 3)):
            if meaningful(cells[index]):
                var[key] = decode_inline(cells[index])
                if not isinstance(var[key], str):
                    var[key] = plain(cells[index]).strip()
        description = plain(cells[4]).strip()
        if description:
            var["description"] = description
        out[str(name)] = var
    return out


def read_escalation(sec: Sec) -> list[dict[str, Any]]:
    _, rows = _table_of(sec)
    out = []
    for row in rows:
        cells = [plain(inline_of(c)).strip() for c in row]
        rule: dict[str, Any] = {}
        if cells[0]:
            rule["after_minutes"] = int(cells[0])
        if cells[1]:
            rule["severities"] = [s.strip() for s in cells[1].split(",")]
        for key, index in (("to", 2), ("via", 3), ("contact", 4), ("note", 5)):
            if cells[index] or key == "to":
                rule[key] = cells[index]
        out.append(rule)
    return out


def read_contacts_table(sec: Sec) -> list[dict[str, Any]]:
    _, rows = _table_of(sec)
    out = []
    for row in rows:
        cells = [plain(inline_of(c)).strip() for c in row]
        entry = {
            k: v
            for k, v in zip(("role", "name", "contact", "via"), cells, strict=False)
            if v or k == "role"
        }
        out.append(entry)
    return out


def lint_problems(runbook: dict[str, Any], global_actions: Collection[str] = ()) -> list[str]:
    """What `sre-tui lint` would say about `runbook` (schema, references, templates)."""
    try:
        model = Runbook.model_validate(runbook)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    problems = cross_check(model, global_actions)
    return [f"{'.'.join(map(str, loc))}: {message}" for loc, message in problems]


# --- Entry points ----------------------------------------------------------------------


def to_yaml(runbook: dict[str, Any]) -> str:
    return yaml.safe_dump(runbook, sort_keys=False, allow_unicode=True, width=4096)


def import_markdown(
    text: str, source: str = "<markdown>", global_actions: Collection[str] = ()
) -> ImportResult:
    """Runbooks found in Markdown `text`, as dicts in the YAML shape, with warnings.

    `global_actions` are the configured kill switches steps may name (for the lint check).
    Raises ImportFailed when the text holds no runbook.
    """
    return Importer(text, source, global_actions).run()
