"""Setting up a coalition and keeping this keystore in step with it (sync on every command)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from crypto import BadEnvelope, BadSignature
from crypto.encoding import b64u_decode, b64u_encode
from crypto.identity import OrganizerIdentity
from crypto.ids import new_id
from crypto.signing import EncryptionKey, SigningKey
from crypto.statements import encryption_key_message, organizer_message, verify_statement
from crypto.wrapping import unwrap_secret, wrap_secret
from organizer import keyring
from organizer.client import Client
from organizer.errors import KeyMismatch, NoSecretForVersion, ServerRefused
from organizer.session import Session

NOT_AFTER_DAYS = 30
REFRESH_WHEN_DAYS_LEFT = 15


def utc_today() -> date:
    return datetime.now(UTC).date()


def signed_key_json(coalition_id: str, signing: SigningKey, key: EncryptionKey,
                    today: date | None = None) -> dict[str, Any]:
    not_after = ((today or utc_today()) + timedelta(days=NOT_AFTER_DAYS)).isoformat()
    message = encryption_key_message(coalition_id, key.version, not_after, key.public)
    return {"version": key.version, "not_after": not_after, "public_key": b64u_encode(key.public),
            "signature": b64u_encode(signing.sign(message))}


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
                                 "organizer_id": me["organizer_id"], "role": "admin"}
    session.remember_secret("signing", 1, signing.seed)
    session.remember_secret("encryption", 1, key.secret)
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
    a secret to us. A signing seed must give the pinned coalition key; an encryption secret of
    the current version must give its coalition-signed public key, and one we already hold is
    never replaced. Otherwise a server could plant a key it knows, and the next `not_after`
    refresh would have an admin's tool sign it for students' pages to encrypt to.
    """
    if kind == "signing":
        genuine = SigningKey(secret).public == session.signing_public
    elif version == signed_key["version"]:
        genuine = EncryptionKey(version, secret).public == b64u_decode(signed_key["public_key"])
    elif version > signed_key["version"]:
        genuine = False  # no such version has been signed
    else:
        try:
            genuine = session.encryption_key(version).secret == secret
        except NoSecretForVersion:
            genuine = True  # an older version we do not hold: only ever used to open pledges
    if not genuine:
        raise KeyMismatch(f"The server sent a {kind} key that is not your coalition's: do not "
                          "trust this server, and tell your coalition.")


def sync(session: Session, client: Client | None = None) -> dict[str, Any]:
    """Fetch our status and any secrets wrapped to us; refresh the key's not_after if due."""
    client = client or session.client()
    me = client.get("/api/v1/org/me")
    if me["signing_key"] != session.coalition["signing_key"]:
        raise KeyMismatch()
    verify_key(session, me["encryption_key"])
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
    for kind, version, secret in received:
        session.remember_secret(kind, version, secret)
    keyring.forget_pruned(session, me)
    session.coalition["role"], session.coalition["status"] = me["role"], me["status"]
    me = _refresh_if_due(session, client, me)
    session.save()
    return me


def _refresh_if_due(session: Session, client: Client, me: dict[str, Any]) -> dict[str, Any]:
    key = me["encryption_key"]
    signing = session.signing_key()
    days_left = (date.fromisoformat(key["not_after"]) - utc_today()).days
    if me["role"] != "admin" or signing is None or days_left >= REFRESH_WHEN_DAYS_LEFT:
        return me
    current = EncryptionKey(key["version"], session.encryption_key(key["version"]).secret)
    if current.public != b64u_decode(key["public_key"], length=32):
        raise KeyMismatch()  # never sign a key the coalition did not make (see sync)
    return client.request("PUT", "/api/v1/org/encryption-key",
                          signed_key_json(session.coalition_id, signing, current))


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
