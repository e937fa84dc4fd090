"""Pledge ids that let the server find a pledge's campaign without a table that names it.

A withdrawal's receipt holds only the pledge id and its token (protocol: `POST
/api/v1/pledges/{pledge_id}/withdraw`), but each campaign's pledges are stored apart
(docs/deletion.md). Probing every live campaign's storage for one id costs a withdrawal as much
as a thousand index reads and starves the intake. So the server draws a pledge id as 16 random
bytes (the protocol's 128 random bits) followed by a 2-byte tag: a keyed BLAKE2b of those bytes
and the campaign id under a key only the server holds. To find the campaign it recomputes the
tag for each live campaign (about a microsecond each) and reads only those whose tag matches:
one, or rarely two.

The id is 18 bytes, 24 base64url characters (ids may be 1 to 64), random to anyone without the key:
two receipts of one campaign share nothing visible, and the tag says nothing of arrival order.
With the key (a seized server) the tag names the campaign, which the stored row names anyway.
"""

import hashlib

from crypto import _primitives as p
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import BadEncoding
from crypto.ids import ID_BYTES

TAG_BYTES = 2
ID_CHARS = (ID_BYTES + TAG_BYTES) * 4 // 3  # 24: a multiple of 3 bytes, so no spare bits
KEY_BYTES = 32
_LABEL = b"pledgebox/v1/pledge-id-tag\x00"


def _tag_state(key: bytes, body: bytes) -> "hashlib.blake2b":
    """The tag's hash after the label and the id's random part: shared by every campaign tried."""
    return p.blake2b_after(_LABEL + body, TAG_BYTES, key=key)


def _continue(state: "hashlib.blake2b", campaign_id: str) -> bytes:
    h = state.copy()
    h.update(campaign_id.encode())
    return h.digest()


def _tag(key: bytes, body: bytes, campaign_id: str) -> bytes:
    return _continue(_tag_state(key, body), campaign_id)


def new_pledge_id(key: bytes, campaign_id: str) -> str:
    """A fresh pledge id for this campaign; never starts with '-' (see crypto.ids.new_id)."""
    while True:
        body = p.random_bytes(ID_BYTES)
        candidate = b64u_encode(body + _tag(key, body, campaign_id))
        if not candidate.startswith("-"):
            return candidate


def _split(pledge_id: str) -> tuple[bytes, bytes] | None:
    """(random part, tag) of an id this server could have drawn, or None (another shape)."""
    if len(pledge_id) != ID_CHARS:
        return None
    try:
        raw = b64u_decode(pledge_id)
    except BadEncoding:
        return None
    return raw[:ID_BYTES], raw[ID_BYTES:]


def tag_matches(key: bytes, pledge_id: str, campaign_id: str) -> bool:
    """Whether the id carries this campaign's tag (a 1 in 65,536 chance for another campaign)."""
    parts = _split(pledge_id)
    return parts is not None and p.equal(parts[1], _tag(key, parts[0], campaign_id))


def campaigns_to_read(key: bytes, pledge_id: str, campaign_ids: list[str]) -> list[str]:
    """Of these campaigns (whose pledges all carry tags), the ones to read for this id: those
    whose tag it carries, or else one fixed by the id, so that an id that exists and one that
    does not cost the same reads (the answer's time must not tell which; an id of another shape
    is read the same way). Empty only when there is no campaign."""
    if not campaign_ids:
        return []
    parts = _split(pledge_id)
    if parts is not None:
        body, tag = parts
        shared = _tag_state(key, body)  # hashed once for all campaigns: a third the cost
        found = [cid for cid in campaign_ids if p.equal(tag, _continue(shared, cid))]
        if found:
            return found
    pick = p.blake2b(_LABEL + b"decoy\x00" + pledge_id.encode(), 8, key=key)
    return [campaign_ids[int.from_bytes(pick, "big") % len(campaign_ids)]]
