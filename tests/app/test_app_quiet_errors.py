"""An unexpected failure in the app shows one plain sentence and prints nothing: an exception's
text or traceback could quote an answer or a name from a roster this laptop opened."""

import contextlib
from collections.abc import Iterator

import pytest
from flask import Response, stream_with_context

from tests.support.organizer_app import Browser, RunningApp

SECRET = "Maria Lopez 555-0100"


@pytest.fixture
def failing(running: RunningApp) -> Browser:
    app = running.server.app  # the real app the real server serves, before its first request

    @app.get("/boom")
    def boom() -> str:
        raise ValueError(f"answer: {SECRET}")

    @app.get("/boom-while-streaming")
    def boom_while_streaming() -> Response:
        def rows() -> Iterator[str]:
            yield "school,answer\n"
            raise ValueError(f"answer: {SECRET}")
        return Response(stream_with_context(rows()), mimetype="text/csv")

    browser = Browser(running)
    browser.sign_in()
    return browser


def test_an_unexpected_error_is_one_sentence_and_nothing_is_printed(
        failing: Browser, capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    capfd.readouterr()
    reply = failing.get("/boom")
    assert reply.status == 500
    assert "Something went wrong; nothing more was done." in reply.text
    assert SECRET not in reply.text
    out, err = capfd.readouterr()
    assert SECRET not in out + err + caplog.text  # stderr, or a logger (werkzeug's, Flask's)
    assert "Traceback" not in out + err


def test_a_failure_while_streaming_an_export_prints_nothing(
        failing: Browser, capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    capfd.readouterr()
    with contextlib.suppress(Exception):  # the connection is cut mid-stream: that is expected
        failing.get("/boom-while-streaming")
    out, err = capfd.readouterr()
    assert SECRET not in out + err + caplog.text  # stderr, or a logger (werkzeug's, Flask's)
    assert "Traceback" not in out + err
