"""The browser's envelope code and libsodium (PyNaCl) agree, checked without a browser.

js_sealed_vectors.json was written by web/make-vectors.mjs running the very scripts the pledge
page serves; PyNaCl must open it. The other direction (PyNaCl-made vectors opened by the
browser code) lives in web/test/interop.test.mjs, which this module runs through Node.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from nacl.bindings import sodium_unpad
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey, SealedBox

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "tests" / "testdata"
JS_VECTORS = json.loads((TESTDATA / "js_sealed_vectors.json").read_text(encoding="utf-8"))


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def recipient() -> PrivateKey:
    secret = PrivateKey(b64u_decode(JS_VECTORS["recipient_secret_key"]))
    assert bytes(secret.public_key) == b64u_decode(JS_VECTORS["recipient_public_key"])
    return secret


@pytest.mark.parametrize("vector", JS_VECTORS["sealed"], ids=lambda v: v["name"])
def test_pynacl_opens_what_the_browser_sealed(vector: dict) -> None:
    ciphertext = b64u_decode(vector["ciphertext"])
    k, rest = divmod(len(ciphertext) - 48, 1024)
    assert rest == 0
    assert 1 <= k <= 8

    padded = SealedBox(recipient()).decrypt(ciphertext)
    plaintext = sodium_unpad(padded, 1024)

    assert plaintext == b64u_decode(vector["plaintext_b64u"])
    assert json.loads(plaintext.decode("utf-8")) == {
        "v": 1,
        "campaign_id": vector["campaign_id"],
        "answers": vector["answers"],
        "nonce": vector["nonce"],
    }


def test_js_vectors_cover_block_edges_and_the_size_cap() -> None:
    lengths = {v["name"]: len(b64u_decode(v["ciphertext"])) - 48 for v in JS_VECTORS["sealed"]}
    assert lengths["size_1023"] == 1024
    assert lengths["size_1024"] == 2048
    assert lengths["size_8191"] == 8192


def test_browser_withdraw_token_hash_is_blake2b_256() -> None:
    for t in JS_VECTORS["withdraw_tokens"]:
        token = b64u_decode(t["token"])
        assert len(token) == 32
        assert blake2b(token, digest_size=32, encoder=RawEncoder) == b64u_decode(t["hash"])


def test_browser_builds_the_signed_statements_of_the_protocol() -> None:
    ek = JS_VECTORS["statements"]["encryption_key"]
    expected = (
        b"pledgebox/v1/encryption-key\x00"
        + ek["coalition_id"].encode()
        + b"\x00"
        + str(ek["version"]).encode()
        + b"\x00"
        + ek["not_after"].encode()
        + b"\x00"
        + b64u_decode(ek["public_key"])
    )
    assert b64u_decode(ek["message"]) == expected

    campaign = JS_VECTORS["statements"]["campaign"]
    expected = b"pledgebox/v1/campaign\x00" + b64u_decode(campaign["descriptor"])
    assert b64u_decode(campaign["message"]) == expected


def test_node_opens_pynacl_vectors_and_passes_its_own_tests() -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is required in CI to run web/test/ (the browser crypto tests)")
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "--test", "web/test/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "# fail 0" in result.stdout
    assert "# pass 0" not in result.stdout
