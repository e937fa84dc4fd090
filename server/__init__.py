"""The Pledgebox server: stores ciphertext and public keys, never opens a pledge."""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from server import assets, db, errors, headers, health, limits, openapi, pages, retention
from server.api import announcements, keys, members, organizers, public, tallies
from server.clock import Clock
from server.config import Config, load_config
from server.runtime import Runtime

BODY_LIMIT = 8 * 1024 * 1024


def create_app(config: Config | None = None) -> Flask:
    config = config or load_config()
    app = Flask(__name__, instance_path=str(config.instance_path.resolve()), static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = BODY_LIMIT
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["pledgebox"] = Runtime(config, Clock(config.clock_offset_file))
    if config.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=config.trusted_proxies, x_host=0)
    db.bind(config.database_url)
    db.init_app(app)
    retention.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    limits.init_app(app, config)
    assets.init_app(app)
    pages.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(organizers.bp)
    app.register_blueprint(members.bp)
    app.register_blueprint(keys.bp)
    app.register_blueprint(announcements.bp)
    app.register_blueprint(tallies.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(health.bp)
    openapi.init_app(app)
    return app
