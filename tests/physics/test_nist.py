"""NIST table loading, log-log interpolation across absorption edges, formulas."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pytest

from scanlab.errors import ScanlabError, SpecError
from scanlab.physics import (
    UnknownMaterialError,
    atomic_number,
    atomic_weight,
    element_symbol,
    mass_attenuation,
    mass_energy_absorption,
    mass_fractions,
)


def _rows() -> dict[str, list[tuple[float, float, float]]]:
    """The packaged CSV parsed with the csv module, independently of the loader."""
    path = resources.files("scanlab.physics") / "data" / "nist_xray_mass_attenuation.csv"
    lines = [line for line in path.read_text("utf-8").splitlines() if not line.startswith("#")]
    out: dict[str, list[tuple[float, float, float]]] = {}
    for row in csv.DictReader(lines):
        out.setdefault(row["symbol"], []).append(
            (
                float(row["energy_MeV"]),
                float(row["mu_rho_cm2_per_g"]),
                float(row["mu_en_rho_cm2_per_g"]),
            )
        )
    return out


ROWS = _rows()


def test_table_has_all_elements_in_order():
    assert list(ROWS) == [element_symbol(z) for z in range(1, 93)]
    for values in ROWS.values():
        energies = [e for e, _, _ in values]
        assert energies[0] == 1e-3 and energies[-1] == 20.0
        assert np.all(np.diff(energies) >= 0)


@pytest.mark.parametrize("symbol", ["H", "C", "O", "Al", "Fe", "Cd", "W", "Pb", "U"])
def test_reproduces_table_points_exactly(symbol):
    values = np.array(ROWS[symbol])
    energies, mu, mu_en = values.T
    # At a repeated (edge) energy the value above the edge is returned; elsewhere every
    # row must come back bit for bit.
    single = np.append(np.diff(energies) != 0, True)
    assert np.array_equal(mass_attenuation(symbol, energies[single]), mu[single])
    assert np.array_equal(mass_energy_absorption(symbol, energies[single]), mu_en[single])
    # Every row, edges included, and by atomic number: the last row of each energy.
    assert np.array_equal(
        mass_attenuation(atomic_number(symbol), energies),
        mu[np.searchsorted(energies, energies, side="right") - 1],
    )


@pytest.mark.parametrize("symbol", ["H", "Fe", "Pb"])
def test_interpolation_is_log_log_between_points(symbol):
    values = np.array(ROWS[symbol])
    energies, mu = values[:, 0], values[:, 1]
    for i in np.nonzero(np.diff(energies) > 0)[0]:
        geometric_mean = np.sqrt(energies[i] * energies[i + 1])
        expected = np.sqrt(mu[i] * mu[i + 1])
        assert mass_attenuation(symbol, geometric_mean) == pytest.approx(expected, rel=1e-12)
        # A quarter of the way in log energy is a quarter of the way in log mu.
        quarter = energies[i] ** 0.75 * energies[i + 1] ** 0.25
        expected = mu[i] ** 0.75 * mu[i + 1] ** 0.25
        assert mass_attenuation(symbol, quarter) == pytest.approx(expected, rel=1e-12)


def test_lead_k_edge_uses_the_segment_on_each_side():
    values = np.array(ROWS["Pb"])
    energies, mu = values[:, 0], values[:, 1]
    k = np.nonzero((np.diff(energies) == 0) & (energies[:-1] > 0.08))[0][0]
    edge, below, above = energies[k], mu[k], mu[k + 1]
    assert edge == pytest.approx(0.0880045)
    assert below == pytest.approx(1.910) and above == pytest.approx(7.683)
    assert mass_attenuation("Pb", edge * (1 - 1e-9)) == pytest.approx(below, rel=1e-7)
    assert mass_attenuation("Pb", edge) == above
    assert mass_attenuation("Pb", edge * (1 + 1e-9)) == pytest.approx(above, rel=1e-7)
    # Just below the edge: log-log between the previous row and the below-edge value.
    e0, mu0 = energies[k - 1], mu[k - 1]
    energy = 0.085
    slope = np.log(below / mu0) / np.log(edge / e0)
    assert mass_attenuation("Pb", energy) == pytest.approx(mu0 * (energy / e0) ** slope, rel=1e-12)
    # Just above: between the above-edge value and the next row.
    e2, mu2 = energies[k + 2], mu[k + 2]
    energy = 0.095
    slope = np.log(mu2 / above) / np.log(e2 / edge)
    assert mass_attenuation("Pb", energy) == pytest.approx(
        above * (energy / edge) ** slope, rel=1e-12
    )


def test_compound_is_mass_fraction_weighted_sum():
    energies = np.array([0.5, 1.0, 6.0])
    water = {"H": 0.111894, "O": 0.888106}
    expected = 0.111894 * mass_attenuation("H", energies) + 0.888106 * mass_attenuation(
        "O", energies
    )
    assert np.allclose(mass_attenuation(water, energies), expected, rtol=1e-14)
    assert mass_attenuation(water, 1.0) == pytest.approx(0.07072, rel=1e-3)  # NIST water


def test_shapes_are_kept():
    assert mass_attenuation("Fe", 1.0).shape == ()
    assert mass_attenuation("Fe", np.ones((2, 3))).shape == (2, 3)


@pytest.mark.parametrize("energy", [5e-4, 25.0, np.nan])
def test_energy_outside_table_raises(energy):
    with pytest.raises(SpecError, match="energy_mev"):
        mass_attenuation("Fe", [1.0, energy])


@pytest.mark.parametrize("element", ["Xx", "fe", 0, 93, True, 2.0])
def test_unknown_element_raises(element):
    with pytest.raises(UnknownMaterialError):
        mass_attenuation(element, 1.0)
    assert issubclass(UnknownMaterialError, ScanlabError)


def test_atomic_weights():
    assert atomic_weight("H") == pytest.approx(1.008)
    assert atomic_weight(26) == pytest.approx(55.845)
    assert atomic_weight("U") == pytest.approx(238.02891)


def test_mass_fractions_of_formulas():
    cocaine = mass_fractions("C17H21NO4")
    molar_mass = 17 * 12.011 + 21 * 1.008 + 14.007 + 4 * 15.999
    assert cocaine["C"] == pytest.approx(17 * 12.011 / molar_mass)
    assert sum(cocaine.values()) == pytest.approx(1.0)
    assert molar_mass == pytest.approx(303.35, abs=0.01)
    apatite = mass_fractions("Ca10(PO4)6(OH)2")
    assert apatite["Ca"] == pytest.approx(10 * 40.078 / 1004.6, rel=1e-3)
    assert mass_fractions("CH3CH2OH") == pytest.approx(mass_fractions("C2H6O"))
    assert mass_fractions("C2.5H4") == pytest.approx(mass_fractions("C5H8"))


@pytest.mark.parametrize("formula", ["", "H2)", "(H2", "2H", "H0", "h2o", "Xy2"])
def test_bad_formula_raises(formula):
    with pytest.raises(SpecError):
        mass_fractions(formula)
