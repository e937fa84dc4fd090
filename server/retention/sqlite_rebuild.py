"""SQLite: one campaign's table rebuilt, holding the write lock only while it writes.

A rebuild (why, and when: sqlite.py) copies the table's live rows in a fresh random order, clears
the table (secure_delete zeroes every page it frees) and refills it from the copy, in one
transaction. Every arriving pledge needs the same write lock, so the copy is made before the
lock is taken and the commit's fsync after it is given back (bench/README.md, "Deletion at
scale, sixth pass"); a big campaign's table is rebuilt in slices instead (sqlite_slices.py).
"""

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from peewee import OperationalError

from server.db import database
from server.models import ServerState
from server.store.partitions import COLUMNS, PREFIX, arrival_mark, sqlite_table_exists

MARK = "scrub:"  # + the table's hash (as PostgreSQL's partitions; server/retention/postgres.py)
# Copies of a campaign's rows made outside the write lock before one is made under it: each is
# lost only if a pledge commits during it (about 4 ms at 1,000 pledges), so at 50 pledges a
# second three are lost together about one time in 200.
SNAPSHOT_TRIES = 3


def table_marks(table: str) -> tuple[str, str]:
    """server_state's two names for `table`: a withdrawal's mark (rebuild it) and the intake's
    (it took pledges since its last rebuild). A rebuild or a drop clears both."""
    return MARK + table.removeprefix(PREFIX), arrival_mark(table)


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
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
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
    ServerState.delete().where(ServerState.name.in_(table_marks(table))).execute()


def _writer_refused(exc: OperationalError) -> bool:
    """SQLite would not make a reading transaction a writer (peewee keeps sqlite3's error)."""
    cause = getattr(exc, "orig", None)
    return getattr(cause, "sqlite_errorname", None) in ("SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT")


def temp_in_memory() -> AbstractContextManager[None]:
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
