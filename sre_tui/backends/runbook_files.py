"""Find and read runbook files; validation itself lives in `core.lint`."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sre_tui.core.lint import Loaded, Problem, duplicate_ids, validate_text
from sre_tui.core.yamlsource import MAX_BYTES

SUFFIXES = (".yaml", ".yml")

# What a rescan compares: every runbook file's path, modification time and size (and the
# paths that are missing), so an unchanged directory costs one listing and no reads.
Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class BrokenFile:
    """A runbook file that did not load, with its lint problems."""

    file: str
    problems: tuple[Problem, ...]


@dataclass
class RunbookSet:
    runbooks: list[Loaded] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    def by_id(self, runbook_id: str) -> Loaded | None:
        return next((r for r in self.runbooks if r.runbook.id == runbook_id), None)

    def broken(self) -> list[BrokenFile]:
        """Files (or missing paths) with problems, in file order; none of them loaded."""
        by_file: dict[str, list[Problem]] = {}
        for problem in self.problems:
            by_file.setdefault(problem.file, []).append(problem)
        return [BrokenFile(file, tuple(found)) for file, found in sorted(by_file.items())]


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Runbook files under `paths` (files or directories), sorted, and missing paths."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), 0, "no such file or directory"))
    return files, problems


def fingerprint(paths: Iterable[Path]) -> Fingerprint:
    """A cheap summary of the runbook files under `paths`: it changes when a file is added,
    removed, edited or replaced."""
    files, missing = discover(paths)
    stamps: list[tuple[str, int, int]] = [(p.file, -1, -1) for p in missing]
    for path in files:
        try:
            stat = path.stat()
        except OSError:  # removed between the listing and now
            stamps.append((str(path), -1, -1))
            continue
        stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def read_text(path: Path) -> str:
    """Read at most one byte more than a runbook may hold, so huge files cost nothing."""
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    return data.decode("utf-8", errors="replace")


def load_runbooks(paths: Iterable[Path], global_actions: Collection[str] = ()) -> RunbookSet:
    """Every runbook under `paths`; steps may name the configured kill switches."""
    files, problems = discover(paths)
    result = RunbookSet(problems=problems, files=len(files))
    for path in files:
        try:
            text = read_text(path)
        except OSError as exc:
            result.problems.append(Problem(str(path), 0, f"cannot read: {exc.strerror or exc}"))
            continue
        runbook, file_problems = validate_text(text, str(path), global_actions)
        result.problems.extend(file_problems)
        if runbook is not None:
            result.runbooks.append(Loaded(runbook, text, str(path)))
    duplicates = duplicate_ids(result.runbooks)
    if duplicates:
        result.problems.extend(duplicates)
        dup_files = {p.file for p in duplicates}
        result.runbooks = [r for r in result.runbooks if r.path not in dup_files]
    return result
