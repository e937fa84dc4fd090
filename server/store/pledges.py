"""Where a pledge goes: accepted as ciphertext, listed for organizers, withdrawn by receipt."""

from datetime import date
from typing import Any

from crypto import _primitives as primitives
from crypto.encoding import b64u_encode
from crypto.envelope import ciphertext_length_ok
from server.db import database
from server.errors import BadCiphertextLength, CampaignClosed, StaleKey, UnknownPledge
from server.models import Campaign, Pledge
from server.store.campaigns import current_key, key_json, live_campaign
from server.store.ids import new_id

TOKEN_BYTES = 32
_DUMMY_HASH = bytes(32)


def accept_pledge(campaign_id: str, key_version: int, ciphertext: bytes,
                  withdraw_token_hash: bytes, today: date) -> str:
    """Store one sealed pledge and return its id once committed (synchronous=FULL on SQLite)."""
    if not ciphertext_length_ok(len(ciphertext)):
        raise BadCiphertextLength()
    campaign = live_campaign(campaign_id, today)
    if today > campaign.closes_at:
        raise CampaignClosed()
    key = current_key(campaign.coalition_id)
    if key_version != key.version:
        raise StaleKey(encryption_key=key_json(key))
    pledge_id = new_id()
    with database.atomic():
        Pledge.insert(id=pledge_id, campaign=campaign_id, key_version=key_version,
                      ciphertext=ciphertext, withdraw_token_hash=withdraw_token_hash,
                      received_day=today).execute()
    return pledge_id


def withdraw_pledge(pledge_id: str, token: bytes, today: date) -> None:
    """Delete for good. Unknown pledge and wrong token take the same path and give the same error."""
    presented = primitives.blake2b(token, 32)
    row = (Pledge.select(Pledge.id, Pledge.withdraw_token_hash)
           .join(Campaign).where(Pledge.id == pledge_id, Campaign.delete_after >= today)
           .first())
    stored = bytes(row.withdraw_token_hash) if row is not None else _DUMMY_HASH
    if not primitives.equal(presented, stored) or row is None:
        raise UnknownPledge()
    with database.atomic():
        Pledge.delete().where(Pledge.id == pledge_id).execute()


def pledge_page(campaign_id: str, after: str, limit: int, today: date) -> dict[str, Any]:
    """One page of a campaign's pledges in id order (random, so it reveals no arrival order)."""
    live_campaign(campaign_id, today)
    rows = list(Pledge.select(Pledge.id, Pledge.received_day, Pledge.key_version, Pledge.ciphertext)
                .where(Pledge.campaign == campaign_id, Pledge.id > after)
                .order_by(Pledge.id).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "pledges": [{"pledge_id": r.id, "received_day": r.received_day.isoformat(),
                     "key_version": r.key_version, "ciphertext": b64u_encode(bytes(r.ciphertext))}
                    for r in rows],
        "next": rows[-1].id if more else None,
    }

