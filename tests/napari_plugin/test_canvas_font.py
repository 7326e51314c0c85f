"""Pashto's own letters joined on napari's canvas: the forms display_order picks for them,
checked against a shaping engine (HarfBuzz, through matplotlib's libraqm) on the same font."""

from __future__ import annotations

import pytest

from scanlab import i18n
from scanlab.i18n import display_order, translation
from scanlab.napari_plugin._canvas_font import PASHTO_LETTERS, canvas_font, form_char


@pytest.fixture
def noto_sans_arabic() -> str:
    from matplotlib.font_manager import FontProperties, findfont

    try:
        return findfont(FontProperties(family="Noto Sans Arabic"), fallback_to_default=False)
    except ValueError:
        pytest.skip("Noto Sans Arabic is not installed (Debian: fonts-noto-core)")


@pytest.fixture
def canvas_forms(noto_sans_arabic, tmp_path, monkeypatch):
    """The canvas font written to a file, and display_order using its forms."""
    data, forms = canvas_font(noto_sans_arabic)
    path = tmp_path / "canvas.ttf"
    path.write_bytes(data)
    monkeypatch.setattr(i18n, "_canvas_forms", {})  # put back after the test
    i18n.set_canvas_forms(forms)
    yield path
    i18n._canvas_reshaper.cache_clear()


def test_forms_follow_the_letters_joining(canvas_forms):
    """Hand-worked from Unicode's joining types: ګ ټ ښ ځ څ ڼ join on both sides; ډ ړ ۍ
    only to the letter before (like د and ر)."""
    init, medi, fina = (lambda ch, f=f: form_char(ch, f) for f in ("init", "medi", "fina"))
    # ګټه ("benefit"): ګ starts, ټ in the middle, ه (final form U+FEEA) ends; shown from
    # the right, so the first letter is the last character.
    assert display_order("ګټه", "ps") == "\ufeea" + medi("ټ") + init("ګ")
    # ډډ: ډ joins nothing after it, so both stand alone; بډ: ډ joins ب (initial U+FE91).
    assert display_order("ډډ", "ps") == "ډډ"
    assert display_order("بډ", "ps") == fina("ډ") + "\ufe91"
    assert display_order("ځڅ ښ", "ps") == "ښ " + fina("څ") + init("ځ")


def _glyph_names(font, text: str) -> list[str]:
    from matplotlib.ft2font import LoadFlags

    font.set_size(12, 72)
    return [
        font.get_glyph_name(item.glyph_index)
        for item in font._layout(text, LoadFlags.NO_HINTING)
        if item.char in PASHTO_LETTERS
    ]


def _pashto_terms() -> list[str]:
    """The glossary's Pashto terms (every accepted form) holding Pashto's own letters."""
    from scanlab._catalogues import glossary

    forms = [f.strip() for row in glossary() for f in row["ps"].split("|")]
    return [f for f in forms if set(f) & set(PASHTO_LETTERS)]


def _pashto_messages() -> list[str]:
    """For each of Pashto's own letters, the shortest message of the Pashto catalogue
    holding it (a caption's words, where the glossary has none with the letter)."""
    catalogue = translation("ps")._catalog  # type: ignore[attr-defined]
    texts = sorted((t for t in catalogue.values() if isinstance(t, str) and t), key=len)
    return [next(t for t in texts if letter in t) for letter in PASHTO_LETTERS]


@pytest.mark.parametrize("word", _pashto_terms() + _pashto_messages())
def test_canvas_draws_the_glyphs_a_shaping_engine_picks(canvas_forms, noto_sans_arabic, word):
    """Each Pashto letter of a glossary term, as the canvas draws it (the canvas font's
    glyph for the character display_order gives), is the glyph HarfBuzz picks when it
    shapes the term with Noto Sans Arabic, in the same order."""
    from matplotlib.ft2font import FT2Font

    shaped = _glyph_names(FT2Font(noto_sans_arabic), word)
    canvas = FT2Font(str(canvas_forms))
    drawn = [
        canvas.get_glyph_name(canvas.get_char_index(ord(ch)))
        for ch in display_order(word, "ps")
        if 0xF0000 <= ord(ch) or ch in PASHTO_LETTERS
    ]
    assert drawn == shaped, word


def _drawn(char: str, family: str):
    """``char`` drawn by Qt in ``family`` as napari draws a canvas glyph (one character)."""
    import numpy as np
    from qtpy.QtCore import QPointF, Qt
    from qtpy.QtGui import QFont, QImage, QPainter

    image = QImage(160, 160, QImage.Format.Format_Grayscale8)
    image.fill(Qt.GlobalColor.black)
    painter = QPainter(image)
    painter.setFont(QFont(family, 48))
    painter.setPen(Qt.GlobalColor.white)
    painter.drawText(QPointF(30, 110), char)
    painter.end()
    bits = image.constBits()
    if hasattr(bits, "setsize"):
        bits.setsize(image.sizeInBytes())
    rows = np.frombuffer(bits, np.uint8).reshape(160, image.bytesPerLine())
    return rows[:, :160].copy()


@pytest.mark.napari
def test_viewer_draws_the_joined_forms_on_its_canvas(
    make_napari_viewer, exercise_dir, noto_sans_arabic, monkeypatch
):
    """In a real viewer the font is registered: Qt, drawing a canvas glyph in napari's
    face, falls back to it for the forms' characters (no box for a missing glyph), and
    the captions in Pashto take them."""
    import numpy as np

    from scanlab.napari_plugin._canvas_font import CANVAS_FAMILY
    from scanlab.napari_plugin._launch import create_viewer
    from scanlab.napari_plugin._qt._util import install_canvas_font

    monkeypatch.setattr(i18n, "_canvas_forms", {})
    create_viewer(exercise_dir, viewer=make_napari_viewer(), lang="ps")
    assert install_canvas_font()
    for letter, form in (("ټ", "fina"), ("ګ", "init"), ("ښ", "medi")):
        char = form_char(letter, form)
        drawn = _drawn(char, "OpenSans")  # napari's canvas face
        assert np.array_equal(drawn, _drawn(char, CANVAS_FAMILY)) and drawn.any()
        assert not np.array_equal(drawn, _drawn(chr(0xF0FFF), "OpenSans"))  # not a box
    assert display_order("پټ", "ps") == form_char("ټ", "fina") + "\ufb58"
    i18n._canvas_reshaper.cache_clear()
