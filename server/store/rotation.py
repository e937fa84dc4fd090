"""Key rotation: publish version n+1 in one step, re-encrypt by compare-and-swap, prune old secrets.

The server never holds a secret key, so re-encryption is the organizer tool's work; the server's
part is to make it safe to interrupt. Each batch is one statement in one transaction, and each
row is replaced only if it still has the key version the tool opened (pledge_id, old version):
a batch re-sent after a crash, or racing a withdrawal, changes nothing it should not.
"""

from typing import Any

from crypto.encoding import b64u_encode
from crypto.envelope import ciphertext_length_ok
from server.db import database, is_sqlite
from server.errors import BadCiphertextLength, BadRequest, Conflict, StaleKey
from server.models import Campaign, Coalition, DirectoryEntry, EncryptionKey, Organizer, Pledge, WrappedSecret
from server.retention import mark_scrub_due
from server.store.campaigns import coalition_campaign, current_key, key_json
from server.store.coalitions import SignedKey, Wrapped, check_signed_key, store_wrapped
from server.store.members import lock_coalition
from server.store.partitions import pledge_table

MAX_BATCH = 2000

Resealed = tuple[str, int, bytes]  # (pledge_id or fingerprint, version it was sealed to, new ciphertext)


def publish_key(coalition: Coalition, key: SignedKey, wrapped: list[tuple[str | None, Wrapped]]) -> int:
    """Make `key` the current version, wrapped to exactly the coalition's active organizers.

    All or nothing: if anyone was approved or removed since the tool listed the organizers, the
    key is refused (409) rather than published with someone left out or someone extra.
    """
    check_signed_key(coalition.id, bytes(coalition.signing_key), key)
    lock_coalition(coalition.id)
    current = current_key(coalition.id).version
    if key.version != current + 1:
        raise Conflict(f"The current encryption key is version {current}; the next one is {current + 1}.")
    active = {o.id: o for o in Organizer.select().where(
        Organizer.coalition == coalition.id, Organizer.status == "active")}
    covered: set[str] = set()
    for organizer_id, w in wrapped:
        if w.kind != "encryption" or w.version != key.version:
            raise BadRequest("A rotation wraps the new encryption key and nothing else.")
        if organizer_id is None or organizer_id not in active or organizer_id in covered:
            raise Conflict("The coalition's organizers changed while you rotated; run it again.")
        covered.add(organizer_id)
    if covered != set(active):
        raise Conflict("The coalition's organizers changed while you rotated; run it again.")
    EncryptionKey.create(coalition=coalition.id, version=key.version, public_key=key.public_key,
                         not_after=key.not_after, signature=key.signature)
    for organizer_id, w in wrapped:
        store_wrapped(active[organizer_id], [w])
    return key.version


def _live_campaign_ids(coalition_id: str, now: float) -> Any:
    return Campaign.select(Campaign.id).where(Campaign.coalition == coalition_id,
                                              Campaign.live_until > now)


def stale_pledges(coalition_id: str, campaign_id: str, after: str, limit: int, now: float
                  ) -> dict[str, Any]:
    """One page of a campaign's pledges still sealed to an older key, in id order."""
    coalition_campaign(coalition_id, campaign_id, now)
    version = current_key(coalition_id).version
    q = database.param  # the table name is ours (partitions.pledge_table); values are parameters
    rows = database.execute_sql(  # raw rows: no per-row model machinery
        f'SELECT id, key_version, ciphertext FROM "{pledge_table(campaign_id)}" '  # noqa: S608
        f"WHERE campaign_id = {q} AND key_version < {q} AND id > {q} ORDER BY id LIMIT {q}",
        (campaign_id, version, after, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"version": version,
            "pledges": [{"pledge_id": pid, "key_version": v, "ciphertext": b64u_encode(bytes(ct))}
                        for pid, v, ct in rows],
            "next": rows[-1][0] if more else None}


def _check_batch(items: list[Resealed], to_version: int, what: str) -> None:
    if len(items) > MAX_BATCH:
        raise BadRequest(f"Send at most {MAX_BATCH} re-encrypted items per request.")
    if len({key for key, _, _ in items}) != len(items):
        raise BadRequest(f"A batch names the same {what} twice.")
    for _, version, ciphertext in items:
        if version >= to_version:
            raise BadRequest("'from_version' must be older than 'to_version'.")
        if not ciphertext_length_ok(len(ciphertext)):
            raise BadCiphertextLength()


def _swap_pledges(coalition_id: str, to_version: int, pledges: list[Resealed], now: float) -> int:
    """One UPDATE … FROM (VALUES …) statement for the whole batch (SQLite >= 3.33, PostgreSQL).

    Written out rather than built with peewee's query objects, which cost more per row than the
    database does: the batch is the hot path of re-encrypting a large coalition.
    """
    # The coalition's live campaigns by name, not by a subquery: on PostgreSQL only their
    # partitions are then planned, opened and locked, not every campaign's on the server.
    live = [cid for (cid,) in _live_campaign_ids(coalition_id, now).tuples()]
    if not live:
        return 0
    mark = database.param
    values = ", ".join([f"({mark}, {mark}, {mark})"] * len(pledges))
    batch: list[Any] = []
    for item in pledges:
        batch.extend(item)
    # SQLite: each live campaign's own table in turn (the batch names pledges, not campaigns);
    # PostgreSQL: one statement over their partitions.
    groups = [[cid] for cid in live] if is_sqlite() else [live]
    changed: list[str] = []
    with database.atomic():
        for group in groups:
            table = pledge_table(group[0])
            campaigns = ", ".join([mark] * len(group))
            # Only placeholders and our table name are interpolated; values are parameters.
            sql = (f'UPDATE "{table}" SET key_version = {mark}, ciphertext = v.column3 '  # noqa: S608
                   f"FROM (VALUES {values}) AS v "
                   f'WHERE "{table}".id = v.column1 AND "{table}".key_version = v.column2 '
                   f'AND length("{table}".ciphertext) = length(v.column3) '
                   f'AND "{table}".campaign_id IN ({campaigns}) RETURNING "{table}".campaign_id')
            changed += [str(cid) for (cid,) in
                        database.execute_sql(sql, [to_version, *batch, *group]).fetchall()]
        # The old ciphertexts' bytes can outlive the UPDATE (a dead tuple on PostgreSQL, a copy a
        # rebalancing left on SQLite): each campaign changed is rewritten at the next scrub, at
        # the latest the one the prune runs before it answers (docs/coalitions.md).
        for campaign_id in sorted(set(changed)):
            mark_scrub_due(campaign_id)
    return len(changed)


def reencrypt(coalition_id: str, to_version: int, pledges: list[Resealed], cards: list[Resealed],
              now: float) -> dict[str, int]:
    """Swap in re-sealed ciphertexts where (id, old version) still match; report how many did."""
    key = current_key(coalition_id)
    if to_version != key.version:
        raise StaleKey(encryption_key=key_json(key))
    _check_batch(pledges, to_version, "pledge")
    _check_batch(cards, to_version, "directory card")
    updated = _swap_pledges(coalition_id, to_version, pledges, now) if pledges else 0
    by_fingerprint = {o.fingerprint: o.id for o in Organizer.select(Organizer.id, Organizer.fingerprint)
                      .where(Organizer.coalition == coalition_id, Organizer.status == "active")}
    for fp, version, ciphertext in cards:
        if fp in by_fingerprint:
            updated += (DirectoryEntry.update(key_version=to_version, ciphertext=ciphertext)
                        .where(DirectoryEntry.organizer == by_fingerprint[fp],
                               DirectoryEntry.key_version == version).execute())
    return {"updated": updated, "skipped": len(pledges) + len(cards) - updated}


def versions_in_use(coalition_id: str, now: float) -> set[int]:
    """The current version and every version a live pledge or a directory card is sealed to."""
    used = {current_key(coalition_id).version}
    live = [cid for (cid,) in _live_campaign_ids(coalition_id, now).tuples()]
    if live and is_sqlite():  # each campaign's own table
        for cid in live:
            used |= {int(v) for (v,) in database.execute_sql(
                f'SELECT DISTINCT key_version FROM "{pledge_table(cid)}"').fetchall()}  # noqa: S608
    elif live:  # named: on PostgreSQL only these campaigns' partitions are read
        used |= {v for (v,) in Pledge.select(Pledge.key_version).distinct()
                 .where(Pledge.campaign.in_(live)).tuples()}
    used |= {v for (v,) in DirectoryEntry.select(DirectoryEntry.key_version).distinct()
             .join(Organizer).where(Organizer.coalition == coalition_id).tuples()}
    return used


def prune(coalition_id: str, now: float) -> dict[str, Any]:
    """Delete every organizer's wrapped copy of encryption keys nothing live is sealed to."""
    lock_coalition(coalition_id)
    used = versions_in_use(coalition_id, now)
    members = Organizer.select(Organizer.id).where(Organizer.coalition == coalition_id)
    stale = WrappedSecret.select(WrappedSecret.version).distinct().where(
        WrappedSecret.organizer.in_(members), WrappedSecret.kind == "encryption",
        WrappedSecret.version.not_in(list(used)))
    deleted = sorted(v for (v,) in stale.tuples())
    if deleted:
        WrappedSecret.delete().where(
            WrappedSecret.organizer.in_(members), WrappedSecret.kind == "encryption",
            WrappedSecret.version.in_(deleted)).execute()
    return {"current": current_key(coalition_id).version, "in_use": sorted(used),
            "deleted": deleted}
