"""Re-encryption killed with SIGKILL at random points and run again: nothing lost, nothing doubled.

A coalition holds 10,000 pledges over two campaigns (seeded straight into the database with real
sealed boxes, so the test spends its time on re-encryption, not on sealing through HTTP) and a
directory card. After a rotation, the real `pledgebox key reencrypt` runs as a child process and
is killed at least 20 times at random moments (most once some batches have landed, some at any
time, even during start-up), with one more rotation half-way. After every kill: every pledge is
present exactly once. At the end: every pledge is on the last key, opens, and says what it said.
"""

import os
import random
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto.envelope import open_pledge, seal_pledge
from organizer import contacts, rotation
from organizer.session import Session
from server.db import database
from server.models import DirectoryEntry, Pledge, WrappedSecret
from tests.support.factories import PASSPHRASE, OrganizerHandle, make_campaign, make_coalition
from tests.support.live import LiveServer
from tests.support.pledges import insert_pledges, pledge_view

BATCH = 100


def seed(campaign_id: str, public_key: bytes, first: int, n: int) -> dict[str, dict[str, str]]:
    """n real pledges sealed to key version 1, inserted directly; returns id -> answers."""
    expected: dict[str, dict[str, str]] = {}
    rows = []
    for i in range(first, first + n):
        pledge_id = secrets.token_urlsafe(16)
        answers = {"school": "covina-high", "message": f"pledge number {i}"}
        expected[pledge_id] = answers
        rows.append({"id": pledge_id, "campaign": campaign_id, "key_version": 1,
                     "ciphertext": seal_pledge(public_key, campaign_id, answers),
                     "withdraw_token_hash": secrets.token_bytes(32),
                     "received_day": datetime.now(UTC).date()})
    with database.connection_context(), database.atomic():
        insert_pledges(rows)
    return expected


def stored() -> dict[str, tuple[str, int, bytes]]:
    with database.connection_context(), pledge_view():
        return {p.id: (p.campaign_id, p.key_version, bytes(p.ciphertext))
                for p in Pledge.select(Pledge.id, Pledge.campaign, Pledge.key_version,
                                       Pledge.ciphertext)}


def count_on(version: int) -> int:
    with database.connection_context(), pledge_view():
        return Pledge.select().where(Pledge.key_version == version).count()


def start_reencrypt(keystore: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE, "PLEDGEBOX_INSECURE_TEST_KDF": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "organizer.cli", "--keystore", str(keystore), "key", "reencrypt",
         "--batch", str(BATCH)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_at_random(proc: subprocess.Popen[bytes], rng: random.Random, version: int,
                   wait_for_progress: bool) -> bool:
    """SIGKILL the child at a random moment; True if it was still running when killed."""
    if wait_for_progress:  # once a random number of further pledges have landed, then a little more
        target = count_on(version) + rng.randint(1, 4 * BATCH)
        while proc.poll() is None and count_on(version) < target:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
    else:  # anywhere: start-up, keystore, sync, first page… but never so late that a fast
        # machine finishes the whole run before the test has made its kills
        deadline = time.monotonic() + rng.uniform(0, 1.5)
        cap = count_on(version) + 2 * BATCH
        while proc.poll() is None and time.monotonic() < deadline and count_on(version) < cap:
            time.sleep(0.005)
    alive = proc.poll() is None
    if alive:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return alive


def assert_each_once(expected: dict[str, dict[str, str]]) -> None:
    now = stored()
    assert len(now) == len(expected)
    assert set(now) == set(expected)


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "pledges", "kills"),
                         [("sqlite", 10_000, 20), ("postgres", 2_000, 6)], indirect=["backend"])
def test_reencrypt_killed_at_random_points_loses_and_doubles_nothing(
        live_server: LiveServer, tmp_path: Path, pledges: int, kills: int) -> None:
    rng_seed = secrets.randbits(32)
    rng = random.Random(rng_seed)
    print(f"random seed {rng_seed}")
    admin: OrganizerHandle = make_coalition(tmp_path, live_server.base_url)
    first, second = make_campaign(admin, title="One"), make_campaign(admin, title="Two")
    public = admin.session.encryption_key(1).public
    expected = {**seed(first, public, 0, pledges * 7 // 10),
                **seed(second, public, pledges, pledges - pledges * 7 // 10)}
    campaign_of = {pid: cid for pid, (cid, _, _) in stored().items()}
    lengths = {pid: len(c) for pid, (_, _, c) in stored().items()}
    contacts.set_card(admin.session, {"name": "Ana", "school": "Covina High", "role": "lead"})

    version = rotation.rotate(admin.session)
    done = 0
    while done < kills:
        if done == kills // 2:  # a second rotation half-way: old rows now span two versions
            version = rotation.rotate(Session.open(admin.keystore, PASSPHRASE))
        proc = start_reencrypt(admin.keystore)
        if kill_at_random(proc, rng, version, wait_for_progress=done % 4 != 3):
            done += 1
        assert_each_once(expected)
        assert count_on(version) < len(expected), "finished before enough kills; lower BATCH"

    proc = start_reencrypt(admin.keystore)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()

    assert_each_once(expected)
    session = Session.open(admin.keystore, PASSPHRASE)
    key = session.encryption_key(version)
    for pledge_id, (campaign_id, key_version, ciphertext) in stored().items():
        assert key_version == version
        assert campaign_id == campaign_of[pledge_id]
        assert len(ciphertext) == lengths[pledge_id]  # same size bucket as before
        body = open_pledge(key.public, key.secret, ciphertext, campaign_id)
        assert body["answers"] == expected[pledge_id]
    assert session.encryption_versions() == [version]
    with database.connection_context():
        assert [e.key_version for e in DirectoryEntry.select()] == [version]
        assert {w.version for w in WrappedSecret.select().where(
            WrappedSecret.kind == "encryption")} == {version}
    assert [c["name"] for c in contacts.list_cards(session).cards] == ["Ana"]
