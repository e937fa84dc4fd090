"""0004: on PostgreSQL, pledge ids sort byte by byte (COLLATE "C"), as they do on SQLite.

Pages of a roster come in id order, and the organizer's tool refuses a page whose ids do not strictly
increase in byte order (a server that loops or repeats its pages is stopped, issue 13). A database
created with a language collation (en_US.UTF-8 sorts "a" before "B" and skips "-" and "_") would
page in another order; the column's own collation makes the order the protocol's on any database.
"""

from peewee import Database, PostgresqlDatabase


def up(db: Database) -> None:
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql('ALTER TABLE "pledge" ALTER COLUMN "id" TYPE VARCHAR(64) COLLATE "C"')


def down(db: Database) -> None:
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql('ALTER TABLE "pledge" ALTER COLUMN "id" TYPE VARCHAR(64) COLLATE "default"')
