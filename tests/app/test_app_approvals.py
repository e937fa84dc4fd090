"""Approving in the app never takes the role from the server alone (issue 13, finding 1): for
another admin's invite the page asks which role, for our own it shows the role of our record, and
a role the server flipped is refused with the reason on the page."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from organizer import coalition, members
from server.db import database
from server.models import Organizer
from tests.support.factories import OrganizerHandle, fp, joined, make_coalition
from tests.support.live import LiveServer
from tests.support.organizer_app import Browser, RunningApp, start_app


def status_of(handle: OrganizerHandle) -> tuple[str, str]:
    with database.connection_context():
        row = Organizer.get(Organizer.fingerprint == fp(handle))
        return row.status, row.role


def app_of(handle: OrganizerHandle) -> Iterator[Browser]:
    running: RunningApp = start_app(handle.keystore)
    running.state.unlock(handle.session)
    browser = Browser(running)
    browser.sign_in()
    try:
        yield browser
    finally:
        running.stop()


@pytest.fixture
def first(live_server: LiveServer, tmp_path: Path) -> OrganizerHandle:
    return make_coalition(tmp_path, live_server.base_url)


@pytest.fixture
def second(first: OrganizerHandle, tmp_path: Path) -> OrganizerHandle:
    """A second admin, who did not make the newcomers' invites."""
    handle = joined(tmp_path, first, "admin", "second")
    members.approve(first.session, fp(handle))
    coalition.sync(handle.session)
    return handle


@pytest.fixture
def second_app(second: OrganizerHandle) -> Iterator[Browser]:
    yield from app_of(second)


def approve_form(page: str, fingerprint: str) -> str:
    start = page.index(f'value="{fingerprint}"')
    return page[start:page.index("</form>", start)]


def test_another_admins_invite_asks_the_role_and_approves_with_it(
        first: OrganizerHandle, second_app: Browser, tmp_path: Path) -> None:
    newcomer = joined(tmp_path, first, "member", "newcomer")
    page = second_app.get("/organizers").text
    form = approve_form(page, fp(newcomer))
    assert "Another admin invited them" in page
    assert form.count('type="radio" name="role"') == 2  # member and admin, none preselected
    assert "checked" not in form

    without = second_app.post("/organizers/approve", {"fingerprint": fp(newcomer), "compared": "yes"})
    assert without.status == 303
    assert status_of(newcomer) == ("pending", "member")  # no role said: nothing signed

    wrong = second_app.post("/organizers/approve",
                            {"fingerprint": fp(newcomer), "compared": "yes", "role": "admin"})
    assert wrong.status == 303
    assert status_of(newcomer) == ("pending", "member")  # said admin, listed member: refused
    assert "You said admin" in second_app.get(wrong.location).text

    done = second_app.post("/organizers/approve",
                           {"fingerprint": fp(newcomer), "compared": "yes", "role": "member"})
    assert done.status == 303
    assert status_of(newcomer) == ("active", "member")
    assert "Approved as member" in second_app.get(done.location).text


def test_our_own_invite_shows_our_record_and_a_flipped_role_is_refused_on_the_page(
        first: OrganizerHandle, tmp_path: Path) -> None:
    newcomer = joined(tmp_path, first, "member", "newcomer")
    for browser in app_of(first):
        page = browser.get("/organizers").text
        assert re.search(r"You invited them as:\s*<span class=\"badge\">member", page)
        assert 'name="role"' not in approve_form(page, fp(newcomer))

        with database.connection_context():  # the compromised server flips one column
            Organizer.update(role="admin").where(Organizer.fingerprint == fp(newcomer)).execute()
        page = browser.get("/organizers").text
        assert "You invited this organizer as member" in page
        assert 'action="/organizers/approve"' not in page  # no approve form at all
        forced = browser.post("/organizers/approve", {"fingerprint": fp(newcomer), "compared": "yes"})
        assert forced.status == 303
        assert status_of(newcomer) == ("pending", "admin")
