"""The share links' life and the calendar reminder (organizer/link_life.py), as pure functions."""

from datetime import date

from organizer.link_life import LinkLife, link_life, reminder_ics

TODAY = date(2027, 1, 10)


def test_warnings_start_ten_days_before_and_stopped_after_the_last_day() -> None:
    def life(not_after: str) -> LinkLife:
        return link_life({"encryption_key": {"not_after": not_after}}, TODAY)

    assert not life("2027-01-21").warn
    assert life("2027-01-20").warn
    assert life("2027-01-20").days_left == 10
    assert life("2027-01-10").warn
    assert not life("2027-01-10").stopped
    assert life("2027-01-09").stopped


def test_a_campaign_that_closes_before_the_links_stop_needs_no_warning() -> None:
    life = LinkLife(date(2027, 2, 1), 22)
    assert not life.matters_for({"closes_at": "2027-02-01"})
    assert life.matters_for({"closes_at": "2027-02-02"})


def test_the_reminder_is_a_valid_calendar_file_that_names_nothing_but_pledgebox() -> None:
    life = LinkLife(date(2027, 2, 1), 22)
    body = reminder_ics(life, TODAY, "Open Pledgebox",
                        "Open Pledgebox (the app or any command) before 2027-02-01, so your links "
                        "keep working; commas, semicolons and long lines are escaped and folded.")
    text = body.decode("utf-8")
    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    assert "DTSTART;VALUE=DATE:20270125" in lines  # a week before the last day
    assert "DTEND;VALUE=DATE:20270126" in lines
    assert "TRIGGER:PT9H" in lines
    unfolded = text.replace("\r\n ", "")
    assert "2027-02-01\\, so your links keep working\\; commas" in unfolded


def test_a_reminder_for_links_that_stop_within_a_week_is_for_today() -> None:
    body = reminder_ics(LinkLife(date(2027, 1, 13), 3), TODAY, "Open Pledgebox", "x").decode()
    assert "DTSTART;VALUE=DATE:20270110" in body
