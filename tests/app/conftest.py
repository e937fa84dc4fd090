"""Fixtures for the organizer app: a real app server on a loopback port, a keystore beside it."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from organizer.session import Session
from tests.support.factories import PASSPHRASE, OrganizerHandle, make_coalition
from tests.support.live import LiveServer
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


@pytest.fixture
def org(live_server: LiveServer, tmp_path: Path) -> OrganizerHandle:
    """An admin of a coalition on a real server (no campaign yet)."""
    return make_coalition(tmp_path, live_server.base_url)


@pytest.fixture
def org_app(org: OrganizerHandle) -> Iterator[RunningApp]:
    """The app on `org`'s keystore, already unlocked, as after typing the passphrase."""
    app = start_app(org.keystore)
    app.state.unlock(org.session)
    yield app
    app.stop()


@pytest.fixture
def browser(org_app: RunningApp) -> Browser:
    """A browser signed in to `org_app`: the pages of a coalition's admin."""
    b = Browser(org_app)
    b.sign_in()
    return b
