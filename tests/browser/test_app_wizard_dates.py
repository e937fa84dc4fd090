"""The wizard's dates are checked as soon as one is typed (issue 18.6), in real Chromium: the same
words as the app's own check, in the page's language, at phone and laptop widths."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.support.app_browser import WIDTHS, open_app
from tests.support.factories import make_coalition

TODAY = datetime.now(UTC).date()


@pytest.mark.parametrize(("locale", "width", "past", "suggest", "after_action"), [
    ("en-US", "phone", "has already passed.", "Did you mean", "is after the action day"),
    ("es-ES", "laptop", "ya pasó.", "¿Quisiste decir", "es después del día de la acción"),
])
def test_a_date_that_cannot_be_meant_is_named_as_it_is_typed(browser, live_server, tmp_path, apps, locale,
                                                              width, past, suggest, after_action):
    org = make_coalition(tmp_path, live_server.base_url)
    app, page = open_app(browser, apps, org.keystore, locale)
    app.state.unlock(org.session)
    page.set_viewport_size(WIDTHS[width])
    page.goto(f"{app.origin}/campaigns/new")
    problem = page.locator("#date-problem")
    expect(problem).to_be_hidden()

    last_year = TODAY - timedelta(days=300)  # a year on it is still to come: the January slip
    page.fill("#action_date", last_year.isoformat())
    page.dispatch_event("#action_date", "change")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text(past)
    expect(problem).to_contain_text(suggest)
    expect(page.locator("#action_date")).to_have_attribute("aria-invalid", "true")

    page.fill("#action_date", (TODAY + timedelta(days=14)).isoformat())
    page.fill("#closes", (TODAY + timedelta(days=20)).isoformat())
    page.dispatch_event("#closes", "change")
    expect(problem).to_contain_text(after_action)
    expect(page.locator("#closes")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#action_date")).not_to_have_attribute("aria-invalid", re.compile("."))

    page.fill("#closes", (TODAY + timedelta(days=13)).isoformat())
    page.dispatch_event("#closes", "change")
    expect(problem).to_be_hidden()  # dates as meant: nothing said
