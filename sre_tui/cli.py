"""Command line: `sre-tui [run|resume|incidents|export|lint|new-runbook|screenshot|demo|bench|…]`.

Heavy modules (Textual, the Kubernetes client) are imported inside the commands that need
them so `lint` and `incidents` start instantly and the app's first frame waits for nothing
it does not use yet.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sre-tui",
        description="Incident console: runbook checklists beside live cluster evidence.",
    )
    parser.add_argument(
        "--config",
        help="configuration file (default: $SRE_TUI_CONFIG, "
        "the XDG config dir, else the repository's config/)",
    )
    parser.add_argument("--env", help="environment from the configuration")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="disable every mutating action for this session (cannot be lifted in the app)",
    )
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="start an incident on one runbook")
    run.add_argument("runbook", help="runbook id")
    run.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a runbook variable (repeatable)",
    )
    run.add_argument("--severity", help="override the runbook's severity (SEV1–SEV4)")

    resume = sub.add_parser("resume", help="reopen an incident (the latest by default)")
    resume.add_argument("incident", nargs="?", help="incident id")

    sub.add_parser("incidents", help="list incidents")

    export = sub.add_parser("export", help="write a Markdown post-mortem draft")
    export.add_argument("incident", help="incident id")
    export.add_argument("-o", "--output", help="file to write (default: stdout)")

    lint = sub.add_parser("lint", help="validate runbooks")
    lint.add_argument(
        "paths",
        nargs="*",
        help="files or directories (default: the configured runbook directories)",
    )
    lint.add_argument(
        "--strict",
        action="store_true",
        help="also flag what the runbook-writing guide asks for and a runbook lacks "
        "(rollback, escalation path, revert values, thresholds, unfilled placeholders…)",
    )
    lint.add_argument(
        "--alerts",
        action="append",
        default=[],
        metavar="RULES.yml",
        help="Prometheus alerting-rule file to check against the runbooks (repeatable)",
    )
    lint.add_argument(
        "--runbook-base",
        action="append",
        default=[],
        metavar="URL",
        help="URL prefix of our runbooks: runbook_url values under it must resolve "
        "(default: inferred from the URLs that do)",
    )

    new_runbook = sub.add_parser(
        "new-runbook", help="write a runbook scaffold that passes `lint --strict`"
    )
    new_runbook.add_argument("id", nargs="?", help="runbook id (default: the file's name)")
    new_runbook.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="file to write, '-' for stdout (default: <id>.yaml in the first runbook "
        "directory); an existing file is never overwritten",
    )
    new_runbook.add_argument("--title", help="the runbook's title (default: from the id)")
    new_runbook.add_argument("--severity", help="SEV1–SEV4 (default: SEV3)")

    demo = sub.add_parser("demo", help="a simulated production environment and the app on it")
    demo.add_argument(
        "--headless",
        action="store_true",
        help="no UI: print one JSON line with URLs and paths, serve until Ctrl-C",
    )
    demo.add_argument(
        "--speed", type=float, default=1.0, help="scenario clock speed (default 1: real time)"
    )
    demo.add_argument(
        "--scenario",
        action="append",
        choices=["timeout", "websocket"],
        help="scenario(s) to run (default: all)",
    )
    demo.add_argument(
        "--no-prometheus",
        action="store_true",
        help="do not start Prometheus and Alertmanager even if installed",
    )
    demo.add_argument(
        "--read-only-user",
        action="store_true",
        help="the demo cluster denies every change (access reviews say so)",
    )
    demo.add_argument(
        "--deny",
        action="append",
        default=[],
        metavar="VERB:RESOURCE",
        help="deny one verb on one resource, e.g. patch:deployments",
    )
    demo.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)

    shot = sub.add_parser("screenshot", help="write SVG screenshots of the main screens")
    shot.add_argument("--out", default="screenshots", help="output directory")
    shot.add_argument(
        "--demo",
        action="store_true",
        help="also capture the app on a running demo environment (live data)",
    )

    bench = sub.add_parser(
        "bench",
        help="measure start-up, the log and pods panes, idle cost and the app under load "
        "against targets",
    )
    bench.add_argument(
        "--json", default="bench.json", metavar="FILE", help="where to write the figures"
    )
    bench.add_argument("--quick", action="store_true", help="fewer runs, shorter windows (<1 min)")
    bench.add_argument(
        "--only",
        action="append",
        choices=["startup", "logs", "pods", "idle", "load"],
        help="run only this part (repeatable)",
    )

    from sre_tui.audit_command import register as register_audit
    from sre_tui.auth_command import register as register_auth
    from sre_tui.import_command import register as register_import

    register_audit(sub)
    register_auth(sub)
    register_import(sub)

    # Options given after the sub-command work too (`sre-tui run X --env prod`).
    for sp in (run, resume, export, lint, new_runbook, shot, demo):
        sp.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
        sp.add_argument("--env", dest="sub_env", help=argparse.SUPPRESS)
        sp.add_argument(
            "--read-only", dest="sub_read_only", action="store_true", help=argparse.SUPPRESS
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.config = getattr(args, "sub_config", None) or args.config
    args.env = getattr(args, "sub_env", None) or args.env
    args.read_only = getattr(args, "sub_read_only", False) or args.read_only
    if callable(getattr(args, "func", None)):  # sub-commands that bring their own handler
        return int(args.func(args))
    from sre_tui import commands

    if _opens_ui(args):
        _start_log(args)
    handler = getattr(commands, f"cmd_{(args.command or 'open').replace('-', '_')}")
    try:
        return handler(args)
    except commands.UserError as exc:
        print(f"sre-tui: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sre-tui lint | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _opens_ui(args: argparse.Namespace) -> bool:
    if args.command == "demo":
        return not args.headless
    return args.command in (None, "run", "resume")


def _start_log(args: argparse.Namespace) -> None:
    """The app's own log under the state directory (see `sre_tui.applog`)."""
    from sre_tui import applog
    from sre_tui.backends.incident_store import state_dir

    if applog.configure(state_dir()) is not None:
        applog.log.info(
            "sre-tui %s started (pid %d, environment %s)",
            args.command or "open",
            os.getpid(),
            args.env or "default",
        )


if __name__ == "__main__":
    sys.exit(main())
