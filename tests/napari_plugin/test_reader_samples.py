"""The reader and the sample data, through napari (run under xvfb-run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scanlab.io import Scan, write_scan
from scanlab.napari_plugin import _samples
from scanlab.napari_plugin._reader import get_reader

pytestmark = pytest.mark.napari


def test_reader_claims_scans_only(tmp_path: Path, dual_scan: Scan) -> None:
    (text := tmp_path / "notes.txt").write_text("not a scan")
    (fake := tmp_path / "fake.npz").write_bytes(b"nothing like a zip")
    scan_file = write_scan(dual_scan, tmp_path / "scan.tif")[0]
    assert get_reader(str(text)) is None
    # Named like a scan but damaged: taken, so that scanlab says what is wrong with it.
    assert get_reader(str(fake)) is not None
    assert get_reader([str(scan_file), str(text)]) is None
    assert get_reader(str(scan_file)) is not None


def test_files_of_one_fs6000_scan_open_once(tmp_path: Path, dual_scan: Scan) -> None:
    from scanlab.napari_plugin._reader import read_scans

    files = write_scan(dual_scan, tmp_path / "truck_", format="fs6000")
    layers = read_scans([str(f) for f in files if f.suffix == ".img"])
    kinds = [kind for _, _, kind in layers]
    assert kinds == ["image", "image"]  # low and high, once


@pytest.mark.parametrize("suffix", [".tif", ".npz", ".ase"])
def test_open_dual_energy_scan_in_mm(make_napari_viewer, tmp_path, dual_scan, suffix) -> None:
    path = write_scan(dual_scan, tmp_path / f"scan{suffix}")[0]
    viewer = make_napari_viewer()
    viewer.open(path, plugin="scanlab")
    name = dual_scan.metadata.scan_id
    assert [layer.name for layer in viewer.layers] == [f"{name} [low]", f"{name} [high]"]
    high = viewer.layers[f"{name} [high]"]
    assert tuple(high.scale) == dual_scan.metadata.pitch_mm
    assert [str(u) for u in high.units] == ["millimeter", "millimeter"]
    np.testing.assert_allclose(high.data, dual_scan.to_attenuation().high, rtol=1e-6)
    assert high.metadata["scan"]["scanner_model"] == dual_scan.metadata.scanner_model


def test_damaged_file_is_a_notification_not_a_crash(make_napari_viewer, tmp_path, dual_scan):
    from napari.utils.notifications import notification_manager

    path = write_scan(dual_scan, tmp_path / "scan.ase")[0]
    path.write_bytes(path.read_bytes()[:600])  # a valid header, then too few pixels
    assert get_reader(str(path)) is not None  # it claims the file...
    viewer = make_napari_viewer()
    seen = []
    notification_manager.notification_ready.connect(seen.append)
    try:
        viewer.open(path, plugin="scanlab")  # ...and must not raise on it
    finally:
        notification_manager.notification_ready.disconnect(seen.append)
    assert len(viewer.layers) == 0
    assert any("scan.ase" in str(n.message) for n in seen)


def test_sample_data_opens_with_hidden_answer_key(make_napari_viewer) -> None:
    viewer = make_napari_viewer()
    viewer.open_sample("scanlab", "sample_1")
    names = [layer.name for layer in viewer.layers]
    assert names == ["sample-00000 [low]", "sample-00000 [high]", "sample-00000 [answer key]"]
    key = viewer.layers["sample-00000 [answer key]"]
    assert not key.visible and sorted(key.features["threat_class"]) == ["cash", "stowaway"]
    assert tuple(key.scale) == (10.0, 10.0)


def test_samples_are_simulated_when_the_set_is_absent(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(_samples, "sample_dataset_dir", lambda: tmp_path / "absent")
    layers = _samples.sample_scan_1()
    assert [kw["name"] for _, kw, _ in layers][-1] == "sample-00000 [answer key]"
    assert layers[-1][1]["features"]["threat_class"] == ["stowaway", "cash"]
