"""Scanner model and acquisition: determinism, noise, references, artefacts, specifications."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scanlab.errors import ScanValidationError, SpecError
from scanlab.physics import (
    ScannerModel,
    acquire,
    aperture_mean,
    basis_lookup,
    get_material,
    get_scanner,
    scanner_names,
)

SCANNER = get_scanner("scanlab-6MV-dual")
# Only quantum noise: no blur, pulse fluctuation, gains, electronics noise or interlacing.
QUIET = dataclasses.replace(
    SCANNER,
    blur_sigma_px=(0.0, 0.0),
    pulse_rms=0.0,
    monitor_rms=0.0,
    row_gain_rms=0.0,
    dark_row_rms_counts=0.0,
    read_noise_counts=0.0,
    interlaced=False,
)
QUIET_FIELDS = (
    "blur_sigma_px",
    "pulse_rms",
    "monitor_rms",
    "row_gain_rms",
    "dark_row_rms_counts",
    "read_noise_counts",
    "interlaced",
)
IRON = 7.874  # g/cm3


def iron_maps(thickness_cm: float, shape: tuple[int, int] = (64, 256)) -> np.ndarray:
    maps = np.zeros((2, *shape), dtype=np.float32)
    maps[1] = thickness_cm * IRON
    return maps


def span(scanner: ScannerModel) -> float:
    return scanner.air_fraction * (scanner.full_scale_counts - scanner.dark_counts)


def test_presets():
    assert scanner_names() == ("scanlab-6MV-dual", "scanlab-9MV-dual", "scanlab-6MV-portal")
    assert SCANNER.energies_mev == (6.0, 4.0) and SCANNER.n_channels == 2
    assert get_scanner("scanlab-6MV-dual") is SCANNER is get_scanner()
    high, low = SCANNER.air_photons_per_pixel
    assert 1e5 < low < high < 1e6
    with pytest.raises(SpecError, match="valid names"):
        get_scanner("nope")


def test_the_portal_budget_follows_from_its_dose_pulse_rate_and_distance():
    # Same linac spectra and detector as the gantry preset; per pulse the fluence scales with
    # the dose rate over the pulse rate and with 1 / distance²: (0.4 / 4.0 Gy/min) x (200 /
    # 300 pulses/s) x (6.5 / 8 m)², and likewise 0.13 / 1.3 for the low energy.
    portal = get_scanner("scanlab-6MV-portal")
    assert portal.energies_mev == SCANNER.energies_mev
    geometry = (200 / 300) * (6.5 / 8.0) ** 2
    expected = (0.4 / 4.0 * geometry, 0.13 / 1.3 * geometry)
    ratios = np.divide(portal.air_photons_per_pixel, SCANNER.air_photons_per_pixel)
    np.testing.assert_allclose(ratios, expected, rtol=1e-9)
    # Fewer photons: the air noise of a pixel grows as 1 / sqrt(budget).
    quiet = dataclasses.replace(portal, **{k: getattr(QUIET, k) for k in QUIET_FIELDS})
    noise = [
        acquire(np.zeros((2, 64, 256), np.float32), m, rng=np.random.default_rng(3))
        .transmission()[0]
        .std()
        for m in (QUIET, quiet)
    ]
    assert noise[1] / noise[0] == pytest.approx(np.sqrt(1 / expected[0]), rel=0.05)


def test_acquisition_is_deterministic_for_a_seed():
    maps = iron_maps(10.0, (16, 32))
    a = acquire(maps, SCANNER, rng=np.random.default_rng(42))
    b = acquire(maps, SCANNER, rng=np.random.default_rng(42))
    c = acquire(maps, SCANNER, rng=np.random.default_rng(43))
    assert np.array_equal(a.counts, b.counts)
    assert np.array_equal(a.pulse_output, b.pulse_output)
    assert not np.array_equal(a.counts, c.counts)


def test_counts_are_uint16_in_the_adc_range():
    maps = np.zeros((3, 20, 50), dtype=np.float32)
    maps[1, :, 25:] = 2000.0  # nothing gets through
    maps[2, 5:10, :10] = 10.0  # a lead block in air
    acq = acquire(maps, SCANNER, rng=np.random.default_rng(0))
    assert acq.counts.dtype == np.uint16 and acq.counts.shape == (2, 20, 50)
    assert acq.counts.max() < SCANNER.full_scale_counts
    assert 0.8 * 65535 < acq.counts[:, :, 12:20].mean() < 0.9 * 65535
    assert acq.counts[:, 5:10, 2:8].mean() < 0.5 * acq.counts[:, :, 12:20].mean()
    assert len(acq.air_level) == len(acq.dark_level) == 2


def test_noise_in_air_matches_the_photon_budget():
    # Independent of the implementation: N photons detected, each adding its energy.
    acq = acquire(iron_maps(0.0, (100, 1000)), QUIET, rng=np.random.default_rng(1))
    for channel, spectrum in enumerate(QUIET.spectra):
        energies = spectrum.energies_mev
        detected = spectrum.fluence * QUIET.detector.absorption(energies)
        mean_e = np.sum(detected * energies) / detected.sum()
        mean_e2 = np.sum(detected * energies**2) / detected.sum()
        photons = QUIET.air_photons_per_pixel[channel]
        relative_std = np.sqrt(photons * mean_e2) / (photons * mean_e)
        signal = acq.counts[channel].astype(float) - QUIET.dark_counts
        assert signal.mean() == pytest.approx(span(QUIET), rel=1e-4)
        assert signal.std() / signal.mean() == pytest.approx(relative_std, rel=0.03)
        assert QUIET.noise_quanta[channel] == pytest.approx(relative_std**-2, rel=1e-9)


@pytest.mark.parametrize("thickness_cm", [10.0, 25.0])
def test_noise_behind_iron_follows_the_hardened_spectrum(thickness_cm):
    # 25 cm leaves ~30 noise-equivalent quanta per pixel: the Poisson branch.
    acq = acquire(iron_maps(thickness_cm, (200, 1000)), QUIET, rng=np.random.default_rng(2))
    iron = get_material("iron")
    for channel, spectrum in enumerate(QUIET.spectra):
        energies = spectrum.energies_mev
        detected = spectrum.fluence * QUIET.detector.absorption(energies)
        behind = detected * np.exp(-iron.mu(energies) * thickness_cm)
        photons = QUIET.air_photons_per_pixel[channel] / detected.sum()
        mean = photons * np.sum(behind * energies)
        std = np.sqrt(photons * np.sum(behind * energies**2))
        scale = span(QUIET) / (photons * np.sum(detected * energies))  # counts per MeV
        signal = acq.counts[channel].astype(float) - QUIET.dark_counts
        assert signal.mean() == pytest.approx(mean * scale, rel=0.01)
        assert signal.std() == pytest.approx(std * scale, rel=0.04)


def test_references_recover_transmission_and_dark():
    maps = np.zeros((2, 64, 600), dtype=np.float32)
    maps[1, :, 200:400] = 10.0 * IRON
    maps[1, :, 400:] = 3000.0  # opaque
    acq = acquire(maps, SCANNER, rng=np.random.default_rng(3))
    expected = basis_lookup(SCANNER).transmission(maps[:, :1, [0, 300]])[:, 0]
    trans = acq.transmission()
    for channel in range(2):
        assert trans[channel, :, 10:190].mean() == pytest.approx(1.0, abs=1e-3)
        assert trans[channel, :, 210:390].mean() == pytest.approx(expected[channel, 1], rel=5e-3)
        # Raw rows differ by the detector gains (3 % rms); flat-fielded ones do not.
        raw_rows = acq.counts[channel, :, 10:190].mean(axis=1)
        assert 0.01 < raw_rows.std() / raw_rows.mean() < 0.06
        assert trans[channel, :, 10:190].mean(axis=1).std() < 1e-3
        dark = acq.counts[channel, :, 410:].mean(axis=1)
        assert np.allclose(dark, acq.dark_counts[channel], atol=0.5)


def test_pulse_fluctuation_is_independent_per_pulse_and_corrected_by_the_monitor():
    scanner = dataclasses.replace(
        QUIET, pulse_rms=0.05, air_photons_per_pixel=(1e12, 1e12), interlaced=True
    )
    acq = acquire(iron_maps(0.0, (8, 4000)), scanner, rng=np.random.default_rng(4))
    raw = acq.transmission(pulse_correction=False).mean(axis=1)  # (channel, col)
    assert raw.std(axis=1) == pytest.approx([0.05, 0.05], rel=0.1)
    assert abs(np.corrcoef(raw)[0, 1]) < 0.1  # interlaced pulses are separate pulses
    assert acq.transmission().std() < 1e-4


def test_interlaced_low_channel_is_sampled_half_a_column_later():
    scanner = dataclasses.replace(QUIET, air_photons_per_pixel=(1e12, 1e12), interlaced=True)
    maps = np.zeros((2, 4, 20), dtype=np.float32)
    maps[1, :, 10:] = 10.0 * IRON
    trans = acquire(maps, scanner, rng=np.random.default_rng(5)).transmission()
    inside = basis_lookup(scanner).transmission(maps[:, :1, 15])[:, 0]
    assert trans[0, 0, 9] == pytest.approx(1.0, abs=1e-4)
    assert trans[0, 0, 10] == pytest.approx(inside[0], rel=1e-3)
    assert trans[1, 0, 9] == pytest.approx((1.0 + inside[1]) / 2, rel=1e-3)


def test_blur_spreads_edges_more_along_the_detector_array():
    scanner = dataclasses.replace(
        QUIET, air_photons_per_pixel=(1e12, 1e12), blur_sigma_px=(0.45, 0.25)
    )
    maps = np.zeros((2, 40, 40), dtype=np.float32)
    maps[1, 20:, 20:] = 10.0 * IRON
    trans = acquire(maps, scanner, rng=np.random.default_rng(6)).transmission()[0]
    across_rows = trans[19, 30] - trans[18, 30]  # leakage one pixel from the edge
    across_cols = trans[30, 19] - trans[30, 18]
    assert trans[19, 30] < 0.95 and across_rows < -0.01
    assert trans[30, 19] > trans[19, 30] and abs(across_cols) < abs(across_rows)


@pytest.mark.parametrize("sigma", [0.25, 0.45, 1.5])
def test_blur_spreads_a_point_by_its_sigma_even_below_a_pixel(sigma):
    # A Gaussian sampled at whole pixels would keep 99.9 % of a point in its pixel at
    # sigma 0.25 px; the discrete Gaussian spreads it with variance sigma² on both axes.
    scanner = dataclasses.replace(
        QUIET, air_photons_per_pixel=(1e12, 1e12), blur_sigma_px=(sigma, sigma)
    )
    maps = np.zeros((2, 41, 41), dtype=np.float32)
    maps[1, 20, 20] = 10.0 * IRON
    absorbed = 1.0 - acquire(maps, scanner, rng=np.random.default_rng(7)).transmission()[0]
    absorbed = absorbed[12:29, 12:29] - np.median(absorbed)  # air is off by ADC rounding
    offsets = np.arange(17) - 8
    for profile in (absorbed.sum(axis=1), absorbed.sum(axis=0)):
        variance = float(np.sum(profile * offsets**2) / profile.sum())
        assert variance == pytest.approx(sigma**2, rel=0.03)


def test_a_pixel_reads_the_mean_transmission_over_its_aperture():
    # A steel web 4.5 mm thick seen along 2.35 m (black on its own) over half of each 5 mm
    # pixel of a column: the detector counts the photons through the other half.
    web = 0.45 * 235.0 * IRON
    fine = np.zeros((2, 40, 80), dtype=np.float32)
    fine[1, :, 40] = web  # one sample of two: half of pixel column 20
    seen = acquire(fine, QUIET, rng=np.random.default_rng(3), subpixels=2).transmission()
    assert seen.shape == (2, 20, 40)
    assert seen[:, :, 20].mean() == pytest.approx(0.5, abs=0.01)
    assert seen[:, :, 19].mean() == pytest.approx(1.0, abs=0.01)
    # Averaging the areal density over the pixel first leaves it black (the old way).
    averaged = acquire(aperture_mean(fine, 2), QUIET, rng=np.random.default_rng(3))
    assert averaged.transmission()[:, :, 20].mean() < 0.01


def test_sampling_finer_keeps_the_photon_budget_of_a_pixel():
    coarse = acquire(iron_maps(5.0, (100, 400)), QUIET, rng=np.random.default_rng(4))
    fine = acquire(iron_maps(5.0, (200, 800)), QUIET, rng=np.random.default_rng(4), subpixels=2)
    a, b = coarse.transmission(), fine.transmission()
    assert a.shape == b.shape
    assert b.mean() == pytest.approx(a.mean(), rel=1e-3)
    assert b.std() == pytest.approx(a.std(), rel=0.05)


def test_aperture_mean_needs_whole_blocks():
    assert aperture_mean(np.ones((2, 4, 6), np.float32), 2).shape == (2, 2, 3)
    with pytest.raises(ScanValidationError, match="3 x 3 blocks"):
        aperture_mean(np.ones((4, 6), np.float32), 3)
    with pytest.raises(ScanValidationError):
        acquire(np.zeros((2, 5, 4), np.float32), SCANNER, rng=np.random.default_rng(0), subpixels=2)


def test_bad_inputs_raise():
    with pytest.raises(ScanValidationError):
        acquire(np.zeros((2, 10)), SCANNER, rng=np.random.default_rng(0))
    with pytest.raises(ScanValidationError):
        acquire(np.zeros((5, 4, 4)), SCANNER, rng=np.random.default_rng(0))
    with pytest.raises(SpecError, match="pulse_rms"):
        dataclasses.replace(SCANNER, pulse_rms=-0.1)
    with pytest.raises(SpecError, match="air_photons_per_pixel"):
        dataclasses.replace(SCANNER, air_photons_per_pixel=(1e5,))


def _pixel_snr(scanner: ScannerModel, steel_cm: float) -> float:
    maps = np.zeros((2, 64, 256), dtype=np.float32)
    maps[:2, :, :] = (steel_cm * 7.85 * basis_lookup(scanner).decompose("steel")[:2])[:, None, None]
    trans = acquire(maps, scanner, rng=np.random.default_rng(8)).transmission()[0]
    return float(trans.mean() / trans.std())


def test_6mv_scanner_behaves_like_a_real_one():
    # Penetration: a pixel's signal stays twice its noise through 250 mm of steel but not
    # through 400 mm (vendors quote 250-400 mm for 6 MeV).
    assert _pixel_snr(SCANNER, 25.0) > 2.0 > _pixel_snr(SCANNER, 40.0)
    # Contrast sensitivity: twice the per-pixel noise behind 100 and 200 mm of steel is a
    # 1-4 % change of the steel thickness.
    lookup = basis_lookup(SCANNER)
    for steel_cm in (10.0, 20.0):
        slope = (
            np.diff(
                lookup.exact_attenuation([[0.0, 0.0], [steel_cm * 7.85, (steel_cm + 0.1) * 7.85]])[
                    0
                ]
            )[0]
            / 0.1
        )
        contrast = 2.0 / _pixel_snr(SCANNER, steel_cm) / slope / steel_cm
        assert 0.005 < contrast < 0.04
