"""NIST XCOM/SRD 126 attenuation tables of the elements and their log-log interpolation."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

from scanlab.errors import SpecError
from scanlab.physics._elements import element_symbol

__all__ = [
    "MAX_ENERGY_MEV",
    "MIN_ENERGY_MEV",
    "check_energies",
    "mass_attenuation",
    "mass_energy_absorption",
]

MIN_ENERGY_MEV = 1e-3
MAX_ENERGY_MEV = 20.0
_TABLE = "nist_xray_mass_attenuation.csv"

Substance = str | int | Mapping[str, float] | Mapping[int, float]
"""An element (symbol or Z) or a composition: element -> mass fraction."""


@dataclass(frozen=True, eq=False)
class _ElementTable:
    """One element's rows; ``energies_mev`` repeats at absorption edges."""

    energies_mev: np.ndarray
    log_energy: np.ndarray
    mu_rho: np.ndarray
    mu_en_rho: np.ndarray


@functools.cache
def _tables() -> dict[str, _ElementTable]:
    text = (resources.files("scanlab.physics") / "data" / _TABLE).read_text("utf-8")
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for line in text.splitlines():
        if not line or line.startswith(("#", "symbol")):
            continue
        symbol, _z, energy, mu, mu_en = line.split(",")
        rows.setdefault(symbol, []).append((float(energy), float(mu), float(mu_en)))
    tables = {}
    for symbol, values in rows.items():
        columns = [np.ascontiguousarray(c) for c in np.array(values, dtype=np.float64).T]
        columns.insert(1, np.log(columns[0]))
        for column in columns:
            column.flags.writeable = False
        tables[symbol] = _ElementTable(*columns)
    return tables


def check_energies(energy_mev: npt.ArrayLike) -> np.ndarray:
    """``energy_mev`` as a float64 array, raising SpecError outside the table's range."""
    energy = np.asarray(energy_mev, dtype=np.float64)
    inside = (energy >= MIN_ENERGY_MEV) & (energy <= MAX_ENERGY_MEV)
    if not np.all(inside):
        bad = energy[~inside]
        raise SpecError(
            f"energy_mev must lie in [{MIN_ENERGY_MEV}, {MAX_ENERGY_MEV}] MeV (the NIST table), "
            f"got {bad.ravel()[:5]}"
        )
    return energy


def _interpolate(table: _ElementTable, values: np.ndarray, energy: np.ndarray) -> np.ndarray:
    energies = table.energies_mev
    # side="right" puts an energy that equals an edge on the segment *above* the edge, and an
    # energy inside (E_k, E_edge) on the segment that ends at the below-edge value.
    index = np.searchsorted(energies, energy, side="right") - 1
    index = np.clip(index, 0, energies.size - 2)
    lo_e, hi_e = table.log_energy[index], table.log_energy[index + 1]
    lo_v, hi_v = values[index], values[index + 1]
    slope = np.log(hi_v / lo_v) / (hi_e - lo_e)
    # mu_k * (E / E_k) ** slope reproduces the table value bit-exactly at E = E_k.
    out = lo_v * np.exp(slope * (np.log(energy) - lo_e))
    return np.where(energy == energies[index + 1], hi_v, out)


def _coefficient(substance: Substance, energy_mev: npt.ArrayLike, column: str) -> np.ndarray:
    energy = check_energies(energy_mev)
    if isinstance(substance, Mapping):
        total = np.zeros_like(energy)
        for element, fraction in substance.items():
            total += float(fraction) * _coefficient(element, energy, column)
        return total
    table = _tables()[element_symbol(substance)]
    return _interpolate(table, getattr(table, column), energy)


def mass_attenuation(substance: Substance, energy_mev: npt.ArrayLike) -> np.ndarray:
    """Mass attenuation coefficient mu/rho (cm²/g), with coherent scattering.

    Log-log interpolation of the NIST SRD 126 table (Hubbell & Seltzer, 1 keV to 20 MeV).
    Across an absorption edge each energy is interpolated within the segment on its own
    side of the edge; an energy exactly at an edge gets the value just above it.

    Parameters
    ----------
    substance : str, int or mapping
        An element symbol or atomic number, or a mapping element -> mass fraction for a
        compound or mixture (mu/rho is then the fraction-weighted sum; fractions are used
        as given).
    energy_mev : array_like
        Photon energies in MeV, within [0.001, 20].

    Returns
    -------
    ndarray
        float64 array with the shape of ``energy_mev``.

    Examples
    --------
    >>> float(mass_attenuation("Fe", 1.0))  # a table row
    0.05995
    >>> mu = mass_attenuation({"H": 0.111894, "O": 0.888106}, [1.0, 6.0])  # water
    >>> [round(float(m), 5) for m in mu]
    [0.07072, 0.0277]
    """
    return _coefficient(substance, energy_mev, "mu_rho")


def mass_energy_absorption(substance: Substance, energy_mev: npt.ArrayLike) -> np.ndarray:
    """Mass energy-absorption coefficient mu_en/rho (cm²/g), interpolated as mu/rho.

    Used for dose (air kerma, water dose) per photon fluence; see :func:`mass_attenuation`
    for the parameters.

    Examples
    --------
    >>> float(mass_energy_absorption("C", 1.0))
    0.02792
    """
    return _coefficient(substance, energy_mev, "mu_en_rho")


def _edges(element: str | int) -> np.ndarray:
    """Energies (MeV) of the absorption edges the table lists for an element."""
    energies = _tables()[element_symbol(element)].energies_mev
    return energies[:-1][np.diff(energies) == 0]
