"""Pashto's own letters joined on napari's canvas: the font that draws their joined forms.

vispy draws a caption one character at a time, so a letter is drawn joined only where a
character of its own names the joined form: the Arabic presentation forms, which
:func:`scanlab.i18n.display_order` picks. Unicode gives Pashto's own letters (ټ ډ ړ ښ ګ ڼ
ۍ ځ څ) none. Here each of their initial, medial and final forms gets a character of the
Supplementary Private Use Area-A, added to a copy of Noto Sans Arabic that maps it to the
glyph the font's own OpenType ``init``/``medi``/``fina`` substitutions give the letter.
The viewer registers that font with Qt (napari draws canvas text with Qt), which falls
back to it for these characters, and hands the forms to :func:`scanlab.i18n.set_canvas_forms`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from scanlab.errors import ScanlabError

__all__ = ["CANVAS_FAMILY", "PASHTO_LETTERS", "canvas_font", "form_char"]

#: Letters Pashto writes that Unicode gives no presentation forms (ې has them).
PASHTO_LETTERS = "ټډړښګڼۍځڅ"
#: The family name of the built font (not the source's, which stays as the system has it).
CANVAS_FAMILY = "scanlab canvas Arabic"
_FEATURES = ("init", "medi", "fina")
# Plane 15 private use: no font a desktop falls back to maps it, so Qt finds this one.
_FIRST = 0xF0000


def form_char(letter: str, form: str) -> str:
    """The private-use character of ``letter``'s ``form`` (``"init"``, ``"medi"`` or
    ``"fina"``) in the canvas font.

    Examples
    --------
    >>> hex(ord(form_char("ګ", "init")))
    '0xf0011'
    """
    return chr(_FIRST + 4 * PASHTO_LETTERS.index(letter) + 1 + _FEATURES.index(form))


def canvas_font(source: str | Path) -> tuple[bytes, dict[str, tuple[str, str, str, str]]]:
    """The canvas font made from the font file ``source`` (Noto Sans Arabic), and the
    forms of each Pashto letter as :func:`scanlab.i18n.set_canvas_forms` takes them:
    (isolated, initial, medial, final), the isolated form the letter itself, a form the
    letter does not take (ډ ړ ۍ join only to the letter before) empty."""
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables._c_m_a_p import CmapSubtable

    try:
        font = TTFont(str(source))
        glyphs = font.getBestCmap()
        substitutions = {feature: _single_substitutions(font, feature) for feature in _FEATURES}
    except Exception as exc:  # fontTools raises many kinds on a damaged or foreign file
        raise ScanlabError(f"{source}: cannot read the font ({exc})") from None
    added: dict[int, str] = {}
    forms: dict[str, tuple[str, str, str, str]] = {}
    for letter in PASHTO_LETTERS:
        glyph = glyphs.get(ord(letter))
        if glyph is None:
            raise ScanlabError(f"{source}: the font has no {letter} (U+{ord(letter):04X})")
        joined = []
        for feature in _FEATURES:
            shape = substitutions[feature].get(glyph)
            if shape is not None:
                added[ord(form_char(letter, feature))] = shape
            joined.append(form_char(letter, feature) if shape is not None else "")
        forms[letter] = (letter, joined[0], joined[1], joined[2])
    table = CmapSubtable.newSubtable(12)  # format 12 holds characters beyond the BMP
    table.platformID, table.platEncID, table.language = 3, 10, 0
    table.cmap = {**_full_unicode_cmap(font), **added}
    font["cmap"].tables = [t for t in font["cmap"].tables if t.format != 12] + [table]
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = CANVAS_FAMILY
        elif record.nameID == 6:
            record.string = CANVAS_FAMILY.replace(" ", "")
    out = io.BytesIO()
    font.save(out)
    return out.getvalue(), forms


def _single_substitutions(font: Any, feature: str) -> dict[str, str]:
    """Glyph -> glyph of the font's single substitutions under an OpenType feature."""
    gsub = font["GSUB"].table
    lookups = sorted(
        {
            index
            for record in gsub.FeatureList.FeatureRecord
            if record.FeatureTag == feature
            for index in record.Feature.LookupListIndex
        }
    )
    out: dict[str, str] = {}
    for index in lookups:
        lookup = gsub.LookupList.Lookup[index]
        for sub in lookup.SubTable:
            if lookup.LookupType == 7:  # an extension: the real subtable inside
                sub = sub.ExtSubTable
            for glyph, shape in getattr(sub, "mapping", {}).items():
                out.setdefault(glyph, shape)
    return out


def _full_unicode_cmap(font: Any) -> dict[int, str]:
    cmap: dict[int, str] = {}
    for table in font["cmap"].tables:
        if table.isUnicode():
            cmap.update(table.cmap)
    return cmap
