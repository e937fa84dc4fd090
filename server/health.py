"""`GET /healthz`: may this server take pledges now? For compose health checks and load balancers.

It answers only "ok" or the protocol's `unavailable` error: no data, no counts, no version, so a
stranger polling it learns nothing but whether the service is up.
"""

from flask import Blueprint, Response, jsonify

import migrations
from server.db import database
from server.errors import Unavailable

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    # One query on the real connection (opened by the request hook) also proves the database
    # answers; a server whose schema lags its code must not be sent pledges.
    if migrations.pending(database.obj):
        raise Unavailable("The database is not ready: its migrations are not applied.")
    return jsonify(status="ok")
