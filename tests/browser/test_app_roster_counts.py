"""The roster page in Chromium, as a teenage organizer meets it (issue 18, items 2, 10 and 11;
issue 17, findings 3 and 7): the table under the counts never disagrees with them, from the first
open on and while pledges stream in; days are explained in the campaign's zone; pledges that share
a nonce are marked; the publish card says counts are of pledges, not people, and when the app
republishes. At phone and laptop widths, in English and Spanish."""

import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import seal_bytes
from organizer.days import stored_day_span
from tests.support.factories import make_campaign, make_coalition, pledge
from tests.support.http import call
from tests.support.live import LiveServer
from tests.support.organizer_app import RunningApp, start_app

pytestmark = pytest.mark.browser

FIELDS = ["school!:choice:Your school|Tu escuela:Covina High,Northview High,South Hills High",
          "message:text:Message|Mensaje", "help:checkbox:I want to help|Quiero ayudar"]
PLEDGES = 9


def shoot(page: Page, name: str) -> None:
    keep = os.environ.get("PLEDGEBOX_SCREENSHOTS")
    if keep:
        page.screenshot(path=str(Path(keep) / f"{name}.png"), full_page=True)


@pytest.fixture
def app_with_pledges(live_server: LiveServer, tmp_path: Path) -> Iterator[tuple[RunningApp, str]]:
    org = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(org, fields=FIELDS, threshold=5, title_es="Salida",
                        time_zone="America/Los_Angeles")
    schools = ["covina-high"] * 5 + ["northview-high"] * 2 + ["south-hills-high"] * 2
    for i, school in enumerate(schools[:PLEDGES]):
        pledge(live_server.base_url, cid, {"school": school, "message": f"hi {i}", "help": i < 3})
    nonce = b64u_encode(secrets.token_bytes(16))  # one real pledge and an insider's changed copy
    key = call(live_server.base_url, "GET", f"/api/v1/campaigns/{cid}").json()["encryption_key"]
    for school in ("northview-high", "covina-high"):
        plain = json.dumps({"v": 1, "campaign_id": cid, "nonce": nonce,
                            "answers": {"school": school, "message": "same code"}}).encode()
        reply = call(live_server.base_url, "POST", f"/api/v1/campaigns/{cid}/pledges", {
            "key_version": key["version"],
            "ciphertext": b64u_encode(seal_bytes(b64u_decode(key["public_key"]), plain)),
            "withdraw_token_hash": b64u_encode(secrets.token_bytes(32))})
        assert reply.status == 201
    running = start_app(org.keystore)
    running.state.unlock(org.session)
    yield running, cid
    running.stop()


def table_count(page: Page) -> int:
    status = page.locator("#pledge-table [role=status]").inner_text()
    return int(re.match(r"\s*(\d+)", status).group(1))  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_table_agrees_with_the_counts_from_the_first_open(
        browser: Browser, app_with_pledges: Any, lang: str) -> None:
    running, cid = app_with_pledges
    total = PLEDGES + 2
    for width in (360, 1280):
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        if width == 360:
            page.goto(running.state.first_url())  # the token is single use: keep its cookie
            cookies = context.cookies()
        else:
            context.add_cookies(cookies)
        page.goto(f"{running.origin}/language/{lang}?next=/campaigns/{cid}/roster")
        # the first pass ends while the page is open: the table follows the counts by itself
        expect(page.locator("#roster-live")).to_have_attribute("data-opened", str(total))
        expect(page.locator("#pledge-table tbody tr")).to_have_count(total, timeout=20_000)
        assert table_count(page) == total  # swapped in by app.js, no reload
        expect(page.locator("#pledge-table .flag")).to_have_count(2)
        starts = stored_day_span("America/Los_Angeles").starts  # type: ignore[union-attr]
        words = {"en": ("2 pledges share their code", f"a day here runs from {starts} the day before",
                        "counts of pledges, not of people"),
                 "es": ("2 compromisos comparten su código",
                        f"un día aquí va de las {starts} del día anterior",
                        "conteos de compromisos, no de personas")}[lang]
        expect(page.locator("#roster-live")).to_contain_text(words[0])
        expect(page.locator("#pledge-table")).to_contain_text(words[1])
        expect(page.locator("body")).to_contain_text(words[2])
        shoot(page, f"roster-{width}-{lang}")
        if width == 360:  # publish once by hand; the card then says when the app republishes
            page.locator("form[action$='publish-counts'] button").click()
            expect(page.locator("body")).to_contain_text(
                {"en": "The counts are published", "es": "publicados"}[lang], timeout=30_000)
        page.goto(f"{running.origin}/campaigns/{cid}/roster")
        expect(page.locator("#auto-publish")).to_contain_text("08:00, 12:00, 16:00")
        expect(page.locator("#auto-publish")).to_contain_text("America/Los_Angeles")
        page.locator("#publish-heading").scroll_into_view_if_needed()
        keep = os.environ.get("PLEDGEBOX_SCREENSHOTS")
        if keep:
            page.locator("section[aria-labelledby=publish-heading]").screenshot(
                path=str(Path(keep) / f"roster-published-{width}-{lang}.png"))
        context.close()
