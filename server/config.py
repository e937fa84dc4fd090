"""Typed configuration, read once from the environment at start-up; bad values stop the server."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from limits import parse_many  # flask-limiter's own parser: what passes here works there


class ConfigError(Exception):
    """The server's configuration is invalid."""


@dataclass(frozen=True)
class Config:
    instance_path: Path
    database_url: str
    ratelimit_storage: str = "memory://"
    max_retention_days: int = 30
    trusted_proxies: int = 0
    purge_interval_seconds: int = 300
    purge_in_background: bool = True
    # The UTC hour from which SQLite's daily whole-file scrub runs (server/retention/purge.py):
    # 10:00 UTC is 02:00 in California and 05:00 in New York, when no class is pledging.
    scrub_hour_utc: int = 10
    # A file holding a whole number of days added to the real date: tests move time with it.
    clock_offset_file: Path | None = None
    ratelimits_enabled: bool = True
    # Several servers sharing Redis read the rate-limit key from this file (see server/limits.py).
    ratelimit_key_file: Path | None = None
    ratelimit_prefix: str = "pledgebox"
    # Pledges accepted per client network (/24, /64) and per campaign: flask-limiter strings.
    ratelimit_per_network: str = "120 per minute;2000 per hour;6000 per day"
    ratelimit_per_campaign: str = "600 per minute;6000 per hour;30000 per day"


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}")
    return value


def _limits(env: Mapping[str, str], name: str, default: str) -> str:
    """A flask-limiter limit string such as "120 per minute;2000 per hour", checked now."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        parsed = parse_many(raw)
    except ValueError:
        parsed = []
    if not parsed or any(item.amount < 1 for item in parsed):
        raise ConfigError(f'{name} must look like "120 per minute;2000 per hour", not {raw!r}')
    return raw


def load_config(env: Mapping[str, str] | None = None, instance_path: Path | None = None) -> Config:
    env = os.environ if env is None else env
    instance = Path(env.get("PLEDGEBOX_INSTANCE_PATH") or instance_path or Path.cwd() / "instance")
    url = env.get("PLEDGEBOX_DATABASE_URL") or f"sqlite:///{instance / 'pledgebox.sqlite3'}"
    if not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError("PLEDGEBOX_DATABASE_URL must start with sqlite:/// or postgresql://")
    storage = env.get("PLEDGEBOX_RATELIMIT_STORAGE") or "memory://"
    if not storage.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        raise ConfigError("PLEDGEBOX_RATELIMIT_STORAGE must be memory:// or redis://…")
    offset = env.get("PLEDGEBOX_CLOCK_OFFSET_FILE")
    key_file = env.get("PLEDGEBOX_RATELIMIT_KEY_FILE")
    prefix = env.get("PLEDGEBOX_RATELIMIT_PREFIX") or "pledgebox"
    if not prefix.replace("-", "").replace("_", "").isalnum() or len(prefix) > 64:
        raise ConfigError("PLEDGEBOX_RATELIMIT_PREFIX must be letters, digits, - or _")
    return Config(
        instance_path=instance,
        database_url=url,
        ratelimit_storage=storage,
        max_retention_days=_int(env, "PLEDGEBOX_MAX_RETENTION_DAYS", 30, 1, 3650),
        trusted_proxies=_int(env, "PLEDGEBOX_TRUSTED_PROXIES", 0, 0, 10),
        purge_interval_seconds=_int(env, "PLEDGEBOX_PURGE_INTERVAL_SECONDS", 300, 1, 600),
        purge_in_background=env.get("PLEDGEBOX_PURGE_IN_BACKGROUND", "1") != "0",
        scrub_hour_utc=_int(env, "PLEDGEBOX_SCRUB_HOUR_UTC", Config.scrub_hour_utc, 0, 23),
        clock_offset_file=Path(offset) if offset else None,
        ratelimits_enabled=env.get("PLEDGEBOX_RATELIMITS", "1") != "0",
        ratelimit_key_file=Path(key_file) if key_file else None,
        ratelimit_prefix=prefix,
        ratelimit_per_network=_limits(env, "PLEDGEBOX_RATELIMIT_PER_NETWORK",
                                      Config.ratelimit_per_network),
        ratelimit_per_campaign=_limits(env, "PLEDGEBOX_RATELIMIT_PER_CAMPAIGN",
                                       Config.ratelimit_per_campaign),
    )
