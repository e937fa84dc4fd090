"""Re-sealing a stored envelope to a new encryption key, for key rotation.

The padded plaintext is moved as it is: its length, and so the size bucket the server sees,
stays the same, and what a student wrote is never changed on the way. Whether it is a
well-formed pledge is checked, as before, by whoever opens it to read it; only its protocol 1.1
nonce and a digest of its plaintext are looked at, so re-encryption can leave out a pledge the
server stored twice (same nonce, same bytes) and still re-seal one that only shares a nonce.
"""

import hashlib
import json

from crypto import _primitives as p
from crypto.envelope import BLOCK, ciphertext_length_ok, unpad
from crypto.errors import BadEnvelope


def reseal(old_public: bytes, old_secret: bytes, new_public: bytes, ciphertext: bytes) -> bytes:
    """Open with the old key pair and seal the same padded bytes to `new_public`."""
    return reseal_with_nonce(old_public, old_secret, new_public, ciphertext)[0]


def reseal_with_nonce(old_public: bytes, old_secret: bytes, new_public: bytes,
                      ciphertext: bytes) -> tuple[bytes, str | None, bytes]:
    """`reseal`, the pledge's nonce (None when it has none or is not a pledge object) and a
    16-byte BLAKE2b digest of the padded plaintext."""
    if not ciphertext_length_ok(len(ciphertext)):
        raise BadEnvelope("ciphertext has a length no client produces")
    padded = p.seal_open(old_public, old_secret, ciphertext)
    if len(padded) % BLOCK:
        raise BadEnvelope("bad padded length")
    return (p.seal(new_public, padded), _nonce(padded),
            hashlib.blake2b(padded, digest_size=16).digest())


def _nonce(padded: bytes) -> str | None:
    try:
        body = json.loads(unpad(padded).decode("utf-8"))
    except (BadEnvelope, UnicodeDecodeError, ValueError, RecursionError):
        return None
    nonce = body.get("nonce") if isinstance(body, dict) else None
    return nonce if isinstance(nonce, str) and nonce else None
