"""Every notebook in notebooks/ runs from top to bottom without error, as a researcher runs
it (``jupyter execute`` of the set-up's environment), and the figures it prints are the right
ones (checked against hand calculations, published standards and the README's table)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("SCANLAB_NOTEBOOK_OUT", str(tmp_path))
    # The README's command: the environment's jupyter, run in the folder the notebook is in
    # (a copy, so that outputs are written beside it, never into the repository).
    jupyter = Path(sys.executable).with_name("jupyter")
    assert jupyter.is_file(), f"{jupyter}: the notebooks extra is not installed"
    copy = Path(shutil.copy(path, tmp_path / path.name))
    done = subprocess.run(
        [str(jupyter), "execute", "--inplace", "--timeout=600", str(copy)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    nb = nbformat.read(copy, as_version=4)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    printed = "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )
    CHECKS.get(path.stem, lambda text: None)(printed)
    # The values of cells that end in an expression, one string per cell.
    shown = [
        o["data"].get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "execute_result"
    ]
    RESULT_CHECKS.get(path.stem, lambda results: None)(shown)


def _simulator(text: str) -> None:
    # The realism figures the README's table quotes for the 6/4 MeV scanner.
    m = re.search(r"penetration: (\d+) mm of steel \(one-pixel detail: (\d+) mm\)", text)
    assert m and (int(m[1]), int(m[2])) == (350, 225), text
    assert re.search(r"resolution: 5\.0 mm", text)
    assert len(re.findall(r"^exam-medium-\d+ ", text, flags=re.M)) == 3  # spec.count = 3
    # Exports of the nine commodities of the real set beside the real median grey: cotton's
    # and frozen poultry's real exports are dark (29), tyres' light (219).
    greys = dict(re.findall(r"^(\w[\w ]*?)\s+median grey real\s+(\d+)", text, flags=re.M))
    assert len(greys) == 9, text
    assert (greys["cotton"], greys["frozen poultry"], greys["tyres"]) == ("29", "29", "219")


def _iso6346_check_digit(owner_and_serial: str) -> int:
    """ISO 6346: letters count 10..38 skipping multiples of 11, digit i is weighted 2**i,
    and the check digit is the sum mod 11 (10 written as 0)."""
    values, n = {}, 10
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        n += n % 11 == 0
        values[letter], n = n, n + 1
    total = sum((values.get(c) or int(c)) * 2**i for i, c in enumerate(owner_and_serial))
    return total % 11 % 10


def _trainee_declaration_and_results(text: str) -> None:
    # The declaration the trainee judges: a valid ISO 6346 container number (the check digit
    # by hand) and an HS heading with packages and weight.
    m = re.search(r"^Container ([A-Z]{4}\d{6})(\d)$", text, flags=re.M)
    assert m and _iso6346_check_digit(m[1]) == int(m[2]), text
    assert re.search(r"^HS \d{4} .+: \d+ packages, \d+ kg$", text, flags=re.M), text
    # The results after submitting: one line per scan of the three, and totals that add up.
    items = re.findall(
        r"^item-\d+ (?:(\d+) of (\d+) found|(clean) scan), (\d+) false alarms?", text, flags=re.M
    )
    assert len(items) == 3, text
    found = sum(int(f or 0) for f, *_ in items)
    objects = sum(int(n or 0) for _, n, *_ in items)
    clean = [int(fa) for _, _, c, fa in items if c]
    marks_on_nothing = sum(int(fa) for *_, fa in items)
    m = re.search(r"^Objects found: (\d+) of (\d+)", text, flags=re.M)
    assert m and (int(m[1]), int(m[2])) == (found, objects), text
    m = re.search(
        r"^False alarms: (\d+) mark\(s\) on nothing; (\d+) of (\d+) clean scan", text, flags=re.M
    )
    assert m and (int(m[1]), int(m[3])) == (marks_on_nothing, len(clean)), text
    clean_marked = int(m[2])
    assert clean_marked == sum(fa > 0 for fa in clean)
    # The instructor's demonstration on the first scan: its first object boxed (a hit) and one
    # box in the air (a false alarm).
    first_found, _, first_clean, first_fa = items[0]
    assert int(first_fa) == 1 and (first_clean or int(first_found) >= 1), text
    # d' and A' by hand from those counts, log-linear rates (Hautus 1995), A' as Grier (1971).
    h = (found + 0.5) / (objects + 1)
    f = (clean_marked + 0.5) / (len(clean) + 1)
    if h >= f:
        a = 0.5 + (h - f) * (1 + h - f) / (4 * h * (1 - f))
    else:
        a = 0.5 - (f - h) * (1 + f - h) / (4 * f * (1 - h))
    z = NormalDist().inv_cdf
    m = re.search(r"^d' = (-?\d+\.\d+) \(95 % .*\), A' = (\d\.\d+)", text, flags=re.M)
    assert m and float(m[1]) == round(z(h) - z(f), 2) and float(m[2]) == round(a, 2), text


def _trainee_results(shown: list[str]) -> None:
    # A new session on the same exercise finds the two marks and the verdict saved before.
    assert any(
        re.fullmatch(r"\(\[\('m1', '\w+'\), \('m2', 'cash'\)\], True\)", r) for r in shown
    ), shown


def _enhance(text: str) -> None:
    import yaml

    # A 40 ft container behind a tractor at 5 mm pitch, read by the 6/4 MeV scanner: longer
    # than the box (ISO 668: 12.192 m) and at most an articulated vehicle's 16.5 m (EU limit);
    # taller than a 2.896 m high-cube standing on a chassis, under 5 m.
    m = re.search(r"^\((\d+), (\d+)\) \(6\.0, 4\.0\) \[(.+)\]$", text, flags=re.M)
    assert m, text
    rows_mm, cols_mm = int(m[1]) * 5, int(m[2]) * 5
    assert 12_192 < cols_mm <= 16_500 and 2_896 + 1_000 <= rows_mm <= 5_000, (rows_mm, cols_mm)
    objects = re.findall(r"'([^']+)'", m[3])
    assert len(objects) == 2 and sum("rifle" in o for o in objects) == 1, objects
    # The built-in presets as their YAML files list them, each with its steps in order.
    presets = Path(__file__).parents[1] / "scanlab" / "enhance" / "presets"
    printed = dict(re.findall(r"^(\w+) +\[(.*)\]$", text, flags=re.M))
    files = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in presets.glob("*.yaml")}
    assert set(printed) == set(files) and len(files) >= 6, printed
    for name, doc in files.items():
        assert printed[name] == ", ".join(repr(step["step"]) for step in doc["steps"]), name
    # The user's pipeline written as YAML is the one the notebook built, step by step.
    mine = yaml.safe_load(text[text.index("name: mine") :])
    assert mine == {
        "name": "mine",
        "description": "",
        "steps": [
            {"step": "window_level", "params": {"level": 3.0, "width": 4.0}},
            {"step": "negative"},
            {"step": "unsharp_mask", "params": {"radius": 2.0, "amount": 1.0}},
        ],
    }


def _instructor(text: str) -> None:
    z = NormalDist().inv_cdf
    rows = re.findall(
        r"^\s*(\S+): hits (\d+)/(\d+), clean scans marked (\d+)/(\d+), d' (-?\d+\.\d+)",
        text,
        flags=re.M,
    )
    found = {name: tuple(map(float, rest)) for name, *rest in rows}
    assert set(found) == {"perfect", "random", "misses:weapon", "clicks_everywhere"}, text
    for hits, n_signal, fas, n_noise, d in found.values():
        # Log-linear rates, by hand from the printed counts.
        by_hand = z((hits + 0.5) / (n_signal + 1)) - z((fas + 0.5) / (n_noise + 1))
        assert d == round(by_hand, 2)
    hits, n_signal, fas, n_noise, _ = found["perfect"]
    assert hits == n_signal > 0 and fas == 0 and n_noise >= 1
    assert found["clicks_everywhere"][2] == n_noise  # every clean scan marked
    weapons = len(re.findall(r"\('weapon'", text))
    assert weapons >= 1 and found["misses:weapon"][0] == n_signal - weapons


def _ratings_check(rows: list[tuple[str, str]], area_line: re.Match[str] | None) -> None:
    """The ROC area and d' a notebook printed, by hand from the ratings it printed."""
    z = NormalDist().inv_cdf
    assert area_line is not None
    signal = [int(r) for r, kind in rows if kind == "not clean"]
    noise = [int(r) for r, kind in rows if kind == "clean"]
    assert signal and noise
    wins = sum((s > n) + 0.5 * (s == n) for s in signal for n in noise)
    pairs = len(signal) * len(noise)
    area, low, high, d = (float(v) for v in area_line.groups())
    assert area == round(wins / pairs, 3)
    assert low <= area <= high
    assert d == round(2**0.5 * z((wins + 0.5) / (pairs + 1)), 3)


def _trainee(text: str) -> None:
    z = NormalDist().inv_cdf
    # Each call judged right exactly when "suspect" meets a scan that is not clean.
    calls = re.findall(r"Your call: (suspect|clear), confidence \d of 4 \((right|wrong): the "
                       r"scan is (clean|not clean)\)", text)  # fmt: skip
    assert len(calls) == 3, text
    for call, verdict, truth in calls:
        assert (verdict == "right") == ((call == "suspect") == (truth == "not clean"))
    # The session's d' from its printed counts, log-linear by hand.
    m = re.search(r"Objects found: (\d+) of (\d+).*?(\d+) of (\d+) clean scan\(s\) marked\n"
                  r".*?\nd' = (-?\d+\.\d+)", text, flags=re.S)  # fmt: skip
    assert m, text
    hits, n_signal, fas, n_noise = (int(v) for v in m.groups()[:4])
    assert float(m[5]) == round(
        z((hits + 0.5) / (n_signal + 1)) - z((fas + 0.5) / (n_noise + 1)), 2
    )
    # Practice ratings, then the exam's as grading read them from the signed submission.
    practice = re.findall(r"^item-\d+: rating ([+-]\d), (clean|not clean)$", text, flags=re.M)
    _ratings_check(practice, re.search(r"^ROC area (\S+) \[(\S+), (\S+)\], d' from ratings "
                                       r"(\S+) ", text, flags=re.M))  # fmt: skip
    graded = re.findall(r"^item-\d+: graded rating ([+-]\d), (clean|not clean)$", text, re.M)
    _ratings_check(graded, re.search(r"^ben: ROC area (\S+) \[(\S+), (\S+)\], d' from "
                                     r"ratings (\S+);", text, flags=re.M))  # fmt: skip
    assert "graded by your instructor" in text
    # The reference library shows a clean load of the goods the declaration names.
    declared = set(re.findall(r"^HS (\d{4})  ", text, flags=re.M))
    shown = re.findall(r"^HS (\d{4}) .*: a clean 20 ft container", text, flags=re.M)
    assert shown and set(shown) <= declared, text


def _detector(text: str) -> None:
    import ast

    assert re.search(r"^cargo-anomaly-v2$", text, flags=re.M), text  # the default model
    calls = re.findall(r"score (\d\.\d+),? threshold (\d\.\d+), flagged: (True|False)", text)
    assert len(calls) == 2, text  # the scan and its bare export
    for score, threshold, flagged in calls:
        assert (float(score) >= float(threshold)) == (flagged == "True")
    # The export without metadata: its pitch measured on the 40 ft container, within 3 % of
    # the pitch it was simulated at; a given pitch is used as given.
    m = re.search(r"^pitch (\S+) x (\S+) mm \(estimate\); simulated at (\S+) mm$", text, re.M)
    assert m, text
    assert abs(float(m[1]) / float(m[3]) - 1) < 0.03 and abs(float(m[2]) / float(m[3]) - 1) < 0.03
    assert re.search(r"^given: 5 x 5 mm \(option\)$", text, flags=re.M), text
    # Honest warnings: the in-domain call agrees with the printed statistics and ranges; the
    # own export is in domain, the foreign scanner's is not, and says to adapt.
    ranges = ast.literal_eval(text.split("calibrated display ranges: ")[1].splitlines()[0])
    seen = re.findall(r"^(own|foreign) export: in domain: (True|False); thin_level (\S+), "
                      r"noise_level (\S+)$", text, flags=re.M)  # fmt: skip
    assert [(who, ok) for who, ok, *_ in seen] == [("own", "True"), ("foreign", "False")], text
    for who, _, thin, noise in seen:
        inside = [
            lo <= float(v) <= hi
            for v, (lo, hi) in ((thin, ranges["thin_level"]), (noise, ranges["noise_level"]))
        ]
        assert all(inside) if who == "own" else not all(inside), (who, thin, noise, ranges)
    assert "warning: not calibrated for this scanner: run scanlab adapt" in text


def _researcher(text: str) -> None:
    rows = re.findall(r"^\s*(\S+)\s+(\d\.\d+)\s+\[(\d\.\d+), (\d\.\d+)\]", text, flags=re.M)
    assert {r[0] for r in rows} >= {"image_auroc", "pixel_auroc", "aupro_0.3"}, text
    for _, value, low, high in rows:
        assert 0.0 <= float(low) <= float(value) <= float(high) <= 1.0
    assert re.search(r"^True$", text, flags=re.M)  # the resumed run gives the same AUROC
    # The shipped model's image AUROC by brute force from the per-scan scores it printed: the
    # share of (concealed, clean) pairs in which the concealed scan scores higher.
    scores = re.findall(r"^heldout-\d+  (clean|concealed) +score (\d\.\d+)$", text, flags=re.M)
    assert len(scores) == 12, text  # spec.count = 12
    concealed = [float(v) for kind, v in scores if kind == "concealed"]
    clean = [float(v) for kind, v in scores if kind == "clean"]
    assert concealed and clean
    wins = sum((a > b) + 0.5 * (a == b) for a in concealed for b in clean)
    block = text[text.index("cargo-anomaly-v2\n") :]
    m = re.search(r"^\s+image_auroc\s+(\d\.\d+)", block, flags=re.M)
    assert m and float(m[1]) == round(wins / (len(concealed) * len(clean)), 3), text


CHECKS = {
    "01_simulator": _simulator,
    "02_trainee": lambda text: (_trainee(text), _trainee_declaration_and_results(text)),
    "03_instructor": _instructor,
    "04_enhance": _enhance,
    "05_detector": _detector,
    "06_researcher": _researcher,
}
RESULT_CHECKS = {"02_trainee": _trainee_results}


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1
