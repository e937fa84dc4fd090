"""Issue 12, the student's page for real people: form first on a phone, a word about in-app
browsers, sharing after a pledge, link previews, a withdrawal that asks first, and axe-core at zero
in every state. Debian's Chromium at a 360 x 740 phone viewport against a real server.

Set PLEDGEBOX_SCREENSHOTS=DIR to keep a screenshot of every state at 360 and 1280 px, en and es.
"""

import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from server.db import database
from server.models import Pledge
from tests.support.axe import AXE, axe_violations
from tests.support.factories import make_campaign, make_coalition
from tests.support.pledges import pledge_view

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
INSTAGRAM_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/UQ1A.240205.004; wv) "
                "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/156.0.0.0 Mobile "
                "Safari/537.36 Instagram 312.0.0.34.111 Android (34/14; 420dpi; 1080x2400; "
                "Google/google; Pixel 7; panther; panther; en_US; 548323749)")
TIKTOK_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Mobile/15E148 musical_ly_34.1.0 JsSdk/2.0 BytedanceWebview/d8a21c6")
SNAPCHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Mobile/15E148 Snapchat/13.10.0.40 (like Safari/8618.2.12.10.5, panda)")
FACEBOOK_UA = ("Mozilla/5.0 (Linux; Android 14; SM-S911B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
               "(KHTML, like Gecko) Version/4.0 Chrome/156.0.0.0 Mobile Safari/537.36 "
               "[FB_IAB/FB4A;FBAV/470.0.0.45.112;]")
FIELDS = [
    "school!:choice:Your school|Tu escuela:Covina High,Northview High,Eastside High",
    "message:text:Anything to add?|¿Algo que añadir?",
    "contact:contact:How to reach you|Cómo contactarte",
    "help:checkbox:I want to help|Quiero ayudar",
]
TITLE = "Walk out for safe schools"


@pytest.fixture
def site(tmp_path: Path, live_server: Any) -> dict[str, Any]:
    org = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(org, fields=FIELDS, title=TITLE)
    key = org.session.coalition["signing_key"]
    return {"org": org, "cid": cid, "base": live_server.base_url, "key": key,
            "link": f"{live_server.base_url}/p/{cid}#k={key}"}


def open_page(browser: Browser, lang: str = "en", viewport: dict[str, int] = PHONE,
              **options: Any) -> tuple[BrowserContext, Page]:
    if viewport is PHONE:
        options = {"is_mobile": True, "has_touch": True, **options}
    context = browser.new_context(locale=lang, viewport=viewport, **options)
    page = context.new_page()
    page.on("popup", lambda popup: pytest.fail(f"a pop-up opened: {popup.url}"))
    return context, page


def link_in(site: dict[str, Any], lang: str) -> str:
    return site["link"].replace("#k=", f"?lang={lang}#k=")


def ready(page: Page) -> None:
    expect(page.locator("#pledge-form")).to_be_visible()
    expect(page.locator("#send-button")).to_be_enabled()


def pledge(page: Page) -> None:
    page.locator("#pb-field-0-0").check()
    page.locator("#send-button").click()
    expect(page.locator("#receipt")).to_be_visible()


def shoot(page: Page, name: str) -> None:
    keep = os.environ.get("PLEDGEBOX_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(keep) / f"{name}.png"), full_page=True)


def stored() -> int:
    with database.connection_context(), pledge_view():
        return Pledge.select().count()


# --- 1. form first ---------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_first_field_is_on_the_first_phone_screen(browser, site, lang):
    context, page = open_page(browser, lang)
    page.goto(link_in(site, lang))
    ready(page)
    first = page.locator("#pb-field-0-0").bounding_box()
    assert first is not None
    assert first["y"] + first["height"] <= PHONE["height"], first
    expect(page.locator("#campaign-title")).to_have_text(TITLE)
    expect(page.locator("#action-day")).to_be_visible()
    # "Before you send" is one tap away, its one-line summary always visible.
    summary = page.locator("#before-sending summary")
    expect(summary).to_be_visible()
    expect(page.locator("#before-summary")).not_to_be_empty()
    expect(page.locator("#before-sending li").first).to_be_hidden()
    summary.click()
    expect(page.locator("#before-sending li").first).to_be_visible()
    expect(page.locator("#before-sending")).to_contain_text("Chromebooks")
    context.close()


def test_without_the_links_key_the_page_claims_nothing_it_could_not_check(browser, site):
    context, page = open_page(browser)
    page.goto(f"{site['base']}/p/{site['cid']}")
    expect(page.locator("#unverified-warning")).to_be_visible()
    expect(page.locator("#before-summary")).to_contain_text("a key nothing could check")
    page.locator("#before-sending summary").click()
    disclosure = page.locator("#before-sending")
    expect(disclosure).to_contain_text("whoever holds the key this page was given")
    shown = {"use_inner_text": True}  # what is on screen, not the hidden alternatives
    expect(disclosure).not_to_contain_text("checked that the link’s key signed", **shown)
    expect(disclosure).not_to_contain_text("readable only by", **shown)
    page.locator("#continue-anyway").check()
    pledge(page)
    expect(page.locator("#receipt")).to_contain_text("with the key this page was given")
    expect(page.locator("#receipt")).not_to_contain_text("can open it", **shown)
    context.close()


# --- 2. in-app browsers ----------------------------------------------------------------------------

@pytest.mark.parametrize(("agent", "app"), [(INSTAGRAM_UA, "Instagram"), (TIKTOK_UA, "TikTok"),
                                            (SNAPCHAT_UA, "Snapchat"), (FACEBOOK_UA, "Facebook")])
def test_inside_an_app_the_page_says_so_before_the_form_and_copies_the_link(browser, site, agent, app):
    context, page = open_page(browser, user_agent=agent)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(site["link"])
    ready(page)
    notice = page.locator("#in-app")
    expect(notice).to_be_visible()
    expect(notice.get_by_role("heading")).to_have_text(f"You opened this inside {app}")
    expect(notice).to_contain_text("Open in browser")
    box, form = notice.bounding_box(), page.locator("#pledge-form").bounding_box()
    assert box is not None
    assert form is not None
    assert box["y"] < form["y"]
    page.get_by_role("button", name="Copy the link").click()
    expect(page.locator("#copy-link-status")).to_contain_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == site["link"]
    context.close()


def test_in_a_phones_own_browser_there_is_no_app_notice(browser, site):
    context, page = open_page(browser)
    page.goto(site["link"])
    ready(page)
    expect(page.locator("#in-app")).to_be_hidden()
    context.close()


# --- 3. sharing and link previews --------------------------------------------------------------------

SHARE_STUB = "navigator.share = (data) => { window.__shared = data; return Promise.resolve(); };"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_after_a_pledge_the_share_button_hands_the_link_with_its_key_to_the_phone(browser, site, lang):
    context, page = open_page(browser, lang)
    page.add_init_script(SHARE_STUB)  # the phone's share sheet, which headless Chromium lacks
    page.goto(link_in(site, lang))
    ready(page)
    expect(page.locator("#share-button")).to_be_hidden()
    pledge(page)
    page.locator("#share-button").click()
    page.wait_for_timeout(200)
    shared = page.evaluate("window.__shared")
    assert shared["url"] == site["link"]  # the key travels; the language does not
    assert TITLE in shared["text"]
    assert shared["text"].startswith("Join us" if lang == "en" else "Únete")
    context.close()


def test_without_a_share_sheet_the_message_and_link_are_copied(browser, site):
    context, page = open_page(browser)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(site["link"])
    ready(page)
    assert page.evaluate("typeof navigator.share") == "undefined"
    pledge(page)
    page.get_by_role("button", name="Share the link").click()
    expect(page.locator("#share-status")).to_contain_text("copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.endswith(" " + site["link"])
    assert TITLE in copied
    context.close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_link_previews_carry_the_campaigns_public_words_and_our_own_card(browser, site):
    context, page = open_page(browser)
    page.goto(site["link"])
    ready(page)

    def meta(prop: str) -> str:
        return page.locator(f'meta[property="{prop}"]').get_attribute("content") or ""

    assert meta("og:title") == TITLE
    assert "Walk out together." in meta("og:description")
    image = meta("og:image")
    assert image.startswith(site["base"] + f"/p/{site['cid']}/card.png")
    reply = page.request.get(image)
    assert reply.status == 200
    assert reply.headers["content-type"] == "image/png"
    assert png_size(reply.body()) == (1200, 630)
    assert len(reply.body()) > 5000  # drawn, not blank
    shots = os.environ.get("PLEDGEBOX_SCREENSHOTS")
    if shots:
        Path(shots, "card-en.png").write_bytes(reply.body())
    context.close()


# --- 5. withdrawal ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "es"])
def test_withdrawal_asks_first_then_says_deleted_for_good_and_leads_back(browser, site, lang):
    context, page = open_page(browser, lang)
    page.goto(link_in(site, lang))
    ready(page)
    pledge(page)
    page.locator("#receipt-link").click()
    expect(page.locator("#receipt-input")).not_to_be_empty()
    footer = page.locator("footer.site a")
    assert all("/withdraw" not in (a.get_attribute("href") or "") for a in footer.all())

    page.locator("#withdraw-button").click()
    expect(page.locator("#withdraw-confirm")).to_be_visible()
    expect(page.locator("#confirm-heading")).to_be_focused()
    page.locator("#cancel-delete").click()  # changed their mind: nothing is sent
    expect(page.locator("#withdraw-form")).to_be_visible()
    assert stored() == 1

    page.locator("#withdraw-button").click()
    page.locator("#confirm-delete").click()
    done = page.locator("#withdraw-done")
    expect(done).to_be_visible()
    expect(page.locator("#done-heading")).to_have_text(
        "Deleted for good" if lang == "en" else "Borrado para siempre")
    assert stored() == 0
    back = page.locator("#back-to-campaign")
    expect(back).to_be_visible()
    back.click()
    ready(page)
    assert page.url == link_in(site, lang)
    context.close()


# --- axe-core and screenshots in every new state ------------------------------------------------------



def states(page: Page, site: dict[str, Any], lang: str) -> Iterator[str]:
    """Each state issue 12 adds, once it is on screen."""
    page.goto(link_in(site, lang))
    ready(page)
    yield "form-in-app"
    page.locator("#before-sending summary").click()
    expect(page.locator("#before-sending li").first).to_be_visible()
    yield "disclosure-open"
    pledge(page)
    yield "receipt"
    page.locator("#receipt-link").click()
    expect(page.locator("#receipt-input")).not_to_be_empty()
    yield "withdraw"
    page.locator("#withdraw-button").click()
    expect(page.locator("#withdraw-confirm")).to_be_visible()
    yield "withdraw-confirm"
    page.locator("#confirm-delete").click()
    expect(page.locator("#withdraw-done")).to_be_visible()
    yield "withdraw-done"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_axe_finds_nothing_in_the_new_states_on_a_phone_and_a_desktop(browser, site, lang):
    assert AXE.is_file(), "run `npm ci` in web/ (axe-core is a pinned devDependency)"
    found: dict[str, Any] = {}
    for width, viewport in (("360", PHONE), ("1280", DESKTOP)):
        for scheme in ("light", "dark"):
            # bypass_csp only here: it lets the test inject axe-core, which the page's CSP forbids.
            context, page = open_page(browser, lang, viewport, user_agent=INSTAGRAM_UA,
                                      bypass_csp=True, color_scheme=scheme)
            for state in states(page, site, lang):
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
                if scheme == "light":
                    shoot(page, f"{state}-{width}-{lang}")
                violations = axe_violations(page)
                if violations:
                    found[f"{state} {width} {scheme}"] = violations
            context.close()
    assert found == {}, found


def test_the_check_above_can_fail(browser, site):
    """axe-core really runs on these pages: a contrast failure planted in the hero is found."""
    context, page = open_page(browser, bypass_csp=True)
    page.goto(site["link"])
    ready(page)
    page.add_style_tag(content=".hero h1 { color: #12233f !important; }")
    assert "color-contrast" in {v["id"] for v in axe_violations(page)}
    context.close()


def test_every_student_page_footer_links_elsewhere(browser, site):
    context, page = open_page(browser)
    for path in ("/", f"/p/{site['cid']}", "/withdraw"):
        page.goto(site["base"] + path)
        for a in page.locator("footer a").all():
            target = re.sub(r"\?.*", "", a.get_attribute("href") or "")
            assert target != path, f"the footer of {path} links to itself"
    context.close()
