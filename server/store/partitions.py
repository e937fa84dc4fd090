"""Where a campaign's pledges live on PostgreSQL: a partition of `pledge` of their own.

`pledge` is partitioned by campaign (LIST on campaign_id), one partition per campaign, named from
a hash of the campaign id. Deleting a campaign is then dropping its partition (its files are
unlinked at once, nothing is rewritten), and the scrub after a withdrawal rewrites only that
campaign's partition; the other campaigns' intake never waits for either (docs/deletion.md).
SQLite keeps one table (server/retention/sqlite.py says why and what that costs).

The partition is made empty and then attached: `CREATE TABLE … PARTITION OF` would take an
exclusive lock on `pledge` and stop every campaign's intake while it waits, ATTACH takes only
SHARE UPDATE EXCLUSIVE, which pledges arriving do not conflict with.
"""

from peewee import Database, DatabaseProxy

from crypto import _primitives as primitives
from server.db import database, is_postgres

PREFIX = "pledge_c"


def partition_name(campaign_id: str) -> str:
    """A name from the id alone (ids are up to 64 characters; names at most 63 bytes)."""
    return PREFIX + primitives.blake2b(campaign_id.encode(), 12).hex()


def create_partition(campaign_id: str, db: Database | DatabaseProxy = database) -> None:
    """Make the campaign's partition (PostgreSQL only). Call it inside the transaction that
    stores the campaign, so a campaign never exists without the place for its pledges."""
    if not is_postgres(db.obj if isinstance(db, DatabaseProxy) else db):
        return
    name = partition_name(campaign_id)
    db.execute_sql(f'CREATE TABLE "{name}" (LIKE "pledge" INCLUDING DEFAULTS)')
    db.execute_sql(f'ALTER TABLE "pledge" ATTACH PARTITION "{name}" FOR VALUES IN (%s)',
                   (campaign_id,))
