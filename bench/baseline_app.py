"""The bare baseline for bench_intake: the least a Flask + peewee + SQLite pledge endpoint can do.

It stores the same blob with the same durability (WAL, synchronous=FULL, the same pragmas as
server/db.py) in a WITHOUT ROWID table with a random text key, and follows peewee's documented
Flask recipe (a connection opened before each request and closed after it). It checks nothing:
no campaign, no key version, no strict JSON, no headers, no rate limits. Served by gunicorn with
the same workers and worker class as Pledgebox (see bench_intake.py).

    BASELINE_DB=/tmp/base.sqlite3 gunicorn -w 2 'bench.baseline_app:app'
"""

import base64
import json
import os
import secrets
from datetime import UTC, datetime

from flask import Flask, Response, request
from peewee import BlobField, CharField, DateField, IntegerField, Model, SqliteDatabase

from server.db import SQLITE_PRAGMAS

db = SqliteDatabase(os.environ.get("BASELINE_DB", "baseline.sqlite3"), pragmas=SQLITE_PRAGMAS)


class Pledge(Model):
    id = CharField(primary_key=True, max_length=64)
    campaign = CharField(max_length=64)
    key_version = IntegerField()
    ciphertext = BlobField()
    withdraw_token_hash = BlobField()
    received_day = DateField()

    class Meta:
        database = db
        without_rowid = True


with db.connection_context():
    db.create_tables([Pledge])

app = Flask(__name__)


@app.before_request
def _connect() -> None:
    db.connect(reuse_if_open=True)


@app.teardown_request
def _close(_exc: BaseException | None) -> None:
    if not db.is_closed():
        db.close()


def _b64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@app.post("/api/v1/campaigns/<campaign_id>/pledges")
def post_pledge(campaign_id: str) -> tuple[Response, int]:
    body = json.loads(request.get_data())
    pledge_id = secrets.token_urlsafe(16)
    with db.atomic():
        Pledge.insert(id=pledge_id, campaign=campaign_id, key_version=body["key_version"],
                      ciphertext=_b64u(body["ciphertext"]),
                      withdraw_token_hash=_b64u(body["withdraw_token_hash"]),
                      received_day=datetime.now(UTC).date()).execute()
    return Response(json.dumps({"pledge_id": pledge_id}), mimetype="application/json"), 201
