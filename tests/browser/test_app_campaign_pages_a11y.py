"""axe-core finds no WCAG 2.2 AA violation on the app's campaign pages (wizard, preview, share,
poster, roster, list, show, wipe), in English and in Spanish, at phone and laptop widths."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_people import AXE, axe_violations
from tests.support.factories import make_campaign, make_coalition, pledge
from tests.support.live import LiveServer
from tests.support.organizer_app import RunningApp, start_app

pytestmark = pytest.mark.browser

FIELDS = ["school!:choice:Your school|Tu escuela:Covina High,Northview High",
          "message:text:Message|Mensaje", "help:checkbox:I want to help|Quiero ayudar"]


@pytest.fixture
def app_with_campaign(live_server: LiveServer, tmp_path: Path) -> Iterator[tuple[RunningApp, str]]:
    org = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(org, fields=FIELDS, threshold=5, title_es="Salida")
    for i in range(3):
        pledge(live_server.base_url, cid, {"school": "covina-high", "message": f"hi {i}", "help": True})
    running = start_app(org.keystore)
    running.state.unlock(org.session)
    yield running, cid
    running.stop()


def _states(page: Page, origin: str, cid: str) -> Iterator[str]:
    page.goto(f"{origin}/campaigns/new")
    yield "wizard"
    page.locator("button[value=add-choice]").click()
    page.fill("#title", "Walkout")
    page.fill("#delete_after", "2020-01-01")  # before the last day to pledge: refused
    page.locator("button.primary[value=check]").click()
    expect(page.locator("#form-error")).to_be_visible()
    yield "wizard with a question and a mistake"
    page.fill("#delete_after", page.input_value("#action_date"))
    page.fill("#q0-en", "Grade")
    page.fill("#q0-options", "9th\n10th")
    page.locator("button.primary[value=check]").click()
    expect(page.locator("iframe")).to_have_count(2)
    draft = page.url
    yield "preview"
    for lang in ("en", "es"):
        page.goto(f"{draft}/phone?lang={lang}")
        yield f"student page preview ({lang})"
    for path in ("/campaigns/", f"/campaigns/{cid}", f"/campaigns/{cid}/share",
                 f"/campaigns/{cid}/poster", f"/campaigns/{cid}/wipe"):
        page.goto(origin + path)
        yield path
    page.goto(f"{origin}/campaigns/{cid}/roster")
    expect(page.locator("#roster-live")).to_have_attribute("data-state", "done", timeout=30_000)
    page.fill("#q", "hi")
    page.locator("form.search button").click()
    expect(page.locator("#q")).to_have_value("hi")
    yield "roster (searched)"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_axe_finds_nothing_on_the_campaign_pages(browser: Browser, app_with_campaign: Any,
                                                lang: str) -> None:
    running, cid = app_with_campaign
    assert AXE.is_file(), "run `npm ci` in web/ (axe-core is a pinned devDependency)"
    found = {}
    for width in (360, 1280):
        # bypass_csp only here: it lets the test inject axe-core, which the app's CSP forbids.
        context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
        page = context.new_page()
        if width == 360:
            page.goto(running.state.first_url())
            cookies = context.cookies()
        else:
            context.add_cookies(cookies)
        page.goto(f"{running.origin}/language/{lang}?next=/")
        for state in _states(page, running.origin, cid):
            violations = axe_violations(page)
            if violations:
                found[f"{state} at {width}px"] = violations
        if width == 1280:  # the check can fail: an unlabelled field is reported
            page.evaluate("document.querySelector('body').appendChild(document.createElement('input'))")
            assert "label" in {v["id"] for v in axe_violations(page)}
        context.close()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("paper", ["Letter", "A4"])
def test_the_poster_prints_on_one_sheet_without_the_apps_menus(browser: Browser, app_with_campaign: Any,
                                                                paper: str) -> None:
    running, cid = app_with_campaign
    page = browser.new_context().new_page()
    page.goto(running.state.first_url())
    page.goto(f"{running.origin}/campaigns/{cid}/poster")
    page.emulate_media(media="print")
    expect(page.locator(".tabs")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator(".poster-qr")).to_be_visible()
    pdf = page.pdf(format=paper, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
