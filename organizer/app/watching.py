"""The page watch while the app is open (organizer/watch/, docs/page-watch.md): rounds in a
background thread, their state for the home page's line, and the alarm for every page's banner.

What it needs to watch is public (the server's address, the coalition's id and signing key, the
campaigns' ids), so it keeps watching with the last list it saw while the keys are locked.
"""

import contextlib
import random
import threading
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale, gettext, ngettext

from crypto import CryptoError
from organizer.app.state import AppState
from organizer.errors import UserError
from organizer.watch import service

FIRST_PAUSE = (30.0, 120.0)  # the first round, a little after the app opens


class AppWatch:
    def __init__(self, state: AppState, rng: random.Random | None = None) -> None:
        self.state = state
        self.status = service.WatchState()
        self.plan: service.Plan | None = None
        self.rng = rng or random.SystemRandom()
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def current_plan(self) -> service.Plan | None:
        session = self.state.session
        if session is not None and session.data.get("coalition"):
            with contextlib.suppress(UserError, CryptoError):  # offline: the last list serves
                self.plan = service.plan(session)
        return self.plan

    def start(self, first_pause: float | None = None) -> None:
        pause = self.rng.uniform(*FIRST_PAUSE) if first_pause is None else first_pause
        self._thread = threading.Thread(
            target=service.watch_forever, name="pledgebox-app-watch", daemon=True,
            args=(self.current_plan, self.status, self._stop),
            kwargs={"first_pause": pause, "wake": self._wake, "rng": self.rng})
        self._thread.start()

    def check_now(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()


def app_watch() -> AppWatch:
    watch: AppWatch = current_app.extensions["pledgebox_watch"]
    return watch


def minutes_ago(at: datetime) -> str:
    minutes = int((datetime.now(UTC) - at).total_seconds() // 60)
    if minutes < 1:
        return str(gettext("Checked less than a minute ago"))
    return str(ngettext("Checked %(num)d minute ago", "Checked %(num)d minutes ago", minutes))


def watch_line() -> dict[str, Any]:
    """The home page's line: (kind, sentence). Never "verified": what one laptop saw."""
    status = app_watch().status
    if status.alarms:
        return {"kind": "alarm", "text": gettext(
            "ALARM: the server sent a changed page to some students' phones.")}
    if status.running:
        return {"kind": "checking", "text": gettext("Checking the student pages now…")}
    last, at = status.last, status.last_round
    if last is None or at is None:
        return {"kind": "waiting", "text": gettext(
            "The page watch makes its first check a minute or two after the app opens.")}
    if service.status_code(last) == 4:
        return {"kind": "unknown", "text": gettext(
            "%(ago)s: the server did not answer, so nothing could be checked. This is not an "
            "alarm; it tries again.", ago=minutes_ago(at))}
    return {"kind": "clean", "text": gettext(
        "%(ago)s: the pages students get are the real ones, as far as this laptop can see.",
        ago=minutes_ago(at))}


def client_label(client: str) -> str:
    """"iPhone Safari, Spanish" in the page's language (the browser's name stays as it is)."""
    name, _, lang = client.rpartition(", ")
    words = {"English": gettext("English"), "Spanish": gettext("Spanish")}
    return f"{name}, {words[lang]}" if name and lang in words else client


def campaign_titles() -> dict[str, str]:
    plan = app_watch().plan
    return dict(plan.titles) if plan else {}


def post_messages() -> list[tuple[str, str]]:
    """The ready-to-post warning, in English and in Spanish whatever the app's language."""
    out = []
    for lang in ("en", "es"):
        with force_locale(lang):
            out.append((lang, str(gettext(
                "Don't pledge until we say it's safe. Our pledge page may have been changed by "
                "someone who controls the server. If you already pledged, you don't need to do "
                "anything now: we will post again when we know more."))))
    return out


def _template_globals() -> dict[str, Any]:
    watch = current_app.extensions.get("pledgebox_watch")
    return {"watch_alarm": bool(watch and watch.status.alarms)}


def init_app(app: Flask, state: AppState) -> None:
    app.extensions["pledgebox_watch"] = AppWatch(state)
    app.context_processor(_template_globals)
