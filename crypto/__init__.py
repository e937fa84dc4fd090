"""Pure cryptographic recipes shared by the server and the organizer tool.

No Flask, no database, no network here: only functions over bytes, plus the keystore file format.
"""

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import (
    BadEnvelope,
    BadSignature,
    CryptoError,
    KeystoreCorrupt,
    WrongPassphrase,
)

__all__ = [
    "BadEnvelope",
    "BadSignature",
    "CryptoError",
    "KeystoreCorrupt",
    "WrongPassphrase",
    "b64u_decode",
    "b64u_encode",
]
