"""The languages trainees and instructors read: gettext catalogues (compiled by Babel), which
language is chosen, right-to-left scripts, and locale formatting of numbers and dates."""

from __future__ import annotations

import gettext
import json
import locale
import os
import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from scanlab.errors import ScanlabError

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "RLM",
    "RTL_LANGUAGES",
    "LanguageError",
    "Message",
    "_",
    "babel_locale",
    "chart_fonts",
    "display_order",
    "format_datetime",
    "format_decimal",
    "format_number",
    "get_language",
    "is_rtl",
    "ngettext",
    "normalize_language",
    "remember_language",
    "remembered_language",
    "resolve_language",
    "retranslated",
    "rtl_lines",
    "set_canvas_forms",
    "set_language",
    "term",
    "translation",
    "use_language",
]

#: Language code -> its name in that language (what a language picker shows). English is the
#: source language; the others are drafts for native-speaker review (see the README).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "ru": "Русский",
    "ky": "Кыргызча",
    "fa": "دری",
    "ps": "پښتو",
}
#: Languages written right to left.
RTL_LANGUAGES = frozenset({"fa", "ps"})
#: The gettext domain: ``LOCALE_DIR/<lang>/LC_MESSAGES/scanlab.mo``.
DOMAIN = "scanlab"
LOCALE_DIR = Path(__file__).parent / "locale"

# Other names of the supported languages: ISO 639-2/3 codes (Dari is ``prs``, Southern and
# Northern Pashto ``pbt``/``pbu``) and English names.
_ALIASES = {
    "eng": "en",
    "english": "en",
    "rus": "ru",
    "russian": "ru",
    "kir": "ky",
    "kyrgyz": "ky",
    "kirghiz": "ky",
    "prs": "fa",
    "dari": "fa",
    "fas": "fa",
    "per": "fa",
    "persian": "fa",
    "pus": "ps",
    "pbt": "ps",
    "pbu": "ps",
    "pashto": "ps",
}
# The Babel locale that formats numbers and dates: Dari and Pashto as written in Afghanistan,
# Kyrgyz in Kyrgyzstan.
_BABEL_LOCALES = {"en": "en_GB", "ru": "ru_RU", "ky": "ky_KG", "fa": "fa_AF", "ps": "ps_AF"}

_current: ContextVar[str | None] = ContextVar("scanlab_language", default=None)
_process_language: str | None = None


class LanguageError(ScanlabError):
    """A language scanlab has no catalogue for, or a catalogue that cannot be read."""


def normalize_language(tag: str | None) -> str | None:
    """The supported language a locale name or language tag means, or None.

    Examples
    --------
    >>> normalize_language("ru_RU.UTF-8"), normalize_language("fa-AF"), normalize_language("prs")
    ('ru', 'fa', 'fa')
    >>> normalize_language("de_DE") is None
    True
    """
    if not tag:
        return None
    base = tag.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    base = _ALIASES.get(base, base)
    return base if base in LANGUAGES else None


def _system_language() -> str | None:
    # The variables gettext reads, in its order; then what the C library was set to.
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for tag in os.environ.get(var, "").split(":"):
            if lang := normalize_language(tag):
                return lang
    try:
        return normalize_language(locale.getlocale(locale.LC_MESSAGES)[0])
    except (AttributeError, ValueError):  # no LC_MESSAGES on some platforms
        return None


def resolve_language(explicit: str | None = None) -> str:
    """The language to use: ``explicit`` if given, else ``SCANLAB_LANG``, else the system
    locale, else English. An explicit language or ``SCANLAB_LANG`` that scanlab has no
    catalogue for raises :class:`LanguageError`; an unsupported system locale is English.

    Examples
    --------
    >>> resolve_language("ky_KG")
    'ky'
    """
    for given, source in ((explicit, "language"), (os.environ.get("SCANLAB_LANG"), "SCANLAB_LANG")):
        if given:
            lang = normalize_language(given)
            if lang is None:
                raise LanguageError(
                    f"{source} {given!r} has no catalogue; choose one of {', '.join(LANGUAGES)}"
                )
            return lang
    return _system_language() or "en"


@cache
def translation(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: the messages as written)."""
    code = normalize_language(lang)
    if code is None:
        raise LanguageError(f"no catalogue for language {lang!r}; choose one of {list(LANGUAGES)}")
    if code == "en":
        return gettext.NullTranslations()
    path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with path.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    except OSError as exc:
        raise LanguageError(f"{path}: cannot read the {code} catalogue ({exc})") from None


def set_language(lang: str | None) -> str:
    """Choose the language of this process's messages (None: as :func:`resolve_language`);
    returns the code chosen."""
    global _process_language
    _process_language = resolve_language(lang)
    translation(_process_language)  # a missing catalogue is said now, not at the first message
    return _process_language


def get_language() -> str:
    """The language messages are in now: :func:`use_language`'s, else :func:`set_language`'s,
    else :func:`resolve_language`'s."""
    lang = _current.get() or _process_language
    if lang is None:
        try:
            lang = resolve_language()
        except LanguageError:
            lang = "en"  # a bad SCANLAB_LANG is reported where a language is chosen
    return lang


@contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Messages in ``lang`` inside the block (e.g. an instructor's report while the trainee's
    window speaks another language)."""
    code = resolve_language(lang) if lang else get_language()
    translation(code)
    token = _current.set(code)
    try:
        yield code
    finally:
        _current.reset(token)


class Message(str):
    """A translated message whose :meth:`format` writes decimals (``{x:.2f}``) by the
    language's locale: ``0,43`` in Russian. English keeps Python's own formatting."""

    __slots__ = ("lang",)
    lang: str

    def __new__(cls, text: str, lang: str) -> Message:
        message = super().__new__(cls, text)
        message.lang = lang
        return message

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (an exception's message) whole
        return (Message, (str(self), self.lang))

    def format(self, /, *args: Any, **kwargs: Any) -> str:
        if self.lang == "en":
            return str.format(self, *args, **kwargs)
        return _LocaleFormatter(self.lang).vformat(str(self), args, kwargs)


class _LocaleFormatter(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> Any:
        fixed = re.fullmatch(r",?\.(\d+)f", format_spec)  # grouped or not: the locale groups
        if fixed and isinstance(value, float | int) and not isinstance(value, bool):
            return format_decimal(float(value), int(fixed.group(1)), lang=self.lang)
        return super().format_field(value, format_spec)


def _(message: str) -> str:
    """``message`` in the current language (a :class:`Message`: its ``format`` writes
    decimals by the language's locale).

    Examples
    --------
    >>> with use_language("ru"):
    ...     _("{n} trials: enough for a reliable score; {tail}").format(n=120, tail="±")
    'проб: 120 — достаточно для надёжной оценки; ±'
    """
    lang = get_language()
    return Message(translation(lang).gettext(message), lang)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message that suits the count ``n`` in the current language."""
    lang = get_language()
    return Message(translation(lang).ngettext(singular, plural, n), lang)


def retranslated(text: str, before: str, after: str) -> str:
    """``text``, a message shown in language ``before``, in language ``after`` (as it is when
    the ``before`` catalogue has no message that reads so).

    Examples
    --------
    >>> retranslated(retranslated("Start exam", "en", "ru"), "ru", "en")
    'Start exam'
    """
    return translation(after).gettext(_message_ids(before).get(text, text))


@cache
def _message_ids(lang: str) -> dict[str, str]:
    # GNUTranslations keeps msgid -> msgstr (plural forms under (msgid, n) keys).
    catalog = getattr(translation(lang), "_catalog", {})
    return {v: k for k, v in catalog.items() if isinstance(k, str) and k}


def term(key: str) -> str:
    """A name the data keeps as a key (``false_wall``, ``narcotics``, ``hard``) as people
    read it in the current language (``false wall``, ``наркотики``...)."""
    return _(key.replace("_", " "))


# Letter -> (isolated, initial, medial, final) characters of the letters Unicode gives no
# presentation forms (Pashto's), as a font on the canvas draws them (set_canvas_forms).
_canvas_forms: dict[str, tuple[str, str, str, str]] = {}


def set_canvas_forms(forms: dict[str, tuple[str, str, str, str]]) -> None:
    """Let :func:`display_order` join letters that Unicode gives no presentation forms
    (Pashto's ټ ډ ړ ښ ګ ڼ ۍ ځ څ), with the characters a font that the canvas draws with
    has for their forms: letter -> (isolated, initial, medial, final), a form the letter
    does not take empty. The napari viewer registers such a font and calls this
    (``scanlab.napari_plugin._canvas_font``)."""
    global _canvas_forms
    _canvas_forms = dict(forms)
    _canvas_reshaper.cache_clear()


def display_order(text: str, lang: str | None = None) -> str:
    """``text`` for a renderer that neither joins Arabic letters nor orders right-to-left
    runs (napari's canvas, vispy): in Dari and Pashto, shaped (each letter the character of
    its joined form) and in display order, line by line; in the other languages as it is.
    Pashto's own letters are joined only with the characters :func:`set_canvas_forms` was
    given (Unicode has none for them); renderers that shape (matplotlib) take
    :func:`rtl_lines` instead.

    Examples
    --------
    >>> [hex(ord(c)) for c in display_order("بل", "fa")]  # lam final, then beh initial
    ['0xfede', '0xfe91']
    """
    if not is_rtl(lang):
        return text
    return "\n".join(_display_line(line) for line in text.split("\n"))


def _display_line(line: str) -> str:
    from bidi import get_display

    forms = _canvas_forms
    shaped = _canvas_reshaper().reshape(line)
    # The private-use characters of the extra forms have no right-to-left direction:
    # ordered as the letters they stand for, then put back. Every Arabic letter of a
    # line laid out right to left is at embedding level 1, so the letters come out in
    # exactly the reverse of their order in the text.
    letter_of = {c: letter for letter, shapes in forms.items() for c in shapes if c}
    drawn = [c for c in shaped if c in letter_of]
    visual = str(get_display("".join(letter_of.get(c, c) for c in shaped), base_dir="R"))
    if drawn:
        shapes = iter(reversed(drawn))
        visual = "".join(next(shapes) if c in forms else c for c in visual)
    # python-bidi >= 0.5 leaves out mirroring: brackets in the right-to-left line face the
    # wrong way. scanlab's messages bracket only within right-to-left text, so all flip.
    return visual.translate(_MIRRORED)


@cache
def _canvas_reshaper() -> Any:
    import arabic_reshaper

    reshaper = arabic_reshaper.ArabicReshaper()
    # The letters table is the reshaper's own (letter -> its four forms); the extra
    # letters join and are joined to by the same rules.
    reshaper.letters = {**reshaper.letters, **_canvas_forms}
    return reshaper


_MIRRORED = str.maketrans("()[]{}<>", ")(][}{><")

#: RIGHT-TO-LEFT MARK: a paragraph that starts with it is laid out right to left.
RLM = "\u200f"


def rtl_lines(text: str, lang: str | None = None) -> str:
    """``text`` for a renderer that shapes and orders text itself (matplotlib >= 3.11 with
    libraqm) but takes each line's direction from its first strong letter: in Dari and
    Pashto every line starts with a right-to-left mark, so that a line that begins with a
    name in Latin letters ("exam-easy: ...") still reads from the right. Other languages
    as they are.

    Examples
    --------
    >>> [line.startswith(RLM) for line in rtl_lines("exam-easy: نرخ\\n(n=3)", "fa").split("\\n")]
    [True, True]
    """
    if not is_rtl(lang):
        return text
    return "\n".join(RLM + line for line in text.split("\n"))


def chart_fonts(lang: str | None = None) -> dict[str, Any]:
    """matplotlib settings (for ``matplotlib.rc_context``) that draw ``lang``'s charts: for
    Dari and Pashto a font with every Arabic-script letter Pashto uses (Noto Sans Arabic,
    Debian's ``fonts-noto-core``; DejaVu Sans lacks ۍ) before DejaVu Sans for Latin
    letters and digits, and the language tag libraqm shapes by."""
    code = normalize_language(lang) if lang else get_language()
    settings: dict[str, Any] = {"text.language": code}
    if code in RTL_LANGUAGES:
        settings["font.family"] = ["Noto Sans Arabic", "DejaVu Sans"]
    return settings


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it (translated where shown)."""
    return message


def is_rtl(lang: str | None = None) -> bool:
    """Whether ``lang`` (default: the current language) is written right to left."""
    return (normalize_language(lang) if lang else get_language()) in RTL_LANGUAGES


def babel_locale(lang: str | None = None) -> Any:
    """The :class:`babel.Locale` that formats numbers and dates for ``lang``."""
    from babel import Locale

    return Locale.parse(_BABEL_LOCALES[normalize_language(lang) or get_language()])


def format_decimal(value: float | None, digits: int = 2, *, lang: str | None = None) -> str:
    """``value`` with ``digits`` decimals in the language's digits and separators; NaN and
    None are an en dash.

    Examples
    --------
    >>> format_decimal(1234.5, 1, lang="ru"), format_decimal(0.25, lang="en")
    ('1\\xa0234,5', '0.25')
    """
    from babel.numbers import format_decimal as babel_decimal

    if value is None or value != value:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return str(
        babel_decimal(value, format=pattern, locale=babel_locale(lang), decimal_quantization=True)
    )


def format_number(value: float, spec: str, *, lang: str | None = None) -> str:
    """``format(value, spec)`` (signed, percentages, significant digits: ``+.3f``, ``.0%``,
    ``.3g``) with the language's decimal sign; English as Python writes it. Digits are
    not grouped, so the figure stays one a reader can copy.

    Examples
    --------
    >>> format_number(-0.25, "+.3f", lang="ru"), format_number(0.015, ".1%", lang="en")
    ('-0,250', '1.5%')
    """
    from babel.numbers import get_decimal_symbol

    text = format(value, spec)
    code = normalize_language(lang) if lang else get_language()
    if code == "en":
        return text
    return text.replace(".", get_decimal_symbol(babel_locale(code)))


def format_datetime(value: str | datetime | date, *, lang: str | None = None) -> str:
    """A date or time (a datetime, a date, or ISO 8601 text) in the language's medium format;
    text that is no ISO date is returned as it is."""
    from babel.dates import format_date as babel_date
    from babel.dates import format_datetime as babel_datetime

    if isinstance(value, str):
        try:
            when: datetime | date = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        when = value
    if isinstance(when, datetime):
        return str(babel_datetime(when, format="medium", locale=babel_locale(lang)))
    return str(babel_date(when, format="medium", locale=babel_locale(lang)))


# --- the trainee's choice ---------------------------------------------------------------------

_SETTINGS = "settings.json"


def remembered_language(folder: str | Path) -> str | None:
    """The language a trainee chose last in ``folder`` (their progress folder), or None."""
    try:
        saved = json.loads((Path(folder) / _SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return normalize_language(saved.get("language")) if isinstance(saved, dict) else None


def remember_language(folder: str | Path, lang: str) -> Path:
    """Remember ``lang`` as the trainee's choice in ``folder`` (atomically)."""
    from scanlab.io._common import atomic_open

    code = resolve_language(lang)
    path = Path(folder) / _SETTINGS
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    saved = saved if isinstance(saved, dict) else {}
    with atomic_open(path, "w") as fh:
        json.dump({**saved, "language": code}, fh, ensure_ascii=False, indent=1)
    return path
