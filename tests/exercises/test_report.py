"""Class reports: HTML, CSV and the four charts, for one exam and for progress over several."""

from __future__ import annotations

import csv
import dataclasses

from scanlab.exercises import REPORT_FILES, write_report


def test_report_of_two_exams(results, tmp_path):
    earlier = dataclasses.replace(
        results, exam_id="earlier", exam_name="week-1", exam_created="2026-01-05T09:00:00+00:00"
    )
    saved = earlier.save(tmp_path / "week1.json")
    files = write_report([results, saved], tmp_path / "report")
    assert [f.name for f in files] == list(REPORT_FILES)
    for png in (f for f in files if f.suffix == ".png"):
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000
    page = (tmp_path / "report" / "report.html").read_text()
    for name in ("perfect", "random", "misses:narcotics", "clicks_everywhere", "week-1"):
        assert name in page
    assert page.count("<img src=") == 4
    assert "far too few" in page  # reliability is stated

    rows = list(csv.DictReader((tmp_path / "report" / "scores.csv").read_text().splitlines()))
    assert {r["exam"] for r in rows} == {"week-1", "test-exam"}
    perfect = next(
        r for r in rows
        if r["exam"] == "test-exam" and r["trainee"] == "perfect" and r["breakdown"] == "overall"
    )  # fmt: skip
    assert (perfect["hits"], perfect["n_signal"], perfect["d_prime"]) == ("6", "6", "2.433")
    items = list(csv.DictReader((tmp_path / "report" / "items.csv").read_text().splitlines()))
    assert len(items) == 2 * 4 * 8  # exams x trainees x items
