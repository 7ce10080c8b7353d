"""The Markdown importer on any text: runbooks with warnings, or ImportFailed — never
another exception, never a hang."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sre_tui.core.markdown_import import ImportFailed, ImportResult, import_markdown
from tests.property.strategies import (
    MARKDOWN_FILES,
    hostile_piece,
    hostile_text,
    property_settings,
    time_limit,
)

PROPERTY = property_settings(80, 3000)
SOURCES = [path.read_text() for path in MARKDOWN_FILES]

# Markdown a pasted runbook is made of, to build documents the importer takes seriously.
MARKDOWN_PIECES = [
    "# ",
    "## ",
    "### ",
    "#### Triage\n",
    "## Diagnosis\n",
    "## Escalation\n",
    "## Context\n",
    "- ",
    "1. ",
    "- [ ] ",
    "- [x] ",
    "  - ",
    "```bash\n",
    "```\n",
    "```promql\n",
    "~~~\n",
    "`kubectl get pods -n {{ ns }}`",
    "| a | b |\n|---|---|\n| x | y |\n",
    "| Metric | Threshold |\n|---|---|\n| p95 | > 500ms |\n",
    "**Severity:** SEV1\n",
    "**Command:** ",
    "---\n",
    "---\ntitle: x\n---\n",
    "> ",
    "[link](http://x)",
    "<details>",
    "\n",
    "\n\n",
    "**",
    "_",
    "$ ",
    "{{ x }}",
    "{{",
    "}}",
]
md_piece = st.sampled_from(MARKDOWN_PIECES)


def check(text: str) -> None:
    with time_limit(10):
        try:
            result = import_markdown(text, "fuzz.md", global_actions=("kill-switch",))
        except ImportFailed as exc:
            assert str(exc).strip()
            return
    assert isinstance(result, ImportResult)
    assert all(isinstance(runbook, dict) for runbook in result.runbooks)
    assert all(isinstance(warning, str) for warning in result.warnings)


@st.composite
def mutated_doc(draw: st.DrawFn) -> str:
    """A seed document with a few lines cut, repeated, re-indented or spliced with pieces."""
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.splitlines(keepends=True) or [""]
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["insert", "cut", "dup", "indent", "swap"]))
        if edit == "insert":
            pos = draw(st.integers(0, len(lines[at])))
            piece = draw(st.one_of(md_piece, hostile_piece, hostile_text))
            lines[at] = lines[at][:pos] + piece + lines[at][pos:]
        elif edit == "cut":
            del lines[at : at + draw(st.integers(1, 8))]
        elif edit == "dup":
            lines.insert(at, lines[at])
        elif edit == "indent":
            lines[at] = draw(st.sampled_from(["  ", "    ", "\t"])) + lines[at]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        text = "".join(lines)
    return text


@PROPERTY
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    check(text)


@PROPERTY
@given(st.lists(st.one_of(md_piece, md_piece, hostile_piece, hostile_text), max_size=40))
def test_markdown_made_of_runbook_pieces(pieces: list[str]) -> None:
    check("".join(pieces))


@PROPERTY
@given(mutated_doc())
def test_mutated_seed_documents(text: str) -> None:
    check(text)


def test_seed_documents_import() -> None:
    # The mutations start from documents that import; make sure they do.
    for text in SOURCES:
        check(text)
