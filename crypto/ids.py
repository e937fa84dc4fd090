"""Random identifiers: 128 bits from the OS, base64url; never sequential, never time-based."""

from crypto import _primitives as p
from crypto.encoding import b64u_encode

ID_BYTES = 16
# What any id on the wire looks like (ours are 22 characters; the protocol allows 1 to 64).
ID_PATTERN = "[A-Za-z0-9_-]{1,64}"
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def is_id(value: object) -> bool:
    """Whether a value has an id's shape, so it can go into a URL path or a file as it is."""
    return isinstance(value, str) and 0 < len(value) <= 64 and set(value) <= _ID_CHARS


def new_id() -> str:
    """A fresh id that never starts with '-', so no command line mistakes it for an option.

    Redrawing the 1 in 64 ids that would start with '-' costs under 0.03 bits of entropy.
    """
    while True:
        candidate = b64u_encode(p.random_bytes(ID_BYTES))
        if not candidate.startswith("-"):
            return candidate
