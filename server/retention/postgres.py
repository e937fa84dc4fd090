"""PostgreSQL's deletion path, all of it: dead tuples keep their bytes until a table is rewritten.

Plain VACUUM marks dead tuples free but leaves their bytes in the heap pages, so tables that held
deleted rows are rewritten with VACUUM FULL (the old files are unlinked). What stays in the WAL
and in backups is the operator's to handle (docs/deletion.md).
"""

from peewee import DatabaseError

from server.db import database

_LOCK_TIMEOUT = "3s"  # a queued VACUUM FULL would block the intake: give up, retry next purge
# Tables whose deleted rows held student data or coalition secrets.
SCRUBBED = ("pledge", "announcement", "tally", "campaign", "directory_entry", "wrapped_secret",
            "encryption_key", "organizer", "invite", "setup_code", "request_nonce")


def scrub(tables: tuple[str, ...] = SCRUBBED) -> bool:
    """Rewrite tables so dead tuples' bytes leave the heap files (the old files are unlinked)."""
    try:
        database.execute_sql(f"SET lock_timeout = '{_LOCK_TIMEOUT}'")
        for table in tables:
            database.execute_sql(f"VACUUM FULL {table}")
        return True
    except DatabaseError:
        return False
    finally:
        database.execute_sql("RESET lock_timeout")
