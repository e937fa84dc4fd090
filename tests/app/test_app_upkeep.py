"""What the app does on its own while open: an admin's app refreshes the key's not_after before
students' pages would refuse it, and a locked app does nothing with the network."""

from datetime import UTC, datetime, timedelta

from organizer import coalition
from organizer.app.state import AppState, MovableClock
from organizer.app.upkeep import REFRESH_EVERY, Upkeep
from organizer.session import Session
from tests.support.factories import PASSPHRASE, make_coalition


def current_not_after(session: Session) -> str:
    return str(session.client().get("/api/v1/org/me")["encryption_key"]["not_after"])


def test_an_open_admin_app_refreshes_the_keys_not_after_by_itself(tmp_path, live_server,
                                                                  monkeypatch):
    today = datetime.now(UTC).date()
    # The coalition's key was signed 16 days ago: 14 days left, under the 15 that call for a refresh.
    monkeypatch.setattr(coalition, "utc_today", lambda: today - timedelta(days=16))
    admin = make_coalition(tmp_path, live_server.base_url)
    monkeypatch.undo()
    assert current_not_after(admin.session) == (today + timedelta(days=14)).isoformat()

    clock = MovableClock()
    state = AppState(admin.keystore, clock=clock)
    upkeep = Upkeep(state)
    upkeep.tick()  # locked: nothing is done (and nothing could be signed)
    assert current_not_after(admin.session) == (today + timedelta(days=14)).isoformat()

    state.unlock(Session.open(admin.keystore, PASSPHRASE))
    upkeep.tick()
    assert current_not_after(admin.session) == (today + timedelta(days=30)).isoformat()
    synced = upkeep.last_sync
    clock.advance(60)
    state.touch()
    upkeep.tick()
    assert upkeep.last_sync == synced  # not again before REFRESH_EVERY
    clock.advance(REFRESH_EVERY)
    state.touch()
    upkeep.tick()
    assert upkeep.last_sync != synced
