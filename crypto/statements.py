"""Signed statements of protocol v1: each message starts with a prefix naming its purpose and version."""

from crypto import _primitives as p

_ENCRYPTION_KEY = b"pledgebox/v1/encryption-key\x00"
_CAMPAIGN = b"pledgebox/v1/campaign\x00"
_ANNOUNCEMENT = b"pledgebox/v1/announcement\x00"
_ORGANIZER = b"pledgebox/v1/organizer\x00"
_TALLY = b"pledgebox/v1/tally\x00"


def encryption_key_message(
    coalition_id: str, version: int, not_after: str, public_key: bytes
) -> bytes:
    if len(public_key) != p.BOX_KEY_BYTES:
        raise ValueError("an encryption public key is 32 bytes")
    return b"".join(
        [
            _ENCRYPTION_KEY,
            coalition_id.encode("utf-8"),
            b"\x00",
            str(version).encode("ascii"),
            b"\x00",
            not_after.encode("ascii"),
            b"\x00",
            public_key,
        ]
    )


def campaign_message(descriptor: bytes) -> bytes:
    return _CAMPAIGN + descriptor


def announcement_message(announcement: bytes) -> bytes:
    """Announcements are JSON bytes naming their campaign, signed like descriptors."""
    return _ANNOUNCEMENT + announcement


def tally_message(tally: bytes) -> bytes:
    """A campaign's published counts (protocol 1.1), JSON bytes naming campaign and coalition."""
    return _TALLY + tally


def organizer_message(coalition_id: str, role: str, sign_public: bytes, box_public: bytes) -> bytes:
    """An admin's approval of an organizer: binds both of the organizer's keys to a role."""
    return b"".join(
        [_ORGANIZER, coalition_id.encode("utf-8"), b"\x00", role.encode("ascii"), b"\x00"]
        + [sign_public, box_public]
    )


def sign_statement(secret_key: bytes, message: bytes) -> bytes:
    return p.sign(secret_key, message)


def verify_statement(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise BadSignature unless `signature` is `public_key`'s over exactly `message`."""
    p.verify(public_key, message, signature)
