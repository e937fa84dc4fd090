"""The CLI frictions found when a newcomer tried the tool (issue 10), each fixed in the shared core."""

import io
import os
import subprocess
from pathlib import Path

from organizer import rotation
from tests.support.factories import PASSPHRASE, make_campaign, make_coalition, pledge
from tests.support.live import LiveServer
from tests.support.scripts import console_script


def pledgebox(keystore: Path, *args: str, passphrase: str | None = PASSPHRASE,
              before: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PLEDGEBOX_PASSPHRASE"}
    if passphrase is not None:
        env["PLEDGEBOX_PASSPHRASE"] = passphrase
    where = ["--keystore", str(keystore)]
    argv = [*where, *args] if before else [*args, *where]
    return subprocess.run([console_script("pledgebox"), *argv], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=120, check=False)


def test_roster_into_a_reader_that_leaves_early_ends_without_a_traceback(tmp_path, live_server):
    org = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(org)
    for _ in range(3):
        pledge(live_server.base_url, cid)
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    proc = subprocess.Popen([console_script("pledgebox"), "--keystore", str(org.keystore),
                             "roster", cid], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    proc.stdout.close()  # `| head -2` that has already left: every write meets a closed pipe
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err
    assert b"BrokenPipeError" not in err
    assert proc.returncode == 141  # as if ended by SIGPIPE, what shells report for `cat`


def test_no_keystore_is_said_before_any_passphrase_is_asked(tmp_path):
    missing = tmp_path / "nowhere.json"
    for command in (["whoami"], ["campaign", "list"], ["roster", "AAAAAAAAAAAAAAAAAAAAAA"]):
        run = pledgebox(missing, *command, passphrase=None)
        assert run.returncode == 1
        assert "No keystore here yet" in run.stderr
        assert "passphrase" not in run.stderr.lower()


def test_keystore_is_accepted_after_the_command_too(tmp_path, live_server):
    org = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(org)
    before = pledgebox(org.keystore, "whoami")
    after = pledgebox(org.keystore, "whoami", before=False)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout == org.session.identity.fingerprint + "\n"
    nested = pledgebox(org.keystore, "organizer", "list", "--format", "jsonl", before=False)
    assert nested.returncode == 0, nested.stderr
    roster = pledgebox(org.keystore, "roster", cid, "--summary", before=False)
    assert roster.returncode == 0, roster.stderr
    # Given in both places, the one after the command wins (it is the closer one).
    both = subprocess.run([console_script("pledgebox"), "--keystore", str(tmp_path / "nope.json"),
                           "whoami", "--keystore", str(org.keystore)], capture_output=True,
                          text=True, env={**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE},
                          timeout=60, check=False)
    assert both.returncode == 0, both.stderr


def test_server_address_can_change_and_an_unreachable_one_is_named(tmp_path, live_server):
    org = make_coalition(tmp_path, live_server.base_url)
    make_campaign(org)
    old = live_server.base_url
    live_server.stop()  # the demo restarted on another port: same data, new address
    moved = LiveServer({k: v for k, v in live_server.env.items() if k.startswith("PLEDGEBOX_")})
    moved.start()
    try:
        failed = pledgebox(org.keystore, "campaign", "list")
        assert failed.returncode == 1
        assert f"Could not reach the Pledgebox server at {old}" in failed.stderr
        assert "pledgebox server set URL" in failed.stderr

        wrong = pledgebox(org.keystore, "server", "set", "http://127.0.0.1:9")
        assert wrong.returncode == 1
        assert "at http://127.0.0.1:9" in wrong.stderr
        assert pledgebox(org.keystore, "server", "show").stdout == old + "\n"  # unchanged

        changed = pledgebox(org.keystore, "server", "set", moved.base_url + "/")
        assert changed.returncode == 0, changed.stderr
        assert pledgebox(org.keystore, "server", "show").stdout == moved.base_url + "\n"
        listed = pledgebox(org.keystore, "campaign", "list")
        assert listed.returncode == 0, listed.stderr
        assert "Walkout" in listed.stdout
    finally:
        moved.stop()


def test_reencryption_report_counts_in_the_singular_and_plural():
    out = io.StringIO()
    rotation.report(rotation.Resealed(resealed=1, skipped=1, unopened=1, pruned=(1,)), out)
    text = out.getvalue()
    assert "1 item re-encrypted to the current key" in text
    assert "1 item had changed meanwhile (withdrawn or already done) and was left as it is" in text
    assert "1 item could not be opened" in text
    assert "stays on an old key" in text
    assert "old key version 1 is no longer needed and was deleted" in text
    out = io.StringIO()
    rotation.report(rotation.Resealed(resealed=2, pruned=(1, 2)), out)
    assert "2 items re-encrypted" in out.getvalue()
    assert "old key versions 1, 2 are no longer needed and were deleted" in out.getvalue()
