from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from scanlab import enhance as en
from scanlab.enhance import Pipeline, Step, list_presets, load_preset
from scanlab.errors import MissingChannelError, ScanValidationError, SpecError
from scanlab.io import Scan, ScanMetadata

BUILT_IN = {"standard", "high_penetration", "low_density", "edges", "material", "density_highlight"}


def test_built_in_presets_load_and_check():
    assert BUILT_IN <= set(list_presets())
    for name in list_presets():
        pipe = load_preset(name)
        assert pipe.name == name and pipe.description and pipe.steps
    with pytest.raises(SpecError, match="'nope'"):
        load_preset("nope")


@pytest.mark.parametrize("name", sorted(BUILT_IN - {"material"}))
def test_single_energy_presets_run_on_attenuation(name, att):
    out = load_preset(name).apply(att)
    assert out.shape[:2] == att.shape
    assert out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_standard_preset_shows_air_white_and_dense_cargo_dark(att):
    out = load_preset("standard").apply(att)
    assert out[att < 0.05].mean() > 0.95
    assert out[att > 3.5].mean() < 0.1


@pytest.mark.parametrize("fmt", ["json", "yaml", "yml"])
def test_pipelines_round_trip_through_files(fmt, tmp_path):
    pipe = Pipeline(
        (
            Step("flat_field", {"air_cols": [0, 8]}),
            Step("destripe", {"stripes": "rows", "width": 2}),
            Step("clahe", {"clip_limit": 3, "kernel_size": [32, 64]}),
            Step("adjust_gamma", {"gamma": 0.8, "in_range": (0.0, 1.0)}),
            Step("pseudo_colour", {"palette": "ice"}),
        ),
        name="custom",
        description="a bit of everything",
    )
    # JSON-style values were checked and normalised (slice, tuples, float)
    assert pipe.steps[0].params["air_cols"] == slice(0, 8)
    assert pipe.steps[2].params == {"clip_limit": 3.0, "kernel_size": (32, 64)}
    path = pipe.save(tmp_path / f"custom.{fmt}")
    text = path.read_text()
    raw = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert raw["steps"][0] == {"step": "flat_field", "params": {"air_cols": [0, 8]}}
    assert Pipeline.load(path) == pipe
    assert Pipeline.from_yaml(pipe.to_yaml()) == Pipeline.from_json(pipe.to_json()) == pipe


def test_a_loaded_pipeline_gives_the_same_image(att, tmp_path):
    pipe = load_preset("edges")
    again = Pipeline.load(pipe.save(tmp_path / "edges.json"))
    np.testing.assert_array_equal(again.apply(att), pipe.apply(att))


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"steps": [{"step": "sharpen"}]}, r"steps\[0\].*unknown step 'sharpen'"),
        (
            {"steps": [{"step": "negative"}, {"step": "window_level", "params": {"lvl": 1}}]},
            r"steps\[1\] \(window_level\): unknown parameter 'lvl'",
        ),
        (
            {"steps": [{"step": "adjust_gamma", "params": {"gamma": "strong"}}]},
            r"adjust_gamma\): parameter 'gamma': expected a number",
        ),
        (
            {"steps": [{"step": "edge_enhance", "params": {"direction": "diagonal"}}]},
            r"parameter 'direction'.*horizontal",
        ),
        (
            {"steps": [{"step": "window_level", "params": {"percentiles": [1, 2, 3]}}]},
            r"parameter 'percentiles'",
        ),
        (
            {"steps": [{"step": "denoise_median", "params": {"size": 3.5}}]},
            r"parameter 'size': expected an integer",
        ),
        ({"steps": [{"step": "negative", "colour": "red"}]}, r"unknown field\(s\) \['colour'\]"),
        ({"steps": [], "name": "x"}, "'steps' must be a non-empty list"),
        ({"steps": ["negative"], "author": "me"}, r"unknown pipeline field\(s\) \['author'\]"),
        ({"steps": ["pseudo_colour", "negative"]}, "'pseudo_colour' gives RGB and must be last"),
        ({"steps": ["negative", "flat_field"]}, "'flat_field' must come before image steps"),
        ({"steps": ["negative", "material_colour"]}, "'material_colour' works on the high"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_invalid_pipelines_fail_naming_the_field(raw, match, tmp_path):
    with pytest.raises(SpecError, match=match):
        Pipeline.from_dict(raw)
    # the same error, with the file name, through JSON and YAML files
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SpecError, match=r"bad\.yaml") as info:
        Pipeline.load(path)
    assert info.match(match)


def test_unreadable_files_and_unknown_extensions():
    with pytest.raises(SpecError, match="not valid JSON"):
        Pipeline.from_json("{steps: ")
    with pytest.raises(SpecError, match="not valid YAML"):
        Pipeline.from_yaml("steps: [")
    with pytest.raises(SpecError, match=r"\.toml"):
        load_preset("standard").save("preset.toml")


def counts_scan(att_high: np.ndarray, att_low: np.ndarray | None = None, **meta) -> Scan:
    channels = [att_high] if att_low is None else [att_high, att_low]
    counts = np.stack([np.clip(60000 * np.exp(-a), 0, 65535) for a in channels])
    metadata = ScanMetadata(
        air_level=(60000.0,) * len(channels), dark_level=(0.0,) * len(channels), **meta
    )
    return Scan(counts.astype(np.uint16), "counts", metadata)


def test_a_counts_scan_is_converted_to_attenuation_first(att):
    scan = counts_scan(att)
    pipe = load_preset("standard")
    expected = pipe.apply(scan.to_attenuation().high)
    np.testing.assert_array_equal(pipe.apply(scan), expected)


def test_a_display_scan_is_turned_back_into_attenuation_so_denser_is_larger(att):
    from scanlab.synth import render_display

    calibrated = Scan(att.astype(np.float32), "attenuation")
    shown = render_display(calibrated)
    out = Pipeline.from_dict(
        {"steps": [{"step": "negative", "params": {"in_range": [0.0, 10.0]}}]}
    ).apply(shown)
    # The display curve is inverted first: the result tracks the attenuation it came from.
    inside = (att > 0.05) & (att < 9.0)
    np.testing.assert_allclose(10.0 - out[inside], att[inside], rtol=0.1, atol=0.05)


def test_flat_field_runs_on_the_scan_before_conversion(att):
    gains = np.linspace(0.8, 1.2, att.shape[0])[:, None]
    raw = np.clip(50000 * gains * np.exp(-att), 0, 65535).astype(np.uint16)
    raw[:, :8] = (50000 * gains).astype(np.uint16)  # open beam before the vehicle
    scan = Scan(raw, "counts", ScanMetadata(dark_level=(0.0,)))
    pipe = Pipeline.from_dict(
        {"steps": [{"step": "flat_field", "params": {"air_cols": [0, 8]}}, "negative"]}
    )
    out = pipe.apply(scan)
    corrected = -np.log(en.flat_field(raw, air_cols=slice(0, 8)))
    np.testing.assert_allclose(out, corrected.max() + corrected.min() - corrected, atol=1e-5)
    # on a bare array the flat field gives transmission, then the image steps run
    np.testing.assert_array_equal(
        pipe.apply(raw), en.negative(en.flat_field(raw, air_cols=slice(0, 8)))
    )


def test_material_preset_needs_two_channels(att):
    pipe = load_preset("material")
    with pytest.raises(MissingChannelError, match="dual-energy"):
        pipe.apply(counts_scan(att))
    with pytest.raises(MissingChannelError, match="dual-energy Scan"):
        pipe.apply(att)


def test_pipelines_refuse_bad_input():
    pipe = load_preset("standard")
    with pytest.raises(ScanValidationError, match="2-D"):
        pipe.apply(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ScanValidationError, match="NaN"):
        pipe.apply(np.full((8, 8), np.nan, np.float32))


def test_local_pipelines_run_tiled_on_memmaps(tmp_path, att):
    image = np.lib.format.open_memmap(tmp_path / "a.npy", "w+", np.float32, att.shape)
    image[:] = att
    out = np.lib.format.open_memmap(tmp_path / "b.npy", "w+", np.float32, att.shape)
    pipe = Pipeline.from_dict(
        {
            "steps": [
                {"step": "denoise_median", "params": {"size": 3}},
                {"step": "unsharp_mask", "params": {"radius": 1.5}},
                {"step": "window_level", "params": {"level": 1.0, "width": 3.0}},
                {"step": "negative", "params": {"in_range": [0.0, 1.0]}},
            ]
        }
    )
    pipe.apply(image, tile_rows=7, out=out)
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), pipe.apply(att))
    with pytest.raises(SpecError, match="'window_level' depends on the whole image"):
        load_preset("standard").apply(image, tile_rows=16)
    with pytest.raises(SpecError, match="not a Scan"):
        pipe.apply(Scan(att, "attenuation"), tile_rows=16)
