"""The server's key for pledge-id tags (crypto/pledge_ids.py) and the campaigns a withdrawal reads.

The key is drawn once per database and kept in `server_state`, so every worker and every server
sharing the database tags and finds ids alike. It is read on each use rather than cached: a
process may outlive the database it first saw (tests, a restore), and one primary-key read costs
the intake tens of microseconds (bench/bench_intake.py).
"""

from peewee import Database, DatabaseProxy

from crypto import _primitives as primitives
from crypto.pledge_ids import KEY_BYTES, campaigns_to_read
from server.db import database

KEY_STATE = "pledge-id-tag-key"


def draw_key_row(db: Database | DatabaseProxy = database) -> None:
    """Store a fresh key unless one is there (two servers starting at once keep the first)."""
    q = db.param
    db.execute_sql(f'INSERT INTO "server_state" ("name", "value", "lease_until") '  # noqa: S608
                   f"VALUES ({q}, {q}, 0) ON CONFLICT DO NOTHING",
                   (KEY_STATE, primitives.random_bytes(KEY_BYTES).hex()))


def tag_key() -> bytes:
    q = database.param
    sql = f'SELECT "value" FROM "server_state" WHERE "name" = {q}'  # noqa: S608
    row = database.execute_sql(sql, (KEY_STATE,)).fetchone()
    if row is None:
        draw_key_row()
        row = database.execute_sql(sql, (KEY_STATE,)).fetchone()
    return bytes.fromhex(row[0])


def campaigns_holding(pledge_id: str, now: float) -> list[str]:
    """The live campaigns whose pledges a withdrawal of this id reads: every campaign from
    before tags (migration 0008), and among the others those whose tag the id carries, or one
    decoy. The count does not depend on whether the id exists."""
    # One plain statement: peewee's row building was half the lookup at 1,000 campaigns.
    rows = database.execute_sql(
        f'SELECT "id", "tagged_ids" FROM "campaign" WHERE "live_until" > {database.param} '  # noqa: S608
        'ORDER BY "id"', (now,)).fetchall()
    tagged = [cid for cid, is_tagged in rows if is_tagged]
    untagged = [cid for cid, is_tagged in rows if not is_tagged]
    return untagged + campaigns_to_read(tag_key(), pledge_id, tagged)
