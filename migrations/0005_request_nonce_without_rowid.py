"""0005: on SQLite, request nonces live in a WITHOUT ROWID table (issue 13, finding 8).

A rowid counts up with every insert, so the rowids of the nonce table told in which order the
organizers' requests of the last minutes arrived; keyed by their random hash only, rows carry no
order. PostgreSQL tables have no rowid; nothing changes there.
"""

from peewee import Database, SqliteDatabase


def _rebuild(db: Database, without_rowid: bool) -> None:
    option = " WITHOUT ROWID" if without_rowid else ""
    db.execute_sql('ALTER TABLE "request_nonce" RENAME TO "request_nonce_old"')
    db.execute_sql('DROP INDEX IF EXISTS "requestnonce_expires_at"')
    db.execute_sql('CREATE TABLE "request_nonce" ("nonce_hash" BLOB NOT NULL PRIMARY KEY, '
                   f'"expires_at" INTEGER NOT NULL){option}')
    db.execute_sql('INSERT INTO "request_nonce" SELECT "nonce_hash", "expires_at" FROM "request_nonce_old"')
    db.execute_sql('DROP TABLE "request_nonce_old"')
    db.execute_sql('CREATE INDEX "requestnonce_expires_at" ON "request_nonce" ("expires_at")')


def up(db: Database) -> None:
    if isinstance(db, SqliteDatabase):
        _rebuild(db, without_rowid=True)


def down(db: Database) -> None:
    if isinstance(db, SqliteDatabase):
        _rebuild(db, without_rowid=False)
