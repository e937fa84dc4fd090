"""The single wire encoding: base64url without padding (RFC 4648 section 5), strictly canonical."""

import base64
import binascii

from crypto.errors import BadEncoding

_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_VALUES = {c: i for i, c in enumerate(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")}
# Bits of the last character that carry no data, by len(text) % 4; canonical text has them zero.
_SPARE_BITS = {0: 0, 2: 0b1111, 3: 0b11}


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str, *, length: int | None = None) -> bytes:
    """Decode strictly: one text per value, so signatures and hashes cannot be malleated in transit."""
    if not isinstance(text, str) or len(text) % 4 == 1:
        raise BadEncoding("not base64url without padding")
    try:
        # '+', '/' and '=' become '!', which strict mode refuses like any other non-alphabet byte;
        # one C pass instead of a regex over the whole text (1.4 KB per pledge on the roster).
        standard = text.encode("ascii").translate(_TO_STANDARD)
        data = binascii.a2b_base64(standard + b"=" * (-len(text) % 4), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise BadEncoding("not base64url without padding") from exc
    # Checking the last character's spare bits is as strict as re-encoding, at a fraction of
    # the cost on a 1.4 KB ciphertext (the intake and the roster decode one per pledge).
    if text and _VALUES[text[-1]] & _SPARE_BITS[len(text) % 4]:
        raise BadEncoding("non-canonical base64url (stray bits in the last character)")
    if length is not None and len(data) != length:
        raise BadEncoding(f"expected {length} bytes, got {len(data)}")
    return data
