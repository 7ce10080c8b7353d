"""The real `kubernetes` client against the sandbox API server, over HTTPS on loopback."""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from sre_tui.sandbox.policy import AccessPolicy

if TYPE_CHECKING:
    from conftest import Sandbox, SandboxFactory

T = TypeVar("T")
NS = "production"


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
    """Poll until `predicate()` is truthy and return it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


ENV_PATCH = {
    "spec": {
        "template": {
            "spec": {
                "containers": [{"name": "web", "env": [{"name": "TIMEOUT_MS", "value": "10000"}]}]
            }
        }
    }
}


def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def ready_pods(api: client.ApiClient, count: int = 2) -> list[Any]:
    """Wait until exactly `count` pods exist, all Running, Ready and not terminating."""

    def check() -> list[Any] | None:
        pods = core(api).list_namespaced_pod(NS, label_selector="app=web").items
        ok = [
            p
            for p in pods
            if p.status.phase == "Running"
            and p.metadata.deletion_timestamp is None
            and all(c.ready for c in p.status.container_statuses or [])
        ]
        return ok if len(ok) == count == len(pods) else None

    return wait_for(check, what=f"{count} ready pods")


def rolled_out(api: client.ApiClient, replicas: int = 2) -> client.V1Deployment:
    def check() -> client.V1Deployment | None:
        d = apps(api).read_namespaced_deployment("web", NS)
        s = d.status
        done = (
            s.observed_generation == d.metadata.generation
            and s.updated_replicas
            == s.replicas
            == s.ready_replicas
            == s.available_replicas
            == replicas
        )
        return d if done else None

    return wait_for(check, what="the rollout")


def env(pod_or_deploy: Any) -> dict[str, str]:
    spec = (
        pod_or_deploy.spec.template.spec
        if hasattr(pod_or_deploy.spec, "template")
        else pod_or_deploy.spec
    )
    return {e.name: e.value for e in spec.containers[0].env or []}


def status_body(err: ApiException) -> dict[str, Any]:
    body = json.loads(err.body)
    assert body["kind"] == "Status" and body["code"] == err.status
    return body


def raw_get(sandbox: Sandbox, path: str, token: str | None) -> tuple[int, dict[str, Any]]:
    context = ssl.create_default_context(cadata=sandbox.server.ca_pem)
    request = urllib.request.Request(sandbox.server.url + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def raw_text(sandbox: Sandbox, path: str) -> str:
    context = ssl.create_default_context(cadata=sandbox.server.ca_pem)
    request = urllib.request.Request(sandbox.server.url + path)
    request.add_header("Authorization", f"Bearer {sandbox.server.token}")
    with urllib.request.urlopen(request, context=context, timeout=5) as response:
        return response.read().decode()


# --- auth and discovery -----------------------------------------------------------------


def test_token_is_required(sandbox: Sandbox) -> None:
    for token in (None, "wrong"):
        code, body = raw_get(sandbox, "/api/v1/namespaces/production/pods", token)
        assert code == 401
        assert body["kind"] == "Status" and body["reason"] == "Unauthorized"
    assert raw_get(sandbox, "/api/v1/namespaces/production/pods", sandbox.server.token)[0] == 200
    assert [r.status for r in sandbox.requests("/pods")] == [401, 401, 200]


def test_discovery(api: client.ApiClient) -> None:
    assert client.VersionApi(api).get_code().minor == "32"
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    groups = {
        g.name: g.preferred_version.group_version
        for g in client.ApisApi(api).get_api_versions().groups
    }
    assert (
        groups["apps"] == "apps/v1" and groups["authorization.k8s.io"] == "authorization.k8s.io/v1"
    )
    core_names = {r.name for r in core(api).get_api_resources().resources}
    assert {
        "pods",
        "pods/log",
        "namespaces",
        "services",
        "services/proxy",
        "configmaps",
        "events",
    } <= core_names
    apps_names = {r.name: r for r in apps(api).get_api_resources().resources}
    assert apps_names["deployments/scale"].kind == "Scale" and "replicasets" in apps_names
    assert [r.name for r in client.AuthorizationV1Api(api).get_api_resources().resources] == [
        "selfsubjectaccessreviews"
    ]
    assert client.EventsV1Api(api).get_api_resources().resources[0].name == "events"


def test_openapi_is_a_clean_404(sandbox: Sandbox) -> None:
    for path in ("/openapi/v2", "/openapi/v3", "/apis/nope/v1", "/api/v1/widgets"):
        code, body = raw_get(sandbox, path, sandbox.server.token)
        assert code == 404 and body["reason"] == "NotFound"


# --- namespaces and pods ----------------------------------------------------------------


def test_namespaces(api: client.ApiClient) -> None:
    names = {n.metadata.name for n in core(api).list_namespace().items}
    assert {"default", NS} <= names
    assert core(api).read_namespace(NS).status.phase == "Active"
    with pytest.raises(ApiException) as err:
        core(api).read_namespace("nope")
    assert status_body(err.value)["reason"] == "NotFound"


def test_pods_list_get_delete_and_replacement(api: client.ApiClient, sandbox: Sandbox) -> None:
    pods = ready_pods(api)
    name = pods[0].metadata.name
    assert len(core(api).list_namespaced_pod(NS, label_selector="app in (web)").items) == 2
    assert core(api).list_namespaced_pod(NS, label_selector="app=other").items == []
    only = core(api).list_namespaced_pod(NS, field_selector=f"metadata.name={name}").items
    assert [p.metadata.name for p in only] == [name]
    assert len(core(api).list_pod_for_all_namespaces().items) == 2
    pod = core(api).read_namespaced_pod(name, NS)
    assert pod.metadata.owner_references[0].kind == "ReplicaSet"
    assert pod.metadata.labels["pod-template-hash"] and pod.status.pod_ip and pod.spec.node_name

    deleted = core(api).delete_namespaced_pod(name, NS)
    assert deleted.metadata.deletion_timestamp is not None  # Terminating first …
    wait_for(
        lambda: name not in {p.metadata.name for p in core(api).list_namespaced_pod(NS).items},
        what="the pod to go",
    )  # … then gone
    replacement = ready_pods(api)
    assert name not in {p.metadata.name for p in replacement}
    reasons = {
        e.reason
        for e in core(api)
        .list_namespaced_event(NS, field_selector=f"involvedObject.name={name}")
        .items
    }
    assert "Killing" in reasons
    with pytest.raises(ApiException) as err:
        core(api).read_namespaced_pod(name, NS)
    assert err.value.status == 404


def test_pod_watch_events_bookmarks_and_timeout(api: client.ApiClient, sandbox: Sandbox) -> None:
    pods = ready_pods(api)
    listed = core(api).list_namespaced_pod(NS)
    core(api).delete_namespaced_pod(pods[0].metadata.name, NS, grace_period_seconds=0)
    seen: list[tuple[str, str, int]] = []
    w = watch.Watch()
    for event in w.stream(
        core(api).list_namespaced_pod,
        NS,
        resource_version=listed.metadata.resource_version,
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    ):
        meta = event["raw_object"]["metadata"]
        seen.append((event["type"], meta.get("name", ""), int(meta["resourceVersion"])))
        types = {t for t, _, _ in seen}
        if ("DELETED", pods[0].metadata.name) in {s[:2] for s in seen} and {
            "ADDED",
            "BOOKMARK",
        } <= types:
            w.stop()
    assert w._stop, f"the watch ended before all events came: {seen}"
    versions = [rv for _, _, rv in seen]
    assert versions == sorted(versions) and versions[0] > int(listed.metadata.resource_version)
    assert w.resource_version == str(versions[-1]), "the client resumes from the last bookmark"
    watches = [r for r in sandbox.requests("/pods") if r.watch]
    assert len(watches) == 1, "one watch request, no polling"
    assert watches[0].query["allowWatchBookmarks"] == "true" and watches[0].status == 200


def test_watch_drains_events_while_bookmarks_are_due(
    api: client.ApiClient, sandbox: Sandbox
) -> None:
    """Regression: a bookmark falling due while events were queued stalled the stream."""
    sandbox.cluster.bookmark_seconds = 0.001  # a bookmark is always due
    pods = ready_pods(api)
    listed = core(api).list_namespaced_pod(NS)
    core(api).delete_namespaced_pod(pods[0].metadata.name, NS)
    w = watch.Watch()
    seen: set[tuple[str, str]] = set()
    for event in w.stream(
        core(api).list_namespaced_pod,
        NS,
        resource_version=listed.metadata.resource_version,
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    ):
        seen.add((event["type"], event["raw_object"]["metadata"].get("name", "")))
        if ("DELETED", pods[0].metadata.name) in seen:
            w.stop()
    assert ("DELETED", pods[0].metadata.name) in seen and ("BOOKMARK", "") in seen


def test_send_initial_events_ends_with_a_bookmark(sandbox: Sandbox) -> None:
    path = f"/api/v1/namespaces/{NS}/pods?watch=true&sendInitialEvents=true&timeoutSeconds=1"
    path += "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    events = [json.loads(line) for line in raw_text(sandbox, path).splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watch_410_gone_then_relist_and_resume(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(watch_history=5)
    api = sandbox.api_client()
    pods = ready_pods(api)
    old_rv = core(api).list_namespaced_pod(NS).metadata.resource_version
    core(api).delete_namespaced_pod(pods[0].metadata.name, NS, grace_period_seconds=0)
    ready_pods(api)  # dozens of changes later, rv old_rv is compacted away
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(
            core(api).list_namespaced_pod, NS, resource_version=old_rv, timeout_seconds=1
        ):
            pass
    assert err.value.status == 410 and "Expired" in str(err.value.reason)
    # As an informer does: re-list, then watch from the list's resourceVersion.
    fresh = core(api).list_namespaced_pod(NS)
    victim = fresh.items[0].metadata.name
    threading.Timer(0.2, core(api).delete_namespaced_pod, (victim, NS)).start()
    seen = []
    for event in watch.Watch().stream(
        core(api).list_namespaced_pod,
        NS,
        resource_version=fresh.metadata.resource_version,
        timeout_seconds=1,
    ):
        seen.append((event["type"], event["object"].metadata.name))
    assert ("MODIFIED", victim) in seen
    api.close()


def test_deployment_watch_with_field_selector(api: client.ApiClient) -> None:
    rolled_out(api)
    w = watch.Watch()
    stream = w.stream(
        apps(api).list_namespaced_deployment,
        NS,
        field_selector="metadata.name=web",
        timeout_seconds=5,
    )
    first = next(stream)  # no resourceVersion: the current state comes first, as ADDED
    w.stop()
    assert first["type"] == "ADDED" and first["object"].status.ready_replicas == 2


# --- logs -------------------------------------------------------------------------------

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


def test_logs_parameters(api: client.ApiClient, sandbox: Sandbox) -> None:
    name = ready_pods(api)[0].metadata.name
    v1 = core(api)
    text = wait_for(
        lambda: (t := v1.read_namespaced_pod_log(name, NS)).count("\n") >= 12 and t,
        what="a dozen log lines",
    )
    assert all(
        line.startswith("tick ") and line.endswith("GREETING=hello") for line in text.splitlines()
    )
    assert len(v1.read_namespaced_pod_log(name, NS, tail_lines=2).splitlines()) == 2
    assert v1.read_namespaced_pod_log(name, NS, tail_lines=0) == ""
    stamped = v1.read_namespaced_pod_log(name, NS, timestamps=True).splitlines()
    assert all(STAMP.match(line) for line in stamped)
    # sinceTime is not in the Python client's signature; kubectl and raw HTTP use it.
    since = urllib.parse.quote(stamped[-3].split(" ", 1)[0])
    path = f"/api/v1/namespaces/{NS}/pods/{name}/log?timestamps=true&sinceTime={since}"
    from_there = raw_text(sandbox, path).splitlines()
    assert from_there[:3] == stamped[-3:]
    recent = v1.read_namespaced_pod_log(name, NS, since_seconds=3).splitlines()
    assert 0 < len(recent) < len(stamped)
    assert v1.read_namespaced_pod_log(name, NS, container="web")
    assert len(v1.read_namespaced_pod_log(name, NS, limit_bytes=10)) == 10
    for bad in ({"container": "nope"}, {"previous": True}):
        with pytest.raises(ApiException) as err:
            v1.read_namespaced_pod_log(name, NS, **bad)
        assert err.value.status == 400 and status_body(err.value)["reason"] == "BadRequest"


def test_log_follow_streams_and_ends_when_pod_is_deleted(api: client.ApiClient) -> None:
    name = ready_pods(api)[0].metadata.name
    response = core(api).read_namespaced_pod_log(
        name, NS, follow=True, tail_lines=1, _preload_content=False
    )
    received = b""
    chunks = response.stream(amt=None, decode_content=False)
    for chunk in chunks:
        received += chunk
        if received.count(b"\n") >= 4:
            break
    lines = received.decode().splitlines()
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), "new lines in order"
    core(api).delete_namespaced_pod(name, NS)
    for _ in chunks:  # drains, then ends: the server closes the stream when the pod is gone
        pass
    response.release_conn()
    with pytest.raises(ApiException):
        core(api).read_namespaced_pod(name, NS)


def test_crash_loop_restarts_and_previous_logs(api: client.ApiClient) -> None:
    ready_pods(api)
    crash = {
        "spec": {
            "template": {
                "spec": {
                    # 10 s of scenario time (0.5 s here): enough 50 ms ticks for each
                    # instance to log before it crashes, even on a loaded machine.
                    "containers": [{"name": "web", "env": [{"name": "CRASH_AFTER", "value": "10"}]}]
                }
            }
        }
    }
    apps(api).patch_namespaced_deployment("web", NS, crash)

    def crashed() -> Any:
        for pod in core(api).list_namespaced_pod(NS).items:
            status = pod.status.container_statuses[0]
            waiting = status.state.waiting
            if status.restart_count >= 1 and waiting and waiting.reason == "CrashLoopBackOff":
                return pod
        return None

    pod = wait_for(crashed, what="CrashLoopBackOff")
    assert pod.status.container_statuses[0].last_state.terminated.exit_code == 1
    name = pod.metadata.name
    previous = core(api).read_namespaced_pod_log(name, NS, previous=True)
    assert "GREETING=hello" in previous
    # Back from back-off: a new instance, whose log is new, and `previous` still answers.
    wait_for(
        lambda: core(api).read_namespaced_pod(name, NS).status.container_statuses[0].state.running,
        what="the restart",
    )
    assert core(api).read_namespaced_pod_log(name, NS, previous=True)
    reasons = {
        e.reason
        for e in core(api)
        .list_namespaced_event(NS, field_selector=f"involvedObject.name={name}")
        .items
    }
    assert "BackOff" in reasons


def test_image_pull_backoff_stalls_rollout_past_its_deadline(api: client.ApiClient) -> None:
    ready_pods(api)
    body = {
        "spec": {
            "progressDeadlineSeconds": 5,
            "template": {
                "spec": {
                    "containers": [{"name": "web", "env": [{"name": "PULL", "value": "fail"}]}]
                }
            },
        }
    }
    apps(api).patch_namespaced_deployment("web", NS, body)

    def backing_off() -> Any:
        for pod in core(api).list_namespaced_pod(NS).items:
            waiting = pod.status.container_statuses[0].state.waiting
            if waiting and waiting.reason == "ImagePullBackOff":
                return pod
        return None

    pod = backing_off() or wait_for(backing_off, what="ImagePullBackOff")
    assert pod.status.phase == "Pending"
    with pytest.raises(ApiException) as err:
        core(api).read_namespaced_pod_log(pod.metadata.name, NS)
    assert "waiting to start" in status_body(err.value)["message"]

    def deadline_exceeded() -> bool:
        conditions = apps(api).read_namespaced_deployment("web", NS).status.conditions
        progressing = next(c for c in conditions if c.type == "Progressing")
        return progressing.status == "False" and progressing.reason == "ProgressDeadlineExceeded"

    wait_for(deadline_exceeded, what="ProgressDeadlineExceeded")
    status = apps(api).read_namespaced_deployment("web", NS).status
    assert status.ready_replicas == 2, "old pods keep serving (maxUnavailable 0 at 2 replicas)"
    reasons = {
        e.reason
        for e in core(api)
        .list_namespaced_event(NS, field_selector=f"involvedObject.name={pod.metadata.name}")
        .items
    }
    assert {"Failed", "BackOff"} <= reasons


# --- deployments ------------------------------------------------------------------------


def test_strategic_merge_env_patch_rolls_out_ready_pods(api: client.ApiClient) -> None:
    before = ready_pods(api)
    old_rs = apps(api).list_namespaced_replica_set(NS).items[0]
    patched = apps(api).patch_namespaced_deployment("web", NS, ENV_PATCH, field_manager="sre-tui")
    assert env(patched) == {"GREETING": "hello", "TIMEOUT_MS": "10000"}, "env merged by name"
    assert patched.metadata.generation == 2
    done = rolled_out(api)
    assert done.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    pods = ready_pods(api)
    assert not {p.metadata.name for p in before} & {p.metadata.name for p in pods}
    assert all(env(p) == {"GREETING": "hello", "TIMEOUT_MS": "10000"} for p in pods)
    replicasets = {rs.metadata.name: rs for rs in apps(api).list_namespaced_replica_set(NS).items}
    assert replicasets[old_rs.metadata.name].spec.replicas == 0
    new_rs = next(rs for rs in replicasets.values() if rs.metadata.name != old_rs.metadata.name)
    assert new_rs.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    assert {p.metadata.labels["pod-template-hash"] for p in pods} == {
        new_rs.metadata.labels["pod-template-hash"]
    }
    conditions = {c.type: c.reason for c in done.status.conditions}
    assert conditions == {
        "Available": "MinimumReplicasAvailable",
        "Progressing": "NewReplicaSetAvailable",
    }

    # kubectl's directives: delete one variable, order the rest.
    directive = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}],
                    "containers": [
                        {
                            "name": "web",
                            "$setElementOrder/env": [{"name": "B"}, {"name": "TIMEOUT_MS"}],
                            "env": [
                                {"name": "B", "value": "2"},
                                {"$patch": "delete", "name": "GREETING"},
                            ],
                        }
                    ],
                }
            }
        }
    }
    again = apps(api).patch_namespaced_deployment("web", NS, directive)
    assert [e.name for e in again.spec.template.spec.containers[0].env] == ["B", "TIMEOUT_MS"]


def test_merge_patch_json_patch_and_scale_subresource(api: client.ApiClient) -> None:
    ready_pods(api)
    listed = apps(api).list_namespaced_deployment(NS).items
    assert [d.metadata.name for d in listed] == ["web"]
    assert apps(api).list_deployment_for_all_namespaces().items[0].spec.replicas == 2
    merged = apps(api).patch_namespaced_deployment(
        "web",
        NS,
        {"metadata": {"labels": {"team": "sre"}}, "spec": {"replicas": 3}},
        _content_type="application/merge-patch+json",
    )
    assert merged.metadata.labels == {"app": "web", "team": "sre"} and merged.spec.replicas == 3
    ready_pods(api, 3)
    patched = apps(api).patch_namespaced_deployment(
        "web", NS, [{"op": "replace", "path": "/spec/replicas", "value": 1}]
    )
    assert patched.spec.replicas == 1
    ready_pods(api, 1)
    with pytest.raises(ApiException) as err:
        apps(api).patch_namespaced_deployment(
            "web", NS, [{"op": "test", "path": "/spec/replicas", "value": 7}]
        )
    assert err.value.status == 422

    scale = apps(api).read_namespaced_deployment_scale("web", NS)
    assert scale.spec.replicas == 1 and scale.status.selector == "app=web"
    assert (
        apps(api)
        .patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 2}})
        .spec.replicas
        == 2
    )
    ready_pods(api, 2)
    stale = client.V1Scale(
        metadata=client.V1ObjectMeta(
            name="web", namespace=NS, resource_version=scale.metadata.resource_version
        ),
        spec=client.V1ScaleSpec(replicas=4),
    )
    with pytest.raises(ApiException) as err:
        apps(api).replace_namespaced_deployment_scale("web", NS, stale)
    assert err.value.status == 409
    current = apps(api).read_namespaced_deployment_scale("web", NS)
    current.spec.replicas = 3
    assert apps(api).replace_namespaced_deployment_scale("web", NS, current).spec.replicas == 3
    ready_pods(api, 3)
    with pytest.raises(ApiException) as err:
        apps(api).patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": -1}})
    assert err.value.status == 422


def test_dry_run_changes_nothing(api: client.ApiClient, sandbox: Sandbox) -> None:
    pods = ready_pods(api)
    before = apps(api).read_namespaced_deployment("web", NS)
    would_be = apps(api).patch_namespaced_deployment("web", NS, ENV_PATCH, dry_run="All")
    assert env(would_be)["TIMEOUT_MS"] == "10000"
    scaled = apps(api).patch_namespaced_deployment_scale(
        "web", NS, {"spec": {"replicas": 5}}, dry_run="All"
    )
    assert scaled.spec.replicas == 5
    core(api).delete_namespaced_pod(pods[0].metadata.name, NS, dry_run="All")
    cm = core(api).patch_namespaced_config_map(
        "flags", NS, {"data": {"checkout": "off"}}, dry_run="All"
    )
    assert cm.data == {"checkout": "off"}
    with pytest.raises(ApiException) as err:  # dry run still validates
        apps(api).patch_namespaced_deployment("web", NS, {"spec": {"replicas": -3}}, dry_run="All")
    assert err.value.status == 422
    after = apps(api).read_namespaced_deployment("web", NS)
    assert after.metadata.resource_version == before.metadata.resource_version
    assert env(after) == {"GREETING": "hello"} and after.spec.replicas == 2
    assert len(apps(api).list_namespaced_replica_set(NS).items) == 1
    assert {p.metadata.name for p in ready_pods(api)} == {p.metadata.name for p in pods}
    assert core(api).read_namespaced_config_map("flags", NS).data == {"checkout": "on"}
    assert all(
        r.query.get("dryRun") == "All" for r in sandbox.cluster.request_log if r.method != "GET"
    )


def test_stale_resource_version_in_patch_is_a_conflict(api: client.ApiClient) -> None:
    rolled_out(api)
    old = apps(api).read_namespaced_deployment("web", NS).metadata.resource_version
    apps(api).patch_namespaced_deployment("web", NS, {"metadata": {"labels": {"x": "1"}}})
    stale = {"metadata": {"resourceVersion": old}, "spec": {"replicas": 3}}
    with pytest.raises(ApiException) as err:
        apps(api).patch_namespaced_deployment("web", NS, stale)
    body = status_body(err.value)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]
    current = apps(api).read_namespaced_deployment("web", NS).metadata.resource_version
    fresh = {"metadata": {"resourceVersion": current}, "spec": {"replicas": 3}}
    assert apps(api).patch_namespaced_deployment("web", NS, fresh).spec.replicas == 3


def test_client_side_rollback_restores_previous_template(api: client.ApiClient) -> None:
    ready_pods(api)
    apps(api).patch_namespaced_deployment("web", NS, ENV_PATCH)
    rolled_out(api)
    # What `kubectl rollout undo` does: the previous revision's template, minus its hash label.
    replicasets = apps(api).list_namespaced_replica_set(NS, label_selector="app=web").items
    previous = next(
        rs
        for rs in replicasets
        if rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    )
    template = api.sanitize_for_serialization(previous.spec.template)
    del template["metadata"]["labels"]["pod-template-hash"]
    apps(api).patch_namespaced_deployment(
        "web", NS, [{"op": "replace", "path": "/spec/template", "value": template}]
    )
    done = rolled_out(api)
    assert done.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert all(env(p) == {"GREETING": "hello"} for p in ready_pods(api))
    revived = apps(api).read_namespaced_replica_set(previous.metadata.name, NS)
    assert revived.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert revived.spec.replicas == 2


# --- configmaps, events, services, access ----------------------------------------------


def test_configmap_list_get_patch(api: client.ApiClient) -> None:
    assert [c.metadata.name for c in core(api).list_namespaced_config_map(NS).items] == ["flags"]
    patched = core(api).patch_namespaced_config_map(
        "flags", NS, {"data": {"checkout": "off", "beta": "1"}}
    )
    assert patched.data == {"checkout": "off", "beta": "1"}
    merged = core(api).patch_namespaced_config_map(
        "flags", NS, {"data": {"beta": None}}, _content_type="application/merge-patch+json"
    )
    assert merged.data == {"checkout": "off"}
    assert core(api).read_namespaced_config_map("flags", NS).data == {"checkout": "off"}
    with pytest.raises(ApiException) as err:
        core(api).patch_namespaced_config_map("flags", NS, {"data": {"bad key!": "x"}})
    assert err.value.status == 422 and status_body(err.value)["reason"] == "Invalid"
    # Created, listed, deleted: room for incident state kept in the cluster itself.
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="incident-1"), data={"step": "3"})
    created = core(api).create_namespaced_config_map(NS, body)
    assert created.metadata.uid and created.data == {"step": "3"}
    with pytest.raises(ApiException) as err:
        core(api).create_namespaced_config_map(NS, body)
    assert err.value.status == 409 and status_body(err.value)["reason"] == "AlreadyExists"
    assert len(core(api).list_namespaced_config_map(NS).items) == 2
    assert core(api).delete_namespaced_config_map("incident-1", NS)["status"] == "Success"
    assert len(core(api).list_namespaced_config_map(NS).items) == 1


def test_logs_are_bounded(api: client.ApiClient, sandbox: Sandbox) -> None:
    sandbox.cluster.log_lines_kept = 5  # applies to containers started from now on
    originals = {p.metadata.name for p in ready_pods(api)}
    core(api).delete_namespaced_pod(min(originals), NS, grace_period_seconds=0)
    name = next(p.metadata.name for p in ready_pods(api) if p.metadata.name not in originals)

    def last_tick() -> int:
        lines = core(api).read_namespaced_pod_log(name, NS).splitlines()
        return int(lines[-1].split()[1]) if lines else 0

    first = wait_for(last_tick, what="the first line")
    wait_for(lambda: last_tick() >= first + 6, what="more lines than the buffer keeps")
    assert len(core(api).read_namespaced_pod_log(name, NS).splitlines()) == 5


def test_events_in_core_and_events_v1(api: client.ApiClient) -> None:
    name = ready_pods(api)[0].metadata.name
    listed = core(api).list_namespaced_event(NS, field_selector=f"involvedObject.name={name}").items
    reasons = [e.reason for e in listed]
    assert {"Scheduled", "Pulling", "Pulled", "Created", "Started"} <= set(reasons)
    assert all(e.involved_object.kind == "Pod" and e.count >= 1 for e in listed)
    scaling = (
        core(api).list_event_for_all_namespaces(field_selector="reason=ScalingReplicaSet").items
    )
    assert scaling and scaling[0].involved_object.kind == "Deployment"
    v1 = (
        client.EventsV1Api(api)
        .list_namespaced_event(NS, field_selector=f"regarding.name={name}")
        .items
    )
    assert {e.reason for e in v1} == set(reasons) and all(e.note and e.event_time for e in v1)


def test_services_and_the_service_proxy(api: client.ApiClient) -> None:
    svc = core(api).read_namespaced_service("web", NS)
    assert svc.spec.ports[0].port == 8080 and svc.spec.cluster_ip
    assert [s.metadata.name for s in core(api).list_namespaced_service(NS).items] == ["web"]
    ready_pods(api)
    for target in ("web:8080", "web:http", "https:web:8080"):
        answer = core(api).connect_get_namespaced_service_proxy_with_path(target, NS, "health")
        assert "ok" in str(answer)
    body = core(api).connect_get_namespaced_service_proxy_with_path(
        "web", NS, "health", _preload_content=False
    )
    assert body.status == 200 and json.loads(body.data) == {
        "status": "ok",
        "service": "web",
        "ready": 2,
    }
    with pytest.raises(ApiException) as err:
        core(api).connect_get_namespaced_service_proxy_with_path("web:8080", NS, "nope")
    assert err.value.status == 404 and json.loads(err.value.body)["path"] == "/nope"
    with pytest.raises(ApiException) as err:
        core(api).connect_get_namespaced_service_proxy_with_path("ghost:80", NS, "health")
    assert err.value.status == 404
    apps(api).patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 0}})
    wait_for(lambda: not core(api).list_namespaced_pod(NS).items, what="no pods")
    with pytest.raises(ApiException) as err:
        core(api).connect_get_namespaced_service_proxy_with_path("web:8080", NS, "health")
    assert err.value.status == 503 and "no endpoints" in status_body(err.value)["message"]


def review(api: client.ApiClient, verb: str, resource: str, subresource: str = "") -> Any:
    attrs = client.V1ResourceAttributes(
        namespace=NS,
        verb=verb,
        resource=resource,
        group="apps" if resource == "deployments" else "",
        subresource=subresource or None,
    )
    body = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attrs)
    )
    return client.AuthorizationV1Api(api).create_self_subject_access_review(body).status


def test_access_review_and_forbidden_patch(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(policy=AccessPolicy(deny=(("patch", "deployments"),)))
    api = sandbox.api_client()
    denied = review(api, "patch", "deployments")
    assert denied.allowed is False and "denied" in denied.reason
    assert review(api, "get", "pods").allowed is True
    assert review(api, "patch", "deployments", "scale").allowed is True
    with pytest.raises(ApiException) as err:
        apps(api).patch_namespaced_deployment("web", NS, ENV_PATCH)
    body = status_body(err.value)
    assert err.value.status == 403 and body["reason"] == "Forbidden"
    assert body["message"].startswith(
        'deployments.apps "web" is forbidden: User "sre-tui-demo" cannot patch resource '
        '"deployments" in API group "apps" in the namespace "production"'
    )
    assert body["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    assert env(apps(api).read_namespaced_deployment("web", NS)) == {"GREETING": "hello"}
    api.close()


def test_read_only_policy_denies_every_mutation(make_sandbox: SandboxFactory) -> None:
    api = make_sandbox(policy=AccessPolicy(read_only=True)).api_client()
    pods = ready_pods(api)
    assert review(api, "delete", "pods").allowed is False
    for attempt in (
        lambda: core(api).delete_namespaced_pod(pods[0].metadata.name, NS),
        lambda: apps(api).patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 3}}),
        lambda: core(api).patch_namespaced_config_map("flags", NS, {"data": {"a": "b"}}),
    ):
        with pytest.raises(ApiException) as err:
            attempt()
        assert err.value.status == 403
    assert core(api).read_namespaced_pod_log(pods[0].metadata.name, NS) is not None
    api.close()
