"""Text from the server or another organizer never reaches a terminal with its control characters
(issue 13, finding 6): the real `pledgebox` command, its stderr and stdout read as bytes."""

import contextlib
import json
import os
import pty
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import seal_bytes
from crypto.statements import campaign_message, sign_statement
from organizer import coalition, contacts, members
from organizer.printable import is_safe, json_safe, printable
from organizer.session import Session
from server.db import database
from server.models import Campaign
from tests.support.factories import (
    PASSPHRASE,
    OrganizerHandle,
    make_campaign,
    make_coalition,
    new_organizer,
    pledge,
)
from tests.support.live import LiveServer
from tests.support.scripts import console_script

HOSTILE = "Nope\x1b]0;owned\x07\x1b[2J\x9b2J\u202etxt.exe\rX\x00\x7f"
UNSAFE_BYTES = [b"\x1b", b"\x07", b"\x9b", b"\xc2\x9b", "\u202e".encode(), b"\r", b"\x00", b"\x7f"]


def assert_terminal_safe(data: bytes) -> None:
    for bad in UNSAFE_BYTES:
        assert bad not in data, (bad, data)


def pledgebox(keystore: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([console_script("pledgebox"), "--keystore", str(keystore), *args],
                          capture_output=True, env={**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE},
                          stdin=subprocess.DEVNULL, timeout=120, check=False)


@pytest.mark.parametrize("text", ["\x1b[31m", "\x9b31m", "a\u202eb", "\x07", "x\x00y", "\x7f",
                                  "\u2066x\u2069", "line\nbreak", "tab\there", "\u0085"])
def test_the_filter_leaves_no_control_character(text: str) -> None:
    out = printable(text)
    assert all(ch.isprintable() for ch in out)
    assert "\u202e" not in out
    assert "\u2066" not in out


def test_the_filter_keeps_what_people_write() -> None:
    kept = "Escuela Año 2027 — niños ¡sí! 你好 👩‍🎓 مرحبا"
    assert printable(kept) == kept
    assert printable("x" * 10, limit=5) == "xxxx…"


def test_a_hostile_server_s_error_message_is_filtered(tmp_path: Path) -> None:
    """A real HTTP server on loopback answers every request with an escape-laden error."""
    body = json.dumps({"error": {"code": "forbidden", "message": HOSTILE}}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        session = Session.create(tmp_path / "k.json", PASSPHRASE)
        session.data["server"] = f"http://127.0.0.1:{httpd.server_address[1]}"
        session.data["coalition"] = {"coalition_id": "K" * 22, "organizer_id": "O" * 22,
                                     "signing_key": "A" * 43, "role": "member", "status": "active"}
        session.save()
        run = pledgebox(session.keystore.path, "organizer", "list")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert run.returncode == 1
    assert run.stderr.startswith(b"pledgebox: Nope")
    assert run.stderr.count(b"\n") == 1
    assert_terminal_safe(run.stderr + run.stdout)


def plant_card(author: OrganizerHandle, card: dict[str, str]) -> None:
    """What a hostile organizer's own (modified) tool would send: a signed card past the checks."""
    session = author.session
    me = coalition.sync(session)
    key = me["encryption_key"]
    body = {"v": 1, "coalition_id": session.coalition_id, "fingerprint": session.identity.fingerprint,
            "card": card}
    signature = sign_statement(session.identity.sign_secret, contacts._message(body))
    plaintext = json.dumps({**body, "signature": b64u_encode(signature)}, ensure_ascii=False)
    sealed = seal_bytes(b64u_decode(key["public_key"], length=32), plaintext.encode())
    session.client().request("PUT", "/api/v1/org/directory",
                             {"key_version": key["version"], "ciphertext": b64u_encode(sealed)})


def test_a_peer_s_card_with_control_characters_is_refused(live_server: LiveServer,
                                                          tmp_path: Path) -> None:
    admin = make_coalition(tmp_path, live_server.base_url)
    invite, _ = members.create_invite(admin.session, "member", 7)
    peer = new_organizer(tmp_path, name="peer")
    members.join(peer.session, invite)
    members.approve(admin.session, peer.session.identity.fingerprint)
    contacts.set_card(admin.session, {"name": "Ana", "school": "North", "role": "lead"})
    for bad in ("\x9b2J", "\x1b[2J", "x\u202eexe"):
        with pytest.raises(Exception, match="one line"):
            contacts.set_card(peer.session, {"name": bad, "school": "S", "role": "r"})
    plant_card(peer, {"name": "Mallory\x9b2J\x9b1;1H", "school": "S", "role": "r"})

    listing = contacts.list_cards(admin.session)
    assert [c["name"] for c in listing.cards] == ["Ana"]
    assert listing.unreadable == 1
    for fmt in ("table", "jsonl"):
        run = pledgebox(admin.keystore, "contacts", "list", "--format", fmt)
        assert run.returncode == 0, run.stderr
        assert b"Mallory" not in run.stdout
        assert_terminal_safe(run.stdout + run.stderr)


def test_a_campaign_title_from_another_admin_is_filtered(live_server: LiveServer,
                                                        tmp_path: Path) -> None:
    """The server refuses such a title; a compromised one stores what a hostile co-admin signed."""
    admin = make_coalition(tmp_path, live_server.base_url)
    campaign_id = make_campaign(admin)
    with database.connection_context():
        row = Campaign.get_by_id(campaign_id)
        descriptor = json.loads(bytes(row.descriptor))
        descriptor["title"] = "Walkout\x1b]0;owned\x07\x9b2J\u202egnp.exe"
        raw = json.dumps(descriptor, ensure_ascii=False, sort_keys=True).encode()
        signing = admin.session.signing_key()
        assert signing is not None
        Campaign.update(descriptor=raw, descriptor_signature=signing.sign(campaign_message(raw))
                        ).where(Campaign.id == campaign_id).execute()
    for args in (("campaign", "list"), ("campaign", "show", campaign_id)):
        run = pledgebox(admin.keystore, *args)
        assert run.returncode == 0, run.stderr
        assert b"Walkout" in run.stdout
        assert_terminal_safe(run.stdout + run.stderr)


def test_json_safe_keeps_the_value_and_drops_the_controls() -> None:
    for text in ["Escuela Año 👩‍🎓", "x\x9b2J\u202ey\x1b[0m\U000e0001", "\x85\x00"]:
        encoded = json_safe(json.dumps({"m": text}, ensure_ascii=False))
        assert json.loads(encoded) == {"m": text}
        assert encoded.isprintable() or all(is_safe(ch) for ch in encoded)


def test_a_student_s_answer_reaches_the_terminal_without_its_controls(live_server: LiveServer,
                                                                     tmp_path: Path) -> None:
    """Students are strangers too: their free text goes through the same filter in every format."""
    admin = make_coalition(tmp_path, live_server.base_url)
    campaign_id = make_campaign(admin)
    nasty = "hi\x9b2J\x1b]0;owned\x07\u202eexe"
    pledge(live_server.base_url, campaign_id, {"school": "covina-high", "message": nasty})
    for fmt in ("table", "csv", "jsonl"):
        run = pledgebox(admin.keystore, "roster", campaign_id, "--format", fmt)
        assert run.returncode == 0, run.stderr
        assert b"hi" in run.stdout
        if fmt != "csv":  # stdout is a pipe here, so CSV keeps the data (TerminalSafe is for ttys)
            assert_terminal_safe(run.stdout.replace(b"\r\n", b"\n"))
    rows = pledgebox(admin.keystore, "roster", campaign_id, "--format", "jsonl").stdout.splitlines()
    assert json.loads(rows[0])["answers"]["message"] == nasty  # the data itself is unchanged
    # CSV on a real terminal (a pseudo-terminal here) is filtered; a file keeps it exact.
    assert_terminal_safe(on_a_terminal(admin.keystore, "roster", campaign_id, "--format", "csv"))
    saved = tmp_path / "roster.csv"
    assert pledgebox(admin.keystore, "roster", campaign_id, "--format", "csv", "-o", str(saved)
                     ).returncode == 0
    assert nasty in saved.read_text(encoding="utf-8")


def on_a_terminal(keystore: Path, *args: str) -> bytes:
    main, secondary = pty.openpty()
    try:
        proc = subprocess.run([console_script("pledgebox"), "--keystore", str(keystore), *args],
                              stdout=secondary, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                              env={**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}, timeout=120,
                              check=False)
        assert proc.returncode == 0
        os.close(secondary)
        out = b""
        with contextlib.suppress(OSError):  # EIO once the terminal has nothing more
            while chunk := os.read(main, 65536):
                out += chunk
        return re.sub(rb"\r+\n", b"\n", out)  # the terminal's own line ends (onlcr, CSV's CRLF)
    finally:
        os.close(main)
