"""What each `sre-tui` sub-command does; `cli.py` only parses arguments."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from sre_tui.backends.config_files import ConfigError, LoadedConfig, load_config
from sre_tui.core.incident import utcnow
from sre_tui.core.lint import Loaded, Problem
from sre_tui.core.reports import postmortem, progress
from sre_tui.core.severity import Severity
from sre_tui.core.templating import TemplateError
from sre_tui.core.timefmt import full_stamp
from sre_tui.core.variables import parse_assignments
from sre_tui.workspace import ActiveIncident, Workspace, WorkspaceError


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _config(args: argparse.Namespace) -> LoadedConfig:
    try:
        return load_config(args.config)
    except ConfigError as exc:
        raise UserError(f"invalid configuration:\n{exc}") from None


def cmd_lint(args: argparse.Namespace) -> int:
    from sre_tui.backends.runbook_files import load_runbooks

    loaded = _config(args)
    paths = [Path(p) for p in args.paths] if args.paths else loaded.runbook_paths()
    result = load_runbooks(paths, loaded.kill_switch_ids)
    problems = list(result.problems)
    summary = (
        f"{result.files} file(s): {len(result.runbooks)} valid runbook(s), "
        f"{sum(len(r.runbook.steps()) for r in result.runbooks)} steps, "
        f"{sum(len(r.runbook.actions) for r in result.runbooks)} actions; "
        f"{len(result.problems)} problem(s)"
    )
    if getattr(args, "strict", False):
        from sre_tui.core.strict import strict_problems

        switches = loaded.config.kill_switches
        warnings = [
            warning
            for item in result.runbooks
            for warning in strict_problems(item.runbook, item.source, item.path, switches)
        ]
        problems.extend(warnings)
        summary += f", {len(warnings)} strict warning(s)"
    if getattr(args, "alerts", None):
        alert_problems, count = _lint_alert_rules(args.alerts, result.runbooks, args.runbook_base)
        problems.extend(alert_problems)
        summary += f"; {count} alert(s): {len(alert_problems)} alert problem(s)"
    for problem in problems:
        print(problem)
    print(summary, file=sys.stderr)
    return 1 if problems else 0


def _lint_alert_rules(
    files: list[str], runbooks: list[Loaded], bases: list[str] | None
) -> tuple[list[Problem], int]:
    """Problems between the alerting rules in `files` and `runbooks`; and the alert count."""
    from sre_tui.backends.runbook_files import read_text
    from sre_tui.core.alert_rules import AlertRule, check_alert_rules, parse_rules

    rules: list[AlertRule] = []
    problems: list[Problem] = []
    for name in files:
        try:
            text = read_text(Path(name))
        except OSError as exc:
            problems.append(Problem(name, 0, f"cannot read: {exc.strerror or exc}"))
            continue
        file_rules, file_problems = parse_rules(text, name)
        rules.extend(file_rules)
        problems.extend(file_problems)
    problems.extend(check_alert_rules(rules, runbooks, bases or ()))
    return problems, len(rules)


def _template_text() -> str:
    from importlib import resources

    return (resources.files("sre_tui") / "templates" / "runbook.yaml").read_text("utf-8")


def scaffold(runbook_id: str, title: str, severity: Severity, today: str) -> str:
    """The runbook template with its id, title, severity and review date filled in."""
    # A JSON string is a valid YAML double-quoted scalar, whatever the title holds.
    return (
        _template_text()
        .replace("__ID__", runbook_id)
        .replace("__TITLE__", json.dumps(title, ensure_ascii=False))
        .replace("__SEVERITY__", severity.value)
        .replace("__DATE__", today)
    )


def cmd_new_runbook(args: argparse.Namespace) -> int:
    from sre_tui.core.lint import validate_text
    from sre_tui.core.runbook import ID_PATTERN

    output: str | None = args.output
    runbook_id = args.id or (Path(output).stem if output and output != "-" else None)
    if not runbook_id:
        raise UserError("give the runbook's id (sre-tui new-runbook ID) or a file (-o FILE)")
    if not re.match(ID_PATTERN, runbook_id):
        raise UserError(
            f"runbook id {runbook_id!r} must be lowercase letters, digits, '-' or '_' "
            "(at most 63, starting with a letter or digit)"
        )
    try:
        severity = Severity((args.severity or "SEV3").upper())
    except ValueError:
        raise UserError(f"severity must be SEV1–SEV4, not {args.severity!r}") from None
    title = args.title or runbook_id.replace("-", " ").replace("_", " ").capitalize()
    text = scaffold(runbook_id, title, severity, utcnow().date().isoformat())
    _, problems = validate_text(text, "template")
    if problems:  # a title the template cannot hold; never write a runbook that fails lint
        raise UserError("the scaffold would not pass lint:\n" + "\n".join(map(str, problems)))
    if output == "-":
        sys.stdout.write(text)
        return 0
    if output is None:
        directories = _config(args).runbook_paths()
        if not directories:
            raise UserError("no runbook directory configured; pass -o FILE")
        path = directories[0] / f"{runbook_id}.yaml"
    else:
        path = Path(output)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise UserError(f"{path} exists; not overwriting it (choose another -o FILE)") from None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"Wrote {path}", file=sys.stderr)
    print(f"Edit it, then check it with: sre-tui lint --strict {path}", file=sys.stderr)
    return 0


def _workspace(args: argparse.Namespace) -> Workspace:
    try:
        return Workspace.open(_config(args), args.env, read_only=args.read_only)
    except WorkspaceError as exc:
        raise UserError(str(exc)) from None


def _run_app(workspace: Workspace, active: ActiveIncident | None = None) -> int:
    fps = workspace.loaded.config.refresh.fps
    if fps is not None:
        # Read by Textual when it is first imported, which is just below.
        os.environ.setdefault("TEXTUAL_FPS", str(fps))
    from sre_tui.ui.app import create_app

    app = create_app(workspace, active)
    app.run()
    return app.return_code or 0


def cmd_open(args: argparse.Namespace) -> int:
    return _run_app(_workspace(args))


def cmd_run(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    loaded = workspace.find_runbook(args.runbook)
    if loaded is None:
        known = ", ".join(sorted(r.runbook.id for r in workspace.runbooks.runbooks))
        raise UserError(f"no runbook '{args.runbook}' (available: {known})")
    severity = None
    if args.severity:
        try:
            severity = Severity(args.severity.upper())
        except ValueError:
            raise UserError(f"severity must be SEV1–SEV4, not {args.severity!r}") from None
    try:
        given = parse_assignments(args.var)
        active = workspace.start(loaded, given=given, severity=severity)
    except (WorkspaceError, TemplateError) as exc:
        raise UserError(str(exc)) from None
    return _run_app(workspace, active)


def cmd_resume(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    try:
        active = workspace.resume(args.incident)
    except WorkspaceError as exc:
        raise UserError(str(exc)) from None
    return _run_app(workspace, active)


def cmd_incidents(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    found, problems = workspace.store.all()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not found:
        print(f"No incidents under {workspace.store.root}")
        return 0
    rows = [("ID", "STATE", "SEV", "RUNBOOK", "STARTED (UTC)", "PROGRESS")]
    for stored in reversed(found):
        active = workspace.reopen(stored) if stored.runbook_source else None
        incident = stored.incident
        done, total = progress(incident, active.runbook if active else None)
        rows.append(
            (
                incident.id,
                incident.state.value,
                incident.severity.value,
                incident.runbook_id or "-",
                full_stamp(incident.started_at),
                f"{done}/{total}" if total else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    try:
        active = workspace.resume(args.incident)
    except WorkspaceError as exc:
        raise UserError(str(exc)) from None
    text = postmortem(active.incident, active.runbook, utcnow())
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {args.output}: {exc.strerror}") from None
        print(f"Wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_screenshot(args: argparse.Namespace) -> int:
    from sre_tui.ui.screenshots import write_demo_screenshots, write_screenshots

    paths = write_screenshots(Path(args.out))
    if args.demo:
        paths += write_demo_screenshots(Path(args.out))
    for path in paths:
        print(path)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sre_tui.sandbox import demo

    try:
        policy = demo.policy_from_args(args.read_only_user, args.deny)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.headless:
        return demo.run_headless(
            speed=args.speed,
            scenarios=args.scenario,
            policy=policy,
            with_prometheus=not args.no_prometheus,
            parent_pid=args.parent_pid,
        )
    passthrough = [f"--speed={args.speed}"]
    passthrough += [f"--scenario={name}" for name in args.scenario or []]
    passthrough += ["--no-prometheus"] if args.no_prometheus else []
    passthrough += ["--read-only-user"] if args.read_only_user else []
    passthrough += [f"--deny={item}" for item in args.deny]
    print("Starting the demo environment…", file=sys.stderr, flush=True)
    try:
        child, info = demo.start_child(passthrough)
    except RuntimeError as exc:
        raise UserError(str(exc)) from None
    try:
        for note in info.notes:
            print(f"note: {note}", file=sys.stderr)
        os.environ[info.flag_token_env] = info.flag_token  # for this process only
        args.config, args.env = info.config, "demo"
        return _run_app(_workspace(args))
    finally:
        demo.stop_child(child)


def cmd_bench(args: argparse.Namespace) -> int:
    from sre_tui.bench import run

    return run.main(args.quick, Path(args.json), args.only)
