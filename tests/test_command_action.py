"""Runbook commands: run exactly as shown, against the incident's kubeconfig and context,
bounded in time and output."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from sre_tui.actions.command import MAX_LINES, CommandPerformer
from sre_tui.core.actions import ActionError, Outcome
from sre_tui.core.incident import EnvInfo
from sre_tui.core.runbook import CommandAction
from sre_tui.core.templating import Context, render

ENV = EnvInfo("staging", context="right", namespace="shop")

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u1
  user: {}
contexts:
- name: wrong
  context: {cluster: c1, user: u1, namespace: wrong-ns}
- name: right
  context: {cluster: c1, user: u1, namespace: right-ns}
current-context: wrong
"""


def action(command: str, timeout: int = 10) -> CommandAction:
    return CommandAction(
        id="diag", kind="command", title="Diagnose", command=command, timeout_seconds=timeout
    )


def run(
    command: str, *, timeout: int = 10, performer: CommandPerformer | None = None
) -> tuple[Outcome, list[str]]:
    lines: list[str] = []
    performer = performer or CommandPerformer(ENV, None, None, on_output=lines.append)
    if performer.on_output is None:
        performer.on_output = lines.append
    outcome = performer.apply(performer.prepare(action(command, timeout)))
    return outcome, lines


def gone(pid: int) -> bool:
    """The process no longer runs (absent, or a zombie waiting for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    return path


@pytest.fixture
def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is not installed (required in CI)")
        pytest.skip("kubectl is not installed")
    return found


def test_plan_shows_the_exact_command_and_where_it_runs(kubeconfig: Path) -> None:
    performer = CommandPerformer(ENV, str(kubeconfig), "right")
    plan = performer.prepare(action("kubectl -n shop get pods"))
    assert plan.kind == "command"
    assert plan.target == "right/shop"
    assert plan.subject == "command"
    assert plan.before is None and plan.before_known
    assert plan.after == "kubectl -n shop get pods"
    assert "kubectl -n shop get pods" in plan.details[0]
    assert f"runs with kubeconfig {kubeconfig}, context right" in plan.details
    assert not plan.dry_run.available and "command" in plan.dry_run.message
    assert plan.access.permitted is None
    assert not plan.revertible and "cannot be undone" in plan.revert_note
    assert plan.blocked is None
    with pytest.raises(ActionError, match="cannot be undone"):
        performer.prepare_revert(plan, Outcome(True, "exit 0"))


def test_plan_without_kubeconfig_says_so() -> None:
    plan = CommandPerformer(EnvInfo("laptop"), None, None).prepare(action("true"))
    assert any("no kubeconfig or context" in line for line in plan.details)


def test_output_is_streamed_and_kept() -> None:
    outcome, lines = run("printf 'one\\ntwo\\n'; echo three >&2; printf 'no newline'")
    assert outcome.ok
    assert outcome.message.startswith("exit 0 in ") and outcome.message.endswith(" s")
    assert lines == ["one", "two", "three", "no newline"]
    assert outcome.response == "one\ntwo\nthree\nno newline"


def test_output_is_inert_and_bounded() -> None:
    outcome, lines = run(f"printf '\\033]0;title\\007\\033[31mred\\n'; seq 1 {MAX_LINES + 50}")
    assert lines[0] == "red"
    assert "\x1b" not in outcome.response and "\x07" not in outcome.response
    kept = outcome.response.splitlines()
    assert kept[0] == "(… 51 earlier line(s) not kept)"
    assert kept[1:] == [str(n) for n in range(51, MAX_LINES + 51)]


def test_non_zero_exit_is_a_failure() -> None:
    outcome, _ = run("echo failing; exit 3")
    assert not outcome.ok
    assert outcome.message.startswith("exit 3 in ")
    assert outcome.response == "failing"


def test_stdin_is_empty() -> None:
    started = time.monotonic()
    outcome, _ = run("cat; echo done")
    assert outcome.ok and outcome.response == "done"
    assert time.monotonic() - started < 5


def test_timeout_kills_the_whole_process_group() -> None:
    started = time.monotonic()
    outcome, lines = run("sleep 30 & echo $!; wait", timeout=1)
    elapsed = time.monotonic() - started
    assert not outcome.ok
    assert outcome.message == "timed out after 1 s"
    assert elapsed < 4
    child = int(lines[0])
    deadline = time.monotonic() + 2
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone(child), f"sleep {child} survived the timeout"


def test_cancel_stops_a_running_command() -> None:
    performer = CommandPerformer(ENV, None, None)
    started_output = threading.Event()
    performer.on_output = lambda line: started_output.set()
    result: list[Outcome] = []
    thread = threading.Thread(
        target=lambda: result.append(
            performer.apply(performer.prepare(action("echo up; sleep 30")))
        )
    )
    thread.start()
    assert started_output.wait(5)
    performer.cancel()
    thread.join(5)
    assert not thread.is_alive()
    [outcome] = result
    assert not outcome.ok
    assert outcome.message.startswith("cancelled after ")


def test_variables_with_shell_metacharacters_arrive_as_one_argument(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    values = {"v": f"a; touch {marker}", "w": f"$(touch {marker}) `touch {marker}` 'q\" *"}
    command = render("printf '%s\\n' {{ v }} {{ w }}", values, Context.SHELL)
    outcome, lines = run(command)
    assert outcome.ok
    assert lines == [values["v"], values["w"]]
    assert not marker.exists()


def test_kubectl_is_pinned_to_the_environment_context(kubeconfig: Path, kubectl: str) -> None:
    performer = CommandPerformer(ENV, str(kubeconfig), "right")
    outcome, lines = run(
        "kubectl config view --minify -o jsonpath='{.contexts[0].name}'; echo;"
        " kubectl config view --minify -o jsonpath='{..namespace}'; echo;"
        ' echo "$KUBECONFIG"; command -v kubectl;'
        ' stat -c %a "$(dirname "$(command -v kubectl)")"',
        performer=performer,
    )
    assert outcome.ok, outcome.response
    name, namespace, env_kubeconfig, wrapper, mode = lines
    assert (name, namespace) == ("right", "right-ns")  # not the file's current context
    assert env_kubeconfig == str(kubeconfig)
    assert wrapper != kubectl and Path(wrapper).name == "kubectl"
    assert mode == "700"
    assert not Path(wrapper).exists()  # removed once the command finished


def test_without_the_wrapper_kubectl_would_follow_the_current_context(
    kubeconfig: Path, kubectl: str
) -> None:
    """The control for the test above: the kubeconfig alone picks the wrong context."""
    outcome, lines = run(
        f"KUBECONFIG={kubeconfig} {kubectl} config view --minify"
        " -o jsonpath='{.contexts[0].name}'"
    )
    assert outcome.ok and lines == ["wrong"]


def test_background_children_are_stopped_when_the_command_ends() -> None:
    started = time.monotonic()
    outcome, lines = run("sleep 30 & echo $!")
    assert outcome.ok
    assert time.monotonic() - started < 4
    child = int(lines[0])
    deadline = time.monotonic() + 2
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone(child), f"background sleep {child} outlived its command"


@pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid(1)")
def test_a_process_escaping_the_group_does_not_hold_the_outcome() -> None:
    """A child that started its own session keeps the output pipe open; apply returns."""
    started = time.monotonic()
    outcome, lines = run("setsid sleep 30 & echo $!")
    try:
        assert outcome.ok
        assert time.monotonic() - started < 4
        assert outcome.response == lines[0]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(lines[0]), signal.SIGKILL)
