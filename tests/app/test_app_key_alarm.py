"""The app stops with a plain alarm when the server rolls the coalition's key back (amendment 5).

The server is a real one whose rows the test rewrites, as an attacker holding it would: after a
removal and a rotation to v2 it deletes v2 and every wrapped copy, so v1 (the removed organizer's
key) is current again. The admin's app must sign nothing, say so on the page it was opening, keep
saying so on every page (also when only its upkeep noticed), and stop saying so once the server
serves the newest key again.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from organizer import coalition, members, rotation
from organizer.app.upkeep import REFRESH_EVERY, Upkeep
from server.db import database
from server.models import EncryptionKey, WrappedSecret
from tests.support.factories import OrganizerHandle, fp, joined, make_coalition
from tests.support.live import LiveServer
from tests.support.organizer_app import Browser, RunningApp, start_app

TITLE_EN = "Stop: your server served an old key"
TITLE_ES = "Alto: tu servidor entregó una llave antigua"


@pytest.fixture
def admin(live_server: LiveServer, tmp_path: Path) -> OrganizerHandle:
    admin = make_coalition(tmp_path, live_server.base_url)
    member = joined(tmp_path, admin, "member", "member")
    members.approve(admin.session, fp(member))
    members.remove(admin.session, fp(member))
    assert rotation.rotate(admin.session) == 2
    return admin


@pytest.fixture
def running(admin: OrganizerHandle) -> Iterator[RunningApp]:
    app = start_app(admin.keystore)
    app.state.unlock(admin.session)
    yield app
    app.stop()


def roll_back() -> list[dict[str, Any]]:
    """Delete v2's statement and wrapped copies; return the rows, to put them back later."""
    with database.connection_context():
        rows = [dict(EncryptionKey.select().where(EncryptionKey.version == 2).dicts().get())]
        wrapped = list(WrappedSecret.select().where(WrappedSecret.version == 2).dicts())
        EncryptionKey.delete().where(EncryptionKey.version == 2).execute()
        WrappedSecret.delete().where(WrappedSecret.version == 2).execute()
    return [{"key": rows[0]}, *({"wrapped": w} for w in wrapped)]


def put_back(saved: list[dict[str, Any]]) -> None:
    with database.connection_context():
        for item in saved:
            if "key" in item:
                EncryptionKey.insert(item["key"]).execute()
            else:
                WrappedSecret.insert(item["wrapped"]).execute()


def not_after(version: int) -> str:
    with database.connection_context():
        return str(EncryptionKey.get(EncryptionKey.version == version).not_after)


def test_the_app_shows_the_alarm_and_signs_nothing(running: RunningApp, admin: OrganizerHandle,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coalition, "REFRESH_WHEN_DAYS_LEFT", 10_000)  # a renewal is due on every sync
    signed_v1 = not_after(1)
    saved = roll_back()
    browser = Browser(running)
    browser.sign_in()

    page = browser.get("/")
    assert page.status == 409
    assert TITLE_EN in page.text
    assert "version 1, older than version 2" in page.text
    assert "What to do now" in page.text
    assert not_after(1) == signed_v1  # the page's sync renewed nothing

    spanish = browser.get("/keys", headers={"Accept-Language": "es"})
    assert spanish.status == 409
    assert TITLE_ES in spanish.text
    assert "versión 1" in spanish.text

    # A page that does not sync still carries the alarm, at the top.
    settings = browser.get("/settings")
    assert settings.status == 200
    assert TITLE_EN + "." in settings.text
    assert settings.text.index(TITLE_EN) < settings.text.index("<h1")

    # The upkeep alone (nobody opening a page) also raises it, and signs nothing.
    running.state.alarm = None
    upkeep = Upkeep(running.state)
    running.clock.advance(REFRESH_EVERY)
    running.state.touch()
    upkeep.tick()
    assert "rolled back" in str(running.state.alarm)
    assert not_after(1) == signed_v1
    assert TITLE_EN in browser.get("/settings").text

    # The server serves the newest key again: the alarm goes, and renewal works as before.
    put_back(saved)
    home = browser.get("/")
    assert home.status == 200
    assert TITLE_EN not in home.text
    assert running.state.alarm is None
    assert not_after(1) == signed_v1
    assert TITLE_EN not in browser.get("/settings").text
