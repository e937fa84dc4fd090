"""Campaigns: only live ones are ever read (every query filters on delete_after)."""

from datetime import date
from typing import Any

from peewee import fn

from crypto import BadSignature
from crypto.encoding import b64u_encode
from crypto.ids import is_id
from crypto.statements import campaign_message, verify_statement
from server.db import database
from server.errors import BadRequest, Conflict, UnknownCampaign
from server.models import Announcement, Campaign, Coalition, EncryptionKey, Pledge
from server.store.descriptors import check_descriptor


def live_campaigns(today: date) -> Any:
    """The one place that decides what is expired: from the day after delete_after, nothing."""
    return Campaign.select().where(Campaign.delete_after >= today)


def live_campaign(campaign_id: str, today: date) -> Campaign:
    if not is_id(campaign_id):
        raise UnknownCampaign()
    campaign = live_campaigns(today).where(Campaign.id == campaign_id).first()
    if campaign is None:
        raise UnknownCampaign()
    return campaign


def current_key(coalition_id: str) -> EncryptionKey:
    return (EncryptionKey.select().where(EncryptionKey.coalition == coalition_id)
            .order_by(EncryptionKey.version.desc()).get())


def key_json(key: EncryptionKey) -> dict[str, Any]:
    return {"version": key.version, "not_after": key.not_after,
            "public_key": b64u_encode(bytes(key.public_key)),
            "signature": b64u_encode(bytes(key.signature))}


def public_view(campaign: Campaign) -> dict[str, Any]:
    coalition: Coalition = campaign.coalition
    return {
        "campaign_id": campaign.id,
        "coalition_id": coalition.id,
        "coalition_name": coalition.name,
        "signing_key": b64u_encode(bytes(coalition.signing_key)),
        "descriptor": b64u_encode(bytes(campaign.descriptor)),
        "descriptor_signature": b64u_encode(bytes(campaign.descriptor_signature)),
        "encryption_key": key_json(current_key(coalition.id)),
    }


def create_campaign(coalition: Coalition, descriptor: bytes, signature: bytes, today: date,
                    max_retention_days: int) -> Campaign:
    """Store a signed descriptor as it came; refuse one this coalition's key did not sign."""
    try:
        verify_statement(bytes(coalition.signing_key), campaign_message(descriptor), signature)
    except BadSignature:
        raise BadRequest("The descriptor is not signed by this coalition's signing key.") from None
    d = check_descriptor(descriptor, coalition.id, today, max_retention_days)
    if Campaign.get_or_none(Campaign.id == d["campaign_id"]) is not None:
        raise Conflict("A campaign with this id already exists.")
    return Campaign.create(
        id=d["campaign_id"], coalition=coalition, descriptor=descriptor,
        descriptor_signature=signature, closes_at=date.fromisoformat(d["closes_at"]),
        delete_after=date.fromisoformat(d["delete_after"]))


def coalition_campaigns(coalition_id: str, today: date) -> list[dict[str, Any]]:
    counts = (Pledge.select(Pledge.campaign, fn.COUNT(Pledge.id).alias("n"))
              .group_by(Pledge.campaign))
    by_campaign = {row.campaign_id: row.n for row in counts}
    return [
        {"campaign_id": c.id, "descriptor": b64u_encode(bytes(c.descriptor)),
         "descriptor_signature": b64u_encode(bytes(c.descriptor_signature)),
         "closes_at": c.closes_at.isoformat(), "delete_after": c.delete_after.isoformat(),
         "pledge_count": by_campaign.get(c.id, 0)}
        for c in live_campaigns(today).where(Campaign.coalition == coalition_id).order_by(Campaign.id)
    ]


def coalition_campaign(coalition_id: str, campaign_id: str, today: date) -> Campaign:
    """A live campaign of this coalition; another coalition's is answered as unknown."""
    campaign = live_campaign(campaign_id, today)
    if campaign.coalition_id != coalition_id:
        raise UnknownCampaign()
    return campaign


def wipe_campaign(campaign: Campaign) -> None:
    """Delete a campaign and everything tied to it, in one transaction."""
    with database.atomic():
        Pledge.delete().where(Pledge.campaign == campaign.id).execute()
        Announcement.delete().where(Announcement.campaign == campaign.id).execute()
        Campaign.delete().where(Campaign.id == campaign.id).execute()
