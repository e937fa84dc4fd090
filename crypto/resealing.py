"""Re-sealing a stored envelope to a new encryption key, for key rotation.

The padded plaintext is moved as it is, never unpadded or parsed: its length, and so the size
bucket the server sees, stays the same, and nothing a student wrote is interpreted on the way.
Whether it is a well-formed pledge is checked, as before, by whoever opens it to read it.
"""

from crypto import _primitives as p
from crypto.envelope import BLOCK, ciphertext_length_ok
from crypto.errors import BadEnvelope


def reseal(old_public: bytes, old_secret: bytes, new_public: bytes, ciphertext: bytes) -> bytes:
    """Open with the old key pair and seal the same padded bytes to `new_public`."""
    if not ciphertext_length_ok(len(ciphertext)):
        raise BadEnvelope("ciphertext has a length no client produces")
    padded = p.seal_open(old_public, old_secret, ciphertext)
    if len(padded) % BLOCK:
        raise BadEnvelope("bad padded length")
    return p.seal(new_public, padded)
