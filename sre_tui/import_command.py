"""`sre-tui import` (Markdown → runbook YAML) and `sre-tui export-runbook` (runbook → Markdown).

The conversions live in `core.markdown_import` and `core.markdown_export`; this module
reads and writes the files and reports what happened.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TextIO

from sre_tui.core.lint import validate_text
from sre_tui.core.markdown_export import to_markdown
from sre_tui.core.markdown_import import ImportFailed, import_markdown, lint_problems, to_yaml
from sre_tui.core.sanitize import inert

MAX_INPUT_BYTES = 20 * 1024 * 1024


def register(sub: argparse._SubParsersAction) -> None:
    """Add `import` and `export-runbook` to the CLI's sub-parsers."""
    imp = sub.add_parser("import", help="convert Markdown runbooks into runbook YAML files")
    imp.add_argument("files", nargs="+", metavar="FILE.md", help="Markdown documents to read")
    imp.add_argument(
        "-o", "--output", default=".", metavar="DIR", help="directory to write into (default: .)"
    )
    imp.add_argument("--force", action="store_true", help="overwrite existing runbook files")
    imp.set_defaults(func=cmd_import)
    exp = sub.add_parser("export-runbook", help="write a runbook as readable Markdown")
    exp.add_argument("runbook", metavar="ID", help="runbook id (or a path to a runbook file)")
    exp.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
    exp.set_defaults(func=cmd_export_runbook)


def _kill_switch_ids(args: argparse.Namespace) -> list[str]:
    """The configured kill switches, so steps naming them lint clean; none without a config."""
    from sre_tui.backends.config_files import ConfigError, load_config

    try:
        return load_config(getattr(args, "config", None)).kill_switch_ids
    except (ConfigError, OSError):
        return []


def cmd_import(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = sys.stderr
    target = Path(args.output)
    kill_switches = _kill_switch_ids(args)
    failed = False
    for name in args.files:
        path = Path(name)
        try:
            if path.stat().st_size > MAX_INPUT_BYTES:
                print(f"sre-tui: {inert(name)}: larger than 20 MB; not read", file=err)
                failed = True
                continue
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            print(f"sre-tui: cannot read {inert(name)}: {inert(str(reason))}", file=err)
            failed = True
            continue
        try:
            result = import_markdown(text, name, kill_switches)
        except (ImportFailed, RecursionError) as exc:
            message = str(exc) if isinstance(exc, ImportFailed) else "nested too deeply to read"
            print(f"sre-tui: {inert(name)}: {inert(message)}", file=err)
            failed = True
            continue
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"sre-tui: cannot create {inert(str(target))}: {exc.strerror}", file=err)
            return 1
        for runbook in result.runbooks:
            dest = target / f"{runbook['id']}.yaml"
            if dest.exists() and not args.force:
                print(
                    f"sre-tui: {inert(str(dest))} exists; not overwritten (use --force)", file=err
                )
                failed = True
                continue
            source = re.sub(r"[^\w.\- ]", "?", Path(name).name)
            header = f"# Imported from {source} by sre-tui import; review before use.\n"
            try:
                dest.write_text(header + to_yaml(runbook), encoding="utf-8")
            except OSError as exc:
                print(f"sre-tui: cannot write {inert(str(dest))}: {exc.strerror}", file=err)
                failed = True
                continue
            problems = lint_problems(runbook, kill_switches)
            if problems:
                failed = True
                print(
                    f"sre-tui: {inert(str(dest))} does not pass lint ({len(problems)} problem(s), "
                    "listed below); written so nothing is lost, fix it by hand",
                    file=err,
                )
            sections = [s for s in runbook.get("sections", []) if isinstance(s, dict)]
            steps = sum(len(section.get("steps", [])) for section in sections)
            actions = len(runbook.get("actions", []))
            print(
                f"wrote {inert(str(dest))}: {inert(str(runbook.get('title', '')))} "
                f"({inert(str(runbook.get('severity', '?')))}, {steps} steps, {actions} actions)",
                file=out,
            )
        for warning in result.warnings:
            print(f"warning: {inert(name)}: {inert(warning)}", file=err)
    return 1 if failed else 0


def cmd_export_runbook(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = sys.stderr
    kill_switches = _kill_switch_ids(args)
    candidate = Path(args.runbook)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        text, source = candidate.read_text(encoding="utf-8"), str(candidate)
    else:
        found = _find_runbook(args)
        if found is None:
            print(f"sre-tui: no runbook with id {inert(args.runbook)!r}", file=err)
            return 1
        text, source = found
    runbook, problems = validate_text(text, source, kill_switches)
    if runbook is None:
        for problem in problems:
            print(inert(str(problem)), file=err)
        print(f"sre-tui: {inert(source)} is not a valid runbook; not exported", file=err)
        return 1
    markdown = to_markdown(runbook)
    if args.output:
        try:
            Path(args.output).write_text(markdown, encoding="utf-8")
        except OSError as exc:
            print(f"sre-tui: cannot write {inert(args.output)}: {exc.strerror}", file=err)
            return 1
        print(f"wrote {inert(args.output)}", file=out)
    else:
        out.write(markdown)
    return 0


def _find_runbook(args: argparse.Namespace) -> tuple[str, str] | None:
    """The text and path of the runbook with id `args.runbook` in the configured directories."""
    from sre_tui.backends.config_files import ConfigError, load_config
    from sre_tui.backends.runbook_files import load_runbooks

    try:
        loaded = load_config(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"sre-tui: invalid configuration:\n{inert(str(exc))}", file=sys.stderr)
        return None
    for directory in loaded.runbook_paths():
        for suffix in (".yaml", ".yml"):
            path = directory / f"{args.runbook}{suffix}"
            if path.is_file():
                return path.read_text(encoding="utf-8"), str(path)
    result = load_runbooks(loaded.runbook_paths(), loaded.kill_switch_ids)
    for item in result.runbooks:
        if item.runbook.id == args.runbook:
            return item.source, item.path
    return None
