"""The one filter between text from elsewhere (the server, other organizers, students) and a terminal.

A terminal obeys what it prints: ESC (0x1b) and the single-byte CSI (0x9b) start sequences that move
the cursor, rewrite lines already shown, set the window title or, on some terminals, answer back
with typed input; bidi overrides make a line read differently from its bytes. Every string that did
not come from this tool itself passes through `printable` before it is printed: server error
messages, campaign descriptors, announcements, directory cards, organizers' entries, roster answers.
"""

from typing import Any

# Bidi embeddings, overrides and isolates, and the marks: all invisible, all reorder what follows.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_KEPT_FORMAT = frozenset("\u200d")  # the zero-width joiner builds emoji (👩‍🎓) and moves nothing
MARK = "\N{REPLACEMENT CHARACTER}"


def is_safe(ch: str) -> bool:
    """Printable (not Cc C0/C1/DEL, not a format or separator character), and not a bidi control."""
    return (ch.isprintable() or ch in _KEPT_FORMAT) and ch not in _BIDI


def printable(text: str, limit: int | None = None) -> str:
    """`text` on one line with every unsafe character a visible mark; whitespace becomes a space.
    With `limit`, cut to that many characters (an ellipsis ends a cut text)."""
    clean = "".join(" " if ch.isspace() else ch if is_safe(ch) else MARK for ch in str(text))
    if limit is not None and len(clean) > limit:
        return clean[: limit - 1] + "…"
    return clean


def all_safe(text: str) -> bool:
    """True if `text` would print unchanged on one line (no control, bidi or line-breaking characters)."""
    return all(is_safe(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_safe(encoded: str) -> str:
    """JSON text with every unsafe character written as a \\u escape: the same JSON value, and
    safe to print (a roster in JSON Lines on a terminal, or a file someone later `cat`s)."""
    if encoded.isprintable():  # the common case, at C speed: no control, format or bidi character
        return encoded
    return "".join(ch if is_safe(ch) else _escape(ch) for ch in encoded)


class TerminalSafe:
    """A text stream that passes line ends through and marks every other unsafe character, for
    output that goes to a terminal as it is (CSV on stdout); files get the data unchanged."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return int(self._stream.write("".join(
            ch if ch in "\r\n\t" or is_safe(ch) else MARK for ch in text)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
