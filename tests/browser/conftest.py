"""Debian's Chromium through Playwright (sync API), against a real Pledgebox server.

In CI a missing chromium is a failure, never a skip. The page's CSP forbids eval, so tests wait
with `expect(locator)` assertions, not `page.wait_for_function("…")`.
"""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Response, sync_playwright

from tests.support.factories import OrganizerHandle, make_campaign, make_coalition
from tests.support.live import LiveServer
from tests.support.organizer_app import RunningApp

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed (scripts/test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def apps() -> Iterator[list[RunningApp]]:
    """The organizer apps a test started (tests.support.app_browser.open_app), stopped after it."""
    running: list[RunningApp] = []
    yield running
    for app in running:
        app.stop()


@dataclass
class Sent:
    method: str
    url: str
    body: bytes


@dataclass
class Traffic:
    """Every request the page sends (with its body) and every response status it gets."""

    requests: list[Sent] = field(default_factory=list)
    responses: list[tuple[str, str, int]] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(Sent(request.method, request.url, request.post_data_buffer or b""))

    def on_response(self, response: Response) -> None:
        self.responses.append((response.request.method, response.url, response.status))

    def posts(self, path_part: str = "") -> list[Sent]:
        return [r for r in self.requests if r.method == "POST" and path_part in r.url]

    def statuses(self, path_part: str) -> list[int]:
        return [s for m, u, s in self.responses if m == "POST" and path_part in u]


@dataclass
class Tab:
    context: BrowserContext
    page: Page
    traffic: Traffic
    errors: list[str]


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A fresh phone-sized browser context (no cookies, no storage) with its traffic recorded."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    traffic, errors = Traffic(), []
    page.on("request", traffic.on_request)
    page.on("response", traffic.on_response)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield Tab(context, page, traffic, errors)
    context.close()


@dataclass
class Site:
    server: LiveServer
    instance: Path
    org: OrganizerHandle
    campaign_id: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def share_link(self) -> str:
        return (f"{self.base_url}/p/{self.campaign_id}"
                f"#k={self.org.session.coalition['signing_key']}")

    @property
    def page_url(self) -> str:
        return f"{self.base_url}/p/{self.campaign_id}"


@pytest.fixture
def site(live_server: LiveServer, instance: Path, tmp_path: Path) -> Any:
    """A live server with a coalition (organizer keystore outside the server's folder) and a campaign
    whose form has a choice (`school`), a free-text (`message`) and a checkbox (`help`) field."""
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    org = make_coalition(laptop, live_server.base_url)
    return Site(live_server, instance, org, make_campaign(org))
