"""What a server answers is data, not code: any JSON-like answer gives a result or the
backend's own error, never another exception.

Pure helpers get the values directly; the Alertmanager and Prometheus backends, which
parse inside methods that do the HTTP call, get them from a local HTTP server.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sre_tui.backends.alertmanager import AlertmanagerBackend, AlertmanagerError
from sre_tui.backends.prometheus import PrometheusBackend, PrometheusError
from sre_tui.core import rollout
from sre_tui.core.actions import ActionError
from sre_tui.core.logbuffer import LogBuffer, LogLine, ResumePoint, parse_line
from sre_tui.core.pods import PodRow, pod_row, summary
from tests.property.strategies import hostile_text, json_value, property_settings, shaped

PROPERTY = property_settings(100, 1000, HealthCheck.function_scoped_fixture)

# --- shapes the servers use, each field right or arbitrary ------------------------------

text = st.one_of(hostile_text, st.sampled_from(["", "Running", "CrashLoopBackOff", "In"]))
stamp = st.one_of(
    st.sampled_from(
        [
            "2024-05-01T03:04:05Z",
            "2024-05-01T03:04:05",
            "2024-05-01T03:04:05.123456789+02:00",
            "2024-13-45T99:99:99Z",
        ]
    ),
    text,
)
count = st.one_of(st.integers(-5, 5), st.sampled_from(["3", "x", 1.5, float("inf")]))
labels = st.dictionaries(text, text, max_size=3)

container_status = shaped(
    {
        "name": text,
        "ready": st.booleans(),
        "restartCount": count,
        "state": shaped(
            {
                "waiting": shaped({"reason": text, "message": text}),
                "terminated": shaped({"reason": text}),
            }
        ),
    }
)
metadata = shaped(
    {
        "name": text,
        "uid": st.sampled_from(["u1", "u2"]),
        "generation": count,
        "deletionTimestamp": stamp,
        "creationTimestamp": stamp,
        "labels": labels,
        "annotations": st.dictionaries(
            st.sampled_from([rollout.REVISION, "x"]), st.one_of(count, text)
        ),
        "ownerReferences": st.lists(
            shaped({"controller": st.booleans(), "uid": st.sampled_from(["u1", "u2"])}),
            max_size=2,
        ),
    }
)
env_entry = shaped(
    {
        "name": text,
        "value": text,
        "valueFrom": shaped({"configMapKeyRef": shaped({"name": text, "key": text})}),
    }
)
container = shaped({"name": text, "image": text, "env": st.lists(env_entry, max_size=3)})
template = shaped(
    {
        "metadata": metadata,
        "spec": shaped({"containers": st.lists(container, max_size=2)}),
    }
)
pod = shaped(
    {
        "metadata": metadata,
        "spec": shaped({"containers": st.lists(container, max_size=2), "nodeName": text}),
        "status": shaped(
            {
                "phase": text,
                "reason": text,
                "containerStatuses": st.lists(container_status, max_size=3),
                "initContainerStatuses": st.lists(container_status, max_size=2),
            }
        ),
    }
)
selector = shaped(
    {
        "matchLabels": labels,
        "matchExpressions": st.lists(
            shaped(
                {
                    "key": text,
                    "operator": st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]),
                    "values": st.lists(text, max_size=3),
                }
            ),
            max_size=2,
        ),
    }
)
deployment = shaped(
    {
        "metadata": metadata,
        "spec": shaped({"replicas": count, "template": template, "selector": selector}),
        "status": shaped(
            {
                "replicas": count,
                "updatedReplicas": count,
                "readyReplicas": count,
                "availableReplicas": count,
                "unavailableReplicas": count,
                "observedGeneration": count,
                "conditions": st.lists(
                    shaped(
                        {
                            "type": st.just("Progressing"),
                            "reason": st.just("ProgressDeadlineExceeded"),
                            "message": text,
                        }
                    ),
                    max_size=2,
                ),
            }
        ),
    }
)
replicaset = shaped({"metadata": metadata, "spec": shaped({"template": template})})


# --- pure helpers ------------------------------------------------------------------------


@PROPERTY
@given(st.lists(pod, max_size=4))
def test_pod_rows(pods: list[Any]) -> None:
    rows = [pod_row(p) for p in pods]
    assert all(isinstance(row, PodRow) for row in rows)
    for row in rows:
        assert isinstance(row.restarts, int) and isinstance(row.name, str)
        assert row.created is None or isinstance(row.created, datetime)
        row.age(datetime.now().astimezone())
    assert isinstance(summary(rows), str)


@PROPERTY
@given(deployment, st.lists(pod, max_size=3))
def test_rollout_progress(deployment: Any, pods: list[Any]) -> None:
    try:
        status = rollout.rollout_progress(deployment, pods)
    except ActionError:
        return
    assert isinstance(status, rollout.RolloutStatus) and isinstance(status.text, str)


@PROPERTY
@given(deployment, st.lists(replicaset, max_size=3), st.lists(pod, max_size=3), count)
def test_revisions_and_rollback(
    deployment: Any, replicasets: list[Any], pods: list[Any], to_revision: Any
) -> None:
    try:
        owned = rollout.owned_by(replicasets, deployment)
        assert isinstance(rollout.current_revision(deployment, owned), int)
        assert isinstance(rollout.current_pods(deployment, owned, pods), list)
        target = rollout.rollback_target(
            deployment, owned, to_revision if isinstance(to_revision, int) else None
        )
        assert isinstance(rollout.revision_label(target.revision, target.template), str)
        assert isinstance(rollout.template_fingerprint(target.template), str)
    except ActionError:
        return


@PROPERTY
@given(deployment, st.one_of(st.none(), text))
def test_containers_env_and_selector(deployment: Any, wanted: Any) -> None:
    try:
        spec = deployment.get("spec") if isinstance(deployment, dict) else None
        chosen = spec.get("selector") if isinstance(spec, dict) else None
        assert isinstance(rollout.selector_string(chosen), str)
        found = rollout.find_container(deployment, wanted)
        if found is not None:
            rollout.env_value(rollout.env_entry(found, "x"))
        assert isinstance(rollout.env_summary(rollout.pod_template(deployment)), str)
    except ActionError:
        return


@PROPERTY
@given(st.lists(st.tuples(st.one_of(stamp, st.just("")), hostile_text), max_size=6))
def test_log_lines(lines: list[tuple[str, str]]) -> None:
    resume, buffer = ResumePoint(), LogBuffer(max_lines=3)
    parsed = [parse_line(f"{ts} {body}" if ts else body, "pod-a") for ts, body in lines]
    for line in parsed:
        assert isinstance(line, LogLine)
        assert line.ts is None or line.ts.tzinfo is not None
        assert "\x1b" not in line.text
        resume.fresh(line)
    buffer.extend(parsed)
    assert len(buffer.lines) <= 3


# --- backends behind a local HTTP server ------------------------------------------------


class _Answer:
    status = 200
    body = b"[]"


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.send_response(_Answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(_Answer.body)))
        self.end_headers()
        self.wfile.write(_Answer.body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def serve(body: Any, status: int = 200) -> None:
    """Answer every request with `body` (bytes as they are, anything else as JSON)."""
    _Answer.status = status
    _Answer.body = body if isinstance(body, bytes) else json.dumps(body).encode()


raw_body = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"", b"not json", b"\xff\xfe", b"[" * 100_000, b'{"a":' * 50_000]),
)
alert = shaped(
    {
        "labels": st.one_of(labels, st.just({"alertname": "X", "severity": "critical"})),
        "annotations": labels,
        "status": shaped({"state": st.sampled_from(["active", "suppressed"])}),
        "startsAt": stamp,
        "fingerprint": text,
    }
)
silence = shaped(
    {
        "id": text,
        "matchers": st.lists(
            shaped(
                {"name": text, "value": text, "isRegex": st.booleans(), "isEqual": st.booleans()}
            ),
            max_size=3,
        ),
        "startsAt": stamp,
        "endsAt": stamp,
        "createdBy": text,
        "comment": text,
        "status": shaped({"state": text}),
    }
)


@functools.cache
def alertmanager(url: str) -> AlertmanagerBackend:
    """One backend (and so one HTTP client) for every example: building a client costs
    ~60 ms, which hundreds of examples would pay again and again."""
    return AlertmanagerBackend(url, timeout=5)


@PROPERTY
@given(
    st.one_of(st.lists(alert, max_size=3), st.lists(silence, max_size=3), silence, raw_body),
    st.sampled_from([200, 200, 200, 404, 500]),
)
def test_alertmanager_answers(server: str, body: Any, status: int) -> None:
    serve(body, status)
    backend = alertmanager(server)
    for call in (
        backend.alerts,
        backend.silences,
        lambda: backend.silence("abc-123"),
        lambda: backend.create_silence(
            {"a": "b"}, datetime.now().astimezone(), datetime.now().astimezone(), "me", "x"
        ),
    ):
        try:
            result = call()
        except AlertmanagerError as exc:
            assert str(exc)
            continue
        if isinstance(result, list):
            for item in result:
                str(item)
                for matcher in getattr(item, "matchers", ()):
                    matcher.matches({"a": "b"})
                    str(matcher)


sample = st.one_of(st.tuples(st.one_of(count, text), st.one_of(count, text)), json_value)
prom_series = shaped({"metric": labels, "value": sample, "values": st.lists(sample, max_size=3)})
prom_body = st.one_of(
    shaped(
        {
            "status": st.just("success"),
            "data": shaped({"resultType": text, "result": st.lists(prom_series, max_size=3)}),
        }
    ),
    raw_body,
)


@settings(PROPERTY, deadline=None)  # a client per example: the wall-clock limit applies
@given(prom_body)
@example({"status": "success", "data": {"result": [{"metric": {}, "value": [1, "x"]}]}})
def test_prometheus_answers(server: str, body: Any) -> None:
    serve(body)
    backend = PrometheusBackend(server, timeout=5)
    for call in (
        lambda: backend.instant("up"),
        lambda: backend.range_query("up", "5m"),
        backend.alerts,
    ):
        try:
            call()
        except PrometheusError as exc:
            assert str(exc)


@pytest.fixture(scope="module")
def kubeconfig(server: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f'clusters: [{{name: c, cluster: {{server: "{server}"}}}}]\n'
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u, namespace: ns}}]\n"
        "current-context: x\n"
    )
    return str(path)


kube_list = shaped(
    {
        "metadata": shaped({"resourceVersion": text}),
        "items": st.lists(st.one_of(pod, shaped({"lastTimestamp": stamp})), max_size=3),
    }
)


@settings(PROPERTY, deadline=None)  # a client per example: the wall-clock limit applies
@given(st.one_of(kube_list, raw_body))
@example(b"not json")
def test_kube_answers(kubeconfig: str, body: Any) -> None:
    from sre_tui.backends.kube import KubeBackend, KubeError

    serve(body)
    kube = KubeBackend(kubeconfig, "x", "ns", request_timeout=5)
    for call in (
        lambda: kube.list_pods("app=web"),
        lambda: kube.pod_events("web-1"),
        lambda: kube.list_replicasets("app=web"),
        lambda: kube.get_deployment("web"),
    ):
        try:
            result = call()
        except KubeError as exc:
            assert str(exc)
            continue
        assert isinstance(result, tuple | list | dict)
