"""SQLite's deletion path, all of it: why a deleted row can outlive its DELETE, and what clears it.

secure_delete (server/db.py) zeroes a deleted row where it lies, and zeroes a page whole when it is
freed, but rebalancing a b-tree copies rows between pages and leaves the old copies in the pages'
unallocated space, so a row moved before it was deleted can survive it in a page still in use.
Each campaign's pledges are a b-tree of their own (server/store/partitions.py), so those copies
can only be in their own campaign's pages, and what clears them costs that campaign only:

- a deleted campaign (expired, or wiped) has its rows deleted, then its table dropped: every page
  goes to the freelist, zeroed, nothing is rewritten (a purge run does this after its rebuilds:
  rebuild_owed says why);
- a withdrawal marks its campaign's table (`scrub:<hash>`) and the next purge run rebuilds that
  table alone (sqlite_rebuild.py): its live rows copied, the table cleared page by page
  (zeroed), then refilled;
- pledges that arrived since a table's last rebuild (`arrived:<hash>`, set by the intake)
  give away their arrival order in page numbers; the daily scrub rebuilds those tables;
- the small tables that held student data or coalition secrets are rewritten in place after a
  deletion in them (copied, cleared, refilled: no schema change; they are small, this is not
  the whole file).

A rebuild lays rows out in a fresh random order, not in id order: its pages come from the
freelist, whose order is the order in which a cleared table's pages were freed, and that table's
page numbers could hold its rows' arrival order; filled in id order, the new table would map that
order onto ids (tested: test_deletion_bytes.py). A TRUNCATE checkpoint then empties the WAL,
which still holds pages as they were.
"""

import time
from collections.abc import Callable

from peewee import DatabaseError

from server.db import database
from server.models import Campaign, ServerState
from server.retention import sqlite_slices as slices
from server.retention.pacing import Pace, pause_after
from server.retention.sqlite_rebuild import MARK, rebuild_pledge_table, table_marks, temp_in_memory
from server.store.partitions import (
    ARRIVED,
    PREFIX,
    partition_name,
    sqlite_pledge_tables,
    sqlite_table_exists,
)

# Tables other than the pledges' whose deleted rows held student data or coalition secrets.
SCRUBBED = ("announcement", "tally", "campaign", "directory_entry", "wrapped_secret",
            "encryption_key", "organizer", "invite", "setup_code", "request_nonce")


def checkpoint(patience_ms: int, attempts: int = 3) -> bool:
    """Copy the WAL into the database file and truncate the WAL to zero bytes.

    Only a reader still using older frames can hold it back (busy); TRUNCATE also stalls new
    writers while it waits, so it waits `patience_ms` per attempt and then leaves it to the
    next purge.

    A PASSIVE checkpoint first copies what it can while writers go on; TRUNCATE blocks new
    writers for all of its work (the copy and the database file's fsync), so it is left only the
    frames committed in between and the cut.
    """
    database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
    (saved,) = database.execute_sql("PRAGMA busy_timeout").fetchone()
    database.execute_sql(f"PRAGMA busy_timeout = {int(patience_ms)}")
    try:
        for attempt in range(attempts):
            busy, wal_frames, _ = database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy == 0 and wal_frames == 0:
                return True
            time.sleep(0.02 * (attempt + 1))
        return False
    finally:
        database.execute_sql(f"PRAGMA busy_timeout = {int(saved)}")


def mark_table(campaign_id: str, token: str) -> None:
    """Inside the withdrawal's transaction: this campaign's table holds a deleted pledge."""
    name, _ = table_marks(partition_name(campaign_id))
    ServerState.insert(name=name, value=token, lease_until=0).on_conflict(
        conflict_target=[ServerState.name], update={ServerState.value: token}).execute()


def _marked(prefix: str) -> set[str]:
    """The pledge tables with a mark of this kind."""
    rows = ServerState.select(ServerState.name).where(ServerState.name.startswith(prefix)).tuples()
    return {PREFIX + name.removeprefix(prefix) for (name,) in rows}


def rebuild_owed(arrivals: bool, pace: Pace | None = None,
                 renew: Callable[[], None] | None = None, leave: frozenset[str] = frozenset()
                 ) -> None:
    """Rebuild the tables a withdrawal marked and, with `arrivals`, those that took pledges since
    their last rebuild: of campaigns that stay (not in `leave`, the run's expired ones), and
    before anything else in the run frees pages.

    Why first: a rebuild zeroes and frees its table's pages, then refills the table, and SQLite
    takes the refill's pages from the freelist nearest the table's root, not necessarily its
    own. Run after a campaign's table was dropped, a refill lands on that table's free pages and
    leaves its own freed, zeroed: every page written twice, about 4x the campaign's size with
    the checkpoint instead of 2x (bench/README.md, "Deletion at scale, fourth pass"). With no
    other free page, the refill can only take its own pages back. A run that finds free pages
    left by an earlier one (no pledges since to use them) still pays the 4x."""
    with temp_in_memory():
        _abandon_leftovers(renew)  # a cut-off sliced rebuild's triggers would fire below
        owed, wanted = _marked(MARK) | (_marked(ARRIVED) if arrivals else set()), _wanted()
        for table in sorted(owed - leave):
            # A deleted campaign's table is dropped, marks and all (drop_orphan_tables); a mark
            # whose table is gone already is cleared by _rebuild.
            if table in wanted or not sqlite_table_exists(table):
                _rebuild(table, pace, renew)


def _wanted() -> set[str]:
    """The tables of the campaigns that exist."""
    return {partition_name(cid) for (cid,) in Campaign.select(Campaign.id).tuples()}


def _rebuild(table: str, pace: Pace | None, renew: Callable[[], None] | None) -> None:
    """A big campaign's table in slices (sqlite_slices.py), any other in one transaction."""
    if sqlite_table_exists(table) and slices.row_count(table) > slices.SLICED_ABOVE:
        slices.rebuild_in_slices(table, table_marks(table), pace, renew)
        return
    started = time.monotonic()
    rebuild_pledge_table(table, renew)
    pause_after(pace, time.monotonic() - started)


def drop_orphan_tables(renew: Callable[[], None] | None = None) -> int:
    """Drop the table of every campaign whose row is gone (expired and purged), rows first: a
    table that still holds rows (a purge cut off half-way) is emptied in short batches by the
    purge before this; here what is left goes in one statement. Then what a sliced rebuild cut
    off part-way left (sqlite_slices.abandon). Returns how many campaigns' tables."""
    _abandon_leftovers(renew)
    wanted = _wanted()
    dropped = 0
    for table in sqlite_pledge_tables():
        if table in wanted:
            continue
        with database.atomic("IMMEDIATE"):
            database.execute_sql(f'DELETE FROM "{table}"')  # noqa: S608
            database.execute_sql(f'DROP TABLE "{table}"')
            ServerState.delete().where(ServerState.name.in_(table_marks(table))).execute()
        dropped += 1
    return dropped


def _abandon_leftovers(renew: Callable[[], None] | None) -> None:
    """Take away what sliced rebuilds cut off part-way left (sqlite_slices.abandon)."""
    for base in sorted(_leftovers()):
        slices.abandon(base, renew=renew)


def _leftovers() -> set[str]:
    """The campaigns' tables whose sliced rebuild left a next or old table behind."""
    rows = database.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\'",
        (PREFIX.replace("_", "\\_") + "%\\_\\_%",)).fetchall()
    return {name.removesuffix(suffix) for (name,) in rows
            for suffix in (slices.NEXT, slices.PREV) if name.endswith(suffix)}


def rebuild_small_tables(tables: tuple[str, ...] = SCRUBBED) -> None:
    """Rewrite each of these tables from its live rows, in one transaction, with no change to the
    schema. They hold kilobytes to a few megabytes at a million pledges.

    Each table's rows go to a TEMP copy in memory in a fresh random order; a DELETE with no WHERE
    on a table with no triggers, foreign keys off, clears its b-trees page by page (secure_delete
    zeroes each freed page and the root pages it keeps), and the rows go back from the copy. No
    CREATE, DROP or RENAME: a rename makes SQLite re-parse every table and trigger of the schema
    (40 ms per table at 1,000 campaigns, holding the write lock), and any schema change makes
    every other connection re-read the schema before its next statement."""
    database.execute_sql("PRAGMA foreign_keys = OFF")  # the DELETE must not cascade to children
    try:
        with database.atomic("IMMEDIATE"):
            for table in tables:
                _rebuild_one(table)
            if database.execute_sql("PRAGMA foreign_key_check").fetchone() is not None:
                raise DatabaseError("a rebuilt table broke a foreign key")
    finally:
        database.execute_sql("PRAGMA foreign_keys = ON")


def _rebuild_one(table: str) -> None:
    if not sqlite_table_exists(table):
        return
    copy = "scrub_" + table
    # Our own table names (SCRUBBED); no value is interpolated.
    database.execute_sql(f'CREATE TEMP TABLE "{copy}" AS SELECT * FROM "{table}" '  # noqa: S608
                         "ORDER BY random()")
    database.execute_sql(f'DELETE FROM "{table}"')  # noqa: S608
    database.execute_sql(f'INSERT INTO "{table}" SELECT * FROM temp."{copy}" '  # noqa: S608
                         "ORDER BY rowid")
    database.execute_sql(f'DROP TABLE temp."{copy}"')


def scrub(patience_ms: int, tables: bool = True, arrivals: bool = False,
          pace: Pace | None = None, renew: Callable[[], None] | None = None,
          rebuild: bool = True) -> bool:
    """What a purge run (or an organizer's deletion) owes, each part costing what it touches:
    withdrawals' tables rebuilt, with `arrivals` the tables that took pledges since their last
    rebuild (both first, unless `rebuild` is False: a purge run rebuilds once, at its start,
    with rebuild_owed), deleted campaigns' tables dropped, with `tables` the small tables; then
    the WAL emptied. False: a lock held it back; the marks stay and the next run retries.

    Each table is its own transaction. With `pace` (the purge run) it then pauses (pacing.py),
    so pledges arriving meanwhile get the write lock between two tables rather than waiting
    behind many."""
    try:
        with temp_in_memory():
            if rebuild:
                rebuild_owed(arrivals, pace, renew)
            drop_orphan_tables(renew)
            if tables:
                rebuild_small_tables()
        return checkpoint(patience_ms)
    except DatabaseError:
        return False


def scrub_due() -> bool:
    """A withdrawal's table awaits its rebuild, a deleted campaign's table its drop, or a rebuild
    in slices cut off after its swap left the old table (deleted pledges' copies in it)."""
    if ServerState.select().where(ServerState.name.startswith(MARK)).exists() or _leftovers():
        return True
    wanted = _wanted()
    return any(table not in wanted for table in sqlite_pledge_tables())


def arrivals_due() -> bool:
    """A campaign took pledges since its table's last rebuild."""
    return bool(ServerState.select().where(ServerState.name.startswith(ARRIVED)).exists())
