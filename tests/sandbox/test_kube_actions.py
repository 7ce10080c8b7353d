"""The Kubernetes performer against the sandbox API server: what the dialog shows, what
lands on the server, and that undoing restores it."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from sre_tui.actions.kube import DRY_RUN_OK, KubePerformer
from sre_tui.backends.kube import KubeBackend, KubeError
from sre_tui.core.actions import Access, ActionError, Plan, plan_from_json, plan_to_json
from sre_tui.core.incident import EnvInfo
from sre_tui.core.runbook import (
    ConfigMapAction,
    EnvAction,
    RestartAction,
    RollbackAction,
    ScaleAction,
)
from sre_tui.sandbox.policy import AccessPolicy

if TYPE_CHECKING:
    from conftest import Sandbox, SandboxFactory

T = TypeVar("T")
NS = "production"
ENV = EnvInfo(name="prod", context="demo", namespace=NS, production=True)


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.03)
    return value


def performer(sandbox: Sandbox) -> KubePerformer:
    return KubePerformer(KubeBackend(str(sandbox.kubeconfig), "demo", NS), ENV)


def stored(sandbox: Sandbox, resource: str, name: str) -> dict[str, Any]:
    """The object as the server stores it."""

    def find() -> dict[str, Any]:
        return copy.deepcopy(
            next(o for o in sandbox.cluster.items(resource, NS) if o["metadata"]["name"] == name)
        )

    return sandbox.call(find)


def web_env(sandbox: Sandbox) -> dict[str, str]:
    container = stored(sandbox, "deployments", "web")["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container.get("env") or []}


def patches(sandbox: Sandbox, dry_run: bool) -> list[Any]:
    return [
        r
        for r in sandbox.requests(f"/namespaces/{NS}/")
        if r.method == "PATCH" and ("dryRun" in r.query) == dry_run
    ]


def env_action(variable: str = "GREETING", to: str = "hi", **extra: Any) -> EnvAction:
    return EnvAction.model_validate(
        {"id": "env", "title": "Set env", "kind": "env", "deployment": "web"}
        | {"variable": variable, "to": to, **extra}
    )


def scale_action(replicas: int = 3) -> ScaleAction:
    return ScaleAction.model_validate(
        {"id": "scale", "title": "Scale web", "kind": "scale", "deployment": "web"}
        | {"replicas": replicas, "max_replicas": 5}
    )


def configmap_action(key: str = "checkout", to: str = "off") -> ConfigMapAction:
    return ConfigMapAction.model_validate(
        {"id": "flag", "title": "Flip flag", "kind": "configmap", "configmap": "flags"}
        | {"key": key, "to": to}
    )


def restart_action() -> RestartAction:
    return RestartAction(id="restart", title="Restart web", kind="restart", deployment="web")


def rollback_action(to_revision: int | None = None) -> RollbackAction:
    return RollbackAction(
        id="undo", title="Roll back web", kind="rollback", deployment="web", to_revision=to_revision
    )


def assert_checked(plan: Plan) -> None:
    assert plan.dry_run.available and plan.dry_run.ok is True
    assert plan.dry_run.message == DRY_RUN_OK
    assert plan.access.permitted is True
    assert plan.blocked is None
    assert plan_from_json(plan_to_json(plan)) == plan  # what the audit log keeps is the plan


# --- each kind: prepare → apply → on the server → revert ------------------------------


def test_env_change_is_dry_run_then_applied_and_reverted(sandbox: Sandbox) -> None:
    kube = performer(sandbox)
    plan = kube.prepare(env_action(to="hi"))
    assert (plan.before, plan.after) == ("hello", "hi")
    assert (plan.target, plan.subject, plan.confirm_name) == (
        "deployment/web container web",
        "env GREETING",
        "web",
    )
    assert (plan.namespace, plan.context, plan.production) == (NS, "demo", True)
    assert plan.revertible
    assert_checked(plan)
    assert len(patches(sandbox, dry_run=True)) == 1
    assert web_env(sandbox) == {"GREETING": "hello"}  # the dry-run changed nothing
    assert not patches(sandbox, dry_run=False)

    outcome = kube.apply(plan)
    assert outcome.ok, outcome.message
    assert (outcome.after, outcome.follow_rollout) == ("hi", "web")
    assert outcome.message == "server now has GREETING=hi"
    assert web_env(sandbox) == {"GREETING": "hi"}

    revert = kube.prepare_revert(plan, outcome)
    assert (revert.before, revert.after) == ("hi", "hello")
    assert_checked(revert)
    assert kube.apply(revert).ok
    assert web_env(sandbox) == {"GREETING": "hello"}


def test_env_variable_that_was_unset_is_added_beside_the_others_and_removed_on_revert(
    sandbox: Sandbox,
) -> None:
    kube = performer(sandbox)
    plan = kube.prepare(env_action("TIMEOUT_MS", "500", value={"type": "integer", "max": 1000}))
    assert (plan.before, plan.after) == (None, "500")
    assert "removes TIMEOUT_MS again" in plan.revert_note
    outcome = kube.apply(plan)
    assert outcome.ok and outcome.after == "500"
    assert web_env(sandbox) == {"GREETING": "hello", "TIMEOUT_MS": "500"}

    revert = kube.prepare_revert(plan, outcome)
    assert (revert.before, revert.after) == ("500", None)
    undone = kube.apply(revert)
    assert undone.ok and undone.after is None, undone.message
    assert web_env(sandbox) == {"GREETING": "hello"}


def test_env_variable_from_a_reference_is_replaced_and_the_reference_restored(
    sandbox: Sandbox,
) -> None:
    kube = performer(sandbox)
    ref = {"configMapKeyRef": {"name": "flags", "key": "checkout"}}
    entry = {"name": "CHECKOUT", "valueFrom": ref}
    body = {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [entry]}]}}}}
    kube.kube.patch("deployments", "web", body)
    plan = kube.prepare(env_action("CHECKOUT", "off"))
    assert (plan.before, plan.after) == ("<from configMapKeyRef flags/checkout>", "off")
    assert_checked(plan)
    outcome = kube.apply(plan)
    assert outcome.ok, outcome.message
    container = stored(sandbox, "deployments", "web")["spec"]["template"]["spec"]["containers"][0]
    assert container["env"][-1] == {"name": "CHECKOUT", "value": "off"}

    assert kube.apply(kube.prepare_revert(plan, outcome)).ok
    container = stored(sandbox, "deployments", "web")["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "GREETING", "value": "hello"}, entry]


def test_env_value_outside_its_spec_or_unknown_container_is_refused_before_any_call(
    sandbox: Sandbox,
) -> None:
    kube = performer(sandbox)
    action = env_action("TIMEOUT_MS", "500", value={"type": "integer", "max": 1000})
    with pytest.raises(ActionError, match="above the maximum"):
        kube.prepare(action, "5000")
    with pytest.raises(ActionError, match="no container 'sidecar'"):
        kube.prepare(env_action(container="sidecar"))
    with pytest.raises(ActionError, match="404"):
        kube.prepare(env_action().model_copy(update={"deployment": "nope"}))
    assert not patches(sandbox, dry_run=False) and not patches(sandbox, dry_run=True)


def test_scale_goes_through_the_scale_subresource_and_back(sandbox: Sandbox) -> None:
    kube = performer(sandbox)
    with pytest.raises(ActionError, match=r"outside the allowed 1\.\.5"):
        kube.prepare(scale_action(), "9")
    with pytest.raises(ActionError, match="not a whole number"):
        kube.prepare(scale_action(), "three")
    plan = kube.prepare(scale_action(), "4")
    assert (plan.before, plan.after, plan.subject) == ("2", "4", "replicas")
    assert_checked(plan)
    assert stored(sandbox, "deployments", "web")["spec"]["replicas"] == 2

    outcome = kube.apply(plan)
    assert outcome.ok and outcome.after == "4" and outcome.follow_rollout == "web"
    assert stored(sandbox, "deployments", "web")["spec"]["replicas"] == 4
    assert any(r.path.endswith("/deployments/web/scale") for r in patches(sandbox, False))

    revert = kube.prepare_revert(plan, outcome)
    assert (revert.before, revert.after) == ("4", "2")
    assert kube.apply(revert).ok
    assert stored(sandbox, "deployments", "web")["spec"]["replicas"] == 2


def test_configmap_key_set_and_restored_and_new_key_removed(sandbox: Sandbox) -> None:
    kube = performer(sandbox)
    plan = kube.prepare(configmap_action("checkout", "off"))
    assert (plan.before, plan.after, plan.subject) == ("on", "off", "configmap key checkout")
    assert plan.target == "configmap/flags"
    assert_checked(plan)
    outcome = kube.apply(plan)
    assert outcome.ok and outcome.follow_rollout is None
    assert stored(sandbox, "configmaps", "flags")["data"] == {"checkout": "off"}
    assert kube.apply(kube.prepare_revert(plan, outcome)).ok
    assert stored(sandbox, "configmaps", "flags")["data"] == {"checkout": "on"}

    added = kube.prepare(configmap_action("ai_enabled", "true"))
    assert added.before is None
    done = kube.apply(added)
    assert done.ok
    assert stored(sandbox, "configmaps", "flags")["data"] == {
        "checkout": "on",
        "ai_enabled": "true",
    }
    revert = kube.prepare_revert(added, done)
    assert revert.after is None
    assert kube.apply(revert).ok
    assert stored(sandbox, "configmaps", "flags")["data"] == {"checkout": "on"}


def test_restart_sets_the_annotation_and_cannot_be_undone(sandbox: Sandbox) -> None:
    kube = performer(sandbox)
    plan = kube.prepare(restart_action())
    assert (plan.before, plan.after, plan.subject) == (None, "now", "restart")
    assert not plan.revertible and "cannot be undone" in plan.revert_note
    assert_checked(plan)
    template = stored(sandbox, "deployments", "web")["spec"]["template"]
    assert "annotations" not in template["metadata"]

    outcome = kube.apply(plan)
    assert outcome.ok and outcome.follow_rollout == "web", outcome.message
    annotations = stored(sandbox, "deployments", "web")["spec"]["template"]["metadata"]
    assert annotations["annotations"]["kubectl.kubernetes.io/restartedAt"] == outcome.after
    with pytest.raises(ActionError, match="a restart cannot be undone"):
        kube.prepare_revert(plan, outcome)


# --- rollback --------------------------------------------------------------------------


def revisions(sandbox: Sandbox) -> dict[int, str]:
    """ReplicaSet revision → image, as the server has them."""

    def read() -> dict[int, str]:
        found = {}
        for rs in sandbox.cluster.items("replicasets", NS):
            revision = int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
            found[revision] = rs["spec"]["template"]["spec"]["containers"][0]["image"]
        return found

    return sandbox.call(read)


def roll_out_v2(sandbox: Sandbox, kube: KubePerformer) -> None:
    """A second revision: image 2.0 and GREETING=v2, through the API as a user would."""
    wait_for(lambda: revisions(sandbox) == {1: "example/web:1.0"}, what="revision 1")
    body = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "example/web:2.0",
                            "env": [{"name": "GREETING", "value": "v2"}],
                        }
                    ]
                }
            }
        }
    }
    kube.kube.patch("deployments", "web", body)
    wait_for(lambda: 2 in revisions(sandbox), what="revision 2")


def test_rollback_returns_to_the_previous_template_and_its_revert_goes_forward(
    sandbox: Sandbox,
) -> None:
    kube = performer(sandbox)
    roll_out_v2(sandbox, kube)
    plan = kube.prepare(rollback_action())
    assert plan.before == "revision 2 (image example/web:2.0)"
    assert plan.after == "revision 1 (image example/web:1.0)"
    assert plan.details[0] == "returns to revision 1: image example/web:1.0; env GREETING=hello"
    assert plan.state["current_revision"] == 2 and plan.state["target_revision"] == 1
    assert_checked(plan)
    assert web_env(sandbox) == {"GREETING": "v2"}

    outcome = kube.apply(plan)
    assert outcome.ok, outcome.message
    assert outcome.revert_state["revision"] == 2 and outcome.follow_rollout == "web"
    template = stored(sandbox, "deployments", "web")["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "example/web:1.0"
    assert web_env(sandbox) == {"GREETING": "hello"}
    assert "pod-template-hash" not in template["metadata"]["labels"]
    # The controller makes the old ReplicaSet the newest revision, as Kubernetes does.
    wait_for(lambda: revisions(sandbox) == {2: "example/web:2.0", 3: "example/web:1.0"})

    revert = kube.prepare_revert(plan, outcome)
    assert revert.before == "revision 3 (image example/web:1.0)"
    assert revert.after == "revision 2 (image example/web:2.0)"
    assert kube.apply(revert).ok
    template = stored(sandbox, "deployments", "web")["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "example/web:2.0"
    assert web_env(sandbox) == {"GREETING": "v2"}


def test_rollback_without_a_previous_revision_is_refused(sandbox: Sandbox) -> None:
    kube = performer(sandbox)
    wait_for(lambda: revisions(sandbox) == {1: "example/web:1.0"}, what="revision 1")
    with pytest.raises(ActionError, match="no previous revision to roll back to"):
        kube.prepare(rollback_action())
    with pytest.raises(ActionError, match="revision 7 not found"):
        kube.prepare(rollback_action(7))


# --- dry-run and access review say what the server would say ---------------------------


def test_denied_patch_shows_in_dry_run_and_access_review_and_apply_fails_cleanly(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = make_sandbox(policy=AccessPolicy(deny=(("patch", "deployments"),)))
    kube = performer(sandbox)
    plan = kube.prepare(env_action())
    assert plan.dry_run.ok is False and "forbidden" in plan.dry_run.message
    assert plan.dry_run.message.startswith("403 ")
    assert plan.access.permitted is False
    assert "denied by sandbox policy" in plan.access.reason
    assert plan.blocked and plan.blocked.startswith("not permitted")

    # Denying patch on deployments leaves the scale subresource allowed, as RBAC does.
    assert_checked(kube.prepare(scale_action()))

    outcome = kube.apply(plan)  # a caller that ignored `blocked` still gets an answer
    assert not outcome.ok and not outcome.conflict
    assert "403" in outcome.message and "nothing was applied" in outcome.message
    assert web_env(sandbox) == {"GREETING": "hello"}


def test_read_only_user_sees_scale_and_configmap_refused(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(policy=AccessPolicy(read_only=True))
    kube = performer(sandbox)
    for action in (scale_action(), configmap_action()):
        plan = kube.prepare(action)
        assert plan.dry_run.ok is False and "cannot patch" in plan.dry_run.message
        assert plan.access == Access(False, "read-only access: patch is not permitted")


def test_access_review_that_cannot_be_asked_says_so(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube = performer(sandbox)

    def broken(*args: Any, **kwargs: Any) -> tuple[bool, str]:
        raise KubeError("404 the server could not find the requested resource", 404)

    monkeypatch.setattr(kube.kube, "review_access", broken)
    plan = kube.prepare(scale_action())
    assert plan.access.permitted is None
    assert plan.access.reason.startswith("could not ask: 404")
    assert plan.blocked is None  # unknown is shown, not a refusal


def test_dry_run_refused_by_server_validation_reaches_the_plan(sandbox: Sandbox) -> None:
    """Permitted, but the server's validation refuses it: an immutable ConfigMap."""
    kube = performer(sandbox)
    frozen = {"metadata": {"name": "frozen"}, "data": {"checkout": "on"}, "immutable": True}
    kube.kube.core.create_namespaced_config_map(NS, frozen)
    plan = kube.prepare(
        configmap_action("checkout", "off").model_copy(update={"configmap": "frozen"})
    )
    assert plan.access.permitted is True
    assert plan.dry_run.ok is False and plan.dry_run.message.startswith("422 ")
    assert "immutable" in plan.dry_run.message
    assert plan.blocked and plan.blocked.startswith("the server's dry-run refused it")
    outcome = kube.apply(plan)
    assert not outcome.ok and "422" in outcome.message
    assert stored(sandbox, "configmaps", "frozen")["data"] == {"checkout": "on"}


# --- conflicts: the object changed after the dialog opened -----------------------------


def test_apply_refuses_when_the_value_changed_since_prepare(sandbox: Sandbox) -> None:
    kube = performer(sandbox)
    plan = kube.prepare(env_action(to="hi"))
    other = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "web", "env": [{"name": "GREETING", "value": "yo"}]}]
                }
            }
        }
    }
    kube.kube.patch("deployments", "web", other)
    sent = len(patches(sandbox, dry_run=False))
    outcome = kube.apply(plan)
    assert not outcome.ok and outcome.conflict and outcome.current == "yo"
    assert "changed since the dialog opened: now yo; nothing was applied" in outcome.message
    assert len(patches(sandbox, dry_run=False)) == sent  # not even attempted
    assert web_env(sandbox) == {"GREETING": "yo"}

    scale = kube.prepare(scale_action())
    kube.kube.patch("deployments/scale", "web", {"spec": {"replicas": 1}}, patch_type="merge")
    outcome = kube.apply(scale)
    assert outcome.conflict and outcome.current == "1"
    assert stored(sandbox, "deployments", "web")["spec"]["replicas"] == 1


def test_change_between_the_check_and_the_patch_is_a_409_conflict(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The patch carries the resourceVersion it was checked against."""
    kube = performer(sandbox)
    plan = kube.prepare(configmap_action("checkout", "off"))
    real_patch = kube.kube.patch

    def racing(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if not kwargs.get("dry_run"):  # someone else writes just before our patch lands
            real_patch("configmaps", "flags", {"data": {"checkout": "maybe"}}, patch_type="merge")
        return real_patch(*args, **kwargs)

    monkeypatch.setattr(kube.kube, "patch", racing)
    outcome = kube.apply(plan)
    assert not outcome.ok and outcome.conflict and outcome.current == "maybe"
    assert stored(sandbox, "configmaps", "flags")["data"] == {"checkout": "maybe"}
    assert any(r.status == 409 for r in patches(sandbox, dry_run=False))


def test_object_that_moved_without_changing_the_value_is_checked_again_and_patched(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write elsewhere in the object (as a controller's status writes do) is a 409 for
    the first patch; the value is read again and, still as shown, the patch goes through."""
    kube = performer(sandbox)
    plan = kube.prepare(configmap_action("checkout", "off"))
    real_patch = kube.kube.patch
    moved: list[bool] = []

    def racing(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if not kwargs.get("dry_run") and not moved:
            moved.append(True)
            real_patch(
                "configmaps", "flags", {"metadata": {"labels": {"x": "y"}}}, patch_type="merge"
            )
        return real_patch(*args, **kwargs)

    monkeypatch.setattr(kube.kube, "patch", racing)
    outcome = kube.apply(plan)
    assert outcome.ok and outcome.after == "off", outcome.message
    assert [r.status for r in patches(sandbox, dry_run=False)] == [200, 409, 200]
    assert stored(sandbox, "configmaps", "flags")["data"] == {"checkout": "off"}


def test_object_deleted_after_prepare_gives_a_clear_outcome(sandbox: Sandbox) -> None:
    kube = performer(sandbox)
    plan = kube.prepare(configmap_action())
    kube.kube.core.delete_namespaced_config_map("flags", NS)
    outcome = kube.apply(plan)
    assert not outcome.ok and not outcome.conflict
    assert outcome.message.startswith("could not read configmap/flags before applying: 404")


# --- rollouts --------------------------------------------------------------------------


def test_rollout_status_calls_out_an_image_pull_failure(sandbox: Sandbox) -> None:
    kube = performer(sandbox)
    plan = kube.prepare(env_action("PULL", "fail"))
    outcome = kube.apply(plan)
    assert outcome.ok and outcome.follow_rollout == "web"
    status = wait_for(
        lambda: (s := kube.rollout_status("web")).failed and "ImagePullBackOff" in s.failed and s,
        what="ImagePullBackOff in the rollout status",
    )
    assert not status.done
    assert "container web" in status.failed
    assert "updated" in status.text and "ready" in status.text

    revert = kube.prepare_revert(plan, outcome)
    assert kube.apply(revert).ok
    # Right after the fix, its rollout is not reported as failed (the failing pods are old).
    assert kube.rollout_status("web").failed is None
    done = wait_for(lambda: (s := kube.rollout_status("web")).done and s, what="rollout done")
    assert done.failed is None and done.text == "2/2 updated, 2/2 ready, 0 unavailable"
