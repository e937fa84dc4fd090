"""Long work (re-encrypting every pledge, opening a big roster) in a background thread, with progress.

A view starts a job and redirects to its page; the page shows a progress bar that app.js keeps
up to date from `/jobs/<id>.json` (and that reloads itself without JavaScript). Jobs hold counts
and one closing sentence, never what they decrypt. A job holds the idle lock off while it makes
progress (organizer/app/state.py says for how long); when the app locks, a running job stops at
its next step or its next read from the server, and says so.
"""

import contextlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext

from crypto import CryptoError
from organizer.app.i18n import current_language, user_message
from organizer.app.state import AppState
from organizer.errors import AppLocked, UserError

# The work gets its Job (job.set_total(n), then job.step(k) as it goes) and returns the sentence
# shown when it is done. It runs in the page's language (gettext works inside it).
Work = Callable[["Job"], str]


@dataclass(eq=False)  # each job is itself (a key of AppState.jobs_moved)
class Job:
    title: str
    next_url: str
    total: int = 0
    done: int = 0
    finished: bool = False
    message: str = ""
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    on_step: Callable[["Job"], None] | None = field(default=None, repr=False)
    stopped: threading.Event = field(default_factory=threading.Event, repr=False)

    def set_total(self, total: int) -> None:
        self.total = total

    def step(self, n: int) -> None:
        """Count progress (it holds the idle lock off); raise AppLocked once the app locked."""
        if self.stopped.is_set():
            raise AppLocked()
        with self.lock:
            self.done += n
        if self.on_step is not None:
            self.on_step(self)

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "done": self.done, "total": self.total,
                "finished": self.finished, "message": self.message, "error": self.error,
                "next": self.next_url}


class Jobs:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def start(self, app_state: AppState, title: str, next_url: str, work: Work) -> str:
        """Run `work` on a thread; return the job's id (random, so one page cannot guess another)."""
        app, lang = current_app._get_current_object(), current_language()  # type: ignore[attr-defined]
        job_id = secrets.token_urlsafe(12)
        job = self._jobs[job_id] = Job(str(title), next_url, on_step=app_state.job_moved)
        app_state.job_moved(job)
        app_state.on_lock.append(job.stopped.set)

        def run() -> None:
            try:
                with app.test_request_context("/"), force_locale(lang):
                    try:
                        job.message = work(job)
                    except (UserError, CryptoError) as exc:
                        job.error = user_message(exc)
                    except Exception:
                        job.error = gettext("Something went wrong; nothing more was done. Try again.")
            finally:
                job.finished = True
                app_state.job_ended(job)  # not activity: the organizer may be long gone
                with app_state.lock, contextlib.suppress(ValueError):
                    app_state.on_lock.remove(job.stopped.set)

        threading.Thread(target=run, name="pledgebox-app-job", daemon=True).start()
        return job_id
