"""A withdrawal finds its pledge by the id's campaign tag (crypto/pledge_ids.py), not by reading
every campaign's storage; pledges from before the tags (migration 0008) are still found."""

import secrets
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playhouse.db_url import connect

import migrations
from crypto.encoding import b64u_encode
from server.db import bind, database
from server.store.partitions import every_pledge, partition_name, pledge_table
from tests.integration.test_retention import pledge_in, rows_mentioning
from tests.support.factories import OrganizerHandle, make_campaign, make_coalition

BASE = "http://127.0.0.1"
BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def admin(app: Flask, transport: Any, tmp_path: Path) -> OrganizerHandle:
    return make_coalition(tmp_path, BASE, transport)


def withdraw(client: FlaskClient, pledge_id: str, token: bytes) -> int:
    return client.post(f"/api/v1/pledges/{pledge_id}/withdraw",
                       json={"withdraw_token": b64u_encode(token)}).status_code


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_on_postgresql_a_withdrawal_does_not_wait_for_another_campaigns_partition(
        client: FlaskClient, admin: OrganizerHandle, app: Flask, db_url: str) -> None:
    """While another campaign's partition is being rewritten (VACUUM FULL holds it ACCESS
    EXCLUSIVE), a withdrawal from this campaign goes through: it reads its own partition only.
    Reading every live campaign's partition made every withdrawal on the server wait behind
    each scrub, and a thousand index reads per withdrawal starved the intake (bench/README.md)."""
    mine = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    others = [make_campaign(admin, action_in=40, closes_in=39, delete_in=60) for _ in range(6)]
    pledges = [pledge_in(client, mine) for _ in range(3)]
    for other in others:
        pledge_in(client, other)
    holder = connect(db_url)
    holder.connect()
    holder.execute_sql("BEGIN")
    for other in others:
        holder.execute_sql(f'LOCK TABLE "{partition_name(other)}" IN ACCESS EXCLUSIVE MODE')
    answers: list[int] = []
    worker = threading.Thread(target=lambda: answers.extend(
        withdraw(client, pid, token) for pid, token in pledges), daemon=True)
    try:
        worker.start()
        worker.join(timeout=20)
        blocked = worker.is_alive()
    finally:
        holder.execute_sql("ROLLBACK")
        holder.close()
        worker.join(timeout=60)
    assert not blocked, "a withdrawal waited for another campaign's partition"
    assert answers == [204, 204, 204]
    assert rows_mentioning(*(pid for pid, _ in pledges)) == []


@BACKENDS
def test_a_pledge_from_before_tags_is_withdrawn_and_a_wrong_token_or_unknown_id_is_404(
        client: FlaskClient, admin: OrganizerHandle, app: Flask, backend: str) -> None:
    """A campaign that existed before migration 0008 holds ids without a tag: it is read for
    every withdrawal until it is deleted on its day. New campaigns are tagged."""
    old = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    new = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    tagged_id, tagged_token = pledge_in(client, new)
    template_id, _ = pledge_in(client, old)
    untagged_id, token = secrets.token_urlsafe(16).replace("-", "A"), secrets.token_bytes(32)
    with database.connection_context():
        q = database.param
        assert database.execute_sql("SELECT tagged_ids FROM campaign WHERE id = " + q,
                                    (new,)).fetchone()[0] in (True, 1)
        database.execute_sql("UPDATE campaign SET tagged_ids = " + q + " WHERE id = " + q,
                             (False, old))
        # a pledge as the server stored it before tags: the same row under a random id (in the
        # campaign's own table on SQLite, migration 0009)
        table = f'"{pledge_table(old)}"'
        database.execute_sql(
            f"INSERT INTO {table} (id, campaign_id, key_version, ciphertext, withdraw_token_hash, "
            "received_day) SELECT " + q + ", campaign_id, key_version, ciphertext, " + q
            + f", received_day FROM {table} WHERE id = " + q,
            (untagged_id, _token_hash(token), template_id))
    assert withdraw(client, untagged_id, secrets.token_bytes(32)) == 404
    assert withdraw(client, untagged_id, token) == 204
    assert withdraw(client, untagged_id, token) == 404
    assert withdraw(client, tagged_id, secrets.token_bytes(32)) == 404
    assert withdraw(client, tagged_id, tagged_token) == 204
    assert withdraw(client, secrets.token_urlsafe(16), tagged_token) == 404
    assert rows_mentioning(untagged_id, tagged_id) == []


@BACKENDS
def test_migration_0008_marks_the_campaigns_it_finds_untagged_and_goes_down_with_nothing_lost(
        client: FlaskClient, admin: OrganizerHandle, app: Flask, db_url: str) -> None:
    campaign = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    pledged = [pledge_in(client, campaign) for _ in range(3)]
    db = bind(db_url)
    every = "SELECT * FROM {} ORDER BY id"  # every_pledge: SQLite's tables after 0009, or `pledge`
    with db.connection_context():
        before = db.execute_sql(every.format(every_pledge(db))).fetchall()
        for later in ("0010_sqlite_arrivals_marked_by_the_intake", "0009_sqlite_pledges_by_campaign"):
            assert migrations.downgrade_last(db) == later
            assert db.execute_sql(every.format(every_pledge(db))).fetchall() == before
        assert migrations.downgrade_last(db) == "0008_tagged_pledge_ids"
        assert "tagged_ids" not in [c.name for c in db.get_columns("campaign")]
        assert db.execute_sql("SELECT count(*) FROM server_state WHERE name = "
                              "'pledge-id-tag-key'").fetchone()[0] == 0
        assert db.execute_sql(every.format(every_pledge(db))).fetchall() == before
        migrations.upgrade(db)
        assert db.execute_sql("SELECT tagged_ids FROM campaign").fetchall() in ([(False,)], [(0,)])
        assert db.execute_sql(every.format(every_pledge(db))).fetchall() == before
    # the tag key is new after the round trip: the old tags no longer match, and the campaign,
    # now marked untagged, is read whatever the id
    for pledge_id, token in pledged:
        assert withdraw(client, pledge_id, token) == 204


def _token_hash(token: bytes) -> bytes:
    from crypto import _primitives as primitives

    return primitives.blake2b(token, 32)
