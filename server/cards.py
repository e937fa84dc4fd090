"""The link-preview card of a campaign: a plain PNG drawn here from the descriptor's public words.

Group chats and DMs show a link's `og:image`. We draw it ourselves (Pillow and a Latin subset of
DejaVu Sans shipped in server/fonts, no remote service, nothing about any student): the
coalition's name, the title, the action day.
The server never verifies a descriptor (students' pages do), so a card shows only what the page
shows before it checks; a chat app's preview is the chat app's view, not a verified one.
"""

from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
MARGIN = 72
BACKGROUND = (16, 33, 63)
ACCENT = (255, 209, 64)
TEXT = (255, 255, 255)
MUTED = (200, 210, 230)


FONT = Path(__file__).parent / "fonts" / "DejaVuSans-Bold-Latin.ttf"


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont,
          width: int, max_lines: int) -> list[str]:
    """Greedy word wrap; the last line ends in an ellipsis when the text does not fit."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while words and draw.textlength(f"{line} {words[0]}", font=font) <= width:
            line = f"{line} {words.pop(0)}"
        while draw.textlength(line, font=font) > width and len(line) > 1:
            line = line[:-2] + "…"
        lines.append(line)
    if words and lines:
        last = lines[-1]
        while draw.textlength(last + "…", font=font) > width and " " in last:
            last = last.rsplit(" ", 1)[0]
        lines[-1] = last + "…"
    return lines


@lru_cache(maxsize=256)
def render(title: str, coalition: str, action_line: str, tagline: str) -> bytes:
    """The card's PNG bytes (cached: a shared link is fetched by many previews)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    inner = WIDTH - 2 * MARGIN
    draw.rectangle((0, 0, 18, HEIGHT), fill=ACCENT)
    y = MARGIN
    if coalition:
        for line in _wrap(draw, coalition.upper(), _font(30), inner, 1):
            draw.text((MARGIN, y), line, font=_font(30), fill=ACCENT)
            y += 56
    size = 68 if len(title) < 60 else 54
    for line in _wrap(draw, title, _font(size), inner, 3):
        draw.text((MARGIN, y), line, font=_font(size), fill=TEXT)
        y += int(size * 1.2)
    if action_line:
        draw.text((MARGIN, max(y + 24, HEIGHT - 200)), action_line, font=_font(40), fill=ACCENT)
    draw.text((MARGIN, HEIGHT - MARGIN - 36), tagline, font=_font(28), fill=MUTED)
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
