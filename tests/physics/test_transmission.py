"""Polyenergetic Beer-Lambert transmission: monotonicity, beam hardening, broadcasting."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.physics import Detector, Spectrum, get_material, linac_spectrum
from scanlab.physics import polyenergetic_transmission as transmission

DETECTOR = Detector("cadmium_tungstate", depth_mm=30.0)


@pytest.mark.parametrize("endpoint_mev", [4.0, 6.0, 9.0])
@pytest.mark.parametrize("material", ["water", "aluminium", "steel", "lead"])
def test_transmission_falls_with_thickness(endpoint_mev, material):
    thickness = np.linspace(0.0, 300.0 / get_material(material).density_g_cm3, 60)
    t = transmission(
        {material: thickness}, spectrum=linac_spectrum(endpoint_mev), detector=DETECTOR
    )
    assert t[0] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(t) < 0)
    assert np.all(t > 0)


@pytest.mark.parametrize("material", ["water", "steel", "lead"])
def test_beam_hardening_lowers_effective_mu(material):
    thickness = np.linspace(0.5, 200.0 / get_material(material).density_g_cm3, 40)
    t = transmission({material: thickness}, spectrum=linac_spectrum(6.0), detector=DETECTOR)
    effective_mu = -np.log(t) / thickness
    assert np.all(np.diff(effective_mu) < 0)
    # The local slope (the mu that the remaining beam sees) falls too.
    local = -np.diff(np.log(t)) / np.diff(thickness)
    assert np.all(np.diff(local) < 0)


def test_a_monoenergetic_beam_does_not_harden():
    thickness = np.linspace(0.5, 30.0, 10)
    t = transmission({"steel": thickness}, spectrum=Spectrum([2.0], [1.0]), detector=DETECTOR)
    assert np.allclose(-np.log(t) / thickness, get_material("steel").mu(2.0), rtol=1e-12)


def test_stack_broadcasts_and_layer_order_does_not_matter():
    spectrum = linac_spectrum(6.0)
    steel = np.array([[0.0], [5.0], [10.0]])
    water = np.array([[0.0, 20.0, 40.0, 80.0]])
    both = transmission({"steel": steel, "water": water}, spectrum=spectrum, detector=DETECTOR)
    assert both.shape == (3, 4) and both.dtype == np.float64
    swapped = transmission({"water": water, "steel": steel}, spectrum=spectrum, detector=DETECTOR)
    assert np.allclose(both, swapped, rtol=1e-14)
    single = transmission({"steel": 5.0, "water": 40.0}, spectrum=spectrum, detector=DETECTOR)
    assert single == pytest.approx(both[1, 2], rel=1e-14)
    # Beam hardening: the second layer attenuates less than it would alone.
    assert both[2, 3] > both[2, 0] * both[0, 3]


def test_float32_stays_float32():
    thickness = np.ones((4, 5), dtype=np.float32)
    out = transmission({"steel": thickness}, spectrum=linac_spectrum(6.0), detector=DETECTOR)
    assert out.dtype == np.float32 and out.shape == (4, 5)


def test_large_arrays_are_processed_in_blocks():
    thickness = np.linspace(0.0, 40.0, 100_001)
    out = transmission({"steel": thickness}, spectrum=linac_spectrum(6.0), detector=DETECTOR)
    ref = transmission(
        {"steel": thickness[::1000]}, spectrum=linac_spectrum(6.0), detector=DETECTOR
    )
    assert np.array_equal(out[::1000], ref)


def test_bad_thickness_raises():
    spectrum = linac_spectrum(6.0)
    with pytest.raises(SpecError, match=">= 0"):
        transmission({"steel": [-1.0]}, spectrum=spectrum, detector=DETECTOR)
    with pytest.raises(SpecError, match="broadcast"):
        transmission(
            {"steel": np.ones(3), "water": np.ones(4)}, spectrum=spectrum, detector=DETECTOR
        )
    with pytest.raises(SpecError):
        transmission({}, spectrum=spectrum, detector=DETECTOR)
