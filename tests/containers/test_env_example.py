"""deploy/env.example: each password is written once, made by the command it gives, and the two
URLs take theirs from it (issue 17, finding 12: one placeholder stood in both places before)."""

import re
import subprocess
from pathlib import Path

import yaml

from tests.containers import images
from tests.containers.compose import Deployment

EXAMPLE = images.DEPLOY / "env.example"
SCALE_LINES = ("COMPOSE_PROFILES=scale", "POSTGRES_PASSWORD=", "REDIS_PASSWORD=", "PLEDGEBOX_DATABASE_URL=",
               "PLEDGEBOX_RATELIMIT_STORAGE=", "PLEDGEBOX_RATELIMIT_KEY_FILE=")


def test_each_placeholder_password_appears_once() -> None:
    placeholders = re.findall(r"replace-with-[a-z0-9-]+", EXAMPLE.read_text())
    assert len(placeholders) >= 2
    assert len(set(placeholders)) == len(placeholders), placeholders


def test_the_documented_commands_give_two_passwords_that_the_urls_take(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    env = tmp_path / ".env"
    env.write_text(text)
    # What the scale block tells the operator: make the passwords, then uncomment its lines.
    command = re.search(r'^#   (sed -i "s/.*?)$\n^#\s+(s/.*" deploy/\.env)$', text, re.MULTILINE)
    assert command, "the scale block no longer shows how to make its passwords"
    sed = f"{command.group(1)}\n{command.group(2)}".replace("deploy/.env", str(env))
    subprocess.run(["sh", "-c", sed], check=True)
    lines = [line[1:] if line.startswith("#") and line[1:].startswith(SCALE_LINES) else line
             for line in env.read_text().splitlines()]
    env.write_text("\n".join(lines) + "\n")
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    postgres, redis = values["POSTGRES_PASSWORD"], values["REDIS_PASSWORD"]
    assert re.fullmatch(r"[0-9a-f]{48}", postgres), postgres
    assert re.fullmatch(r"[0-9a-f]{48}", redis), redis
    assert postgres != redis

    rendered = yaml.safe_load(Deployment({}).compose("--env-file", str(env), "config"))
    app = rendered["services"]["app"]["environment"]
    assert app["PLEDGEBOX_DATABASE_URL"] == f"postgresql://pledgebox:{postgres}@postgres:5432/pledgebox"
    assert app["PLEDGEBOX_RATELIMIT_STORAGE"] == f"redis://:{redis}@redis:6379/0"
    assert rendered["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == postgres
    assert rendered["services"]["redis"]["environment"]["REDIS_PASSWORD"] == redis
