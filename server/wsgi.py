"""The WSGI entry point for gunicorn: configuration comes from the environment."""

from server import create_app
from server.logs import configure

configure()
app = create_app()
