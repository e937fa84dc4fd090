"""gunicorn settings that keep the privacy promise: no access log, nothing about clients logged.

Use it directly with `gunicorn -c python:server.gunicorn_conf 'server.wsgi:app'`; the
`pledgebox-server run` command applies the same settings.
"""

accesslog = None  # never: an access log is a list of students' addresses
errorlog = "-"
loglevel = "info"
preload_app = True  # one rate-limit key seed shared by all workers forked from the master
proxy_protocol = False
forwarded_allow_ips = "127.0.0.1"
capture_output = False
timeout = 60
graceful_timeout = 10
workers = 2
worker_class = "sync"


def post_fork(server: object, worker: object) -> None:
    """Each worker purges on a timer; the database lease lets only one purge run at a time."""
    from server.retention import start_background_purge
    from server.wsgi import app

    if app.extensions["pledgebox"].config.purge_in_background:
        start_background_purge(app)
