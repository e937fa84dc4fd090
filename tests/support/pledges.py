"""Reading every stored pledge in tests, whichever backend: on SQLite each campaign's pledges are
a table of their own (server/store/partitions.py, migration 0009) and there is no `pledge` table."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from server.db import database, is_sqlite
from server.store.partitions import (
    MARK_ARRIVAL_SQL,
    PREFIX,
    arrival_mark,
    every_pledge,
    partition_name,
    pledge_table,
    sqlite_table_sql,
    union_of,
)


@contextmanager
def pledge_view() -> Iterator[None]:
    """While open, `pledge` on this connection (SQLite: a TEMP view over every campaign's
    table, made now) reads every stored pledge, so `Pledge.select()` works as on PostgreSQL."""
    if not is_sqlite():
        yield
        return
    database.execute_sql("DROP VIEW IF EXISTS temp.pledge")
    database.execute_sql(f"CREATE TEMP VIEW pledge AS SELECT * FROM {every_pledge()}")
    try:
        yield
    finally:
        database.execute_sql("DROP VIEW IF EXISTS temp.pledge")


def insert_pledges(rows: list[dict[str, Any]]) -> None:
    """Store rows (id, campaign, key_version, ciphertext, withdraw_token_hash, received_day)
    straight into their campaigns' tables (for seeding; the intake is accept_pledge)."""
    q = database.param
    for row in rows:
        campaign = row.get("campaign", row.get("campaign_id"))
        day = row["received_day"]
        database.execute_sql(
            f'INSERT INTO "{pledge_table(str(campaign))}" (id, campaign_id, key_version, '
            f"ciphertext, withdraw_token_hash, received_day) VALUES ({q}, {q}, {q}, {q}, {q}, {q})",
            (row["id"], campaign, row["key_version"], row["ciphertext"], row["withdraw_token_hash"],
             day.isoformat() if hasattr(day, "isoformat") and is_sqlite() else day))


def sqlite3_every_pledge(conn: sqlite3.Connection) -> str:
    """every_pledge for a plain sqlite3 connection (tests that read the file outside peewee)."""
    tables = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ? "
        "ORDER BY name", (len(PREFIX), PREFIX))]
    return union_of(tables)


def sqlite3_table_for(conn: sqlite3.Connection, campaign_id: str, create: bool = True) -> str | None:
    """For seeding a file with plain sqlite3 (benches): the table a campaign's pledges go in,
    `pledge` before migration 0009, else the campaign's own (made if `create`, as the server
    makes it with the campaign); None if there is none."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'pledge'").fetchone():
        return "pledge"
    name = partition_name(campaign_id)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone():
        return name
    if not create:
        return None
    conn.execute(sqlite_table_sql(name))
    conn.execute(MARK_ARRIVAL_SQL, (arrival_mark(name),))  # its rows will arrive, as the intake's
    return name
