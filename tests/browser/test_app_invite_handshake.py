"""The invite handshake in two organizer apps that read different languages (issue 18, items 13 to
15), in Debian's Chromium against a real server: nobody reloads a page. The admin (English) makes
an invite; the newcomer (Spanish) joins; the admin's page shows them by itself, with the same
safety number the newcomer reads (the words differ: each one's language), and the invite no longer
offered as valid; the admin approves and names them; the newcomer's page says so by itself.
"""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from crypto.identity import safety_number, safety_words
from organizer import members
from tests.support.app_browser import open_app, shoot_both_languages, unlock
from tests.support.factories import PASSPHRASE, make_coalition, new_organizer
from tests.support.live import LiveServer
from tests.support.organizer_app import RunningApp

pytestmark = pytest.mark.browser

ON_ITS_OWN = 15_000  # ms: the pages poll every 4 s


def test_join_shows_up_and_approval_arrives_without_a_reload_in_two_languages(
        browser: Browser, live_server: LiveServer, tmp_path: Path, apps: list[RunningApp]) -> None:
    admin_handle = make_coalition(tmp_path, live_server.base_url)
    admin_app, admin = open_app(browser, apps, admin_handle.keystore)
    unlock(admin)
    admin.get_by_role("link", name="Organizers").click()
    admin.select_option("#role", "member")
    admin.get_by_role("button", name="Make an invite").click()
    invite = admin.input_value("#invite-text")
    expect(admin.locator(".open-invites li")).to_have_count(1)

    newcomer_app, newcomer = open_app(browser, apps, tmp_path / "newcomer" / "keystore.json",
                                      locale="es-MX")
    make_keystore_es(newcomer)
    newcomer.locator("a[href='/join']").first.click()
    newcomer.fill("#invite", invite)
    newcomer.locator("main form button[type=submit]").first.click()
    expect(newcomer.locator("h1")).to_have_text("Lee tu número de seguridad en voz alta")
    session = newcomer_app.state.session
    assert session is not None
    mine = session.identity.fingerprint
    expect(newcomer.locator(".safety-number")).to_have_text(safety_number(mine))
    expect(newcomer.locator(".words-text")).to_have_text(safety_words(mine, "es"))
    shoot_both_languages(newcomer, "joined-waiting")

    # The admin's page, untouched since the invite, shows the newcomer by itself.
    pending = admin.locator(".pending-person")
    expect(pending).to_have_count(1, timeout=ON_ITS_OWN)
    expect(pending.locator(".safety-number")).to_have_text(safety_number(mine))  # same digits
    expect(pending.locator(".words-text")).to_have_text(safety_words(mine, "en"))  # own language
    assert safety_words(mine, "en") != safety_words(mine, "es")
    expect(admin.locator("#invite-used")).to_contain_text("Your invite was used.")
    expect(admin.locator("#invite-used")).to_contain_text(safety_number(mine))
    expect(admin.locator("#invite-text")).to_have_count(0)  # no longer offered
    expect(admin.locator(".open-invites")).to_have_count(0)
    shoot_both_languages(admin, "organizers-pending")

    pending.get_by_label("Their name (optional, kept on this laptop only)").fill("Valeria (Northview)")
    pending.get_by_label("We compared the safety number aloud and it matches.").check()
    pending.get_by_role("button", name="Approve").click()
    expect(admin.locator(".notice.ok")).to_contain_text("Approved as member.")
    person = admin.locator(".person").filter(has_text=safety_number(mine))
    expect(person.locator(".person-name")).to_have_text("Valeria (Northview)")
    expect(admin.locator("#invite-used")).to_contain_text("can no longer be used")
    shoot_both_languages(admin, "organizers-named")

    # The newcomer's page, untouched since joining, says they are in.
    expect(newcomer.locator("h1")).to_have_text("Ya estás dentro", timeout=ON_ITS_OWN)
    expect(newcomer.locator(".lead")).to_contain_text("Tus llaves ya llegaron")
    shoot_both_languages(newcomer, "joined-approved")
    assert newcomer_app.state.session is not None
    assert newcomer_app.state.session.encryption_versions() == [1]

    # The background checks never count as use: both apps still lock when idle.
    for app, page in ((admin_app, admin), (newcomer_app, newcomer)):
        app.clock.advance(app.state.idle_seconds + 1)
        expect(page.locator("#passphrase")).to_be_visible(timeout=ON_ITS_OWN)


def test_a_half_typed_name_is_never_swapped_away(browser: Browser, live_server: LiveServer,
                                                 tmp_path: Path, apps: list[RunningApp]) -> None:
    """When the organizer is typing on the page, a change is offered, not forced."""
    admin_handle = make_coalition(tmp_path, live_server.base_url)
    _, admin = open_app(browser, apps, admin_handle.keystore)
    unlock(admin)
    admin.get_by_role("link", name="Organizers").click()
    admin.get_by_text("Give a name").first.click()
    admin.locator(".name-form input[name=name]").first.fill("Half typ")
    invite, _ = members.create_invite(admin_handle.session, "member", 7)
    members.join(new_organizer(tmp_path, name="late").session, invite)
    expect(admin.locator("[data-watch-notice]")).to_be_visible(timeout=ON_ITS_OWN)
    assert admin.locator(".name-form input[name=name]").first.input_value() == "Half typ"
    expect(admin.locator(".pending-person")).to_have_count(0)
    admin.get_by_role("link", name="Show the changes").click()
    expect(admin.locator(".pending-person")).to_have_count(1)


def make_keystore_es(page: Page) -> None:
    page.fill("#passphrase", PASSPHRASE)
    page.fill("#passphrase-again", PASSPHRASE)
    page.locator("main form button[type=submit]").first.click()
    page.locator("a[href='/']").filter(has_text="Continuar").first.click()
