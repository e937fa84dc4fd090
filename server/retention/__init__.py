"""Deletion on schedule: expired campaigns and everything tied to them, physically, by the server.

Every read filters on live_until, the end of delete_after in the campaign's zone
(store/campaigns.live_campaigns), so expired data is never served; this package removes the rows,
then scrubs so deleted bytes do not linger in files. Where to read what:

- `purge.py`: the purge run (expired rows in short batches) and the timer thread in every worker;
- `scrub.py`: when a scrub is due and how a request or a run asks for one (backend-neutral);
- `sqlite.py`: SQLite's whole deletion path (checkpoints, the rewrite, secure_delete's limits);
- `sqlite_rebuild.py`: one campaign's SQLite table rebuilt, the copy before the write lock;
- `sqlite_slices.py`: SQLite's batched deletes, and a big campaign's table rebuilt in slices;
- `wal_flush.py`: SQLite's WAL emptied after withdrawals by a thread in each worker;
- `postgres.py`: PostgreSQL's whole deletion path (the table rewrite and its lock);
- `lease.py`: one purge at a time across processes and servers;
- `days.py`: the latest day ever seen, so a clock set back never revives expired data.

docs/deletion.md says what is deleted when and what remains.
"""

from server.retention.days import hold_day_floor, init_app
from server.retention.lease import LEASE_SECONDS, LeaseLost
from server.retention.purge import (
    PurgeResult,
    purge_expired,
    purge_if_due,
    start_background_purge,
    start_worker_threads,
    stop_background_purge,
    stop_worker_threads,
)
from server.retention.scrub import compact, compact_after_request, mark_scrub_due

__all__ = [
    "LEASE_SECONDS", "LeaseLost", "PurgeResult", "compact", "compact_after_request",
    "hold_day_floor", "init_app", "mark_scrub_due", "purge_expired", "purge_if_due",
    "start_background_purge", "start_worker_threads", "stop_background_purge",
    "stop_worker_threads",
]
