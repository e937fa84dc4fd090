"""SQLite's deletion path, all of it: why a deleted row can outlive its DELETE, and what clears it.

secure_delete (server/db.py) zeroes a deleted row where it lies, but rebalancing a b-tree copies
rows between pages and leaves the old copies in the pages' unallocated space, so a row moved
before it was deleted can survive it; VACUUM writes the file afresh from live rows, and a
TRUNCATE checkpoint empties the WAL, which still holds pages as they were before the delete.
"""

import time

from peewee import DatabaseError

from server.db import database


def checkpoint(patience_ms: int, attempts: int = 3) -> bool:
    """Copy the WAL into the database file and truncate the WAL to zero bytes.

    Only a reader still using older frames can hold it back (busy); TRUNCATE also stalls new
    writers while it waits, so it waits `patience_ms` per attempt and then leaves it to the
    next purge.
    """
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


def scrub(patience_ms: int) -> bool:
    """Rewrite the database file from live rows only, then empty the WAL.

    VACUUM builds the new file in memory (temp_store), not in a temporary file that would leave
    a copy of every live pledge in freed disk blocks outside the data folder; the price is a peak
    of memory about the size of the live data (docs/deletion.md).
    """
    (temp_store,) = database.execute_sql("PRAGMA temp_store").fetchone()
    try:
        database.execute_sql("PRAGMA temp_store = MEMORY")
        database.execute_sql("VACUUM")
        return checkpoint(patience_ms)
    except DatabaseError:
        return False
    finally:
        database.execute_sql(f"PRAGMA temp_store = {int(temp_store)}")
