"""Make untrusted text (pod logs, labels, annotations) inert for a terminal.

Escape sequences (CSI, OSC, DCS, …) are removed whole; any other control character is
replaced by a visible stand-in, so nothing in the text can move the cursor, retitle the
window, write the clipboard or hyperlink. Markup is not our concern here: the UI never
renders untrusted text as markup (it builds `rich.text.Text` objects).
"""

from __future__ import annotations

import re

# ESC-introduced sequences, and their 8-bit C1 forms.
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                  # CSI … final byte
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)  # OSC/DCS/SOS/PM/APC … ST
  | \x1b[ -/]*[0-~]                                    # other ESC sequences
    """,
    re.VERBOSE | re.DOTALL,
)
# C0/C1 controls, line/paragraph separators, and the bidirectional formatting characters
# (embeddings, overrides, isolates, marks) that can make text read other than it is.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"


def inert(text: str, *, tab_width: int = 4) -> str:
    """The printable content of `text`, safe to show on a terminal."""
    text = _ESCAPES.sub("", text)
    text = text.replace("\t", " " * tab_width).replace("\r", "").replace("\n", " ")
    return _CONTROLS.sub(REPLACEMENT, text)


def inert_block(text: str, *, tab_width: int = 4) -> str:
    """Like `inert`, keeping the line breaks of multi-line text (step text, commands)."""
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(inert(line, tab_width=tab_width) for line in lines)
