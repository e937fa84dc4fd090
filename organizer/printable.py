"""The one filter between text from elsewhere (the server, other organizers, students) and a terminal.

A terminal obeys what it prints: ESC (0x1b) and the single-byte CSI (0x9b) start sequences that move
the cursor, rewrite lines already shown, set the window title or, on some terminals, answer back
with typed input; bidi overrides make a line read differently from its bytes. Every string that did
not come from this tool itself passes through `printable` before it is printed: server error
messages, campaign descriptors, announcements, directory cards, organizers' entries, roster answers.
"""

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
