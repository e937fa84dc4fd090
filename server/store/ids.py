"""Random identifiers: 128 bits from the OS, base64url; never sequential, never time-based."""

import secrets

from crypto.encoding import b64u_encode


def new_id() -> str:
    return b64u_encode(secrets.token_bytes(16))
