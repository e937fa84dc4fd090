"""Where a campaign's pledges live: storage of their own, on both backends (issue 20).

PostgreSQL: `pledge` is partitioned by campaign (LIST on campaign_id), one partition per campaign.
SQLite: one WITHOUT ROWID table per campaign and no `pledge` table at all (migration 0009). In one
SQLite file this is the only layout where a b-tree rebalancing cannot copy one campaign's rows
into another campaign's pages: each table is its own b-tree, so a deleted pledge's stale copies
can only be in its own campaign's pages, and rewriting that one table (or dropping it) clears
them. On both, the storage is named from a hash of the campaign id, made inside the transaction
that stores the campaign, and a deleted campaign's storage is dropped whole; a withdrawal's scrub
rewrites its campaign's storage only (docs/deletion.md).

PostgreSQL: the partition is made empty and then attached: `CREATE TABLE … PARTITION OF` would
take an exclusive lock on `pledge` and stop every campaign's intake while it waits, ATTACH takes
only SHARE UPDATE EXCLUSIVE, which pledges arriving do not conflict with.

SQLite: the intake marks, in server_state and in the pledge's transaction, that its campaign took a
pledge since its table's last rewrite (`arrived:<hash>`, INSERT OR IGNORE: mark_arrival), so the
daily scrub rewrites only the campaigns that took pledges (arrival order, docs/deletion.md). Until
migration 0010 a trigger on each table wrote the mark; it also fired for each of the thousand rows
a rebuild puts back, which held the write lock, that every pledge waits for, 2.4 ms longer at
1,000 pledges (half the refill's time).
"""

import re

from peewee import Database, DatabaseProxy

from crypto import _primitives as primitives
from server.db import database, is_postgres, is_sqlite

PREFIX = "pledge_c"
ARRIVED = "arrived:"  # + the table's hash: 8 + 24 characters, server_state's 32
_TABLE = re.compile(re.escape(PREFIX) + "[0-9a-f]{24}")  # partition_name's shape
COLUMNS = ("id", "campaign_id", "key_version", "ciphertext", "withdraw_token_hash", "received_day")

# The flat table's columns and key as migration 0001 made them (rows move between them byte for
# byte); no foreign key: a campaign's table is dropped by the purge once its campaign row is gone.
SQLITE_COLUMNS = ('"id" VARCHAR(64) NOT NULL PRIMARY KEY, "campaign_id" VARCHAR(64) NOT NULL, '
                   '"key_version" INTEGER NOT NULL, "ciphertext" BLOB NOT NULL, '
                   '"withdraw_token_hash" BLOB NOT NULL, "received_day" DATE NOT NULL')


def _db(db: Database | DatabaseProxy) -> Database:
    return db.obj if isinstance(db, DatabaseProxy) else db


def partition_name(campaign_id: str) -> str:
    """A name from the id alone (ids are up to 64 characters; names at most 63 bytes)."""
    return PREFIX + primitives.blake2b(campaign_id.encode(), 12).hex()


def pledge_table(campaign_id: str, db: Database | DatabaseProxy = database) -> str:
    """The table a campaign's pledges are read from and written to: on SQLite its own table, on
    PostgreSQL `pledge` (which prunes to the campaign's partition)."""
    return partition_name(campaign_id) if is_sqlite(_db(db)) else "pledge"


def sqlite_table_sql(name: str) -> str:
    """The statement that makes an empty pledge table named `name` (no trigger)."""
    return f'CREATE TABLE "{name}" ({SQLITE_COLUMNS}) WITHOUT ROWID'


def arrival_mark(table: str) -> str:
    """server_state's name for "`table` took pledges since its last rebuild"."""
    return ARRIVED + table.removeprefix(PREFIX)


# Plain `?` parameters: the intake (peewee's SQLite) and the benches' seeding (sqlite3) share it.
MARK_ARRIVAL_SQL = ("INSERT OR IGNORE INTO server_state (name, value, lease_until) "
                    "VALUES (?, '', 0)")


def mark_arrival(table: str) -> None:
    """In the transaction that stored a pledge in `table`: the daily layout owes it a rebuild."""
    database.execute_sql(MARK_ARRIVAL_SQL, (arrival_mark(table),))


def create_sqlite_table(name: str, db: Database | DatabaseProxy = database) -> None:
    """An empty pledge table named `name`."""
    db.execute_sql(sqlite_table_sql(name))


def create_partition(campaign_id: str, db: Database | DatabaseProxy = database) -> None:
    """Make the campaign's partition (PostgreSQL) or table (SQLite). Call it inside the
    transaction that stores the campaign, so a campaign never exists without the place for
    its pledges."""
    name = partition_name(campaign_id)
    if is_sqlite(_db(db)):
        create_sqlite_table(name, db)
        return
    if not is_postgres(_db(db)):
        return
    db.execute_sql(f'CREATE TABLE "{name}" (LIKE "pledge" INCLUDING DEFAULTS)')
    db.execute_sql(f'ALTER TABLE "pledge" ATTACH PARTITION "{name}" FOR VALUES IN (%s)',
                   (campaign_id,))


def sqlite_table_exists(name: str) -> bool:
    """A table of this name in the SQLite file (not TEMP): one indexed read of the schema, where
    peewee's table_exists lists every table (two thousand at 1,000 campaigns)."""
    return database.execute_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                (name,)).fetchone() is not None


def sqlite_pledge_tables(db: Database | DatabaseProxy = database) -> list[str]:
    """Every campaign's pledge table in this SQLite file, by name (not the next or old table of a
    rebuild in slices, server/retention/sqlite_slices.py: they hold copies of the same pledges)."""
    rows = db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? "
                          "ESCAPE '\\' ORDER BY name", (PREFIX.replace("_", "\\_") + "%",))
    return [str(name) for (name,) in rows.fetchall() if _TABLE.fullmatch(name)]


def every_pledge(db: Database | DatabaseProxy = database) -> str:
    """A FROM item holding every stored pledge (for counts, checks, benches and tests): on SQLite
    the union of the campaigns' tables, on PostgreSQL the partitioned `pledge`."""
    if not is_sqlite(_db(db)) or db.table_exists("pledge"):  # SQLite before migration 0009
        return '"pledge"'
    return union_of(sqlite_pledge_tables(db))


def union_of(tables: list[str]) -> str:
    """SQLite: a FROM item that reads these pledge tables as one (any connection's names)."""
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    if not tables:
        return f"(SELECT {', '.join('NULL AS ' + c for c in COLUMNS)} WHERE 0)"
    # Table names are ours (PREFIX + hex). A compound SELECT has at most 500 terms in SQLite:
    # groups of _GROUP tables, each group a subquery.
    groups = [" UNION ALL ".join(f'SELECT {columns} FROM "{t}"'  # noqa: S608
                                 for t in tables[i:i + _GROUP])
              for i in range(0, len(tables), _GROUP)]
    return "(" + " UNION ALL ".join(f"SELECT * FROM ({g})" for g in groups) + ")"  # noqa: S608


_GROUP = 400
