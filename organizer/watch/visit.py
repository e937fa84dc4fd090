"""One student's visit, as the watch makes it: open the pledge page (and the files it names), the
campaign's API answer, then the withdraw page (and its files), on one connection, and compare
every answer with what this release serves (release.py). A server that does not answer is "could
not check", never a difference."""

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crypto import CryptoError
from crypto.encoding import b64u_decode
from crypto.page_view import embedded_campaign
from crypto.statements import campaign_message, encryption_key_message, tally_message, verify_statement
from organizer.watch import compare, evidence
from organizer.watch.http import Answer, Browser, CouldNotFetch, Proxy
from organizer.watch.profiles import Kind
from organizer.watch.release import (
    Release,
    own_release,
    page_json,
    page_language,
    pledge_page,
    releases,
    withdraw_page,
)
from organizer.watch.rounds import Client, Finding, Round, Target

_TAG = re.compile(r"<(script|link)\b([^>]*)>", re.IGNORECASE)
_ON_DEMAND = re.compile(r'\bdata-sealing="([^"]+)"')
_ATTR = re.compile(r'([a-z-]+)="([^"]*)"')


class Visit:
    """One client's visit to one campaign; adds what it finds to the round."""

    def __init__(self, target: Target, campaign_id: str, client: Client, result: Round,
                 proxy: Proxy | None, evidence_root: Path | None) -> None:
        self.target, self.campaign_id, self.client, self.result = target, campaign_id, client, result
        self.browser = Browser(target.origin, proxy)
        self.evidence_root = evidence_root
        parts = urlsplit(target.origin)
        self.host = parts.netloc
        self.https = parts.scheme == "https"
        self.secure = self.https or parts.hostname in ("127.0.0.1", "localhost", "::1")

    def get(self, path: str, kind: Kind) -> Answer:
        headers = self.client.profile.headers(kind, self.client.lang, self.host, self.secure)
        answer = self.browser.get(path, headers)
        self.result.requests += 1
        self.result.paths.append(path)
        self.result.wire_bytes += answer.wire_bytes
        return answer

    def found(self, what: str, path: str, answer: Answer | None = None,
              expected: str | None = None) -> None:
        saved = None
        if answer is not None:
            saved = evidence.save(self.campaign_id, self.client.name, what, path, answer.body,
                                  answer.headers, expected, self.evidence_root)
        self.result.findings.append(Finding(self.campaign_id, self.client.name, what, saved))

    def headers(self, answer: Answer, path: str, kind: str, release: Release,
                content_type: str | None = None) -> None:
        want = compare.expected_headers(release.data, kind, self.https, content_type)
        for note in compare.header_differences(want, answer.headers, path):
            self.found(f"{path}: {note}", path, answer)
        offered = [v for n, v in answer.headers if n.lower() == "onion-location"]
        onion = compare.onion_location(offered, path)[0] if offered else None
        if onion is not None and self.result.onions and onion not in self.result.onions:
            self.found(f"{path}: the Onion-Location header names {onion}, another onion address than "
                       "the one other clients were given this round", path, answer)
        if onion is not None:
            self.result.onions.add(onion)

    def run(self) -> None:
        try:
            self._pledge()
            self._withdraw()
        except CouldNotFetch as exc:
            self.result.unreachable.append(f"{self.campaign_id}\t{self.client.name}\t{exc}")
        finally:
            self.browser.close()

    def _ok(self, answer: Answer, what: str) -> bool:
        if answer.status == 200:
            return True
        raise CouldNotFetch(f"{what} answered HTTP {answer.status}")

    def _api(self) -> tuple[dict[str, Any], list[Any]] | None:
        base = f"/api/v1/campaigns/{self.campaign_id}"
        view_answer = self.get(base, "fetch")
        self._ok(view_answer, "the campaign's API")
        news_answer = self.get(base + "/announcements", "fetch")
        self._ok(news_answer, "the campaign's announcements")
        own = own_release()
        self.headers(view_answer, base, "api", own)
        try:
            view = json.loads(view_answer.body)
            news = json.loads(news_answer.body)["announcements"]
            problem = verify_view(self.target, self.campaign_id, view)
        except (ValueError, KeyError, TypeError):
            problem = "the campaign's API answer is not in the protocol's shape"
        if problem:
            self.found(problem, base, view_answer)
            return None
        return view, news

    def _pledge(self) -> None:
        path = f"/p/{self.campaign_id}"
        page = self.get(path, "document")
        self._ok(page, "the pledge page")
        api = self._api()
        html, release = self._page_release(page, path)
        if api is None or release is None:
            return
        view, news = api
        expected = self._expected(release, view, news)
        if html != expected:  # a tally or an announcement may have landed between the two fetches
            again = self._api()
            if again is None:
                return
            view, news = again
            expected = self._expected(release, view, news)
        if html != expected:
            embedded = page_json(embedded_campaign(view, b64u_decode(str(view["descriptor"]))))
            self.found(compare.html_difference(expected, html, embedded), path, page, expected)
        self.headers(page, path, "page", release)
        self._files(html, release)

    def _expected(self, release: Release, view: dict[str, Any], news: list[Any]) -> str:
        lang = page_language(_descriptor(view), self.client.lang, release.languages)
        return pledge_page(release, self.target.origin, view, news, lang)

    def _withdraw(self) -> None:
        path = f"/withdraw?lang={self.client.lang}"  # the address a receipt's link holds
        page = self.get(path, "document")
        self._ok(page, "the withdraw page")
        html, release = self._page_release(page, path)
        if release is None:
            return
        expected = withdraw_page(release, self.client.lang)
        if html != expected:
            self.found(compare.html_difference(expected, html, ""), path, page, expected)
        self.headers(page, path, "page", release)
        self._files(html, release)

    def _page_release(self, page: Answer, path: str) -> tuple[str, Release | None]:
        try:
            html = page.body.decode("utf-8")
        except UnicodeDecodeError:
            self.found("the page is not UTF-8 text as this release's pages are", path, page)
            return "", None
        name = compare.page_release(html)
        if name is None:
            self.found("the page does not say which release it is (every page of this release "
                       "does): it was changed, or the server runs a release older than the watch",
                       path, page)
            return html, None
        release = releases().get(name)
        if release is None:
            self.found(f"the page says it is Pledgebox {name}, a release this tool does not know: "
                       "update the tool; if it persists, treat it as tampering", path, page)
        return html, release

    def _files(self, html: str, release: Release) -> None:
        """Every file the page makes a browser load, fetched as this browser would."""
        tags = [(tag.lower(), dict(_ATTR.findall(attrs))) for tag, attrs in _TAG.findall(html)]
        wanted: list[tuple[str, Kind]] = [(a["href"], "style") for tag, a in tags
                                          if tag == "link" and a.get("rel") == "stylesheet" and "href" in a]
        wanted += [(a["src"], "script") for tag, a in tags if tag == "script" and "src" in a]
        # The sealing libraries the pledge page loads when a student starts the form (its
        # data-sealing address, pinned by data-sealing-sri in the page compared above).
        wanted += [(url, "script") for url in _ON_DEMAND.findall(html)]
        if self.client.profile.favicon:  # fetched last, once the page is up
            wanted += [(a["href"], "image") for tag, a in tags
                       if tag == "link" and a.get("rel") == "icon" and "href" in a]
        for url, kind in wanted:
            self._file(url, kind, release)

    def _file(self, url: str, kind: Kind, release: Release) -> None:
        if not url.startswith("/") or url.startswith("//"):
            return  # another origin: never contacted (the HTML difference already says it)
        answer = self.get(url, kind)
        self._ok(answer, url)
        parts = url.split("/", 3)
        name = parts[3] if len(parts) == 4 and parts[1] == "static" else ""
        known = release.static(name)
        if known is None or parts[2] != known["digest"]:
            self.found(f"the page loads {url}, a file this release does not serve", url, answer)
            return
        if hashlib.sha256(answer.body).hexdigest() != known["sha256"]:
            self.found(f"the file {name} differs from this release's (SHA-256 "
                       f"{hashlib.sha256(answer.body).hexdigest()[:16]}…, this release's "
                       f"{known['sha256'][:16]}…)", url, answer)
        self.headers(answer, url, "static", release, known["content_type"])


def _descriptor(view: dict[str, Any]) -> dict[str, Any]:
    d = json.loads(b64u_decode(str(view["descriptor"])))
    return d if isinstance(d, dict) else {}


def verify_view(target: Target, campaign_id: str, view: Any) -> str | None:
    """Why the API's campaign answer cannot be what the coalition published, or None."""
    if not isinstance(view, dict) or view.get("campaign_id") != campaign_id:
        return "the campaign's API answer is for another campaign"
    try:
        if (view.get("coalition_id") != target.coalition_id
                or b64u_decode(str(view["signing_key"])) != target.signing_public):
            return "the campaign's API answer names another coalition or signing key than yours"
        raw = b64u_decode(str(view["descriptor"]))
        verify_statement(target.signing_public, campaign_message(raw),
                         b64u_decode(str(view["descriptor_signature"])))
        d = json.loads(raw)
        if d.get("campaign_id") != campaign_id or d.get("coalition_id") != target.coalition_id:
            return "the campaign's API answer carries another campaign's descriptor"
        key = view["encryption_key"]
        verify_statement(target.signing_public, encryption_key_message(
            target.coalition_id, key["version"], key["not_after"], b64u_decode(key["public_key"])),
            b64u_decode(key["signature"]))
        tally = view.get("tally")
        if tally is not None:
            verify_statement(target.signing_public, tally_message(b64u_decode(tally["body"])),
                             b64u_decode(tally["signature"]))
    except CryptoError:
        return "the campaign's API answer is not signed by your coalition's key"
    except (ValueError, KeyError, TypeError, AttributeError):
        return "the campaign's API answer is not in the protocol's shape"
    return None
