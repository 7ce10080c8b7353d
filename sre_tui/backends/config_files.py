"""Locate and read the configuration file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_config_path

from sre_tui.core.config import Config
from sre_tui.core.lint import Problem, parse_model

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE_CONFIG = REPO_ROOT / "config" / "sre-tui.yaml"


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path | None

    @property
    def kill_switch_ids(self) -> list[str]:
        return [switch.id for switch in self.config.kill_switches]

    def runbook_paths(self) -> list[Path]:
        """Runbook directories, relative ones resolved against the config file's folder."""
        base = self.path.parent if self.path else Path.cwd()
        return [(base / d).resolve() for d in self.config.runbook_dirs]


def config_path(explicit: str | None = None) -> Path | None:
    """--config, else $SRE_TUI_CONFIG, else the XDG config dir, else the repo's example."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get("SRE_TUI_CONFIG"):
        return Path(env)
    xdg = user_config_path("sre-tui") / "config.yaml"
    if xdg.is_file():
        return xdg
    if EXAMPLE_CONFIG.is_file():
        return EXAMPLE_CONFIG
    return None


def load_config(explicit: str | None = None) -> LoadedConfig:
    path = config_path(explicit)
    if path is None:
        return LoadedConfig(Config(), None)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(path), 0, f"cannot read config: {exc.strerror}")]) from None
    config, _, problems = parse_model(text, str(path), Config)
    if config is None or problems:
        raise ConfigError(problems)
    return LoadedConfig(config, path)
