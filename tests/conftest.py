"""Shared fixtures: an isolated state directory, a frozen clock, a workspace, a real
Prometheus behind basic auth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sre_tui.ui.screenshots import FrozenClock, fixed_workspace
from sre_tui.workspace import Workspace
from tests.realbackends import AuthedPrometheus, authed_prometheus_server

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state dir and the repository's example config."""
    state = tmp_path / "state"
    monkeypatch.setenv("SRE_TUI_STATE_DIR", str(state))
    monkeypatch.setenv("SRE_TUI_CONFIG", str(REPO / "config" / "sre-tui.yaml"))
    monkeypatch.setenv("SRE_TUI_USER", "tester")
    return state


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def workspace(isolated_state: Path) -> Workspace:
    return fixed_workspace(isolated_state, env="staging")


@pytest.fixture
def authed_prometheus(tmp_path: Path) -> Iterator[AuthedPrometheus]:
    """A real Prometheus requiring basic auth (see tests/realbackends.py)."""
    with authed_prometheus_server(tmp_path / "prometheus") as server:
        yield server
