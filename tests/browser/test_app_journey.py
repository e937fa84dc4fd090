"""The organizer app end to end in Debian's Chromium, through the app alone: first run, a
coalition, a campaign made in the wizard, the real student page pledging to its link, the roster
page showing it, a second organizer (a second app with its own keystore) joining by invite with
safety words on both sides, approval, a key rotation with re-encryption, and a removal.

The server is real (gunicorn on loopback); its operator's one step, the setup code, is the only
thing done outside the app. Nothing is set up through the organizer core: every organizer action
is a click or a keystroke in an app page.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from organizer import roster
from tests.support.factories import setup_code
from tests.support.live import LiveServer
from tests.support.organizer_app import RunningApp, start_app

pytestmark = pytest.mark.browser

LONG = 30_000  # ms: background work (the roster, a re-encryption) on a loaded 2-core machine


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[tuple[RunningApp, RunningApp]]:
    first = start_app(tmp_path / "laptop-a" / "keystore.json")
    second = start_app(tmp_path / "laptop-b" / "keystore.json")
    yield first, second
    first.stop()
    second.stop()


def open_app(browser: Browser, app: RunningApp) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US").new_page()
    page.on("popup", lambda popup: pytest.fail(f"a pop-up opened: {popup.url}"))
    page.goto(app.state.first_url())
    return page


def first_run(page: Page) -> None:
    """Make a keystore with the passphrase the app suggests (its strength meter agrees)."""
    expect(page.get_by_role("heading", name="Welcome to Pledgebox")).to_be_visible()
    page.get_by_role("button", name="Use this passphrase").click()
    expect(page.locator("#strength-text")).to_have_text("Strong enough.")
    page.get_by_role("button", name="Make my keystore").click()
    expect(page.get_by_role("heading", name="Your keystore is ready")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="Get started")).to_be_visible()


def test_an_organizer_does_everything_through_the_app(browser: Browser, live_server: LiveServer,
                                                      apps: tuple[RunningApp, RunningApp]) -> None:
    app_a, app_b = apps
    a = open_app(browser, app_a)
    first_run(a)
    a.get_by_role("link", name="Start a coalition").click()
    a.fill("#name", "Covina Students United")
    a.fill("#server", live_server.base_url)
    a.fill("#setup_code", setup_code())
    a.get_by_role("button", name="Start the coalition").click()
    expect(a.get_by_text("you are its first admin")).to_be_visible()

    # The wizard: both languages, the schools, a question added by its button, the preview.
    a.get_by_role("link", name="New campaign").click()
    a.fill("#title", "Walkout for safe schools")
    a.fill("#title_es", "Salida por escuelas seguras")
    a.fill("#description", "We meet at the flagpole at 10.")
    a.fill("#schools", "Covina High | Preparatoria Covina\nNorthview High")
    a.fill("#threshold", "10")
    a.get_by_role("button", name="+ Text question").click()
    a.fill("#q0-en", "Why are you walking out?")
    a.fill("#q0-es", "¿Por qué participas?")
    a.locator("button.primary[value=check]").click()
    spanish = a.frame_locator("iframe").nth(1)
    expect(spanish.locator("h1")).to_have_text("Salida por escuelas seguras")
    expect(spanish.get_by_text("Preparatoria Covina")).to_be_visible()
    expect(a.frame_locator("iframe").nth(0).get_by_text("Why are you walking out?")).to_be_visible()
    a.get_by_role("button", name="Sign and publish").click()
    link = a.input_value("#share-link")
    assert re.fullmatch(re.escape(live_server.base_url) + r"/p/[A-Za-z0-9_-]+#k=[A-Za-z0-9_-]{43}", link)

    # The real student page, on a phone, pledges to that link.
    student = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US").new_page()
    student.goto(link)
    expect(student.locator("#send-button")).to_be_enabled()
    student.get_by_label("Northview High").check()
    student.get_by_label("I want to help organize").check()
    student.locator("#send-button").click()
    expect(student.locator("#receipt")).to_be_visible()

    # The roster page opens it here and shows it, refreshing by itself.
    a.get_by_role("link", name="See who pledged").click()
    live = a.locator("#roster-live")
    expect(live).to_have_attribute("data-opened", "1", timeout=LONG)
    expect(live).to_have_attribute("data-state", "done", timeout=LONG)
    expect(live.locator(".bars li").filter(has_text="Northview High")).to_contain_text("1")

    # A second organizer, on a second app with its own keystore, joins by invite.
    b = open_app(browser, app_b)
    first_run(b)
    a.get_by_role("link", name="Organizers").click()
    a.get_by_role("button", name="Make an invite").click()
    invite = a.input_value("#invite-text")
    b.get_by_role("link", name="Join with an invite").click()
    b.fill("#invite", invite)
    b.get_by_role("button", name="Join").click()
    words_b = b.locator(".words-text").inner_text().strip()
    assert len(words_b.split()) >= 4
    a.reload()
    pending = a.locator(".pending-person")
    expect(pending.locator(".words-text")).to_have_text(words_b)  # the same words on both sides
    pending.get_by_label("We compared the safety number aloud and it matches.").check()
    pending.get_by_role("button", name="Approve").click()
    expect(a.get_by_text("can now read your coalition's pledges")).to_be_visible()
    expect(b.locator("h1")).to_have_text("You are in", timeout=15000)  # without a reload
    b.get_by_role("link", name="See your coalition's campaigns").click()
    b.get_by_role("link", name="Roster").first.click()
    expect(b.locator("#roster-live")).to_have_attribute("data-opened", "1", timeout=LONG)

    # Rotation with re-encryption, with its progress page.
    a.get_by_role("link", name="Keys").click()
    a.get_by_role("button", name="Change the key").click()
    expect(a.locator("#job-next")).to_be_visible(timeout=LONG)
    expect(a.locator("#job-status")).not_to_contain_text("wrong")
    a.locator("#job-next").click()
    session = app_a.state.session
    assert session is not None
    campaign_id = link.split("/p/")[1].split("#")[0]
    opened = list(roster.pledges(session, campaign_id, roster.Tally()))
    assert [p["key_version"] for p in opened] == [2]  # re-encrypted to the new key

    # Removal, after a confirmation that shows whom.
    a.get_by_role("link", name="Organizers").click()
    a.get_by_role("link", name=re.compile("Remove")).click()
    expect(a.locator(".words-text")).to_have_text(words_b)
    a.get_by_role("button", name="Yes, remove them").click()
    expect(a.locator("#job-next")).to_be_visible(timeout=LONG)
    a.locator("#job-next").click()
    expect(a.locator(".people")).not_to_contain_text(words_b)
    expect(a.locator(".people .person")).to_have_count(1)
