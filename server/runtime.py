"""Per-app services reachable from views: the config and the clock (tests move the clock)."""

from dataclasses import dataclass
from datetime import date

from flask import current_app

from server.clock import Clock
from server.config import Config


@dataclass(frozen=True)
class Runtime:
    config: Config
    clock: Clock


def runtime() -> Runtime:
    return current_app.extensions["pledgebox"]


def today() -> date:
    return runtime().clock.today()


def now() -> float:
    return runtime().clock.now()


def instant() -> float:
    """Now for campaigns' dates (never before today's start: see Clock.instant)."""
    return runtime().clock.instant()
