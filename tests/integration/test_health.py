"""`GET /healthz`: ok only when the database answers with every migration applied; it tells nothing else."""

from pathlib import Path

import pytest

import migrations
from server import create_app
from server.config import Config
from server.db import database
from tests.support.hardening import assert_hardened
from tests.support.http import call
from tests.support.live import LiveServer, free_port

BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)


@BACKENDS
def test_healthy_says_ok_and_nothing_more(live_server: LiveServer) -> None:
    reply = call(live_server.base_url, "GET", "/healthz")
    assert reply.status == 200
    assert reply.json() == {"status": "ok"}
    assert_hardened(reply, "GET /healthz")
    assert b"0.1.0" not in reply.body  # no version
    assert "server" not in reply.headers or reply.headers["server"] == "gunicorn"


@BACKENDS
def test_a_pending_migration_makes_it_unavailable(live_server: LiveServer) -> None:
    with database.connection_context():
        undone = migrations.downgrade_last(database.obj)
    assert undone
    reply = call(live_server.base_url, "GET", "/healthz")
    assert reply.status == 503
    assert reply.error_code == "unavailable"
    assert undone not in reply.body.decode()  # not even which migration
    assert_hardened(reply, "GET /healthz, migration pending")
    with database.connection_context():
        migrations.upgrade(database.obj)
    assert call(live_server.base_url, "GET", "/healthz").status == 200


def _unreachable(tmp_path: Path, backend: str) -> str:
    if backend == "postgres":  # a port nothing listens on
        return f"postgresql://pledgebox:pledgebox@127.0.0.1:{free_port()}/pledgebox"
    db_file = tmp_path / "instance" / "pledgebox.sqlite3"
    db_file.mkdir(parents=True)  # a folder where the file should be: SQLite cannot open it
    return f"sqlite:///{db_file}"


@BACKENDS
def test_a_database_that_does_not_answer_makes_it_unavailable(tmp_path: Path, backend: str) -> None:
    url = _unreachable(tmp_path, backend)
    app = create_app(Config(instance_path=tmp_path / "instance", database_url=url,
                            purge_in_background=False, ratelimits_enabled=False))
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 503
    assert reply.is_json
    assert reply.get_json()["error"]["code"] == "unavailable"
    assert url not in reply.get_data(as_text=True)
    assert reply.headers["Content-Security-Policy"]
