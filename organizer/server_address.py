"""Which server addresses the tool talks to: https://, or http:// only where no network is crossed.

Share links are built from this address. Over plain http on school Wi-Fi, anyone on the network can
replace the pledge page's scripts, and the link's `#k=` pin protects nothing once the script that
checks it is theirs. So http:// is accepted only for this computer (127.0.0.0/8, ::1, localhost:
tests and demos) and for .onion addresses (Tor authenticates and encrypts to the onion key itself).
"""

import ipaddress
from urllib.parse import urlsplit

from organizer.errors import BadInput


class InsecureServerAddress(BadInput):
    """The server address must start with https:// (http:// only for this computer or a .onion
    address): over plain http, anyone on the same Wi-Fi could change the pages students see."""


def _local_or_onion(host: str) -> bool:
    if host == "localhost" or host.endswith(".onion"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(url: str) -> str:
    """Return `url` without trailing slashes if the tool may use it; raise InsecureServerAddress.

    An address typed without a scheme (`pledges.example.org`, as people read it off a message) is
    taken as https://, the only scheme the tool uses across a network."""
    url = url.strip()
    if url and "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if not host or parts.username is not None or parts.query or parts.fragment:
        raise InsecureServerAddress("That is not a server address: give just its web address, "
                                    "like https://pledges.example.org.")
    if parts.scheme == "https" or (parts.scheme == "http" and _local_or_onion(host)):
        return url.rstrip("/")
    raise InsecureServerAddress()
