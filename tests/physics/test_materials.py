"""The materials library and the monoenergetic Beer-Lambert law against raw NIST rows."""

from __future__ import annotations

import csv
import pickle
from importlib import resources

import numpy as np
import pytest

from scanlab.errors import ScanlabError, SpecError
from scanlab.physics import (
    Detector,
    Material,
    Spectrum,
    UnknownMaterialError,
    get_material,
    material_names,
    mixture,
    polyenergetic_transmission,
)


def _nist_mu_rho(symbol: str, energy_mev: float) -> float:
    """mu/rho straight from the packaged CSV row (no interpolation involved)."""
    path = resources.files("scanlab.physics") / "data" / "nist_xray_mass_attenuation.csv"
    lines = [line for line in path.read_text("utf-8").splitlines() if not line.startswith("#")]
    for row in csv.DictReader(lines):
        if row["symbol"] == symbol and float(row["energy_MeV"]) == energy_mev:
            return float(row["mu_rho_cm2_per_g"])
    raise LookupError((symbol, energy_mev))


@pytest.mark.parametrize("energy_mev", [1.0, 5.0, 10.0])
def test_monoenergetic_iron_matches_nist_row(energy_mev):
    mono = Spectrum([energy_mev], [1.0])
    transmission = polyenergetic_transmission({"iron": 10.0}, spectrum=mono, detector=Detector())
    expected = np.exp(-_nist_mu_rho("Fe", energy_mev) * 7.874 * 10.0)
    assert transmission == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("energy_mev", [1.0, 5.0, 10.0])
def test_monoenergetic_steel_matches_its_composition(energy_mev):
    steel = get_material("steel")
    mono = Spectrum([energy_mev], [1.0])
    transmission = polyenergetic_transmission({steel: 10.0}, spectrum=mono, detector=Detector())
    mu_rho = sum(w * _nist_mu_rho(s, energy_mev) for s, w in steel.composition.items())
    assert transmission == pytest.approx(np.exp(-mu_rho * steel.density_g_cm3 * 10.0), rel=1e-12)
    # Steel is 98.75 % iron: within 0.5 % of pure iron of the same density and thickness.
    iron_only = np.exp(-_nist_mu_rho("Fe", energy_mev) * steel.density_g_cm3 * 10.0)
    assert transmission == pytest.approx(iron_only, rel=5e-3)


def test_library_is_complete_and_consistent():
    required = {
        "steel", "aluminium", "wood", "plywood", "cardboard", "paper", "water", "polyethylene",
        "rubber", "glass", "concrete", "cotton", "textiles", "tobacco", "cocaine_hydrochloride",
        "heroin", "cannabis", "banknote_paper", "soft_tissue", "bone", "lead", "tungsten",
        "uranium", "cast_iron", "tyre", "diesel", "air",
    }  # fmt: skip
    assert required <= set(material_names())
    for name in material_names():
        material = get_material(name)
        assert material.name == name
        assert sum(material.composition.values()) == pytest.approx(1.0, abs=1e-12)
        assert 1e-3 < material.density_g_cm3 < 20.0


@pytest.mark.parametrize(
    ("names", "low", "high"),
    [
        (("polyethylene", "water", "wood", "cocaine_hydrochloride", "heroin"), 5.0, 9.0),
        (("aluminium", "glass", "concrete"), 10.0, 13.5),
        (("iron", "steel"), 25.5, 26.0),
        (("lead", "tungsten", "uranium"), 73.9, 92.1),
    ],
)
def test_effective_z_classes(names, low, high):
    for name in names:
        assert low <= get_material(name).z_eff <= high, name


def test_unknown_material_lists_valid_names():
    with pytest.raises(UnknownMaterialError, match=r"valid names: .*steel") as info:
        get_material("unobtainium")
    assert isinstance(info.value, ScanlabError)


def test_names_are_forgiving():
    assert get_material("Cocaine Hydrochloride") is get_material("cocaine_hydrochloride")
    assert get_material("aluminum") is get_material("aluminium")
    assert get_material("CdWO4").name == "cadmium_tungstate"


def test_material_checks_its_fields():
    with pytest.raises(SpecError, match="sum to 1"):
        Material("bad", 1.0, {"H": 0.5})
    with pytest.raises(SpecError, match="density"):
        Material("bad", -1.0, {"H": 1.0})
    with pytest.raises(SpecError, match=">= 0"):
        Material("bad", 1.0, {"H": 1.5, "O": -0.5})
    with pytest.raises(UnknownMaterialError):
        Material("bad", 1.0, {"Qq": 1.0})


def test_material_is_immutable_hashable_and_picklable():
    steel = get_material("steel")
    with pytest.raises(TypeError):
        steel.composition["Fe"] = 1.0  # type: ignore[index]
    assert pickle.loads(pickle.dumps(steel)) == steel
    assert {steel: 1}[get_material("steel")] == 1


def test_mu_is_density_times_mu_rho():
    water = get_material("water")
    energies = np.array([0.5, 2.0])
    assert np.allclose(water.mu(energies), water.mu_rho(energies) * 1.0)
    assert get_material("lead").mu(1.0) == pytest.approx(0.07102 * 11.35)


def test_mixture_adds_volumes_and_masses():
    belted = mixture("belted", {"rubber": 0.75, get_material("steel"): 0.25})
    assert belted.density_g_cm3 == pytest.approx(1 / (0.75 / 0.92 + 0.25 / 7.85))
    assert belted.composition["Fe"] == pytest.approx(0.25 * 0.9875)
    with pytest.raises(SpecError):
        mixture("bad", {"rubber": 0.5})
    tyre = get_material("tyre")
    assert 0.15 < tyre.composition["Fe"] < 0.3
