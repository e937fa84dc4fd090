"""The link-preview card: a PNG of the right size, drawn with a font that has Spanish letters."""

from io import BytesIO

import pytest
from PIL import Image

from server import cards


def glyph(char: str) -> bytes:
    mask = cards._font(40).getmask(char)
    return bytes(mask)


@pytest.mark.parametrize("char", list("áéíóúüñÁÉÍÓÚÑ¿¡’…"))
def test_every_spanish_letter_has_its_own_glyph_not_the_missing_box(char: str) -> None:
    missing = glyph("\u4e00")  # not in the Latin subset: drawn as the missing-glyph box
    assert glyph(char) != missing
    assert any(glyph(char))


def test_the_card_is_a_1200_by_630_png_with_long_titles_cut_to_fit() -> None:
    title = "Salida por escuelas seguras " * 12
    data = cards.render(title, "Coalición de Escuelas de Covina", "Día de la acción: 15 de dic.",
                        "Comprométete en privado con Pledgebox")
    image = Image.open(BytesIO(data))
    assert image.format == "PNG"
    assert image.size == (cards.WIDTH, cards.HEIGHT) == (1200, 630)
    assert len(image.getcolors(maxcolors=100_000) or []) > 2  # text was drawn
