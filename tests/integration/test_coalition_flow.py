"""Three organizers through the real `pledgebox` command against a real server (gunicorn).

Create, invite, join, approve, pledge through the public API, everyone reads the roster, remove
one, rotate with --reencrypt, pledge again: the removed organizer's kept keystore opens nothing
sent after the removal and, after re-encryption, nothing stored at all; the others read it all.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crypto import BadEnvelope
from crypto import ids as crypto_ids
from crypto.encoding import b64u_encode
from crypto.envelope import open_bytes
from crypto.identity import safety_number, safety_words
from organizer.session import Session
from server.db import database
from server.models import DirectoryEntry, Invite, Organizer, Pledge, WrappedSecret
from tests.support.factories import pledge, setup_code
from tests.support.http import call
from tests.support.live import LiveServer
from tests.support.pledges import pledge_view

PASSPHRASE = "quartz lantern ripple gazebo mantis"
FINGERPRINT = re.compile(r"[0-9a-f]{40}")


class Cli:
    """One organizer's laptop: a keystore and the installed command."""

    def __init__(self, keystore: Path) -> None:
        self.keystore = keystore

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE, "PLEDGEBOX_INSECURE_TEST_KDF": "1"}
        exe = shutil.which("pledgebox")
        cmd = [exe] if exe else [sys.executable, "-m", "organizer.cli"]
        proc = subprocess.run([*cmd, "--keystore", str(self.keystore), *args], env=env,
                              capture_output=True, text=True, timeout=180, check=False)
        if ok:
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def refused(self, *args: str) -> str:
        proc = self.run(*args, ok=False)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("pledgebox: "), proc.stderr
        return lines[0]

    def roster_ids(self, campaign_id: str) -> set[str]:
        lines = self.out("roster", campaign_id, "--format", "jsonl").splitlines()
        return {json.loads(line)["pledge_id"] for line in lines}

    def secrets(self) -> Session:
        return Session.open(self.keystore, PASSPHRASE)


def stored_ciphertexts() -> dict[str, tuple[int, bytes]]:
    with database.connection_context(), pledge_view():
        return {p.id: (p.key_version, bytes(p.ciphertext)) for p in Pledge.select()}


def opens_with(keystore: Session, version: int, ciphertext: bytes) -> bool:
    """Try every encryption secret the keystore holds, whatever version it claims to be."""
    for v in keystore.encryption_versions():
        key = keystore.encryption_key(v)
        try:
            open_bytes(key.public, key.secret, ciphertext)
            return True
        except BadEnvelope:
            continue
    return False


@pytest.mark.slow
def test_three_organizers_invite_remove_rotate_reencrypt(live_server: LiveServer,
                                                         tmp_path: Path) -> None:
    url = live_server.base_url
    alice, bob, carol = (Cli(tmp_path / f"{n}.json") for n in ("alice", "bob", "carol"))
    alice_fp = alice.out("init")
    assert FINGERPRINT.fullmatch(alice_fp)
    alice.run("coalition", "create", "--server", url, "--setup-code", setup_code(),
              "--name", "Seven Schools")
    today = datetime.now(UTC).date()
    link = alice.out("campaign", "create", "--title", "Walkout",
                     "--action-date", str(today + timedelta(days=10)),
                     "--closes", str(today + timedelta(days=9)),
                     "--delete-after", str(today + timedelta(days=20)),
                     "--field", "school!:choice:School:Covina High,Northview High",
                     "--field", "message:text:Message")
    campaign_id = link.split("/p/")[1].split("#")[0]

    # Invites: one line on stdout, for a member and for an admin.
    member_invite = alice.out("invite", "create", "--role", "member")
    admin_invite = alice.out("invite", "create", "--role", "admin")
    assert "\n" not in member_invite
    assert member_invite.startswith("pledgebox-invite:")

    # Bob runs init then join; Carol only join (it creates her keystore).
    bob_fp = bob.out("init")
    joined = bob.run("join", admin_invite)
    assert joined.stdout.strip() == bob_fp
    assert safety_words(bob_fp) in joined.stderr
    assert safety_number(bob_fp) in joined.stderr
    carol_fp = carol.out("join", member_invite)
    assert FINGERPRINT.fullmatch(carol_fp)

    # Single use: a fourth laptop cannot reuse Bob's invite.
    assert "invite" in Cli(tmp_path / "mallory.json").refused("join", admin_invite)

    # Pending: listed with safety words for the admin, unable to read anything themselves.
    listed = [json.loads(line) for line in
              alice.out("organizer", "list", "--format", "jsonl").splitlines()]
    assert all(set(o) == {"fingerprint", "role", "status", "safety_words", "safety_number",
                          "name"} for o in listed)
    by_fp = {o["fingerprint"]: o for o in listed}
    assert by_fp[bob_fp] == {"fingerprint": bob_fp, "role": "admin", "status": "pending",
                             "safety_words": safety_words(bob_fp),
                             "safety_number": safety_number(bob_fp), "name": None}
    assert by_fp[carol_fp]["role"] == "member"
    assert by_fp[alice_fp]["status"] == "active"
    assert "approved" in bob.refused("roster", campaign_id)
    assert not bob.secrets().encryption_versions()

    # A member cannot approve, even herself; an admin can.
    assert "admin" in carol.refused("organizer", "approve", carol_fp)
    alice.run("organizer", "approve", bob_fp)
    # Bob is an admin now and holds the signing key, but Alice made Carol's invite: his tool cannot
    # check her role, so he must say it (and it must match what the server lists).
    assert "--role" in bob.refused("organizer", "approve", carol_fp)
    assert "You said admin" in bob.refused("organizer", "approve", carol_fp, "--role", "admin")
    approving = bob.run("organizer", "approve", carol_fp, "--role", "member")
    assert f"Approving {carol_fp} as member (the role you gave" in approving.stderr

    first = [pledge(url, campaign_id, {"school": "covina-high", "message": f"before {i}"})
             for i in range(3)]
    everyone = {p.pledge_id for p in first}
    for org in (alice, bob, carol):
        assert org.roster_ids(campaign_id) == everyone

    # The directory: each card sealed to the coalition key, everyone reads all of them.
    alice.run("contacts", "set", "--name", "Alice", "--school", "Covina High", "--role", "lead",
              "--signal", "alice.01")
    bob.run("contacts", "set", "--name", "Bob", "--school", "Northview", "--role", "outreach")
    carol.run("contacts", "set", "--name", "Carol", "--school", "South Hills", "--role", "art",
              "--email", "carol@example.org")
    cards = [json.loads(line) for line in carol.out("contacts", "list", "--format", "jsonl").splitlines()]
    assert {c["name"] for c in cards} == {"Alice", "Bob", "Carol"}
    assert next(c for c in cards if c["name"] == "Alice")["signal"] == "alice.01"
    with database.connection_context():
        assert {len(bytes(e.ciphertext)) for e in DirectoryEntry.select()} == {1024 + 48}

    # Remove Carol (by Bob, an admin): refused at once, key rotated, her keystore kept.
    kept = tmp_path / "carol-kept.json"
    shutil.copy(carol.keystore, kept)
    assert "full 40-character" in bob.refused("organizer", "remove", carol_fp[:10])
    removed = bob.run("organizer", "remove", carol_fp)
    assert "version 2" in removed.stderr
    assert removed.stdout == ""
    assert "removed" in carol.refused("roster", campaign_id)
    with database.connection_context():
        carol_row = Organizer.get(Organizer.fingerprint == carol_fp)
        assert carol_row.status == "removed"
        assert not WrappedSecret.select().where(WrappedSecret.organizer == carol_row.id).exists()

    # A page still holding key 1 is told 409 stale_key with the new key (protocol v1).
    stale = call(url, "POST", f"/api/v1/campaigns/{campaign_id}/pledges",
                 {"key_version": 1, "ciphertext": "A" * 1430, "withdraw_token_hash": "A" * 43})
    assert stale.status == 409
    assert stale.json()["error"]["encryption_key"]["version"] == 2

    after_removal = pledge(url, campaign_id, {"school": "northview-high", "message": "after"})
    carol_keys = Cli(kept).secrets()
    assert carol_keys.encryption_versions() == [1]
    version, ciphertext = stored_ciphertexts()[after_removal.pledge_id]
    assert version == 2
    assert not opens_with(carol_keys, version, ciphertext)
    # Before re-encryption her old key still opens the old pledges: that is what --reencrypt fixes.
    assert any(opens_with(carol_keys, v, c) for v, c in stored_ciphertexts().values())

    assert alice.out("key", "rotate", "--reencrypt") == "3"
    stored = stored_ciphertexts()
    assert {v for v, _ in stored.values()} == {3}
    assert not any(opens_with(carol_keys, v, c) for v, c in stored.values())
    with database.connection_context():
        cards_left = [(e.key_version, bytes(e.ciphertext)) for e in DirectoryEntry.select()]
        assert len(cards_left) == 2
        assert {v for v, _ in cards_left} == {3}
        assert not any(opens_with(carol_keys, v, c) for v, c in cards_left)
        # The server deleted the old versions' wrapped secrets; nothing is left for Carol.
        assert {w.version for w in WrappedSecret.select().where(WrappedSecret.kind == "encryption")} == {3}
    assert alice.secrets().encryption_versions() == [3]

    last = pledge(url, campaign_id, {"school": "covina-high", "message": "after rotation"})
    everyone |= {after_removal.pledge_id, last.pledge_id}
    assert alice.roster_ids(campaign_id) == everyone
    assert bob.roster_ids(campaign_id) == everyone
    assert bob.secrets().encryption_versions() == [3]  # Bob's tool dropped 1 and 2 on sync
    assert "removed" in carol.refused("roster", campaign_id)
    assert not opens_with(carol_keys, *stored_ciphertexts()[last.pledge_id])

    # The directory survived the rotation, without Carol's card.
    names = {json.loads(line)["name"] for line in
             bob.out("contacts", "list", "--format", "jsonl").splitlines()}
    assert names == {"Alice", "Bob"}
    listed = {json.loads(line)["fingerprint"]: json.loads(line)["status"] for line in
              bob.out("organizer", "list", "--format", "jsonl").splitlines()}
    assert listed == {alice_fp: "active", bob_fp: "active", carol_fp: "removed"}


def test_invite_expires_and_garbage_is_refused(live_server: LiveServer, tmp_path: Path) -> None:
    admin = Cli(tmp_path / "admin.json")
    admin.out("init")
    admin.run("coalition", "create", "--server", live_server.base_url, "--setup-code",
              setup_code(), "--name", "Expiring")
    invite = admin.out("invite", "create", "--days", "2")
    with database.connection_context():
        assert Invite.select().count() == 1
        # Time is the one thing faked: the invite's expiry passes.
        Invite.update(expires_at=Invite.expires_at - 3 * 86400).execute()
    newcomer = Cli(tmp_path / "late.json")
    assert "expired" in newcomer.refused("join", invite)
    assert "not a Pledgebox invite" in newcomer.refused("join", "pledgebox-invite:garbage")
    assert "not a Pledgebox invite" in newcomer.refused("join", invite[:-6])


def test_a_setup_code_never_starts_with_a_dash(live_server: LiveServer, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`--setup-code -x…` reads as an option to argparse; one code in 64 once did, and CI failed."""
    dash_first = b"\xf8" + bytes(15)  # base64url of 0xf8 starts with '-'
    draws = iter([dash_first, dash_first, bytes(range(16))])
    monkeypatch.setattr(crypto_ids.p, "random_bytes", lambda n: next(draws))
    code = setup_code()
    assert code == b64u_encode(bytes(range(16)))
    monkeypatch.undo()
    admin = Cli(tmp_path / "admin.json")
    admin.out("init")
    admin.out("coalition", "create", "--server", live_server.base_url, "--setup-code", code,
              "--name", "Dashless")
