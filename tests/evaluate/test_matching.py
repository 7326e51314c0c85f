from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.evaluate import Mark, MatchResult, match_marks
from scanlab.synth import AnswerKey

# ---- simulated trainees with known behaviour ------------------------------------------------


def test_perfect_trainee(four_object_key, box):
    marks = [box(f"m{o.object_id}", o.bbox, o.threat_class) for o in four_object_key.objects]
    res = match_marks(four_object_key, marks)
    assert res.hit_rate == 1.0
    assert res.n_false_alarms == 0
    assert res.misses == []
    assert [h.object_id for h in res.hits] == ["o1", "o2", "o3", "o4"]
    assert all(h.class_correct for h in res.hits)
    # Boxes equal to rectangular objects: IoU 1; the triangle fills 78 of its 144-pixel box.
    ious = {h.object_id: h.iou for h in res.hits}
    assert ious == pytest.approx({"o1": 1.0, "o2": 1.0, "o3": 78 / 144, "o4": 1.0})
    assert res.overlap == pytest.approx(ious)


def test_perfect_trainee_with_polygons_passes_centroid_rule(four_object_key):
    # Outlines through the boundary pixel centres (as mask_to_polygon gives them).
    marks = []
    for o in four_object_key.objects:
        r0, c0, r1, c1 = o.bbox
        if o.object_id == "o3":  # lower-left triangle: r - r0 >= c - c0
            verts = [(r0, c0), (r1 - 1, c0), (r1 - 1, c1 - 1)]
        else:
            verts = [(r0, c0), (r0, c1 - 1), (r1 - 1, c1 - 1), (r1 - 1, c0)]
        marks.append(Mark("p" + o.object_id, "polygon", verts, o.threat_class))
    for rule in ("overlap", "centroid"):
        res = match_marks(four_object_key, marks, rule=rule, require_class=True)
        assert (res.hit_rate, res.n_false_alarms) == (1.0, 0)
    # The traced triangle reproduces the object's mask exactly.
    tri = marks[2].mask(four_object_key.shape)
    np.testing.assert_array_equal(tri, four_object_key.objects[2].full_mask((64, 96)))


def test_random_clicks_on_empty_cargo_are_all_false_alarms(four_object_key, box):
    rng = np.random.default_rng(7)
    rows = rng.integers(48, 61, size=15)
    cols = rng.integers(0, 93, size=15)
    marks = [box(f"c{i}", (r, c, r + 3, c + 3), "cash") for i, (r, c) in enumerate(zip(rows, cols))]
    res = match_marks(four_object_key, marks)
    assert res.hit_rate == 0.0
    assert res.n_false_alarms == 15
    assert res.false_alarms == [f"c{i}" for i in range(15)]
    assert res.misses == ["o1", "o2", "o3", "o4"]
    assert set(res.overlap.values()) == {0.0}


def test_trainee_who_always_misses_weapons(four_object_key, box):
    marks = [
        box(o.object_id, o.bbox, o.threat_class)
        for o in four_object_key.objects
        if o.threat_class != "weapon"
    ]
    res = match_marks(four_object_key, marks)
    assert res.hit_rate == 0.75
    assert res.misses == ["o3"]
    assert res.n_false_alarms == 0


def test_trainee_clicking_everywhere(four_object_key, box):
    # An 8 x 8 grid of boxes over the whole 64 x 96 image, all called "narcotics".
    marks = [
        box(f"t{r}_{c}", (r, c, r + 8, c + 8), "narcotics")
        for r in range(0, 64, 8)
        for c in range(0, 96, 8)
    ]
    res = match_marks(four_object_key, marks)
    assert len(marks) == 96
    assert res.hit_rate == 1.0  # one tile per object, one-to-one
    assert res.n_false_alarms == 92
    assert sum(h.class_correct for h in res.hits) == 1
    strict = match_marks(four_object_key, marks, require_class=True)
    assert strict.hit_rate == 0.25
    assert [h.object_id for h in strict.hits] == ["o1"]
    assert strict.n_false_alarms == 95


def test_clean_scan_every_mark_is_a_false_alarm(box):
    key = AnswerKey("clean", (32, 32))
    res = match_marks(key, [box("a", (0, 0, 5, 5), "cash")])
    assert math.isnan(res.hit_rate)
    assert res.false_alarms == ["a"]
    assert match_marks(key, []).n_objects == 0


# ---- the rules ---------------------------------------------------------------------------------


def test_overlap_and_centroid_rules_differ_where_built_to(make_object):
    ring = np.ones((12, 12), dtype=bool)
    ring[2:10, 2:10] = False  # a hollow frame: its centre is not in the object
    key = AnswerKey(
        "rules",
        (40, 60),
        [
            make_object("ring", "cash", (2, 2, 14, 14), ring),
            make_object("bar", "weapon", (20, 10, 22, 40)),  # 2 x 30 horizontal bar
        ],
    )
    around_ring = Mark("around", "rectangle", [(2, 2), (13, 13)], "cash")
    # A 30 x 2 vertical bar crossing the middle of the horizontal one: 4 shared pixels.
    crossing = Mark("cross", "rectangle", [(6, 24), (35, 25)], "weapon")
    assert crossing.centroid == (20.5, 24.5)  # rounds to pixel (21, 25): on the bar
    overlap = match_marks(key, [around_ring, crossing], rule="overlap")
    centroid = match_marks(key, [around_ring, crossing], rule="centroid")
    assert [(h.object_id, h.mark_id) for h in overlap.hits] == [("ring", "around")]
    assert overlap.false_alarms == ["cross"]
    assert [(h.object_id, h.mark_id) for h in centroid.hits] == [("bar", "cross")]
    assert centroid.false_alarms == ["around"]
    # The crossing mark's IoU is 4 / (60 + 60 - 4); reported even under the centroid rule.
    assert centroid.hits[0].iou == pytest.approx(4 / 116)


def test_loose_box_accepted_by_coverage_and_small_box_by_inside_fraction(make_object):
    key = AnswerKey("loose", (100, 100), [make_object("o", "cash", (40, 40, 44, 44))])
    loose = Mark("loose", "rectangle", [(20, 20), (79, 79)], "cash")  # IoU 16/3600
    assert match_marks(key, [loose]).hit_rate == 1.0
    assert match_marks(key, [loose]).hits[0].iou == pytest.approx(16 / 3600)
    big = AnswerKey("big", (100, 100), [make_object("o", "cash", (10, 10, 90, 90))])
    small = Mark("small", "rectangle", [(50, 50), (52, 52)], "cash")  # 9 px, all inside
    assert match_marks(big, [small]).hit_rate == 1.0
    corner = Mark("corner", "rectangle", [(5, 5), (14, 14)], "cash")  # 25 of 100 px inside
    res = match_marks(big, [corner], min_iou=0.01)
    assert res.hits == []  # IoU 25/6475 < 0.01, covers 0.4 % of the object, 25 % inside
    assert res.overlap["o"] == pytest.approx(25 / 6475)


def test_min_iou_threshold(make_object, box):
    key = AnswerKey("iou", (40, 40), [make_object("o", "cash", (0, 0, 10, 10))])
    # 10 x 30 box: IoU 100/300 = 1/3 (covers the object fully, so use a shifted box)
    shifted = box("s", (0, 6, 10, 24), "cash")  # 40 shared px, IoU 40/240, 22 % of mark inside
    assert match_marks(key, [shifted], min_iou=0.16).hit_rate == 1.0
    assert match_marks(key, [shifted], min_iou=0.17).hit_rate == 0.0


def test_class_is_reported_or_required(four_object_key, box):
    o1 = four_object_key.objects[0]
    wrong = box("w", o1.bbox, "cash")
    loose = match_marks(four_object_key, [wrong])
    assert loose.hits[0].class_correct is False
    strict = match_marks(four_object_key, [wrong], require_class=True)
    assert strict.hits == [] and strict.false_alarms == ["w"]


# ---- one-to-one assignment -----------------------------------------------------------------


def test_two_marks_on_one_object_make_one_hit_and_one_false_alarm(four_object_key, box):
    o1 = four_object_key.objects[0]
    exact = box("exact", o1.bbox, "narcotics")
    sloppy = box("sloppy", (3, 3, 17, 17), "narcotics")
    res = match_marks(four_object_key, [sloppy, exact])
    assert [(h.object_id, h.mark_id) for h in res.hits] == [("o1", "exact")]
    assert res.false_alarms == ["sloppy"]


def test_right_class_preferred_over_higher_iou(four_object_key, box):
    o1 = four_object_key.objects[0]
    res = match_marks(
        four_object_key,
        [box("exact_wrong", o1.bbox, "cash"), box("loose_right", (4, 4, 16, 16), "narcotics")],
    )
    assert [h.mark_id for h in res.hits] == ["loose_right"]


def test_assignment_finds_the_hit_greedy_would_lose(make_object, box):
    key = AnswerKey(
        "greedy",
        (20, 30),
        [make_object("A", "cash", (0, 0, 10, 10)), make_object("B", "cash", (0, 12, 10, 22))],
    )
    m1 = box("m1", (0, 4, 10, 16), "cash")  # IoU 0.375 with A, 0.222 with B
    m2 = box("m2", (0, 0, 10, 3), "cash")  # IoU 0.3 with A only
    res = match_marks(key, [m1, m2])
    assert sorted((h.object_id, h.mark_id) for h in res.hits) == [("A", "m2"), ("B", "m1")]
    assert res.overlap == pytest.approx({"A": 0.375, "B": 40 / 180})


def _brute_force(key: AnswerKey, marks: list[Mark], min_iou: float) -> tuple[int, int, float]:
    """Best (hits, right classes, summed IoU) over all one-to-one assignments, on full images."""
    objs = [o.full_mask(key.shape) for o in key.objects]
    mks = [m.mask(key.shape) for m in marks]
    ok, iou, same = {}, {}, {}
    for (i, om), (j, mm) in itertools.product(enumerate(objs), enumerate(mks)):
        inter = (om & mm).sum()
        iou[i, j] = inter / (om | mm).sum() if inter else 0.0
        ok[i, j] = inter > 0 and (
            iou[i, j] >= min_iou or inter >= 0.5 * om.sum() or inter >= 0.5 * mm.sum()
        )
        same[i, j] = key.objects[i].threat_class == marks[j].threat_class
    best = (0, 0, 0.0)
    n_o, n_m = len(objs), len(mks)
    for perm in itertools.permutations(range(n_m + n_o), n_o):  # j >= n_m: unassigned
        pairs = [(i, j) for i, j in enumerate(perm) if j < n_m and ok[i, j]]
        score = (len(pairs), sum(same[p] for p in pairs), sum(iou[p] for p in pairs))
        if (score[0], score[1], round(score[2], 12)) > (best[0], best[1], round(best[2], 12)):
            best = score
    return best


def test_matches_brute_force_on_random_scenes(make_object):
    rng = np.random.default_rng(2024)
    classes = ["cash", "weapon"]
    total_hits = 0
    for trial in range(40):
        objects = []
        for i in range(rng.integers(1, 4)):
            r0, c0 = rng.integers(0, 20, size=2)
            h, w = rng.integers(2, 10, size=2)
            mask = rng.random((h, w)) < 0.8
            mask[0, 0] = True
            objects.append(make_object(f"o{i}", classes[i % 2], (r0, c0, r0 + h, c0 + w), mask))
        key = AnswerKey(f"rand{trial}", (30, 30), objects)
        marks = []
        for j in range(rng.integers(0, 6)):  # near a random object, jittered
            r0, c0, r1, c1 = objects[rng.integers(len(objects))].bbox + rng.uniform(-4, 4, 4)
            marks.append(
                Mark(f"m{j}", "rectangle", [(r0, c0), (r1, c1)], classes[int(rng.integers(2))])
            )
        res = match_marks(key, marks, min_iou=0.2)
        got = (len(res.hits), sum(h.class_correct for h in res.hits), sum(h.iou for h in res.hits))
        want = _brute_force(key, marks, 0.2)
        assert got[:2] == want[:2], trial
        assert got[2] == pytest.approx(want[2]), trial
        assert len(res.hits) + len(res.misses) == len(objects)
        assert len(res.hits) + res.n_false_alarms == len(marks)
        total_hits += len(res.hits)
    assert total_hits >= 40  # the scenes do exercise the assignment


def test_the_assignment_has_the_largest_total_weight_by_brute_force():
    """The Hungarian step alone, on random weight matrices of 1-5 rows and columns (some
    entries zero, as for marks that do not touch an object; every third with integer weights,
    so that optima tie): every row or every column is assigned once, and no assignment of
    the same size, tried one by one, weighs more."""
    from scanlab.evaluate._matching import _hungarian_max

    rng = np.random.default_rng(11)
    for case in range(300):
        n, m = (int(v) for v in rng.integers(1, 6, size=2))
        w = rng.random((n, m)) * (rng.random((n, m)) < 0.7)
        if case % 3 == 0:
            w = np.round(w * 4)
        pairs = _hungarian_max(w)
        rows, cols = [a for a, _ in pairs], [b for _, b in pairs]
        assert len(pairs) == min(n, m), case
        assert len(set(rows)) == len(set(cols)) == len(pairs), case
        assert all(0 <= a < n for a in rows) and all(0 <= b < m for b in cols), case
        if n <= m:
            best = max(
                sum(w[i, c] for i, c in enumerate(p)) for p in itertools.permutations(range(m), n)
            )
        else:
            best = max(
                sum(w[r, j] for j, r in enumerate(p)) for p in itertools.permutations(range(n), m)
            )
        assert sum(w[a, b] for a, b in pairs) == pytest.approx(best, abs=1e-12), case


def test_the_thresholds_are_inclusive_and_a_scan_without_marks_overlaps_nothing(make_object):
    """On a 10 x 10 object: a 10 x 10 mark 6 columns over shares 40 pixels, IoU 40 / 160 =
    0.25 exactly, a hit at min_iou 0.25; a 10 x 20 mark over its last 5 columns covers
    exactly half of the object (50 of 100, IoU 0.2), a hit at min_iou 0.5 by the half rule.
    A mark whose centroid falls on the column just past the object is no hit by centroid."""
    obj = make_object("o", "cash", (0, 0, 10, 10))
    key = AnswerKey("k", (20, 40), [obj])

    def rect(mark_id, r0, c0, r1, c1):  # covering pixels r0..r1 - 1, c0..c1 - 1
        return Mark(mark_id, "rectangle", [(r0, c0), (r1 - 1, c1 - 1)], "cash")

    assert match_marks(key, [rect("a", 0, 6, 10, 16)], min_iou=0.25).hit_rate == 1.0
    assert match_marks(key, [rect("a", 0, 6, 10, 16)], min_iou=0.26).hit_rate == 0.0
    res = match_marks(key, [rect("b", 0, 5, 10, 25)], min_iou=0.5)
    assert res.hit_rate == 1.0 and res.overlap == {"o": pytest.approx(0.2)}
    beside = Mark("c", "rectangle", [(3.0, 8.0), (7.0, 12.0)], "cash")  # centroid (5, 10)
    assert match_marks(key, [beside], rule="centroid").hit_rate == 0.0
    assert match_marks(key, []).overlap == {"o": 0.0}


def test_a_hit_outweighs_a_right_class(make_object, box):
    """Objects A (cash) and B (weapon) side by side; mark 1 (weapon) straddles both, mark 2
    (cash) is B's box. Pairing mark 1 with B would get a class right but leave mark 2 nothing
    to hit: two hits with no class right beat one hit with its class right."""
    a = make_object("A", "cash", (0, 0, 10, 10))
    b = make_object("B", "weapon", (0, 20, 10, 30))
    key = AnswerKey("two", (10, 30), [a, b])
    straddling = box("m1", (0, 5, 10, 25), "weapon")  # half of each object (IoU 0.2 each)
    on_b = box("m2", (0, 20, 10, 30), "cash")
    res = match_marks(key, [straddling, on_b])
    assert {(h.object_id, h.mark_id) for h in res.hits} == {("A", "m1"), ("B", "m2")}
    assert not any(h.class_correct for h in res.hits)


def test_many_marks_on_a_large_scan(make_object):
    # Speed is measured in benchmarks/, never asserted here: a timed assertion fails on a
    # busy machine (it broke the mutation runs) without any bug.
    rng = np.random.default_rng(5)
    objects = [
        make_object(f"o{i}", "cash", (r, c, r + 40, c + 60))
        for i, (r, c) in enumerate(rng.integers(0, 900, size=(30, 2)))
    ]
    key = AnswerKey("big", (1000, 4000), objects)
    marks = [
        Mark(f"m{j}", "rectangle", [(r, c), (r + 30, c + 50)], "cash")
        for j, (r, c) in enumerate(rng.integers(0, 950, size=(2000, 2)))
    ]
    res = match_marks(key, marks)
    assert isinstance(res, MatchResult)
    assert len(res.hits) == 30  # 2000 marks in 1000 x 950: every object is found


# ---- bad input --------------------------------------------------------------------------------


def test_bad_arguments(four_object_key, box, make_object):
    m = box("m", (0, 0, 3, 3), "cash")
    with pytest.raises(SpecError, match="rule"):
        match_marks(four_object_key, [m], rule="nearest")
    for bad in (0.0, 1.5):
        with pytest.raises(SpecError, match="min_iou"):
            match_marks(four_object_key, [m], min_iou=bad)
    with pytest.raises(SpecError, match=r"^match_marks: marks: mark_id 'm' occurs more than once$"):
        match_marks(four_object_key, [m, m])
    # min_iou = 1 is allowed: only a mark on exactly the object's pixels matches by IoU.
    o1 = four_object_key.objects[0]
    exact = box("exact", o1.bbox, o1.threat_class)
    assert [h.object_id for h in match_marks(four_object_key, [exact], min_iou=1.0).hits] == ["o1"]
    # Keys that no matching could make sense of cannot even be built.
    with pytest.raises(SpecError, match="not unique"):
        AnswerKey("dup", (20, 20), [make_object("x", "cash", (0, 0, 2, 2))] * 2)
    with pytest.raises(SpecError, match="outside"):
        AnswerKey("out", (20, 20), [make_object("x", "cash", (15, 15, 25, 25))])


def test_centroid_rule_takes_the_pixel_nearest_the_centroid(make_object):
    """Pixel (r, c) covers [r - 0.5, r + 0.5) x [c - 0.5, c + 0.5): a centroid at 10.6 lies on
    pixel 11, at 10.4 on pixel 10, and at 10.5 (the boundary) on pixel 11."""
    one = np.ones((1, 1), dtype=bool)
    key = AnswerKey(
        "px",
        (40, 40),
        [
            make_object("a", "cash", (11, 21, 12, 22), one),
            make_object("b", "cash", (30, 5, 31, 6), one),
        ],
    )

    def box(mark_id, r, c):  # a half-pixel square centred on (r, c)
        return Mark(mark_id, "rectangle", [(r - 0.25, c - 0.25), (r + 0.25, c + 0.25)], "cash")

    cases = {
        "up": (box("m", 10.6, 20.6), "a"),  # nearest pixel (11, 21); truncation gives (10, 20)
        "down": (box("m", 30.4, 5.4), "b"),  # nearest pixel (30, 5); ceiling gives (31, 6)
        "half": (box("m", 10.5, 20.5), "a"),  # boundary: half up; round-half-even gives 10
        "off": (box("m", 10.4, 20.4), None),  # pixel (10, 20): beside the object
    }
    for case, (mark, expected) in cases.items():
        assert mark.centroid == pytest.approx(
            (float(mark.vertices[0][0]) + 0.25, float(mark.vertices[0][1]) + 0.25)
        )
        hits = [h.object_id for h in match_marks(key, [mark], rule="centroid").hits]
        assert hits == ([expected] if expected else []), case
