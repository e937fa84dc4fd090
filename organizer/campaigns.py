"""Campaigns from the organizer's side: write and sign the descriptor, share it, wipe it."""

import functools
import json
import os
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import segno
import tzlocal

from crypto import BadSignature
from crypto.encoding import b64u_decode, b64u_encode
from crypto.ids import is_id, new_id
from crypto.statements import campaign_message, verify_statement
from organizer.errors import BadInput, KeyMismatch, NeedsAdmin, UserError
from organizer.session import Session

FIELD_TYPES = ("text", "choice", "checkbox", "contact")
MAX_TITLE = 200  # the server's limits (server/store/descriptors.py), said here in plain words
MAX_DESCRIPTION = 4000
MIN_THRESHOLD = 5  # protocol 1.1, amendment 2: "reached" at 3 would publish 3 or 4 pledges
MAX_THRESHOLD = 100_000
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


@dataclass(frozen=True)
class CampaignSpec:
    """What an organizer decides about a campaign; the CLI and the app's wizard both fill one in."""

    title: str
    description: str
    action_date: date
    closes: date
    delete_after: date
    fields: list[dict[str, Any]]  # protocol field dicts (ids, labels {"en","es"}, options)
    title_es: str | None = None
    description_es: str | None = None
    time_zone: str | None = None  # IANA; None = this laptop's zone
    threshold: int | None = None
    threshold_field: str = "school"
    per_option: dict[str, int] | None = None


def plain_text(text: str) -> str:
    """Text with Unix line ends, trimmed: browsers send a textarea's line breaks as CRLF, and the
    protocol's plain text has no carriage return, so a multi-line text is normalised before it is
    signed (what the organizer previewed and what students read are then the same)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _i18n(spec: CampaignSpec) -> dict[str, dict[str, str]]:
    es = {k: plain_text(v) for k, v in (("title", spec.title_es), ("description", spec.description_es))
          if v and v.strip()}
    return {"es": es} if es else {}


def build_descriptor(session: Session, spec: CampaignSpec) -> bytes:
    """The exact descriptor bytes (protocol 1.1) to sign: checked here so mistakes read plainly."""
    _check_text(spec)
    if not 1 <= len(session.coalition_name) <= MAX_TITLE:
        raise BadInput("Your keystore holds no coalition name (1 to 200 characters) to sign into "
                       "the campaign; ask another admin to create it.")
    if not spec.closes <= spec.delete_after:
        raise BadInput("The campaign must close on or before its delete-after date.")
    zone = check_zone(local_zone() if spec.time_zone is None else spec.time_zone)
    fields = spec.fields
    i18n = _i18n(spec)
    labels_es = all("es" in f["label"] for f in fields)
    languages = ["en", "es"] if labels_es or i18n else ["en"]
    descriptor: dict[str, Any] = {
        "protocol": "1.1", "campaign_id": new_id(), "coalition_id": session.coalition_id,
        "coalition_name": session.coalition_name, "title": " ".join(spec.title.split()),
        "description": plain_text(spec.description), "action_date": spec.action_date.isoformat(),
        "closes_at": spec.closes.isoformat(), "delete_after": spec.delete_after.isoformat(),
        "languages": languages, "fields": fields, "i18n": i18n, "time_zone": zone,
    }
    threshold = _threshold(spec)
    if threshold is not None:
        descriptor["threshold"] = threshold
    return json.dumps(descriptor, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def _check_text(spec: CampaignSpec) -> None:
    if not spec.title.strip() or len(spec.title) > MAX_TITLE:
        raise BadInput(f"The title must have 1 to {MAX_TITLE} characters.")
    if spec.title_es is not None and len(spec.title_es) > MAX_TITLE:
        raise BadInput(f"The Spanish title may have at most {MAX_TITLE} characters.")
    for text in (spec.description, spec.description_es or ""):
        if len(text) > MAX_DESCRIPTION:
            raise BadInput(f"A description may have at most {MAX_DESCRIPTION} characters.")


def local_zone() -> str:
    """This laptop's IANA zone name (UTC when the system does not say). A TZ variable naming a
    zone wins, read each time (tzlocal remembers the system's zone once found)."""
    name: str | None = os.environ.get("TZ", "").lstrip(":")
    if name in known_zones():
        return str(name)
    try:
        name = tzlocal.get_localzone_name()
    except (LookupError, OSError, ValueError):  # tzlocal's errors for an unconfigured system
        name = None
    return name if name and name in known_zones() else "UTC"


@functools.cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_zone(name: str) -> str:
    name = name.strip()
    if name not in known_zones():
        raise BadInput(f"{name!r} is not a time zone name like America/Los_Angeles or "
                       "America/New_York (see the list at "
                       "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones).")
    return name


def _threshold(spec: CampaignSpec) -> dict[str, Any] | None:
    if spec.threshold is None and not spec.per_option:
        return None
    field = next((f for f in spec.fields if f["id"] == spec.threshold_field), None)
    if field is None or field["type"] != "choice" or not field.get("required"):
        raise BadInput(f"The threshold counts a required choice field, and {spec.threshold_field!r} "
                       "is not one: mark it with ! and give options (school!:choice:School:A,B), "
                       "or name another with --threshold-field.")
    if spec.threshold is None:
        raise BadInput("Give a threshold number too: it applies to every option not given its own.")
    threshold: dict[str, Any] = {"field": field["id"], "count": _count(spec.threshold)}
    if spec.per_option:
        options = {o["id"] for o in field["options"]}
        unknown = sorted(set(spec.per_option) - options)
        if unknown:
            raise BadInput(f"The field {field['id']!r} has no option {unknown[0]!r}.")
        threshold["per_option"] = {k: _count(v) for k, v in spec.per_option.items()}
    return threshold


def _count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_THRESHOLD <= n <= MAX_THRESHOLD:
        raise BadInput("A threshold is a number of pledges from 5 to 100000: a smaller one would "
                       "show that a school has 1 to 4 pledges.")
    return n


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


def passphrase_context(session: Session) -> tuple[str, ...]:
    """What someone who seized this laptop would try first in a passphrase: the coalition's name,
    its campaigns' titles and their options (the schools), in every language. Only the coalition's
    name when the server cannot be reached."""
    names = [session.coalition_name]
    try:
        listed = list_campaigns(session)
    except UserError:
        listed = []
    for item in listed:
        d = item["descriptor"]
        names.append(str(d.get("title", "")))
        names.extend(str(t.get("title", "")) for t in d.get("i18n", {}).values())
        for f in d.get("fields", []):
            names.extend(str(text) for option in f.get("options", [])
                         for text in option.get("label", {}).values())
    return tuple(n for n in names if n)


def find(session: Session, campaign_id: str) -> dict[str, Any]:
    for item in list_campaigns(session):
        if item["campaign_id"] == campaign_id:
            return item
    raise BadInput(f"Your coalition has no live campaign {campaign_id!r}; see `pledgebox campaign list`.")


def wipe(session: Session, campaign_id: str) -> None:
    if session.signing_key() is None:
        raise NeedsAdmin()
    session.client().request("DELETE", f"/api/v1/org/campaigns/{campaign_id}")
