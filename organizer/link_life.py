"""How long the coalition's share links keep working without an admin, and a reminder file for it.

Students' pages refuse the coalition's encryption key once its signed `not_after` is past (a day
of grace for time zones, web/src/envelope/verification.js). An admin's tool renews the statement
whenever fewer than 25 of its 30 days remain (organizer/coalition.py), so the links live as long as an admin
opens Pledgebox once in 25 days; nothing else tells the organizers. This module turns the current
statement into the sentence both faces show, with warnings from 10 days before, and into an
iCalendar reminder made on this laptop (RFC 5545): no network, no calendar service. The reminder
says only "Open Pledgebox": a calendar often syncs to a company's servers, so it names no
campaign, coalition or school.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

WARN_DAYS = 10
REMIND_DAYS_BEFORE = 7  # the reminder's day: a week before the links stop, or today if later


@dataclass(frozen=True)
class LinkLife:
    """The last day the links work without an admin opening Pledgebox (the statement's not_after)."""

    last_day: date
    days_left: int  # from today to last_day; negative once the links have stopped

    @property
    def warn(self) -> bool:
        return self.days_left <= WARN_DAYS

    @property
    def stopped(self) -> bool:
        return self.days_left < 0

    def matters_for(self, descriptor: dict[str, Any]) -> bool:
        """Whether students can still pledge to this campaign after the links stop."""
        closes = descriptor.get("closes_at")
        try:
            return closes is None or date.fromisoformat(str(closes)) > self.last_day
        except ValueError:
            return True

    def reminder_day(self, today: date) -> date:
        return max(today, self.last_day - timedelta(days=REMIND_DAYS_BEFORE))


def link_life(me: dict[str, Any], today: date) -> LinkLife:
    """From a sync's answer: the current key statement, as signed (and checked) by the coalition."""
    last_day = date.fromisoformat(str(me["encryption_key"]["not_after"]))
    return LinkLife(last_day, (last_day - today).days)


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def _fold(line: str) -> str:
    """RFC 5545 lines are at most 75 octets; longer ones continue after CRLF and a space."""
    out, current = [], b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > 75:
            out.append(current.decode("utf-8"))
            current = b" "
        current += encoded
    out.append(current.decode("utf-8"))
    return "\r\n".join(out)


def reminder_ics(life: LinkLife, today: date, summary: str, description: str) -> bytes:
    """An all-day event on the reminder day with an alert at 9:00 that morning (floating time,
    so it rings at nine wherever the laptop is)."""
    day = life.reminder_day(today)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Pledgebox//reminder//EN", "CALSCALE:GREGORIAN",
        "BEGIN:VEVENT", f"UID:{secrets.token_hex(16)}@pledgebox.invalid", f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{_escape(summary)}", f"DESCRIPTION:{_escape(description)}", "TRANSP:TRANSPARENT",
        "BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{_escape(summary)}", "TRIGGER:PT9H",
        "END:VALARM", "END:VEVENT", "END:VCALENDAR",
    ]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("utf-8")
