"""An organizer on the host, using the real organizer tool against a containerised server."""

import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from organizer import coalition
from tests.containers.compose import Deployment
from tests.support.factories import PASSPHRASE, make_campaign, new_organizer
from tests.support.scripts import console_script


@dataclass
class Campaign:
    keystore: Path
    campaign_id: str

    def roster(self) -> list[dict[str, Any]]:
        """`pledgebox roster` run as an organizer runs it, trusting only Caddy's certificate."""
        env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
        done = subprocess.run([console_script("pledgebox"), "--keystore", str(self.keystore), "roster",
                               "--format", "jsonl", "--", self.campaign_id],
                              capture_output=True, text=True, env=env, timeout=180, check=False)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]


def setup_code(deployment: Deployment, service: str = "app") -> str:
    """`pledgebox-server setup-code` inside the app container, as the operator runs it there."""
    done = deployment.podman("exec", deployment.container(service), "pledgebox-server", "setup-code")
    return done.strip()


def open_campaign(deployment: Deployment, folder: Path) -> Campaign:
    org = new_organizer(folder, name=f"org-{secrets.token_hex(3)}")
    coalition.create(org.session, deployment.base_url, setup_code(deployment), "Coalition in a box")
    return Campaign(org.keystore, make_campaign(org))
