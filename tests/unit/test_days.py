"""organizer.days: where a stored (UTC) day begins on the campaign's own clock (issue 18, item 11)."""

from datetime import UTC, datetime

from organizer.days import DaySpan, stored_day_span

WINTER = datetime(2027, 1, 15, 12, tzinfo=UTC)
SUMMER = datetime(2027, 7, 15, 12, tzinfo=UTC)


def test_west_of_utc_a_stored_day_begins_the_afternoon_before() -> None:
    assert stored_day_span("America/Los_Angeles", WINTER) == DaySpan("America/Los_Angeles", "16:00", True)
    assert stored_day_span("America/Los_Angeles", SUMMER) == DaySpan("America/Los_Angeles", "17:00", True)


def test_east_of_utc_it_begins_that_day() -> None:
    assert stored_day_span("Europe/Madrid", WINTER) == DaySpan("Europe/Madrid", "01:00", False)
    assert stored_day_span("Asia/Kolkata", WINTER) == DaySpan("Asia/Kolkata", "05:30", False)


def test_in_utc_or_without_a_zone_there_is_nothing_to_say() -> None:
    assert stored_day_span("UTC", WINTER) is None
    assert stored_day_span(None, WINTER) is None
    assert stored_day_span("Europe/London", WINTER) is None
