"""The pledge envelope of protocol v1: JSON, ISO/IEC 7816-4 padding to 1 KiB blocks, sealed box."""

import json
import re
from typing import Any

from crypto import _primitives as p
from crypto.errors import BadEnvelope

BLOCK = 1024
MAX_BLOCKS = 8
MAX_PADDED = BLOCK * MAX_BLOCKS
CIPHERTEXT_LENGTHS = frozenset(BLOCK * k + p.SEAL_OVERHEAD for k in range(1, MAX_BLOCKS + 1))


def ciphertext_length_ok(length: int) -> bool:
    """Only these lengths exist, so a ciphertext's size says at most which 1 KiB bucket it is in."""
    return length in CIPHERTEXT_LENGTHS


def pad(plaintext: bytes) -> bytes:
    padded = p.pad(plaintext, BLOCK)
    if len(padded) > MAX_PADDED:
        raise BadEnvelope(f"a pledge may hold at most {MAX_PADDED - 1} bytes")
    return padded


def unpad(padded: bytes) -> bytes:
    if not padded or len(padded) % BLOCK or len(padded) > MAX_PADDED:
        raise BadEnvelope("bad padded length")
    return p.unpad(padded, BLOCK)


def seal_bytes(public_key: bytes, plaintext: bytes) -> bytes:
    """Pad and seal any plaintext (pledges, directory cards) so sizes fall into 1 KiB buckets."""
    return p.seal(public_key, pad(plaintext))


def open_bytes(public_key: bytes, secret_key: bytes, ciphertext: bytes) -> bytes:
    if not ciphertext_length_ok(len(ciphertext)):
        raise BadEnvelope("ciphertext has a length no client produces")
    return unpad(p.seal_open(public_key, secret_key, ciphertext))


def seal_pledge(public_key: bytes, campaign_id: str, answers: dict[str, Any]) -> bytes:
    body = {"v": 1, "campaign_id": campaign_id, "answers": answers}
    return seal_bytes(public_key, json.dumps(body, ensure_ascii=False).encode("utf-8"))


# A lone surrogate can only arrive as a JSON escape (the bytes are UTF-8), and anyone can seal one;
# text holding it cannot be written out as UTF-8, so one such pledge would break every page and
# export that shows it. Escaped pairs (emoji) match too, hence the exact check behind this fast one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _is_unicode(body: dict[str, Any]) -> bool:
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def open_pledge(
    public_key: bytes, secret_key: bytes, ciphertext: bytes, campaign_id: str
) -> dict[str, Any]:
    """Open and check one pledge; the campaign check stops a server moving pledges between campaigns."""
    return open_pledge_plain(public_key, secret_key, ciphertext, campaign_id)[0]


def open_pledge_plain(
    public_key: bytes, secret_key: bytes, ciphertext: bytes, campaign_id: str
) -> tuple[dict[str, Any], bytes]:
    """`open_pledge`, and the exact plaintext bytes: two pledges sharing a nonce are one pledge
    only when these are identical (protocol 1.1, amendment 1)."""
    plaintext = open_bytes(public_key, secret_key, ciphertext)
    try:
        body = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # anyone can seal hostile JSON
        raise BadEnvelope("not a UTF-8 JSON object") from exc
    if not isinstance(body, dict) or not isinstance(body.get("answers"), dict):
        raise BadEnvelope("not a pledge object")
    if _SURROGATE_ESCAPE.search(plaintext) and not _is_unicode(body):
        raise BadEnvelope("text with an unpaired surrogate")
    if body.get("v") != 1:
        raise BadEnvelope("unknown pledge version")
    if body.get("campaign_id") != campaign_id:
        raise BadEnvelope("pledge belongs to another campaign")
    return body, plaintext
