"""Plain factories: coalitions, campaigns and pledges made through the real organizer code."""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import seal_pledge
from organizer import campaigns, coalition, members
from organizer.client import Transport, urllib_transport
from organizer.session import Session
from server.db import database
from server.store.coalitions import issue_setup_code
from tests.support.http import call

PASSPHRASE = "quartz lantern ripple gazebo mantis"


@dataclass
class OrganizerHandle:
    session: Session
    keystore: Path
    passphrase: str = PASSPHRASE


@dataclass
class PledgeReceipt:
    pledge_id: str
    token: bytes
    answers: dict[str, Any] = field(default_factory=dict)


def setup_code() -> str:
    """Issue a setup code straight into the (bound) test database, as the operator's CLI does."""
    import time

    with database.connection_context():
        return issue_setup_code(time.time(), 3600)


def new_organizer(tmp: Path, transport: Transport = urllib_transport,
                  name: str = "organizer") -> OrganizerHandle:
    path = tmp / f"{name}-{secrets.token_hex(4)}.json"
    session = Session.create(path, PASSPHRASE)
    session.transport = transport
    return OrganizerHandle(session, path)


def make_coalition(tmp: Path, base_url: str, transport: Transport = urllib_transport,
                   name: str = "Covina Schools Coalition") -> OrganizerHandle:
    admin = new_organizer(tmp, transport, "admin")
    coalition.create(admin.session, base_url, setup_code(), name)
    return admin


DEFAULT_FIELDS = [
    "school!:choice:Your school|Tu escuela:Covina High,Northview High",
    "message:text:Message|Mensaje",
    "help:checkbox:I want to help|Quiero ayudar",
]


def joined(tmp: Path, admin: OrganizerHandle, role: str, name: str) -> OrganizerHandle:
    """A newcomer who joined with an invite `admin` made for `role`, still waiting for approval."""
    invite, _ = members.create_invite(admin.session, role, 7)
    newcomer = new_organizer(tmp, name=name)
    members.join(newcomer.session, invite)
    return newcomer


def fp(handle: OrganizerHandle) -> str:
    return handle.session.identity.fingerprint


def make_campaign(org: OrganizerHandle, today: date | None = None, action_in: int = 14,
                  closes_in: int = 13, delete_in: int = 20,
                  fields: list[str] | None = None, title: str = "Walkout", time_zone: str = "UTC",
                  **extra: Any) -> str:
    """A signed 1.1 campaign; `extra` goes to CampaignSpec (title_es, threshold, per_option…)."""
    today = today or datetime.now(UTC).date()
    descriptor = campaigns.build_descriptor(org.session, campaigns.CampaignSpec(
        title=title, description="Walk out together.", action_date=today + timedelta(days=action_in),
        closes=today + timedelta(days=closes_in), delete_after=today + timedelta(days=delete_in),
        fields=[campaigns.parse_field(f) for f in (fields or DEFAULT_FIELDS)], time_zone=time_zone,
        **extra))
    return campaigns.create(org.session, descriptor)


def pledge(base_url: str, campaign_id: str, answers: dict[str, Any] | None = None
           ) -> PledgeReceipt:
    """Pledge as a browser would: fetch the campaign, seal to its key, post."""
    answers = answers if answers is not None else {"school": "covina-high", "message": "hi"}
    info = call(base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()
    key = info["encryption_key"]
    token = secrets.token_bytes(32)
    body = {"key_version": key["version"],
            "ciphertext": b64u_encode(seal_pledge(b64u_decode(key["public_key"]), campaign_id,
                                                  answers)),
            "withdraw_token_hash": b64u_encode(hashlib.blake2b(token, digest_size=32).digest())}
    reply = call(base_url, "POST", f"/api/v1/campaigns/{campaign_id}/pledges", body)
    assert reply.status == 201, reply.body
    return PledgeReceipt(reply.json()["pledge_id"], token, answers)
