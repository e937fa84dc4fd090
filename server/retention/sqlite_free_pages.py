"""SQLite: free pages handed back to the file system after a purge, not kept in the file.

Why it matters for the cost of deleting: a campaign's rebuild (sqlite.rebuild_pledge_table) zeroes
and frees its table's pages and refills the table, and SQLite takes the refill's pages from the
freelist, those nearest the table's root first, not necessarily its own. With other free pages in
the file (a dropped campaign's, from this run or any earlier one), the refill lands on them and
leaves the table's own pages free and zeroed: every page written twice, about 4x the campaign's
size with the checkpoint instead of 2x (bench/README.md, "Deletion at scale, fourth pass"). With
no free page before it starts, the refill can only take its own pages back.

So the file is laid out with auto_vacuum=INCREMENTAL (server/db.py sets it on a new file; a file
made before is converted once by lay_out(), at `pledgebox-server db upgrade` or a server's start),
and after a purge run has freed pages, release() moves as many pages from the end of the file into
the free ones, in short transactions, and the checkpoint truncates the file. The file then also
shrinks after campaigns are purged: its size no longer tells how many pledges it once held.

Moving a page copies it whole, and the end of the file it came from is cut off: nothing deleted is
copied (free pages were zeroed by secure_delete when they were freed).
"""

import logging
import time
from collections.abc import Callable

from peewee import Database, SqliteDatabase

from server.db import database

log = logging.getLogger("pledgebox.retention")

INCREMENTAL = 2  # PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental
# Pages moved per transaction: adapts to take about BATCH_TARGET_SECONDS, as the purge's batches.
MOVE_START, MOVE_MIN, MOVE_MAX = 100, 10, 5000
BATCH_TARGET_SECONDS = 0.01
# Each step of incremental_vacuum looks the page up along the freelist's chain, so a page costs
# more the longer the list: 17,000 free pages went back in 0.36 s, 170,000 (a million-pledge
# campaign dropped) in 24 s. A run spends at most this long at it; a big drop's pages go back
# over several runs, and the intake reuses them meanwhile.
BUDGET_SECONDS = 1.0


def incremental(db: Database | None = None) -> bool:
    (mode,) = (db or database).execute_sql("PRAGMA auto_vacuum").fetchone()
    return int(mode) == INCREMENTAL


def free_pages() -> int:
    (count,) = database.execute_sql("PRAGMA freelist_count").fetchone()
    return int(count)


def release(pause_factor: float = 0.0, renew: Callable[[], None] | None = None,
            budget_seconds: float = BUDGET_SECONDS) -> int:
    """Empty the freelist: pages from the end of the file moved into the free ones, in
    transactions of about BATCH_TARGET_SECONDS each followed by a pause `pause_factor` times as
    long; `renew` (the purge's lease) inside each; at most `budget_seconds` of such transactions
    in one call (the rest at the next run). The file shrinks at the next checkpoint. Returns how
    many pages were given back; 0 on a file not laid out for it (lay_out)."""
    if not incremental() or free_pages() == 0:  # most runs: no write lock taken
        return 0
    given, size, spent = 0, MOVE_START, 0.0
    while spent < budget_seconds:
        started = time.monotonic()
        with database.atomic("IMMEDIATE"):
            if renew is not None:
                renew()
            free = free_pages()
            # Python's sqlite3 steps a statement that returns no columns once, and each step of
            # incremental_vacuum moves one page: one call per page (about 5 µs each).
            for _ in range(min(size, free)):
                database.execute_sql("PRAGMA incremental_vacuum(1)")
        given += min(size, free)
        if free <= size:
            return given
        took = time.monotonic() - started
        spent += took
        wanted = int(size * BATCH_TARGET_SECONDS / max(took, 0.001))
        size = max(MOVE_MIN, min(MOVE_MAX, (size + wanted) // 2))
        time.sleep(took * pause_factor)
    return given


# A server's start lays out a file up to this size by itself; a bigger one waits for the operator
# (`pledgebox-server db upgrade`), as the copy is held in memory: 1.4 GiB and 15 s for a million
# pledges (a 1.2 GiB file) on the 2-core test VM.
AUTO_LAY_OUT_MAX_BYTES = 256 * 2**20


def lay_out(db: Database, max_bytes: int | None = None) -> bool:
    """Convert a file made before auto_vacuum=INCREMENTAL, once: the setting takes effect only
    through a VACUUM, which rewrites the whole file (its copy built in memory: temp_store=MEMORY,
    nothing under /var/tmp; about the live data's size) under the write lock. Run where nothing
    else writes: `pledgebox-server db upgrade`, or a server's start before it serves, for a file
    of at most `max_bytes`. Returns whether it converted. A database on another engine, or laid
    out already, is left alone; a file above `max_bytes` too, with a warning in the log."""
    if not isinstance(db, SqliteDatabase) or incremental(db):
        return False
    (pages,) = db.execute_sql("PRAGMA page_count").fetchone()
    (page_size,) = db.execute_sql("PRAGMA page_size").fetchone()
    if max_bytes is not None and int(pages) * int(page_size) > max_bytes:
        log.warning("the database file predates incremental vacuum and is %d MiB: stop the "
                    "server and run `pledgebox-server db upgrade` to lay it out (once; memory "
                    "about the file's size)", int(pages) * int(page_size) // 2**20)
        return False
    (temp_store,) = db.execute_sql("PRAGMA temp_store").fetchone()
    started = time.monotonic()
    db.execute_sql(f"PRAGMA auto_vacuum = {INCREMENTAL}")
    db.execute_sql("PRAGMA temp_store = MEMORY")
    try:
        db.execute_sql("VACUUM")
    finally:
        db.execute_sql(f"PRAGMA temp_store = {int(temp_store)}")
    busy, _, _ = db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        log.warning("the write-ahead log is held by a reader; the next purge empties it")
    log.info("database file laid out for incremental vacuum in %.1f s", time.monotonic() - started)
    return True
