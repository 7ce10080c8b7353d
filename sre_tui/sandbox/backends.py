"""Real Prometheus and Alertmanager processes for the demo, when they are installed."""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

PROMETHEUS_NAMES = ("prometheus",)
# Debian names the binary prometheus-alertmanager; upstream tarballs call it alertmanager.
ALERTMANAGER_NAMES = ("prometheus-alertmanager", "alertmanager")
INSTALL_HINT = (
    "install them with `sudo apt-get install prometheus prometheus-alertmanager` "
    "(Debian/Ubuntu) or `brew install prometheus alertmanager` (macOS)"
)


def find_binary(names: tuple[str, ...]) -> str | None:
    for name in names:
        if path := shutil.which(name):
            return path
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the demo process dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    argv: list[str]

    def restart(self) -> None:
        """Start the same binary again on the same port and data (after `stop`)."""
        self.process = _spawn(self.name, self.argv, self.log_path.parent)

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def wait_ready(service: Service, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            tail = service.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{service.name} exited with {service.process.returncode}: {tail}")
        try:
            with urllib.request.urlopen(f"{service.url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{service.name} not ready after {timeout:.0f}s")


def _spawn(name: str, argv: list[str], workdir: Path) -> subprocess.Popen[bytes]:
    log = (workdir / f"{name}.log").open("wb")
    return subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
        cwd=workdir,
    )


def start_alertmanager(binary: str, config: Path, workdir: Path) -> Service:
    port = free_port()
    data = workdir / "alertmanager-data"
    data.mkdir(exist_ok=True)
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip port
        "--log.level=error",
    ]
    process = _spawn("alertmanager", argv, workdir)
    return Service(
        "alertmanager", f"http://127.0.0.1:{port}", process, workdir / "alertmanager.log", argv
    )


def start_prometheus(
    binary: str,
    *,
    scrape_target: str,
    rule_files: list[Path],
    alertmanager: str | None,
    workdir: Path,
    scrape_interval: str = "1s",
) -> Service:
    port = free_port()
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {
                "job_name": "demo-services",
                "honor_labels": True,
                "static_configs": [{"targets": [scrape_target]}],
            }
        ],
    }
    if alertmanager:
        target = alertmanager.removeprefix("http://")
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    data = workdir / "prometheus-data"
    data.mkdir(exist_ok=True)
    argv = [
        binary,
        f"--config.file={path}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=error",
    ]
    process = _spawn("prometheus", argv, workdir)
    url = f"http://127.0.0.1:{port}"
    return Service("prometheus", url, process, workdir / "prometheus.log", argv)
