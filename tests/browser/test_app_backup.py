"""Backups when they matter (issue 18, item 3), in Debian's Chromium.

The app never offers a backup before the coalition exists (it would restore an empty "Get
started"). Once the keystore holds the coalition's keys it asks for one, names the file by
coalition, day and key version, and asks again after a key rotation and after an approval. A
backup restored on a new laptop says what came back: the coalition, the role, the key versions,
the campaigns the server still has. Screens in English and Spanish at phone and laptop widths.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from organizer import coalition, members
from organizer.session import Session
from tests.support.app_browser import LOCALES, look, open_app
from tests.support.factories import PASSPHRASE, make_campaign, make_coalition, new_organizer
from tests.support.organizer_app import RunningApp, start_app

pytestmark = pytest.mark.browser

WORDS = {
    "en": {"download": "Download a backup", "coalition": "Keep a backup now",
           "keys": "your coalition's key changed", "approval": "you approved an organizer",
           "change": "Change the key", "back": "Your keystore is back", "versions": "key version 2",
           "campaigns": "1 live campaign on the server", "continue": "Continue",
           "approve": "Approve"},
    "es": {"download": "Descargar una copia de seguridad", "coalition": "Guarda una copia de seguridad ahora",
           "keys": "la llave de tu coalición cambió", "approval": "aprobaste a un organizador",
           "change": "Cambiar la llave", "back": "Tu almacén de llaves volvió",
           "versions": "versión de llave 2", "campaigns": "1 campaña activa en el servidor",
           "continue": "Continuar", "approve": "Aprobar"},
}


def download(page: Page, words: dict[str, str]) -> tuple[str, bytes]:
    with page.expect_download() as got:
        page.locator(".backup-due").get_by_role("link", name=words["download"]).click()
    return got.value.suggested_filename, Path(got.value.path()).read_bytes()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_backups_are_asked_for_when_they_matter_and_say_what_came_back(
        browser, live_server, tmp_path, lang):
    words = WORDS[lang]
    locale = LOCALES[lang]
    found: dict[str, Any] = {}
    apps: list[RunningApp] = []
    admin = make_coalition(tmp_path, live_server.base_url)
    make_campaign(admin)
    today = coalition.utc_today().isoformat()
    try:
        app, page = open_app(browser, apps, admin.keystore, locale, checked=False, bypass_csp=True,
                             accept_downloads=True)
        page.fill("#passphrase", PASSPHRASE)
        page.locator("form.stack button[type=submit]").click()
        expect(page.locator(".backup-due")).to_contain_text(words["coalition"])
        look(page, "backup-due", lang, found)
        name, first = download(page, words)
        assert name == f"pledgebox-covina-schools-coalition-{today}-key1.json"
        assert json.loads(first)["format"] == "pledgebox-keystore"
        page.reload()
        expect(page.locator(".backup-due")).to_have_count(0)  # answered, also after a reload

        page.goto(f"http://127.0.0.1:{app.port}/keys")
        page.get_by_role("button", name=words["change"]).click()
        expect(page.locator("#job-next")).to_be_visible(timeout=30000)
        page.locator("#job-next").click()
        expect(page.locator(".backup-due")).to_contain_text(words["keys"])
        name, second = download(page, words)
        assert name == f"pledgebox-covina-schools-coalition-{today}-key2.json"  # not the same name

        newcomer = new_organizer(tmp_path, name="newcomer")
        page.goto(f"http://127.0.0.1:{app.port}/organizers")
        page.locator("form[action$='/organizers/invite'] button").click()
        members.join(newcomer.session, members.Invite.decode(page.input_value("#invite-text")))
        page.goto(f"http://127.0.0.1:{app.port}/organizers")
        page.locator("input[name=compared]").check()
        page.locator("form[action$='/organizers/approve'] button[type=submit]").click()
        expect(page.locator(".backup-due")).to_contain_text(words["approval"])

        # The second backup, restored on a new laptop, says what came back.
        backup_file = tmp_path / name
        backup_file.write_bytes(second)
        _, other = open_app(browser, apps, tmp_path / "new-laptop" / "keystore.json", locale,
                            checked=False, bypass_csp=True)
        other.locator("summary").click()
        other.set_input_files("#backup", str(backup_file))
        other.fill("#restore-passphrase", PASSPHRASE)
        other.locator("form[action$='/welcome/restore'] button[type=submit]").click()
        expect(other.locator("h1")).to_have_text(words["back"])
        facts = other.locator(".restored")
        expect(facts).to_contain_text("Covina Schools Coalition")
        expect(facts).to_contain_text(words["versions"])
        expect(facts).to_contain_text(words["campaigns"])
        expect(other.locator(".backup-due")).to_have_count(0)
        look(other, "backup-restored", lang, found)
        restored = Session.open(tmp_path / "new-laptop" / "keystore.json", PASSPHRASE)
        assert restored.encryption_versions() == [2]  # v1 re-encrypted away and pruned
        other.get_by_role("link", name=words["continue"]).click()
        expect(other.locator(".campaign")).to_have_count(1)
        other.context.close()
        page.context.close()
    finally:
        for running in apps:
            running.stop()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


def test_a_backup_from_before_the_coalition_says_it_holds_no_coalition(browser, tmp_path):
    Session.create(tmp_path / "early.json", PASSPHRASE)
    fresh = start_app(tmp_path / "laptop" / "keystore.json")
    try:
        page = browser.new_context(locale="en-US", bypass_csp=True).new_page()
        page.goto(fresh.state.first_url())
        page.locator("summary").click()
        page.set_input_files("#backup", str(tmp_path / "early.json"))
        page.fill("#restore-passphrase", PASSPHRASE)
        page.locator("form[action$='/welcome/restore'] button[type=submit]").click()
        expect(page.locator(".lead")).to_contain_text("made before you joined or started a coalition")
        page.context.close()
    finally:
        fresh.stop()
