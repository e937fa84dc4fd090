"""A server cannot plant a key in an organizer's keystore.

Sealed boxes are anonymous, so a hostile server can wrap any secret to an organizer's public key
and list it in `GET /me`. Had the tool stored a planted encryption secret for the current
version, its next `not_after` refresh would have had an admin sign the server's key for
students' pages to encrypt to. The tool must refuse such secrets, keep the keystore as it was,
and never sign an encryption key whose secret does not match the coalition-signed public key.
"""

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crypto.encoding import b64u_encode
from crypto.wrapping import wrap_secret
from organizer import coalition, rotation
from organizer.client import urllib_transport
from organizer.errors import KeyMismatch
from organizer.session import Session
from server.db import database
from server.models import EncryptionKey
from tests.support.factories import PASSPHRASE, OrganizerHandle, make_coalition
from tests.support.live import LiveServer

Sent = list[tuple[str, str, bytes]]


def planting(admin: OrganizerHandle, kind: str, version: int, secret: bytes
             ) -> Callable[..., tuple[int, bytes]]:
    """The real server, with one more wrapped secret in every /me answer."""
    session = admin.session
    planted = {"kind": kind, "version": version, "ciphertext": b64u_encode(wrap_secret(
        session.identity.box_public, session.coalition_id, kind, version, secret))}

    def transport(method: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        status, data = urllib_transport(method, url, body, headers)
        if method == "GET" and url.endswith("/api/v1/org/me") and status == 200:
            me: dict[str, Any] = json.loads(data)
            me["wrapped"].append(planted)
            data = json.dumps(me).encode()
        return status, data

    return transport


def held(admin: OrganizerHandle) -> dict[str, Any]:
    """What the keystore on disk holds."""
    return Session.open(admin.keystore, PASSPHRASE).data["secrets"]


@pytest.fixture
def admin(live_server: LiveServer, tmp_path: Path) -> OrganizerHandle:
    return make_coalition(tmp_path, live_server.base_url)


@pytest.mark.parametrize(("kind", "version"), [("encryption", 1), ("signing", 1),
                                               ("encryption", 2)],
                         ids=["current-encryption-key", "signing-key", "unsigned-version"])
def test_a_planted_secret_is_refused_and_nothing_is_stored(admin: OrganizerHandle, kind: str,
                                                           version: int) -> None:
    before = held(admin)
    admin.session.transport = planting(admin, kind, version, secrets.token_bytes(32))
    with pytest.raises(KeyMismatch, match="not your coalition's"):
        coalition.sync(admin.session)
    assert held(admin) == before


def test_a_held_older_version_is_never_replaced(admin: OrganizerHandle) -> None:
    assert rotation.rotate(admin.session) == 2
    before = held(admin)
    assert set(before["encryption"]) == {"1", "2"}
    admin.session.transport = planting(admin, "encryption", 1, secrets.token_bytes(32))
    with pytest.raises(KeyMismatch):
        coalition.sync(admin.session)
    assert held(admin) == before


def test_the_coalitions_own_secrets_wrapped_again_are_accepted(admin: OrganizerHandle) -> None:
    session = admin.session
    admin.session.transport = planting(admin, "encryption", 1, session.encryption_key(1).secret)
    coalition.sync(session)
    signing = session.signing_key()
    assert signing is not None
    admin.session.transport = planting(admin, "signing", 1, signing.seed)
    coalition.sync(session)


def test_no_refresh_signs_a_key_the_coalition_did_not_make(
        admin: OrganizerHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """A keystore that already holds a wrong secret (planted before this check existed) must
    not have the admin sign its public key when the current key's not_after is refreshed."""
    session = admin.session
    with database.connection_context():
        row = EncryptionKey.get(EncryptionKey.version == 1)
        before = (bytes(row.public_key), row.not_after, bytes(row.signature))
    session.data["secrets"]["encryption"]["1"] = b64u_encode(secrets.token_bytes(32))
    monkeypatch.setattr(coalition, "REFRESH_WHEN_DAYS_LEFT", 10_000)  # a refresh is due now
    sent: Sent = []
    session.transport = _recording_without_wrapped(sent)
    with pytest.raises(KeyMismatch):
        coalition.sync(session)
    assert not [s for s in sent if s[0] == "PUT"], "nothing was signed and sent"
    with database.connection_context():
        row = EncryptionKey.get(EncryptionKey.version == 1)
        assert (bytes(row.public_key), row.not_after, bytes(row.signature)) == before


def _recording_without_wrapped(sent: Sent) -> Callable[..., tuple[int, bytes]]:
    """Records requests; /me lists no wrapped secrets (else the genuine one would mend the
    keystore before the refresh, which sync does)."""
    def transport(method: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        sent.append((method, url, body))
        status, data = urllib_transport(method, url, body, headers)
        if method == "GET" and url.endswith("/api/v1/org/me") and status == 200:
            data = json.dumps({**json.loads(data), "wrapped": []}).encode()
        return status, data
    return transport
