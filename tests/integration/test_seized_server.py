"""A seized server's data folder holds exactly what docs/seized-server.md says, and no more.

After a simulated day of use the instance folder is copied, as someone walking off with the disk
would, and its SQLite schema is compared column by column with the document's table; its files
with the document's file list. The answers students typed, the withdrawn pledge's bytes and the
plaintext roster are then searched for in the copy: absent.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from crypto.encoding import b64u_encode
from organizer import roster
from tests.conftest import server_env
from tests.support.factories import make_campaign, make_coalition, pledge
from tests.support.http import call

DOC = Path(__file__).resolve().parents[2] / "docs" / "seized-server.md"
ROW = re.compile(r"^\| `(\w+\*?)` \| `(\w+)` \|")
# Each campaign's pledges are a table of their own (migration 0009): documented once as pledge_c*.
CAMPAIGN_TABLE = re.compile(r"pledge_c[0-9a-f]{24}")


def documented_columns() -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    for line in DOC.read_text().splitlines():
        m = ROW.match(line)
        if m:
            tables.setdefault(m.group(1), set()).add(m.group(2))
    return tables


def documented_files() -> set[str]:
    text = DOC.read_text().split("## The files, item by item", 1)[1].split("## ", 1)[0]
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`([^`]+)`", first_cell))
    return names


def actual_columns(db: Path) -> dict[str, set[str]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        columns: dict[str, set[str]] = {}
        for t in tables:
            name = "pledge_c*" if CAMPAIGN_TABLE.fullmatch(t) else t
            columns.setdefault(name, set()).update(r[1] for r in conn.execute(f"PRAGMA table_info({t})"))
        return columns
    finally:
        conn.close()


def _matches(name: str, patterns: set[str]) -> bool:
    return any(re.fullmatch(re.escape(p).replace(r"\*", ".*"), name) for p in patterns)


def test_a_seized_data_folder_holds_exactly_the_documented_items(live_server, instance, db_url,
                                                                  clock_file, tmp_path) -> None:
    base = live_server.base_url
    admin = make_coalition(tmp_path, base, name="Seizure Test Coalition")
    campaign = make_campaign(admin, title="Walkout for Ms. Rivera")
    other = make_campaign(admin, title="Second action")
    answers = [{"school": "covina-high", "message": f"Sentinel-Student-{i}-Marisol"}
               for i in range(4)]
    receipts = [pledge(base, campaign, a) for a in answers] + [pledge(base, other)]
    withdrawn = receipts[0]
    stored_before = call(base, "POST", f"/api/v1/pledges/{withdrawn.pledge_id}/withdraw",
                         {"withdraw_token": b64u_encode(withdrawn.token)})
    assert stored_before.status == 204
    tally = roster.Tally()
    rows = list(roster.pledges(admin.session, campaign, tally))
    assert sorted(r["answers"]["message"] for r in rows) == sorted(
        a["message"] for a in answers[1:])
    assert call(base, "GET", "/api/v1/org/me").status == 401
    # A withdrawal's last traces leave the files with the next purge run (docs/deletion.md); this
    # server runs without its timer, so the command stands in for it.
    purged = subprocess.run([sys.executable, "-m", "server.cli", "purge"], capture_output=True,
                            env={**os.environ, **server_env(instance, db_url, clock_file)},
                            text=True, timeout=120, check=False)
    assert purged.returncode == 0, purged.stderr

    seized = tmp_path / "seized"
    shutil.copytree(instance, seized)  # while the server runs, as a live copy would be taken

    # The database: exactly the documented tables and columns.
    assert actual_columns(seized / "pledgebox.sqlite3") == documented_columns()

    # The files: only documented ones.
    allowed = documented_files()
    present = {p.name for p in seized.iterdir()}
    assert {"pledgebox.sqlite3"} <= present
    assert all(_matches(name, allowed) for name in present), present - allowed

    # No plaintext, no names, and the withdrawn pledge's id is gone from every file.
    blobs = b"".join(p.read_bytes() for p in seized.rglob("*") if p.is_file())
    for a in answers:
        assert a["message"].encode() not in blobs
    assert b"Marisol" not in blobs
    assert withdrawn.pledge_id.encode() not in blobs
    assert receipts[1].pledge_id.encode() in blobs  # the scan does see what is stored
