"""Kill -9 soak: drive the real app in a pseudo-terminal, SIGKILL it at a random moment,
and check from disk that nothing the screen showed as done was lost.

Each round starts an incident from a small runbook (no cluster: its diagnostics are
`echo`), then plays a random script: ticks (space), notes (n, text, Enter), read-only
commands (x) and concurrent `sre-tui export` subprocesses. After a random number of keys
and a random delay the app gets SIGKILL. Everything it wrote to the terminal before that
is read back and compared with the state files:

- every step shown as `[x] Title` is ticked in the journal;
- every note shown on the timeline (`Note: text`) is in the journal;
- every command whose output dialog was shown has its intent in the audit log and in the
  journal; every one shown finished has its outcome in the audit log;
- `IncidentStore.load` and `AuditLog.entries` never raise, every journal line parses but
  at most a torn last one, which `load` ignores; every export exits 0.

`python -m sre_tui.soak --rounds 1000` prints the figures; tests/test_kill9.py runs a few.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pexpect

from sre_tui.backends.audit import AuditLog
from sre_tui.backends.incident_store import JOURNAL, IncidentStore, StoreError

RUNBOOK_ID = "soak-drill"
PLAIN = {"alpha": "Alpha step", "bravo": "Bravo step", "charlie": "Charlie step"}
# Commands whose output (7011, 7022) appears nowhere but in their own output dialog.
DIAGNOSTICS = {"diag1": "expr 7000 + 11", "diag2": "expr 7000 + 22"}
OUTPUT = {"diag1": "7011", "diag2": "7022"}
# The checklist order: the cursor starts on the first step.
ORDER = ["diag1", "alpha", "bravo", "diag2", "charlie"]
DOWN, UP = "\x1b[B", "\x1b[A"
SIZE = (50, 200)  # wide enough that the timeline has its own column
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]P_^X].*?(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]")
_INCIDENT_ID = re.compile(r"INC-\d{8}-\d{4}-[0-9a-f]{4}")


def runbook_yaml() -> str:
    lines = [
        f"id: {RUNBOOK_ID}",
        "title: Soak drill",
        "severity: SEV3",
        "sections:",
        "  - id: triage",
        "    kind: triage",
        "    title: Triage",
        "    steps:",
    ]
    for step in ORDER:
        if step in DIAGNOSTICS:
            lines += [
                f"      - id: {step}",
                f"        title: Diagnostic {step}",
                f"        command: {DIAGNOSTICS[step]}",
                "        read_only: true",
            ]
        else:
            lines += [f"      - id: {step}", f"        title: {PLAIN[step]}"]
    return "\n".join(lines) + "\n"


def prepare(base: Path) -> dict[str, str]:
    """A runbook dir, a config naming it and a state dir under `base`; the app's env."""
    runbooks = base / "runbooks"
    runbooks.mkdir(parents=True)
    (runbooks / f"{RUNBOOK_ID}.yaml").write_text(runbook_yaml())
    config = base / "sre-tui.yaml"
    config.write_text(json.dumps({"runbook_dirs": [str(runbooks)]}))  # JSON is YAML
    return {
        **os.environ,
        "TERM": "xterm-256color",
        "SRE_TUI_STATE_DIR": str(base / "state"),
        "SRE_TUI_CONFIG": str(config),
        "SRE_TUI_USER": "soak",
    }


def visible(raw: bytes) -> str:
    """What the terminal shows, as one string: drawing sequences removed."""
    return _ESCAPES.sub(b"", raw).decode("utf-8", "replace")


class _Killed(Exception):
    pass


@dataclass
class RoundResult:
    incident_id: str | None = None
    keys: int = 0
    kill_after: int = 0
    checked: int = 0
    losses: list[str] = field(default_factory=list)
    exports: int = 0


class _Driver:
    def __init__(self, child: pexpect.spawn, rng: random.Random, kill_after: int) -> None:
        self.child = child
        self.rng = rng
        self.kill_after = kill_after
        self.keys = 0
        self.raw = bytearray()
        self.cursor = 0
        self.command_marks: list[tuple[str, int]] = []  # (step, offset of its `x`)

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            with contextlib.suppress(pexpect.TIMEOUT):
                self.raw += self.child.read_nonblocking(1 << 16, timeout=0.02)
            if time.monotonic() >= end:
                return

    def wait_for(self, text: str, since: int, timeout: float = 30.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in visible(bytes(self.raw[since:])):
                return True
            self.pump(0.05)
        return False

    def send(self, key: str) -> None:
        if self.keys >= self.kill_after:
            raise _Killed
        self.child.send(key)
        self.keys += 1
        self.pump(self.rng.uniform(0, 0.03))

    def tail(self) -> str:
        return re.sub(r"\s+", " ", visible(bytes(self.raw[-6000:])))[-1500:]

    def move_to(self, step: str) -> None:
        target = ORDER.index(step)
        while self.cursor != target:
            self.send(DOWN if target > self.cursor else UP)
            self.cursor += 1 if target > self.cursor else -1

    def tick(self, step: str) -> None:
        self.move_to(step)
        self.send(" ")

    def note(self, text: str) -> None:
        mark = len(self.raw)
        self.send("n")
        if not self.wait_for("Add a note", mark):
            raise RuntimeError(f"the note prompt did not open: {self.tail()!r}")
        self.send(text)
        mark = len(self.raw)
        self.send("\r")
        # Keys sent before the prompt has closed would go to it, not to the checklist.
        if not self.wait_for(f"Note: {text}", mark):
            raise RuntimeError(f"the note did not reach the timeline: {self.tail()!r}")

    def run_command(self, step: str) -> None:
        self.move_to(step)
        mark = len(self.raw)
        self.command_marks.append((step, mark))
        self.send("x")
        if not self.wait_for("Esc closes", mark):
            raise RuntimeError(f"the command did not finish: {self.tail()!r}")
        self.send("\x1b")
        self.pump(0.3)  # a key right after a lone Esc would read as Alt+key


def play_round(base: Path, rng: random.Random, *, resume_check: bool = False) -> RoundResult:
    env = prepare(base)
    store = IncidentStore(base / "state")
    audit = AuditLog(base / "state" / "audit.jsonl")
    result = RoundResult()
    plain = list(PLAIN)
    diagnostics = list(DIAGNOSTICS)
    rng.shuffle(plain)
    rng.shuffle(diagnostics)
    notes = [f"soak-note-{n}-{rng.randrange(10**6)}" for n in range(3)]
    script: list[tuple[str, str]] = (
        [("tick", s) for s in plain]
        + [("run", s) for s in diagnostics]
        + [("note", t) for t in notes]
        + [("export", str(n)) for n in range(2)]
    )
    rng.shuffle(script)
    result.kill_after = rng.randint(1, 18)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sre_tui", "run", RUNBOOK_ID],
        env=env,
        dimensions=SIZE,
        timeout=30,
    )
    driver = _Driver(child, rng, result.kill_after)
    exports: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        if not driver.wait_for("Diagnostic diag1", 0, timeout=30):
            raise RuntimeError("the app did not start")
        ids = store.ids()
        result.incident_id = ids[0] if ids else None
        try:
            for kind, what in script:
                if kind == "tick":
                    driver.tick(what)
                elif kind == "note":
                    driver.note(what)
                elif kind == "run":
                    driver.run_command(what)
                elif result.incident_id:
                    out = base / f"export-{what}.md"
                    exports.append(
                        (
                            subprocess.Popen(
                                [
                                    sys.executable,
                                    "-m",
                                    "sre_tui",
                                    "export",
                                    result.incident_id,
                                    "-o",
                                    str(out),
                                ],
                                env=env,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE,
                            ),
                            out,
                        )
                    )
            driver.kill_after = driver.keys  # the script ran out: kill now
        except _Killed:
            pass
        driver.pump(rng.uniform(0, 0.4))
        os.kill(child.pid, signal.SIGKILL)
        # What was written before the kill is still in the pty: it was shown.
        while True:
            try:
                driver.raw += child.read_nonblocking(1 << 16, timeout=2)
            except (pexpect.EOF, pexpect.TIMEOUT):
                break
        child.wait()
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
    result.keys = driver.keys
    for process, out in exports:
        _, err = process.communicate(timeout=60)
        result.exports += 1
        if process.returncode != 0 or "Soak drill" not in out.read_text(encoding="utf-8"):
            result.losses.append(f"export failed ({process.returncode}): {err[-300:]!r}")
    result.checked, problems = verify(store, audit, driver, result.incident_id)
    result.losses += problems
    if resume_check and result.incident_id and not problems:
        result.losses += check_resume(env, result.incident_id, visible(bytes(driver.raw)))
    return result


def verify(
    store: IncidentStore, audit: AuditLog, driver: _Driver, incident_id: str | None
) -> tuple[int, list[str]]:
    """Compare what the screen showed with the state files: (facts checked, losses)."""
    screen = visible(bytes(driver.raw))
    ids = store.ids()
    if incident_id is None:
        if ids:
            incident_id = ids[0]
        elif _INCIDENT_ID.search(screen):
            return 1, ["an incident was shown but has no journal"]
        else:
            return 0, []
    problems: list[str] = []
    journal = store.root / incident_id / JOURNAL
    pieces = journal.read_bytes().split(b"\n")
    for number, line in enumerate(pieces[:-1], start=1):  # pieces[-1]: b"" or torn
        try:
            json.loads(line)
        except ValueError:
            problems.append(f"{journal}:{number} does not parse")
    try:
        stored = store.load(incident_id)
    except StoreError as exc:
        return 1, [*problems, f"load failed: {exc}"]
    incident = stored.incident
    if len(incident.events) != len(pieces) - 1:
        problems.append("load did not replay every complete line")
    try:
        entries = audit.entries(incident_id)
    except Exception as exc:  # any exception is the finding
        return 1, [*problems, f"audit log unreadable: {exc!r}"]

    checked = 0
    for step, title in PLAIN.items():
        if f"[x] {title}" in screen:
            checked += 1
            if step not in incident.ticks:
                problems.append(f"tick {step} shown but lost")
    journal_notes = {e.data.get("text") for e in incident.notes}
    for text in re.findall(r"Note: (soak-note-\d+-\d+)", screen):
        checked += 1
        if text not in journal_notes:
            problems.append(f"note {text} shown but lost")
    marks = driver.command_marks
    for index, (step, mark) in enumerate(marks):
        end = marks[index + 1][1] if index + 1 < len(marks) else len(driver.raw)
        shown = visible(bytes(driver.raw[mark:end]))
        command = DIAGNOSTICS[step]
        mine = [e for e in entries if (e.intent.get("plan") or {}).get("after") == command]
        in_journal = [
            r for r in incident.actions.values() if (r.intent or {}).get("after") == command
        ]
        # The command's output: it runs only after its intent was written.
        if OUTPUT[step] in shown:
            checked += 1
            if not mine:
                problems.append(f"{command}: intent shown, no audit entry")
            if not in_journal:
                problems.append(f"{command}: intent shown, not in the journal")
        if OUTPUT[step] in shown and "Esc closes" in shown[shown.find(OUTPUT[step]) :]:
            checked += 1
            if not mine or mine[0].outcome is None:
                problems.append(f"{command}: shown finished, no audit outcome")
    return checked, problems


def check_resume(env: dict[str, str], incident_id: str, screen: str) -> list[str]:
    """`sre-tui resume ID` opens the incident and shows every tick shown before the kill."""
    child = pexpect.spawn(
        sys.executable, ["-m", "sre_tui", "resume", incident_id], env=env, dimensions=SIZE
    )
    raw = bytearray()
    try:
        child.expect("Diagnostic diag1", timeout=30)
        raw += child.before + child.after
        child.expect(pexpect.TIMEOUT, timeout=1)
        raw += child.before
        child.sendcontrol("q")
        child.expect(pexpect.EOF, timeout=15)
    except (pexpect.EOF, pexpect.TIMEOUT):
        return ["resume did not open the incident"]
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
    after = visible(bytes(raw))
    return [
        f"resume lost the tick on {title}"
        for title in PLAIN.values()
        if f"[x] {title}" in screen and f"[x] {title}" not in after
    ]


@dataclass
class Figures:
    rounds: int = 0
    kills: int = 0
    checked: int = 0
    losses: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def summary(self) -> str:
        return (
            f"rounds {self.rounds}  kills {self.kills}  events checked {self.checked}  "
            f"losses {len(self.losses)}  elapsed {self.elapsed:.1f} s"
        )


def soak(rounds: int, seed: int | None = None, resume_every: int = 10, jobs: int = 1) -> Figures:
    """Play `rounds` rounds, `jobs` at a time (each in its own directory and terminal)."""
    master = random.Random(seed)
    seeds = [master.randrange(2**32) for _ in range(rounds)]
    figures = Figures()
    started = time.monotonic()

    def one(number: int) -> RoundResult:
        with tempfile.TemporaryDirectory(prefix="sre-tui-soak-") as base:
            resume = resume_every > 0 and number % resume_every == 0
            try:
                return play_round(Path(base), random.Random(seeds[number]), resume_check=resume)
            except RuntimeError as exc:  # the script got stuck: a finding too
                return RoundResult(losses=[f"stuck: {exc}"])

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for number, result in enumerate(pool.map(one, range(rounds))):
            figures.rounds += 1
            figures.kills += 1 if result.incident_id else 0
            figures.checked += result.checked
            figures.losses += [f"round {number}: {loss}" for loss in result.losses]
    figures.elapsed = time.monotonic() - started
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sre_tui.soak", description=__doc__)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--resume-every", type=int, default=10, help="0: never")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="rounds played at once"
    )
    args = parser.parse_args(argv)
    figures = soak(args.rounds, args.seed, args.resume_every, args.jobs)
    for loss in figures.losses:
        print(loss)
    print(figures.summary())
    return 1 if figures.losses else 0


if __name__ == "__main__":
    sys.exit(main())
