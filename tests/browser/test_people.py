"""The student pages as students meet them: two languages, keyboard and screen reader, a phone
inside Instagram, nothing left behind in the browser, and organizers' news that cannot be forged.

Real Chromium (Debian's) through Playwright against a real gunicorn server on loopback.
"""

import json
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from crypto.signing import SigningKey
from crypto.statements import announcement_message
from organizer import announce, roster
from server.db import database
from server.models import Announcement
from tests.support.axe import AXE, axe_violations
from tests.support.factories import make_campaign, make_coalition

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
INSTAGRAM_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/UQ1A.240205.004; wv) "
                "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/156.0.0.0 Mobile "
                "Safari/537.36 Instagram 312.0.0.34.111 Android (34/14; 420dpi; 1080x2400; "
                "Google/google; Pixel 7; panther; panther; en_US; 548323749)")
FIELDS = [
    "school!:choice:Your school|Tu escuela:Covina High,Northview High",
    "message:text:Anything to add?|¿Algo que añadir?",
    "contact:contact:How to reach you|Cómo contactarte",
    "help:checkbox:I want to help|Quiero ayudar",
]
ENGLISH_ONLY = ["school!:choice:Your school:Covina High,Northview High"]


@pytest.fixture
def site(tmp_path: Path, live_server: Any) -> dict[str, Any]:
    """A coalition with one bilingual campaign on a live server; its share link."""
    org = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(org, fields=FIELDS, title="Walkout for safe schools")
    key = org.session.coalition["signing_key"]
    return {"org": org, "cid": cid, "base": live_server.base_url,
            "link": f"{live_server.base_url}/p/{cid}#k={key}"}


def new_page(browser: Browser, locale: str = "en-US", **options: Any) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale=locale, **options)
    page = context.new_page()
    page.on("popup", lambda popup: pytest.fail(f"a pop-up opened: {popup.url}"))
    return context, page


def wait_verified(page: Page) -> None:
    expect(page.locator("#pledge-form")).to_be_visible()


def storage_is_empty(context: BrowserContext, page: Page) -> None:
    assert context.cookies() == []
    left = page.evaluate("""async () => ({
        local: localStorage.length, session: sessionStorage.length,
        idb: (await indexedDB.databases()).length, caches: (await caches.keys()).length })""")
    assert left == {"local": 0, "session": 0, "idb": 0, "caches": 0}


# --- languages ------------------------------------------------------------------------------------

def test_spanish_browser_gets_spanish_page_and_the_switch_keeps_the_key(browser, site):
    context, page = new_page(browser, locale="es-MX")
    page.goto(site["link"])
    wait_verified(page)
    assert page.locator("html").get_attribute("lang") == "es"
    expect(page.locator("#status")).to_have_text(
        "Verificado: la clave de tu enlace firmó este formulario.")
    expect(page.locator("#before-sending summary")).to_contain_text("Antes de enviar:")
    expect(page.get_by_role("group", name="Tu escuela (obligatorio)")).to_be_visible()
    expect(page.get_by_label("¿Algo que añadir? (opcional)")).to_be_visible()
    expect(page.get_by_role("button", name="Cifrar y enviar mi compromiso")).to_be_visible()
    expect(page.locator("#campaign-facts")).to_contain_text(" de ")  # "27 de febrero de 2027"
    expect(page.locator("#before-sending")).to_contain_text("Chromebooks")

    page.get_by_role("link", name="English").click()
    wait_verified(page)
    assert "lang=en" in page.url
    assert "#k=" in page.url  # still checked against the link, not "could not be checked"
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator("#status")).to_have_text(
        "Checked: the key in your link signed this form.")
    expect(page.get_by_role("group", name="Your school (required)")).to_be_visible()
    expect(page.locator("#unverified-warning")).to_be_hidden()
    page.get_by_role("link", name="Español").click()
    wait_verified(page)
    assert page.locator("html").get_attribute("lang") == "es"
    context.close()


def test_language_follows_the_campaigns_languages(browser, site, live_server):
    english_only = make_campaign(site["org"], fields=ENGLISH_ONLY)
    link = site["link"].replace(site["cid"], english_only)
    context, page = new_page(browser, locale="es-ES")
    page.goto(link)
    wait_verified(page)
    assert page.locator("html").get_attribute("lang") == "en"
    # The student can still ask for Spanish: the page speaks it, the organizers' label stays
    # English and is marked so a screen reader reads it with English sounds.
    page.get_by_role("link", name="Español").click()
    wait_verified(page)
    assert page.locator("html").get_attribute("lang") == "es"
    legend = page.locator("#pb-field-0-0").locator("xpath=ancestor::fieldset[1]/legend")
    expect(legend).to_have_text("Your school (obligatorio)")
    assert legend.locator("span").get_attribute("lang") == "en"
    context.close()


def test_error_and_index_pages_in_both_languages(browser, site):
    context, page = new_page(browser, locale="es")
    response = page.goto(site["base"] + "/p/NoSuchCampaign")
    assert response is not None
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Algo salió mal")
    expect(page.locator("main")).to_contain_text("Esa campaña no existe.")
    page.get_by_role("link", name="English").click()
    expect(page.locator("main")).to_contain_text("There is no such campaign.")
    page.goto(site["base"] + "/?lang=es")
    expect(page.locator("main")).to_contain_text("datos móviles")
    context.close()


# --- the whole pledge, keyboard only, then nothing left behind -----------------------------------

def test_keyboard_only_pledge_in_spanish_leaves_nothing_in_the_browser(browser, site):
    context, page = new_page(browser, locale="es-MX")
    page.goto(site["link"])
    wait_verified(page)
    sentinel = "Nos vemos ahí – sentinel-7f3a"

    page.get_by_role("button", name="Cifrar y enviar mi compromiso").focus()
    page.keyboard.press("Enter")  # nothing chosen yet: errors next to the fields, focus moves there
    expect(page.locator("#status")).to_have_text("Corrige las respuestas marcadas abajo.")
    expect(page.locator("#pb-field-0-error")).to_have_text("Elige una opción.")
    expect(page.locator("#pb-field-0-0")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="Covina High")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_label("¿Algo que añadir? (opcional)")).to_be_focused()
    page.keyboard.type(sentinel)
    page.keyboard.press("Tab")
    contact = page.get_by_label("Cómo contactarte (opcional)")
    expect(contact).to_be_focused()
    hint_id = (contact.get_attribute("aria-describedby") or "").split()[0]
    assert "anonimato" in page.locator("#" + hint_id).inner_text()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Quiero ayudar")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # "Antes de enviar": the disclosure, one key away
    expect(page.locator("#before-sending summary")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Cifrar y enviar mi compromiso")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#receipt-heading")).to_be_focused()
    expect(page.locator("#status")).to_have_text("Tu compromiso fue enviado. Guarda tu comprobante.")
    receipt = page.locator("#receipt-text").input_value()
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}", receipt)
    assert page.get_by_label("¿Algo que añadir? (opcional)").input_value() == ""  # form reset
    page.get_by_role("button", name="Copiar comprobante").click()
    expect(page.locator("#copy-status")).not_to_be_empty()
    storage_is_empty(context, page)

    # Only the organizers' tool can read it, and it reads exactly what was typed.
    tally = roster.Tally()
    [row] = list(roster.pledges(site["org"].session, site["cid"], tally))
    assert row["answers"] == {"school": "covina-high", "message": sentinel, "help": True}

    # The receipt's withdraw link keeps the language and deletes the pledge.
    page.locator("#receipt-link").click()
    assert "/withdraw?lang=es#r=" in page.url
    expect(page.locator("#receipt-input")).to_have_value(receipt)
    page.get_by_role("button", name="Borrar mi compromiso").click()
    page.get_by_role("button", name="Sí, borrarlo para siempre").click()
    expect(page.locator("#status")).to_have_text("Tu compromiso se borró para siempre.")
    assert "#r=" not in page.url
    storage_is_empty(context, page)
    assert list(roster.pledges(site["org"].session, site["cid"], roster.Tally())) == []
    context.close()


# --- axe-core -------------------------------------------------------------------------------------



def _student_states(page: Page, site: dict[str, Any], lang: str) -> Iterator[str]:
    """Visit each state a student can see; yield its name once it is on screen."""
    base, q = site["base"], f"?lang={lang}"
    page.goto(site["link"].replace("#k=", q + "#k="))
    wait_verified(page)
    yield "pledge form (verified link, with news)"
    page.locator("#send-button").click()
    expect(page.locator("#pb-field-0-error")).to_be_visible()
    yield "pledge form with errors"
    page.locator("#pb-field-0-1").check()
    page.locator("#send-button").click()
    expect(page.locator("#receipt")).to_be_visible()
    yield "receipt"
    page.goto(f"{base}/p/{site['cid']}{q}")
    expect(page.locator("#unverified-warning")).to_be_visible()
    yield "pledge page without the link's key"
    page.goto(f"{base}/p/{site['closed']}{q}#k={site['link'].split('#k=')[1]}")
    expect(page.locator("#closed")).to_be_visible()
    yield "closed campaign"
    page.goto(f"{base}/p/{site['cid']}{q}#k=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    expect(page.locator("#verify-failed")).to_be_visible()
    yield "link that does not verify"
    page.goto(f"{base}/withdraw{q}")
    yield "withdraw page"
    page.locator("#receipt-input").fill("not a receipt")
    page.locator("#withdraw-button").click()
    expect(page.locator("#status")).not_to_be_empty()
    yield "withdraw page with a message"
    page.goto(f"{base}/{q}")
    yield "home page"
    page.goto(f"{base}/p/NoSuchCampaign{q}")
    yield "error page"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_axe_finds_no_wcag_22_aa_violation_on_any_student_page(browser, site, lang):
    site["closed"] = make_campaign(site["org"], fields=FIELDS, action_in=0, closes_in=-1,
                                   delete_in=5)
    announce.post(site["org"].session, site["cid"], announce.build_announcement(
        site["cid"], "We meet at the flagpole at 10am.", "Nos vemos en el asta a las 10.",
        datetime.now(UTC).date()))
    assert AXE.is_file(), "run `npm ci` in web/ (axe-core is a pinned devDependency)"
    for scheme in ("light", "dark"):
        # bypass_csp only here: it lets the test inject axe-core, which the page's CSP forbids.
        context, page = new_page(browser, locale=lang, bypass_csp=True,
                                 color_scheme=scheme, viewport=PHONE)
        found = {}
        keep = os.environ.get("PLEDGEBOX_SCREENSHOTS")
        for state in _student_states(page, site, lang):
            assert page.locator("html").get_attribute("lang") == lang, state
            if keep and scheme == "light":
                name = re.sub(r"[^a-z]+", "-", state.lower()).strip("-")
                page.screenshot(path=str(Path(keep) / f"people-{name}-360-{lang}.png"), full_page=True)
            violations = axe_violations(page)
            if violations:
                found[f"{state} ({scheme})"] = violations
        # The check can fail: an unlabelled field added to the page is reported.
        page.evaluate("document.querySelector('main').appendChild(document.createElement('input'))")
        assert "label" in {v["id"] for v in axe_violations(page)}
        context.close()
        assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


# --- phones, Instagram, screenshots ---------------------------------------------------------------

def test_phone_in_instagram_browser_and_desktop_layouts(browser, site, tmp_path):
    announce.post(site["org"].session, site["cid"], announce.build_announcement(
        site["cid"], "Bring water and a friend. We walk out at 10:00 sharp.",
        "Trae agua y a un amigo. Salimos a las 10:00 en punto.", datetime.now(UTC).date()))
    shots = []
    for name, viewport, mobile, lang in (("phone", PHONE, True, "es"),
                                         ("desktop", DESKTOP, False, "en")):
        extra = {"user_agent": INSTAGRAM_UA, "is_mobile": True, "has_touch": True,
                 "device_scale_factor": 2} if mobile else {}
        context, page = new_page(browser, locale=lang, viewport=viewport, **extra)
        page.goto(site["link"])
        wait_verified(page)
        expect(page.locator("#announcements li")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert page.locator("a[target], form[target]").count() == 0
        button = page.locator("#send-button").bounding_box()
        assert button is not None
        if mobile:  # a full-width, thumb-sized button inside the screen
            assert button["width"] >= viewport["width"] - 40
            assert button["height"] >= 44
        shots.append(tmp_path / f"pledge-{name}-{lang}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)

        if mobile:
            page.locator("#pb-field-0-0").tap()
        else:
            page.locator("#pb-field-0-0").check()
        page.locator("#send-button").click()
        expect(page.locator("#receipt")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        shots.append(tmp_path / f"receipt-{name}-{lang}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)
        page.goto(site["base"] + f"/withdraw?lang={lang}")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        shots.append(tmp_path / f"withdraw-{name}-{lang}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)
        storage_is_empty(context, page)
        context.close()
    for shot in shots:
        assert shot.stat().st_size > 10_000, shot  # a rendered page, not a blank one
    keep = os.environ.get("PLEDGEBOX_SCREENSHOTS")
    if keep:  # for a person to look at them
        for shot in shots:
            shutil.copy(shot, Path(keep) / shot.name)


# --- announcements --------------------------------------------------------------------------------

def _insert(cid: str, body: dict[str, Any], key: SigningKey) -> None:
    raw = json.dumps(body).encode()
    with database.connection_context():
        Announcement.create(id=body["id"], campaign=cid, body=raw,
                            signature=key.sign(announcement_message(raw)))


def test_only_announcements_signed_by_the_links_key_are_shown(browser, site):
    org, cid = site["org"], site["cid"]
    other_campaign = make_campaign(org, fields=FIELDS)
    announce.post(org.session, cid, announce.build_announcement(
        cid, "Walkout moved to 10:30.", "La salida se movió a las 10:30.", datetime.now(UTC).date()))
    today = datetime.now(UTC).date().isoformat()
    # Written straight into the database, as someone who took over the server could:
    _insert(cid, {"campaign_id": cid, "id": "forged", "day": today,
                  "message": {"en": "FORGED: the walkout is cancelled",
                              "es": "FORGED: se cancela"}}, SigningKey.generate())
    _insert(cid, {"campaign_id": other_campaign, "id": "moved", "day": today,
                  "message": {"en": "MOVED: from another campaign"}}, org.session.signing_key())

    context, page = new_page(browser, locale="es")
    page.goto(site["link"])
    wait_verified(page)
    news = page.locator("#announcements")
    expect(news).to_be_visible()
    expect(news.get_by_role("heading")).to_have_text("Noticias de los organizadores")
    expect(news.locator("li")).to_have_count(1)
    expect(news).to_contain_text("La salida se movió a las 10:30.")
    expect(page.locator("body")).not_to_contain_text("FORGED")
    expect(page.locator("body")).not_to_contain_text("MOVED")

    page.locator("#pb-field-0-0").check()
    page.locator("#send-button").click()
    expect(page.locator("#receipt")).to_be_visible()
    expect(news).to_be_visible()  # still there above the receipt
    expect(page.locator("#receipt")).to_contain_text("vuelve a abrir el enlace de la campaña")

    # Without the link's key there is nothing to check news against, so none is shown.
    page.goto(f"{site['base']}/p/{cid}")
    expect(page.locator("#unverified-warning")).to_be_visible()
    expect(news).to_be_hidden()
    context.close()
