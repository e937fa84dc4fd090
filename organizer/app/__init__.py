"""The organizer app: everything the CLI does, as pages served to this laptop's own browser.

`create_app(state)` assembles it like Flask's tutorial: the guard (organizer/app/guard.py),
the language (i18n.py), then one Blueprint per subject under views/. The server is run by
serve.py (`pledgebox app`). See organizer/app/README.md for how to add a page.
"""

from pathlib import Path
from typing import Any

from flask import Flask

from organizer.app import guard, helpers, i18n, watching
from organizer.app.jobs import Jobs
from organizer.app.rosters import Rosters
from organizer.app.state import AppState
from organizer.app.views import BLUEPRINTS

HERE = Path(__file__).resolve().parent


def create_app(state: AppState, **config: Any) -> Flask:
    app = Flask("organizer.app", root_path=str(HERE), static_folder="static",
                template_folder="templates")
    app.config.update(MAX_CONTENT_LENGTH=2 * 1024 * 1024, SESSION_COOKIE_NAME="pledgebox_flask",
                      TEMPLATES_AUTO_RELOAD=False, **config)
    app.extensions["pledgebox_app"] = state
    app.extensions["pledgebox_jobs"] = Jobs()
    app.extensions["pledgebox_rosters"] = opened = Rosters(state.clock)
    state.on_lock.append(opened.locked)  # answers opened with the keys leave with them
    guard.init_app(app)
    i18n.init_app(app)
    helpers.init_app(app)
    watching.init_app(app, state)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app
