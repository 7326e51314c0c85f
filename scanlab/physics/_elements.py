"""Chemical elements Z = 1..92: symbols, standard atomic weights and formula parsing."""

from __future__ import annotations

import re
from collections.abc import Mapping

from scanlab.errors import SpecError

__all__ = [
    "ATOMIC_WEIGHTS",
    "SYMBOLS",
    "UnknownMaterialError",
    "atomic_number",
    "atomic_weight",
    "element_symbol",
    "mass_fractions",
]


class UnknownMaterialError(SpecError):
    """A material, element or scanner name that scanlab does not know."""


# fmt: off
SYMBOLS: tuple[str, ...] = (
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne",
    "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar", "K", "Ca",
    "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr",
    "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn",
    "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd",
    "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb",
    "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th",
    "Pa", "U",
)
"""Element symbols, index ``Z - 1``."""

# IUPAC 2013/2019 standard atomic weights (conventional values for elements given as an
# interval); for elements with no stable isotope, the mass number of the longest-lived one.
_WEIGHTS: tuple[float, ...] = (
    1.008, 4.002602, 6.94, 9.0121831, 10.81, 12.011, 14.007, 15.999, 18.998403163, 20.1797,
    22.98976928, 24.305, 26.9815385, 28.085, 30.973761998, 32.06, 35.45, 39.948, 39.0983, 40.078,
    44.955908, 47.867, 50.9415, 51.9961, 54.938044, 55.845, 58.933194, 58.6934, 63.546, 65.38,
    69.723, 72.630, 74.921595, 78.971, 79.904, 83.798, 85.4678, 87.62, 88.90584, 91.224,
    92.90637, 95.95, 98.0, 101.07, 102.90550, 106.42, 107.8682, 112.414, 114.818, 118.710,
    121.760, 127.60, 126.90447, 131.293, 132.90545196, 137.327, 138.90547, 140.116, 140.90766,
    144.242, 145.0, 150.36, 151.964, 157.25, 158.92535, 162.500, 164.93033, 167.259, 168.93422,
    173.045, 174.9668, 178.49, 180.94788, 183.84, 186.207, 190.23, 192.217, 195.084, 196.966569,
    200.592, 204.38, 207.2, 208.98040, 209.0, 210.0, 222.0, 223.0, 226.0, 227.0, 232.0377,
    231.03588, 238.02891,
)
# fmt: on

ATOMIC_WEIGHTS: Mapping[str, float] = dict(zip(SYMBOLS, _WEIGHTS, strict=True))
"""Standard atomic weight (g/mol) by element symbol."""

_Z_BY_SYMBOL = {symbol: z for z, symbol in enumerate(SYMBOLS, start=1)}


def atomic_number(element: str | int) -> int:
    """Atomic number Z of an element given by symbol (``"Fe"``) or number (``26``).

    Examples
    --------
    >>> atomic_number("Pb"), atomic_number(26)
    (82, 26)
    """
    if isinstance(element, str):
        z = _Z_BY_SYMBOL.get(element.strip())
        if z is None:
            raise UnknownMaterialError(
                f"unknown element symbol {element!r}: expected one of H..U (Z = 1..92), "
                "case-sensitive as in 'Fe', 'Pb'"
            )
        return z
    if isinstance(element, bool) or not isinstance(element, int) or not 1 <= element <= 92:
        raise UnknownMaterialError(f"element must be a symbol or Z in 1..92, got {element!r}")
    return element


def element_symbol(element: str | int) -> str:
    """Symbol of an element given by symbol or atomic number.

    Examples
    --------
    >>> element_symbol(74)
    'W'
    """
    return SYMBOLS[atomic_number(element) - 1]


def atomic_weight(element: str | int) -> float:
    """Standard atomic weight (g/mol) of an element.

    Examples
    --------
    >>> atomic_weight("Fe")
    55.845
    """
    return _WEIGHTS[atomic_number(element) - 1]


_TOKEN = re.compile(r"([A-Z][a-z]?)|(\()|(\))|(\d+(?:\.\d+)?)|(\s+)")


def _atom_counts(formula: str) -> dict[str, float]:
    stack: list[dict[str, float]] = [{}]
    last: dict[str, float] | str | None = None  # what a following count multiplies
    pos = 0
    while pos < len(formula):
        match = _TOKEN.match(formula, pos)
        if match is None:
            raise SpecError(f"chemical formula {formula!r}: unexpected {formula[pos]!r} at {pos}")
        symbol, opening, closing, number, _ = match.groups()
        pos = match.end()
        if symbol:
            element_symbol(symbol)  # raises for unknown symbols
            stack[-1][symbol] = stack[-1].get(symbol, 0.0) + 1.0
            last = symbol
        elif opening:
            stack.append({})
            last = None
        elif closing:
            if len(stack) == 1:
                raise SpecError(f"chemical formula {formula!r}: unbalanced ')' at {pos - 1}")
            group = stack.pop()
            for key, value in group.items():
                stack[-1][key] = stack[-1].get(key, 0.0) + value
            last = group
        elif number:
            count = float(number)
            if last is None or count <= 0:
                raise SpecError(f"chemical formula {formula!r}: misplaced count {number!r}")
            if isinstance(last, str):
                stack[-1][last] += count - 1.0
            else:
                for key, value in last.items():
                    stack[-1][key] += value * (count - 1.0)
            last = None
    if len(stack) != 1:
        raise SpecError(f"chemical formula {formula!r}: unbalanced '('")
    if not stack[0]:
        raise SpecError(f"chemical formula {formula!r} names no element")
    return stack[0]


def mass_fractions(formula: str) -> dict[str, float]:
    """Mass fraction of each element in a chemical formula.

    Parameters
    ----------
    formula : str
        Element symbols with optional counts and nested parentheses, e.g. ``"C17H21NO4"``
        (cocaine) or ``"Ca10(PO4)6(OH)2"`` (hydroxyapatite). Counts may be decimal.

    Returns
    -------
    dict of str to float
        Symbol -> mass fraction, summing to 1, in order of first appearance.

    Examples
    --------
    >>> fractions = mass_fractions("H2O")
    >>> round(fractions["H"], 4), round(fractions["O"], 4)
    (0.1119, 0.8881)
    """
    counts = _atom_counts(formula)
    masses = {symbol: n * atomic_weight(symbol) for symbol, n in counts.items()}
    total = sum(masses.values())
    return {symbol: mass / total for symbol, mass in masses.items()}
