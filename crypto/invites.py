"""Invite secrets: what finds an invite on the server, and the key that binds a newcomer to it.

An invite carries one 32-byte secret. Two values are derived from it under separate labels: the
*locator*, which the newcomer sends to the server to spend the invite (the server stores only its
hash), and the *MAC key*, under which the newcomer binds its keys to the invite. Nothing the
server receives derives the MAC key (the locator is a one-way hash of the secret under another
label), so a server that has seen every join still cannot bind one newcomer's keys to another
newcomer's invite: the admin's tool, which kept the MAC key and the role, notices. (Protocol 1.0
sent the raw token and keyed the MAC with a hash of it, which let a server move a member's join
onto an admin invite: issue 17, finding 1.)
"""

from crypto import _primitives as p

SECRET_BYTES = 32
_LOCATOR = b"pledgebox/v2/invite-locator\x00"
_MAC_KEY = b"pledgebox/v2/invite-mac-key\x00"
_BINDING = b"pledgebox/v2/invite-binding\x00"


def _derive(label: bytes, secret: bytes) -> bytes:
    if len(secret) != SECRET_BYTES:
        raise ValueError("an invite secret is 32 bytes")
    return p.blake2b(label + secret, 32)


def locator(secret: bytes) -> bytes:
    """What the newcomer sends the server to spend the invite."""
    return _derive(_LOCATOR, secret)


def locator_hash(found_by: bytes) -> bytes:
    """What the server stores to recognise an invite (so a leaked database spends no invite)."""
    return p.blake2b(found_by, 32)


def mac_key(secret: bytes) -> bytes:
    """The key of the newcomer's binding; only the invite's holders can derive it."""
    return _derive(_MAC_KEY, secret)


def invite_binding(key: bytes, coalition_id: str, sign_public: bytes, box_public: bytes) -> bytes:
    """A MAC under mac_key(secret) over the coalition and both of the newcomer's keys."""
    if len(key) != 32 or len(sign_public) != 32 or len(box_public) != 32:
        raise ValueError("keys are 32 bytes")
    return p.blake2b(_BINDING + coalition_id.encode("utf-8") + b"\x00" + sign_public + box_public,
                     32, key=key)


def binding_ok(key: bytes, coalition_id: str, sign_public: bytes, box_public: bytes,
               binding: bytes) -> bool:
    return p.equal(invite_binding(key, coalition_id, sign_public, box_public), binding)
