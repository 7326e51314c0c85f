"""Linac spectra, the scintillator detector and the photon budget."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.physics import Detector, Spectrum, linac_spectrum, photons_per_pixel


@pytest.mark.parametrize("endpoint_mev", [4.0, 6.0, 9.0])
def test_linac_spectrum_grid_and_shape(endpoint_mev):
    spectrum = linac_spectrum(endpoint_mev)
    energies, fluence = spectrum.energies_mev, spectrum.fluence
    assert energies.size == 100
    assert 0.1 < energies[0] < 0.2 and endpoint_mev - 0.1 < energies[-1] < endpoint_mev
    assert fluence.sum() == pytest.approx(1.0)
    assert np.all(fluence > 0)
    # Filtered low end, a peak well below 1 MeV, then a monotone fall to the endpoint.
    peak = int(np.argmax(fluence))
    assert 0.2 < energies[peak] < 0.6
    assert np.all(np.diff(fluence[peak:]) < 0)
    assert fluence[-1] < 1e-3 * fluence[peak]


def test_spectra_harden_with_endpoint_and_filtration():
    means = [linac_spectrum(e).mean_energy_mev for e in (4.0, 6.0, 9.0)]
    assert means == sorted(means)
    assert 0.8 < means[1] < 1.3
    bare = linac_spectrum(6.0, filtration_mm={})
    thick = linac_spectrum(6.0, filtration_mm={"tungsten": 1.0, "copper": 10.0})
    assert bare.mean_energy_mev < means[1] < thick.mean_energy_mev


def test_linac_spectrum_is_cached_and_read_only():
    spectrum = linac_spectrum(6.0)
    assert linac_spectrum(6.0) is spectrum
    with pytest.raises(ValueError, match="read-only"):
        spectrum.fluence[0] = 1.0


def test_spectrum_checks_its_arrays():
    with pytest.raises(SpecError):
        Spectrum([1.0, 2.0], [1.0])
    with pytest.raises(SpecError):
        Spectrum([2.0, 1.0], [1.0, 1.0])
    with pytest.raises(SpecError):
        Spectrum([1.0], [0.0])
    with pytest.raises(SpecError):
        Spectrum([30.0], [1.0])
    with pytest.raises(SpecError):
        linac_spectrum(0.5)


def test_filtered_spectrum_is_beer_lambert_per_bin():
    spectrum = Spectrum([1.0, 5.0], [1.0, 1.0])
    filtered = spectrum.filtered("iron", 2.0)
    assert filtered.fluence[0] == pytest.approx(np.exp(-0.05995 * 7.874 * 2.0))


def test_detector_absorption_and_weights():
    energies = np.array([0.5, 1.0, 3.0, 6.0])
    cdwo4 = Detector("cadmium_tungstate", depth_mm=30.0)
    csi = Detector("cesium_iodide", depth_mm=30.0)
    thin = Detector("cadmium_tungstate", depth_mm=10.0)
    assert np.all((cdwo4.absorption(energies) > 0.5) & (cdwo4.absorption(energies) < 1.0))
    assert np.all(cdwo4.absorption(energies) > csi.absorption(energies))  # denser, higher Z
    assert np.all(cdwo4.absorption(energies) > thin.absorption(energies))
    spectrum = linac_spectrum(6.0)
    weights = cdwo4.signal_weights(spectrum)
    assert weights.sum() == pytest.approx(1.0)
    # The signal weights energy: its mean sits above the photon mean.
    assert np.sum(weights * spectrum.energies_mev) > spectrum.mean_energy_mev
    assert 0.4 < cdwo4.swank_factor(spectrum) < 0.8
    assert cdwo4.swank_factor(Spectrum([2.0], [1.0])) == pytest.approx(1.0)
    with pytest.raises(SpecError):
        Detector("cadmium_tungstate", depth_mm=0.0)


def test_photon_budget_follows_dose_and_inverse_square():
    spectrum, detector = linac_spectrum(6.0), Detector()
    base = photons_per_pixel(
        spectrum, detector, dose_gy_at_1m=1e-3, distance_m=1.0, pixel_area_mm2=100.0
    )
    assert photons_per_pixel(
        spectrum, detector, dose_gy_at_1m=2e-3, distance_m=2.0, pixel_area_mm2=100.0
    ) == pytest.approx(base / 2)
    # 1 mGy of water kerma from a ~1 MeV beam is ~3e8 photons/cm² at 1 m (hand estimate:
    # 1e-3 J/kg / (1 MeV * 0.03 cm²/g)); this element of 1 cm² detects ~80 % of them.
    assert 1e8 < base < 1e9
    with pytest.raises(SpecError):
        photons_per_pixel(spectrum, detector, dose_gy_at_1m=0.0, distance_m=1.0, pixel_area_mm2=1.0)
