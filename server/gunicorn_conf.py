"""gunicorn settings that keep the privacy promise: no access log, nothing about clients logged.

Use it directly with `gunicorn -c python:server.gunicorn_conf 'server.wsgi:app'`; the
`pledgebox-server run` command applies the same settings (SETTINGS below).

Forwarded headers: gunicorn trusts none of them (no X-Forwarded-Proto → https, no SCRIPT_NAME);
the app alone decides, through werkzeug's ProxyFix and exactly PLEDGEBOX_TRUSTED_PROXIES hops,
so one setting governs both the client's network (rate limits) and the scheme (HSTS).
"""

accesslog = None  # never: an access log is a list of students' addresses
disable_redirect_access_to_syslog = True
errorlog = "-"
loglevel = "info"
logger_class = "server.logs.GunicornLogger"  # the allow-list on gunicorn's own messages
preload_app = True  # one rate-limit key drawn in the master, shared by every forked worker
proxy_protocol = False
forwarded_allow_ips = "127.0.0.1,::1"
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""
capture_output = False
timeout = 60
graceful_timeout = 10
workers = 2
# Each worker serves `threads` requests at once (gunicorn's gthread), answering its own refusals
# (request line or headers too long, not HTTP) in the protocol's error shape with our security
# headers (server/gunicorn_worker.py). With one request at a time per process, ten withdrawals
# arriving together held every pledge behind them (bench/README.md, "Deletion at scale").
worker_class = "server.gunicorn_worker.ProtocolErrorWorker"
threads = 4
# Request line and headers: gunicorn's default limits.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# The names `pledgebox-server run` copies into gunicorn (server/gunicorn_app.py).
SETTINGS = (
    "accesslog", "disable_redirect_access_to_syslog", "errorlog", "loglevel", "logger_class",
    "preload_app", "proxy_protocol", "forwarded_allow_ips", "secure_scheme_headers",
    "forwarder_headers", "capture_output", "timeout", "graceful_timeout", "worker_class", "threads",
    "limit_request_line", "limit_request_fields", "limit_request_field_size",
)


def post_fork(server: object, worker: object) -> None:
    """Each worker purges on a timer (the database lease lets only one purge run at a time) and,
    on SQLite, empties the WAL after withdrawals (server/retention/purge.start_worker_threads)."""
    from server.retention import start_worker_threads
    from server.wsgi import app

    start_worker_threads(app)


def worker_exit(server: object, worker: object) -> None:
    """A worker that stops lets its purge run in progress finish and release the lease."""
    from server.retention import stop_worker_threads
    from server.wsgi import app

    stop_worker_threads(app)
