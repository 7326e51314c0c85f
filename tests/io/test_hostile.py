"""Hostile inputs from the outside audit (issue #15): files that are not files, archives and
DICOS files that inflate far beyond their size, and mapped files truncated after reading.

Each case is built here from the audit's description; every read runs under an alarm, so a
regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.errors import CorruptFileError, ScanlabError
from scanlab.io import example_scan, read_scan, write_scan
from scanlab.io._dicos import MAX_INFLATE_RATIO, write_dicos
from scanlab.io._raw import write_raw

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and signal.alarm")


class _Hang(BaseException):
    pass


@contextmanager
def deadline(seconds: int = 5) -> Iterator[None]:
    def on_alarm(signum: int, frame: object) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    except _Hang:
        pytest.fail(f"blocked for more than {seconds} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Peak Python-allocated bytes inside the block (numpy and zlib buffers count)."""
    out: list[int] = []
    tracemalloc.start()
    try:
        yield out
    finally:
        out.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


# --- non-regular files --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x.tif", "x.npy", "x.dcs", "x.ase", "xhigh.img", "x"])
def test_a_fifo_given_as_a_scan_is_refused_at_once(tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    with deadline(), pytest.raises(ScanlabError, match="FIFO"):
        read_scan(fifo)
    with deadline(), pytest.raises(ScanlabError, match="FIFO"):
        read_scan(fifo, format="tiff")


def test_scanlab_info_on_a_fifo_exits_with_an_error(tmp_path):
    fifo = tmp_path / "x.tif"
    os.mkfifo(fifo)
    with deadline():
        result = CliRunner().invoke(app, ["info", str(fifo)])
    assert result.exit_code == 1
    assert "FIFO" in result.output


def test_a_fifo_as_npy_sidecar_is_refused(tmp_path, dual_scan):
    write_scan(dual_scan, tmp_path / "s.npy")
    (tmp_path / "s.npy.json").unlink()
    os.mkfifo(tmp_path / "s.npy.json")
    with deadline(), pytest.raises(ScanlabError, match=r"s\.npy\.json: is a FIFO"):
        read_scan(tmp_path / "s.npy")


def test_a_fifo_as_raw_sidecar_is_refused(tmp_path, dual_scan):
    write_raw(dual_scan, tmp_path / "s.raw")
    (tmp_path / "s.raw.json").unlink()
    os.mkfifo(tmp_path / "s.raw.json")
    with deadline(), pytest.raises(ScanlabError):
        read_scan(tmp_path / "s.raw")  # not recognised any more (the sniffer never blocks)
    with deadline(), pytest.raises(ScanlabError, match=r"s\.raw\.json: is a FIFO"):
        read_scan(tmp_path / "s.raw", format="raw")


def test_a_fifo_as_fs6000_sidecar_is_refused(tmp_path, dual_scan):
    files = write_scan(dual_scan, tmp_path / "s", format="fs6000")
    side = next(f for f in files if f.suffix == ".json")
    side.unlink()
    os.mkfifo(side)
    with deadline(), pytest.raises(ScanlabError, match="is a FIFO"):
        read_scan(files[0])


# --- npz: member sizes before decompression --------------------------------------------------


def _npz_with_material(path: Path, material_header_shape: tuple[int, int], payload: int) -> None:
    """A scanlab .npz whose material member claims ``material_header_shape`` and holds
    ``payload`` bytes of zeros (streamed, so the test itself never holds them)."""
    scan = example_scan(rows=24, cols=40, seed=5)
    write_scan(scan, path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    header = bytearray(b"\x93NUMPY\x01\x00")
    text = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {material_header_shape}, }}"
    text = text.ljust(118) + "\n"
    header += len(text).to_bytes(2, "little") + text.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, raw in members.items():
            zf.writestr(name, raw)
        with zf.open("material.npy", "w", force_zip64=True) as fh:
            fh.write(bytes(header))
            block = bytes(2**20)
            for _ in range(payload // len(block)):
                fh.write(block)


def test_npz_material_member_larger_than_its_header_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.npz"
    _npz_with_material(path, (24, 40), 64 * 2**20)
    assert path.stat().st_size < 2 * 2**20  # 64 MiB of zeros compress about 1000 times
    with peak_memory() as peak, pytest.raises(CorruptFileError, match="'material' declares"):
        read_scan(path)
    assert peak[0] < 8 * 2**20


def test_npz_material_member_of_another_shape_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.npz"
    _npz_with_material(path, (10_000, 10_000), 32 * 2**20)
    with peak_memory() as peak, pytest.raises(CorruptFileError, match="material plane of shape"):
        read_scan(path)
    assert peak[0] < 8 * 2**20


# --- DICOS: deflate and oversize elements -----------------------------------------------------


def _deflate(path: Path) -> None:
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)


def _add_private(path: Path, n_bytes: int) -> None:
    ds = pydicom.dcmread(path)
    block = ds.private_block(0x0011, "AUDIT", create=True)
    block.add_new(0x01, "OB", bytes(n_bytes))
    ds.save_as(path, enforce_file_format=True)


def test_deflated_dicos_reads_the_same_as_plain(tmp_path):
    # Noisy counts, as a scanner gives: deflate saves little, well under the ratio limit.
    scan = example_scan(rows=48, cols=160, seed=3)
    path = write_dicos(scan, tmp_path / "d.dcs")[0]
    _deflate(path)
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian
    back = read_scan(path)
    np.testing.assert_array_equal(back.data, scan.data)
    assert back.metadata == scan.metadata


def test_deflated_dicos_with_a_huge_private_element_is_refused_while_inflating(tmp_path):
    path = write_dicos(example_scan(rows=24, cols=40, seed=5), tmp_path / "d.dcs")[0]
    _add_private(path, 48 * 2**20)
    _deflate(path)
    size = path.stat().st_size
    assert size < 2**20
    with peak_memory() as peak, pytest.raises(CorruptFileError, match="decompression bomb"):
        read_scan(path)
    # Refused once the output passed MAX_INFLATE_RATIO times the file, not after 48 MiB.
    assert peak[0] < 2 * MAX_INFLATE_RATIO * size + 4 * 2**20


def test_deflated_dicos_of_blank_pixels_far_beyond_its_size_is_refused(tmp_path):
    # The audit's 763 KB file of 392 M pixels, scaled down: 8 M zero pixels in ~40 KB.
    blank = example_scan(rows=2000, cols=2000, seed=1).replace(
        data=np.zeros((2, 2000, 2000), np.uint16)
    )
    path = write_dicos(blank, tmp_path / "blank.dcs")[0]
    _deflate(path)
    with peak_memory() as peak, pytest.raises(CorruptFileError, match="decompression bomb"):
        read_scan(path)
    assert peak[0] < 2 * MAX_INFLATE_RATIO * path.stat().st_size + 4 * 2**20


def test_plain_dicos_with_an_oversize_private_element_is_refused_before_reading_it(tmp_path):
    path = write_dicos(example_scan(rows=24, cols=40, seed=5), tmp_path / "d.dcs")[0]
    _add_private(path, 20 * 2**20)  # more than 16 MiB of metadata for a 24 x 40 image
    with peak_memory() as peak, pytest.raises(CorruptFileError, match="oversize element"):
        read_scan(path)
    assert peak[0] < 8 * 2**20


# --- memory-mapped files truncated after reading ----------------------------------------------

_TRUNCATE = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from scanlab.io import example_scan, read_scan, write_scan
    from scanlab.io._ase import write_ase
    folder = sys.argv[1]
    scan = example_scan(rows=64, cols=96, seed=2)
    expected = float(scan.data.astype(np.float64).sum())
    for name in ("s.tif", "s.npy", "s.raw", "s.ase"):
        path = os.path.join(folder, name)
        (write_ase if name.endswith(".ase") else write_scan)(scan, path)
        back = read_scan(path)
        os.truncate(path, 0)  # another process cuts the file short
        total = float(np.asarray(back.data, dtype=np.float64).sum())
        assert total == expected, (name, total, expected)
        print(name, "ok", flush=True)
    """
)


def _run_truncation(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # In a child process: a regression kills it with SIGBUS, not the test run.
    return subprocess.run(
        [sys.executable, "-c", _TRUNCATE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]), **env},
    )


def test_scans_of_ordinary_size_survive_truncation_after_read(tmp_path):
    result = _run_truncation(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["s.tif", "ok", "s.npy", "ok", "s.raw", "ok", "s.ase", "ok"]


def test_scans_above_the_mapping_threshold_stay_mapped_and_a_truncation_kills_only_the_reader(
    tmp_path,
):
    # What the README documents for scans over SCANLAB_MMAP_BYTES: the kernel's SIGBUS.
    result = _run_truncation(tmp_path, SCANLAB_MMAP_BYTES="0")
    assert result.returncode == -signal.SIGBUS, (result.returncode, result.stderr)
    assert "ok" not in result.stdout


def test_deflated_threat_report_reads_and_a_bomb_is_refused(tmp_path):
    from scanlab.io._dicos import read_threat_report, write_threat_report

    scan_file = write_dicos(example_scan(rows=24, cols=40, seed=5), tmp_path / "s.dcs")[0]
    report = write_threat_report(
        tmp_path / "r.dcs", [{"bbox": (2, 3, 6, 9), "label": "block"}], referenced_scan=scan_file
    )
    _deflate(report)
    assert read_threat_report(report)[0]["bbox"] == (2.0, 3.0, 6.0, 9.0)
    _add_private(report, 48 * 2**20)
    _deflate(report)
    with pytest.raises(CorruptFileError, match="decompression bomb"):
        read_threat_report(report)
