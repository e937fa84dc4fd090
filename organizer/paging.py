"""The one rule for walking a server's paged lists: every page moves forward, or it is refused.

Pages list rows in id order after a cursor (`after`), with `next` the cursor for the next page.
A server that repeats ids, walks backwards or hands out empty pages with a `next` could make the
tool loop for ever or count a row twice; ids must strictly increase in byte order (the order the
server pages in, on SQLite and, by migration 0004, PostgreSQL) and `next` may not fall back.
"""

from collections.abc import Iterable

from organizer.errors import PagesOutOfOrder


def advance(ids: Iterable[str], next_id: str | None, after: str) -> str:
    """Check one page's ids against the cursor it was asked for; return the cursor it ends at."""
    seen_any = False
    for row_id in ids:
        if row_id <= after:
            raise PagesOutOfOrder()
        after, seen_any = row_id, True
    if next_id and (not seen_any or next_id < after):
        raise PagesOutOfOrder()
    return next_id or after
