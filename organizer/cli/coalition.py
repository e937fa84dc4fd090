"""`pledgebox` commands for a coalition's people and keys: invite, join, organizer, key, contacts.

Registered by organizer/cli/pledgebox.py. What scripts read (docs/cli.md) goes to stdout alone
on its line: the invite, the newcomer's fingerprint, the new key version, the jsonl lists. All
explanations go to stderr.
"""

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from crypto.identity import safety_number, safety_words
from organizer import contacts, members, names, roster, rotation
from organizer.cli import opening
from organizer.errors import NoKeystore
from organizer.printable import printable
from organizer.session import Session


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def cmd_invite_create(args: argparse.Namespace) -> None:
    session = opening.synced(args)
    invite, expires_at = members.create_invite(session, args.role, args.days)
    print(invite.encode())
    day = datetime.fromtimestamp(expires_at, UTC).date().isoformat()
    _err(f"One-time invite for a new {args.role}, valid until {day} (UTC). Send it privately; "
         "when they have joined, compare safety words with them before `pledgebox organizer approve`.")


def cmd_join(args: argparse.Namespace) -> None:
    invite = members.Invite.decode(args.invite)
    created = False
    try:
        session = opening.open_session(args)
    except NoKeystore:
        # The newcomer was handed one line; `join` alone is enough (running `init` first works too).
        session = Session.create(args.keystore, opening.passphrase(confirm=True),
                                 context=(invite.coalition_name,))  # a guesser tries it first
        created = True
    try:
        members.join(session, invite)
    except BaseException:
        if created:  # it holds nothing but an identity no server knows: leave no stray file
            args.keystore.unlink(missing_ok=True)
        raise
    fp = session.identity.fingerprint
    print(fp)
    if created:
        _err(f"Keystore created at {args.keystore}. Keep a backup and never share the passphrase.")
    _err(f"You asked to join “{printable(invite.coalition_name)}” as {invite.role}.\n"
         f"safety number: {safety_number(fp)}\n"
         f"safety words: {safety_words(fp)}\n"
         "Read the safety number to the admin who invited you (in person or on a call); they "
         "approve you only if theirs matches. The digits are the same in every language; the "
         "words help if you both read English. Until then you can read nothing.")


def _write_organizers(listed: list[dict[str, Any]], known: dict[str, names.Name], fmt: str
                      ) -> None:
    if fmt == "jsonl":
        for o in listed:
            line = {k: o[k] for k in ("fingerprint", "role", "status", "safety_words",
                                      "safety_number")}
            found = known.get(o["fingerprint"])
            print(json.dumps({**line, "name": found.text if found else None}, ensure_ascii=False))
        return
    shown = {o["fingerprint"]: _name_cell(known.get(o["fingerprint"])) for o in listed}
    width = max([4, *(len(v) for v in shown.values())])
    print(f"{'fingerprint':<40}  {'role':<6}  {'status':<7}  {'safety number':<23}  "
          f"{'name':<{width}}  safety words")
    for o in listed:
        print(f"{o['fingerprint']:<40}  {o['role']:<6}  {o['status']:<7}  "
              f"{o['safety_number']:<23}  {shown[o['fingerprint']]:<{width}}  {o['safety_words']}")


def _name_cell(found: names.Name | None) -> str:
    if found is None:
        return "-"
    return printable(found.text) + ("" if found.mine else " (their card)")


def cmd_organizer_list(args: argparse.Namespace) -> None:
    session = opening.synced(args)
    listed = members.organizers(session)
    _write_organizers(listed, names.names_for(session, listed), args.format)


def cmd_organizer_name(args: argparse.Namespace) -> None:
    session = opening.synced(args)
    given = names.set_name(session, args.fingerprint, args.name)
    _err(f"Saved on this laptop only: {printable(given)}." if given else
         "The name is cleared on this laptop.")


def cmd_organizer_approve(args: argparse.Namespace) -> None:
    session = opening.synced(args)
    pending = members.preview_approval(session, args.fingerprint)
    role = members.role_to_sign(pending, args.role)  # shown before anything is signed
    source = "the role of your invite" if pending.vouched else \
        "the role you gave: your keystore did not make their invite"
    _err(f"Approving {pending.target['fingerprint']} as {role} ({source}).")
    members.approve(session, args.fingerprint, args.role)
    fp = pending.target["fingerprint"]  # checked against their keys, unlike the server's echo
    _err(f"Approved {fp} as {role} "
         f"(safety number: {safety_number(fp)}); the coalition's keys are "
         "now wrapped to them.")


def _rotate_and_maybe_reencrypt(session: Session, args: argparse.Namespace) -> int:
    progress = roster.Progress(rotation.stored_total(session)) if args.reencrypt else None
    try:
        version, tally = rotation.rotate_then_reencrypt(session, args.reencrypt, args.batch,
                                                        progress.step if progress else None)
    finally:
        if progress:
            progress.close()
    if tally:
        rotation.report(tally)
    return version


def cmd_organizer_remove(args: argparse.Namespace) -> None:
    session = opening.synced(args)
    removed = members.remove(session, args.fingerprint)
    _err(f"Removed {removed['fingerprint']}: the server refuses their requests from now on.")
    version = _rotate_and_maybe_reencrypt(session, args)
    _err(f"Encryption key rotated to version {version}: they cannot read anything sent from now on."
         + ("" if args.reencrypt else " Run `pledgebox key reencrypt` so the keys they held "
            "open nothing stored either."))


def _reencrypt(session: Session, batch: int) -> None:
    progress = roster.Progress(rotation.stored_total(session))
    try:
        tally = rotation.reencrypt(session, batch, progress.step)
    finally:
        progress.close()
    rotation.report(tally)


def cmd_key_rotate(args: argparse.Namespace) -> None:
    session = opening.synced(args)
    version = _rotate_and_maybe_reencrypt(session, args)
    print(version)
    if not args.reencrypt:
        _err(f"Encryption key rotated to version {version}. What is stored stays sealed to older "
             "keys until you run `pledgebox key reencrypt`.")


def cmd_key_reencrypt(args: argparse.Namespace) -> None:
    _reencrypt(opening.synced(args), args.batch)


def cmd_contacts_set(args: argparse.Namespace) -> None:
    session = opening.open_session(args)
    card = contacts.set_card(session, {f: getattr(args, f) for f in contacts.FIELDS})
    _err(f"Your card is saved, sealed to the coalition's key ({', '.join(card)}).")


def cmd_contacts_list(args: argparse.Namespace) -> None:
    session = opening.synced(args)
    listing = contacts.list_cards(session)
    if args.format == "jsonl":
        for card in listing.cards:
            print(json.dumps({k: card.get(k) for k in ("fingerprint", *contacts.FIELDS)},
                             ensure_ascii=False))
    else:
        widths = {"name": 22, "school": 22, "role": 18, "signal": 16, "phone": 16, "email": 28}
        print("  ".join(f"{h:<{w}}" for h, w in widths.items()).rstrip() + "  fingerprint")
        for card in listing.cards:
            cells = [_cut(printable(card.get(h, "")), w) for h, w in widths.items()]
            print("  ".join(cells) + f"  {card['fingerprint'][:8]}")
    _err(f"{len(listing.cards)} card{'s' if len(listing.cards) != 1 else ''}")
    if listing.unreadable:
        _err(f"warning: {listing.unreadable} cards could not be opened or were not signed by their "
             "organizer, and were left out")


def _cut(text: str, width: int) -> str:
    return (text[: width - 1] + "…") if len(text) > width else text.ljust(width)


def cmd_contacts_delete(args: argparse.Namespace) -> None:
    contacts.delete_card(opening.open_session(args))
    _err("Your card is deleted from the directory.")


def batch_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= rotation.MAX_BATCH:
        raise argparse.ArgumentTypeError(f"the batch size is 1 to {rotation.MAX_BATCH}")
    return value


def register(sub: Any) -> None:
    """Add this module's commands to the `pledgebox` parser's subcommands."""

    def add(parent: Any, name: str, func: Callable[[argparse.Namespace], None],
            help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def group(name: str, help_text: str) -> Any:
        return sub.add_parser(name, help=help_text, description=help_text).add_subparsers(
            dest="sub", required=True, metavar="SUBCOMMAND")

    def batch_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--batch", type=batch_size, default=rotation.BATCH,
                       help="pledges per request while re-encrypting (default: %(default)s)")

    inv = group("invite", "Invite a new organizer to your coalition.")
    p = add(inv, "create", cmd_invite_create, "Print a one-time invite for a new organizer.")
    p.add_argument("--role", choices=members.ROLES, default="member",
                   help="admins invite, approve, remove, rotate and create campaigns")
    p.add_argument("--days", type=int, choices=range(1, 31), default=7, metavar="1-30",
                   help="how long the invite stays valid (default: %(default)s days)")

    p = add(sub, "join", cmd_join, "Register this identity with a coalition using an invite.")
    p.add_argument("invite", help="the pledgebox-invite:… line an admin sent you")

    org = group("organizer", "List, approve or remove your coalition's organizers.")
    p = add(org, "list", cmd_organizer_list,
            "List organizers with roles, status, safety numbers and names.")
    p.add_argument("--format", choices=["table", "jsonl"], default="table",
                   help="table (to read on screen, the default) or jsonl (for scripts)")
    p = add(org, "approve", cmd_organizer_approve,
            "Approve a newcomer after comparing safety words, and share the keys with them.")
    p.add_argument("fingerprint", help="the newcomer's full fingerprint")
    p.add_argument("--role", choices=members.ROLES,
                   help="needed only when another admin made their invite: the role that admin "
                        "gave them (it must match what the server lists)")
    p = add(org, "name", cmd_organizer_name,
            "Give an organizer a name kept in your keystore only (never sent to the server).")
    p.add_argument("fingerprint", help="their full 40-character fingerprint")
    p.add_argument("name", help="the name to show for them; \"\" clears it")
    p = add(org, "remove", cmd_organizer_remove,
            "Revoke an organizer's access now and rotate the key.")
    p.add_argument("fingerprint", help="their full 40-character fingerprint "
                                       "(see `pledgebox organizer list`)")
    p.add_argument("--reencrypt", action="store_true",
                   help="also re-encrypt everything stored, so their old keys open nothing")
    batch_option(p)

    key = group("key", "Rotate the coalition's encryption key.")
    p = add(key, "rotate", cmd_key_rotate, "Create a new encryption key version and print it.")
    p.add_argument("--reencrypt", action="store_true",
                   help="also re-encrypt every stored pledge and directory card to the new key")
    batch_option(p)
    p = add(key, "reencrypt", cmd_key_reencrypt,
            "Re-encrypt whatever is still on an older key (finishes an interrupted run).")
    batch_option(p)

    con = group("contacts", "The coalition's encrypted organizer directory.")
    p = add(con, "set", cmd_contacts_set,
            "Save your card (fields not given keep their value; an empty value clears one).")
    p.add_argument("--name", help="how other organizers know you")
    p.add_argument("--school", help="your school")
    p.add_argument("--role", help="what you do in the coalition, e.g. 'outreach'")
    p.add_argument("--signal", help="your Signal username or number")
    p.add_argument("--phone", help="a phone number")
    p.add_argument("--email", help="an email address")
    p = add(con, "list", cmd_contacts_list, "Show every organizer's card.")
    p.add_argument("--format", choices=["table", "jsonl"], default="table",
                   help="table (to read on screen, the default) or jsonl (for scripts)")
    add(con, "delete", cmd_contacts_delete, "Delete your card from the directory.")
