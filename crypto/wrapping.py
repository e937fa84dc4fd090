"""Coalition secrets wrapped (sealed) to one organizer's X25519 key, bound to coalition and purpose."""

import json

from crypto import _primitives as p
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import BadEncoding, BadEnvelope

KINDS = ("signing", "encryption")


def wrap_secret(
    recipient_box_public: bytes, coalition_id: str, kind: str, version: int, secret: bytes
) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown secret kind {kind!r}")
    body = {"coalition_id": coalition_id, "kind": kind, "version": version,
            "secret": b64u_encode(secret)}
    return p.seal(recipient_box_public, json.dumps(body, sort_keys=True).encode("ascii"))


def unwrap_secret(
    box_public: bytes, box_secret: bytes, wrapped: bytes, coalition_id: str
) -> tuple[str, int, bytes]:
    """Open a wrapped secret; the label inside (not the server's row) says what it is."""
    try:
        body = json.loads(p.seal_open(box_public, box_secret, wrapped))
        kind, version = body["kind"], body["version"]
        secret = b64u_decode(body["secret"], length=32)
    except (ValueError, KeyError, TypeError, RecursionError, BadEncoding) as exc:
        raise BadEnvelope("wrapped secret is malformed") from exc
    if body.get("coalition_id") != coalition_id or kind not in KINDS or not isinstance(version, int):
        raise BadEnvelope("wrapped secret belongs to another coalition")
    return kind, version, secret
