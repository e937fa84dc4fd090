"""Names for organizers kept in the keystore only (issue 18, item 14), and the safety number that
is the same in every language (item 13), through the core and the `pledgebox` command."""

import json
from pathlib import Path

import pytest

from crypto.identity import safety_number, safety_words
from organizer import contacts, members, names
from organizer.cli import main
from organizer.errors import BadInput
from organizer.session import Session
from tests.integration.test_invite_takeover import Seen, reading_every_body
from tests.support.factories import PASSPHRASE, fp, joined, make_coalition
from tests.support.live import LiveServer

SENTINEL = "Zaragoza-Quetzal 7731"


def test_a_name_stays_in_the_keystore_and_the_directory_fills_in(
        live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    seen: Seen = []
    admin = make_coalition(tmp_path, live_server.base_url, reading_every_body(seen))
    member = joined(tmp_path, admin, "member", "member")
    carded = joined(tmp_path, admin, "member", "carded")
    members.approve(admin.session, fp(member))
    members.approve(admin.session, fp(carded))
    contacts.set_card(carded.session, {"name": "Rosa from Northview", "school": "Northview",
                                       "role": "outreach"})

    names.set_name(admin.session, fp(member), f"  {SENTINEL}  ")
    assert not any(SENTINEL.encode() in body for body in seen), "never sent to the server"
    assert SENTINEL.encode() not in admin.keystore.read_bytes(), "sealed in the keystore"
    reopened = Session.open(admin.keystore, PASSPHRASE)
    listed = members.organizers(reopened)
    known = names.names_for(reopened, listed)
    assert known[fp(member)] == names.Name(SENTINEL, True)
    assert known[fp(carded)] == names.Name("Rosa from Northview", False)
    assert fp(admin) not in known

    monkeypatch.setenv("PLEDGEBOX_PASSPHRASE", PASSPHRASE)
    assert main(["--keystore", str(admin.keystore), "organizer", "list"]) == 0
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith(fp(member)))
    assert SENTINEL in row
    assert safety_number(fp(member)) in row
    assert safety_words(fp(member)) in row
    assert "Rosa from Northview (their card)" in table
    assert main(["--keystore", str(admin.keystore), "organizer", "list", "--format", "jsonl"]) == 0
    lines = {o["fingerprint"]: o for o in map(json.loads, capsys.readouterr().out.splitlines())}
    assert lines[fp(member)]["name"] == SENTINEL
    assert lines[fp(member)]["safety_number"] == safety_number(fp(member))
    assert lines[fp(admin)]["name"] is None

    # Cleared with an empty name; a bad one is refused with one sentence and changes nothing.
    assert main(["--keystore", str(admin.keystore), "organizer", "name", fp(carded), "Rosa M."]) == 0
    assert main(["--keystore", str(admin.keystore), "organizer", "name", fp(member), ""]) == 0
    assert main(["--keystore", str(admin.keystore), "organizer", "name", fp(carded),
                 "Rosa\u202eevil"]) == 1
    assert main(["--keystore", str(admin.keystore), "organizer", "name", fp(carded)[:8], "x"]) == 1
    err = capsys.readouterr().err
    assert "at most 80 characters on one line" in err
    assert "full 40-character fingerprint" in err
    reopened = Session.open(admin.keystore, PASSPHRASE)
    known = names.names_for(reopened, members.organizers(reopened))
    assert known[fp(carded)] == names.Name("Rosa M.", True)
    assert fp(member) not in known
    with pytest.raises(BadInput):
        names.set_name(reopened, "0" * 40, "Nobody")  # not an organizer of this coalition
