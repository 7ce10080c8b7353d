"""`sre-tui lint` as a user runs it: exit code and `FILE:LINE: message` lines, no tracebacks.

Each bad file is linted on its own through the CLI entry point (in-process, to stay fast)
and all of them together in one `python -m sre_tui lint` subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sre_tui.cli import main

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config" / "sre-tui.yaml"
RUNBOOKS = REPO / "runbooks"

if (REPO / "sre_tui" / "__main__.py").is_file():
    CLI = [sys.executable, "-m", "sre_tui"]
else:  # pragma: no cover - until `python -m sre_tui` exists
    CLI = [sys.executable, "-c", "from sre_tui.cli import main; import sys; sys.exit(main())"]

PROBLEM_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<message>.+)$")

# A valid runbook; each bad case below changes one thing in it. Line numbers matter.
GOOD = """\
# A small runbook for lint tests
id: probe
title: Probe runbook
severity: SEV3
variables:
  deployment:
    default: web
queries:
  - id: q1
    title: Up
    promql: up{deployment="{{ deployment }}"}
sections:
  - id: triage
    kind: triage
    title: Triage
    steps:
      - id: one
        title: First
        command: kubectl get pods -n {{ namespace }} -l app={{ deployment }}
        action: bump
      - id: two
        title: Second
        focus: {pane: metrics, query: q1}
actions:
  - id: bump
    kind: env
    title: Bump the timeout
    deployment: "{{ deployment }}"
    variable: TIMEOUT_MS
    from: 100
    to: 200
    value: {type: integer, min: 1, max: 1000}
  - id: scale
    kind: scale
    title: Scale out
    deployment: "{{ deployment }}"
    replicas: 3
    max_replicas: 10
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} found on lines {hits}"
    return hits[0]


def changed(old: str, new: str, text: str = GOOD) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _alias_bomb() -> str:
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        lines.append(f"lol{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return GOOD + "\n".join(lines) + "\n"


def _case(text: str, line: int | tuple[int, ...], pattern: str) -> tuple[str, tuple[int, ...], str]:
    return text, (line,) if isinstance(line, int) else line, pattern


# name -> (file text, acceptable line numbers, regex the message must match). MARKER is
# replaced by a path under tmp_path that must not be created.
_syntax = changed("title: Probe runbook\n", "title: Probe runbook\n  oops: indented\n")
_type = changed("        title: Second\n", "        title: [not, a, string]\n")
_unknown = changed("        title: Second\n", "        title: Second\n        comand: typo\n")
_severity = changed("severity: SEV3", "severity: SEV9")
_undefined = changed("-l app={{ deployment }}", "-l app={{ deploymnet }}")
_malformed = changed("-l app={{ deployment }}", "-l app={{ deployment-name }}")
_quoted = changed("-l app={{ deployment }}", "-l 'app={{ deployment }}'")
_dup_step = changed("      - id: two\n", "      - id: one\n")
_action = changed("action: bump", "action: bumpp")
_query = changed("query: q1}", "query: q2}")
_tag = changed("title: Probe runbook", 'title: !!python/object/apply:os.system ["touch MARKER"]')
_bomb = _alias_bomb()
_dup_key = changed("severity: SEV3\n", "severity: SEV3\ntitle: Another title\n")
_not_int = changed("    to: 200\n", "    to: two hundred\n")
_replicas = changed("    replicas: 3\n", "    replicas: 30\n")

CASES = {
    "yaml-syntax": _case(_syntax, line_of(_syntax, "oops:"), r"^YAML error: "),
    "wrong-type": _case(_type, line_of(_type, "[not, a"), r"^sections\.0\.steps\.1\.title: "),
    "unknown-field": _case(
        _unknown, line_of(_unknown, "comand:"), r"^unknown field 'sections\.0\.steps\.1\.comand'"
    ),
    "bad-severity": _case(_severity, line_of(_severity, "SEV9"), r"^severity: .*'SEV1'"),
    "undefined-variable": _case(
        _undefined, line_of(_undefined, "deploymnet"), r"undefined variable 'deploymnet'"
    ),
    "malformed-placeholder": _case(
        _malformed, line_of(_malformed, "deployment-name"), r"malformed placeholder"
    ),
    "placeholder-in-quotes": _case(_quoted, line_of(_quoted, "-l 'app="), r"inside quotes"),
    "duplicate-step-id": _case(
        _dup_step, line_of(_dup_step, "focus:") - 2, r"duplicate step id 'one'"
    ),
    "unknown-action": _case(
        _action, line_of(_action, "bumpp"), r"step 'one' names unknown action 'bumpp'"
    ),
    "unknown-query": _case(_query, line_of(_query, "q2"), r"step 'two' focuses unknown query 'q2'"),
    "python-tag": _case(_tag, line_of(_tag, "!!python"), r"tag not allowed"),
    "alias-bomb": _case(
        _bomb, tuple(range(line_of(_bomb, "lol0:"), len(_bomb.splitlines()) + 1)), r"alias bomb"
    ),
    "over-512-kib": _case(GOOD + "# " + "x" * (512 * 1024) + "\n", 1, r"larger than 512 KiB"),
    "empty": _case("", 1, r"empty"),
    "top-level-list": _case("- id: probe\n- id: other\n", 1, r"mapping at the top"),
    "duplicate-key": _case(
        _dup_key, line_of(_dup_key, "Another title"), r"^duplicate key 'title'$"
    ),
    # The action's first line or its `to:` line both lead the reader to the mistake.
    "env-to-not-integer": _case(
        _not_int,
        (line_of(_not_int, "- id: bump"), line_of(_not_int, "two hundred")),
        r"'to' value 'two hundred' is not an integer",
    ),
    "replicas-above-max": _case(
        _replicas,
        (line_of(_replicas, "- id: scale"), line_of(_replicas, "replicas: 30")),
        r"replicas 30 outside bounds 1\.\.10",
    ),
}


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text.replace("MARKER", str(directory / "pwned")), encoding="utf-8")
    return path


def run_cli(*paths: Path | str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SRE_TUI_CONFIG": str(CONFIG)}
    return subprocess.run(
        [*CLI, "lint", *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )


def problems(stdout: str) -> list[tuple[str, int, str]]:
    found = []
    for raw in stdout.splitlines():
        match = PROBLEM_LINE.match(raw)
        assert match, f"not FILE:LINE: message: {raw!r}"
        found.append((match["file"], int(match["line"]), match["message"]))
    return found


@pytest.fixture(autouse=True)
def _config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRE_TUI_CONFIG", str(CONFIG))


def lint_in_process(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, str, str]:
    code = main(["lint", *map(str, paths)])
    out = capsys.readouterr()
    return code, out.out, out.err


# ---- the shipped runbooks ---------------------------------------------------------------


def test_every_shipped_runbook_passes() -> None:
    files = sorted(p for p in RUNBOOKS.rglob("*") if p.suffix in (".yaml", ".yml"))
    assert files
    result = run_cli()  # no paths: the configured runbook directories
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""
    summary = re.search(r"(\d+) file\(s\): (\d+) valid runbook\(s\)", result.stderr)
    assert summary, result.stderr
    assert int(summary[1]) >= len(files)
    assert int(summary[2]) >= len(files)
    assert "; 0 problem(s)" in result.stderr


def test_the_base_runbook_of_these_tests_is_valid(tmp_path: Path, capsys) -> None:
    code, out, err = lint_in_process(capsys, write(tmp_path, "good.yaml", GOOD))
    assert (code, out) == (0, "")
    assert "1 file(s): 1 valid runbook(s), 2 steps, 2 actions; 0 problem(s)" in err


# ---- one problem per file, on the right line ------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_bad_file_gives_one_located_problem(name: str, tmp_path: Path, capsys) -> None:
    text, lines, pattern = CASES[name]
    path = write(tmp_path, f"{name}.yaml", text)
    code, out, err = lint_in_process(capsys, path)
    assert code == 1, out + err
    [(file, line, message)] = problems(out)
    assert file == str(path)
    assert line in lines, (line, lines, message)
    assert re.search(pattern, message), message
    assert "0 valid runbook(s)" in err and "; 1 problem(s)" in err
    assert not (tmp_path / "pwned").exists()


def test_all_bad_files_through_the_real_command(tmp_path: Path) -> None:
    paths = {name: write(tmp_path, f"{name}.yaml", text) for name, (text, _, _) in CASES.items()}
    missing = tmp_path / "no-such-dir"
    result = run_cli(*paths.values(), missing)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 1
    found = problems(result.stdout)
    for name, path in paths.items():
        mine = [(line, message) for file, line, message in found if file == str(path)]
        assert len(mine) == 1, (name, mine)
        assert mine[0][0] in CASES[name][1], (name, mine)
        assert re.search(CASES[name][2], mine[0][1]), (name, mine)
    assert [m for f, _, m in found if f == str(missing)] == ["no such file or directory"]
    assert f"{len(CASES)} file(s): 0 valid runbook(s)" in result.stderr
    assert f"; {len(CASES) + 1} problem(s)" in result.stderr
    assert not (tmp_path / "pwned").exists()


def test_missing_directory(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-such-dir"
    code, out, _ = lint_in_process(capsys, missing)
    assert code == 1
    [(file, _line, message)] = problems(out)
    assert (file, message) == (str(missing), "no such file or directory")


def test_two_files_with_the_same_runbook_id(tmp_path: Path, capsys) -> None:
    first = write(tmp_path, "a.yaml", GOOD)
    second = write(tmp_path, "b.yaml", GOOD)
    code, out, err = lint_in_process(capsys, tmp_path)
    assert code == 1
    [(file, _line, message)] = problems(out)
    assert file == str(second)
    assert message == f"duplicate runbook id 'probe' (also in {first})"
    assert "2 file(s): 1 valid runbook(s)" in err


def test_duplicate_runbook_id_points_at_the_id_line(tmp_path: Path, capsys) -> None:
    # Regression: reported at the second file's `id:` line, not line 1.
    write(tmp_path, "a.yaml", GOOD)
    second = write(tmp_path, "b.yaml", GOOD)
    _, out, _ = lint_in_process(capsys, tmp_path)
    assert [(f, n) for f, n, _ in problems(out)] == [(str(second), line_of(GOOD, "id: probe"))]


def test_every_problem_in_a_file_is_reported(tmp_path: Path, capsys) -> None:
    text = changed("query: q1}", "query: nq}", changed("action: bump", "action: nope"))
    path = write(tmp_path, "two.yaml", text)
    code, out, _ = lint_in_process(capsys, path)
    assert code == 1
    assert [(f, n) for f, n, _ in problems(out)] == [
        (str(path), line_of(text, "action: nope")),
        (str(path), line_of(text, "query: nq}")),
    ]


def test_a_bad_file_does_not_hide_good_ones(tmp_path: Path, capsys) -> None:
    write(tmp_path, "good.yaml", GOOD)
    bad = write(tmp_path, "bad.yaml", "id: [")
    code, out, err = lint_in_process(capsys, tmp_path)
    assert code == 1
    assert [f for f, _, _ in problems(out)] == [str(bad)]
    assert "2 file(s): 1 valid runbook(s)" in err


@pytest.mark.parametrize("payload", [b"id: probe\ntitle: t\x00\n", b"id: probe\ntitle: t\x07\n"])
def test_control_character_in_a_file_is_one_located_problem(tmp_path: Path, payload) -> None:
    # Regression: a control byte is reported on its own line, in FILE:LINE form, with or
    # without libyaml.
    path = write(tmp_path, "nul.yaml", payload)
    result = run_cli(path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1
    [(file, line, _message)] = problems(result.stdout)
    assert (file, line) == (str(path), 2)
