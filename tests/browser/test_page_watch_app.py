"""The page watch in the organizer app, in Debian's Chromium (issue 19): the home page's line
after a clean check, then, with a tampering layer in front of the real server serving iPhones
another page, the red alarm on every page, naming the client and what differed, with what to do
now in English and Spanish. Screenshots at phone and laptop widths in both languages."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import backend_server
from tests.integration.test_page_watch import iphone_extra_script
from tests.support.app_browser import WIDTHS, screenshots
from tests.support.factories import PASSPHRASE, make_campaign, make_coalition
from tests.support.organizer_app import start_app
from tests.support.tamper import tampering_proxy

pytestmark = pytest.mark.browser

SCREENS = Path(os.environ.get("PLEDGEBOX_SCREENS", "/work/screens/watch"))
ROUND_SECONDS = 120_000  # ms: one round of ten visits on a shared machine


def _shots(page: Page, name: str, lang: str) -> None:
    screenshots(page, name, lang, SCREENS)


def _check_now(page: Page, base: str) -> None:
    page.goto(f"{base}/watch")
    page.get_by_role("button", name=re.compile("Check now|Revisar ahora")).click()


def test_the_app_says_what_its_watch_saw_and_raises_the_alarm_on_every_page(
        browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with backend_server(tmp_path, "sqlite") as (server, _db, _clock), \
            tampering_proxy(server.base_url) as proxy:
        admin = make_coalition(tmp_path, proxy.base_url)
        cid = make_campaign(admin, title_es="Salida")
        app = start_app(admin.keystore)
        watch = app.server.app.extensions["pledgebox_watch"]  # type: ignore[attr-defined]
        watch.start(first_pause=3600)  # rounds here only when "Check now" asks
        try:
            page = browser.new_context(locale="en-US", viewport=WIDTHS["laptop"]).new_page()
            page.on("pageerror", lambda e: pytest.fail(f"script error: {e}"))
            page.goto(app.state.first_url())
            base = f"http://127.0.0.1:{app.port}"
            page.fill("#passphrase", PASSPHRASE)
            page.locator("form.stack button[type=submit]").click()
            expect(page.locator(".watch-line.waiting")).to_be_visible()

            _check_now(page, base)
            assert _reload_until(page, ".watch-line.clean")
            page.goto(f"{base}/")
            line = page.locator(".watch-line")
            expect(line).to_contain_text("the pages students get are the real ones")
            expect(line).not_to_contain_text("verified")
            expect(page.locator(".watch-alarm")).to_have_count(0)
            _shots(page, "home-clean", "en")
            page.get_by_role("link", name="Español").click()
            expect(page.locator(".watch-line")).to_contain_text("las páginas que reciben los estudiantes")
            _shots(page, "home-clean", "es")
            page.get_by_role("link", name="English").click()

            proxy.rewrite = iphone_extra_script
            _check_now(page, base)
            assert _reload_until(page, ".watch-alarm")
            for path in ("/", "/organizers", "/keys", "/watch"):  # the banner is on every page
                page.goto(base + path)
                expect(page.locator(".watch-alarm")).to_contain_text("Stop sharing the link")
            findings = page.locator(".watch-findings li")
            expect(findings.first).to_contain_text("iPhone")
            expect(findings.first).to_contain_text(cid)
            expect(findings.first).to_contain_text("Walkout")  # the campaign's title, not only its id
            expect(page.locator(".watch-findings")).to_contain_text("scripts where this release has")
            expect(page.locator(".watch-findings")).not_to_contain_text("Android")
            expect(page.locator("#post-en")).to_have_value(re.compile("Don't pledge until we say it's safe"))
            expect(page.locator("#post-es")).to_have_value(re.compile("No te comprometas"))
            expect(page.locator("main")).to_contain_text("cannot prove the page is safe for every student")
            evidence = list((tmp_path / "data" / "pledgebox" / "watch").iterdir())
            assert evidence
            assert str(evidence[0].parent) in page.locator(".watch-findings").inner_text()
            _shots(page, "watch-alarm", "en")
            page.goto(f"{base}/")
            _shots(page, "home-alarm", "en")

            page.get_by_role("link", name="Español").click()
            expect(page.locator(".watch-alarm")).to_contain_text("Deja de compartir el enlace")
            _shots(page, "home-alarm", "es")
            page.goto(f"{base}/watch")
            expect(page.locator("h1")).to_have_text("Vigilancia de la página")
            expect(page.locator(".watch-findings")).to_contain_text("iPhone Safari, español")
            _shots(page, "watch-alarm", "es")
        finally:
            proxy.rewrite = None
            watch.stop()
            app.stop()


def _reload_until(page: Page, selector: str) -> bool:
    """Reload the watch page until `selector` shows (a round runs in the app's background)."""
    for _ in range(ROUND_SECONDS // 2000):
        if page.locator(selector).count():
            return True
        page.wait_for_timeout(2000)
        page.reload()
    return False
