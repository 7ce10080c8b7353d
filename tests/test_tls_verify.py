"""TLS verification is on unless the environment turns it off (`tls_verify: false`): a
real HTTPS endpoint on loopback with a certificate from a throw-away CA is refused with a
plain message by default and accepted when verification is off."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sre_tui.actions.http import HttpPerformer
from sre_tui.backends.alertmanager import AlertmanagerBackend, AlertmanagerError
from sre_tui.backends.prometheus import PrometheusBackend, PrometheusError
from sre_tui.core.actions import ActionError
from sre_tui.core.config import Environment
from sre_tui.core.incident import EnvInfo
from sre_tui.core.runbook import HttpAction
from sre_tui.sandbox.kube_api import make_tls
from sre_tui.workspace import connect

ANSWERS = {
    "/api/v2/alerts": [],
    "/api/v1/query": {"status": "success", "data": {"resultType": "vector", "result": []}},
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(ANSWERS.get(self.path.split("?")[0], {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def https_url() -> Iterator[str]:
    context, _ca = make_tls("127.0.0.1")  # its CA is trusted by nobody
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_alertmanager_verifies_by_default_and_says_why_it_refused(https_url: str) -> None:
    with pytest.raises(AlertmanagerError) as refused:
        AlertmanagerBackend(https_url).alerts()
    message = str(refused.value)
    assert "TLS certificate not trusted" in message and "tls_verify: false" in message
    assert "certificate" in message.split("(", 1)[1]  # the verifier's own reason
    assert AlertmanagerBackend(https_url, verify=False).alerts() == []


def test_prometheus_says_the_same(https_url: str) -> None:
    with pytest.raises(PrometheusError, match="TLS certificate not trusted"):
        PrometheusBackend(https_url).instant("up")
    assert PrometheusBackend(https_url, verify=False).instant("up") == []


@pytest.mark.parametrize("verify", [True, False])
def test_the_environment_switch_reaches_alertmanager(https_url: str, verify: bool) -> None:
    environment = Environment.model_validate(
        {"alertmanager_url": https_url, "namespace": "default", "tls_verify": verify}
    )
    assert Environment.model_validate({"namespace": "default"}).tls_verify is True
    alerts = connect(environment).alerts
    assert isinstance(alerts, AlertmanagerBackend) and alerts.verify is verify
    if verify:
        with pytest.raises(AlertmanagerError, match="not trusted"):
            alerts.alerts()
    else:
        assert alerts.alerts() == []


@pytest.mark.parametrize("verify", [True, False])
def test_the_environment_switch_reaches_webhook_actions(https_url: str, verify: bool) -> None:
    action = HttpAction.model_validate(
        {
            "id": "flag",
            "kind": "http",
            "title": "Turn the flag off",
            "url": f"{https_url}/api/flags/ai",
            "body": {"enabled": False},
            "read": {},
        }
    )
    performer = HttpPerformer(EnvInfo("staging", namespace="shop", tls_verify=verify))
    if verify:
        with pytest.raises(ActionError, match="certificate"):
            performer.prepare(action)
    else:
        assert performer.prepare(action).before == "{}"  # read over the unverified link
