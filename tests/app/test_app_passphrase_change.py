"""Changing the passphrase in the app (finding 17.5, the coalition's own names as context): a new
passphrase made of the coalition's name, its campaigns' titles or its schools is refused, since a
guesser who seized the laptop tries those first; a good one re-seals the keystore, losing nothing."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto import WrongPassphrase
from organizer.session import Session
from tests.support.factories import PASSPHRASE, OrganizerHandle, make_campaign, make_coalition
from tests.support.live import LiveServer
from tests.support.organizer_app import Browser, start_app

NEW = "quartz lantern ripple gazebo mantis tidy"


@pytest.fixture
def org(live_server: LiveServer, tmp_path: Path) -> OrganizerHandle:
    handle = make_coalition(tmp_path, live_server.base_url)  # "Covina Schools Coalition"
    make_campaign(handle, title="Salida por nuestros maestros")  # schools: Covina High, Northview High
    return handle


@pytest.fixture
def browser(org: OrganizerHandle) -> Iterator[Browser]:
    running = start_app(org.keystore)
    running.state.unlock(Session.open(org.keystore, PASSPHRASE))
    b = Browser(running)
    b.sign_in()
    yield b
    running.stop()


def change(browser: Browser, current: str, new: str, again: str | None = None) -> str:
    answer = browser.post("/settings/passphrase", {"current": current, "passphrase": new,
                                                    "passphrase_again": again or new})
    assert answer.status == 303
    return browser.get(answer.location).text


@pytest.mark.parametrize("weak", ["Covina Schools Coalition 2027", "covina high walkout 2027",
                                  "northview high salida 2027", "salida por nuestros maestros"])
def test_the_coalitions_own_names_are_refused(browser, org, weak):
    before = org.keystore.read_bytes()
    page = change(browser, PASSPHRASE, weak)
    assert "too easy to guess" in page
    assert org.keystore.read_bytes() == before
    Session.open(org.keystore, PASSPHRASE)


def test_a_wrong_current_passphrase_or_a_typo_changes_nothing(browser, org):
    before = org.keystore.read_bytes()
    assert "does not unlock this keystore" in change(browser, "not the passphrase at all", NEW)
    assert "differ" in change(browser, PASSPHRASE, NEW, NEW + "x")
    assert org.keystore.read_bytes() == before


def test_a_good_passphrase_reseals_the_keystore_and_loses_nothing(browser, org):
    before = Session.open(org.keystore, PASSPHRASE).data
    page = change(browser, PASSPHRASE, NEW)
    assert "Your passphrase is changed" in page
    with pytest.raises(WrongPassphrase):
        Session.open(org.keystore, PASSPHRASE)
    assert Session.open(org.keystore, NEW).data == before
    assert browser.app.state.session is not None  # still unlocked, and it saves under the new one
    browser.app.state.session.save()
    assert Session.open(org.keystore, NEW).data == before
