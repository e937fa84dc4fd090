"""What an organizer hands out: the share link as QR codes, made in memory (never a temporary file)."""

import io

import segno

SCALE = 10
BORDER = 4


def qr(link: str) -> segno.QRCode:
    """Error correction M: still scans from a slightly blurry phone photo of a poster."""
    return segno.make(link, error="m")


def qr_png(link: str, scale: int = SCALE) -> bytes:
    out = io.BytesIO()
    qr(link).save(out, kind="png", scale=scale, border=BORDER)
    return out.getvalue()


def qr_svg(link: str, scale: int = SCALE, title: str | None = None) -> bytes:
    """An SVG that scales to any size (posters); `title` is read by screen readers."""
    out = io.BytesIO()
    qr(link).save(out, kind="svg", scale=scale, border=BORDER, title=title, xmldecl=False,
                  svgns=True, nl=False)
    return out.getvalue()
