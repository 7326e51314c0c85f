from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from scanlab.errors import ScanlabError, SpecError
from scanlab.evaluate import Mark, read_marks, write_marks


def test_two_corner_rectangle_covers_corner_pixels_inclusive():
    m = Mark("m", "rectangle", [(2, 3), (5, 9)], "cash")
    mask = m.mask((10, 12))
    assert m.bbox == (2, 3, 6, 10)
    assert mask.sum() == 4 * 7
    assert mask[2:6, 3:10].all()


def test_four_corner_rectangle_equals_two_corner_form():
    two = Mark("a", "rectangle", [(2, 3), (5, 9)], "cash")
    four = Mark("b", "rectangle", [(2, 3), (2, 9), (5, 9), (5, 3)], "cash")
    np.testing.assert_array_equal(two.mask((10, 12)), four.mask((10, 12)))


def test_fractional_vertices_take_pixels_whose_centres_are_inside():
    m = Mark("m", "rectangle", [(1.6, 1.4), (3.4, 4.6)], "cash")
    assert m.bbox == (2, 2, 4, 5)
    assert m.mask((8, 8)).sum() == 2 * 3


def test_polygon_mask_and_centroid():
    tri = Mark("t", "polygon", [(0, 0), (0, 9), (9, 0)], "weapon")
    mask = tri.mask((12, 12))
    # Pixel (r, c) is inside the closed triangle iff r + c <= 9.
    rr, cc = np.mgrid[:12, :12]
    np.testing.assert_array_equal(mask, rr + cc <= 9)
    assert tri.centroid == pytest.approx((3.0, 3.0))


def test_centroid_of_concave_polygon_is_area_weighted():
    # An L: a 4 x 1 bar (rows 0-4, cols 0-1) and a 1 x 3 foot (rows 3-4, cols 1-4).
    ell = Mark("l", "polygon", [(0, 0), (4, 0), (4, 4), (3, 4), (3, 1), (0, 1)], "cash")
    # bar: area 4, centre (2, 0.5); foot: area 3, centre (3.5, 2.5)
    assert ell.centroid == pytest.approx(((4 * 2 + 3 * 3.5) / 7, (4 * 0.5 + 3 * 2.5) / 7))


def test_degenerate_outline_centroid_is_mean_vertex():
    line = Mark("l", "polygon", [(0, 0), (2, 2), (4, 4)], "cash")
    assert line.centroid == (2.0, 2.0)


def test_mask_is_clipped_at_image_edges():
    m = Mark("m", "rectangle", [(-5, -5), (2, 50)], "cash")
    mask = m.mask((10, 10))
    assert mask.shape == (10, 10)
    assert mask.sum() == 3 * 10
    r0, c0, local = m.local_mask((10, 10))
    assert (r0, c0, local.shape) == (0, 0, (3, 10))
    outside = Mark("o", "rectangle", [(20, 20), (30, 30)], "cash")
    assert not outside.mask((10, 10)).any()


def test_dict_round_trip_with_timestamps():
    m = Mark(
        "m1",
        "polygon",
        [(1.5, 2.0), (3, 4), (5, 1)],
        "narcotics",
        confidence=0.25,
        created="2024-05-01T10:00:00Z",
        modified=datetime(2024, 5, 1, 10, 5, tzinfo=UTC),
    )
    assert m.created == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    d = m.to_dict()
    assert d["created"] == "2024-05-01T10:00:00+00:00"
    json.dumps(d)
    assert Mark.from_dict(d) == m
    assert Mark.from_dict(json.loads(json.dumps(d))) == m


def test_trainee_defaults():
    m = Mark.from_dict(
        {
            "mark_id": "x",
            "shape": "polygon",
            "vertices": [[0, 0], [0, 3], [3, 0]],
            "threat_class": "cash",
        }
    )
    assert m.confidence == 1.0
    assert m.created is None and m.modified is None


def test_file_round_trip(tmp_path):
    marks = [
        Mark("a", "rectangle", [(0, 0), (4, 4)], "cash"),
        Mark("b", "polygon", [(0, 0), (0, 4), (4, 0)], "weapon", confidence=0.5),
    ]
    path = write_marks(tmp_path / "marks.json", marks)
    assert read_marks(path) == marks


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"threat_class": "bananas"}, "threat_class"),
        ({"shape": "circle"}, "shape"),
        ({"shape": "polygon", "vertices": [(0, 0), (1, 1)]}, "at least 3 vertices"),
        ({"vertices": [(0, 0), (1, 1), (2, 2)]}, "rectangle needs 2"),
        ({"vertices": [(0, 0), (float("nan"), 1)]}, "vertices must be finite"),
        ({"vertices": [(0, 0), (float("inf"), 1)]}, "vertices must be finite"),
        ({"vertices": [(0, 0, 0), (1, 1, 1)]}, "vertices"),
        ({"vertices": [("a", 0), (1, 1)]}, "vertices"),
        ({"confidence": 1.5}, "confidence"),
        ({"confidence": "high"}, "confidence"),
        ({"created": "yesterday"}, "created"),
        ({"modified": 12}, "modified"),
        ({"mark_id": ""}, "mark_id"),
    ],
)
def test_invalid_marks_raise_spec_error_naming_the_field(kwargs, field):
    args = {
        "mark_id": "m",
        "shape": "rectangle",
        "vertices": [(0, 0), (3, 3)],
        "threat_class": "cash",
    } | kwargs
    with pytest.raises(SpecError, match=field):
        Mark(**args)


def test_from_dict_names_missing_and_unknown_fields():
    with pytest.raises(SpecError, match="threat_class"):
        Mark.from_dict({"mark_id": "m", "shape": "rectangle", "vertices": [[0, 0], [1, 1]]})
    good = Mark("m", "rectangle", [(0, 0), (1, 1)], "cash").to_dict()
    with pytest.raises(SpecError, match="colour"):
        Mark.from_dict(good | {"colour": "red"})
    with pytest.raises(SpecError):
        Mark.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]


def test_read_marks_rejects_bad_files(tmp_path):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"marks": []}))
    dupes = tmp_path / "dupes.json"
    d = Mark("same", "rectangle", [(0, 0), (1, 1)], "cash").to_dict()
    dupes.write_text(json.dumps({"scanlab_marks": 1, "marks": [d, d]}))
    bad_mark = tmp_path / "bad_mark.json"
    bad_mark.write_text(json.dumps({"scanlab_marks": 1, "marks": [d | {"threat_class": "x"}]}))
    for path, msg in [
        (bad_json, "not valid JSON"),
        (wrong, "not a scanlab marks file"),
        (dupes, "more than once"),
        (bad_mark, "threat_class"),
        (tmp_path / "missing.json", "cannot read"),
    ]:
        with pytest.raises(ScanlabError, match=msg) as info:
            read_marks(path)
        assert path.name in str(info.value)


def test_write_marks_refuses_duplicate_ids(tmp_path):
    m = Mark("same", "rectangle", [(0, 0), (1, 1)], "cash")
    with pytest.raises(SpecError, match="more than once"):
        write_marks(tmp_path / "m.json", [m, m])
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("shape", [(5, 20), (20, 5)])
def test_clipping_uses_each_axis_of_a_non_square_image(shape):
    # A mark from row 3 to 10 and column 2 to 4 on a 5 x 20 image keeps rows 3-4 (2 x 3
    # pixels); on a 20 x 5 image, all 8 rows and columns 2-4 (8 x 3).
    m = Mark("m", "rectangle", [(3, 2), (10, 4)], "cash")
    rows = min(shape[0], 11) - 3
    mask = m.mask(shape)
    assert mask.dtype == bool and mask.shape == shape
    assert mask.sum() == rows * 3 and mask[3 : 3 + rows, 2:5].all()
    r0, c0, local = m.local_mask(shape)
    assert (r0, c0, local.shape, local.dtype) == (3, 2, (rows, 3), np.dtype(bool))
    # A mark below the image's last row (but within its width) covers nothing.
    below = Mark("b", "rectangle", [(shape[0] + 1, 0), (shape[0] + 3, 2)], "cash")
    assert not below.mask(shape).any()


def test_a_detector_mark_may_have_confidence_zero():
    assert Mark("d", "rectangle", [(0, 0), (1, 1)], "cash", confidence=0.0).confidence == 0.0
    with pytest.raises(SpecError, match=r"^mark 'd': confidence must be in \[0, 1\], got -0.1"):
        Mark("d", "rectangle", [(0, 0), (1, 1)], "cash", confidence=-0.1)


@pytest.mark.parametrize("field", ["created", "modified"])
def test_a_bad_timestamp_names_the_mark_and_the_field(field):
    with pytest.raises(
        SpecError, match=rf"^mark 'm7': {field} must be an ISO 8601 string or datetime, got 'x'"
    ):
        Mark("m7", "rectangle", [(0, 0), (1, 1)], "cash", **{field: "x"})


def test_from_dict_messages_name_the_mark_and_the_type():
    with pytest.raises(SpecError, match=r"^a mark must be a JSON object, got list$"):
        Mark.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(SpecError, match=r"^mark 'm3': missing field\(s\) \['threat_class'\]$"):
        Mark.from_dict({"mark_id": "m3", "shape": "rectangle", "vertices": [[0, 0], [1, 1]]})
    # Without an id, the mark is named '?'.
    with pytest.raises(SpecError, match=r"^mark '\?': missing field\(s\) \['mark_id'\]$"):
        Mark.from_dict({"shape": "rectangle", "vertices": [[0, 0], [1, 1]], "threat_class": "cash"})


def test_file_errors_name_the_file(tmp_path):
    m = Mark("same", "rectangle", [(0, 0), (1, 1)], "cash")
    with pytest.raises(SpecError, match=r"m\.json: mark_id 'same' occurs more than once"):
        write_marks(tmp_path / "m.json", [m, m])
    not_a_list = tmp_path / "not_a_list.json"
    not_a_list.write_text(json.dumps({"scanlab_marks": 1, "marks": {"a": 1}}))
    with pytest.raises(SpecError, match=r"not_a_list\.json: field 'marks' must be a list"):
        read_marks(not_a_list)


def test_vertex_and_version_errors_name_the_mark_and_the_file(tmp_path):
    with pytest.raises(SpecError, match=r"^mark 'm2': vertices must be finite"):
        Mark("m2", "rectangle", [(0, 0), (float("nan"), 1)], "cash")
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"scanlab_marks": 2, "marks": []}))
    with pytest.raises(SpecError, match=r"newer\.json: scanlab_marks version 2 is not supported"):
        read_marks(newer)
