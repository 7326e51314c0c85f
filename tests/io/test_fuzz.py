"""Damaged files of every registered format: only ScanlabError may escape ``read_scan``.

Each format gets a small valid file set (a 24 x 40 dual-energy counts scan, or what the format
can hold), then seeded mutations of one of its files: truncation at a random offset, random
bytes overwritten (half of them in the first 64 bytes, where headers live), or both. Every read
runs under a 10 s alarm and with ``max_pixels`` low enough that a mutated size cannot make a
reader allocate much memory.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from scanlab.errors import ScanlabError
from scanlab.io import Representation, Scan, example_scan, read_scan
from scanlab.io._registry import FORMATS, Format, _load_builtin_formats

CASES_PER_FORMAT = 100
HANG_S = 10
MAX_PIXELS = 1_000_000  # the valid files hold under 2,000 pixels


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so that no reader's ``except Exception`` eats it."""


def _jpeg(folder: Path) -> list[Path]:
    path = folder / "scan.jpg"
    image = (np.arange(24 * 40) % 251).astype(np.uint8).reshape(24, 40)
    assert cv2.imwrite(str(path), image)
    return [path]


#: Makers for formats scanlab reads but does not write, by extension.
READ_ONLY_MAKERS: dict[str, Callable[[Path], list[Path]]] = {".jpg": _jpeg}


def _valid_files(fmt: Format, folder: Path) -> list[Path]:
    """A valid file set of ``fmt``; the file ``read_scan`` is given comes first."""
    if fmt.write is None:
        makers = [READ_ONLY_MAKERS[e] for e in fmt.extensions if e in READ_ONLY_MAKERS]
        assert makers, f"add a maker for the read-only format {fmt.name} to READ_ONLY_MAKERS"
        return makers[0](folder)
    dual = example_scan(rows=24, cols=40, seed=5)
    display = Scan(np.asarray(dual.high // 256, dtype=np.uint8), Representation.DISPLAY)
    for scan in (dual, display):  # some formats (PNG) hold only a rendered picture
        try:
            return fmt.write(scan, folder / f"scan{fmt.extensions[0]}")
        except ScanlabError:
            continue
    pytest.fail(f"{fmt.name} writes neither a dual-energy counts scan nor a display image")


def _mutate(raw: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    data = bytearray(raw)
    what = []
    mode = rng.integers(3)
    if mode in (1, 2) and data:
        for _ in range(int(rng.integers(1, 9))):
            limit = min(len(data), 64) if rng.random() < 0.5 else len(data)
            offset = int(rng.integers(limit))
            data[offset] = int(rng.integers(256))
            what.append(f"byte {offset}={data[offset]}")
    if mode in (0, 2):
        cut = int(rng.integers(len(data) + 1))
        del data[cut:]
        what.append(f"truncated to {cut}")
    return bytes(data), ", ".join(what)


def _on_alarm(signum: int, frame: object) -> None:
    raise _Hang


@pytest.mark.skipif(sys.platform == "win32", reason="uses signal.alarm")
def test_damaged_files_raise_only_scanlab_errors(tmp_path):
    _load_builtin_formats()
    rng = np.random.default_rng(20240601)
    failures: list[str] = []
    total = 0
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for name, fmt in sorted(FORMATS.items()):
            pristine_dir = tmp_path / name / "valid"
            pristine_dir.mkdir(parents=True)
            files = _valid_files(fmt, pristine_dir)
            pristine = {f.name: f.read_bytes() for f in files}
            read_scan(files[0], max_pixels=MAX_PIXELS)  # the valid set reads
            for case in range(CASES_PER_FORMAT):
                folder = tmp_path / name / f"case{case}"
                folder.mkdir()
                for file_name, raw in pristine.items():
                    (folder / file_name).write_bytes(raw)
                victim = files[case % len(files)].name
                damaged, what = _mutate(pristine[victim], rng)
                (folder / victim).write_bytes(damaged)
                # Half the reads recognise the format from the content, half force it, so that
                # readers also meet files whose header no longer sniffs as theirs.
                forced = name if case % 2 else None
                total += 1
                start = time.perf_counter()
                signal.alarm(HANG_S)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # parsers may warn on damage; fine
                        scan = read_scan(
                            folder / files[0].name, format=forced, max_pixels=MAX_PIXELS
                        )
                        float(np.asarray(scan.data, dtype=np.float64).sum())  # touch the map
                except ScanlabError:
                    pass
                except _Hang:
                    failures.append(f"{name} case {case} ({victim}: {what}): hung > {HANG_S} s")
                except Exception:
                    failures.append(
                        f"{name} case {case} ({victim}: {what}, format={forced}):\n"
                        + traceback.format_exc()
                    )
                finally:
                    signal.alarm(0)
                elapsed = time.perf_counter() - start
                if elapsed > HANG_S:
                    failures.append(f"{name} case {case} ({victim}: {what}): took {elapsed:.1f} s")
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert total >= 200
    assert not failures, f"{len(failures)} of {total} damaged files:\n" + "\n".join(failures)


def _read_under_alarm(path: Path, label: str, failures: list[str], **kwargs: object) -> None:
    signal.alarm(HANG_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scan = read_scan(path, max_pixels=MAX_PIXELS, **kwargs)  # type: ignore[arg-type]
            float(np.asarray(scan.data, dtype=np.float64).sum())
    except ScanlabError:
        pass
    except _Hang:
        failures.append(f"{label}: hung > {HANG_S} s")
    except Exception:
        failures.append(f"{label}:\n" + traceback.format_exc())
    finally:
        signal.alarm(0)


@pytest.mark.skipif(sys.platform == "win32", reason="uses signal.alarm and FIFOs")
def test_any_file_of_a_set_replaced_by_a_fifo_is_refused_without_blocking(tmp_path):
    """The audit's FIFO cases: a scan or any of its sidecars that is not a regular file."""
    _load_builtin_formats()
    failures: list[str] = []
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for name, fmt in sorted(FORMATS.items()):
            (tmp_path / name / "valid").mkdir(parents=True)
            files = _valid_files(fmt, tmp_path / name / "valid")
            for victim in files:
                folder = tmp_path / name / victim.name
                folder.mkdir()
                for f in files:
                    if f != victim:
                        (folder / f.name).write_bytes(f.read_bytes())
                os.mkfifo(folder / victim.name)
                for forced in (None, name):
                    label = f"{name}, {victim.name} a FIFO, format={forced}"
                    _read_under_alarm(folder / files[0].name, label, failures, format=forced)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert not failures, "\n".join(failures)


@pytest.mark.skipif(sys.platform == "win32", reason="uses signal.alarm")
def test_damaged_deflated_dicos_raise_only_scanlab_errors(tmp_path):
    """DICOS in the deflated transfer syntax, which scanlab inflates itself within bounds."""
    import pydicom
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    path = FORMATS["dicos"].write(example_scan(rows=24, cols=40, seed=5), tmp_path / "d.dcs")[0]
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    pristine = path.read_bytes()
    read_scan(path, max_pixels=MAX_PIXELS)
    rng = np.random.default_rng(20261201)
    failures: list[str] = []
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for case in range(CASES_PER_FORMAT):
            damaged, what = _mutate(pristine, rng)
            victim = tmp_path / f"case{case}.dcs"
            victim.write_bytes(damaged)
            _read_under_alarm(victim, f"deflated dicos case {case} ({what})", failures)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert not failures, "\n".join(failures)
