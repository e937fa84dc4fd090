"""Protocol 1.1 on the student's page (issue 11): the signed coalition name, the student's language,
dates in the campaign's zone, a nonce in every pledge, and counts shown only when the link's key
signed them. Debian's Chromium at phone size against a real server; tallies are published through
the organizers' API by the organizer tool, forged ones written straight into the database as
someone who took over the server could.
"""

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from crypto.encoding import b64u_encode
from crypto.statements import tally_message
from organizer import roster, tally
from server.db import database
from server.models import Coalition, Pledge, Tally
from tests.support.axe import axe_violations
from tests.support.factories import make_campaign, make_coalition
from tests.support.http import call
from tests.support.pledges import pledge_view

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
FIELDS = [
    "school!:choice:Your school|Tu escuela:Covina High,Northview High,Eastside High",
    "message:text:Anything to add?|¿Algo que añadir?",
]
SIGNED_NAME = "Covina Schools Coalition"


@pytest.fixture
def site(tmp_path: Path, live_server: Any) -> dict[str, Any]:
    org = make_coalition(tmp_path, live_server.base_url, name=SIGNED_NAME)
    cid = make_campaign(org, fields=FIELDS, title="Walk out for safe schools",
                        title_es="Salida por escuelas seguras", description_es="Salgamos juntos.",
                        time_zone="America/Los_Angeles", threshold=100, threshold_field="school",
                        per_option={"eastside-high": 40})
    key = org.session.coalition["signing_key"]
    return {"org": org, "cid": cid, "base": live_server.base_url, "key": key,
            "link": f"{live_server.base_url}/p/{cid}#k={key}"}


def open_page(browser: Browser, lang: str = "en-US") -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale=lang, viewport=PHONE, is_mobile=True, has_touch=True)
    return context, context.new_page()


def ready(page: Page) -> None:
    expect(page.locator("#pledge-form")).to_be_visible()


def today() -> str:
    """The tool's date in the campaign's zone, as a tally carries it."""
    return datetime.now(ZoneInfo("America/Los_Angeles")).date().isoformat()


def body_for(site: dict[str, Any], **over: Any) -> bytes:
    t = {"campaign_id": site["cid"], "coalition_id": site["org"].session.coalition_id,
         "day": today(), "total": 112, "counts": {"covina-high": 112, "eastside-high": 0},
         "few": ["northview-high"], "reached": ["covina-high"]}
    return json.dumps({**t, **over}, separators=(",", ":")).encode()


def publish(site: dict[str, Any], body: bytes) -> None:
    tally.publish(site["org"].session, site["cid"], body)  # signed, through the organizers' API


def shoot(page: Page, name: str) -> None:
    keep = os.environ.get("PLEDGEBOX_SCREENSHOTS")
    if keep:
        page.screenshot(path=str(Path(keep) / f"{name}.png"), full_page=True)


def test_the_page_names_the_coalition_that_signed_never_the_servers_copy(browser, site):
    with database.connection_context():  # the unsigned copy, as a hostile server could change it
        Coalition.update(name="Totally Official Name").where(
            Coalition.id == site["org"].session.coalition_id).execute()
    assert call(site["base"], "GET", f"/api/v1/campaigns/{site['cid']}").json()[
        "coalition_name"] == "Totally Official Name"
    context, page = open_page(browser)
    page.goto(site["link"])
    ready(page)
    expect(page.locator("#coalition-name")).to_have_text(SIGNED_NAME)
    page.locator("#before-sending summary").click()
    expect(page.locator("#before-sending")).to_contain_text(f"readable only by {SIGNED_NAME}")
    expect(page.locator("body")).not_to_contain_text("Totally Official")
    og = page.locator('meta[property="og:description"]').get_attribute("content") or ""
    assert SIGNED_NAME in og
    assert "Totally Official" not in og
    context.close()


@pytest.mark.parametrize(("locale", "title", "description"), [
    ("es-MX", "Salida por escuelas seguras", "Salgamos juntos."),
    ("en-US", "Walk out for safe schools", "Walk out together.")])
def test_title_and_description_in_the_students_language(browser, site, locale, title, description):
    context, page = open_page(browser, locale)
    page.goto(site["link"])
    ready(page)
    expect(page.locator("#campaign-title")).to_have_text(title)
    expect(page.locator("#campaign-description")).to_have_text(description)
    assert page.title().startswith(title)
    assert page.locator('meta[property="og:title"]').get_attribute("content") == title
    # Dates are the campaign's calendar days: no "UTC" where the campaign names its zone.
    facts = page.locator("#campaign-facts")
    expect(facts).not_to_contain_text("UTC")
    expect(facts).to_contain_text("until the end of" if locale == "en-US" else "hasta el final del")
    shoot(page, f"v11-form-360-{locale[:2]}")
    context.close()


def test_a_signed_count_shows_each_schools_progress_and_stays_on_the_receipt(browser, site):
    publish(site, body_for(site))
    context, page = open_page(browser)
    page.goto(site["link"])
    ready(page)
    box = page.locator("#tally")
    expect(box).to_be_visible()
    # Northview is in "few" (1 to 4 pledges, never a number): the total leaves it out, so the
    # sentence says "more than" and counts pledges, not people (a phone can pledge twice).
    expect(page.locator("#tally-total")).to_have_text("More than 112 pledges so far")
    expect(page.locator("#tally-goal")).to_have_text("It’s on where 100 or more pledge.")
    rows = page.locator(".tally-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Covina High")
    expect(rows.nth(0)).to_contain_text("It’s on! 112 pledged (goal: 100)")
    expect(rows.nth(1)).to_contain_text("A few so far (1 to 4) of 100")
    expect(rows.nth(2)).to_contain_text("0 of 40: 40 more to go")  # its own number
    expect(page.locator("#tally-day")).to_contain_text(f"signed by {SIGNED_NAME}")
    expect(page.locator("#tally-unavailable")).to_be_hidden()
    # The banner says it too, and the form still starts on the first screen.
    expect(page.locator("#hero-count")).to_have_text(
        "More than 112 pledges so far · it’s on at Covina High")
    first = page.locator("#pb-field-0-0").bounding_box()
    assert first is not None
    assert first["y"] + first["height"] <= PHONE["height"]
    shoot(page, "v11-tally-360-en")
    page.locator("#pb-field-0-1").check()
    page.locator("#send-button").click()
    expect(page.locator("#receipt")).to_be_visible()
    expect(box).to_be_visible()  # the receipt page shows the same
    expect(page.locator("#tally-total")).to_have_text("More than 112 pledges so far")
    shoot(page, "v11-receipt-360-en")
    context.close()


@pytest.mark.parametrize(("counts", "few", "headline", "banner"), [
    # Issue 18.2: after "Publish counts" with 9 pledges, every school in "few": the page said
    # "0 people have pledged". Now it names where pledges have started.
    ({"covina-high": 0, "northview-high": 0, "eastside-high": 0}, [],
     "No pledges counted yet: be one of the first.", "No pledges counted yet: be one of the first."),
    ({}, ["covina-high", "northview-high", "eastside-high"],
     "Pledges have started at Covina High, Northview High and 1 more",
     "Pledges have started at Covina High, Northview High and 1 more"),
    ({"covina-high": 0, "eastside-high": 0}, ["northview-high"], "Pledges have started at Northview High",
     "Pledges have started at Northview High"),
    ({"covina-high": 30, "northview-high": 12, "eastside-high": 25}, [], "67 pledges so far",
     "67 pledges so far · closest: Eastside High, 15 more to go"),
])
def test_the_count_sentence_is_true_and_encouraging_whatever_the_tally(browser, site, counts, few,
                                                                          headline, banner):
    total = sum(counts.values())
    publish(site, body_for(site, total=total, counts=counts, few=few, reached=[]))
    context, page = open_page(browser)
    page.goto(site["link"])
    ready(page)
    expect(page.locator("#tally-total")).to_have_text(headline)
    expect(page.locator("#hero-count")).to_have_text(banner)
    expect(page.locator("#tally")).not_to_contain_text("0 people")
    context.close()


def test_the_count_in_spanish(browser, site):
    publish(site, body_for(site))
    context, page = open_page(browser, "es-MX")
    page.goto(site["link"])
    ready(page)
    expect(page.locator("#tally-total")).to_have_text("Más de 112 compromisos hasta ahora")
    expect(page.locator(".tally-row").nth(0)).to_contain_text("¡Se hace!")
    shoot(page, "v11-tally-360-es")
    context.close()


def _forge(site: dict[str, Any], body: bytes, signature: bytes) -> None:
    with database.connection_context():
        Tally.update(body=body, signature=signature).where(Tally.campaign == site["cid"]).execute()


def test_a_forged_count_is_not_shown_and_the_page_says_counts_are_unavailable(browser, site):
    real = body_for(site)
    publish(site, real)
    with database.connection_context():
        signature = bytes(Tally.get(Tally.campaign == site["cid"]).signature)
    forged = real.replace(b'"total":112', b'"total":512').replace(b":112}", b":512}")
    assert forged != real
    _forge(site, forged, signature)  # body changed, signature kept
    served = call(site["base"], "GET", f"/api/v1/campaigns/{site['cid']}").json()["tally"]
    assert served["body"] == b64u_encode(forged)
    context, page = open_page(browser)
    page.goto(site["link"])
    ready(page)
    expect(page.locator("#tally-unavailable")).to_be_visible()
    expect(page.locator("#tally")).to_be_hidden()
    expect(page.locator("#hero-count")).to_be_hidden()
    expect(page.locator("body")).not_to_contain_text("512")
    expect(page.locator("#send-button")).to_be_enabled()  # otherwise it works as usual
    shoot(page, "v11-tally-refused-360-en")

    # Signed by the right key, but for another campaign: refused too.
    other = make_campaign(site["org"], fields=FIELDS, threshold=100, threshold_field="school")
    elsewhere = body_for(site, campaign_id=other)
    _forge(site, elsewhere, site["org"].session.signing_key().sign(tally_message(elsewhere)))
    page.goto(site["link"])
    ready(page)
    expect(page.locator("#tally-unavailable")).to_be_visible()
    expect(page.locator("#tally")).to_be_hidden()
    context.close()


def test_without_the_links_key_no_counts_are_shown(browser, site):
    publish(site, body_for(site))
    context, page = open_page(browser)
    page.goto(f"{site['base']}/p/{site['cid']}")
    expect(page.locator("#unverified-warning")).to_be_visible()
    expect(page.locator("#tally")).to_be_hidden()
    expect(page.locator("#tally-unavailable")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("112")
    context.close()


def test_every_pledge_carries_a_nonce_so_a_replayed_copy_is_counted_once(browser, site):
    context, page = open_page(browser)
    sent: list[bytes] = []
    page.on("request", lambda r: sent.append(r.post_data_buffer or b"")
            if r.method == "POST" and r.url.endswith("/pledges") else None)
    page.goto(site["link"])
    ready(page)
    page.locator("#pb-field-0-0").check()
    page.locator("#send-button").click()
    expect(page.locator("#receipt")).to_be_visible()
    context.close()
    [original] = sent
    replay = {**json.loads(original), "withdraw_token_hash": b64u_encode(bytes(32))}
    assert call(site["base"], "POST", f"/api/v1/campaigns/{site['cid']}/pledges",
                replay).status == 201  # a server can store one ciphertext twice
    with database.connection_context(), pledge_view():
        assert Pledge.select().count() == 2
    stats = roster.Tally()
    rows = list(roster.pledges(site["org"].session, site["cid"], stats))
    assert len(rows) == 1
    assert stats.duplicates == 1






@pytest.mark.parametrize("lang", ["en", "es"])
def test_axe_finds_nothing_with_counts_shown_refused_or_absent(browser, site, lang):
    publish(site, body_for(site))
    found = {}
    for width, viewport in (("360", PHONE), ("1280", {"width": 1280, "height": 800})):
        for scheme in ("light", "dark"):
            context = browser.new_context(locale=lang, viewport=viewport, bypass_csp=True,
                                          color_scheme=scheme)
            page = context.new_page()
            for state, url in (("tally", site["link"]),
                               ("tally-unavailable", f"{site['base']}/p/{site['cid']}")):
                page.goto(url.replace(f"/p/{site['cid']}", f"/p/{site['cid']}?lang={lang}"))
                expect(page.locator("#tally" if state == "tally" else "#tally-unavailable")
                       ).to_be_visible()
                if scheme == "light":
                    shoot(page, f"v11-{state}-{width}-{lang}")
                if violations := axe_violations(page):
                    found[f"{state} {width} {scheme}"] = violations
            context.close()
    assert found == {}, found
    card = call(site["base"], "GET", f"/p/{site['cid']}/card.png?lang={lang}")
    assert card.status == 200
    keep = os.environ.get("PLEDGEBOX_SCREENSHOTS")
    if keep:
        Path(keep, f"card-{lang}.png").write_bytes(card.body)
