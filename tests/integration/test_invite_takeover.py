"""A compromised server that reads every request body tries to move a join onto an admin invite.

Issue 17, finding 1. Alice joins with a member invite, Bob with an admin invite. The server
(a real one; the compromise is played by its database and by a log of every request body the
tools sent it) rewrites Alice's pending row onto Bob's invite: role admin, Bob's invite hash, and
a binding it computes itself from whatever it has seen. Before the fix the newcomer sent the raw
invite token, so the server could compute the binding key; the admin's tool then said "You invited
them as admin" over Alice's real safety words. Now the admin's tool must refuse every such row.
"""

import contextlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import crypto.invites
from crypto import _primitives as primitives
from crypto.encoding import b64u_decode, b64u_encode
from organizer import coalition, invite_records, members
from organizer.cli import main
from organizer.client import Client, Transport, urllib_transport
from organizer.errors import KeyMismatch, ServerRefused, UserError
from organizer.session import Session
from server.db import database
from server.models import Invite, Organizer
from tests.support.factories import PASSPHRASE, OrganizerHandle, fp, make_coalition, new_organizer
from tests.support.live import LiveServer

Seen = list[bytes]


def reading_every_body(seen: Seen, rewrite: Callable[[str, bytes], bytes] | None = None
                       ) -> Transport:
    """The real server, with a copy of every request body it receives (and optionally its
    answers rewritten, as a compromised server may)."""
    def transport(method: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        seen.append(body)
        status, data = urllib_transport(method, url, body, headers)
        return status, rewrite(url, data) if rewrite and status < 300 else data
    return transport


def values_of_32_bytes(bodies: Seen) -> set[bytes]:
    """Every 32-byte value in every JSON body the server received: its whole knowledge."""
    found: set[bytes] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            with contextlib.suppress(Exception):
                found.add(b64u_decode(value, length=32))

    for body in bodies:
        with contextlib.suppress(ValueError):
            walk(json.loads(body or b"null"))
    return found


def keys_a_server_could_try(seen: Seen) -> Iterator[bytes]:
    """Each value seen, and each derivation of it the public code offers (old and new)."""
    derivations = [lambda v: v, lambda v: primitives.blake2b(v, 32)]
    for name in ("binding_key", "mac_key"):
        if hasattr(crypto.invites, name):
            derive = getattr(crypto.invites, name)
            derivations.append(lambda v, derive=derive: derive(v))
    for value in values_of_32_bytes(seen):
        for derive in derivations:
            with contextlib.suppress(ValueError):
                yield derive(value)


def row(handle: OrganizerHandle) -> Organizer:
    with database.connection_context():
        return Organizer.get(Organizer.fingerprint == fp(handle))


def server_sets(handle: OrganizerHandle, **columns: object) -> None:
    with database.connection_context():
        assert Organizer.update(**columns).where(Organizer.fingerprint == fp(handle)).execute() == 1


def holds_signing_key(handle: OrganizerHandle) -> bool:
    session = Session.open(handle.keystore, PASSPHRASE)
    with contextlib.suppress(UserError):
        coalition.sync(session)
    return Session.open(handle.keystore, PASSPHRASE).signing_key() is not None


def joins(tmp_path: Path, admin: OrganizerHandle, role: str, name: str, seen: Seen
          ) -> OrganizerHandle:
    invite, _ = members.create_invite(admin.session, role, 7)
    newcomer = new_organizer(tmp_path, reading_every_body(seen), name)
    members.join(newcomer.session, invite)
    return newcomer


def test_a_join_moved_onto_an_admin_invite_is_refused_whatever_the_server_computes(
        live_server: LiveServer, tmp_path: Path) -> None:
    seen: Seen = []
    admin = make_coalition(tmp_path, live_server.base_url, reading_every_body(seen))
    alice = joins(tmp_path, admin, "member", "alice", seen)
    bob = joins(tmp_path, admin, "admin", "bob", seen)
    alice_row, bob_row = row(alice), row(bob)
    alice_keys = (bytes(alice_row.sign_public), bytes(alice_row.box_public))
    hashes = {bytes(bob_row.invite_hash), bytes(alice_row.invite_hash)}
    hashes |= {primitives.blake2b(v, 32) for v in values_of_32_bytes(seen)}

    attempts = 0
    for key in keys_a_server_could_try(seen):
        binding = crypto.invites.invite_binding(key, admin.session.coalition_id, *alice_keys)
        for invite_hash in hashes:
            server_sets(alice, role="admin", invite_hash=invite_hash, invite_binding=binding)
            attempts += 1
            with pytest.raises((KeyMismatch, members.RoleNeeded)):
                members.approve(admin.session, fp(alice))
            preview = members.pending_previews(admin.session, members.organizers(admin.session))
            shown = preview[fp(alice)]
            assert isinstance(shown, UserError) or not shown.vouched, \
                "the app would say 'You invited them as admin'"
    assert attempts > 20
    assert row(alice).status == "pending"
    assert not holds_signing_key(alice)

    # Left alone, both are approved with the roles they were invited for.
    server_sets(alice, role="member", invite_hash=bytes(alice_row.invite_hash),
                invite_binding=bytes(alice_row.invite_binding))
    assert members.approve(admin.session, fp(alice))["role"] == "member"
    assert members.approve(admin.session, fp(bob))["role"] == "admin"
    assert not holds_signing_key(alice)
    assert holds_signing_key(bob)


def test_the_server_never_receives_the_invites_secret(live_server: LiveServer,
                                                      tmp_path: Path) -> None:
    """What the newcomer sends finds the invite; nothing sent derives the key of its MAC."""
    seen: Seen = []
    admin = make_coalition(tmp_path, live_server.base_url, reading_every_body(seen))
    invite, _ = members.create_invite(admin.session, "admin", 7)
    newcomer = new_organizer(tmp_path, reading_every_body(seen), "newcomer")
    members.join(newcomer.session, invite)
    secret = invite.secret
    for body in seen:
        assert secret not in body
    assert secret not in values_of_32_bytes(seen)
    assert crypto.invites.mac_key(secret) not in set(keys_a_server_could_try(seen))
    with database.connection_context():
        assert not Invite.select().count(), "spent"
        assert bytes(row(newcomer).invite_hash) == primitives.blake2b(
            crypto.invites.locator(secret), 32)


def test_a_binding_under_our_invite_is_found_whatever_hash_the_server_lists(
        live_server: LiveServer, tmp_path: Path) -> None:
    """The invite hash is only a hint: a server that blanks it cannot turn a vouched member into
    an unvouched newcomer whose role the admin must guess."""
    seen: Seen = []
    admin = make_coalition(tmp_path, live_server.base_url, reading_every_body(seen))
    alice = joins(tmp_path, admin, "member", "alice", seen)
    server_sets(alice, invite_hash=None, role="admin")
    with pytest.raises(KeyMismatch, match="invited this organizer as member"):
        members.approve(admin.session, fp(alice))
    server_sets(alice, role="member")
    pending = members.preview_approval(admin.session, fp(alice))
    assert (pending.role, pending.vouched) == ("member", True)


def test_an_invite_record_lives_by_this_laptops_clock_not_the_servers_word(
        live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server answers that the invite expires in ten years; the record still goes when the
    days the admin chose (and the grace for a late approval) have passed on the admin's clock."""
    def ten_years(url: str, data: bytes) -> bytes:
        if url.endswith("/api/v1/org/invites"):
            return json.dumps({**json.loads(data),
                               "expires_at": int(time.time()) + 3650 * 86400}).encode()
        return data

    seen: Seen = []
    admin = make_coalition(tmp_path, live_server.base_url, reading_every_body(seen, ten_years))
    invite, expires_at = members.create_invite(admin.session, "admin", 2)
    assert expires_at <= time.time() + 2 * 86400 + 60, "the tool shows its own expiry"
    alice = new_organizer(tmp_path, name="alice")
    members.join(alice.session, invite)
    assert members.preview_approval(admin.session, fp(alice)).vouched

    later = time.time() + (2 + invite_records.KEEP_AFTER_EXPIRY_DAYS) * 86400 + 3600
    monkeypatch.setattr(invite_records, "now", lambda: later)
    pending = members.preview_approval(admin.session, fp(alice))
    assert (pending.role, pending.vouched) == (None, False)
    members.create_invite(admin.session, "member", 1)  # saving prunes what is past its time
    stored = Session.open(admin.keystore, PASSPHRASE).coalition["invites"]
    assert len(stored) == 1


def _old_invite(admin: OrganizerHandle, token: bytes) -> str:
    """A protocol 1.0 invite line, as the previous release printed it."""
    coalition_ = admin.session.coalition
    body = {"v": 1, "server": admin.session.data["server"], "coalition_id": coalition_["coalition_id"],
            "coalition_name": coalition_["name"], "signing_key": coalition_["signing_key"],
            "role": "member", "token": b64u_encode(token)}
    return members.INVITE_PREFIX + b64u_encode(json.dumps(body).encode())


def test_an_old_invite_is_refused_with_what_to_do(live_server: LiveServer, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    admin = make_coalition(tmp_path, live_server.base_url)
    line = _old_invite(admin, secrets.token_bytes(32))
    with pytest.raises(members.OldInvite):
        members.Invite.decode(line)
    newcomer = tmp_path / "newcomer.json"
    monkeypatch.setenv("PLEDGEBOX_PASSPHRASE", PASSPHRASE)
    assert main(["--keystore", str(newcomer), "join", line]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert not newcomer.exists()
    assert err == ["pledgebox: This invite was made by an older version of Pledgebox and can no longer be "
                   "used safely: ask the admin who sent it for a new invite."]


def test_an_older_tool_is_told_to_update_not_let_in(live_server: LiveServer, tmp_path: Path) -> None:
    """An older newcomer's tool sends the raw token; an older admin's tool its hash."""
    admin = make_coalition(tmp_path, live_server.base_url)
    newcomer = new_organizer(tmp_path, name="newcomer")
    me = newcomer.session.identity
    client = Client(live_server.base_url, me.fingerprint, me.sign_secret)
    with pytest.raises(ServerRefused, match="older version of Pledgebox.*ask an admin for a new"):
        client.post("/api/v1/org/join", {
            "invite_token": b64u_encode(secrets.token_bytes(32)),
            "invite_binding": b64u_encode(bytes(32)),
            "organizer": {"sign_public": b64u_encode(me.sign_public),
                          "box_public": b64u_encode(me.box_public)}})
    with pytest.raises(ServerRefused, match="update Pledgebox"):
        admin.session.client().post("/api/v1/org/invites", {
            "token_hash": b64u_encode(bytes(32)), "role": "admin"})
    with database.connection_context():
        assert not Invite.select().count()
        assert Organizer.select().count() == 1


def test_an_old_record_in_the_keystore_vouches_for_nothing(live_server: LiveServer,
                                                           tmp_path: Path) -> None:
    """A record of a 1.0 invite holds a key the server could derive: it is dropped, and the
    newcomer's role must be said, as for another admin's invite."""
    admin = make_coalition(tmp_path, live_server.base_url)
    alice = joins(tmp_path, admin, "member", "alice", [])
    records = admin.session.coalition["invites"]
    for record in records.values():  # as the previous release wrote them
        record.pop("v")
        record["binding_key"] = record.pop("mac_key")
    admin.session.save()
    with pytest.raises(members.RoleNeeded):
        members.approve(admin.session, fp(alice))
    assert members.approve(admin.session, fp(alice), role="member")["role"] == "member"
    assert not Session.open(admin.keystore, PASSPHRASE).coalition["invites"]
