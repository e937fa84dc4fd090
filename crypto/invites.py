"""Invite tokens: the hash the server keeps, and the binding that ties a newcomer's keys to an invite.

The server holds only `token_hash(token)`. The inviting admin's tool keeps `binding_key(token)` (a
different hash, under its own prefix, that the server cannot derive from the first); the newcomer,
who holds the token, sends `invite_binding(...)` over its own keys at join. So the admin's tool can
check that the keys it is asked to approve are those of whoever received *that* invite, and the role
it recorded for it: a server cannot move a newcomer onto another invite, nor change the role.
"""

from crypto import _primitives as p

_BINDING_KEY = b"pledgebox/v1/invite-binding-key\x00"
_BINDING = b"pledgebox/v1/invite-binding\x00"
TOKEN_BYTES = 32


def token_hash(token: bytes) -> bytes:
    """What the server stores to recognise the invite (unchanged from protocol 1.0)."""
    return p.blake2b(token, 32)


def binding_key(token: bytes) -> bytes:
    if len(token) != TOKEN_BYTES:
        raise ValueError("an invite token is 32 bytes")
    return p.blake2b(_BINDING_KEY + token, 32)


def invite_binding(key: bytes, coalition_id: str, sign_public: bytes, box_public: bytes) -> bytes:
    """A MAC under binding_key(token) over the coalition and both of the newcomer's keys."""
    if len(key) != 32 or len(sign_public) != 32 or len(box_public) != 32:
        raise ValueError("keys are 32 bytes")
    return p.blake2b(_BINDING + coalition_id.encode("utf-8") + b"\x00" + sign_public + box_public,
                     32, key=key)


def binding_ok(key: bytes, coalition_id: str, sign_public: bytes, box_public: bytes,
               binding: bytes) -> bool:
    return p.equal(invite_binding(key, coalition_id, sign_public, box_public), binding)
