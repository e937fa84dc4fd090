"""0008: pledge ids carry their campaign's tag (crypto/pledge_ids.py), so a withdrawal reads one
campaign's pledges instead of every live campaign's (issue 20: the lookup starved the intake).

Campaigns that exist now hold pledges whose ids carry no tag: `tagged_ids` is false for them and
a withdrawal keeps reading them whatever the id, until they are deleted on their day. The key
the tags are made under is drawn here (and by the server if a database lacks it), kept in
`server_state`. Down removes both; tagged ids stay valid ids, found by the older full search.
"""

from peewee import Database, SqliteDatabase

from server.store.pledge_tags import KEY_STATE, draw_key_row


def up(db: Database) -> None:
    kind = "INTEGER" if isinstance(db, SqliteDatabase) else "BOOLEAN"  # as peewee makes it
    db.execute_sql(f'ALTER TABLE "campaign" ADD COLUMN "tagged_ids" {kind} NOT NULL DEFAULT FALSE')
    draw_key_row(db)


def down(db: Database) -> None:
    db.execute_sql('ALTER TABLE "campaign" DROP COLUMN "tagged_ids"')
    db.execute_sql(f'DELETE FROM "server_state" WHERE "name" = {db.param}', (KEY_STATE,))
