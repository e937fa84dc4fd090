"""The key-rollback alarm in Debian's Chromium, in English and Spanish, at phone and laptop widths:
the page the app opens on, and the banner other pages carry (tests/app/test_app_key_alarm.py tests
the behaviour; this checks what a teenager sees, with axe-core)."""

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from organizer import members, rotation
from server.db import database
from server.models import EncryptionKey, WrappedSecret
from tests.support.app_browser import LOCALES
from tests.support.app_browser import look as look_at
from tests.support.factories import fp, joined, make_coalition
from tests.support.organizer_app import start_app

pytestmark = pytest.mark.browser

TITLES = {"en": "Stop: your server served an old key",
          "es": "Alto: tu servidor entregó una llave antigua"}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_alarm_page_and_banner_read_plainly(browser, live_server, tmp_path, lang):
    admin = make_coalition(tmp_path, live_server.base_url)
    member = joined(tmp_path, admin, "member", "member")
    members.approve(admin.session, fp(member))
    members.remove(admin.session, fp(member))
    rotation.rotate(admin.session)
    with database.connection_context():  # the server rolls the key back to v1
        EncryptionKey.delete().where(EncryptionKey.version == 2).execute()
        WrappedSecret.delete().where(WrappedSecret.version == 2).execute()
    app = start_app(admin.keystore)
    app.state.unlock(admin.session)
    context = browser.new_context(locale=LOCALES[lang], bypass_csp=True)
    page = context.new_page()
    found: dict[str, Any] = {}
    try:
        page.goto(app.state.first_url())
        expect(page.locator("h1")).to_have_text(TITLES[lang])
        expect(page.locator(".alarm-card ol li")).to_have_count(3)
        look(page, "key-alarm", lang, found)
        page.goto(f"http://127.0.0.1:{app.port}/settings")
        expect(page.locator(".notice.error").first).to_contain_text(TITLES[lang])
        look(page, "key-alarm-banner", lang, found)
    finally:
        context.close()
        app.stop()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


def look(page: Any, name: str, lang: str, found: dict[str, Any]) -> None:
    assert page.locator("html").get_attribute("lang") == lang
    look_at(page, name, lang, found)
