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
  table alone: its live rows copied, the table cleared page by page (zeroed), then refilled;
- pledges that arrived since a table's last rebuild (`arrived:<hash>`, set by the table's
  trigger) give away their arrival order in page numbers; the daily scrub rebuilds those tables;
- the small tables that held student data or coalition secrets are rewritten in place after a
  deletion in them (copied, cleared, refilled: no schema change; they are small, this is not
  the whole file).

A rebuild lays rows out in a fresh random order, not in id order: its pages come from the
freelist, whose order is the order in which a cleared table's pages were freed, and that table's
page numbers could hold its rows' arrival order; filled in id order, the new table would map that
order onto ids (tested: test_deletion_bytes.py). A TRUNCATE checkpoint then empties the WAL,
which still holds pages as they were.
"""

import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from peewee import DatabaseError, OperationalError

from server.db import database
from server.models import Campaign, ServerState
from server.retention import sqlite_slices as slices
from server.retention.pacing import Pace, pause_after
from server.store.partitions import (
    ARRIVED,
    COLUMNS,
    PREFIX,
    partition_name,
    sqlite_pledge_tables,
    sqlite_table_exists,
)

MARK = "scrub:"  # + the table's hash (as PostgreSQL's partitions; server/retention/postgres.py)
# Tables other than the pledges' whose deleted rows held student data or coalition secrets.
SCRUBBED = ("announcement", "tally", "campaign", "directory_entry", "wrapped_secret",
            "encryption_key", "organizer", "invite", "setup_code", "request_nonce")
# Copies of a campaign's rows made outside the write lock before one is made under it: each is
# lost only if a pledge commits during it (about 4 ms at 1,000 pledges), so at 50 pledges a
# second three are lost together about one time in 200.
SNAPSHOT_TRIES = 3


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


def checkpoint_passive() -> None:
    """Between a purge's batches: the purge pays for its own WAL, not the next pledge's commit."""
    database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")


def mark_table(campaign_id: str, token: str) -> None:
    """Inside the withdrawal's transaction: this campaign's table holds a deleted pledge."""
    name = MARK + partition_name(campaign_id).removeprefix(PREFIX)
    ServerState.insert(name=name, value=token, lease_until=0).on_conflict(
        conflict_target=[ServerState.name], update={ServerState.value: token}).execute()


def _marked(prefix: str) -> set[str]:
    """The pledge tables with a mark of this kind."""
    rows = ServerState.select(ServerState.name).where(ServerState.name.startswith(prefix)).tuples()
    return {PREFIX + name.removeprefix(prefix) for (name,) in rows}


def rebuild_pledge_table(table: str, renew: Callable[[], None] | None = None) -> None:
    """Rewrite one campaign's table from its live rows, in one transaction, and clear its marks.

    The rows go to a TEMP table in memory (temp_store=MEMORY: nothing in a temporary file outside
    the data folder) in a fresh random order; the table is emptied by a DELETE with no WHERE,
    which SQLite runs as a clear of its b-tree (the table has no delete trigger and no foreign
    key): every page is freed, and secure_delete zeroes each freed page and the root page it
    keeps; then the rows go back from the copy, onto the pages just freed. Most pages are written
    once, zeroed-then-refilled in the same transaction: the WAL gets about the campaign's size,
    and its checkpoint as much again. Memory: the campaign's rows, not the database's.

    The copy is made before the write lock is taken (_copy_then_refill), the commit's fsync and
    the copy's drop after it is given back (_commit_unsynced): the lock, which every arriving
    pledge needs, is held for the clear, the refill and the commit's write only (bench/README.md,
    "Deletion at scale, sixth pass").

    No CREATE or DROP of the table itself: every schema change makes every other connection
    re-parse the whole schema before its next statement (13 to 15 ms at 1,000 campaigns, each
    worker thread's connection), and a rebuild per campaign at each run and at the daily layout
    turned that into seconds of the intake's time (bench/README.md, "Deletion at scale")."""
    copy = "scrub_" + table.removeprefix(PREFIX)
    with _commit_unsynced():
        for attempt in range(SNAPSHOT_TRIES + 1):
            locked = attempt == SNAPSHOT_TRIES or database.in_transaction()
            try:
                with database.atomic("IMMEDIATE" if locked else "DEFERRED"):
                    _copy_then_refill(table, copy, renew)
            except OperationalError as exc:
                if locked or not _writer_refused(exc):
                    raise
                continue  # rolled back, the copy with it
            break
    # A write to the connection's TEMP database only: it takes no lock on the file.
    database.execute_sql(f'DROP TABLE IF EXISTS temp."{copy}"')


@contextmanager
def _commit_unsynced() -> Iterator[None]:
    """The rebuild commits without waiting for the disk, and then waits for it after the write
    lock is given back: synchronous=NORMAL for its commit, then an fsync of the WAL of our own.

    A rebuild need not survive a power cut the way a pledge must: lost, it leaves the table as
    it was and its marks standing (they are cleared in the same transaction), and the next run
    does it again. WAL frames are only valid up to the last commit whose checksums hold, so a
    cut never leaves half a rebuild; and a pledge that commits after it fsyncs the whole WAL,
    this rebuild's frames with it. Until our fsync returns, such a pledge's own fsync may write
    some of the rebuild's pages; it no longer waits for the lock while all of them are."""
    with _pragma("synchronous", "NORMAL"):
        yield
    (path,) = (row[2] for row in database.execute_sql("PRAGMA database_list") if row[1] == "main")
    wal = os.open(f"{path}-wal", os.O_RDONLY)
    try:
        os.fsync(wal)
    finally:
        os.close(wal)


def _copy_then_refill(table: str, copy: str, renew: Callable[[], None] | None) -> None:
    """Copy the table's rows, then clear and refill it, in the caller's transaction.

    In a DEFERRED transaction the copy reads a snapshot of the file and writes only to TEMP, so
    pledges go on arriving meanwhile; the first write to the file (the lease's renewal, or the
    clear) asks SQLite for the write lock, and SQLite refuses at once if anyone committed since
    the snapshot began (SQLITE_BUSY_SNAPSHOT: a pledge the copy missed would be lost by the
    clear) or holds the lock now (SQLITE_BUSY). The caller rolls back and tries again, and after
    SNAPSHOT_TRIES takes the lock first (IMMEDIATE), copying under it as before."""
    hashed, columns = table.removeprefix(PREFIX), ", ".join(f'"{c}"' for c in COLUMNS)
    exists = sqlite_table_exists(table)
    if exists:
        # Our names (PREFIX + hex); no value is interpolated.
        database.execute_sql(f'CREATE TEMP TABLE "{copy}" AS SELECT {columns} '  # noqa: S608
                             f'FROM "{table}" ORDER BY random()')
    if renew is not None:  # the purge run's lease: a run that lost it rolls this back
        renew()
    if exists:
        database.execute_sql(f'DELETE FROM "{table}"')  # noqa: S608
        database.execute_sql(f'INSERT INTO "{table}" ({columns}) '  # noqa: S608
                             f'SELECT {columns} FROM temp."{copy}" ORDER BY rowid')
    # After the refill, whose rows fired the table's arrival trigger.
    ServerState.delete().where(ServerState.name.in_([MARK + hashed, ARRIVED + hashed])).execute()


def _writer_refused(exc: OperationalError) -> bool:
    """SQLite would not make a reading transaction a writer (peewee keeps sqlite3's error)."""
    cause = getattr(exc, "orig", None)
    return getattr(cause, "sqlite_errorname", None) in ("SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT")


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
    with _temp_in_memory():
        _abandon_leftovers(renew)  # a cut-off sliced rebuild's triggers would fire below
        owed, wanted = _marked(MARK) | (_marked(ARRIVED) if arrivals else set()), _wanted()
        for table in sorted(owed - leave):
            # A deleted campaign's table is dropped, marks and all (drop_orphan_tables); a mark
            # whose table is gone already is cleared by _rebuild.
            if table in wanted or not sqlite_table_exists(table):
                _rebuild(table, pace, renew)


def _temp_in_memory() -> AbstractContextManager[None]:
    """The rebuilds' copies in memory (temp_store=MEMORY), never in a file under /var/tmp."""
    return _pragma("temp_store", "MEMORY")


@contextmanager
def _pragma(name: str, value: str) -> Iterator[None]:
    """This connection's setting `name` (one of ours, a number) at `value`, then put back."""
    (saved,) = database.execute_sql(f"PRAGMA {name}").fetchone()
    database.execute_sql(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA {name} = {int(saved)}")


def _wanted() -> set[str]:
    """The tables of the campaigns that exist."""
    return {partition_name(cid) for (cid,) in Campaign.select(Campaign.id).tuples()}


def _rebuild(table: str, pace: Pace | None, renew: Callable[[], None] | None) -> None:
    """A big campaign's table in slices (sqlite_slices.py), any other in one transaction."""
    if sqlite_table_exists(table) and slices.row_count(table) > slices.SLICED_ABOVE:
        hashed = table.removeprefix(PREFIX)
        slices.rebuild_in_slices(table, (MARK + hashed, ARRIVED + hashed), pace, renew)
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
            hashed = table.removeprefix(PREFIX)
            ServerState.delete().where(ServerState.name.in_([MARK + hashed, ARRIVED + hashed])).execute()
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
        with _temp_in_memory():
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
