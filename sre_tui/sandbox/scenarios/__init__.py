"""Demo scenarios (seed incidents) that drive the simulated cluster's workloads."""

from __future__ import annotations

from ..flags import FlagStore
from ..interfaces import Scenario
from .composite import CompositeScenario
from .timeout import TimeoutScenario
from .websocket import WebSocketOverloadScenario

__all__ = [
    "CompositeScenario",
    "TimeoutScenario",
    "WebSocketOverloadScenario",
    "build_scenario",
]

_FACTORIES = {
    "timeout": TimeoutScenario,
    "service-timeout": TimeoutScenario,
    "websocket": WebSocketOverloadScenario,
    "websocket-overload": WebSocketOverloadScenario,
}


def build_scenario(
    names: list[str],
    flags: FlagStore,
    *,
    namespace: str = "production",
    seed: int = 0,
    speed: float = 1.0,
) -> Scenario:
    """One scenario, or several behind a composite. Names: timeout (service-timeout),
    websocket (websocket-overload). `speed`: the Clock's, so CPU usage stays a share of
    the limit at any clock speed."""
    unknown = [n for n in names if n not in _FACTORIES]
    if unknown or not names:
        known = ", ".join(sorted(_FACTORIES))
        raise ValueError(
            f"unknown scenario(s) {', '.join(unknown) or '(none given)'}; known: {known}"
        )
    children = []
    for i, name in enumerate(dict.fromkeys(_FACTORIES[n] for n in names)):
        children.append(name(flags, namespace=namespace, seed=seed + i, speed=speed))
    return children[0] if len(children) == 1 else CompositeScenario(children)
