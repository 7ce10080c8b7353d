"""Real components for the secret tests: a Prometheus behind its own basic auth
(--web.config.file), and a search for a secret's every form in files and text.

A missing binary skips the test locally and fails it under CI (`$CI` set): CI must have
every real component."""

from __future__ import annotations

import base64
import os
import subprocess
import time
import urllib.parse
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from sre_tui.sandbox.backends import PROMETHEUS_NAMES, find_binary, free_port

PROM_USER = "sre"
PROM_PASSWORD = "s3cr3t-Pr0m-p@ss/with:colon"  # a test credential


def require(names: tuple[str, ...], hint: str) -> str:
    """The first of `names` on PATH; skip (locally) or fail (under CI) without one."""
    binary = find_binary(names)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(f"{names[0]} is not installed, and CI must have it ({hint})")
        pytest.skip(f"{names[0]} not installed ({hint})")
    return binary


@dataclass(frozen=True)
class AuthedPrometheus:
    url: str
    user: str
    password: str

    @property
    def credentials(self) -> str:
        """The `user:password` value a `prometheus_auth` secret holds."""
        return f"{self.user}:{self.password}"


@contextmanager
def authed_prometheus_server(
    workdir: Path, user: str = PROM_USER, password: str = PROM_PASSWORD
) -> Iterator[AuthedPrometheus]:
    """Prometheus on a free loopback port, requiring basic auth and scraping itself every
    second (with the same credentials); stopped by its PID on exit."""
    binary = require(PROMETHEUS_NAMES, "make backends installs it")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # bcrypt, as Prometheus' web config wants it, from the system's libcrypt

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    workdir.mkdir(parents=True, exist_ok=True)
    web = workdir / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {user: hashed}}))
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "self",
                        "basic_auth": {"username": user, "password": password},
                        "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
                    }
                ],
            }
        )
    )
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--web.config.file={web}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/-/ready", auth=(user, password), timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield AuthedPrometheus(url, user, password)
    finally:
        process.terminate()
        process.wait(10)


def secret_forms(*secrets: str) -> set[bytes]:
    """Each secret as it is, base64 (standard and URL-safe, unpadded so a padded copy is
    found too) and URL-encoded (path and form style)."""
    forms: set[bytes] = set()
    for secret in secrets:
        raw = secret.encode()
        forms |= {
            raw,
            base64.b64encode(raw).rstrip(b"="),
            base64.urlsafe_b64encode(raw).rstrip(b"="),
            urllib.parse.quote(secret).encode(),
            urllib.parse.quote(secret, safe="").encode(),
            urllib.parse.quote_plus(secret).encode(),
        }
    return forms


def leaks(paths: Iterable[Path], forms: set[bytes]) -> list[str]:
    """`path: form` for every file in `paths` holding one of `forms` (empty: no leak)."""
    found = []
    for path in paths:
        data = path.read_bytes()
        found += [f"{path}: {form!r}" for form in sorted(forms) if form in data]
    return found
