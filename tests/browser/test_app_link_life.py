"""The day the share links stop working without an admin (issue 18, item 1), in Debian's Chromium.

A coalition runs on the movable clock (tests/support/days.py): the admin signed the key on day 0
(valid 30 days). On day 22 a member who is not an admin opens the app: the home and campaign pages
warn that an admin must open Pledgebox within 8 days, and the calendar reminder downloads, made by
the laptop. Then the admin opens the app: it renews the key (fewer than 25 days were left), and the
admin's pages show the new day calmly. On day 31 with nobody having renewed, the member's page
says the links have stopped. Screens in English and Spanish, at phone and laptop widths.
"""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from organizer import coalition, members
from tests.support.app_browser import LOCALES, look, open_app
from tests.support.days import Days
from tests.support.factories import PASSPHRASE, fp, joined, make_campaign, make_coalition
from tests.support.organizer_app import RunningApp

pytestmark = pytest.mark.browser

WORDS = {
    "en": {"soon": "Your share links stop working soon", "calm": "How long your share links work",
           "stopped": "Your share links have stopped working", "left": "8 days left.",
           "reminder": "Add a reminder to my calendar", "summary": "SUMMARY:Open Pledgebox"},
    "es": {"soon": "Tus enlaces dejan de funcionar pronto",
           "calm": "Hasta cuándo funcionan tus enlaces",
           "stopped": "Tus enlaces dejaron de funcionar", "left": "Quedan 8 días.",
           "reminder": "Añadir un recordatorio a mi calendario", "summary": "SUMMARY:Abrir Pledgebox"},
}


@pytest.fixture
def days(clock_file: Path, monkeypatch: pytest.MonkeyPatch) -> Days:
    return Days(clock_file, monkeypatch)


def opened(browser: Any, apps: list[RunningApp], keystore: Path, lang: str) -> tuple[RunningApp, Page]:
    app, page = open_app(browser, apps, keystore, LOCALES[lang], checked=False, bypass_csp=True,
                         accept_downloads=True)
    page.fill("#passphrase", PASSPHRASE)
    page.locator("form.stack button[type=submit]").click()
    expect(page.locator("h1")).to_be_visible()
    return app, page


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_app_says_when_the_links_stop_and_offers_a_reminder(browser, live_server, tmp_path,
                                                                days, lang):
    words = WORDS[lang]
    admin = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(admin, action_in=45, closes_in=44, delete_in=50)
    member = joined(tmp_path, admin, "member", "member")
    members.approve(admin.session, fp(member))
    coalition.sync(member.session)
    last_day = days.today + timedelta(days=30)
    found: dict[str, Any] = {}
    apps: list[RunningApp] = []
    try:
        days.move_to(22)
        app, page = opened(browser, apps, member.keystore, lang)
        box = page.locator(".link-life")
        expect(box.locator("h2")).to_have_text(words["soon"])
        expect(box).to_contain_text(words["left"])
        # The warning comes before the campaigns, where it is seen first.
        assert box.bounding_box()["y"] < page.locator(".campaign").bounding_box()["y"]
        look(page, "link-life-member-warning", lang, found)
        with page.expect_download() as download:
            box.get_by_role("link", name=words["reminder"]).click()
        ics = Path(download.value.path()).read_text(encoding="utf-8")
        assert download.value.suggested_filename == "pledgebox-reminder.ics"
        assert words["summary"] in ics
        reminder = last_day - timedelta(days=7)
        assert f"DTSTART;VALUE=DATE:{reminder:%Y%m%d}" in ics
        assert "Walkout" not in ics
        assert "Covina" not in ics
        page.goto(f"http://127.0.0.1:{app.port}/campaigns/{cid}")
        expect(page.locator(".link-life h2")).to_have_text(words["soon"])
        look(page, "link-life-campaign-warning", lang, found)

        _, admin_page = opened(browser, apps, admin.keystore, lang)
        renewed = days.today + timedelta(days=30)
        calm = admin_page.locator(".link-life")
        expect(calm.locator("h2")).to_have_text(words["calm"])
        expect(calm).not_to_contain_text(words["left"])
        assert str(renewed.year) in calm.inner_text()
        look(admin_page, "link-life-admin", lang, found)

        days.move_to(22 + 31)  # nobody opened Pledgebox since the admin's renewal on day 22
        page.goto(f"http://127.0.0.1:{app.port}/")
        expect(page.locator(".link-life h2")).to_have_text(words["stopped"])
        look(page, "link-life-stopped", lang, found)
    finally:
        for running in apps:
            running.stop()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)
