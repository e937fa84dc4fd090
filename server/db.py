"""The database handle: SQLite (WAL, durable, secure_delete) by default, PostgreSQL by URL."""

import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg2
from flask import Flask
from peewee import (
    Database,
    DatabaseProxy,
    InterfaceError,
    OperationalError,
    PostgresqlDatabase,
    SqliteDatabase,
)
from playhouse.db_url import connect
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

database: Any = DatabaseProxy()
T = TypeVar("T")

# Applied by peewee on every new connection, from every code path (requests, purge, CLI).
BUSY_TIMEOUT_MS = 5000  # past this a write gets "database is locked": the API's 503, retry later
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
    "busy_timeout": BUSY_TIMEOUT_MS,
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


# SQLite's busy handler sleeps 1, 2, 5, 10, 15, 20, then 25 ms at a time: a writer that finds the
# lock held by an 8 ms rebuild takes it at 18 ms. write_promptly polls instead.
_POLL_SECONDS = 0.0005


def write_promptly(run: Callable[[], T]) -> T:
    """Run `run` (one short write transaction) and, on SQLite, retry it every millisecond or so
    while another connection holds the write lock, for as long as busy_timeout says; then raise
    the same "database is locked" error SQLite would have.

    SQLite's own busy handler sleeps in growing steps (1, 2, 5, 10, 15, 20, 25 ms, ...), so a
    pledge arriving while the purge rebuilds a campaign's table (about 8 ms holding the lock)
    waited until its handler woke, often 10 ms after the lock was free. Here SQLite gives up
    after 1 ms and the retry follows the lock within about a millisecond. `run` must be safe to
    repeat: a transaction that failed to get the lock wrote nothing."""
    if not is_sqlite():
        return run()
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    database.execute_sql("PRAGMA busy_timeout = 1")
    try:
        while True:
            try:
                return run()
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(_POLL_SECONDS)
    finally:
        database.execute_sql(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def bind(url: str) -> Database:
    db = open_database(url)
    database.initialize(db)
    return db


def init_app(app: Flask) -> None:
    @app.before_request
    def _connect() -> None:
        if not database.is_closed() and is_postgres() and not _answers():
            database.close()  # the server restarted, or ended this session: open a new one
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        """Keep this thread's connection for its next request, with no transaction left open.

        SQLite: a new connection parses the whole schema on its first statement, and each
        campaign has a table of its own (server/store/partitions.py): at 1,000 campaigns that
        was 13 to 15 ms per request on an idle 2-core VM, more than the pledge's own insert
        (about half as much since the tables lost their triggers, migration 0010).
        PostgreSQL: a new connection is a new server process, 10 to 45 ms under load; kept,
        the intake's p99 went from 37 to 10 ms and a withdrawal's median from 182 to 27 ms
        (bench/README.md, "Deletion at scale"). An idle connection holds no snapshot, so
        checkpoints, scrubs and VACUUM are not held back by it. After a failed request the
        connection is closed: its state is not worth reasoning about."""
        if database.is_closed():
            return
        conn = database.connection()
        if exc is not None or (is_postgres() and conn.closed):
            _close_quietly()  # a crash, or a session the server ended mid-request
            return
        try:
            if is_sqlite():
                if conn.in_transaction:
                    conn.rollback()
            elif conn.info.transaction_status != TRANSACTION_STATUS_IDLE:
                conn.rollback()
        except (sqlite3.Error, psycopg2.Error):
            _close_quietly()


def _answers() -> bool:
    """A kept PostgreSQL connection still works: one round trip (about 0.1 ms on loopback)."""
    try:
        database.execute_sql("SELECT 1")
    except (OperationalError, InterfaceError):
        return False
    return True


def _close_quietly() -> None:
    with contextlib.suppress(OperationalError, InterfaceError):
        database.close()
