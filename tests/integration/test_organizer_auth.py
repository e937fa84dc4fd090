"""The organizers' API refuses what it must, and a refused request changes nothing stored.

Against a real server (gunicorn) with two coalitions on it: replays, forged signatures, stale
timestamps, a removed organizer's key, a pending newcomer, a member doing an admin's work, and an
organizer of one coalition aiming at every organizer endpoint with the other's ids. After each
refusal the database is compared with a snapshot: every table's rows, and on SQLite also the hash
of the database file once its WAL is checkpointed.
"""

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crypto.encoding import b64u_encode
from crypto.envelope import seal_bytes
from crypto.identity import OrganizerIdentity
from crypto.request_auth import SignatureParams, sign_request
from crypto.signing import EncryptionKey
from organizer import announce, coalition, contacts, members, rotation
from organizer.coalition import signed_key_json, utc_today, wrap_all
from server import create_app
from server.config import Config
from server.db import database, is_sqlite
from tests.support.factories import OrganizerHandle, make_campaign, make_coalition, new_organizer, pledge
from tests.support.http import Reply, call
from tests.support.live import LiveServer

ORG = "/api/v1/org"


@dataclass
class Signer:
    keyid: str
    secret: bytes

    @classmethod
    def of(cls, handle: OrganizerHandle) -> "Signer":
        return cls(handle.session.coalition["organizer_id"], handle.session.identity.sign_secret)


def send(url: str, who: Signer, method: str, path: str, body: Any = None, query: str = "",
         created: float | None = None, host: str | None = None) -> tuple[Reply, dict[str, str], bytes]:
    raw = b"" if body is None else json.dumps(body).encode()
    params = SignatureParams(int(time.time() if created is None else created), who.keyid,
                             b64u_encode(secrets.token_bytes(16)))
    headers = sign_request(who.secret, method=method, host=host or urlsplit(url).netloc, path=path,
                           query=query, body=raw, params=params)
    if raw:
        headers["Content-Type"] = "application/json"
    target = path + (f"?{query}" if query else "")
    return call(url, method, target, raw=raw or None, headers=headers), headers, raw


def _cell(value: Any) -> str:
    return bytes(value).hex() if isinstance(value, (bytes, memoryview)) else repr(value)


def snapshot(db_url: str) -> tuple[dict[str, list[tuple[str, ...]]], str]:
    """Every row of every table, plus (SQLite) the checkpointed database file's hash."""
    with database.connection_context():
        file_hash = ""
        if is_sqlite():
            busy, _, _ = database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0
        rows = {t: sorted(tuple(_cell(v) for v in r)
                          for r in database.execute_sql(f'SELECT * FROM "{t}"').fetchall())
                for t in database.get_tables()}
    if db_url.startswith("sqlite:///"):
        file_hash = hashlib.sha256(Path(db_url.removeprefix("sqlite:///")).read_bytes()).hexdigest()
    return rows, file_hash


@dataclass
class World:
    url: str
    db_url: str
    admin_a: OrganizerHandle
    member_a: OrganizerHandle
    pending_a: OrganizerHandle
    removed_a: OrganizerHandle
    campaign_a: str
    pledges_a: list[str]
    admin_b: OrganizerHandle
    campaign_b: str

    def refused(self, who: Signer, method: str, path: str, body: Any = None, query: str = "",
                status: int | tuple[int, ...] = (401, 403, 404), created: float | None = None
                ) -> Reply:
        """Send one request; it must be refused and leave the database exactly as it was."""
        before = snapshot(self.db_url)
        reply, _, _ = send(self.url, who, method, path, body, query, created)
        statuses = (status,) if isinstance(status, int) else status
        assert reply.status in statuses, (method, path, reply.status, reply.body)
        assert set(reply.json()["error"]) >= {"code", "message"}
        assert snapshot(self.db_url) == before, (method, path)
        return reply


def join_approved(tmp: Path, admin: OrganizerHandle, role: str, approve: bool = True
                  ) -> OrganizerHandle:
    invite, _ = members.create_invite(admin.session, role, 7)
    newcomer = new_organizer(tmp, name=role)
    members.join(newcomer.session, invite)
    if approve:
        members.approve(admin.session, newcomer.session.identity.fingerprint)
    return newcomer


@pytest.fixture
def world(live_server: LiveServer, db_url: str, tmp_path: Path) -> World:
    url = live_server.base_url
    admin_a = make_coalition(tmp_path, url, name="Coalition A")
    campaign_a = make_campaign(admin_a)
    member_a = join_approved(tmp_path, admin_a, "member")
    pending_a = join_approved(tmp_path, admin_a, "member", approve=False)
    removed_a = join_approved(tmp_path, admin_a, "admin")
    members.remove(admin_a.session, removed_a.session.identity.fingerprint)
    contacts.set_card(member_a.session, {"name": "M", "school": "North", "role": "outreach"})
    pledges_a = [pledge(url, campaign_a).pledge_id for _ in range(3)]
    admin_b = make_coalition(tmp_path, url, name="Coalition B")
    campaign_b = make_campaign(admin_b)
    contacts.set_card(admin_b.session, {"name": "B", "school": "South", "role": "lead"})
    return World(url, db_url, admin_a, member_a, pending_a, removed_a, campaign_a, pledges_a,
                 admin_b, campaign_b)


def fp(handle: OrganizerHandle) -> str:
    return handle.session.identity.fingerprint


def approval_body(admin: OrganizerHandle, target: OrganizerHandle) -> dict[str, Any]:
    """A well-formed approval by `admin`'s coalition key for `target` (valid or not for the server)."""
    session, ident = admin.session, target.session.identity
    signing = session.signing_key()
    assert signing is not None
    keys = {v: session.encryption_key(v) for v in session.encryption_versions()}
    return {"approval_signature": coalition.approval(session.coalition_id, signing, "member",
                                                     ident.sign_public, ident.box_public),
            "wrapped": wrap_all(session.coalition_id, ident.box_public, "member", signing, keys)}


def rotation_body(admin: OrganizerHandle, organizer_ids: list[str]) -> dict[str, Any]:
    session = admin.session
    signing = session.signing_key()
    assert signing is not None
    version = max(session.encryption_versions()) + 1
    key = EncryptionKey.generate(version)
    return {"encryption_key": signed_key_json(session.coalition_id, signing, key),
            "wrapped": [{"organizer_id": oid, "kind": "encryption", "version": version,
                         "ciphertext": b64u_encode(seal_bytes(key.public, b"x"))}
                        for oid in organizer_ids]}


def card_body(version: int = 1) -> dict[str, Any]:
    return {"key_version": version,
            "ciphertext": b64u_encode(seal_bytes(EncryptionKey.generate(1).public, b"card"))}


def reencrypt_body(w: World, to_version: int) -> dict[str, Any]:
    ct = b64u_encode(seal_bytes(EncryptionKey.generate(1).public, b"{}"))
    return {"to_version": to_version,
            "pledges": [{"pledge_id": p, "from_version": 1, "ciphertext": ct} for p in w.pledges_a],
            "directory": [{"fingerprint": fp(w.member_a), "from_version": 1, "ciphertext": ct}]}


def test_replayed_requests_are_refused(world: World) -> None:
    w, admin = world, Signer.of(world.admin_a)
    for method, path, body in [("GET", f"{ORG}/organizers", None),
                               ("PUT", f"{ORG}/directory", card_body())]:
        first, headers, raw = send(w.url, admin, method, path, body)
        assert first.status in (200, 204), first.body
        before = snapshot(w.db_url)
        again = call(w.url, method, path, raw=raw or None, headers=headers)
        assert again.status == 401
        assert "replay" in again.json()["error"]["message"]
        assert snapshot(w.db_url) == before


def test_forged_tampered_and_expired_signatures_are_refused(world: World) -> None:
    w = world
    stranger = OrganizerIdentity.generate()
    forged = Signer(w.admin_a.session.coalition["organizer_id"], stranger.sign_secret)
    admin = Signer.of(w.admin_a)
    target = f"{ORG}/organizers/{fp(w.member_a)}"
    w.refused(forged, "DELETE", target, status=401)
    w.refused(forged, "POST", f"{ORG}/invites",
              {"locator_hash": b64u_encode(bytes(32)), "role": "admin"}, status=401)
    w.refused(Signer("no-such-organizer", stranger.sign_secret), "GET", f"{ORG}/organizers",
              status=401)
    w.refused(admin, "DELETE", target, created=time.time() - 400, status=401)
    w.refused(admin, "DELETE", target, created=time.time() + 400, status=401)

    # A valid signature over one body does not carry another body.
    _, headers, _ = send(w.url, admin, "GET", f"{ORG}/organizers")  # spent; only its headers reused
    before = snapshot(w.db_url)
    tampered = call(w.url, "POST", f"{ORG}/invites",
                    body={"locator_hash": b64u_encode(bytes(32)), "role": "admin"}, headers=headers)
    assert tampered.status == 401
    assert snapshot(w.db_url) == before


def test_every_signature_failure_is_the_same_401_byte_for_byte(world: World,
                                                                live_server: LiveServer) -> None:
    """Unknown key id, bad signature, a path holding %0A, a request signed for another host:
    one answer, so a prober learns nothing about which organizer ids exist, and nothing crashes."""
    w = world
    stranger = OrganizerIdentity.generate()
    admin = Signer.of(w.admin_a)
    log_before = live_server.log_path.read_bytes()
    answers = {
        "unknown key id": w.refused(Signer("no-such-organizer", stranger.sign_secret), "GET",
                                    f"{ORG}/organizers", status=401),
        "bad signature": w.refused(Signer(admin.keyid, stranger.sign_secret), "GET",
                                   f"{ORG}/organizers", status=401),
        "line break in path": w.refused(admin, "DELETE", f"{ORG}/organizers/x%0A%22@method%22",
                                        status=401),
    }
    before = snapshot(w.db_url)
    other_host, _, _ = send(w.url, admin, "GET", f"{ORG}/organizers", host="pledgebox.example.org")
    answers["signed for another host"] = other_host
    assert snapshot(w.db_url) == before
    bodies = {name: reply.body for name, reply in answers.items()}
    assert len(set(bodies.values())) == 1, bodies
    assert {reply.status for reply in answers.values()} == {401}
    assert {reply.headers.get("content-length") for reply in answers.values()} == {
        str(len(bodies["bad signature"]))}
    assert b"Traceback" not in live_server.log_path.read_bytes()[len(log_before):]
    # The same admin, signing for the host it talks to, gets through.
    ok, _, _ = send(w.url, admin, "GET", f"{ORG}/organizers")
    assert ok.status == 200, ok.body


def test_removed_and_pending_organizers_are_refused(world: World) -> None:
    w = world
    removed, pending = Signer.of(w.removed_a), Signer.of(w.pending_a)
    for who in (removed, pending):
        for method, path, body in [
            ("GET", f"{ORG}/organizers", None), ("GET", f"{ORG}/directory", None),
            ("PUT", f"{ORG}/directory", card_body()), ("GET", f"{ORG}/campaigns", None),
            ("GET", f"{ORG}/campaigns/{w.campaign_a}/pledges", None),
            ("POST", f"{ORG}/invites", {"locator_hash": b64u_encode(bytes(32)), "role": "admin"}),
            ("POST", f"{ORG}/keys/prune", {}),
        ]:
            w.refused(who, method, path, body, status=403)
    w.refused(removed, "GET", f"{ORG}/me", status=403)
    # The removed admin's tool cannot sync: nothing new reaches the keystore it kept.
    with pytest.raises(Exception, match="removed"):
        coalition.sync(w.removed_a.session)


def test_members_cannot_do_admin_work(world: World) -> None:
    w = world
    member = Signer.of(w.member_a)
    admin_id = w.admin_a.session.coalition["organizer_id"]
    announcement = announce.post(w.admin_a.session, w.campaign_a, announce.build_announcement(
        w.campaign_a, "Meet at the gym", None, utc_today()))
    cases = [
        ("POST", f"{ORG}/invites", {"locator_hash": b64u_encode(bytes(32)), "role": "member"}),
        ("POST", f"{ORG}/organizers/{fp(w.pending_a)}/approve", approval_body(w.admin_a, w.pending_a)),
        ("DELETE", f"{ORG}/organizers/{fp(w.admin_a)}", None),
        ("POST", f"{ORG}/keys",
         rotation_body(w.admin_a, [admin_id, w.member_a.session.coalition["organizer_id"]])),
        ("GET", f"{ORG}/campaigns/{w.campaign_a}/stale-pledges", None),
        ("POST", f"{ORG}/reencrypt", reencrypt_body(w, 2)),
        ("POST", f"{ORG}/keys/prune", {}),
        ("DELETE", f"{ORG}/campaigns/{w.campaign_a}", None),
        ("DELETE", f"{ORG}/campaigns/{w.campaign_a}/announcements/{announcement}", None),
        ("PUT", f"{ORG}/encryption-key", signed_key_json(
            w.admin_a.session.coalition_id, w.admin_a.session.signing_key(),  # type: ignore[arg-type]
            w.admin_a.session.encryption_key(1))),
    ]
    for method, path, body in cases:
        w.refused(member, method, path, body, status=403)
    # The same approval from the admin goes through: the refusals above were about the role.
    ok, _, _ = send(w.url, Signer.of(w.admin_a), "POST",
                    f"{ORG}/organizers/{fp(w.pending_a)}/approve", approval_body(w.admin_a, w.pending_a))
    assert ok.status == 200, ok.body


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_no_organizer_reaches_another_coalition(world: World, config: Config) -> None:
    w, outsider = world, Signer.of(world.admin_b)
    a_ids = [w.campaign_a, *w.pledges_a, fp(w.admin_a), fp(w.member_a), fp(w.pending_a),
             w.admin_a.session.coalition_id, w.member_a.session.coalition["organizer_id"]]
    # Lists answer with the outsider's own coalition only.
    for path in ("/me", "/organizers", "/directory", "/campaigns"):
        before = snapshot(w.db_url)
        reply, _, _ = send(w.url, outsider, "GET", ORG + path)
        assert reply.status == 200
        assert not any(i.encode() in reply.body for i in a_ids), path
        # (a GET spends a nonce, the one write a served request makes)
        assert {t: r for t, r in snapshot(w.db_url)[0].items() if t != "request_nonce"} == \
            {t: r for t, r in before[0].items() if t != "request_nonce"}

    explicit = {
        ("POST", "/organizers/<fingerprint>/approve"): approval_body(w.admin_b, w.pending_a),
        ("DELETE", "/organizers/<fingerprint>"): None,
        ("GET", "/campaigns/<campaign_id>/pledges"): None,
        ("GET", "/campaigns/<campaign_id>/stale-pledges"): None,
        ("DELETE", "/campaigns/<campaign_id>"): None,
    }
    announcement_a = announce.post(w.admin_a.session, w.campaign_a, announce.build_announcement(
        w.campaign_a, "Meet at the gym", None, utc_today()))
    a_ids.append(announcement_a)
    values = {"campaign_id": w.campaign_a, "fingerprint": fp(w.pending_a),
              "announcement_id": announcement_a}
    app = create_app(config)
    swept = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(ORG) or not rule.arguments:
            continue
        unknown = set(rule.arguments) - set(values)
        assert not unknown, f"add a value of coalition A for {unknown} in this test ({rule.rule})"
        path = rule.rule.removeprefix(ORG)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            body = explicit.get((method, path), {} if method in ("POST", "PUT") else None)
            target = ORG + re.sub(r"<(\w+)>", lambda m: values[m.group(1)], path)
            reply = w.refused(outsider, method, target, body, status=404)
            assert not any(i.encode() in reply.body for i in a_ids)
            swept.add((method, path))
    assert set(explicit) <= swept

    # Coalition-wide writes name A's rows and change none of them.
    w.refused(outsider, "POST", f"{ORG}/keys",
              rotation_body(w.admin_b, [w.admin_b.session.coalition["organizer_id"],
                                        w.admin_a.session.coalition["organizer_id"]]), status=409)
    assert rotation.rotate(w.admin_b.session) == 2  # so B may re-encrypt from 1 to 2
    before = snapshot(w.db_url)[0]
    reply, _, _ = send(w.url, outsider, "POST", f"{ORG}/reencrypt", reencrypt_body(w, 2))
    assert reply.status == 200, reply.body
    assert reply.json() == {"updated": 0, "skipped": len(w.pledges_a) + 1}
    after = snapshot(w.db_url)[0]
    assert {t: r for t, r in after.items() if t != "request_nonce"} == \
        {t: r for t, r in before.items() if t != "request_nonce"}
