"""The pledge page in Debian's Chromium: what leaves the phone is ciphertext only, and a page that
cannot verify what the server sent refuses and sends nothing.
"""

import base64
import json
import os
import re
import secrets
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crypto.encoding import b64u_encode
from crypto.signing import EncryptionKey, SigningKey
from crypto.statements import campaign_message, encryption_key_message
from server.db import database
from server.models import Campaign, Coalition, Pledge
from server.models import EncryptionKey as KeyRow
from tests.browser.conftest import Site, Tab
from tests.support.factories import OrganizerHandle
from tests.support.pledges import pledge_view
from tests.support.scripts import console_script

pytestmark = pytest.mark.browser

RECEIPT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{43}$")
PLEDGES = "/pledges"


def sentinel() -> str:
    return f"SENTINEL-{secrets.token_hex(8)}-Ñandú"


def encodings(text: str) -> list[bytes]:
    """The sentinel as it could appear anywhere: UTF-8, UTF-16 (both byte orders), and base64 /
    base64url of its UTF-8 at every alignment (the middle characters that do not depend on it)."""
    raw = text.encode("utf-8")
    out = [raw, text.encode("utf-16-le"), text.encode("utf-16-be"), text.encode("ascii", "ignore"),
           json.dumps(text).encode()]
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\x00" * offset + raw).rstrip(b"=")
            skip = (offset * 4 + 2) // 3 + 1
            out.append(encoded[skip:-3])
    return [o for o in out if len(o) >= 12]


def hits(data: bytes, text: str) -> list[bytes]:
    return [form for form in encodings(text) if form in data]


@pytest.mark.parametrize("prefix", range(6))
def test_the_scan_finds_the_sentinel_in_every_form_it_claims(prefix: int) -> None:
    """The check behind the sentinel test (no browser needed): were the scan blind, it would pass."""
    secret = sentinel()
    raw = secrets.token_bytes(prefix) + secret.encode() + secrets.token_bytes(prefix % 3)
    for blob in (raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="),
                 secret.encode("utf-16-le"), secret.encode("utf-16"), json.dumps({"m": secret}).encode()):
        assert hits(b"xx" + blob + b"yy", secret), blob
    assert not hits(secrets.token_bytes(4000), secret)


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def wait_ready(page: Page) -> None:
    expect(page.locator("#pledge-form")).to_be_visible()
    expect(page.locator("#send-button")).to_be_enabled()


def fill(page: Page, message: str) -> None:
    page.check("#pb-field-0-0")  # school: Covina High
    page.fill("#pb-field-1", message)  # message (free text)
    page.check("#pb-field-2")  # help: yes


def roster_jsonl(org: OrganizerHandle, campaign_id: str) -> list[dict]:
    """The organizer's real console script, as on their laptop."""
    script = console_script("pledgebox")
    run = subprocess.run([script, "--keystore", str(org.keystore), "roster", campaign_id,
                          "--format", "jsonl"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PLEDGEBOX_PASSPHRASE": org.passphrase}, check=False)
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def stored_pledges() -> list[Pledge]:
    with database.connection_context(), pledge_view():
        return list(Pledge.select())


# ---------- 1. the sentinel ----------

def test_sentinel_never_leaves_the_phone_in_clear_and_the_organizer_reads_it(tab: Tab, site: Site) -> None:
    secret = sentinel()
    page, traffic = tab.page, tab.traffic
    page.goto(site.share_link)
    wait_ready(page)
    expect(page.locator("#status")).to_have_text("Checked: the key in your link signed this form.")
    fill(page, secret)
    page.click("#send-button")
    receipt_box = page.locator("#receipt-text")
    expect(receipt_box).to_have_value(RECEIPT_RE)
    receipt = receipt_box.input_value()

    # what the browser sent: one pledge POST, and nothing in any request carries the sentinel
    assert len(traffic.posts(PLEDGES)) == 1
    assert traffic.statuses(PLEDGES) == [201]
    for sent in traffic.requests:
        assert not hits(sent.body, secret), f"sentinel in the body of {sent.method} {sent.url}"
        assert not hits(sent.url.encode(), secret), f"sentinel in {sent.url}"
    body = json.loads(traffic.posts(PLEDGES)[0].body)
    assert set(body) == {"key_version", "ciphertext", "withdraw_token_hash"}

    # what the server wrote: nothing under its folder (database, WAL, logs) holds the sentinel...
    [row] = stored_pledges()
    scanned = files_under(site.instance)
    assert any(p.name.startswith("pledgebox.sqlite3") for p in scanned)
    everything = b"".join(p.read_bytes() for p in scanned)
    assert not [(p, hits(p.read_bytes(), secret)) for p in scanned if hits(p.read_bytes(), secret)]
    # ...though the scan does see what is stored (the ciphertext itself is in those files)
    assert bytes(row.ciphertext)[:64] in everything

    # the organizer's tool opens it
    [opened] = roster_jsonl(site.org, site.campaign_id)
    assert opened["pledge_id"] == row.id == receipt.split(".")[0]
    assert opened["answers"] == {"school": "covina-high", "message": secret, "help": True}

    # the receipt withdraws it
    page.click("#receipt-link")
    expect(page).to_have_url(re.compile(r"/withdraw(\?[^#]*)?#r="))
    expect(page.locator("#receipt-input")).to_have_value(receipt)
    page.click("#withdraw-button")
    expect(page.locator("#withdraw-confirm")).to_be_visible()
    assert traffic.statuses("/withdraw") == []  # nothing sent before the second step
    page.click("#confirm-delete")
    expect(page.locator("#status")).to_contain_text("deleted")
    assert traffic.statuses("/withdraw") == [204]
    assert stored_pledges() == []
    assert tab.errors == []
    assert tab.context.cookies() == []


# ---------- 2-3. whatever does not verify: refuse, say why, send nothing ----------

def assert_refused_and_silent(tab: Tab) -> None:
    page = tab.page
    refusal = page.locator("#verify-failed")
    expect(refusal).to_be_visible()
    assert refusal.inner_text().strip()
    expect(page.locator("#pledge-form")).to_be_hidden()
    expect(page.locator("#send-button")).to_be_hidden()
    assert tab.traffic.posts() == []
    assert stored_pledges() == []


def test_a_swapped_signing_key_in_the_link_is_refused(tab: Tab, site: Site) -> None:
    someone_else = b64u_encode(SigningKey.generate().public)
    tab.page.goto(f"{site.page_url}#k={someone_else}")
    assert_refused_and_silent(tab)


def test_a_malformed_key_in_the_link_is_refused(tab: Tab, site: Site) -> None:
    tab.page.goto(f"{site.page_url}#k=not-a-key")
    assert_refused_and_silent(tab)


def _tamper_descriptor_signature(site: Site) -> None:
    attacker = SigningKey.generate()
    with database.connection_context():
        campaign = Campaign.get_by_id(site.campaign_id)
        signature = attacker.sign(campaign_message(bytes(campaign.descriptor)))
        Campaign.update(descriptor_signature=signature).where(Campaign.id == site.campaign_id).execute()


def _tamper_descriptor_bytes(site: Site) -> None:
    with database.connection_context():
        campaign = Campaign.get_by_id(site.campaign_id)
        changed = bytes(campaign.descriptor).replace(b'"title":"Walkout"', b'"title":"Walk0ut"')
        assert changed != bytes(campaign.descriptor)
        Campaign.update(descriptor=changed).where(Campaign.id == site.campaign_id).execute()


def _swap_encryption_key(site: Site) -> None:
    """A server (or whoever seized it) serving its own encryption key, signed by its own key."""
    attacker, key = SigningKey.generate(), EncryptionKey.generate(1)
    coalition_id = site.org.session.coalition_id
    with database.connection_context():
        row = KeyRow.get(KeyRow.coalition == coalition_id, KeyRow.version == 1)
        signature = attacker.sign(encryption_key_message(coalition_id, 1, row.not_after, key.public))
        KeyRow.update(public_key=key.public, signature=signature).where(
            KeyRow.coalition == coalition_id, KeyRow.version == 1).execute()


def _swap_coalition_key(site: Site) -> None:
    """Everything re-signed by another key: only the key in the link can tell."""
    attacker = SigningKey.generate()
    coalition_id = site.org.session.coalition_id
    with database.connection_context():
        campaign = Campaign.get_by_id(site.campaign_id)
        row = KeyRow.get(KeyRow.coalition == coalition_id, KeyRow.version == 1)
        Campaign.update(descriptor_signature=attacker.sign(campaign_message(bytes(campaign.descriptor)))
                        ).where(Campaign.id == site.campaign_id).execute()
        KeyRow.update(signature=attacker.sign(encryption_key_message(
            coalition_id, 1, row.not_after, bytes(row.public_key)))).where(
            KeyRow.coalition == coalition_id, KeyRow.version == 1).execute()
        Coalition.update(signing_key=attacker.public).where(Coalition.id == coalition_id).execute()


@pytest.mark.parametrize("tamper", [_tamper_descriptor_signature, _tamper_descriptor_bytes,
                                    _swap_encryption_key, _swap_coalition_key],
                         ids=["descriptor-signed-by-another-key", "descriptor-changed",
                              "encryption-key-signed-by-another-key", "coalition-key-swapped"])
def test_what_the_server_serves_must_verify_against_the_link(tab: Tab, site: Site, tamper) -> None:  # type: ignore[no-untyped-def]
    tamper(site)
    tab.page.goto(site.share_link)
    assert_refused_and_silent(tab)


# ---------- 4. no fragment: warn, and send nothing until the student says so ----------

def test_without_the_key_in_the_link_the_page_warns_and_waits(tab: Tab, site: Site) -> None:
    page, traffic = tab.page, tab.traffic
    page.goto(site.page_url)
    expect(page.locator("#unverified-warning")).to_be_visible()
    expect(page.locator("#pledge-form")).to_be_visible()
    expect(page.locator("#send-button")).to_be_disabled()
    expect(page.locator("#pb-field-1")).to_be_disabled()
    page.locator("#send-button").click(force=True)  # a click on the disabled button does nothing
    page.locator("#pledge-form").dispatch_event("submit")  # nor does a submit forced past it
    expect(page.locator("#status")).not_to_have_text("")
    assert traffic.posts() == []
    assert stored_pledges() == []

    page.check("#continue-anyway")
    expect(page.locator("#send-button")).to_be_enabled()
    secret = sentinel()
    fill(page, secret)
    page.click("#send-button")
    expect(page.locator("#receipt-text")).to_have_value(RECEIPT_RE)
    assert traffic.statuses(PLEDGES) == [201]
    assert not any(hits(r.body, secret) for r in traffic.requests)


# ---------- 5. 409 stale_key: re-encrypt to the new key and retry, without asking ----------

def rotate(org: OrganizerHandle) -> EncryptionKey:
    session = org.session
    key = EncryptionKey.generate(2)
    not_after = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    signature = session.signing_key().sign(
        encryption_key_message(session.coalition_id, 2, not_after, key.public))
    with database.connection_context():
        KeyRow.create(coalition=session.coalition_id, version=2, public_key=key.public,
                      not_after=not_after, signature=signature)
    return key


def test_a_key_rotated_while_the_page_was_open_is_handled_without_asking(tab: Tab, site: Site) -> None:
    page, traffic = tab.page, tab.traffic
    page.goto(site.share_link)
    wait_ready(page)
    new_key = rotate(site.org)  # after the page fetched key version 1
    secret = sentinel()
    fill(page, secret)
    page.click("#send-button")
    expect(page.locator("#receipt-text")).to_have_value(RECEIPT_RE)

    assert traffic.statuses(PLEDGES) == [409, 201]
    first, second = (json.loads(r.body) for r in traffic.posts(PLEDGES))
    assert (first["key_version"], second["key_version"]) == (1, 2)
    assert first["ciphertext"] != second["ciphertext"]
    assert first["withdraw_token_hash"] == second["withdraw_token_hash"]  # same receipt
    assert not any(hits(r.body, secret) for r in traffic.requests)
    [row] = stored_pledges()
    assert row.key_version == 2

    # the organizer, once they hold key version 2, reads it
    site.org.session.remember_secret("encryption", 2, new_key.secret)
    site.org.session.save()
    [opened] = roster_jsonl(site.org, site.campaign_id)
    assert opened["key_version"] == 2
    assert opened["answers"]["message"] == secret


def test_a_stale_key_answer_with_a_forged_key_is_refused(tab: Tab, site: Site) -> None:
    """A 409 naming a key the coalition did not sign: the page refuses instead of re-sealing."""
    page, traffic = tab.page, tab.traffic
    page.goto(site.share_link)
    wait_ready(page)
    attacker, key = SigningKey.generate(), EncryptionKey.generate(2)
    not_after = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    with database.connection_context():
        KeyRow.create(coalition=site.org.session.coalition_id, version=2, public_key=key.public,
                      not_after=not_after, signature=attacker.sign(encryption_key_message(
                          site.org.session.coalition_id, 2, not_after, key.public)))
    fill(page, sentinel())
    page.click("#send-button")
    expect(page.locator("#verify-failed")).to_be_visible()
    assert traffic.statuses(PLEDGES) == [409]
    assert stored_pledges() == []
