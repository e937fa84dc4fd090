"""SQLite: a big campaign's table emptied or rebuilt in slices, so no pledge waits for all of it.

A campaign's rebuild (sqlite_rebuild.py) is one transaction, which holds SQLite's only
write lock for its clear and refill, with the campaign's rows in memory: 3.7 ms of lock at the
median for 1,000 pledges, and a writer waits at most 13 ms for one of 2,000
(bench/bench_rebuild_hold.py), but 3 s and 457 MiB for 100,000, while every campaign's pledges
wait (past 5 s they get 503). A table above SLICED_ABOVE rows is rebuilt here instead:

1. one short transaction makes the next table (`<table>__next`, no rows) and three triggers on
   the live table that keep it in step (a pledge that arrives, is withdrawn or re-encrypted
   meanwhile does the same there), and a TEMP list of the live table's ids in random order;
2. short transactions copy a slice each, in that order, sized to take about
   BATCH_TARGET_SECONDS and followed by a pause, as the purge's batches are;
3. one short transaction drops the triggers and swaps the names (two RENAMEs: about 40 ms each
   at 1,000 campaigns, each makes every connection re-read the schema once);
4. the old table, now `<table>__prev`, is emptied in short batches and dropped: secure_delete
   zeroes its pages.

What the single-transaction rebuild gives, this gives too: the new table is filled in a fresh
random order from the freelist, and nothing of the old one stays readable. What it adds: a
pledge withdrawn during the copy is deleted from the new table by its trigger, where the b-tree
may keep a copy of it, and a pledge that arrives during the copy goes in at its arrival; so the
campaign's marks are cleared only if no such thing happened (the withdrawal's mark changed, the
intake marked its arrival anew), and the next run (or the next day's layout) does it again.

A run cut off part-way leaves the next table and the triggers, or the old table: the next
rebuild, or the purge's drop of orphan tables, takes them away first (abandon()). Memory: the
ids (about 40 bytes each) and one slice, not the campaign.
"""

import time
from collections.abc import Callable

from server.db import database
from server.models import ServerState
from server.retention.pacing import Pace, pause_after
from server.store.partitions import (
    COLUMNS,
    PREFIX,
    create_sqlite_table,
    sqlite_table_exists,
)

SLICED_ABOVE = 2000  # rows: in one transaction, a writer waits at most 13 ms for it
NEXT, PREV = "__next", "__prev"  # suffixes of the tables being built and being emptied
_SYNC = ("insert", "update", "delete")
_COLUMNS = ", ".join(f'"{c}"' for c in COLUMNS)

# Emptying a table in short transactions: the batch adapts to take about BATCH_TARGET_SECONDS,
# and the purge run pauses after each (pacing.py), so the intake's writers wait at most about one
# batch for the lock and have it most of the time (bench/bench_purge.py).
BATCH_START, BATCH_MIN, BATCH_MAX = 200, 20, 5000
BATCH_TARGET_SECONDS = 0.01


def row_count(table: str) -> int:
    (count,) = database.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
    return int(count)


def empty_in_batches(table: str, pace: Pace | None,
                     renew: Callable[[], None] | None = None) -> int:
    """Delete a table's rows in short transactions; `renew` runs inside each (the purge's lease).
    Returns how many rows."""
    total, size = 0, BATCH_START
    while True:
        started = time.monotonic()
        with database.atomic():
            if renew is not None:
                renew()
            # Our table name (PREFIX + hex, and a suffix of ours); the batch size is a parameter.
            deleted = database.execute_sql(
                f'DELETE FROM "{table}" WHERE id IN (SELECT id FROM "{table}" LIMIT ?)',  # noqa: S608
                (size,)).rowcount
        took = time.monotonic() - started
        total += deleted
        if deleted < size:
            return total
        size = _next_size(size, took)
        pause_after(pace, took)


def _next_size(size: int, took: float) -> int:
    """Half-way towards the size that would have taken BATCH_TARGET_SECONDS."""
    wanted = int(size * BATCH_TARGET_SECONDS / max(took, 0.001))
    return max(BATCH_MIN, min(BATCH_MAX, (size + wanted) // 2))


def _drop_sync_triggers(table: str) -> None:
    for event in _SYNC:
        database.execute_sql(f'DROP TRIGGER IF EXISTS "{table}__sync_{event}"')


def abandon(table: str, pace: Pace | None = None,
            renew: Callable[[], None] | None = None) -> None:
    """Take away what a rebuild of `table` cut off part-way left: the triggers first (they name
    the next table, and every pledge into the live one would fail without it), then the next
    and old tables, emptied in batches and dropped (their pages zeroed)."""
    with database.atomic("IMMEDIATE"):
        _drop_sync_triggers(table)
    for leftover in (table + NEXT, table + PREV):
        if sqlite_table_exists(leftover):
            empty_in_batches(leftover, pace, renew)
            with database.atomic("IMMEDIATE"):
                database.execute_sql(f'DROP TABLE "{leftover}"')


def rebuild_in_slices(table: str, marks: tuple[str, str], pace: Pace | None,
                      renew: Callable[[], None] | None = None) -> None:
    """Rebuild `table` as the module comment says; `marks` are its (withdrawal, arrival) names
    in server_state; `renew` runs inside every transaction (the purge's lease: a run that lost
    it rolls back rather than race another)."""
    scrub_mark, arrival_mark = marks
    nxt, prev = table + NEXT, table + PREV
    order = "slices_" + table.removeprefix(PREFIX)
    abandon(table, pace, renew)
    with database.atomic("IMMEDIATE"):
        if not sqlite_table_exists(table):
            return
        seen = ServerState.get_or_none(ServerState.name == scrub_mark)
        create_sqlite_table(nxt)
        new_row = ", ".join(f'NEW."{c}"' for c in COLUMNS)
        for event in ("insert", "update"):  # our names and columns; no value is interpolated
            database.execute_sql(
                f'CREATE TRIGGER "{table}__sync_{event}" AFTER {event.upper()} ON "{table}" '  # noqa: S608
                f'BEGIN INSERT OR REPLACE INTO "{nxt}" ({_COLUMNS}) VALUES ({new_row}); END')
        database.execute_sql(
            f'CREATE TRIGGER "{table}__sync_delete" AFTER DELETE ON "{table}" '  # noqa: S608
            f'BEGIN DELETE FROM "{nxt}" WHERE id = OLD.id; END')
        # From here, a pledge that arrives marks the campaign again (partitions.mark_arrival).
        ServerState.delete().where(ServerState.name == arrival_mark).execute()
        database.execute_sql(f'CREATE TEMP TABLE "{order}" AS SELECT id FROM "{table}" '  # noqa: S608
                             "ORDER BY random()")
    try:
        (last,) = database.execute_sql(
            f'SELECT max(rowid) FROM temp."{order}"').fetchone()  # noqa: S608
        first, size = 1, BATCH_START
        while first <= (last or 0):
            began = time.monotonic()
            with database.atomic("IMMEDIATE"):
                if renew is not None:
                    renew()
                # Rows withdrawn since the list was made are no longer in the join; rows the
                # triggers already wrote (newer) are kept by OR IGNORE.
                database.execute_sql(
                    f'INSERT OR IGNORE INTO "{nxt}" ({_COLUMNS}) '  # noqa: S608
                    f'SELECT {", ".join(f"t.{c}" for c in COLUMNS)} FROM temp."{order}" o '
                    f'JOIN "{table}" t ON t.id = o.id WHERE o.rowid BETWEEN ? AND ? '
                    "ORDER BY o.rowid", (first, first + size - 1))
            took = time.monotonic() - began
            first += size
            size = _next_size(size, took)
            pause_after(pace, took)
        with database.atomic("IMMEDIATE"):
            if renew is not None:
                renew()
            _drop_sync_triggers(table)
            database.execute_sql(f'ALTER TABLE "{table}" RENAME TO "{prev}"')
            database.execute_sql(f'ALTER TABLE "{nxt}" RENAME TO "{table}"')
            # Cleared only if no withdrawal or re-encryption marked it during the copy.
            if seen is not None:
                ServerState.delete().where(ServerState.name == scrub_mark,
                                           ServerState.value == seen.value).execute()
    finally:
        database.execute_sql(f'DROP TABLE IF EXISTS temp."{order}"')
    empty_in_batches(prev, pace, renew)
    with database.atomic("IMMEDIATE"):
        database.execute_sql(f'DROP TABLE "{prev}"')
