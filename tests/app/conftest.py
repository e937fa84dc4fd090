"""Fixtures for the organizer app: a real app server on a loopback port, a keystore beside it."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from organizer.session import Session
from tests.support.factories import PASSPHRASE
from tests.support.organizer_app import Browser, RunningApp, start_app


@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    return tmp_path / "laptop" / "keystore.json"


@pytest.fixture
def made_keystore(keystore: Path) -> Path:
    Session.create(keystore, PASSPHRASE)
    return keystore


@pytest.fixture
def running(keystore: Path) -> Iterator[RunningApp]:
    app = start_app(keystore)
    yield app
    app.stop()


@pytest.fixture
def browser_in(running: RunningApp) -> Browser:
    """A browser that opened the first address: it holds the session cookie and CSRF token."""
    b = Browser(running)
    b.sign_in()
    return b
