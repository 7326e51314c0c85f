"""The outside audit's attacks on exams (issue #15), kept as regression tests: damaged
packages, hostile submission JSON, the passphrase on the command line, results readable by all.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import sys
import traceback
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.errors import PassphraseError, ScanlabError, TamperError
from scanlab.exercises import ExamPackage, Submission, read_passphrase_file, simulate_trainee

DAMAGED = "package damaged or altered"


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _local_header(path, name: str) -> int:
    with zipfile.ZipFile(path) as zf:
        return zf.getinfo(name).header_offset


def _central_entry(path, name: str) -> int:
    with zipfile.ZipFile(path) as zf:
        offset = zf.start_dir
    raw = path.read_bytes()
    while raw[offset : offset + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack("<HHH", raw[offset + 28 : offset + 34])
        if raw[offset + 46 : offset + 46 + name_len] == name.encode():
            return offset
        offset += 46 + name_len + extra_len + comment_len
    raise AssertionError(f"{name} not in the central directory")


def test_a_flip_inside_the_compressed_signature_is_damage_not_a_zlib_error(exam_path, tmp_path):
    raw = exam_path.read_bytes()
    offset = _local_header(exam_path, "signature.json")
    name_len, extra_len = struct.unpack("<HH", raw[offset + 26 : offset + 30])
    assert struct.unpack("<H", raw[offset + 8 : offset + 10])[0] == zipfile.ZIP_DEFLATED
    data = offset + 30 + name_len + extra_len
    # Several positions: some flips make zlib.error, others bad JSON or a CRC mismatch.
    for i in range(8):
        damaged = bytearray(raw)
        damaged[data + 3 + i * 7] ^= 0x55
        path = tmp_path / f"flip{i}.zip"
        path.write_bytes(bytes(damaged))
        with pytest.raises(TamperError, match=DAMAGED):
            ExamPackage.open(path)


def test_a_flipped_compression_method_is_damage_not_not_implemented(exam_path, tmp_path):
    raw = bytearray(exam_path.read_bytes())
    for offset, field in (
        (_local_header(exam_path, "signature.json"), 8),
        (_central_entry(exam_path, "signature.json"), 10),  # the copy zipfile trusts
    ):
        raw[offset + field : offset + field + 2] = struct.pack("<H", 99)  # AES: not implemented
    path = tmp_path / "method.zip"
    path.write_bytes(bytes(raw))
    with pytest.raises(TamperError, match=DAMAGED):
        ExamPackage.open(path)


def test_seeded_damage_anywhere_in_a_package_is_refused_or_harmless(exam_path, package, tmp_path):
    """Flips and truncations all over the zip: only ScanlabError escapes, and a package that
    still opens has exactly the signed content."""
    pristine = exam_path.read_bytes()
    signed = _members(exam_path)
    rng = np.random.default_rng(15)
    failures, refused = [], 0
    for case in range(120):
        data = bytearray(pristine)
        if case % 3 == 2:
            del data[int(rng.integers(len(data))) :]
        else:
            for _ in range(int(rng.integers(1, 4))):
                # Half the flips in the last 2 KB: the central directory and the small members.
                low = max(0, len(data) - 2048) if rng.random() < 0.5 else 0
                data[int(rng.integers(low, len(data)))] ^= int(rng.integers(1, 256))
        path = tmp_path / f"case{case}.zip"
        path.write_bytes(bytes(data))
        try:
            opened = ExamPackage.open(path)
            for item in opened.items:
                got = opened._read_member(item.scan_member)
                assert got == signed[item.scan_member], f"case {case}: {item.item_id} changed"
        except ScanlabError as exc:
            refused += 1
            if isinstance(exc, TamperError) and DAMAGED not in str(exc):
                failures.append(f"case {case}: {exc}")
        except AssertionError:
            raise
        except Exception:
            failures.append(f"case {case}:\n{traceback.format_exc()}")
        path.unlink()
    assert not failures, "\n".join(failures)
    assert refused > 60  # most damage is refused; the rest touched bytes nothing reads


# --- submissions ------------------------------------------------------------------------------


@pytest.fixture
def submission_file(package, keys, tmp_path):
    sub = simulate_trainee(package, "perfect", seed=0, passphrase=keys)
    return sub.submit(tmp_path / "perfect.json", token=keys.token(sub.trainee_id))


def test_deeply_nested_submission_is_refused_not_a_recursion_error(
    package, keys, submission_file, tmp_path
):
    deep = tmp_path / "deep.json"
    deep.write_text('{"scanlab_submission": 1, "items": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(TamperError, match="nested more than 32 levels"):
        Submission.load(deep, keys, package=package)
    # Deep but within the interpreter's recursion limit: refused all the same.
    moderate = tmp_path / "moderate.json"
    moderate.write_text('{"scanlab_submission": 1, "x": ' + "[" * 40 + "]" * 40 + "}")
    with pytest.raises(TamperError, match="nested more than 32 levels"):
        Submission.load(moderate, keys, package=package)


def test_scanlab_exam_grade_on_a_deep_submission_exits_with_an_error(
    exam_path, passphrase, tmp_path
):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    result = CliRunner().invoke(
        app,
        ["exam", "grade", str(exam_path), str(deep), "--out", str(tmp_path / "r.json")],
        env={"SCANLAB_PASSPHRASE": passphrase},
    )
    assert result.exit_code == 1, result.output
    assert "nested more than 32 levels" in result.output
    assert not isinstance(result.exception, RecursionError)


def test_a_duplicate_items_key_is_refused(package, keys, submission_file, tmp_path):
    text = submission_file.read_text()
    assert Submission.load(submission_file, keys, package=package).responses  # signed, valid
    # A second "items" before the signed one: json keeps the last, another parser the first.
    forged = tmp_path / "forged.json"
    forged.write_text(text.replace("{", '{"items": {},', 1))
    assert json.loads(forged.read_text())["items"] == json.loads(text)["items"]
    with pytest.raises(TamperError, match="'items' occurs twice"):
        Submission.load(forged, keys, package=package)


# --- the passphrase and the results file -------------------------------------------------------


def test_the_passphrase_is_never_a_command_line_argument(exam_path, passphrase, tmp_path):
    result = CliRunner().invoke(
        app, ["exam", "tokens", str(exam_path), "ana", "--passphrase", passphrase]
    )
    assert result.exit_code == 2  # no such option
    assert passphrase not in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_passphrase_file_must_be_private(exam_path, keys, passphrase, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(passphrase + "\n")
    secret.chmod(0o644)
    with pytest.raises(PassphraseError, match="readable by others"):
        read_passphrase_file(secret)
    runner = CliRunner()
    args = ["exam", "tokens", str(exam_path), "ana", "--passphrase-file", str(secret)]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "chmod 600" in result.output
    secret.chmod(0o600)
    assert read_passphrase_file(secret) == passphrase
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert keys.token("ana") in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_results_json_is_written_0600(exam_path, passphrase, submission_file, tmp_path):
    out = tmp_path / "results.json"
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(
            app,
            ["exam", "grade", str(exam_path), str(submission_file), "--out", str(out)],
            env={"SCANLAB_PASSPHRASE": passphrase},
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    doc = json.loads(out.read_text())
    assert doc["trainees"][0]["trainee_id"] == "perfect"
