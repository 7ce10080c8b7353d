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
    return (deployment.get("spec") or {}).get("template") or {}


def containers_of(template: Obj) -> list[Obj]:
    return list((template.get("spec") or {}).get("containers") or [])


def find_container(deployment: Obj, wanted: str | None) -> Obj | None:
    """The container `wanted`; without a name, the one named like the deployment, else
    the first. None when there is no such container."""
    containers = containers_of(pod_template(deployment))
    if wanted:
        return next((c for c in containers if c.get("name") == wanted), None)
    own = (deployment.get("metadata") or {}).get("name")
    named = next((c for c in containers if c.get("name") == own), None)
    return named or (containers[0] if containers else None)


def env_entry(container: Obj, variable: str) -> Obj | None:
    """The container's env entry for `variable` (the last one wins, as in a pod)."""
    found = None
    for entry in container.get("env") or []:
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
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    try:
        return int(annotations.get(REVISION, "0"))
    except (TypeError, ValueError):
        return 0


def template_key(template: Obj) -> Obj:
    """A pod template without its pod-template-hash label, as a Deployment holds it."""
    key = copy.deepcopy(template)
    meta = key.setdefault("metadata", {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    meta["labels"] = labels
    meta.pop("creationTimestamp", None)
    return key


def template_fingerprint(template: Obj) -> str:
    """A short digest of a template (without the hash label), to notice any change."""
    canonical = json.dumps(template_key(template), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def owned_by(replicasets: list[Obj], deployment: Obj) -> list[Obj]:
    """ReplicaSets whose controller is `deployment` (by uid), as kubectl picks them."""
    uid = (deployment.get("metadata") or {}).get("uid")
    owned = []
    for rs in replicasets:
        refs = (rs.get("metadata") or {}).get("ownerReferences") or []
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
        replicaset=str((rs.get("metadata") or {}).get("name", "")),
        template=template_key(pod_template(rs)),
    )


def images_of(template: Obj) -> str:
    return ", ".join(str(c.get("image", "?")) for c in containers_of(template)) or "none"


def env_summary(template: Obj) -> str:
    """`GREETING=hello, TIMEOUT_MS=500` over all containers ("none" when there is none)."""
    pairs = []
    for container in containers_of(template):
        for entry in container.get("env") or []:
            pairs.append(f"{entry.get('name')}={env_value(entry)}")
    return ", ".join(pairs) or "none"


def revision_label(revision: int, template: Obj) -> str:
    images = containers_of(template)
    noun = "image" if len(images) <= 1 else "images"
    return f"revision {revision} ({noun} {images_of(template)})"


# --- selectors ---------------------------------------------------------------------------


def selector_string(selector: Obj | None) -> str:
    """A LabelSelector as the labelSelector query parameter writes it."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
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
            labels = (pod_template(rs).get("metadata") or {}).get("labels") or {}
            wanted = labels.get(HASH_LABEL)
            return [
                p
                for p in pods
                if wanted
                and ((p.get("metadata") or {}).get("labels") or {}).get(HASH_LABEL) == wanted
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
    for pod in pods:
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue  # on its way out: not what the rollout waits for
        name = (pod.get("metadata") or {}).get("name", "?")
        status = pod.get("status") or {}
        for cs in (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []
        ):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason in FAILING_REASONS:
                message = str(waiting.get("message") or "").strip()
                line = f"{reason}: pod {name} container {cs.get('name', '?')}"
                problems.append(f"{line}: {message}" if message else line)
    return problems


def rollout_progress(deployment: Obj, pods: list[Obj]) -> RolloutStatus:
    """How far the deployment's rollout has got, as `kubectl rollout status` judges it,
    plus the pod states that mean it will not finish (image pulls, crash loops)."""
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    total = int(status.get("replicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    ready = int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    unavailable = int(status.get("unavailableReplicas") or 0)
    observed = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
    text = f"{updated}/{desired} updated, {ready}/{desired} ready, {unavailable} unavailable"
    if total > updated:
        text += f", {total - updated} old pending termination"
    done = observed and updated == ready == available == desired == total
    if done:
        return RolloutStatus(True, None, text)
    failed: str | None = None
    for condition in status.get("conditions") or []:
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
