"""The direction of imports: ui → backends → core; core does no I/O."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sre_tui"
HEAVY = ("textual", "rich", "kubernetes", "httpx", "prometheus_api_client", "keyring", "urllib3")


def modules_of(package: str) -> list[str]:
    base = PACKAGE / package
    return sorted(
        f"sre_tui.{package}." + p.relative_to(base).with_suffix("").as_posix().replace("/", ".")
        for p in base.rglob("*.py")
        if p.name != "__init__.py"
    )


def loaded_after_import(modules: list[str]) -> set[str]:
    """Import `modules` in a fresh interpreter and return every module it loaded."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_core_loads_neither_textual_nor_backends() -> None:
    loaded = loaded_after_import(modules_of("core"))
    assert not top_level(loaded) & set(HEAVY)
    assert not {m for m in loaded if m.startswith(("sre_tui.backends", "sre_tui.ui"))}


def test_backends_never_load_textual() -> None:
    loaded = loaded_after_import(modules_of("backends"))
    assert not top_level(loaded) & {"textual"}
    assert not {m for m in loaded if m.startswith("sre_tui.ui")}


# logging too: the app's log is configured and written outside the core (sre_tui.applog).
IO_MODULES = {
    "os", "pathlib", "socket", "subprocess", "shutil", "io", "tempfile", "asyncio", "logging"
}  # fmt: skip
IO_CALLS = {"open", "print", "input"}


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_module_does_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {(node.module or "").split(".")[0]}
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in IO_CALLS, f"{path.name}:{node.lineno} calls {node.func.id}()"
            continue
        else:
            continue
        assert not names & IO_MODULES, f"{path.name}:{node.lineno} imports {names & IO_MODULES}"


def test_lint_and_incidents_do_not_import_textual() -> None:
    """The CLI's light commands start without the UI toolkit or cluster clients."""
    loaded = loaded_after_import(["sre_tui.cli", "sre_tui.commands"])
    assert not top_level(loaded) & {"textual", "kubernetes", "prometheus_api_client"}
