"""What a compromised server tries against organizers' tools, played for real (issue 13).

The server is a real one (gunicorn on loopback); the compromise is played by writing to its
database directly, as an attacker holding the box would.
"""

import contextlib
from pathlib import Path

import pytest

from organizer import coalition, members
from organizer.errors import BadInput, KeyMismatch, UserError
from organizer.session import Session
from server.db import database
from server.models import Organizer
from tests.support.factories import PASSPHRASE, OrganizerHandle, fp, joined, make_coalition
from tests.support.live import LiveServer


def server_sets(handle: OrganizerHandle, **columns: object) -> None:
    with database.connection_context():
        assert Organizer.update(**columns).where(Organizer.fingerprint == fp(handle)).execute() == 1


def server_row(handle: OrganizerHandle) -> Organizer:
    with database.connection_context():
        return Organizer.get(Organizer.fingerprint == fp(handle))


def holds_signing_key(handle: OrganizerHandle) -> bool:
    session = Session.open(handle.keystore, PASSPHRASE)
    with contextlib.suppress(UserError):  # a refused sync still leaves the question: what is held
        coalition.sync(session)
    return Session.open(handle.keystore, PASSPHRASE).signing_key() is not None


def test_a_role_flipped_by_the_server_is_refused_and_no_signing_key_leaves(
        live_server: LiveServer, tmp_path: Path) -> None:
    admin = make_coalition(tmp_path, live_server.base_url)
    newcomer = joined(tmp_path, admin, "member", "newcomer")
    server_sets(newcomer, role="admin")

    with pytest.raises(KeyMismatch, match="invited this organizer as member"):
        members.approve(admin.session, fp(newcomer))
    with pytest.raises(KeyMismatch):
        members.approve(admin.session, fp(newcomer), role="admin")  # saying it does not help
    assert server_row(newcomer).status == "pending"
    assert not holds_signing_key(newcomer)

    # Put back, the same approval goes through as the member they were invited as.
    server_sets(newcomer, role="member")
    approved = members.approve(admin.session, fp(newcomer))
    assert approved["role"] == "member"
    assert not holds_signing_key(newcomer)
    assert Session.open(newcomer.keystore, PASSPHRASE).encryption_versions() == [1]
    # The invite approves one organizer: its record is gone.
    assert not Session.open(admin.keystore, PASSPHRASE).coalition["invites"]


def test_a_newcomer_moved_onto_another_invite_is_refused(live_server: LiveServer,
                                                         tmp_path: Path) -> None:
    """The next try: claim the member joined with the admin invite the admin also sent."""
    admin = make_coalition(tmp_path, live_server.base_url)
    member = joined(tmp_path, admin, "member", "member")
    meant_admin = joined(tmp_path, admin, "admin", "meant-admin")
    other = server_row(meant_admin)
    server_sets(member, role="admin", invite_hash=bytes(other.invite_hash))
    with pytest.raises(KeyMismatch, match="invited this organizer as member"):
        members.approve(admin.session, fp(member))
    server_sets(member, invite_binding=bytes(other.invite_binding))  # copying the MAC fails too
    with pytest.raises(KeyMismatch, match="not the ones"):
        members.approve(admin.session, fp(member))
    assert not holds_signing_key(member)
    assert members.approve(admin.session, fp(meant_admin))["role"] == "admin"
    assert holds_signing_key(meant_admin)


def test_another_admins_invite_needs_the_role_said_and_it_must_match(live_server: LiveServer,
                                                                     tmp_path: Path) -> None:
    first = make_coalition(tmp_path, live_server.base_url)
    second = joined(tmp_path, first, "admin", "second")
    members.approve(first.session, fp(second))
    coalition.sync(second.session)
    newcomer = joined(tmp_path, first, "member", "newcomer")

    with pytest.raises(members.RoleNeeded):
        members.approve(second.session, fp(newcomer))
    pending = members.preview_approval(second.session, fp(newcomer))
    assert (pending.role, pending.vouched) == (None, False)
    server_sets(newcomer, role="admin")
    with pytest.raises(KeyMismatch, match="You said member"):
        members.approve(second.session, fp(newcomer), role="member")
    server_sets(newcomer, role="member")
    assert members.approve(second.session, fp(newcomer), role="member")["role"] == "member"
    assert not holds_signing_key(newcomer)


def test_remove_needs_the_whole_fingerprint(live_server: LiveServer, tmp_path: Path) -> None:
    """A server can grind a pending entry sharing an 8-character prefix; only the full one counts."""
    admin = make_coalition(tmp_path, live_server.base_url)
    member = joined(tmp_path, admin, "member", "member")
    members.approve(admin.session, fp(member))
    for prefix in (fp(member)[:8], fp(member)[:39]):
        with pytest.raises(BadInput, match="full 40-character"):
            members.remove(admin.session, prefix)
    assert server_row(member).status == "active"
    assert members.remove(admin.session, fp(member))["fingerprint"] == fp(member)
    assert server_row(member).status == "removed"
