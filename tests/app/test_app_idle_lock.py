"""The idle lock cannot be held off (finding 17.11), against a real app server and a real
loopback server that trickles its answers (a server that keeps a request open for ever).

Only the organizer's own requests count as activity. A job holds the lock off only while it makes
progress, and never more than JOB_HOLD_SECONDS past the idle time; a finished job is not activity;
on lock, every thread that was working with the keys stops at its next read and lets them go; the
invite shown on the organizers page goes too.
"""

import gc
import threading
import time
import weakref
from collections.abc import Callable, Iterator

import pytest

from organizer.app.jobs import Job, Jobs
from organizer.app.state import JOB_HOLD_SECONDS, STALLED_SECONDS
from organizer.session import Session
from tests.support.factories import PASSPHRASE
from tests.support.loopback import Loopback
from tests.support.organizer_app import Browser, RunningApp

IDLE = 15 * 60


@pytest.fixture
def trickle() -> Iterator[Loopback]:
    server = Loopback(trickle=0.05).start()
    yield server
    server.stop()


def unlock(browser: Browser) -> Session:
    assert browser.post("/unlock", {"passphrase": PASSPHRASE, "next": "/"}).location == "/"
    session = browser.app.state.session
    assert session is not None
    return session


def served_by(session: Session, server: Loopback) -> None:
    """As if this keystore had joined a coalition whose server is `server`."""
    session.data["server"] = server.url
    session.data["coalition"] = {"coalition_id": "c" * 22, "organizer_id": "o" * 22,
                                 "status": "active"}


def start_job(running: RunningApp, work: Callable[[Job], str]) -> Job:
    """A job as a view starts one (not a request of the organizer's, so not activity)."""
    jobs: Jobs = running.server.app.extensions["pledgebox_jobs"]
    with running.server.app.test_request_context("/"):
        job_id = jobs.start(running.state, "work", "/", work)
    found = jobs.get(job_id)
    assert found is not None
    return found


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def test_a_job_stalled_by_a_trickling_server_does_not_keep_the_app_unlocked(
        browser_in, made_keystore, running, trickle):
    session = unlock(browser_in)
    served_by(session, trickle)
    job = start_job(running, lambda job: str(session.client().get("/api/v1/org/organizers")))
    assert wait_for(lambda: trickle.seen)
    running.clock.advance(IDLE + 1)
    answer = browser_in.get("/organizers")
    assert answer.location.startswith("/unlock")
    assert running.state.session is None
    assert wait_for(lambda: job.finished)  # it stopped at its next read, not at the server's pace
    assert "locked" in job.error


def test_a_job_that_makes_progress_holds_the_lock_off_but_not_for_ever(
        browser_in, made_keystore, running):
    unlock(browser_in)
    release = threading.Event()

    def work(job: Job) -> str:
        job.set_total(10)
        release.wait(30)
        return "done"

    job = start_job(running, work)
    moved = 0.0
    while moved < IDLE + JOB_HOLD_SECONDS - STALLED_SECONDS:
        running.clock.advance(STALLED_SECONDS / 2)
        moved += STALLED_SECONDS / 2
        job.step(1)
        assert running.state.lock_if_idle() is False, f"locked after {moved} s of progress"
    running.clock.advance(STALLED_SECONDS)
    job.step(1)
    assert running.state.lock_if_idle() is True  # the hold has an end
    release.set()
    assert wait_for(lambda: job.finished)


def test_a_finished_job_is_not_activity(browser_in, made_keystore, running):
    unlock(browser_in)
    running.clock.advance(IDLE - 60)
    job = start_job(running, lambda job: "done")
    assert wait_for(lambda: job.finished)
    running.clock.advance(60)
    assert browser_in.get("/organizers").location.startswith("/unlock")
    assert running.state.session is None


def test_on_lock_a_roster_thread_stops_reading_and_lets_the_keys_go(
        browser_in, made_keystore, running, trickle):
    session = unlock(browser_in)
    served_by(session, trickle)
    rosters = running.server.app.extensions["pledgebox_rosters"]
    fields = [{"id": "school", "type": "choice", "label": {"en": "School"}, "options": []}]
    rosters.view(session, "A" * 22, fields, lambda: 5)
    assert wait_for(lambda: trickle.seen)
    assert threads_named("roster-live")
    held = weakref.ref(session)
    del session
    assert browser_in.post("/lock").status == 303
    assert wait_for(lambda: not threads_named("roster-live") and not threads_named("roster-open"))
    gc.collect()
    assert held() is None  # nothing in this process holds the unlocked keystore any more


def test_lock_drops_the_invite_shown_on_the_organizers_page(browser_in, made_keystore, running):
    unlock(browser_in)
    record = running.state.browser(browser_in.cookie)
    assert record is not None
    # What the invite view keeps after `members.create_invite` (tests/app/test_app_approvals.py
    # makes real ones): the invite's secret, shown until the next one.
    record.invite = {"text": "pledgebox-invite:SECRET", "role": "member", "until": "2027-01-01"}
    running.clock.advance(IDLE)
    browser_in.get("/")
    assert running.state.session is None
    assert record.invite is None
    unlock(browser_in)
    assert "pledgebox-invite:SECRET" not in browser_in.get("/organizers").text
