"""The key footer, without the memory it leaked on every focus change."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Footer


class KeyFooter(Footer):
    """Footer that lets go of the keys it rebuilt.

    Textual's Footer rebuilds its keys whenever the focused widget's bindings change; each
    new key watches the footer's `compact`, and a watch is only dropped when `compact`
    itself changes (Textualize/textual#6666), which it never does here. Every discarded
    key set (its widgets, styles and caches) stayed alive: about 0.8 MB per pane switch
    in the load bench, growing garbage-collection pauses with it.
    """

    async def recompose(self) -> None:
        await super().recompose()
        watchers: dict[str, list[tuple[object, object]]] = getattr(self, "__watchers", {})
        for entries in watchers.values():
            entries[:] = [
                (node, callback)
                for node, callback in entries
                if not isinstance(node, Widget) or node.is_attached
            ]
