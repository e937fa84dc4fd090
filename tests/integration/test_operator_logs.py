"""What the server tells its operator: that Redis went away (rate limits then count per process),
and nothing about the requests that noticed it."""

from pathlib import Path

from tests.conftest import migrate, server_env, sqlite_url
from tests.support.http import call
from tests.support.live import LiveServer, free_port

UNREACHABLE = "Rate limit storage unreachable - falling back to in-memory storage"


def test_a_rate_limit_store_that_does_not_answer_is_said_once_with_nothing_about_the_request(
        tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    url = sqlite_url(instance)
    migrate(url)
    env = server_env(instance, url, instance / "clock", PLEDGEBOX_PURGE_IN_BACKGROUND="0",
                     PLEDGEBOX_RATELIMIT_STORAGE=f"redis://127.0.0.1:{free_port()}/0")
    (instance / "clock").write_text("0")
    server = LiveServer(env).start()
    try:
        for _ in range(3):
            reply = call(server.base_url, "GET", "/healthz?who=198.51.100.7",
                         headers={"User-Agent": "sentinel-agent"})
            assert reply.status == 200  # limits go on, in memory: students are not refused
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert log.count(UNREACHABLE) == 1, log
    for leak in ("198.51.100.7", "sentinel-agent", "/healthz", "redis://"):
        assert leak not in log
