"""Writes pynacl_sealed_vectors.json: envelopes and signed statements made by PyNaCl (libsodium).

The statements are built here straight from docs/protocol.md (shared/protocol-v1.md), not
through the project's crypto/ package, so the browser code is checked against the protocol
text and libsodium rather than against our own Python. Run from the repository root:

    python tests/testdata/make_pynacl_vectors.py

Keys come from fixed seeds so the statement signatures (deterministic Ed25519) are stable;
sealed boxes use a fresh ephemeral key each run, so re-running changes their ciphertexts.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from nacl.bindings import sodium_pad
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey, SealedBox
from nacl.signing import SigningKey

OUT = Path(__file__).with_name("pynacl_sealed_vectors.json")
BLOCK = 1024


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def seed(label: str) -> bytes:
    return hashlib.sha256(b"pledgebox test vector seed: " + label.encode()).digest()


def encryption_key_message(coalition_id: str, version: int, not_after: str, pk: bytes) -> bytes:
    return (
        b"pledgebox/v1/encryption-key\x00"
        + coalition_id.encode("utf-8")
        + b"\x00"
        + str(version).encode("ascii")
        + b"\x00"
        + not_after.encode("ascii")
        + b"\x00"
        + pk
    )


def campaign_message(descriptor_bytes: bytes) -> bytes:
    return b"pledgebox/v1/campaign\x00" + descriptor_bytes


def sealed_vectors(recipient: PrivateKey) -> list[dict[str, object]]:
    def plaintext_of(answers: dict[str, object]) -> bytes:
        body = {"v": 1, "campaign_id": "cmp_PyNaCl-0001", "answers": answers}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    plaintexts = [
        ("short", plaintext_of({"name": "Ana", "walkout": "yes", "share_ok": True})),
        ("unicode", plaintext_of({"name": "Zoë Núñez 李雷 🌱", "school": "Escuela Benito Juárez"})),
        ("raw_empty", b""),
    ]
    # Exactly on block edges: 1023 bytes pads to 1024, 1024 pads to 2048, 8191 to the 8192 cap.
    for size in (1023, 1024, 8191):
        base = plaintext_of({"note": ""})
        filler = "x" * (size - len(base))
        plaintexts.append((f"size_{size}", plaintext_of({"note": filler})))

    out = []
    box = SealedBox(recipient.public_key)
    for name, plaintext in plaintexts:
        padded = sodium_pad(plaintext, BLOCK)
        ciphertext = box.encrypt(padded)
        assert len(ciphertext) == len(padded) + 48
        out.append(
            {
                "name": name,
                "plaintext_b64u": b64u(plaintext),
                "padded_length": len(padded),
                "ciphertext": b64u(ciphertext),
            }
        )
    return out


def statement_vectors() -> dict[str, object]:
    signing = SigningKey(seed("coalition signing key"))
    enc = PrivateKey(seed("coalition encryption key v3"))
    coalition_id = "coa_9f3aB-x_Q7"
    version, not_after = 3, "2031-05-17"
    key_msg = encryption_key_message(coalition_id, version, not_after, bytes(enc.public_key))
    key_sig = signing.sign(key_msg).signature

    # Unusual but valid spacing and escapes: a client must verify these bytes as they are.
    descriptor_bytes = (
        '{"campaign_id": "cmp_Vector-42", "coalition_id": "coa_9f3aB-x_Q7",\n'
        ' "title": "Walkout for bus passes", "description": "Caf\\u00e9 talk — then we walk.",\n'
        ' "action_date": "2031-04-30", "closes_at": "2031-04-29", "delete_after": "2031-06-01",\n'
        ' "languages": ["en", "es"], "fields": [\n'
        '  {"id": "name", "type": "text", "label": {"en": "Your name", "es": "Tu nombre"},'
        ' "required": true, "max_length": 80},\n'
        '  {"id": "walkout", "type": "choice", "label": {"en": "Will you walk out?",'
        ' "es": "¿Vas a salir?"}, "required": true, "options": [{"id": "yes",'
        ' "label": {"en": "Yes", "es": "Sí"}}, {"id": "maybe", "label": {"en": "Maybe",'
        ' "es": "Quizás"}}]},\n'
        '  {"id": "share_ok", "type": "checkbox", "label": {"en": "You may contact me",'
        ' "es": "Pueden contactarme"}, "required": false},\n'
        '  {"id": "phone", "type": "contact", "label": {"en": "Phone or email",'
        ' "es": "Teléfono o correo"}, "required": false, "max_length": 120}\n'
        " ]}"
    ).encode()
    json.loads(descriptor_bytes)  # it must stay valid JSON
    campaign_msg = campaign_message(descriptor_bytes)
    campaign_sig = signing.sign(campaign_msg).signature

    return {
        "signing_key_seed": b64u(seed("coalition signing key")),
        "signing_key": b64u(bytes(signing.verify_key)),
        "encryption_key": {
            "coalition_id": coalition_id,
            "version": version,
            "not_after": not_after,
            "public_key": b64u(bytes(enc.public_key)),
            "secret_key": b64u(bytes(enc)),
            "message": b64u(key_msg),
            "signature": b64u(key_sig),
        },
        "campaign": {
            "descriptor": b64u(descriptor_bytes),
            "message": b64u(campaign_msg),
            "signature": b64u(campaign_sig),
        },
        # What GET /api/v1/campaigns/cmp_Vector-42 answers for this coalition and campaign.
        "campaign_response": {
            "campaign_id": "cmp_Vector-42",
            "coalition_id": coalition_id,
            "coalition_name": "Bus Pass Coalition",
            "signing_key": b64u(bytes(signing.verify_key)),
            "descriptor": b64u(descriptor_bytes),
            "descriptor_signature": b64u(campaign_sig),
            "encryption_key": {
                "version": version,
                "not_after": not_after,
                "public_key": b64u(bytes(enc.public_key)),
                "signature": b64u(key_sig),
            },
        },
    }


def main() -> None:
    recipient = PrivateKey(seed("sealed box recipient"))
    vectors = {
        "source": "tests/testdata/make_pynacl_vectors.py (PyNaCl / libsodium)",
        "recipient_public_key": b64u(bytes(recipient.public_key)),
        "recipient_secret_key": b64u(bytes(recipient)),
        "sealed": sealed_vectors(recipient),
        "statements": statement_vectors(),
        "withdraw_tokens": [
            {
                "token": b64u(token),
                "hash": b64u(blake2b(token, digest_size=32, encoder=RawEncoder)),
            }
            for token in (bytes(32), seed("withdraw token"))
        ],
    }
    OUT.write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
