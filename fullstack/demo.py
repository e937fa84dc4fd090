"""`pledgebox-server run --demo DIR`: a coalition, an organizer keystore and an open campaign.

The demo drives the real organizer tool in-process (its requests are signed and go through the
real API), so what a newcomer sees is exactly what organizers get.
"""

import json
import secrets
import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import migrations
from crypto.encoding import b64u_encode
from fullstack.inprocess import in_process_transport
from organizer import campaigns, coalition
from organizer.session import Session
from server import create_app
from server.config import load_config
from server.db import database
from server.store.coalitions import issue_setup_code

DEMO_FIELDS = [
    "school!:choice:Your school|Tu escuela:Covina High|Covina High,Northview High|Northview High,"
    "South Hills High|South Hills High,Another school|Otra escuela",
    "grade:choice:Your grade|Tu grado:9th|9º,10th|10º,11th|11º,12th|12º",
    "message:text:Why are you walking out? (optional)|¿Por qué participas? (opcional)",
    "help:checkbox:I want to help organize|Quiero ayudar a organizar",
]


def demo_env(folder: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The server's settings for a demo: its instance and SQLite file live under the demo folder."""
    return {**env, "PLEDGEBOX_INSTANCE_PATH": str(folder),
            "PLEDGEBOX_DATABASE_URL": f"sqlite:///{folder / 'pledgebox.sqlite3'}"}


def demo_base_url(host: str, port: int) -> str:
    """The address links point at: a wildcard bind is reached on loopback from this machine."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def prepare_demo(folder: Path, host: str, port: int, env: Mapping[str, str]) -> dict[str, str]:
    """Set the demo up once; on later runs keep it, following the server if its address moved."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = demo_env(folder, env)
    base_url = demo_base_url(host, port)
    info_path = folder / "demo.json"
    if info_path.exists():
        info = json.loads(info_path.read_text())
        if info["base_url"] != base_url:
            info = _move(info, base_url)
            _write_info(info_path, info)
        print(f"Demo already set up in {folder}.\nShare link: {info['share_link']}", file=sys.stderr)
        return env
    info = _create(folder, base_url, env)
    _write_info(info_path, info)
    print(f"Demo ready in {folder}.\nShare link: {info['share_link']}\n"
          f"Read the roster: PLEDGEBOX_PASSPHRASE=… pledgebox --keystore {info['keystore']} roster "
          f"{info['campaign_id']}  (the passphrase is in {info_path})\n"
          f"A setup code for another coalition on this demo: pledgebox-server setup-code --demo {folder}",
          file=sys.stderr)
    return env


def _create(folder: Path, base_url: str, env: Mapping[str, str]) -> dict[str, str]:
    app = create_app(load_config(env))
    with app.app_context(), database.connection_context():
        migrations.upgrade(database.obj)
        rt = app.extensions["pledgebox"]
        code = issue_setup_code(rt.clock.now(), 600)
        today = rt.clock.today()
    passphrase = b64u_encode(secrets.token_bytes(18))
    keystore = folder / "organizer-keystore.json"
    session = Session.create(keystore, passphrase)
    session.transport = in_process_transport(app, base_url)
    coalition.create(session, base_url, code, "Demo Schools Coalition")
    descriptor = campaigns.build_descriptor(session, campaigns.CampaignSpec(
        title="Walk out for our neighbors (demo)",
        description="A demo campaign: pledge to walk out, then read the roster with the "
        "pledgebox tool.",
        title_es="Salimos por nuestros vecinos (demo)",
        description_es="Una campaña de demostración: comprométete a salir y luego lee la "
        "lista con la herramienta pledgebox.",
        action_date=today + timedelta(days=14), closes=today + timedelta(days=13),
        delete_after=today + timedelta(days=21), time_zone="UTC", threshold=20,
        fields=[campaigns.parse_field(f) for f in DEMO_FIELDS]))
    campaign_id = campaigns.create(session, descriptor)
    return {"base_url": base_url, "campaign_id": campaign_id,
            "share_link": campaigns.share_link(session, campaign_id),
            "keystore": str(keystore), "passphrase": passphrase}


def _move(info: dict[str, str], base_url: str) -> dict[str, str]:
    """The demo now answers elsewhere: the keystore's server address and the share link follow."""
    session = Session.open(Path(info["keystore"]), info["passphrase"])
    session.data["server"] = base_url
    session.save()
    return {**info, "base_url": base_url, "share_link": campaigns.share_link(session, info["campaign_id"])}


def _write_info(path: Path, info: dict[str, str]) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)  # it holds the passphrase
    path.write_text(json.dumps(info, indent=2) + "\n")
