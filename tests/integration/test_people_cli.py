"""The organizer's tool for people: summary bars, the HTML report, spreadsheet CSV, announcements
and help texts, run as `pledgebox …` against a real server on loopback."""

import argparse
import base64
import csv
import hashlib
import io
import json
import re
import stat
from html.parser import HTMLParser
from pathlib import Path

import pytest

from crypto.encoding import b64u_decode
from crypto.signing import SigningKey
from crypto.statements import announcement_message, verify_statement
from organizer.cli import build_parser, main
from server.db import database
from server.models import Announcement
from tests.support.factories import PASSPHRASE, make_campaign, make_coalition, pledge
from tests.support.http import call

HOSTILE = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "</style><style>body{background:url(https://evil.example/x)}</style>",
    "</td></tr></table><iframe src=//evil.example>",
    "=HYPERLINK(\"https://evil.example\",\"click\")",
    "\x1b]0;owned\x07\x1b[2J",
]
SCHOOL_FIELDS = [
    "school!:choice:Your school|Tu escuela:Covina High,Northview High",
    "message:text:Message|Mensaje",
    "help:checkbox:I want to help|Quiero ayudar",
]


@pytest.fixture
def org(tmp_path, live_server, monkeypatch):
    monkeypatch.setenv("PLEDGEBOX_PASSPHRASE", PASSPHRASE)
    return make_coalition(tmp_path, live_server.base_url)


def run(org, *argv: str) -> int:
    return main(["--keystore", str(org.keystore), *argv])


def pledges_for(base_url: str, campaign_id: str, answers: list[dict]) -> None:
    for a in answers:
        pledge(base_url, campaign_id, a)


def test_summary_counts_per_school_and_answer_with_bars(org, live_server, capsys):
    cid = make_campaign(org, fields=SCHOOL_FIELDS)
    pledges_for(live_server.base_url, cid, [
        {"school": "covina-high", "help": True}, {"school": "covina-high", "help": False},
        {"school": "covina-high"}, {"school": "northview-high", "help": True}])
    capsys.readouterr()
    assert run(org, "roster", cid, "--summary") == 0
    out = capsys.readouterr().out
    assert out.startswith("4 pledges\n")
    assert "\nPer school\n" in out
    covina = next(line for line in out.splitlines() if "Covina High" in line)
    northview = next(line for line in out.splitlines() if "Northview High" in line)
    assert re.search(r"█+░*\s+3\s+75%$", covina), covina
    assert re.search(r"\s1\s+25%$", northview), northview
    assert (covina.count("█"), northview.count("█")) == (round(30 * 3 / 4), round(30 / 4))
    assert covina.count("█") + covina.count("░") == 30
    assert out.index("Covina High") < out.index("Northview High")  # most first
    helpers = out[out.index("I want to help"):]
    assert re.search(r"no\s+█+░*\s+2\s+50%", helpers)
    assert re.search(r"yes\s+█+░*\s+2", helpers)


def test_summary_groups_free_text_schools_and_neutralises_terminal_escapes(org, live_server,
                                                                           capsys):
    cid = make_campaign(org, fields=["school!:text:Your school|Tu escuela"])
    pledges_for(live_server.base_url, cid, [
        {"school": "Covina High"}, {"school": "  covina   HIGH "}, {"school": "Northview"},
        {"school": "\x1b]0;owned\x07\x1b[2JEvil"}])
    capsys.readouterr()
    assert run(org, "roster", cid, "--summary") == 0
    out = capsys.readouterr().out
    assert "\nPer school\n" in out
    assert re.search(r"Covina High\s+█+░*\s+2\s+50%", out), out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\N{REPLACEMENT CHARACTER}]0;owned" in out
    capsys.readouterr()
    assert run(org, "roster", cid) == 0  # the plain table too
    assert "\x1b" not in capsys.readouterr().out


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def test_html_report_is_self_contained_escaped_and_private(org, live_server, tmp_path, capsys):
    cid = make_campaign(org, fields=SCHOOL_FIELDS, title="Walkout <b>&</b> \"march\"")
    answers = [{"school": "covina-high", "message": text, "help": True} for text in HOSTILE]
    answers.append({"school": "northview-high", "message": "Sí, ¡allí estaré! ñandú 🚶"})
    pledges_for(live_server.base_url, cid, answers)
    target = tmp_path / "report.html"
    assert run(org, "roster", cid, "--html", str(target)) == 0
    assert "open it in your web browser" in capsys.readouterr().err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    html = target.read_text(encoding="utf-8")

    parser = Tags()
    parser.feed(html)
    names = {tag for tag, _ in parser.tags}
    assert names <= {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3",
                     "p", "a", "strong", "main", "table", "caption", "thead", "tbody", "tr", "th",
                     "td", "section", "svg", "g", "text", "rect"}, names
    for tag, attrs in parser.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert "src" not in attrs
        if "href" in attrs:
            assert attrs["href"].startswith("#"), attrs
    assert "https://" not in html.replace("https://evil.example", "")  # only the escaped answers
    for text in HOSTILE[:4]:
        assert text not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Sí, ¡allí estaré! ñandú 🚶" in html
    assert "Walkout &lt;b&gt;&amp;&lt;/b&gt; &quot;march&quot;" in html

    # The CSP allows exactly the report's own stylesheet, and nothing can load or run.
    csp = next(a["content"] for t, a in parser.tags if a.get("http-equiv") == "Content-Security-Policy")
    digest = base64.b64encode(hashlib.sha256(parser.style.encode()).digest()).decode()
    assert csp.startswith("default-src 'none';")
    assert f"'sha256-{digest}'" in csp
    # One bar per school, scaled to the counts (6 Covina, 1 Northview).
    bars = [a for t, a in parser.tags if t == "rect"]
    widths = [int(a["width"]) for a in bars]
    assert widths[0] == 6 * widths[1] or abs(widths[0] - 6 * widths[1]) <= 6
    assert ">Per school<" in html
    assert html.index('id="counts"') > html.index('id="pledges"')  # streamed, shown first by CSS


def test_csv_for_spreadsheets_with_bom(org, live_server, tmp_path, capsys):
    cid = make_campaign(org, fields=SCHOOL_FIELDS)
    pledges_for(live_server.base_url, cid, [
        {"school": "covina-high", "message": "José Ñúñez, ¿sí?"},
        {"school": "northview-high", "message": HOSTILE[4]}])
    with_bom, without = tmp_path / "bom.csv", tmp_path / "plain.csv"
    assert run(org, "roster", cid, "--format", "csv", "--bom", "-o", str(with_bom)) == 0
    assert run(org, "roster", cid, "--format", "csv", "-o", str(without)) == 0
    raw = with_bom.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert not without.read_bytes().startswith(b"\xef\xbb\xbf")
    assert raw[3:] == without.read_bytes()
    assert stat.S_IMODE(with_bom.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    # Questions and answers as the table and report show them: labels, not ids.
    assert list(rows[0]) == ["pledge_id", "received_day", "key_version", "Your school", "Message",
                             "I want to help"]
    assert {r["Your school"] for r in rows} == {"Covina High", "Northview High"}
    assert {r["I want to help"] for r in rows} == {"no"}
    messages = {r["Message"] for r in rows}
    assert "José Ñúñez, ¿sí?" in messages
    assert "'" + HOSTILE[4] in messages  # a formula arrives as text

    ids = tmp_path / "ids.csv"
    assert run(org, "roster", cid, "--format", "csv", "--ids", "-o", str(ids)) == 0
    by_ids = list(csv.DictReader(io.StringIO(ids.read_text("utf-8"))))
    assert list(by_ids[0]) == ["pledge_id", "received_day", "key_version", "school", "message", "help"]
    assert {r["school"] for r in by_ids} == {"covina-high", "northview-high"}
    capsys.readouterr()
    assert run(org, "roster", cid, "--ids") == 1
    assert "--ids only changes CSV" in capsys.readouterr().err

    capsys.readouterr()
    assert run(org, "roster", cid, "--bom") == 1
    assert "add --format csv" in capsys.readouterr().err
    assert run(org, "roster", cid, "--html", str(tmp_path / "r.html"), "--summary") == 1
    assert "leave out --format, -o and --summary" in capsys.readouterr().err


def test_announce_round_trip_signed_by_the_coalition(org, live_server, capsys):
    cid = make_campaign(org)
    capsys.readouterr()
    assert run(org, "announce", cid, "Meet at the flagpole at 10am",
               "--es", "Nos vemos en el asta a las 10") == 0
    out, err = capsys.readouterr()
    announcement_id = out.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", announcement_id)
    assert "Posted" in err

    reply = call(live_server.base_url, "GET", f"/api/v1/campaigns/{cid}/announcements")
    assert reply.status == 200
    assert reply.headers["cache-control"] == "no-store"
    [item] = reply.json()["announcements"]
    body = b64u_decode(item["body"])
    signing_key = b64u_decode(org.session.coalition["signing_key"])
    verify_statement(signing_key, announcement_message(body), b64u_decode(item["signature"]))
    parsed = json.loads(body)
    assert parsed["campaign_id"] == cid
    assert parsed["id"] == announcement_id
    assert parsed["message"] == {"en": "Meet at the flagpole at 10am",
                                 "es": "Nos vemos en el asta a las 10"}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", parsed["day"])


def test_announcements_not_signed_by_the_coalition_are_refused(org, live_server):
    cid = make_campaign(org)
    client = org.session.client()
    body = json.dumps({"campaign_id": cid, "id": "forged-1", "day": "2026-01-01",
                       "message": {"en": "Walkout cancelled"}}).encode()
    forged = SigningKey.generate().sign(announcement_message(body))
    from organizer.errors import ServerRefused

    def post(b: bytes, sig: bytes) -> None:
        client.post(f"/api/v1/org/campaigns/{cid}/announcements",
                    {"body": base64.urlsafe_b64encode(b).rstrip(b"=").decode(),
                     "signature": base64.urlsafe_b64encode(sig).rstrip(b"=").decode()})

    with pytest.raises(ServerRefused, match="not signed by this coalition"):
        post(body, forged)
    other = body.replace(cid.encode(), b"another-campaign")
    with pytest.raises(ServerRefused, match="another campaign"):
        post(other, org.session.signing_key().sign(announcement_message(other)))
    with database.connection_context():
        assert Announcement.select().count() == 0


def test_announce_errors_say_what_to_do_next(org, live_server, capsys):
    assert run(org, "announce", "no-such-campaign", "Hello") == 1
    assert "see `pledgebox campaign list`" in capsys.readouterr().err
    cid = make_campaign(org)
    assert run(org, "announce", cid, "   ") == 1
    assert "write the message in quotes" in capsys.readouterr().err


def test_announcements_are_listed_and_taken_back_for_good(org, live_server, instance, capsys):
    """A wrong time or place can put students at risk: admins list and delete, and the
    deleted text is gone from every file under the instance folder (SQLite)."""
    cid = make_campaign(org)
    wrong = "Meet at the zqxj-parking-lot at 9"
    assert run(org, "announce", cid, wrong, "--es", "Nos vemos en zqxj a las 9") == 0
    wrong_id = capsys.readouterr().out.strip()
    assert run(org, "announce", cid, "Meet at the flagpole at 10") == 0
    right_id = capsys.readouterr().out.strip()
    with database.connection_context():  # one the coalition did not sign: listed as a warning
        Announcement.create(id="planted", campaign=cid, body=b'{"x":1}', signature=bytes(64))

    assert run(org, "announce", cid, "--list") == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert {line.split()[0] for line in lines if not line.startswith(" ")} == {wrong_id, right_id}
    assert wrong in out
    assert "Nos vemos en zqxj a las 9" in out
    assert "planted" not in out
    assert "2 announcements" in err
    assert "1 announcements are not signed by your coalition" in err

    assert run(org, "announce", cid, "--delete", wrong_id) == 0
    assert "Deleted" in capsys.readouterr().err
    shown = call(live_server.base_url, "GET", f"/api/v1/campaigns/{cid}/announcements").json()
    assert len(shown["announcements"]) == 2
    assert b"zqxj" not in json.dumps(shown).encode()
    assert run(org, "announce", cid, "--list") == 0
    assert wrong not in capsys.readouterr().out
    for path in instance.rglob("*"):
        if path.is_file():
            assert b"zqxj" not in path.read_bytes(), path

    assert run(org, "announce", cid, "--delete", wrong_id) == 1
    assert "no announcement with that id" in capsys.readouterr().err
    assert run(org, "announce", cid, "--delete", "../campaigns") == 1
    assert "not an announcement id" in capsys.readouterr().err
    for mistake in ([cid], [cid, "Hi", "--list"], [cid, "--list", "--delete", right_id],
                    [cid, "--list", "--es", "Hola"]):
        assert run(org, "announce", *mistake) == 1
        assert "or --list, or --delete" in capsys.readouterr().err


def test_every_command_and_option_has_help_text():
    def walk(parser: argparse.ArgumentParser, path: list[str]):
        yield path, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                for name, sub in action.choices.items():
                    assert helps.get(name), f"`pledgebox {' '.join(path + [name])}` has no help"
                    yield from walk(sub, [*path, name])

    commands = list(walk(build_parser(), []))
    assert {"announce", "roster", "init"} <= {" ".join(p) for p, _ in commands}
    for path, parser in commands:
        assert len(parser.description or "") > 20, path
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            assert action.help, f"pledgebox {' '.join(path)} {action.option_strings or action.dest}"


def test_usage_mistakes_point_to_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["roster"])
    assert exc.value.code == 2
    assert "run: pledgebox roster --help" in capsys.readouterr().err


def test_share_link_fits_an_instagram_bio_and_qr_files_are_written(org, live_server, tmp_path,
                                                                   capsys):
    capsys.readouterr()
    assert run(org, "campaign", "create", "--title", "Walkout", "--action-date", "2030-01-10",
               "--closes", "2030-01-09", "--delete-after", "2030-01-20",
               "--qr", str(tmp_path / "walkout")) == 0
    out, err = capsys.readouterr()
    link = out.strip()
    assert len(link) <= 150
    assert "Instagram" not in err
    # A real deployment's address is longer than loopback's; the budget still holds for it.
    path_and_key = link[len(live_server.base_url):]
    assert len("https://pledges.example-coalition.org" + path_and_key) <= 150
    assert (tmp_path / "walkout.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "walkout.svg").read_bytes()
    assert Path(tmp_path / "walkout.png").stat().st_size > 500
