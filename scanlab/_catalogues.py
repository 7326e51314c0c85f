"""Keeping the message catalogues: extract the messages from the code (Babel), update each
language's ``.po``, compile the ``.mo`` files, and check them (missing, fuzzy or format-broken
entries, glossary terms). ``python -m scanlab._catalogues update|compile|check``."""

from __future__ import annotations

import csv
import io
import re
import string
import sys
from pathlib import Path
from typing import Any

from scanlab.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

__all__ = [
    "GLOSSARY",
    "catalogue_problems",
    "compile_catalogue",
    "extract",
    "glossary",
    "glossary_problems",
    "read_catalogue",
]

#: Customs and X-ray terms per language; instructors correct it (see the README).
GLOSSARY = LOCALE_DIR / "glossary.csv"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
_PACKAGE = Path(__file__).parent
_KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract() -> Any:
    """The catalogue of every message marked in the code (``_``, ``N_``, ``ngettext``)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="scanlab", domain=DOMAIN, charset="utf-8")
    _add_data_messages(catalog)
    _add_cli_help(catalog)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(_PACKAGE),
        method_map=[("**.py", "python")],
        keywords=_KEYWORDS,
        # Babel skips folders named _*: scanlab's private packages (_qt) hold messages too.
        directory_filter=lambda path: Path(path).name != "__pycache__",
    ):
        catalog.add(
            message,
            None,
            [(f"scanlab/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def _add_data_messages(catalog: Any) -> None:
    """Words people see that come from scanlab's data, not its code: the built-in presets'
    names (as :func:`scanlab.i18n.term` shows them) and descriptions, the names of the
    enhancement steps (headings of the Enhance widget's controls), and the reference
    library's entries and their materials (the Reference widget)."""
    from scanlab.enhance import STEPS, list_presets, load_preset
    from scanlab.synth import THREAT_LIBRARY, reference_names

    for kind in ("threat", "concealment", "commodity"):
        for name in reference_names(kind):
            where = [("scanlab/synth/_reference.py", 1)]
            catalog.add(name.replace("_", " "), None, where, auto_comments=[f"reference {kind}"])
    for _threat_class, material in THREAT_LIBRARY.values():
        where = [("scanlab/synth/_tip.py", 1)]
        catalog.add(material.replace("_", " "), None, where, auto_comments=["material"])

    for name in list_presets():
        where = [(f"scanlab/enhance/presets/{name}.yaml", 1)]
        catalog.add(name.replace("_", " "), None, where, auto_comments=["preset name"])
        description = load_preset(name).description
        if description:
            catalog.add(description, None, where, auto_comments=["preset description"])
    for step in STEPS:
        catalog.add(
            step.replace("_", " "),
            None,
            [("scanlab/enhance/_pipeline.py", 1)],
            auto_comments=["enhancement step"],
        )


def _add_cli_help(catalog: Any) -> None:
    """The ``--help`` texts of the commands (those made with
    :class:`scanlab.cli.TranslatedHelp`: every command), as Typer gives them to click."""
    import typer.main

    from scanlab.cli import TranslatedHelp, app, help_texts

    def walk(command: Any, path: str) -> None:
        if isinstance(command, TranslatedHelp):
            for text in help_texts(command):
                catalog.add(text, None, [("scanlab/cli.py", 1)], auto_comments=[f"{path} --help"])
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "scanlab")


def read_catalogue(lang: str) -> Any:
    from babel.messages.pofile import read_po

    with _po(lang).open("rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


def _po(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_catalogue(lang: str) -> bytes:
    """The ``.mo`` bytes of ``lang``'s ``.po`` (fuzzy entries left out, as gettext does)."""
    from babel.messages.mofile import write_mo

    buf = io.BytesIO()
    write_mo(buf, read_catalogue(lang), use_fuzzy=False)
    return buf.getvalue()


def _fields(text: str) -> list[str]:
    """The ``{name}`` fields of a str.format message, sorted; ValueError when malformed."""
    return sorted(
        f"{{{name}{'!' + conv if conv else ''}:{spec or ''}}}"
        for _lit, name, spec, conv in string.Formatter().parse(text)
        if name is not None
    )


def catalogue_problems(lang: str, po: Any = None) -> list[str]:
    """What is wrong with ``lang``'s catalogue: messages of the code it lacks or no longer
    needs, entries untranslated or fuzzy, and translations whose ``{fields}`` differ from
    the message's (they would raise or lose a value at run time). ``po``: a catalogue read
    already (default: the shipped one)."""
    po = read_catalogue(lang) if po is None else po
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    have = {m.id if isinstance(m.id, str) else m.id[0] for m in po if m.id}
    problems = [f"{lang}: missing {mid!r}" for mid in sorted(wanted - have)]
    problems += [f"{lang}: not in the code any more {mid!r}" for mid in sorted(have - wanted)]
    if po.fuzzy:  # msgfmt drops a fuzzy header, and Plural-Forms with it
        problems.append(f"{lang}: the header entry is marked fuzzy")
    for m in po:
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strs = [m.string] if isinstance(m.string, str) else list(m.string)
        if m.fuzzy:
            problems.append(f"{lang}: fuzzy {ids[0]!r}")
        if not all(strs):
            problems.append(f"{lang}: untranslated {ids[0]!r}")
            continue
        try:
            want = _fields(ids[0])
            got = [_fields(s) for s in strs]
        except ValueError as exc:
            problems.append(f"{lang}: malformed {ids[0]!r}: {exc}")
            continue
        for s, fields in zip(strs, got, strict=True):
            # A plural form may leave the count out ("one mark"), never add a field.
            if fields != want and not (len(strs) > 1 and set(fields) <= set(want)):
                problems.append(f"{lang}: fields {fields} in {s!r}, message has {want}")
    return problems


def glossary() -> list[dict[str, str]]:
    """The glossary rows: ``en`` and one column per language, ``|`` between accepted forms
    (the first is the term to use; the others inflected forms of it), and a ``note``."""
    with GLOSSARY.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def glossary_problems(lang: str, po: Any = None) -> list[str]:
    """Translations of messages holding a glossary term in English that use none of the
    term's forms in ``lang`` (``po``: a catalogue read already; default the shipped one)."""
    po = read_catalogue(lang) if po is None else po
    problems = []
    for row in glossary():
        forms = [f.strip().lower() for f in row[lang].split("|") if f.strip()]
        term = re.compile(rf"\b{re.escape(row['en'])}(s|es)?\b", re.IGNORECASE)
        for m in po:
            ids = [m.id] if isinstance(m.id, str) else list(m.id)
            strs = [m.string] if isinstance(m.string, str) else list(m.string)
            # {fields} and --options are names in the code, not words of the message.
            if not m.id or not term.search(re.sub(r"\{[^{}]*\}|--[\w-]+", "", ids[0])):
                continue
            for s in strs:
                if s and not any(f in s.lower() for f in forms):
                    problems.append(
                        f"{lang}: {row['en']!r} should be {forms[0]!r} in {s!r} ({ids[0]!r})"
                    )
    return problems


def _update() -> None:
    """Write the template and bring every language's ``.po`` up to date with the code."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = extract()
    with TEMPLATE.open("wb") as fh:
        write_po(fh, template, width=100, sort_output=True, include_lineno=False)
    for lang in LANGUAGES:
        if lang == "en":
            continue
        path = _po(lang)
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang, domain=DOMAIN)
        else:
            catalog = Catalog(locale=lang, domain=DOMAIN, project="scanlab")
        catalog.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(
                fh, catalog, width=100, sort_output=True, ignore_obsolete=True, include_lineno=False
            )


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        _update()
    if command in ("update", "compile"):
        for lang in LANGUAGES:
            if lang != "en":
                (_po(lang).with_suffix(".mo")).write_bytes(compile_catalogue(lang))
        return 0
    problems = [
        p
        for lang in LANGUAGES
        if lang != "en"
        for p in catalogue_problems(lang) + glossary_problems(lang)
    ]
    count = sum(1 for m in extract() if m.id)
    ok = f"catalogues: {count} messages, complete in every language; formats and glossary agree"
    print("\n".join(problems) or ok)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
