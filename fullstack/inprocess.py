"""An organizer Transport that calls a server app in this process, through its full request cycle.

It joins the two zones in one process, so it lives here, outside server/ and organizer/.
"""

from urllib.parse import urlsplit

from flask import Flask

from organizer.client import Transport


def in_process_transport(app: Flask, base_url: str) -> Transport:
    """Let the organizer tool talk to an app in this process, through the full request cycle."""
    client = app.test_client()

    def transport(method: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        parts = urlsplit(url)
        resp = client.open(parts.path, method=method, data=body, headers=headers,
                           query_string=parts.query, base_url=base_url)
        return resp.status_code, resp.get_data()

    return transport
