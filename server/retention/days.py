"""Time never runs backwards: the latest day any process has seen is kept in the database.

A process that has not seen today yet (an idle worker, a fresh restart, another server) must not
answer from an earlier day after the clock is set back, or expired data would be served again.
"""

import logging
from datetime import date

from flask import Flask, request
from peewee import DatabaseError

from server.clock import Clock
from server.db import database
from server.models import ServerState

log = logging.getLogger("pledgebox.retention")

LATEST_DAY = "latest-day"


def hold_day_floor(clock: Clock) -> date:
    """Raise the clock to the latest day any process has seen, record today if it is later."""
    ServerState.insert(name=LATEST_DAY, value="0001-01-01", lease_until=0
                       ).on_conflict_ignore().execute()
    row = ServerState.get(ServerState.name == LATEST_DAY)
    clock.raise_floor(date.fromisoformat(row.value))
    today = clock.today()
    if today.isoformat() > row.value:
        ServerState.update(value=today.isoformat()).where(
            ServerState.name == LATEST_DAY, ServerState.value < today.isoformat()).execute()
    return today


def _stored_floor() -> str | None:
    """Hand-written SQL: this runs before every request, so it skips peewee's query building."""
    sql = f"SELECT value FROM {ServerState._meta.table_name} WHERE name = {database.param}"  # noqa: S608 (our table; the name is a parameter)
    row = database.execute_sql(sql, (LATEST_DAY,)).fetchone()
    return None if row is None else str(row[0])


def init_app(app: Flask) -> None:
    """Before every request, agree on the day with the database (one primary-key read); the
    first process to see a new day writes it there."""
    clock: Clock = app.extensions["pledgebox"].clock

    @app.before_request
    def _keep_time_forward() -> None:
        if request.endpoint == "static":
            return
        try:
            stored = _stored_floor()
            if stored is not None:
                clock.raise_floor(date.fromisoformat(stored))
            if stored is None or clock.today().isoformat() > stored:
                hold_day_floor(clock)
        except DatabaseError:  # not migrated yet: nothing stored can be revived either
            log.warning("could not read the latest day from the database")
