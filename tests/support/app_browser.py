"""The organizer app in Debian's Chromium: open it as the browser `pledgebox app` opens does, and
look at its pages (axe-core, screenshots at phone and laptop widths) the same way in every test."""

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.axe import axe_violations
from tests.support.factories import PASSPHRASE
from tests.support.organizer_app import RunningApp, start_app

SCREENS = Path(os.environ.get("PLEDGEBOX_SCREENS", "/work/screens/app"))
WIDTHS = {"phone": {"width": 360, "height": 780}, "laptop": {"width": 1280, "height": 860}}
LOCALES = {"en": "en-US", "es": "es-MX"}
LAPTOP_CONTEXT: dict[str, Any] = {"viewport": WIDTHS["laptop"], "accept_downloads": True}


def open_app(browser: Browser, apps: list[RunningApp], keystore: Path, locale: str = "en-US",
             *, checked: bool = True, **context_options: Any) -> tuple[RunningApp, Page]:
    """Start the app on `keystore` (`apps` stops it after the test) and open its one-time address
    in a new browser context.

    `context_options` go to Playwright's new_context (without any: laptop-wide, downloads
    accepted). `checked` fails the test on any script error and checks that the token left the
    address; the tests that inject axe-core pass checked=False, as they were written without."""
    app = start_app(keystore)
    apps.append(app)
    page = browser.new_context(locale=locale, **(context_options or LAPTOP_CONTEXT)).new_page()
    if checked:
        page.on("pageerror", lambda e: pytest.fail(f"script error: {e}"))
    page.goto(app.state.first_url())
    if checked:
        expect(page).not_to_have_url(re.compile("token="))  # exchanged for the cookie, address clean
    return app, page


def look(page: Page, name: str, lang: str, found: dict[str, Any]) -> None:
    """axe-core's violations into `found` (asserted empty at the end, so one test lists them all),
    and screenshots at both widths for a person to look at; the page ends laptop-wide."""
    violations = axe_violations(page)
    if violations:
        found[f"{name} ({lang})"] = violations
    screenshots(page, name, lang)


def screenshots(page: Page, name: str, lang: str, folder: Path = SCREENS) -> None:
    """The page at phone and laptop widths, for a person to look at; it ends laptop-wide."""
    folder.mkdir(parents=True, exist_ok=True)
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{lang}-{width}.png"), full_page=True)
    page.set_viewport_size(WIDTHS["laptop"])


def shoot_both_languages(page: Page, name: str) -> None:
    """The page at phone and laptop widths, in its language and then in the other one (the
    language switch comes back to the same page), for a person to look at."""
    for _ in range(2):
        lang = page.locator("html").get_attribute("lang")
        screenshots(page, name, str(lang))
        page.locator("nav.lang a").first.click()
        expect(page.locator("html")).not_to_have_attribute("lang", lang or "")


def unlock(page: Page, passphrase: str = PASSPHRASE) -> None:
    """Type the passphrase on the unlock page and send it."""
    page.fill("#passphrase", passphrase)
    page.locator("main form button[type=submit]").first.click()
