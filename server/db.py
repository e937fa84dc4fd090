"""The database handle: SQLite (WAL, durable, secure_delete) by default, PostgreSQL by URL."""

from pathlib import Path
from typing import Any

from flask import Flask
from peewee import Database, DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect

database: Any = DatabaseProxy()

# Applied by peewee on every new connection, from every code path (requests, purge, CLI).
SQLITE_PRAGMAS = {
    # Takes effect only when the file is created (before WAL is on). Pledges live in a WITHOUT
    # ROWID table (rowids would record arrival order), whose rows spill to an overflow page past
    # about a quarter of a page: at 4 KiB a one-block pledge (1,072 bytes) cost 4.7 KB on disk,
    # at 8 KiB it fits its leaf, 1.4 KB, and a roster page reads three times faster.
    "page_size": 8192,
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: a 201 means the pledge survives a power cut
    "secure_delete": 1,  # overwrite deleted content with zeros
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "cache_size": -16000,
}


def open_database(url: str) -> Database:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        db = connect(url, pragmas=SQLITE_PRAGMAS)
    else:
        # peewee ≥ 4 runs psycopg2 in autocommit mode: a failed statement leaves no aborted
        # transaction behind, so no autorollback option is needed (or accepted without warning).
        db = connect(url.replace("postgres://", "postgresql://", 1))
    return db


def is_sqlite(db: Database | None = None) -> bool:
    target = db if db is not None else database.obj
    return isinstance(target, SqliteDatabase)


def is_postgres(db: Database | None = None) -> bool:
    target = db if db is not None else database.obj
    return isinstance(target, PostgresqlDatabase)


def bind(url: str) -> Database:
    db = open_database(url)
    database.initialize(db)
    return db


def init_app(app: Flask) -> None:
    @app.before_request
    def _connect() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        """PostgreSQL: close. SQLite: keep this thread's connection for its next request, with no
        transaction left open. A new SQLite connection parses the whole schema on its first
        statement, and each campaign has a table of its own (server/store/partitions.py): at
        1,000 campaigns that is 13 to 15 ms per request on an idle 2-core VM, more than the
        pledge's own insert (bench/README.md, "Deletion at scale"). An idle connection holds no
        snapshot, so checkpoints and scrubs are not held back by it."""
        if database.is_closed():
            return
        if is_sqlite():
            if database.connection().in_transaction:
                database.connection().rollback()
            return
        database.close()
