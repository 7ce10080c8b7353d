"""What each `sre-tui` sub-command does; `cli.py` only parses arguments."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sre_tui.backends.config_files import ConfigError, LoadedConfig, load_config


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _config(args: argparse.Namespace) -> LoadedConfig:
    try:
        return load_config(args.config)
    except ConfigError as exc:
        raise UserError(f"invalid configuration:\n{exc}") from None


def cmd_lint(args: argparse.Namespace) -> int:
    from sre_tui.backends.runbook_files import load_runbooks

    paths = [Path(p) for p in args.paths] if args.paths else _config(args).runbook_paths()
    result = load_runbooks(paths)
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
