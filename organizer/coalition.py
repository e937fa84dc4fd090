"""Setting up a coalition and keeping this keystore in step with it (sync on every command)."""

from datetime import date, timedelta
from typing import Any

from crypto import BadEnvelope, BadSignature
from crypto.encoding import b64u_decode, b64u_encode
from crypto.identity import OrganizerIdentity
from crypto.ids import new_id
from crypto.signing import EncryptionKey, SigningKey
from crypto.statements import encryption_key_message, organizer_message, verify_statement
from crypto.wrapping import unwrap_secret, wrap_secret
from organizer import backup, clock, keyring
from organizer.client import Client
from organizer.errors import KeyMismatch, ServerRefused
from organizer.session import Session

NOT_AFTER_DAYS = 30
# Renew whenever fewer than 25 of the 30 days remain (protocol 1.1, amendment 6): a link keeps
# working as long as any admin opens the tool once in 25 days.
REFRESH_WHEN_DAYS_LEFT = 25


def utc_today() -> date:
    return clock.today()


def signed_key_json(coalition_id: str, signing: SigningKey, key: EncryptionKey,
                    today: date | None = None) -> dict[str, Any]:
    not_after = ((today or utc_today()) + timedelta(days=NOT_AFTER_DAYS)).isoformat()
    message = encryption_key_message(coalition_id, key.version, not_after, key.public)
    return {"version": key.version, "not_after": not_after, "public_key": b64u_encode(key.public),
            "signature": b64u_encode(signing.sign(message))}


def sign_statement(session: Session, signing: SigningKey, key: EncryptionKey) -> dict[str, Any]:
    """The one place a tool signs a key statement for its coalition (renewal and rotation; the
    first key is signed by `create`). Never for a version older than the highest this keystore
    has seen (amendment 5); the version signed is recorded."""
    keyring.check_not_older(session, key.version)
    keyring.record_seen(session, key.version)
    return signed_key_json(session.coalition_id, signing, key)


def approval(coalition_id: str, signing: SigningKey, role: str, sign_public: bytes,
             box_public: bytes) -> str:
    return b64u_encode(signing.sign(organizer_message(coalition_id, role, sign_public, box_public)))


def wrap_all(coalition_id: str, box_public: bytes, role: str,
             signing: SigningKey, versions: dict[int, EncryptionKey]) -> list[dict[str, Any]]:
    """Wrap the coalition's secrets to one organizer: the signing key only to admins."""
    items = [{"kind": "encryption", "version": v,
              "ciphertext": b64u_encode(wrap_secret(box_public, coalition_id, "encryption", v,
                                                    k.secret))}
             for v, k in sorted(versions.items())]
    if role == "admin":
        items.append({"kind": "signing", "version": 1, "ciphertext": b64u_encode(
            wrap_secret(box_public, coalition_id, "signing", 1, signing.seed))})
    return items


def create(session: Session, server: str, setup_code: str, name: str) -> dict[str, Any]:
    """Make the coalition's keys here, register the public halves, keep the secrets wrapped to us."""
    if session.data.get("coalition"):
        raise ServerRefused("This keystore already belongs to a coalition; use another --keystore.")
    identity = session.identity
    coalition_id = new_id()
    signing, key = SigningKey.generate(), EncryptionKey.generate(1)
    body = {
        "setup_code": setup_code.strip(), "coalition_id": coalition_id, "name": name,
        "signing_key": b64u_encode(signing.public),
        "encryption_key": signed_key_json(coalition_id, signing, key),
        "organizer": {"sign_public": b64u_encode(identity.sign_public),
                      "box_public": b64u_encode(identity.box_public)},
        "approval_signature": approval(coalition_id, signing, "admin", identity.sign_public,
                                       identity.box_public),
        "wrapped": wrap_all(coalition_id, identity.box_public, "admin", signing,
                            {1: key}),
    }
    client = Client(server, identity.fingerprint, identity.sign_secret, session.transport)
    me = client.post("/api/v1/org/coalitions", body)
    session.data["server"] = client.base_url
    session.data["coalition"] = {"coalition_id": coalition_id, "name": name,
                                 "signing_key": b64u_encode(signing.public),
                                 "organizer_id": me["organizer_id"], "role": "admin",
                                 keyring.RECORD: 1}
    session.remember_secret("signing", 1, signing.seed)
    session.remember_secret("encryption", 1, key.secret)
    backup.mark_due(session, "coalition")
    session.save()
    return me


def verify_key(session: Session, key: dict[str, Any]) -> None:
    message = encryption_key_message(session.coalition_id, key["version"], key["not_after"],
                                     b64u_decode(key["public_key"], length=32))
    try:
        verify_statement(session.signing_public, message, b64u_decode(key["signature"]))
    except BadSignature:
        raise KeyMismatch() from None


def check_received_secret(session: Session, kind: str, version: int, secret: bytes,
                          signed_key: dict[str, Any]) -> None:
    """Refuse a wrapped secret that is not the coalition's own.

    Sealed boxes are anonymous: anyone who knows our public key, the server included, can wrap
    a secret to us. A signing seed must give the pinned coalition key. An encryption secret we
    already hold, of any version, is never replaced (a second statement the coalition signed for
    the same version, say two admins rotating at once, must not make us drop the key our data is
    sealed to); one of the current version must give its coalition-signed public key. Otherwise
    a server could plant a key it knows, and the next `not_after` refresh would have an admin's
    tool sign it for students' pages to encrypt to.
    """
    if kind == "signing":
        genuine = SigningKey(secret).public == session.signing_public
    elif str(version) in session.data["secrets"]["encryption"]:
        genuine = session.encryption_key(version).secret == secret
    elif version == signed_key["version"]:
        genuine = EncryptionKey(version, secret).public == b64u_decode(signed_key["public_key"])
    else:  # newer: no such version has been signed; older: only ever used to open pledges
        genuine = version < signed_key["version"]
    if not genuine:
        raise KeyMismatch(f"The server sent a {kind} key that is not your coalition's: do not "
                          "trust this server, and tell your coalition.")


def sync(session: Session, client: Client | None = None) -> dict[str, Any]:
    """Fetch our status and any secrets wrapped to us; refresh the key's not_after if due.

    The server's current key must be signed by the coalition and not older than the highest
    version this keystore has seen (KeyRolledBack): checked before anything is stored or signed.
    """
    client = client or session.client()
    me = client.get("/api/v1/org/me")
    if me["signing_key"] != session.coalition["signing_key"]:
        raise KeyMismatch()
    verify_key(session, me["encryption_key"])
    keyring.check_not_older(session, int(me["encryption_key"]["version"]))
    identity: OrganizerIdentity = session.identity
    received = []
    for item in me["wrapped"]:
        try:
            kind, version, secret = unwrap_secret(identity.box_public, identity.box_secret,
                                                  b64u_decode(item["ciphertext"]),
                                                  session.coalition_id)
        except BadEnvelope:
            continue  # not for us or damaged: never trust the server's label
        check_received_secret(session, kind, version, secret, me["encryption_key"])
        received.append((kind, version, secret))
    keyring.record_seen(session, int(me["encryption_key"]["version"]))
    held = set(session.encryption_versions())
    arrived = {v for kind, v, _ in received if kind == "encryption" and v not in held}
    for kind, version, secret in received:
        session.remember_secret(kind, version, secret)
    if arrived:  # our first keys (approved), or a rotation's: an older backup lacks them
        backup.mark_due(session, "keys" if held else "coalition")
    keyring.forget_pruned(session, me)
    session.coalition["role"], session.coalition["status"] = me["role"], me["status"]
    session.save()  # the record first: a failed renewal below must not lose it
    me = _refresh_if_due(session, client, me)
    session.save()
    return me


def renewal_due(not_after: str, today: date | None = None) -> bool:
    """Fewer than 25 of the statement's 30 days remain (amendment 6)."""
    return (date.fromisoformat(not_after) - (today or utc_today())).days < REFRESH_WHEN_DAYS_LEFT


def _refresh_if_due(session: Session, client: Client, me: dict[str, Any]) -> dict[str, Any]:
    key = me["encryption_key"]
    signing = session.signing_key()
    if me["role"] != "admin" or signing is None or not renewal_due(key["not_after"]):
        return me
    current = EncryptionKey(key["version"], session.encryption_key(key["version"]).secret)
    if current.public != b64u_decode(key["public_key"], length=32):
        raise KeyMismatch()  # never sign a key the coalition did not make (see sync)
    return client.request("PUT", "/api/v1/org/encryption-key",
                          sign_statement(session, signing, current))


def set_server(session: Session, url: str) -> str:
    """Point this keystore at the coalition's server under a new address (it moved, or a demo
    restarted on another port). The address is kept only if the server there knows this
    organizer and holds this coalition's key, so a typo cannot strand the keystore."""
    url = url.strip()
    identity = session.identity
    client = Client(url, session.coalition["organizer_id"], identity.sign_secret, session.transport)
    sync(session, client)  # raises ServerUnreachable, ServerRefused or KeyMismatch first
    session.data["server"] = client.base_url
    session.save()
    return client.base_url
