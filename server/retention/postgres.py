"""PostgreSQL's deletion path, all of it: dead tuples keep their bytes until a table is rewritten.

Plain VACUUM marks dead tuples free but leaves their bytes in the heap pages, so a table that held
deleted rows is rewritten with VACUUM FULL (the old files are unlinked). Pledges are partitioned
by campaign (server/store/partitions.py), so:

- a deleted campaign (expired or wiped) loses its partition: detached without stopping the
  intake, then dropped, its files unlinked at once, whatever its size;
- a withdrawal marks its campaign's partition (`scrub:<partition hash>` in server_state, a random
  value, as the dead tuple itself already tells until then) and the next purge run rewrites that
  partition alone; only that campaign's arriving pledges wait for it, other campaigns' never do;
- the small tables that held student data or coalition secrets are rewritten after a deletion.

What stays in the WAL and in backups is the operator's to handle (docs/deletion.md).
"""

import re

from peewee import DatabaseError

from server.db import database
from server.models import Campaign, ServerState
from server.store.partitions import PREFIX, partition_name

_LOCK_TIMEOUT = "3s"  # a queued VACUUM FULL would block the intake: give up, retry next purge
# Tables other than the pledges' whose deleted rows held student data or coalition secrets.
SCRUBBED = ("announcement", "tally", "campaign", "directory_entry", "wrapped_secret",
            "encryption_key", "organizer", "invite", "setup_code", "request_nonce")
_MARK = "scrub:"  # + the partition's hash: 6 + 24 characters fit server_state's 32


def mark_partition(campaign_id: str, token: str) -> None:
    """Inside the withdrawal's transaction: this campaign's partition holds a dead pledge."""
    name = _MARK + partition_name(campaign_id).removeprefix(PREFIX)
    ServerState.insert(name=name, value=token, lease_until=0).on_conflict(
        conflict_target=[ServerState.name], update={ServerState.value: token}).execute()


def _partitions() -> dict[str, bool]:
    """Every pledge partition in this schema, attached or left detached: name → detach pending."""
    rows = database.execute_sql(
        "SELECT c.relname, COALESCE(i.inhdetachpending, false) FROM pg_class c "
        "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid "
        "WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace "
        "AND c.relname LIKE %s", (PREFIX.replace("_", "\\_") + "%",)).fetchall()
    return {str(name): bool(pending) for name, pending in rows}


def drop_orphan_partitions() -> int:
    """Drop the partition of every campaign whose row is gone (expired and purged, or wiped).

    Detached CONCURRENTLY first (SHARE UPDATE EXCLUSIVE on `pledge`: arriving pledges go on),
    then dropped: a plain DROP of a partition would lock all of `pledge`. A detach interrupted
    half-way is finished (FINALIZE); a table left detached is dropped. Returns how many."""
    wanted = {partition_name(cid) for (cid,) in Campaign.select(Campaign.id).tuples()}
    dropped = 0
    for name, pending in sorted(_partitions().items()):
        if name in wanted:
            continue
        attached = database.execute_sql(
            "SELECT 1 FROM pg_inherits WHERE inhrelid = %s::regclass", (name,)).fetchone()
        if pending:
            database.execute_sql(f'ALTER TABLE "pledge" DETACH PARTITION "{name}" FINALIZE')
        elif attached:
            database.execute_sql(f'ALTER TABLE "pledge" DETACH PARTITION "{name}" CONCURRENTLY')
        database.execute_sql(f'DROP TABLE IF EXISTS "{name}"')
        dropped += 1
    return dropped


_KEPT = re.compile(r"(\d+) dead row versions cannot be removed yet")


def rewrite(table: str) -> bool:
    """VACUUM FULL one table; False when it had to copy deleted rows into the new file.

    A deleted row that a transaction still running in this database could see (its snapshot is
    older than the delete: any open transaction, on any table) is "recently dead", and VACUUM
    FULL copies it along (the million-pledge bench found 10 of 100 withdrawn pledges kept that
    way). VERBOSE says how many; the caller keeps the scrub due and the next run tries again."""
    notices = database.connection().notices
    del notices[:]
    database.execute_sql(f'VACUUM (FULL, VERBOSE) "{table}"')
    return all(int(kept) == 0 for kept in _KEPT.findall("".join(notices)))


def _scrub_marked_partitions() -> bool:
    """Rewrite each partition a withdrawal marked; clear a mark only if it is the one we saw
    and the rewrite left no deleted row behind."""
    marks = ServerState.select(ServerState.name, ServerState.value).where(
        ServerState.name.startswith(_MARK)).tuples()
    existing, clean = _partitions(), True
    for mark, seen in list(marks):
        name = PREFIX + mark.removeprefix(_MARK)
        if name in existing and not rewrite(name):
            clean = False
            continue
        ServerState.delete().where(ServerState.name == mark, ServerState.value == seen).execute()
    return clean


def scrub(tables: tuple[str, ...] = SCRUBBED) -> bool:
    """Deleted pledges' partitions dropped, withdrawals' partitions rewritten, then the small
    tables rewritten (the old files are unlinked). False: a lock held it back; retried next run."""
    try:
        database.execute_sql(f"SET lock_timeout = '{_LOCK_TIMEOUT}'")
        drop_orphan_partitions()
        clean = _scrub_marked_partitions()
        for table in tables:
            clean = rewrite(table) and clean
        return clean
    except DatabaseError:
        return False
    finally:
        database.execute_sql("RESET lock_timeout")


def partition_scrub_due() -> bool:
    """A withdrawal's partition awaits its rewrite, or a deleted campaign's its drop."""
    if ServerState.select().where(ServerState.name.startswith(_MARK)).exists():
        return True
    wanted = {partition_name(cid) for (cid,) in Campaign.select(Campaign.id).tuples()}
    return any(name not in wanted for name in _partitions())
