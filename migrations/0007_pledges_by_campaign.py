"""0007: on PostgreSQL, each campaign's pledges in a partition of their own (issue 20).

`pledge` becomes a table partitioned by campaign_id (LIST), one partition per campaign
(server/store/partitions.py), so deleting a campaign drops its partition and a withdrawal's scrub
rewrites one campaign's partition, not every pledge. Rows are copied in (campaign, id) order, so
the new heap files keep no arrival order. The primary key becomes (id, campaign_id): a partitioned
table's unique keys must hold the partition column; ids stay the same 128-bit random values.
Partitions carry no foreign key to campaign: their life is tied to the campaign's by the purge,
which drops every partition whose campaign is gone (a foreign key would also make dropping a
partition lock `campaign`, which every pledge reads). SQLite keeps one table: nothing changes.

The number after 0005 is 0007 on purpose (0006 belongs to another change); the runner applies
whatever is pending in name order, so a 0006 that lands later is applied after this one, and both
only touch their own tables.
"""

from peewee import Database, PostgresqlDatabase

from server.store.partitions import create_partition

_COLUMNS = ('"id" VARCHAR(64) COLLATE "C" NOT NULL, "campaign_id" VARCHAR(64) NOT NULL, '
            '"key_version" INTEGER NOT NULL, "ciphertext" BYTEA NOT NULL, '
            '"withdraw_token_hash" BYTEA NOT NULL, "received_day" DATE NOT NULL')
_ALL = '"id", "campaign_id", "key_version", "ciphertext", "withdraw_token_hash", "received_day"'


def up(db: Database) -> None:
    if not isinstance(db, PostgresqlDatabase):
        return
    db.execute_sql('ALTER TABLE "pledge" RENAME TO "pledge_flat"')
    db.execute_sql('ALTER INDEX "pledge_pkey" RENAME TO "pledge_flat_pkey"')
    db.execute_sql(f'CREATE TABLE "pledge" ({_COLUMNS}, CONSTRAINT "pledge_pkey" '
                   'PRIMARY KEY ("id", "campaign_id")) PARTITION BY LIST ("campaign_id")')
    for (campaign_id,) in db.execute_sql('SELECT "id" FROM "campaign" ORDER BY "id"').fetchall():
        create_partition(campaign_id, db)
    db.execute_sql(f'INSERT INTO "pledge" ({_ALL}) SELECT {_ALL} FROM "pledge_flat" '
                   'ORDER BY "campaign_id", "id"')
    db.execute_sql('DROP TABLE "pledge_flat"')


def down(db: Database) -> None:
    if not isinstance(db, PostgresqlDatabase):
        return
    db.execute_sql(f'CREATE TABLE "pledge_flat" ({_COLUMNS}, CONSTRAINT "pledge_flat_pkey" '
                   'PRIMARY KEY ("id"), CONSTRAINT "pledge_flat_campaign_id_fkey" '
                   'FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE)')
    db.execute_sql(f'INSERT INTO "pledge_flat" ({_ALL}) SELECT {_ALL} FROM "pledge" p '
                   'WHERE EXISTS (SELECT 1 FROM "campaign" c WHERE c."id" = p."campaign_id") '
                   'ORDER BY "id"')
    db.execute_sql('DROP TABLE "pledge"')  # and every partition with it
    db.execute_sql('ALTER TABLE "pledge_flat" RENAME TO "pledge"')
    db.execute_sql('ALTER INDEX "pledge_flat_pkey" RENAME TO "pledge_pkey"')
    db.execute_sql('ALTER TABLE "pledge" RENAME CONSTRAINT "pledge_flat_campaign_id_fkey" '
                   'TO "pledge_campaign_id_fkey"')
    db.execute_sql('CREATE INDEX "pledge_campaign_id" ON "pledge" ("campaign_id")')
