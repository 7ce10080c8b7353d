"""core/rollout.py on hand-written API JSON."""

from __future__ import annotations

from typing import Any

import pytest

from sre_tui.core.actions import ActionError
from sre_tui.core.rollout import (
    current_pods,
    current_revision,
    env_entry,
    env_summary,
    env_value,
    find_container,
    owned_by,
    revision_label,
    rollback_target,
    rollout_progress,
    selector_string,
    template_fingerprint,
)

UID = "dep-uid"


def template(image: str, env: dict[str, str] | None = None, hash_label: str = "") -> dict[str, Any]:
    labels = {"app": "web", **({"pod-template-hash": hash_label} if hash_label else {})}
    container: dict[str, Any] = {"name": "web", "image": image}
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return {"metadata": {"labels": labels}, "spec": {"containers": [container]}}


def deployment(tpl: dict[str, Any], **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "uid": UID, "generation": 4},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": tpl},
        "status": {"observedGeneration": 4, **status},
    }


def replicaset(revision: int, tpl: dict[str, Any], owner: str = UID) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"web-{revision}",
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "ownerReferences": [{"uid": owner, "controller": True}],
        },
        "spec": {"template": tpl},
    }


V1 = template("web:1", {"GREETING": "hello"})
V2 = template("web:2", {"GREETING": "hello"})
V3 = template("web:2", {"GREETING": "v3"})
HISTORY = [
    replicaset(1, {**V1, "metadata": {"labels": {"app": "web", "pod-template-hash": "a"}}}),
    replicaset(2, {**V2, "metadata": {"labels": {"app": "web", "pod-template-hash": "b"}}}),
    replicaset(3, {**V3, "metadata": {"labels": {"app": "web", "pod-template-hash": "c"}}}),
]


# --- containers and env -------------------------------------------------------------------


def test_container_by_name_else_named_like_the_deployment_else_the_first() -> None:
    dep = deployment(
        {"spec": {"containers": [{"name": "proxy"}, {"name": "web"}, {"name": "agent"}]}}
    )
    assert find_container(dep, "agent") == {"name": "agent"}
    assert find_container(dep, None) == {"name": "web"}
    assert find_container(dep, "missing") is None
    other = deployment({"spec": {"containers": [{"name": "proxy"}, {"name": "app"}]}})
    assert find_container(other, None) == {"name": "proxy"}
    assert find_container(deployment({"spec": {"containers": []}}), None) is None


def test_env_value_literal_unset_empty_and_reference() -> None:
    container = {
        "env": [
            {"name": "A", "value": "1"},
            {"name": "EMPTY"},
            {"name": "REF", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "A", "value": "2"},  # the last definition wins, as in the pod
        ]
    }
    assert env_value(env_entry(container, "A")) == "2"
    assert env_value(env_entry(container, "EMPTY")) == ""
    assert env_value(env_entry(container, "MISSING")) is None
    assert env_value(env_entry(container, "REF")) == "<from secretKeyRef db/password>"


# --- rollback target ----------------------------------------------------------------------


def test_rollback_picks_the_highest_revision_below_the_current_one() -> None:
    target = rollback_target(deployment(V3), HISTORY)
    assert (target.current, target.revision, target.replicaset) == (3, 2, "web-2")
    assert target.template == V2  # without the pod-template-hash label
    assert "pod-template-hash" not in target.template["metadata"]["labels"]


def test_rollback_after_a_rollback_goes_to_the_one_below_the_renumbered_current() -> None:
    # After undoing 3 → 2, Kubernetes renumbers revision 2 as 4; the next undo returns to 3.
    renumbered = [HISTORY[0], HISTORY[2], replicaset(4, HISTORY[1]["spec"]["template"])]
    target = rollback_target(deployment(V2), renumbered)
    assert (target.current, target.revision) == (4, 3)


def test_rollback_to_an_explicit_revision_and_the_refusals() -> None:
    assert rollback_target(deployment(V3), HISTORY, to_revision=1).template == V1
    with pytest.raises(ActionError, match="revision 9 not found"):
        rollback_target(deployment(V3), HISTORY, to_revision=9)
    with pytest.raises(ActionError, match="revision 3 is the current revision"):
        rollback_target(deployment(V3), HISTORY, to_revision=3)
    with pytest.raises(ActionError, match="no previous revision to roll back to"):
        rollback_target(deployment(V1), HISTORY[:1])


def test_current_revision_while_the_new_replicaset_does_not_exist_yet() -> None:
    fresh = template("web:3")
    assert current_revision(deployment(fresh), HISTORY) == 4
    assert rollback_target(deployment(fresh), HISTORY).revision == 3


def test_only_replicasets_the_deployment_controls_count() -> None:
    foreign = replicaset(7, V1, owner="other-uid")
    assert owned_by([*HISTORY, foreign], deployment(V3)) == HISTORY


def test_labels_and_fingerprints() -> None:
    assert revision_label(2, V2) == "revision 2 (image web:2)"
    two = {"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}]}}
    assert revision_label(5, two) == "revision 5 (images x:1, y:2)"
    assert env_summary(V3) == "GREETING=v3"
    assert env_summary(two) == "none"
    with_hash = HISTORY[1]["spec"]["template"]
    assert template_fingerprint(with_hash) == template_fingerprint(V2)
    assert template_fingerprint(V2) != template_fingerprint(V3)


def test_selector_string() -> None:
    selector = {
        "matchLabels": {"tier": "web", "app": "shop"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "stage"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    assert selector_string(selector) == "app=shop,tier=web,env in (prod,stage),!canary"
    assert selector_string(None) == ""


# --- rollout progress ---------------------------------------------------------------------


def pod(name: str, reason: str | None = None, message: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {"running": {}}
    if reason:
        state = {"waiting": {"reason": reason, "message": message}}
    return {
        "metadata": {"name": name},
        "status": {"containerStatuses": [{"name": "web", "state": state}]},
    }


def test_rollout_done_only_when_every_count_matches_and_the_generation_is_seen() -> None:
    full = {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}
    status = rollout_progress(deployment(V1, **full), [pod("a"), pod("b"), pod("c")])
    assert status.done and status.failed is None
    assert status.text == "3/3 updated, 3/3 ready, 0 unavailable"

    stale = deployment(V1, **full)
    stale["metadata"]["generation"] = 5
    assert not rollout_progress(stale, []).done

    surging = {**full, "replicas": 4}  # one old pod still terminating
    progress = rollout_progress(deployment(V1, **surging), [])
    assert not progress.done and "1 old pending termination" in progress.text


def test_rollout_in_progress_text() -> None:
    partial = {
        "replicas": 3,
        "updatedReplicas": 2,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "unavailableReplicas": 2,
    }
    status = rollout_progress(deployment(V1, **partial), [pod("a"), pod("b")])
    assert not status.done and status.failed is None
    assert status.text.startswith("2/3 updated, 1/3 ready, 2 unavailable")


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff"])
def test_rollout_calls_out_failing_pods(reason: str) -> None:
    partial = {"replicas": 3, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2}
    pods = [pod("web-old"), pod("web-new", reason, "back-off pulling image"), pod("web-x", reason)]
    status = rollout_progress(deployment(V1, **partial), pods)
    assert not status.done
    assert status.failed == (
        f"{reason}: pod web-new container web: back-off pulling image (+1 more)"
    )


def test_terminating_pods_and_harmless_waiting_reasons_are_not_failures() -> None:
    partial = {"replicas": 3, "updatedReplicas": 1}
    leaving = pod("web-old", "CrashLoopBackOff")
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status = rollout_progress(
        deployment(V1, **partial), [leaving, pod("web-new", "ContainerCreating")]
    )
    assert status.failed is None


def test_rollout_calls_out_the_progress_deadline() -> None:
    stuck = {
        "replicas": 3,
        "updatedReplicas": 1,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": 'ReplicaSet "web-2" has timed out progressing.',
            },
        ],
    }
    status = rollout_progress(deployment(V1, **stuck), [pod("web-new", "ImagePullBackOff")])
    assert not status.done
    assert status.failed == (
        'ProgressDeadlineExceeded: ReplicaSet "web-2" has timed out progressing.; '
        "ImagePullBackOff: pod web-new container web"
    )


def test_current_pods_are_those_of_the_replicaset_running_the_template() -> None:
    def labelled(name: str, pod_hash: str) -> dict[str, Any]:
        found = pod(name, "CrashLoopBackOff")
        found["metadata"]["labels"] = {"app": "web", "pod-template-hash": pod_hash}
        return found

    pods = [labelled("old-1", "c"), labelled("new-1", "b"), labelled("new-2", "b")]
    assert [p["metadata"]["name"] for p in current_pods(deployment(V2), HISTORY, pods)] == [
        "new-1",
        "new-2",
    ]
    assert current_pods(deployment(template("web:9")), HISTORY, pods) == []
