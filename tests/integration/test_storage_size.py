"""A pledge costs about its own size on disk (SQLite), so a small server holds a large walkout.

Pledges sit in a WITHOUT ROWID table (a rowid would record arrival order). At SQLite's default
4 KiB page a one-block pledge spilled to an overflow page of its own (4.7 KB each); new
databases use 8 KiB pages, where it fits in its leaf (server/db.py).
"""

import os
from pathlib import Path

from server.db import database
from tests.support.factories import make_campaign, make_coalition, pledge
from tests.support.live import LiveServer

PLEDGES = 400


def test_a_one_block_pledge_costs_under_2_5_kb_on_disk(live_server: LiveServer, instance: Path,
                                                     tmp_path: Path) -> None:
    campaign = make_campaign(make_coalition(tmp_path, live_server.base_url))
    db_file = instance / "pledgebox.sqlite3"
    with database.connection_context():
        assert database.execute_sql("PRAGMA page_size").fetchone()[0] == 8192
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    before = os.path.getsize(db_file)
    for i in range(PLEDGES):
        pledge(live_server.base_url, campaign, {"school": "covina-high", "message": f"m{i}"})
    with database.connection_context():
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    per_pledge = (os.path.getsize(db_file) - before) / PLEDGES
    # 1.6 to 1.75 KB measured (leaves about 70% full under random ids); 4.7 KB at 4 KiB pages.
    assert 1072 < per_pledge < 2500, f"{per_pledge:.0f} bytes per pledge"
