"""0010: on SQLite, a pledge table's arrival trigger goes; the intake writes the mark instead.

Each campaign's table carried a trigger (0009) that marked, for every row inserted, that the
table took pledges since its last rebuild (`arrived:<hash>` in server_state). A rebuild puts all
of a campaign's rows back under the write lock, and the trigger fired for each of them: 2.4 ms of
a 1,000-pledge rebuild's 5.5 ms under the lock, which every arriving pledge waits for. The intake
now writes the same mark in the pledge's transaction (server/store/partitions.py, mark_arrival),
so nothing else that inserts rows fires anything. Marks already written stay. Down puts the
triggers back on every campaign's table. PostgreSQL has no such trigger.
"""

import importlib

from peewee import Database, SqliteDatabase

from server.store.partitions import sqlite_pledge_tables

_0009 = importlib.import_module("migrations.0009_sqlite_pledges_by_campaign")


def up(db: Database) -> None:
    if not isinstance(db, SqliteDatabase):
        return
    for table in sqlite_pledge_tables(db):
        db.execute_sql(f'DROP TRIGGER IF EXISTS "{table}_arrived"')


def down(db: Database) -> None:
    if not isinstance(db, SqliteDatabase):
        return
    for table in sqlite_pledge_tables(db):
        db.execute_sql(_0009.arrival_trigger_sql(table))
