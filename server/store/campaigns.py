"""Campaigns: only live ones are ever read (every query filters on live_until, the instant the
day after delete_after begins in the campaign's zone: server/zones.py)."""

from datetime import date
from typing import Any

from peewee import fn

from crypto import BadSignature
from crypto.encoding import b64u_encode
from crypto.ids import is_id
from crypto.revisions import revision_problem
from crypto.statements import campaign_message, verify_statement
from server.db import database, is_sqlite
from server.errors import BadRequest, Conflict, UnknownCampaign
from server.jsonbody import parse_json
from server.models import Announcement, Campaign, Coalition, EncryptionKey, Pledge, Tally
from server.store.descriptors import check_descriptor
from server.store.partitions import create_partition, pledge_table
from server.store.tallies import latest_tally
from server.zones import UTC_ZONE, end_of_day


def live_campaigns(now: float) -> Any:
    """The one place that decides what is expired: from the day after delete_after (in the
    campaign's zone), nothing. `now` is runtime.instant()."""
    return Campaign.select().where(Campaign.live_until > now)


def live_campaign(campaign_id: str, now: float) -> Campaign:
    if not is_id(campaign_id):
        raise UnknownCampaign()
    campaign = live_campaigns(now).where(Campaign.id == campaign_id).first()
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
        "tally": latest_tally(campaign.id),
    }


def create_campaign(coalition: Coalition, descriptor: bytes, signature: bytes, now: float,
                    max_retention_days: int) -> Campaign:
    """Store a signed descriptor as it came; refuse one this coalition's key did not sign."""
    try:
        verify_statement(bytes(coalition.signing_key), campaign_message(descriptor), signature)
    except BadSignature:
        raise BadRequest("The descriptor is not signed by this coalition's signing key.") from None
    d = check_descriptor(descriptor, coalition.id, now, max_retention_days)
    if Campaign.get_or_none(Campaign.id == d["campaign_id"]) is not None:
        raise Conflict("A campaign with this id already exists.")
    zone = d.get("time_zone", UTC_ZONE)
    closes, delete = date.fromisoformat(d["closes_at"]), date.fromisoformat(d["delete_after"])
    with database.atomic():
        campaign = Campaign.create(
            id=d["campaign_id"], coalition=coalition, descriptor=descriptor,
            descriptor_signature=signature, closes_at=closes, delete_after=delete, time_zone=zone,
            open_until=end_of_day(closes, zone), live_until=end_of_day(delete, zone))
        create_partition(campaign.id)  # the campaign's pledges' own partition (SQLite: table)
    return campaign


def revise_campaign(campaign: Campaign, descriptor: bytes, signature: bytes, now: float,
                    max_retention_days: int) -> Campaign:
    """Replace a live campaign's descriptor with a new version its coalition signed.

    crypto/revisions.py says what a version may change (text, dates, new options; never the
    meaning of a question or option); the dates pass the same checks as a new campaign's."""
    coalition = campaign.coalition
    try:
        verify_statement(bytes(coalition.signing_key), campaign_message(descriptor), signature)
    except BadSignature:
        raise BadRequest("The descriptor is not signed by this coalition's signing key.") from None
    d = check_descriptor(descriptor, coalition.id, now, max_retention_days)
    problem = revision_problem(parse_json(bytes(campaign.descriptor)), d)
    if problem is not None:
        raise Conflict(problem) if "revision" in problem else BadRequest(problem)
    zone = d.get("time_zone", UTC_ZONE)
    closes, delete = date.fromisoformat(d["closes_at"]), date.fromisoformat(d["delete_after"])
    with database.atomic():
        (Campaign.update(descriptor=descriptor, descriptor_signature=signature, closes_at=closes,
                         delete_after=delete, open_until=end_of_day(closes, zone),
                         live_until=end_of_day(delete, zone))
         .where(Campaign.id == campaign.id).execute())
    return Campaign.get_by_id(campaign.id)


def coalition_campaigns(coalition_id: str, now: float) -> list[dict[str, Any]]:
    """This coalition's live campaigns with their pledge counts. The count names the campaigns:
    it reads only theirs (on PostgreSQL, only their partitions), not every pledge on the server."""
    campaigns = list(live_campaigns(now).where(Campaign.coalition == coalition_id)
                     .order_by(Campaign.id))
    by_campaign: dict[str, int] = {}
    if campaigns and is_sqlite():  # each campaign's own table
        by_campaign = {c.id: int(database.execute_sql(
            f'SELECT count(*) FROM "{pledge_table(c.id)}"').fetchone()[0])  # noqa: S608
            for c in campaigns}
    elif campaigns:
        counts = (Pledge.select(Pledge.campaign, fn.COUNT(Pledge.id).alias("n"))
                  .where(Pledge.campaign.in_([c.id for c in campaigns])).group_by(Pledge.campaign))
        by_campaign = {row.campaign_id: row.n for row in counts}
    return [
        {"campaign_id": c.id, "descriptor": b64u_encode(bytes(c.descriptor)),
         "descriptor_signature": b64u_encode(bytes(c.descriptor_signature)),
         "closes_at": c.closes_at.isoformat(), "delete_after": c.delete_after.isoformat(),
         "pledge_count": by_campaign.get(c.id, 0)}
        for c in campaigns
    ]


def coalition_campaign(coalition_id: str, campaign_id: str, now: float) -> Campaign:
    """A live campaign of this coalition; another coalition's is answered as unknown."""
    campaign = live_campaign(campaign_id, now)
    if campaign.coalition_id != coalition_id:
        raise UnknownCampaign()
    return campaign


def wipe_campaign(campaign: Campaign) -> None:
    """Delete a campaign and everything tied to it, in one transaction. On SQLite its pledges
    are deleted (secure_delete zeroes them) and their table dropped (its pages, zeroed, go to
    the freelist) in that transaction; on PostgreSQL its pledges' partition is dropped by the
    scrub that follows (the wipe's reply waits for it)."""
    with database.atomic():
        if is_sqlite():
            table = pledge_table(campaign.id)
            database.execute_sql(f'DELETE FROM "{table}"')  # noqa: S608
            database.execute_sql(f'DROP TABLE "{table}"')
        Announcement.delete().where(Announcement.campaign == campaign.id).execute()
        Tally.delete().where(Tally.campaign == campaign.id).execute()
        Campaign.delete().where(Campaign.id == campaign.id).execute()
