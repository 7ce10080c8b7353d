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
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
REPLACEMENT = "\ufffd"


def inert(text: str, *, tab_width: int = 4) -> str:
    """The printable content of `text`, safe to show on a terminal."""
    text = _ESCAPES.sub("", text)
    text = text.replace("\t", " " * tab_width).replace("\r", "").replace("\n", " ")
    return _CONTROLS.sub(REPLACEMENT, text)
