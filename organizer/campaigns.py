"""Campaigns from the organizer's side: write and sign the descriptor, share it, wipe it."""

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import segno

from crypto import BadSignature
from crypto.encoding import b64u_decode, b64u_encode
from crypto.ids import is_id, new_id
from crypto.statements import campaign_message, verify_statement
from organizer.errors import BadInput, KeyMismatch, NeedsAdmin
from organizer.session import Session

FIELD_TYPES = ("text", "choice", "checkbox", "contact")
DEFAULT_FIELDS = [
    "school!:text:Your school|Tu escuela",
    "help:checkbox:I want to help organize|Quiero ayudar a organizar",
]


def _label(text: str) -> dict[str, str]:
    en, _, es = text.partition("|")
    label = {"en": en.strip()}
    if es.strip():
        label["es"] = es.strip()
    if not label["en"]:
        raise BadInput("Every label needs English text (write 'English|Español' for both).")
    return label


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "option"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def parse_field(spec: str) -> dict[str, Any]:
    """`ID[!]:TYPE:LABEL[:OPTION,OPTION…]`, labels as `English|Español`; `!` makes it required."""
    parts = spec.split(":", 3)
    if len(parts) < 3:
        raise BadInput(f"The field {spec!r} should look like id:type:Label (e.g. school!:choice:School:A,B).")
    fid, kind, label = parts[0], parts[1], parts[2]
    required = fid.endswith("!")
    fid = fid.rstrip("!")
    if not is_id(fid) or kind not in FIELD_TYPES:
        raise BadInput(f"In {spec!r}: the id may use letters, digits, - and _, and the type is "
                       f"one of {', '.join(FIELD_TYPES)}.")
    field: dict[str, Any] = {"id": fid, "type": kind, "label": _label(label), "required": required}
    if kind == "choice":
        if len(parts) < 4 or not parts[3].strip():
            raise BadInput(f"The choice field {fid!r} needs options after a colon: school:choice:School:A,B.")
        taken: set[str] = set()
        field["options"] = [{"id": _slug(_label(o)["en"], taken), "label": _label(o)}
                            for o in parts[3].split(",") if o.strip()]
    elif kind in ("text", "contact"):
        field["max_length"] = 200
    return field


def build_descriptor(session: Session, title: str, description: str, action_date: date,
                     closes: date, delete_after: date, fields: list[dict[str, Any]]) -> bytes:
    if not closes <= delete_after:
        raise BadInput("The campaign must close on or before its delete-after date.")
    languages = ["en", "es"] if all("es" in f["label"] for f in fields) else ["en"]
    descriptor = {
        "campaign_id": new_id(), "coalition_id": session.coalition_id, "title": title,
        "description": description, "action_date": action_date.isoformat(),
        "closes_at": closes.isoformat(), "delete_after": delete_after.isoformat(),
        "languages": languages, "fields": fields,
    }
    return json.dumps(descriptor, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def create(session: Session, descriptor: bytes) -> str:
    signing = session.signing_key()
    if signing is None:
        raise NeedsAdmin("Only admins can create campaigns; ask one of your coalition's admins.")
    signature = signing.sign(campaign_message(descriptor))
    result = session.client().post("/api/v1/org/campaigns", {
        "descriptor": b64u_encode(descriptor), "signature": b64u_encode(signature)})
    return str(result["campaign_id"])


def share_link(session: Session, campaign_id: str) -> str:
    return f"{session.data['server']}/p/{campaign_id}#k={session.coalition['signing_key']}"


def write_qr(link: str, target: Path) -> list[Path]:
    """A PNG for posts and an SVG for print, side by side."""
    qr = segno.make(link, error="m")
    png, svg = target.with_suffix(".png"), target.with_suffix(".svg")
    qr.save(str(png), scale=10, border=4)
    qr.save(str(svg), scale=10, border=4)
    return [png, svg]


def verified_descriptor(session: Session, item: dict[str, Any]) -> dict[str, Any]:
    """Check a descriptor the server returns against our pinned coalition key before using it."""
    raw = b64u_decode(item["descriptor"])
    try:
        verify_statement(session.signing_public, campaign_message(raw),
                         b64u_decode(item["descriptor_signature"]))
    except BadSignature:
        raise KeyMismatch("A campaign from the server is not signed by your coalition: "
                          "do not trust this server.") from None
    descriptor: dict[str, Any] = json.loads(raw)
    if (descriptor.get("coalition_id") != session.coalition_id
            or descriptor.get("campaign_id") != item["campaign_id"]):
        raise KeyMismatch("The server mixed up campaigns: do not trust this server.")
    return descriptor


def list_campaigns(session: Session) -> list[dict[str, Any]]:
    items = session.client().get("/api/v1/org/campaigns")["campaigns"]
    return [{**item, "descriptor": verified_descriptor(session, item)} for item in items]


def find(session: Session, campaign_id: str) -> dict[str, Any]:
    for item in list_campaigns(session):
        if item["campaign_id"] == campaign_id:
            return item
    raise BadInput(f"Your coalition has no live campaign {campaign_id!r}; see `pledgebox campaign list`.")


def wipe(session: Session, campaign_id: str) -> None:
    if session.signing_key() is None:
        raise NeedsAdmin()
    session.client().request("DELETE", f"/api/v1/org/campaigns/{campaign_id}")
