"""A forgotten passphrase, and the warning that makes it rarely fatal (issue 18, item 4), in
Debian's Chromium against a real server. A sole admin is told from the first page to invite a
second admin, and why; the warning goes once there is one. A member who forgot their passphrase
finds the way back on the unlock page: the old keystore is set aside (renamed, same bytes), a new
one is made, and they join again with a new invite.
"""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from organizer import members
from tests.support.app_browser import open_app, shoot_both_languages, unlock
from tests.support.factories import fp, joined, make_coalition
from tests.support.live import LiveServer
from tests.support.organizer_app import RunningApp

pytestmark = pytest.mark.browser

NEW_PASSPHRASE = "walnut harbor crimson lantern osprey"


def test_a_sole_admin_is_told_to_invite_a_second_admin_until_there_is_one(
        browser: Browser, live_server: LiveServer, tmp_path: Path, apps: list[RunningApp]) -> None:
    admin = make_coalition(tmp_path, live_server.base_url)
    _, page = open_app(browser, apps, admin.keystore)
    unlock(page)
    box = page.locator("#second-admin")
    expect(box).to_contain_text("You are your coalition's only admin.")
    expect(box).to_contain_text("If you forget your passphrase")
    shoot_both_languages(page, "home-sole-admin")

    member = joined(tmp_path, admin, "member", "member")
    members.approve(admin.session, fp(member))
    page.reload()
    expect(page.locator("#second-admin")).to_be_visible()  # a member is not a second admin
    second = joined(tmp_path, admin, "admin", "second")
    page.reload()
    expect(page.locator("#second-admin")).to_be_visible()  # nor an admin not yet approved
    members.approve(admin.session, fp(second))
    page.reload()
    expect(page.locator("h1")).to_have_text("Campaigns")
    expect(page.locator("#second-admin")).to_have_count(0)

    # Alone again after a removal: the box is back, and its button leads to the invite form.
    members.remove(admin.session, fp(second))
    page.reload()
    page.locator("#second-admin a").click()
    expect(page.locator("#invite-title")).to_be_visible()


def test_a_forgotten_passphrase_starts_again_from_an_invite_and_keeps_the_old_file(
        browser: Browser, live_server: LiveServer, tmp_path: Path, apps: list[RunningApp]) -> None:
    admin = make_coalition(tmp_path, live_server.base_url)
    member = joined(tmp_path, admin, "member", "member")
    members.approve(admin.session, fp(member))
    old_bytes = member.keystore.read_bytes()

    app, page = open_app(browser, apps, member.keystore, locale="es-MX")
    expect(page.locator("#forgot-title")).to_have_text("¿Olvidaste tu frase de contraseña?")
    shoot_both_languages(page, "unlock-forgot")
    page.locator("a[href='/start-over']").click()
    shoot_both_languages(page, "start-over")
    page.locator("main form button[type=submit]").click()  # the box is required: nothing moves
    assert member.keystore.read_bytes() == old_bytes
    page.locator("input[name=confirm]").check()
    page.locator("main form button[type=submit]").click()

    aside = list(member.keystore.parent.glob(f"{member.keystore.stem}.forgotten-*.json"))
    assert len(aside) == 1
    assert aside[0].read_bytes() == old_bytes, "set aside, not deleted or changed"
    assert not member.keystore.exists()
    expect(page.locator(".notice").first).to_contain_text(str(aside[0]))
    expect(page.locator("#passphrase")).to_be_visible()

    page.fill("#passphrase", NEW_PASSPHRASE)
    page.fill("#passphrase-again", NEW_PASSPHRASE)
    page.locator("main form[action='/welcome/create'] button[type=submit]").click()
    page.locator("main a[href='/']").last.click()
    page.locator("a[href='/join']").first.click()
    invite, _ = members.create_invite(admin.session, "member", 7)
    page.fill("#invite", invite.encode())
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator("h1")).to_have_text("Lee tu número de seguridad en voz alta")
    session = app.state.session
    assert session is not None
    assert session.identity.fingerprint != fp(member)
    pending = members.preview_approval(admin.session, session.identity.fingerprint)
    assert (pending.role, pending.vouched) == ("member", True)

    # A second time on the same day does not overwrite the first file set aside.
    app.state.lock_now()
    page.goto(app.origin + "/start-over")
    page.locator("input[name=confirm]").check()
    page.locator("main form button[type=submit]").click()
    kept = sorted(member.keystore.parent.glob(f"{member.keystore.stem}.forgotten-*.json"))
    assert len(kept) == 2
    assert old_bytes in {k.read_bytes() for k in kept}
