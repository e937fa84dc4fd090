"""Serve the app through gunicorn from Python (never Flask's development server)."""

from collections.abc import Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

import migrations
from server import create_app, gunicorn_conf
from server.config import load_config
from server.db import database
from server.logs import configure
from server.retention import start_worker_threads, stop_worker_threads


class PledgeboxServer(BaseApplication):
    def __init__(self, env: Mapping[str, str], bind: str, workers: int) -> None:
        self.env, self.bind, self.workers = dict(env), bind, workers
        self.application: Flask | None = None
        super().__init__()

    def load_config(self) -> None:
        settings = {k: getattr(gunicorn_conf, k) for k in gunicorn_conf.SETTINGS}
        settings.update(bind=self.bind, workers=self.workers, post_fork=self._post_fork,
                        worker_exit=self._worker_exit)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn ≥ 25 opens a control socket in ~/.gunicorn by default; several servers
            # on one machine would fight over it, and nothing here needs it.
            settings["control_socket_disable"] = True
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        if self.application is None:
            configure()
            app = create_app(load_config(self.env))
            with database.connection_context():
                migrations.upgrade(database.obj)
            self.application = app
        return self.application

    def _post_fork(self, _server: Any, _worker: Any) -> None:
        start_worker_threads(self.load())

    def _worker_exit(self, _server: Any, _worker: Any) -> None:
        stop_worker_threads(self.load())


def serve(env: Mapping[str, str], host: str, port: int, workers: int) -> None:
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    PledgeboxServer(env, bind, workers).run()
