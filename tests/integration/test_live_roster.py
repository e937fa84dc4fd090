"""organizer.live_roster against a real server: counts grow while pledges stream in a background
thread, and the table pages and searches what was opened, in memory only."""

import time
from pathlib import Path

from organizer import campaigns, roster
from organizer.live_roster import RosterRun
from tests.support.factories import make_campaign, make_coalition, pledge
from tests.support.live import LiveServer


def wait(run: RosterRun) -> RosterRun:
    deadline = time.monotonic() + 60
    while not run.finished and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.finished
    return run


def test_counts_days_helpers_and_a_searchable_paged_table(live_server: LiveServer, tmp_path: Path,
                                                         monkeypatch) -> None:
    monkeypatch.setattr(roster, "PAGE", 4)  # several pages, so counts are seen growing
    org = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(org)
    answers = ([{"school": "covina-high", "message": f"covina {i}", "help": i % 2 == 0}
                for i in range(7)]
               + [{"school": "northview-high", "message": "José quiere ayudar", "help": True}] * 3)
    for a in answers:
        pledge(live_server.base_url, cid, a)
    fields = campaigns.find(org.session, cid)["descriptor"]["fields"]
    run = RosterRun(org.session, cid, fields, expected=10).start()
    while not run.finished:
        snap = run.snapshot()  # readable at any moment while the worker appends
        assert snap.opened <= 10
        assert snap.expected == 10
    wait(run)
    snap = run.snapshot()
    assert snap.opened == 10
    assert snap.unopened == 0
    assert snap.finished
    assert snap.error is None
    by_field = {f["id"]: dict(counts) for f, counts in snap.counts}
    assert by_field["school"] == {"Covina High": 7, "Northview High": 3}  # labels, not ids
    assert by_field["help"] == {"yes": 7, "no": 3}
    assert len(snap.per_day) == 1
    assert snap.per_day[0][1] == 10
    assert snap.helpers == 7
    assert all(r.cells[2] == "yes" for r in run.helper_rows())

    rows, matching = run.table(per_page=4)
    assert len(rows) == 4
    assert matching == 10
    rows, matching = run.table(page=3, per_page=4)
    assert len(rows) == 2
    rows, matching = run.table("JOSÉ")
    assert matching == 3
    assert all("José" in r.cells[1] for r in rows)
    assert run.table("northview high")[1] == 3  # a choice is searched by its label
    assert run.seen() == 10

    run.drop()
    assert run.table()[1] == 0
    assert run.helper_rows() == []


def test_a_server_that_cannot_be_reached_ends_the_run_with_its_sentence(tmp_path: Path,
                                                                       live_server: LiveServer) -> None:
    org = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(org)
    fields = campaigns.find(org.session, cid)["descriptor"]["fields"]
    live_server.stop()
    run = wait(RosterRun(org.session, cid, fields).start())
    assert run.snapshot().error
    assert "reach" in run.snapshot().error
