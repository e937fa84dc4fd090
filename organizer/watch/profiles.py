"""The clients the watch poses as: real browsers' request headers, in the order and set they send.

A server that serves a changed page only to some clients must not be able to tell the watch from
a student by its headers, so each request carries exactly what that browser would send for that
kind of request over HTTP/1.1, no cookie, no Referer (the pages say no-referrer), and nothing
else. Chromium's were recorded from Chromium 156 itself (tests/browser/test_watch_profiles.py
compares them again with a live Chromium on every run); Safari's (WebKit on iOS, as Instagram's
in-app browser uses too) follow WebKit's order. What headers cannot hide (TLS and HTTP/2
fingerprints, the laptop's address) is in docs/page-watch.md.
"""

from dataclasses import dataclass
from typing import Literal

Kind = Literal["document", "script", "style", "image", "fetch"]

CHROME = "156"
_CHROME_ACCEPT = {
    "document": "text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,"
                "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    "script": "*/*", "style": "text/css,*/*;q=0.1",
    "image": "image/jxl,image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "fetch": "application/json",
}
_SAFARI_ACCEPT = {
    "document": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "script": "*/*", "style": "text/css,*/*;q=0.1",
    "image": "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
             "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
    "fetch": "application/json",
}
_DEST = {"document": "document", "script": "script", "style": "style", "image": "image",
         "fetch": "empty"}
LANGUAGES = {"en": "en-US,en;q=0.9", "es": "es-US,es;q=0.9"}


@dataclass(frozen=True)
class Profile:
    """One kind of student client: a browser family, its user agent, and its client hints."""

    name: str
    engine: Literal["chromium", "webkit"]
    user_agent: str
    brands: str = ""
    mobile: bool = True
    platform: str = ""
    favicon: bool = True

    def headers(self, kind: Kind, lang: str, host: str, secure: bool) -> list[tuple[str, str]]:
        """Headers for one request, in the browser's order. `secure`: an https, onion or
        loopback origin, where Chromium adds client hints and Fetch metadata."""
        if self.engine == "webkit":
            return _webkit(self, kind, lang, host)
        return _chromium(self, kind, lang, host, secure)


def _chromium(p: Profile, kind: Kind, lang: str, host: str, secure: bool) -> list[tuple[str, str]]:
    hints = secure and bool(p.brands)
    brands = [("sec-ch-ua", p.brands), ("sec-ch-ua-mobile", "?1" if p.mobile else "?0")] if hints else []
    platform = [("sec-ch-ua-platform", p.platform)] if hints else []
    ua, accept = ("User-Agent", p.user_agent), ("Accept", _CHROME_ACCEPT[kind])
    h = [("Host", host), ("Connection", "keep-alive")]
    if kind == "document":
        h += [*brands, *platform, ("Upgrade-Insecure-Requests", "1"), ua, accept]
        fetch_meta = [("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate"),
                      ("Sec-Fetch-User", "?1"), ("Sec-Fetch-Dest", "document")]
    elif kind == "fetch":
        h += [("Pragma", "no-cache"), ("Cache-Control", "no-cache"), *platform, ua, accept, *brands]
        fetch_meta = [("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "cors"),
                      ("Sec-Fetch-Dest", "empty")]
    else:
        h += [*platform, ua, *brands, accept]
        fetch_meta = [("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "no-cors"),
                      ("Sec-Fetch-Dest", _DEST[kind])]
    if secure:
        h += fetch_meta
    return [*h, ("Accept-Encoding", "gzip, deflate, br, zstd"), ("Accept-Language", LANGUAGES[lang])]


def _webkit(p: Profile, kind: Kind, lang: str, host: str) -> list[tuple[str, str]]:
    h = [("Host", host)]
    if kind == "fetch":
        h += [("Pragma", "no-cache"), ("Cache-Control", "no-cache")]
    site, mode = {"document": ("none", "navigate"), "fetch": ("same-origin", "cors")}.get(
        kind, ("same-origin", "no-cors"))
    h += [("Accept", _SAFARI_ACCEPT[kind]), ("Sec-Fetch-Site", site),
          ("Accept-Encoding", "gzip, deflate, br"), ("Sec-Fetch-Mode", mode),
          ("User-Agent", p.user_agent), ("Accept-Language", LANGUAGES[lang]),
          ("Sec-Fetch-Dest", _DEST[kind])]
    if kind == "document":
        h.insert(len(h) - 1, ("Upgrade-Insecure-Requests", "1"))
    return [*h, ("Connection", "keep-alive")]


_ANDROID_BRANDS = f'"Google Chrome";v="{CHROME}", "Not:A-Brand";v="8", "Chromium";v="{CHROME}"'
_WEBVIEW_BRANDS = f'"Android WebView";v="{CHROME}", "Not:A-Brand";v="8", "Chromium";v="{CHROME}"'
_IOS_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1")

PROFILES = (
    Profile("iPhone Safari", "webkit", _IOS_SAFARI, favicon=False),
    Profile("Android Chrome", "chromium",
            f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{CHROME}.0.0.0 Mobile Safari/537.36", _ANDROID_BRANDS, True, '"Android"'),
    Profile("Instagram in-app (iPhone)", "webkit",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Mobile/22G86 Instagram 395.0.0.24.86 (iPhone14,5; iOS 18_6; "
            "en_US; en; scale=3.00; 1170x2532; 771371530; IABMV/1)", favicon=False),
    Profile("TikTok in-app (Android)", "chromium",
            f"Mozilla/5.0 (Linux; Android 14; SM-A546B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
            f"(KHTML, like Gecko) Version/4.0 Chrome/{CHROME}.0.0.0 Mobile Safari/537.36 "
            "musical_ly_2024109030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly "
            "app_version/41.9.3 ByteLocale/en ByteFullLocale/en Region/US BytedanceWebview/d8a21c6",
            _WEBVIEW_BRANDS, True, '"Android"', favicon=False),
    Profile("desktop Chrome", "chromium",
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{CHROME}.0.0.0 Safari/537.36",
            f'"Google Chrome";v="{CHROME}", "Not:A-Brand";v="8", "Chromium";v="{CHROME}"',
            False, '"Windows"'),
)
