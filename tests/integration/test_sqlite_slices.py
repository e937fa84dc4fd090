"""A big campaign's table is rebuilt in slices (server/retention/sqlite_slices.py), so no pledge
waits for all of it: what happens meanwhile is kept, nothing deleted stays readable, and a
rebuild cut off part-way is cleaned up without stopping the intake.

SLICED_ABOVE and the slice size are lowered so that a campaign of a few dozen pledges takes the
sliced path, a few rows a slice; the pause between slices (the purge's `time.sleep`) is where the
tests act, as a student or an organizer would between two slices, through the real API on the
real file.
"""

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from peewee import OperationalError

from server.db import database
from server.models import ServerState
from server.retention import purge_expired
from server.retention import sqlite_slices as slices
from server.store.partitions import ARRIVED, PREFIX, every_pledge, partition_name
from tests.integration.test_sqlite_scrub import Stored, files, pledge, withdraw
from tests.support.factories import make_campaign, make_coalition

SLICE = 7


@pytest.fixture
def campaign(app: Flask, transport: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(slices, "SLICED_ABOVE", SLICE)
    for limit in ("BATCH_START", "BATCH_MAX"):
        monkeypatch.setattr(slices, limit, SLICE)
    admin = make_coalition(tmp_path, "http://127.0.0.1", transport)
    return make_campaign(admin)


def stored_rows(table: str) -> dict[str, bytes]:
    return {pid: bytes(ct) for pid, ct in database.execute_sql(
        f'SELECT id, ciphertext FROM "{table}"').fetchall()}


def leftovers(table: str) -> list[str]:
    return [name for (name,) in database.execute_sql(
        "SELECT name FROM sqlite_master WHERE name LIKE ? ESCAPE '\\'",
        (table + "\\_\\_%",)).fetchall()]


def pause_once(monkeypatch: pytest.MonkeyPatch, act: Any) -> list[int]:
    """Run `act` at the rebuild's first pause between two slices (the copy is part-way)."""
    calls: list[int] = []
    real = slices.time.sleep

    def sleep(seconds: float) -> None:
        calls.append(1)
        if len(calls) == 1:
            act()
        real(0)

    monkeypatch.setattr(slices.time, "sleep", sleep)
    return calls


def test_pledges_withdrawn_arriving_and_reencrypted_during_the_slices_are_kept_in_step(
        app: Flask, client: FlaskClient, campaign: str, instance: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    table = partition_name(campaign)
    stored = [pledge(client, campaign, 1072) for _ in range(5 * SLICE)]
    withdraw(client, stored[0])  # marks the campaign: the purge run rebuilds it
    live = stored[1:]
    arrived: list[Stored] = []
    reencrypted = b"\x01" * 1072

    def meanwhile() -> None:
        for p in live[:3]:  # some copied already, some not: the order is random
            withdraw(client, p)
        arrived.append(pledge(client, campaign, 1072))
        database.execute_sql(f'UPDATE "{table}" SET key_version = 2, ciphertext = ? '
                             "WHERE id = ?", (reencrypted, live[3].pledge_id))

    calls = pause_once(monkeypatch, meanwhile)
    with database.connection_context():
        assert purge_expired(app.extensions["pledgebox"].clock).compacted
        assert len(calls) >= 5  # it did go in slices
        rows = stored_rows(table)
        assert leftovers(table) == []
        hashed = table.removeprefix(PREFIX)
        # Withdrawals during the copy leave the mark (the next run rebuilds again); the arrival
        # marks the campaign for the next day's layout.
        assert ServerState.get_or_none(ServerState.name == "scrub:" + hashed) is not None
        assert ServerState.get_or_none(ServerState.name == ARRIVED + hashed) is not None
        (count,) = database.execute_sql(f"SELECT count(*) FROM {every_pledge()}").fetchone()
    expected = {p.pledge_id: p.ciphertext for p in live[4:] + arrived}
    expected[live[3].pledge_id] = reencrypted
    assert rows == expected
    assert count == len(expected)

    monkeypatch.undo()
    with database.connection_context():
        assert purge_expired(app.extensions["pledgebox"].clock).compacted
        assert ServerState.get_or_none(ServerState.name == "scrub:" + hashed) is None
        assert stored_rows(table) == expected
    data = files(instance)
    gone = [n for p in [stored[0], *live[:3]] for n in p.needles() if n in data]
    assert gone == []
    assert live[3].ciphertext[:32] not in data  # the ciphertext the re-encryption replaced
    for p in live[4:] + arrived:
        withdraw(client, p)


class CutOff(Exception):
    """The purge's process stopped mid-copy (killed, restarted, the machine lost power)."""


def test_a_rebuild_cut_off_between_slices_leaves_the_intake_working_and_is_cleaned_up(
        app: Flask, client: FlaskClient, campaign: str, instance: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    table = partition_name(campaign)
    stored = [pledge(client, campaign, 1072) for _ in range(4 * SLICE)]
    withdraw(client, stored[0])

    def stop() -> None:
        raise CutOff

    pause_once(monkeypatch, stop)
    with database.connection_context():
        with pytest.raises(CutOff):
            purge_expired(app.extensions["pledgebox"].clock)
        assert table + slices.NEXT in leftovers(table)
    monkeypatch.undo()
    late = pledge(client, campaign, 1072)  # the triggers left behind still work
    withdraw(client, stored[1])
    with database.connection_context():
        assert purge_expired(app.extensions["pledgebox"].clock).compacted
        assert leftovers(table) == []
        triggers = [n for (n,) in database.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,))]
        rows = stored_rows(table)
    assert triggers == []  # the sync triggers went with the rebuild; no other is there
    assert rows == {p.pledge_id: p.ciphertext for p in [*stored[2:], late]}
    data = files(instance)
    assert [n for p in stored[:2] for n in p.needles() if n in data] == []
    for p in [*stored[2:], late]:
        withdraw(client, p)


def test_a_rebuild_that_fails_leaves_its_mark_for_the_next_run_and_nothing_half_made(
        app: Flask, client: FlaskClient, campaign: str, instance: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A purge run rebuilds once, at its start (sqlite.rebuild_owed). One that fails there (a
    lock, an I/O error) says so, takes away what it half made in the same run (the next table
    and its triggers), keeps the mark, and the next run rebuilds."""
    table = partition_name(campaign)
    stored = [pledge(client, campaign, 1072) for _ in range(4 * SLICE)]
    withdraw(client, stored[0])

    def fail() -> None:
        raise OperationalError("disk I/O error")  # as a real failure would, mid-copy

    pause_once(monkeypatch, fail)
    rebuilds: list[str] = []
    real_rebuild = slices.rebuild_in_slices

    def counted(table: str, *args: Any, **kwargs: Any) -> None:
        rebuilds.append(table)
        real_rebuild(table, *args, **kwargs)

    monkeypatch.setattr(slices, "rebuild_in_slices", counted)
    with database.connection_context():
        assert not purge_expired(app.extensions["pledgebox"].clock).compacted
        assert rebuilds == [table]  # not tried again in the same run
        assert leftovers(table) == []
        hashed = table.removeprefix(PREFIX)
        assert ServerState.get_or_none(ServerState.name == "scrub:" + hashed) is not None
    monkeypatch.undo()
    with database.connection_context():
        assert purge_expired(app.extensions["pledgebox"].clock).compacted
        assert ServerState.get_or_none(ServerState.name == "scrub:" + hashed) is None
        assert stored_rows(table) == {p.pledge_id: p.ciphertext for p in stored[1:]}
    assert [n for n in stored[0].needles() if n in files(instance)] == []
    for p in stored[1:]:
        withdraw(client, p)


def test_an_old_table_left_after_the_swap_makes_the_next_run_scrub(
        app: Flask, client: FlaskClient, campaign: str, instance: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut off after the names were swapped (the mark already cleared), the old table still holds
    the withdrawn pledge's copies: the next purge run must scrub it with nothing else due."""
    table = partition_name(campaign)
    stored = [pledge(client, campaign, 1072) for _ in range(3 * SLICE)]
    withdraw(client, stored[0])
    real = slices.empty_in_batches

    def cut_off(name: str, *args: Any, **kwargs: Any) -> int:
        if name.endswith(slices.PREV):
            raise OperationalError("disk I/O error")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(slices, "empty_in_batches", cut_off)
    with database.connection_context():
        assert not purge_expired(app.extensions["pledgebox"].clock).compacted
        assert leftovers(table) == [table + slices.PREV]
        assert ServerState.get_or_none(ServerState.name.startswith("scrub:")) is None
        # A process killed there records nothing: only what is on disk says a scrub is owed.
        ServerState.update(value="").where(ServerState.name == "scrub-due").execute()
    monkeypatch.undo()
    with database.connection_context():
        assert purge_expired(app.extensions["pledgebox"].clock).compacted
        assert leftovers(table) == []
    data = files(instance)
    assert [n for n in stored[0].needles() if n in data] == []
    for p in stored[1:]:
        withdraw(client, p)
