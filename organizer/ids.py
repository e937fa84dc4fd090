"""Random ids made on the organizer's side (coalitions, campaigns): 128 bits, base64url."""

import secrets

from crypto.encoding import b64u_encode


def new_id() -> str:
    return b64u_encode(secrets.token_bytes(16))
