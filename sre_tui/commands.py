"""What each `sre-tui` sub-command does; `cli.py` only parses arguments."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sre_tui.backends.config_files import ConfigError, LoadedConfig, load_config
from sre_tui.core.incident import utcnow
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
    for problem in result.problems:
        print(problem)
    ok = not result.problems
    steps = sum(len(r.runbook.steps()) for r in result.runbooks)
    actions = sum(len(r.runbook.actions) for r in result.runbooks)
    summary = (
        f"{result.files} file(s): {len(result.runbooks)} valid runbook(s), "
        f"{steps} steps, {actions} actions; {len(result.problems)} problem(s)"
    )
    print(summary, file=sys.stderr)
    return 0 if ok else 1


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
