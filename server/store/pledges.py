"""Where a pledge goes: accepted as ciphertext, listed for organizers, withdrawn by receipt."""

from datetime import date
from typing import Any

from peewee import DatabaseError

from crypto import _primitives as primitives
from crypto.encoding import b64u_encode
from crypto.envelope import ciphertext_length_ok
from crypto.ids import is_id
from crypto.pledge_ids import new_pledge_id
from crypto.pledge_page import encode_page
from server.db import database, is_sqlite, write_promptly
from server.errors import (
    BadCiphertextLength,
    CampaignClosed,
    StaleKey,
    Unavailable,
    UnknownCampaign,
    UnknownPledge,
)
from server.models import Campaign, EncryptionKey
from server.retention import mark_scrub_due
from server.store.campaigns import current_key, key_json, live_campaign
from server.store.partitions import mark_arrival, partition_name, pledge_table
from server.store.pledge_tags import campaigns_holding, tag_key

TOKEN_BYTES = 32
_DUMMY_HASH = bytes(32)


def _conditional_insert_sql(table: str) -> str:
    """INSERT … SELECT that stores the pledge only if its campaign is live and open and
    `key_version` is the coalition's current key: the checks and the write are one statement.
    `table` is the campaign's pledge table (partitions.pledge_table)."""
    c, k = Campaign._meta.table_name, EncryptionKey._meta.table_name
    q = database.param  # table names are ours (models, partition_name); values are parameters
    return (f'INSERT INTO "{table}" (id, campaign_id, key_version, ciphertext, withdraw_token_hash, '  # noqa: S608
            f"received_day) SELECT {q}, c.id, {q}, {q}, {q}, {q} FROM {c} c "
            f"WHERE c.id = {q} AND c.live_until > {q} AND c.open_until > {q} "
            f"AND {q} = (SELECT max(k.version) FROM {k} k WHERE k.coalition_id = c.coalition_id)")


def _missing_table(exc: DatabaseError) -> bool:
    """SQLite: the campaign has no pledge table (no such campaign, or wiped or purged just now)."""
    return is_sqlite() and "no such table" in str(exc)


def accept_pledge(campaign_id: str, key_version: int, ciphertext: bytes,
                  withdraw_token_hash: bytes, today: date, now: float) -> str:
    """Store one sealed pledge and return its id once committed (synchronous=FULL on SQLite).

    The intake's hot path is one statement in one transaction instead of three queries built
    by peewee per request (campaign, current key, insert): measured in bench/bench_intake.py,
    query building was most of the gap to a bare insert. Nothing is cached, so closing,
    expiry, wiping and key rotation take effect at once; the checks also become atomic with
    the write (a rotation between check and insert can no longer slip a stale pledge in).
    Only when nothing was stored do we look again, to say why. `today` is the UTC day stored
    with the pledge; `now` (runtime.instant) is compared with the campaign's zone days. On SQLite
    a stored pledge also marks its table for the day's layout, one primary-key upsert in the
    same transaction (partitions.mark_arrival says why not a trigger).
    """
    if not ciphertext_length_ok(len(ciphertext)):
        raise BadCiphertextLength()
    if not is_id(campaign_id):
        raise UnknownCampaign()
    pledge_id = new_pledge_id(tag_key(), campaign_id)  # its campaign's tag: a cheap withdrawal
    # SQLite keeps dates as ISO text; PostgreSQL needs a typed date in an INSERT … SELECT list.
    day: date | str = today.isoformat() if is_sqlite() else today

    table = pledge_table(campaign_id)

    def insert() -> int:
        with database.atomic():
            stored = int(database.execute_sql(_conditional_insert_sql(table), (
                pledge_id, key_version, ciphertext, withdraw_token_hash, day,
                campaign_id, now, now, key_version)).rowcount)
            if stored == 1 and is_sqlite():
                mark_arrival(table)  # the day's layout owes this table a rebuild
            return stored

    try:
        stored = write_promptly(insert)
    except DatabaseError as exc:
        if not _missing_table(exc):
            raise
        stored = 0  # no table: no such campaign (now); _refuse says which
    if stored == 1:
        return pledge_id
    _refuse(campaign_id, key_version, now)
    raise Unavailable()  # the refusal's cause vanished in between (a race): the client retries


def _refuse(campaign_id: str, key_version: int, now: float) -> None:
    """Raise the protocol error that explains why the conditional insert stored nothing."""
    campaign = live_campaign(campaign_id, now)
    if now >= campaign.open_until:
        raise CampaignClosed()
    key = current_key(campaign.coalition_id)
    if key_version != key.version:
        raise StaleKey(encryption_key=key_json(key))


def withdraw_pledge(pledge_id: str, token: bytes, now: float) -> None:
    """Delete for good. Unknown pledge and wrong token take the same path and give the same error.

    An expired campaign's pledge counts as unknown (it is never served, nor acted on, again).
    The delete repeats the hash check, so a pledge withdrawn or purged in between is reported
    as unknown rather than as deleted by this request. The scrub that takes its bytes out of
    the files is marked due in the same transaction (server/retention/scrub.py).
    """
    presented = primitives.blake2b(token, 32)
    row = _live_pledge(pledge_id, now) if is_id(pledge_id) else None
    stored = row[2] if row is not None else _DUMMY_HASH
    if not primitives.equal(presented, stored) or row is None:
        raise UnknownPledge()
    campaign_id = row[1]
    q = database.param

    def delete() -> int:
        with database.atomic():
            deleted = int(database.execute_sql(
                f'DELETE FROM "{pledge_table(campaign_id)}" WHERE campaign_id = {q} '  # noqa: S608
                f"AND id = {q} AND withdraw_token_hash = {q}",
                (campaign_id, pledge_id, stored)).rowcount)
            if deleted == 1:
                mark_scrub_due(campaign_id)
            return deleted

    try:
        deleted = write_promptly(delete)
    except DatabaseError as exc:
        if not _missing_table(exc):
            raise
        deleted = 0  # its campaign was wiped or purged in between
    if deleted != 1:
        raise UnknownPledge()


# PostgreSQL: partitions a withdrawal's lookup reads per statement. A query on `pledge` that names
# no campaign opens, and locks, every partition and its index at once. Tagged ids narrow the read
# to one partition (crypto/pledge_ids.py), but campaigns from before tags are read whatever the id;
# each statement reads at most _PROBE partitions by name (UNION ALL of one index probe each:
# planned in half the time of `campaign_id IN (…)`), so it locks at most 2 * _PROBE relations.
_PROBE = 100


def _live_pledge(pledge_id: str, now: float) -> tuple[str, str, bytes] | None:
    """The live pledge with this id as (id, campaign id, token hash), or None.

    The receipt names no campaign. The partitions (PostgreSQL) or tables (SQLite) read are those
    of server/store/pledge_tags.campaigns_holding: as many for an id that exists as for one that
    does not, so the answer's time does not tell whether an id exists without its token. A
    campaign wiped meanwhile (its partition or table dropped) makes the lookup start over once,
    then answer 503 (the page retries)."""
    for attempt in range(2):
        try:
            return _probe_partitions(campaigns_holding(pledge_id, now), pledge_id)
        except DatabaseError:
            if attempt == 1:
                raise Unavailable() from None
    return None


def _probe_partitions(campaign_ids: list[str], pledge_id: str) -> tuple[str, str, bytes] | None:
    found = None
    q = database.param
    for start in range(0, len(campaign_ids), _PROBE):
        # Table names come from partition_name (hex); the id travels as a parameter.
        sql = " UNION ALL ".join(
            f'SELECT id, campaign_id, withdraw_token_hash FROM "{partition_name(cid)}" '  # noqa: S608
            f"WHERE id = {q}" for cid in campaign_ids[start:start + _PROBE])
        batch = campaign_ids[start:start + _PROBE]
        row = database.execute_sql(sql, [pledge_id] * len(batch)).fetchone()
        if row is not None:
            found = (str(row[0]), str(row[1]), bytes(row[2]))
    return found


def pledge_rows(campaign_id: str, after: str, limit: int, now: float
                ) -> tuple[list[tuple[str, str, int, bytes]], str | None]:
    """One page of a campaign's pledges in id order (random, so it reveals no arrival order),
    as (pledge_id, received_day, key_version, ciphertext) rows and the id to ask for next.

    Read with one plain statement: peewee's per-row model building and field conversion were
    half of the server's CPU for a roster (bench/bench_roster.py), and a page has up to
    PAGE_MAX rows. The campaign is checked live first, as every read does.
    """
    live_campaign(campaign_id, now)
    q = database.param  # the table name comes from our model; every value is a bound parameter
    rows = database.execute_sql(
        f'SELECT id, received_day, key_version, ciphertext FROM "{pledge_table(campaign_id)}" '  # noqa: S608
        f"WHERE campaign_id = {q} AND id > {q} ORDER BY id LIMIT {q}",
        (campaign_id, after, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return ([(pid, _day(day), version, bytes(ciphertext)) for pid, day, version, ciphertext in rows],
            rows[-1][0] if more else None)


def pledge_page(campaign_id: str, after: str, limit: int, now: float) -> dict[str, Any]:
    """The page as protocol JSON, ciphertexts in base64url."""
    rows, next_id = pledge_rows(campaign_id, after, limit, now)
    return {"pledges": [{"pledge_id": pid, "received_day": day, "key_version": version,
                         "ciphertext": b64u_encode(ciphertext)}
                        for pid, day, version, ciphertext in rows],
            "next": next_id}


def pledge_page_binary(campaign_id: str, after: str, limit: int, now: float) -> bytes:
    """The same page in the binary form of crypto/pledge_page.py, ciphertexts as they are."""
    return encode_page(*pledge_rows(campaign_id, after, limit, now))


def _day(value: date | str) -> str:
    """A DateField read through .tuples(): a date on PostgreSQL, already ISO text on SQLite."""
    return value if isinstance(value, str) else value.isoformat()

