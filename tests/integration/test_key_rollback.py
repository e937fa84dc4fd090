"""A server that rolls the coalition's key back never gets an admin to keep the old key alive.

Issue 17, finding 2, and protocol 1.1 amendments 5 and 6. After an organizer is removed and the
key rotated to v2, a compromised server (played here by rewriting the real server's rows, as an
attacker holding the box would) deletes v2 and every wrapped copy of it, so that `GET /me` and the
students' pages serve v1 again: the key the removed organizer still holds. Before the fix, every
admin's routine command and the app's upkeep re-signed v1 with a fresh `not_after`, for ever, and
the removed organizer read every new pledge. Now the keystore remembers the highest version it has
seen, nothing older is ever signed or renewed, and every tool stops with a plain alarm.

The coalition runs for weeks on the movable clock (tests/support/days.py): the server's clock file
and the organizer tool's clock move together.
"""

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from crypto.encoding import b64u_decode
from crypto.signing import EncryptionKey as CoalitionKey
from crypto.wrapping import wrap_secret
from organizer import cli, coalition, members, rotation
from organizer.app.state import AppState, MovableClock
from organizer.app.upkeep import REFRESH_EVERY, Upkeep
from organizer.client import urllib_transport
from organizer.errors import UserError
from organizer.session import Session
from server.db import database
from server.models import EncryptionKey, Organizer, WrappedSecret
from tests.support.days import Days
from tests.support.factories import PASSPHRASE, OrganizerHandle, fp, joined, make_campaign, make_coalition
from tests.support.http import call
from tests.support.live import LiveServer

ROLLED_BACK = r"older key|rolled back"
Sent = list[tuple[str, str]]


@pytest.fixture
def days(clock_file: Path, monkeypatch: pytest.MonkeyPatch) -> Days:
    return Days(clock_file, monkeypatch)


@pytest.fixture
def admin(live_server: LiveServer, tmp_path: Path, days: Days) -> OrganizerHandle:
    return make_coalition(tmp_path, live_server.base_url)


def key_rows() -> dict[int, tuple[str, bytes]]:
    """The server's key statements: version -> (not_after, public key)."""
    with database.connection_context():
        return {k.version: (k.not_after, bytes(k.public_key)) for k in EncryptionKey.select()}


def wrapped_rows() -> set[tuple[str, str, int]]:
    with database.connection_context():
        return {(w.organizer_id, w.kind, w.version) for w in WrappedSecret.select()}


def server_rolls_back_to(version: int) -> None:
    """The attacker deletes every newer key statement and every wrapped copy of those keys."""
    with database.connection_context():
        EncryptionKey.delete().where(EncryptionKey.version > version).execute()
        WrappedSecret.delete().where(WrappedSecret.kind == "encryption",
                                     WrappedSecret.version > version).execute()


def remove_and_rotate(admin: OrganizerHandle, tmp_path: Path) -> OrganizerHandle:
    """A member who read v1 is removed and the key rotated to v2, as `organizer remove` does."""
    member = joined(tmp_path, admin, "member", "member")
    members.approve(admin.session, fp(member))
    coalition.sync(member.session)
    assert member.session.encryption_versions() == [1]
    members.remove(admin.session, fp(member))
    assert rotation.rotate(admin.session) == 2
    return member


def recording(sent: Sent) -> Any:
    def transport(method: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        sent.append((method, url.split("/api/v1/org", 1)[-1]))
        return urllib_transport(method, url, body, headers)
    return transport


def signing_requests(sent: Sent) -> Sent:
    """Requests that would carry a key statement or a wrapped key (anything but reading)."""
    return [s for s in sent if s[0] != "GET"]


WEEKLY_COMMANDS = [
    ["campaign", "list"],
    ["organizer", "list"],
    ["key", "rotate"],
    ["roster", "CAMPAIGN", "--summary"],
    ["tally", "CAMPAIGN"],
    ["contacts", "set", "--name", "Ana"],
    ["invite", "create"],
    ["announce", "CAMPAIGN", "We meet at the flagpole"],
    ["campaign", "show", "CAMPAIGN"],
]


def test_a_rolled_back_key_is_never_renewed_over_weeks(
        admin: OrganizerHandle, tmp_path: Path, days: Days, live_server: LiveServer,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    campaign_id = make_campaign(admin, action_in=60, closes_in=59, delete_in=70)
    remove_and_rotate(admin, tmp_path)
    v1_not_after, v1_public = key_rows()[1]
    server_rolls_back_to(1)
    wrapped_before = wrapped_rows()

    monkeypatch.setenv("PLEDGEBOX_PASSPHRASE", PASSPHRASE)
    state = AppState(admin.keystore, clock=MovableClock())
    state.unlock(Session.open(admin.keystore, PASSPHRASE))
    upkeep = Upkeep(state)
    assert isinstance(state.clock, MovableClock)
    capsys.readouterr()
    for week, command in enumerate(WEEKLY_COMMANDS, start=1):
        today = days.move_to(7 * week)
        argv = [a.replace("CAMPAIGN", campaign_id) for a in command]
        status = cli.main(["--keystore", str(admin.keystore), *argv])
        # The app, left open on the admin's laptop, does its upkeep too.
        state.clock.advance(REFRESH_EVERY)
        state.touch()
        upkeep.tick()

        rows = key_rows()
        assert rows == {1: (v1_not_after, v1_public)}, \
            f"week {week}: `pledgebox {' '.join(command)}` or the app re-signed the old key"
        assert wrapped_rows() == wrapped_before, f"week {week}: a key was wrapped to someone"
        err = capsys.readouterr().err.strip()
        assert status == 1, f"week {week}: `pledgebox {' '.join(command)}` did not stop"
        assert len(err.splitlines()) == 1
        assert err.startswith("pledgebox: ")
        assert "rolled back" in err
        assert "rolled back" in str(state.alarm)
        served = call(live_server.base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()
        assert served["encryption_key"]["not_after"] == v1_not_after
        if week >= 5:
            # Students' pages refuse a key more than a day past not_after (web/src/envelope/verification.js):
            # from day 32 on, nothing more is sealed to the key the removed member holds.
            assert date.fromisoformat(served["encryption_key"]["not_after"]) < \
                today - timedelta(days=1)

    # The keystore kept both keys and its record; it was never rewritten to the server's story.
    kept = Session.open(admin.keystore, PASSPHRASE)
    assert kept.encryption_versions() == [1, 2]
    assert kept.coalition["key_version"] == 2


def test_the_alarm_comes_before_anything_is_stored_or_signed(
        admin: OrganizerHandle, tmp_path: Path, days: Days) -> None:
    remove_and_rotate(admin, tmp_path)
    server_rolls_back_to(1)
    days.move_to(10)  # 20 days left on v1: a renewal would be due
    newcomer = joined(tmp_path, admin, "member", "late")  # an invite syncs nothing
    before = json.dumps(Session.open(admin.keystore, PASSPHRASE).data, sort_keys=True)
    sent: Sent = []
    admin.session.transport = recording(sent)
    with pytest.raises(UserError, match=ROLLED_BACK):
        coalition.sync(admin.session)
    with pytest.raises(UserError, match=ROLLED_BACK):
        rotation.rotate(admin.session)
    with pytest.raises(UserError, match=ROLLED_BACK):
        members.approve(admin.session, fp(newcomer))
    assert signing_requests(sent) == []
    assert json.dumps(Session.open(admin.keystore, PASSPHRASE).data, sort_keys=True) == before
    with database.connection_context():
        assert Organizer.get(Organizer.fingerprint == fp(newcomer)).status == "pending"


def test_a_member_is_alarmed_too_and_keeps_its_keys(admin: OrganizerHandle, tmp_path: Path,
                                                    days: Days) -> None:
    """A member signs nothing, but reading pledges or sealing a card to v1 would still serve the
    removed organizer: the same alarm."""
    member = joined(tmp_path, admin, "member", "stays")
    members.approve(admin.session, fp(member))
    coalition.sync(member.session)
    remove_and_rotate(admin, tmp_path)
    coalition.sync(member.session)
    assert member.session.encryption_versions() == [1, 2]
    server_rolls_back_to(1)
    days.move_to(3)
    with pytest.raises(UserError, match=ROLLED_BACK):
        coalition.sync(member.session)
    assert Session.open(member.keystore, PASSPHRASE).encryption_versions() == [1, 2]


def test_a_keystore_from_before_the_record_starts_from_its_highest_secret(
        admin: OrganizerHandle, tmp_path: Path, days: Days) -> None:
    """Keystores written before amendment 5 have no record: the highest version they hold a
    secret for is the highest they have seen."""
    remove_and_rotate(admin, tmp_path)
    session = admin.session
    session.coalition.pop("key_version", None)
    session.save()
    server_rolls_back_to(1)
    days.move_to(8)
    old = Session.open(admin.keystore, PASSPHRASE)
    assert "key_version" not in old.coalition
    signed = key_rows()[1][0]
    with pytest.raises(UserError, match=ROLLED_BACK):
        coalition.sync(old)
    assert key_rows()[1][0] == signed


@pytest.fixture
def second_key_for_v2(admin: OrganizerHandle, tmp_path: Path) -> CoalitionKey:
    """Two admins rotated at once: the server kept the other admin's statement for v2 too."""
    remove_and_rotate(admin, tmp_path)
    return CoalitionKey.generate(2)


def test_a_held_secret_of_any_version_is_never_replaced(
        admin: OrganizerHandle, days: Days, second_key_for_v2: CoalitionKey) -> None:
    """The server swaps the current statement for another one the coalition signed for the same
    version (another admin's concurrent rotation), and wraps that key to us. Taking it would
    throw away the key our own pledges and cards are sealed to."""
    session = admin.session
    signing = session.signing_key()
    assert signing is not None
    other = second_key_for_v2
    statement = coalition.signed_key_json(session.coalition_id, signing, other)
    with database.connection_context():
        EncryptionKey.update(public_key=b64u_decode(statement["public_key"]),
                             not_after=statement["not_after"],
                             signature=b64u_decode(statement["signature"])).where(
            EncryptionKey.version == 2).execute()
        WrappedSecret.update(ciphertext=wrap_secret(
            session.identity.box_public, session.coalition_id, "encryption", 2, other.secret)).where(
            WrappedSecret.kind == "encryption", WrappedSecret.version == 2,
            WrappedSecret.organizer == session.coalition["organizer_id"]).execute()
    held = session.encryption_key(2).secret
    days.move_to(1)
    with pytest.raises(UserError, match="not your coalition's"):
        coalition.sync(session)
    assert Session.open(admin.keystore, PASSPHRASE).encryption_key(2).secret == held


def test_renewal_keeps_a_link_alive_when_an_admin_opens_the_tool_every_25_days(
        admin: OrganizerHandle, days: Days, live_server: LiveServer) -> None:
    """Amendment 6: renewed whenever fewer than 25 of its 30 days remain. An admin who opens the
    tool on days 14, 39 and 64 (25 days apart, never near the end of a statement's life) keeps
    the share link working every day; with renewal at 15 days left it died on day 31."""
    campaign_id = make_campaign(admin, action_in=60, closes_in=59, delete_in=70)
    opens = {14, 39, 64}
    for day in range(71):
        today = days.move_to(day)
        if day in opens:
            coalition.sync(Session.open(admin.keystore, PASSPHRASE))
        key = call(live_server.base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()[
            "encryption_key"]
        assert date.fromisoformat(key["not_after"]) >= today, f"the link stopped on day {day}"
    # Signed on day 64 for 30 days: the link works without anyone until then.
    assert key["not_after"] == (days.start + timedelta(days=94)).isoformat()


def test_no_renewal_while_more_than_25_days_remain(admin: OrganizerHandle, days: Days) -> None:
    """Signed on day 0 for 30 days: days 1 to 5 leave it alone (no needless signatures)."""
    signed = key_rows()[1][0]
    for day in range(1, 6):
        days.move_to(day)
        coalition.sync(admin.session)
        assert key_rows()[1][0] == signed
    days.move_to(6)
    coalition.sync(admin.session)
    assert key_rows()[1][0] == (days.start + timedelta(days=36)).isoformat()


def test_a_rotation_numbers_past_every_version_it_has_seen(admin: OrganizerHandle, tmp_path: Path,
                                                          days: Days) -> None:
    """The keystore's record, not the server's word, sets the next number: v2 is never signed
    twice for two different keys."""
    remove_and_rotate(admin, tmp_path)
    assert Session.open(admin.keystore, PASSPHRASE).coalition["key_version"] == 2
    assert rotation.rotate(admin.session) == 3
    assert Session.open(admin.keystore, PASSPHRASE).coalition["key_version"] == 3
    assert sorted(key_rows()) == [1, 2, 3]


def test_the_cli_says_when_the_links_stop(admin: OrganizerHandle, tmp_path: Path, days: Days,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 18, item 1: `campaign show` gives the day; from 10 days before it, a member's every
    command warns (an admin's command renews instead, so it never needs to)."""
    campaign_id = make_campaign(admin, action_in=40, closes_in=39, delete_in=45)
    member = joined(tmp_path, admin, "member", "member")
    members.approve(admin.session, fp(member))
    monkeypatch.setenv("PLEDGEBOX_PASSPHRASE", PASSPHRASE)
    last_day = days.today + timedelta(days=30)

    def run(who: OrganizerHandle, *argv: str) -> tuple[str, str]:
        assert cli.main(["--keystore", str(who.keystore), *argv]) == 0
        out = capsys.readouterr()
        return out.out, out.err

    days.move_to(19)  # 11 days left: no warning yet
    out, err = run(member, "campaign", "show", campaign_id)
    assert f"link works until: {last_day}" in out
    assert "warning" not in err
    days.move_to(20)
    _, err = run(member, "campaign", "list")
    assert f"warning: your share links work until {last_day} unless an admin opens Pledgebox" in err
    out, err = run(admin, "campaign", "show", campaign_id)  # renews: 30 days from day 20
    assert f"link works until: {days.today + timedelta(days=30)}" in out
    assert "warning" not in err
    _, err = run(member, "campaign", "list")
    assert "warning" not in err
    days.move_to(51)
    _, err = run(member, "campaign", "list")
    assert "warning: your share links stopped working after" in err
