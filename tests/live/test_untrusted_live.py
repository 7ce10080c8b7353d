"""Untrusted text from the live backends on a real pseudo-terminal: an alert's name,
labels, summary and description from Alertmanager; a pod's labels, annotations and event
from the Kubernetes API; a metric's label from Prometheus. Each carries escape sequences,
control characters, markup, a click action and bidi overrides; none may reach the
terminal as anything but inert characters, and the app must keep taking keys.

(Pod names and label values cannot carry such text through a real API server, which
validates them; annotations, event messages and everything in alerts and metric labels
can. The simulated API accepts any label value, so labels are tried too.)"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml
from kubernetes import client, config

from tests.ptytools import app_env, app_session, assert_inert, payload

pytestmark = pytest.mark.pty

NS = "production"
METRIC = "sre_tui_hostile_metric"


def exposition_value(text: str) -> str:
    """A label value in Prometheus's text format (only \\, " and newline are escaped)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def hostile_config(demo: Any, tmp_path: Path) -> Path:
    """The demo's config with service-timeout plus a query on the hostile metric first."""
    base = yaml.safe_load(Path(demo.info.config).read_text())
    source = Path(base["runbook_dirs"][0]) / "service-timeout.yaml"
    runbook = yaml.safe_load(source.read_text())
    runbook["queries"].insert(
        0, {"id": "hostile", "title": "Hostile series", "promql": METRIC, "warn": 2}
    )
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "service-timeout.yaml").write_text(yaml.safe_dump(runbook, width=10**9))
    path = tmp_path / "sre-tui.yaml"
    path.write_text(yaml.safe_dump({**base, "runbook_dirs": [str(runbooks)]}, width=10**9))
    return path


def post_alert(alertmanager: str) -> None:
    now = datetime.now(UTC)
    alert = {
        "labels": {
            "alertname": payload("alertname", nul=False),
            "severity": "critical",
            "namespace": payload("namespace", nul=False),
        },
        "annotations": {
            "summary": payload("summary", nul=False),
            "description": payload("description", nul=False),
        },
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }
    request = urllib.request.Request(
        f"{alertmanager}/api/v2/alerts",
        data=json.dumps([alert]).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def mark_checkout_pods(demo: Any) -> list[str]:
    """Hostile labels and annotations on every checkout pod (PATCH, as anyone allowed to
    annotate could), and a hostile event each (as a container's termination message
    reaches an event)."""
    core = client.CoreV1Api(config.new_client_from_config(config_file=demo.info.kubeconfig))
    names = [
        pod.metadata.name
        for pod in core.list_namespaced_pod(NS, label_selector="app=checkout").items
    ]
    for name in names:
        core.patch_namespaced_pod(
            name,
            NS,
            {
                "metadata": {
                    "labels": {"a-qzx": payload("label", nul=False)},
                    "annotations": {"a.example.com/qzx": payload("annotation")},
                }
            },
        )
    cluster = demo.env.cluster

    async def events() -> None:
        for name in names:
            pod = cluster._find("pods", NS, name)
            if pod is not None:
                cluster._event(pod, "QZXreason", payload("event"), type_="Warning")

    demo.run(events())
    return names


def serve_hostile_metric(demo: Any) -> None:
    """Two series of the metric; the plotted (worst) one carries the hostile label."""
    scenario = demo.hostile.inner
    original = scenario.metrics_text
    extra = (
        f'{METRIC}{{alpha="{exposition_value(payload("metric", nul=False))}"}} 5\n'
        f'{METRIC}{{alpha="calm"}} 1\n'
    ).encode()
    scenario.metrics_text = lambda: original() + extra


def test_hostile_alerts_pods_and_metrics_are_inert_on_a_real_terminal(demo, tmp_path) -> None:
    assert demo.info.alertmanager and demo.info.prometheus
    cfg = hostile_config(demo, tmp_path)
    post_alert(demo.info.alertmanager)
    assert mark_checkout_pods(demo)
    serve_hostile_metric(demo)
    env = app_env(tmp_path / "state")
    common = ["--config", str(cfg), "--env", "demo"]

    # The alerts screen: the alert's name in the list, its labels, summary and
    # description in the detail of the highlighted row.
    with app_session(common, env, rows=40, cols=160) as alerts:
        alerts.until("QZXalertname")
        for _ in range(6):
            try:
                alerts.child.expect("QZXdescription", timeout=3)
                break
            except pexpect.TIMEOUT:
                alerts.seen += alerts.child.before
                alerts.send("\x1b[B")  # the next alert
        else:
            raise AssertionError("the hostile alert's detail never showed")
        alerts.seen += alerts.child.before + alerts.child.after
        alerts.drain(1)
        alerts.child.sendcontrol("q")
        alerts.until(pexpect.EOF)
    text = assert_inert(bytes(alerts.seen))
    assert "QZXsummary" in text and "QZXnamespace" in text
    assert "[@click=app.quit]" in text  # shown as the text it is

    # An incident on checkout: the pods pane's detail and the metrics pane.
    run = ["run", "service-timeout", *common, "--var", "deployment=checkout"]
    with app_session(run, env, rows=40, cols=160) as incident:
        incident.until("Check service health")
        incident.send("p")
        incident.until("QZXannotation")
        incident.until("QZXevent")
        incident.send("m")
        incident.until("QZXmetric")
        incident.drain(1)
        incident.send("n")  # still taking keys: the note dialog opens
        incident.until("Add a note")
        incident.child.sendcontrol("q")
        incident.until(pexpect.EOF)
    text = assert_inert(bytes(incident.seen))
    assert "QZXlabel" in text and "QZXreason" in text


@pytest.fixture(autouse=True)
def _restore_metrics(demo) -> Any:
    yield
    demo.hostile.inner.__dict__.pop("metrics_text", None)
