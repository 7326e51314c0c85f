"""Class reports: HTML, CSV and the five charts, for one exam and for progress over several."""

from __future__ import annotations

import csv
import dataclasses

import pytest

from scanlab.exercises import REPORT_FILES, write_report
from scanlab.exercises._report import POOLED


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
    assert page.count("<img src=") == 5
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


def test_report_states_the_ratings_roc(results, tmp_path):
    """ratings.csv and the page give each trainee's and the pooled ROC from the ratings,
    the same figures grading computed, beside the marks' d'."""
    write_report(results, tmp_path / "report")
    rows = list(csv.DictReader((tmp_path / "report" / "ratings.csv").read_text().splitlines()))
    by = {r["trainee"]: r for r in rows}
    assert set(by) == {"perfect", "random", "misses:narcotics", "clicks_everywhere", POOLED}
    # perfect: 6 scans with an object rated 4, 2 clean rated -4 (see simulate_trainee).
    assert (by["perfect"]["rated_signal"], by["perfect"]["rated_noise"]) == ("6", "2")
    assert (by["perfect"]["area"], by["perfect"]["area_high"]) == ("1", "1")
    assert by["misses:narcotics"]["area"] == "0.75"  # 9 of 12 pairs (test_grading)
    assert by["clicks_everywhere"]["criteria"] == ""  # all rated 4: one level, no criterion
    assert by[POOLED]["rated_signal"] == str(4 * 6)
    pooled = results.pooled_ratings()
    assert float(by[POOLED]["area"]) == pytest.approx(pooled.area, abs=5e-4)
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Confidence ratings" in page and "rating_roc.png" in page
    d = results.trainee("misses:narcotics").ratings
    assert f"0.75 [{d.area_low:.2f}, {d.area_high:.2f}]" in page
    items = list(csv.DictReader((tmp_path / "report" / "items.csv").read_text().splitlines()))
    assert {r["rating"] for r in items if r["trainee"] == "perfect"} == {"4", "-4"}


def test_progress_follows_the_ratings_across_exams(results, tmp_path):
    """The progress table gives each trainee's ratings ROC area, exam by exam, as pair
    counts made here find it, with the class pooled; a trainee absent from an exam gets a
    dash."""
    import html

    from scanlab.exercises._grading import ItemOutcome

    def area(items) -> float:
        signal = [it.rating for it in items if it.rating is not None and not it.clean]
        noise = [it.rating for it in items if it.rating is not None and it.clean]
        wins = sum((s > n) + 0.5 * (s == n) for s in signal for n in noise)
        return wins / (len(signal) * len(noise))

    # Week 1: "random" was away; "perfect" called every scan suspect at 4 (area 0.5).
    perfect = results.trainee("perfect")
    flat: list[ItemOutcome] = [dataclasses.replace(it, rating=4) for it in perfect.items]
    from scanlab.exercises._grading import _ratings_roc

    week1_perfect = dataclasses.replace(perfect, items=flat, ratings=_ratings_roc(flat))
    earlier = dataclasses.replace(
        results,
        exam_id="earlier",
        exam_name="week-1",
        exam_created="2026-01-05T09:00:00+00:00",
        trainees=[week1_perfect, results.trainee("misses:narcotics")],
    )
    write_report([earlier, results], tmp_path / "report")
    page = html.unescape((tmp_path / "report" / "report.html").read_text())
    table = page.split("Area under the ROC of the clear/suspect ratings")[1].split("</table>")[0]
    rows = [row for row in table.split("<tr>")[2:]]
    week1, week2 = rows
    assert "week-1" in week1 and "test-exam" in week2
    assert area(flat) == 0.5 and "<td>0.50 [" in week1
    assert "<td>–</td>" in week1  # random was away
    for t in results.trainees:
        roc = t.ratings
        assert abs(roc.area - area(t.items)) < 1e-9
        assert f"<td>{roc.area:.2f} [{roc.area_low:.2f}, {roc.area_high:.2f}]</td>" in week2
    pooled = results.pooled_ratings()
    assert abs(pooled.area - area([it for t in results.trainees for it in t.items])) < 1e-9
    assert f"{pooled.area:.2f} [{pooled.area_low:.2f}, {pooled.area_high:.2f}]" in week2
