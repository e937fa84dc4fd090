"""What views share: the unlocked Session, one-line notices, errors shown as pages, CSRF in forms."""

from datetime import date
from typing import Any

from flask import Flask, current_app, g, redirect, render_template, request, url_for
from flask_babel import format_date
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from crypto import CryptoError
from organizer import coalition
from organizer.app.guard import CSRF_FIELD, state
from organizer.app.i18n import translate_message, user_message
from organizer.app.jobs import Jobs, Work
from organizer.errors import KeyRolledBack, ServerUnreachable, UserError
from organizer.live_roster import UNEXPECTED
from organizer.session import Session


class Locked(Exception):
    """The keys are locked (idle, or not unlocked yet): the passphrase is asked again."""


def current_session() -> Session:
    """The unlocked keystore for this request; redirects to the unlock page when locked."""
    session = state().session
    if session is None:
        raise Locked()
    return session


def synced(session: Session) -> dict[str, Any]:
    """`coalition.sync` for a page: a rolled-back key raises the alarm page (see _user_error);
    a sync that finds the key as it should be ends an alarm raised earlier."""
    me = coalition.sync(session)
    state().alarm = None
    return me


def is_unlocked() -> bool:
    return state().session is not None


def notify(text: str, kind: str = "ok") -> None:
    """A sentence shown once at the top of the next page (kind: ok, warn or error)."""
    g.browser.messages.append((kind, str(text)))


def fail(exc: Exception, endpoint: str, **values: Any) -> Response:
    """Show a core error above the form it came from (the form's entries are not kept)."""
    notify(user_message(exc), "error")
    return redirect(url_for(endpoint, **values), code=303)


def start_job(title: str, next_url: str, work: Work) -> Response:
    """Run `work` in the background and send the browser to its progress page."""
    jobs: Jobs = current_app.extensions["pledgebox_jobs"]
    job_id = jobs.start(state(), title, next_url, work)
    return redirect(url_for("jobs.show", job_id=job_id), code=303)


def _locked(_: Locked) -> Response:
    target = request.full_path if request.method == "GET" else "/"
    return redirect(url_for("start.unlock", next=target.rstrip("?")), code=303)


def _user_error(exc: UserError | CryptoError) -> tuple[str, int]:
    if isinstance(exc, KeyRolledBack):
        state().alarm = exc
        return render_template("alarm.html", alarm_page=True), 409
    moved = isinstance(exc, ServerUnreachable) and state().session is not None
    return render_template("error.html", message=user_message(exc), server_moved=moved), 400


def _http_error(exc: HTTPException) -> tuple[str, int] | HTTPException:
    if exc.code is None or exc.code < 400 or getattr(g, "browser", None) is None:
        return exc
    return render_template("error.html", message=exc.description, status=exc.code), exc.code


def _unexpected(exc: Exception) -> tuple[str, int]:
    """Any other failure: one plain sentence, and nothing logged, since an exception's text or
    traceback could quote an answer or a name from a roster this laptop opened."""
    return render_template("error.html", message=translate_message(UNEXPECTED), status=500), 500


def _template_globals() -> dict[str, Any]:
    browser = g.get("browser")
    messages = []
    if browser is not None:
        messages, browser.messages[:] = list(browser.messages), []
    app_state = state()
    session = app_state.session
    return {"csrf_token": browser.csrf if browser else "", "csrf_field": CSRF_FIELD,
            "messages": messages, "unlocked": session is not None,
            "key_alarm": user_message(app_state.alarm) if app_state.alarm else None,
            "in_coalition": bool(session and session.data.get("coalition")
                                 and session.data["coalition"].get("status") != "pending"),
            "is_admin": bool(session and session.signing_key() is not None)}


def day(value: str | date) -> str:
    """A day as people read it in the page's language ("Feb 27, 2027", "27 feb 2027")."""
    try:
        return str(format_date(date.fromisoformat(value) if isinstance(value, str) else value,
                               "medium"))
    except ValueError:
        return str(value)


def init_app(app: Flask) -> None:
    app.add_template_filter(day)
    app.register_error_handler(Locked, _locked)
    app.register_error_handler(UserError, _user_error)
    app.register_error_handler(CryptoError, _user_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.logger.disabled = True  # Flask's own error log would print the traceback
    app.context_processor(_template_globals)
