"""Long work (re-encrypting every pledge, opening a big roster) in a background thread, with progress.

A view starts a job and redirects to its page; the page shows a progress bar that app.js keeps
up to date from `/jobs/<id>.json` (and that reloads itself without JavaScript). Jobs hold counts
and one closing sentence, never what they decrypt. The app does not lock while a job runs.
"""

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
from organizer.errors import UserError

# The work gets its Job (job.set_total(n), then job.step(k) as it goes) and returns the sentence
# shown when it is done. It runs in the page's language (gettext works inside it).
Work = Callable[["Job"], str]


@dataclass
class Job:
    title: str
    next_url: str
    total: int = 0
    done: int = 0
    finished: bool = False
    message: str = ""
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_total(self, total: int) -> None:
        self.total = total

    def step(self, n: int) -> None:
        with self.lock:
            self.done += n

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
        job = self._jobs[job_id] = Job(str(title), next_url)
        with app_state.lock:
            app_state.busy += 1

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
                with app_state.lock:
                    app_state.busy -= 1
                    app_state.touch()

        threading.Thread(target=run, name="pledgebox-app-job", daemon=True).start()
        return job_id
