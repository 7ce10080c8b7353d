"""The baseline: a bare Textual hello-world, started the way the app is (a script in a pty).

Kept to what any Textual app needs, so the start-up ratio shows what sre-tui adds.
"""

from textual.app import App, ComposeResult
from textual.widgets import Label

READY_TEXT = "Hello from bare Textual"


class Hello(App[None]):
    def compose(self) -> ComposeResult:
        yield Label(READY_TEXT)


if __name__ == "__main__":
    Hello().run()
