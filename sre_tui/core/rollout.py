"""Reading Deployments, ReplicaSets and pods as the API returns them (plain JSON dicts):
which container an env action means, which revision a rollback returns to, and how far a
rollout has got. Pure: the performer in `sre_tui/actions/kube.py` does the I/O.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sre_tui.core.actions import ActionError

Obj = dict[str, Any]


def _obj(value: Any) -> Obj:
    """`value` when the API gave an object there, else an empty one (answers are data)."""
    return value if isinstance(value, dict) else {}


def _objs(value: Any) -> list[Obj]:
    """The objects in a list the API gave; anything else there is ignored."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _int(value: Any, default: int = 0) -> int:
    """A count from the API; `default` when it is absent or not a (finite) number."""
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

# Waiting reasons that mean a rollout will not finish by itself (kubectl shows them in
# STATUS; `kubectl rollout status` would only wait for the deadline).
FAILING_REASONS = (
    "ImagePullBackOff",
    "ErrImagePull",
    "CrashLoopBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
)


# --- containers and env ------------------------------------------------------------------


def pod_template(deployment: Obj) -> Obj:
    return _obj(_obj(_obj(deployment).get("spec")).get("template"))


def containers_of(template: Obj) -> list[Obj]:
    return _objs(_obj(_obj(template).get("spec")).get("containers"))


def find_container(deployment: Obj, wanted: str | None) -> Obj | None:
    """The container `wanted`; without a name, the one named like the deployment, else
    the first. None when there is no such container."""
    containers = containers_of(pod_template(deployment))
    if wanted:
        return next((c for c in containers if c.get("name") == wanted), None)
    own = _obj(_obj(deployment).get("metadata")).get("name")
    named = next((c for c in containers if c.get("name") == own), None)
    return named or (containers[0] if containers else None)


def env_entry(container: Obj, variable: str) -> Obj | None:
    """The container's env entry for `variable` (the last one wins, as in a pod)."""
    found = None
    for entry in _objs(container.get("env")):
        if entry.get("name") == variable:
            found = entry
    return found


def env_value(entry: Obj | None) -> str | None:
    """The entry's literal value; None when unset. A reference (valueFrom) is described."""
    if entry is None:
        return None
    if "valueFrom" in entry and entry.get("valueFrom") is not None:
        source = entry["valueFrom"]
        kind = next(iter(source), "valueFrom") if isinstance(source, dict) else "valueFrom"
        ref = source.get(kind) if isinstance(source, dict) else None
        if isinstance(ref, dict) and ref.get("name"):
            return f"<from {kind} {ref['name']}/{ref.get('key', '')}>".replace("/>", ">")
        return f"<from {kind}>"
    return str(entry.get("value", ""))


# --- revisions ---------------------------------------------------------------------------


def revision_of(obj: Obj) -> int:
    """The `deployment.kubernetes.io/revision` annotation; 0 when absent or not a number."""
    annotations = _obj(_obj(_obj(obj).get("metadata")).get("annotations"))
    return _int(annotations.get(REVISION, "0"))


def template_key(template: Obj) -> Obj:
    """A pod template without its pod-template-hash label, as a Deployment holds it."""
    key = copy.deepcopy(_obj(template))
    meta = key["metadata"] = _obj(key.get("metadata"))
    labels = {k: v for k, v in _obj(meta.get("labels")).items() if k != HASH_LABEL}
    meta["labels"] = labels
    meta.pop("creationTimestamp", None)
    return key


def template_fingerprint(template: Obj) -> str:
    """A short digest of a template (without the hash label), to notice any change."""
    canonical = json.dumps(template_key(template), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def owned_by(replicasets: list[Obj], deployment: Obj) -> list[Obj]:
    """ReplicaSets whose controller is `deployment` (by uid), as kubectl picks them."""
    uid = _obj(_obj(deployment).get("metadata")).get("uid")
    owned = []
    for rs in _objs(replicasets):
        refs = _objs(_obj(rs.get("metadata")).get("ownerReferences"))
        if any(ref.get("controller") and ref.get("uid") == uid for ref in refs):
            owned.append(rs)
    return owned


def current_revision(deployment: Obj, replicasets: list[Obj]) -> int:
    """The revision of the ReplicaSet that runs the deployment's template; while none does
    yet (a rollout just started), the revision the controller is about to give it."""
    key = template_key(pod_template(deployment))
    for rs in replicasets:
        if template_key(pod_template(rs)) == key:
            return revision_of(rs)
    highest = max((revision_of(rs) for rs in replicasets), default=0)
    return max(highest + 1, revision_of(deployment))


@dataclass(frozen=True)
class RollbackTarget:
    current: int
    revision: int
    replicaset: str
    template: Obj  # the ReplicaSet's template without the pod-template-hash label


def rollback_target(
    deployment: Obj, replicasets: list[Obj], to_revision: int | None = None
) -> RollbackTarget:
    """What `kubectl rollout undo` returns to: revision `to_revision`, else the highest
    revision below the current one. `replicasets` are the deployment's own. Raises
    ActionError when there is nothing to return to."""
    current = current_revision(deployment, replicasets)
    if to_revision is not None:
        if to_revision == current:
            raise ActionError(f"revision {to_revision} is the current revision")
        chosen = [rs for rs in replicasets if revision_of(rs) == to_revision]
        if not chosen:
            raise ActionError(f"revision {to_revision} not found (no ReplicaSet has it)")
        rs = chosen[0]
    else:
        older = [rs for rs in replicasets if 0 < revision_of(rs) < current]
        if not older:
            raise ActionError("no previous revision to roll back to")
        rs = max(older, key=revision_of)
    return RollbackTarget(
        current=current,
        revision=revision_of(rs),
        replicaset=str(_obj(rs.get("metadata")).get("name", "")),
        template=template_key(pod_template(rs)),
    )


def images_of(template: Obj) -> str:
    return ", ".join(str(c.get("image", "?")) for c in containers_of(template)) or "none"


def env_summary(template: Obj) -> str:
    """`GREETING=hello, TIMEOUT_MS=500` over all containers ("none" when there is none)."""
    pairs = []
    for container in containers_of(template):
        for entry in _objs(container.get("env")):
            pairs.append(f"{entry.get('name')}={env_value(entry)}")
    return ", ".join(pairs) or "none"


def revision_label(revision: int, template: Obj) -> str:
    images = containers_of(template)
    noun = "image" if len(images) <= 1 else "images"
    return f"revision {revision} ({noun} {images_of(template)})"


# --- selectors ---------------------------------------------------------------------------


def selector_string(selector: Obj | None) -> str:
    """A LabelSelector as the labelSelector query parameter writes it."""
    if not isinstance(selector, dict):
        return ""
    match_labels = _obj(selector.get("matchLabels"))
    parts = [f"{k}={v}" for k, v in sorted(match_labels.items(), key=lambda kv: str(kv[0]))]
    for expr in _objs(selector.get("matchExpressions")):
        key, op = expr.get("key"), expr.get("operator")
        values = [str(v) for v in expr["values"]] if isinstance(expr.get("values"), list) else []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def current_pods(deployment: Obj, replicasets: list[Obj], pods: list[Obj]) -> list[Obj]:
    """The pods of the ReplicaSet that runs the deployment's template (by its
    pod-template-hash): what a rollout waits for. Old pods, crash-looping ones included,
    are on their way out. No pods while that ReplicaSet does not exist yet."""
    key = template_key(pod_template(deployment))
    for rs in replicasets:
        if template_key(pod_template(rs)) == key:
            labels = _obj(_obj(pod_template(rs).get("metadata")).get("labels"))
            wanted = labels.get(HASH_LABEL)
            return [
                p
                for p in _objs(pods)
                if wanted and _obj(_obj(p.get("metadata")).get("labels")).get(HASH_LABEL) == wanted
            ]
    return []


# --- rollout progress --------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutStatus:
    done: bool
    failed: str | None  # why the rollout will not finish by itself, if it will not
    text: str  # "2/3 updated, 1/3 ready, 0 unavailable"


def _pod_problems(pods: list[Obj]) -> list[str]:
    problems: list[str] = []
    for pod in _objs(pods):
        if _obj(pod.get("metadata")).get("deletionTimestamp"):
            continue  # on its way out: not what the rollout waits for
        name = _obj(pod.get("metadata")).get("name", "?")
        status = _obj(pod.get("status"))
        for cs in _objs(status.get("initContainerStatuses")) + _objs(
            status.get("containerStatuses")
        ):
            waiting = _obj(_obj(cs.get("state")).get("waiting"))
            reason = waiting.get("reason")
            if isinstance(reason, str) and reason in FAILING_REASONS:
                message = str(waiting.get("message") or "").strip()
                line = f"{reason}: pod {name} container {cs.get('name', '?')}"
                problems.append(f"{line}: {message}" if message else line)
    return problems


def rollout_progress(deployment: Obj, pods: list[Obj]) -> RolloutStatus:
    """How far the deployment's rollout has got, as `kubectl rollout status` judges it,
    plus the pod states that mean it will not finish (image pulls, crash loops)."""
    meta = _obj(_obj(deployment).get("metadata"))
    spec = _obj(_obj(deployment).get("spec"))
    status = _obj(_obj(deployment).get("status"))
    desired = _int(spec.get("replicas"), 1)
    total = _int(status.get("replicas"))
    updated = _int(status.get("updatedReplicas"))
    ready = _int(status.get("readyReplicas"))
    available = _int(status.get("availableReplicas"))
    unavailable = _int(status.get("unavailableReplicas"))
    observed = _int(status.get("observedGeneration")) >= _int(meta.get("generation"))
    text = f"{updated}/{desired} updated, {ready}/{desired} ready, {unavailable} unavailable"
    if total > updated:
        text += f", {total - updated} old pending termination"
    done = observed and updated == ready == available == desired == total
    if done:
        return RolloutStatus(True, None, text)
    failed: str | None = None
    for condition in _objs(status.get("conditions")):
        if (
            condition.get("type") == "Progressing"
            and condition.get("reason") == "ProgressDeadlineExceeded"
        ):
            failed = f"ProgressDeadlineExceeded: {condition.get('message', '')}".rstrip(": ")
    problems = _pod_problems(pods)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        failed = f"{failed}; {problems[0]}{more}" if failed else f"{problems[0]}{more}"
    if not observed:
        text += " (waiting for the controller to see the change)"
    return RolloutStatus(False, failed, text)
