"""Re-encryption keeps each pledge with its own ciphertext, and counts what it cannot open.

The tool re-seals a batch on several threads, in slices put back in order (organizer/rotation.py).
A slip in that bookkeeping would pair a pledge id with another pledge's ciphertext: every pledge
would still open, but a student's answers would sit under another student's id, and a withdrawal
by receipt would delete someone else's pledge. So each pledge's answers are unique here and are
checked against its id after the rotation; ciphertexts the server holds but nobody can open are
counted, left on their old version, and keep that version from being pruned.
"""

import hashlib
import secrets

from crypto.encoding import b64u_encode
from organizer import roster, rotation
from tests.support.factories import make_campaign, make_coalition, pledge
from tests.support.http import call
from tests.support.live import LiveServer


def test_every_pledge_keeps_its_own_answers_across_a_threaded_reencryption(
        live_server: LiveServer, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(rotation, "RESEALERS", 3)  # uneven slices of the batches below
    base = live_server.base_url
    admin = make_coalition(tmp_path, base)
    campaign_id = make_campaign(admin)
    receipts = [pledge(base, campaign_id, {"school": "covina-high", "message": f"student-{i}"})
                for i in range(47)]
    for _ in range(2):  # sealed boxes of a valid length that open with no key
        junk = {"key_version": 1, "ciphertext": b64u_encode(secrets.token_bytes(1072)),
                "withdraw_token_hash": b64u_encode(hashlib.blake2b(b"x", digest_size=32).digest())}
        assert call(base, "POST", f"/api/v1/campaigns/{campaign_id}/pledges", junk).status == 201

    assert rotation.rotate(admin.session) == 2
    tally = rotation.reencrypt(admin.session, size=10)

    assert (tally.resealed, tally.unopened, tally.missing_key) == (47, 2, 0)
    assert tally.pruned == ()  # version 1 still holds the two that would not open
    read = roster.Tally()
    rows = {r["pledge_id"]: r for r in roster.pledges(admin.session, campaign_id, read)}
    assert (read.opened, read.unopened) == (47, 2)
    for receipt in receipts:
        assert rows[receipt.pledge_id]["answers"]["message"] == receipt.answers["message"]
        assert rows[receipt.pledge_id]["key_version"] == 2
