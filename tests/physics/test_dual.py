"""Dual-energy ratio curves separate organic, inorganic, metal and high-Z materials."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from scanlab.errors import MissingChannelError
from scanlab.physics import (
    REFERENCE_MATERIALS,
    RatioCurve,
    get_material,
    get_scanner,
    polyenergetic_transmission,
    ratio_curve,
)

SCANNER = get_scanner("scanlab-6MV-dual")


def ratio_at(name: str, attenuation_high: float) -> float:
    """The material's ratio where its high-energy attenuation equals ``attenuation_high``."""
    material = get_material(name)
    curve = ratio_curve(
        material, np.linspace(0.01, 600.0, 600) / material.density_g_cm3, scanner=SCANNER
    )
    assert curve.attenuation_high[-1] > attenuation_high
    return float(np.interp(attenuation_high, curve.attenuation_high, curve.ratio))


@pytest.mark.parametrize("attenuation_high", [3.0, 4.0, 6.0, 8.0])
def test_ratio_separates_material_classes_at_equal_attenuation(attenuation_high):
    organic = [
        ratio_at(n, attenuation_high) for n in ("polyethylene", "water", "cocaine_hydrochloride")
    ]
    inorganic = ratio_at("aluminium", attenuation_high)
    iron = ratio_at("iron", attenuation_high)
    lead = ratio_at("lead", attenuation_high)
    assert min(organic) > inorganic > iron > lead
    assert min(organic) - iron > 0.015
    assert iron - lead > 0.008


def test_thin_high_z_is_not_separable():
    # Photoelectric absorption of the soft part of the beam: thin lead looks "organic",
    # and near -ln T_high = 2.5 lead and iron cross.
    assert ratio_at("lead", 0.5) > ratio_at("water", 0.5)
    assert abs(ratio_at("lead", 2.5) - ratio_at("iron", 2.5)) < 0.005


def test_ratio_curve_values():
    curve = ratio_curve("steel", [0.0, 5.0, 10.0], scanner=SCANNER)
    assert isinstance(curve, RatioCurve)
    assert np.isnan(curve.ratio[0]) and curve.attenuation_high[0] == 0.0
    assert np.all(np.diff(curve.attenuation_high) > 0)
    assert np.all((curve.ratio[1:] > 1.0) & (curve.ratio[1:] < 1.3))
    high, low = (
        polyenergetic_transmission({"steel": 10.0}, spectrum=s, detector=SCANNER.detector)
        for s in SCANNER.spectra
    )
    assert curve.attenuation_high[2] == pytest.approx(-np.log(high), rel=1e-12)
    assert curve.ratio[2] == pytest.approx(np.log(low) / np.log(high), rel=1e-12)


# (Z, standard atomic weight) of the elements in the reference materials (IUPAC 2021).
ELEMENTS = {
    "H": (1, 1.008), "C": (6, 12.011), "N": (7, 14.007), "O": (8, 15.999), "Na": (11, 22.990),
    "Mg": (12, 24.305), "Al": (13, 26.982), "Si": (14, 28.085), "Cl": (17, 35.45),
    "K": (19, 39.098), "Ca": (20, 40.078), "Mn": (25, 54.938), "Fe": (26, 55.845),
    "Cu": (29, 63.546), "W": (74, 183.84), "Pb": (82, 207.2), "U": (92, 238.03),
}  # fmt: skip
#: Effective atomic number each class of the dual-energy display stands for.
Z_EFF = {
    "organic": (5.0, 9.0),
    "inorganic": (10.0, 14.0),
    "metal": (25.0, 30.0),
    "high_z": (73.9, 92.1),
}


def z_eff(composition) -> float:
    """Power-law effective Z (exponent 2.94) over electron fractions: Spiers / Murty."""
    electrons = {el: w * ELEMENTS[el][0] / ELEMENTS[el][1] for el, w in composition.items()}
    total = sum(electrons.values())
    return sum(e / total * ELEMENTS[el][0] ** 2.94 for el, e in electrons.items()) ** (1 / 2.94)


def test_reference_materials_stand_for_their_class():
    assert set(REFERENCE_MATERIALS) == set(Z_EFF)
    for cls, names in REFERENCE_MATERIALS.items():
        low, high = Z_EFF[cls]
        for name in names:
            assert low <= z_eff(get_material(name).composition) <= high, (cls, name)
    # Water's effective Z is the textbook 7.42 (Spiers, exponent 2.94).
    assert z_eff(get_material("water").composition) == pytest.approx(7.42, abs=0.01)


@pytest.mark.parametrize("attenuation_high", [4.0, 6.0])
def test_every_reference_material_orders_its_class(attenuation_high):
    """At equal high-energy attenuation every organic's ratio is above every inorganic's,
    above every metal's, above every high-Z material's."""
    ratios = {
        cls: [ratio_at(n, attenuation_high) for n in names]
        for cls, names in REFERENCE_MATERIALS.items()
    }
    order = ["organic", "inorganic", "metal", "high_z"]
    for upper, lower in itertools.pairwise(order):
        assert min(ratios[upper]) > max(ratios[lower]), (upper, lower, ratios)


def test_single_energy_scanner_has_no_ratio():
    single = dataclasses.replace(SCANNER, energies_mev=(6.0,), air_photons_per_pixel=(1e5,))
    with pytest.raises(MissingChannelError):
        ratio_curve("water", [1.0], scanner=single)
