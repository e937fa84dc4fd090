"""0009: on SQLite, each campaign's pledges in a table of their own (issue 20).

The flat `pledge` table becomes one WITHOUT ROWID table per campaign (server/store/partitions.py:
same columns and key, no foreign key, an arrival trigger), so deleting a campaign drops its table
and a withdrawal's scrub rewrites one campaign's table, never the whole file. Rows are copied
byte for byte, each campaign's in id order; `pledge` is then dropped (secure_delete zeroes its
pages). Pledges of a campaign that no longer exists cannot be there (the flat table's foreign
key cascades). Down puts every row back into the flat table with its key, foreign key and index.
PostgreSQL is untouched (0007 partitioned it already).
"""

from peewee import Database, SqliteDatabase

from server.store.partitions import (
    ARRIVED,
    COLUMNS,
    PREFIX,
    create_sqlite_table,
    partition_name,
    sqlite_pledge_tables,
)

_ALL = ", ".join(f'"{c}"' for c in COLUMNS)
_FLAT = ('CREATE TABLE "pledge" ("id" VARCHAR(64) NOT NULL PRIMARY KEY, '
         '"campaign_id" VARCHAR(64) NOT NULL, "key_version" INTEGER NOT NULL, '
         '"ciphertext" BLOB NOT NULL, "withdraw_token_hash" BLOB NOT NULL, '
         '"received_day" DATE NOT NULL, FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") '
         'ON DELETE CASCADE) WITHOUT ROWID')


def arrival_trigger_sql(table: str) -> str:
    """The trigger this migration put on each table: the first pledge after a rebuild marks the
    table for the day's layout (`arrived:<hash>`). 0010 takes it away, and its down puts it back."""
    mark = ARRIVED + table.removeprefix(PREFIX)
    return (f'CREATE TRIGGER "{table}_arrived" AFTER INSERT ON "{table}" BEGIN '
            f"INSERT OR IGNORE INTO server_state (name, value, lease_until) "
            f"VALUES ('{mark}', '', 0); END")


def up(db: Database) -> None:
    if not isinstance(db, SqliteDatabase):
        return
    for (campaign_id,) in db.execute_sql('SELECT "id" FROM "campaign" ORDER BY "id"').fetchall():
        name = partition_name(campaign_id)
        create_sqlite_table(name, db)
        db.execute_sql(f'INSERT INTO "{name}" ({_ALL}) SELECT {_ALL} FROM "pledge" '
                       'WHERE "campaign_id" = ? ORDER BY "id"', (campaign_id,))
        db.execute_sql(arrival_trigger_sql(name))
    db.execute_sql('DROP TABLE "pledge"')
    # The old scrub's "pledges at the last rewrite": counting every pledge is no longer done.
    db.execute_sql("DELETE FROM \"server_state\" WHERE \"name\" = 'pledges-at-scrub'")


def down(db: Database) -> None:
    if not isinstance(db, SqliteDatabase):
        return
    db.execute_sql(_FLAT)
    db.execute_sql('CREATE INDEX "pledge_campaign_id" ON "pledge" ("campaign_id")')
    for name in sqlite_pledge_tables(db):
        db.execute_sql(f'INSERT INTO "pledge" ({_ALL}) SELECT {_ALL} FROM "{name}" p '
                       'WHERE EXISTS (SELECT 1 FROM "campaign" c WHERE c."id" = p."campaign_id") '
                       'ORDER BY "id"')
        db.execute_sql(f'DROP TABLE "{name}"')
    # What a big campaign's rebuild in slices cut off part-way left (server/retention/
    # sqlite_slices.py): copies of pledges merged above, and the triggers that fed them.
    leftovers = db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name "
                               "LIKE 'pledge\\_c%' ESCAPE '\\'").fetchall()
    for (name,) in leftovers:
        db.execute_sql(f'DELETE FROM "{name}"')
        db.execute_sql(f'DROP TABLE "{name}"')
