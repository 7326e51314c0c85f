"""The shipped models' "not calibrated for this scanner" check, and with ``--thresholds``
their decision thresholds, measured anew.

For each model of ``--models``: rebuilds its clean calibration scans (the card's calibration
data, simulated by the current simulator), measures the ranges of the image statistics of
its domain check on them (``scanlab.detect._train.recalibrate_domain``: the network is not
run, thresholds and map ranges are kept) and prints the old and new ranges. With
``--thresholds`` the network is run on them too (``scanlab.detect._train.calibrate``, as
training calibrates): thresholds at the card's false-alarm rate, the clean scores'
quantiles and the map's ranges are measured anew, and it prints how many calibration scans
the old and the new thresholds flag. Then, with the new card, it runs the model and prints
the share of scans it calls "not calibrated" (and with ``--thresholds`` how many it flags at
the old and the new threshold): clean held-out scans (``--heldout`` items of the held-out
spec at 5 and 10 mm, never trained or calibrated on) as recorded, as single energy and as
scanlab's display export, which must be near 0; and clean exports of bench_adapt.py's
foreign scanner, which must be near 1. ``--write`` stores what was measured anew in the
model's card and README.

Run: .venv/bin/python benchmarks/recalibrate_domain.py [--models cargo-anomaly-v2]
     [--heldout 40] [--foreign 20] [--thresholds] [--write]
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from bench_adapt import FOREIGN, foreign_exports  # noqa: E402

from scanlab.detect import DataRef, Detector, ModelCard  # noqa: E402
from scanlab.detect._data import build_cached, default_cache_dir, effective_spec  # noqa: E402
from scanlab.detect._train import (  # noqa: E402
    _calibration_variants,
    _data_record,
    calibrate,
    recalibrate_domain,
)
from scanlab.detect._weights import _load, resolve_weights  # noqa: E402
from scanlab.io import read_scan  # noqa: E402
from scanlab.synth import load_dataset_spec, simulator_version  # noqa: E402

COMMAND = "benchmarks/recalibrate_domain.py"


def calibration_items(card: ModelCard) -> tuple[list[dict[str, Any]], tuple[Any, str]]:
    """The card's clean calibration scans, built by the current simulator, and their spec
    with the fingerprint of the shipped spec it derives from."""
    data = card.calibration["data"]
    first = int(data["seeds"][0]) - load_dataset_spec(data["spec"]).seed
    ref = effective_spec(DataRef(data["spec"], int(data["count"]), start=first), data["pitch_mm"])
    return build_cached(ref[0], default_cache_dir()), ref


def domain_record(ref: tuple[Any, str]) -> dict[str, Any]:
    spec, base = ref
    return {
        "spec": spec.name,
        "spec_fingerprint": base,
        "seeds": [spec.seed, spec.seed + spec.count - 1],
        "pitch_mm": spec.pitch_mm,
        "simulator_version": simulator_version(),
        "command": COMMAND,
    }


def recalibrate_thresholds(
    model: Any, card: ModelCard, items: list[dict[str, Any]], ref: tuple[Any, str]
) -> tuple[ModelCard, dict[str, list[float]]]:
    """``card`` with its thresholds, clean-score quantiles and domain ranges (image and map)
    calibrated anew by training's :func:`calibrate` on ``items``; and the clean scores."""
    found = calibrate(Detector(model, card), items, card.false_alarm_rate)
    scores = found.pop("clean_scores")
    new = copy.deepcopy(card)
    new.thresholds = dict(found.pop("thresholds"))
    new.calibration.update(found)
    new.calibration["data"] = {
        **_data_record("calibration", ref),
        "command": f"{COMMAND} --thresholds",
    }
    new.calibration["domain_data"] = {**domain_record(ref), "n_clean_scans": len(scores["dual"])}
    return new, scores


def flagged(scores: list[float], threshold: float) -> int:
    """How many scores reach ``threshold`` as a detection compares them (in float32)."""
    return int(np.sum(np.asarray(scores, np.float32) >= np.float32(threshold)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["cargo-anomaly-v2"])
    parser.add_argument("--heldout", type=int, default=40, help="held-out items per pitch")
    parser.add_argument("--foreign", type=int, default=20)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument(
        "--thresholds", action="store_true", help="run the network: thresholds measured anew"
    )
    parser.add_argument("--write", action="store_true", help="store what was measured in the card")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    heldout = {}
    for pitch in (5.0, 10.0):
        spec = effective_spec(DataRef("heldout", args.heldout), pitch)[0]
        heldout[pitch] = [i for i in build_cached(spec, default_cache_dir()) if i["clean"]]
    work = args.work or Path(tempfile.mkdtemp(prefix="recalibrate-domain-"))
    foreign = [read_scan(p) for p in foreign_exports(work, args.foreign, 910_000)]
    print(f"data ready in {time.perf_counter() - t0:.0f} s")
    for name in args.models:
        folder = resolve_weights(name)
        model, card = _load(folder)
        items, ref = calibration_items(card)
        if args.thresholds:
            new, scores = recalibrate_thresholds(model, card, items, ref)
        else:
            new = recalibrate_domain(card, items, data=domain_record(ref))
        record = new.calibration["domain_data"]
        print(
            f"\n{name}: {record['n_clean_scans']} clean calibration scans ({record['spec']} "
            f"seeds {record['seeds']} at {record['pitch_mm']:g} mm, simulator "
            f"{record['simulator_version'][:12]})"
        )
        for mode, ranges in new.calibration["domain"].items():
            old = card.calibration.get("domain", {}).get(mode, {})
            for key, bounds in ranges.items():
                print(f"  {mode:8s} {key:13s} {old.get(key, '-')!s:>24s} -> {bounds}")
        if args.thresholds:
            rate = card.false_alarm_rate
            print(f"  thresholds at {rate:.0%} false alarms; calibration scans flagged:")
            for mode, threshold in new.thresholds.items():
                before, n = card.thresholds[mode], len(scores[mode])
                print(
                    f"  {mode:8s} {before:.5f} -> {threshold:.5f}: {flagged(scores[mode], before)}"
                    f" -> {flagged(scores[mode], threshold)} of {n}; quantiles 0.5 0.9 0.99 1 "
                    f"{card.calibration.get('clean_score_quantiles', {}).get(mode)} -> "
                    f"{new.calibration['clean_score_quantiles'][mode]}"
                )
        detector = Detector(model, new)
        print(
            f"  called 'not calibrated' with the new ranges ({FOREIGN.name} for foreign)"
            + (", flagged at the old -> new threshold:" if args.thresholds else ":")
        )
        for pitch, clean in heldout.items():
            variants = [_calibration_variants(read_scan(i["scan_path"])) for i in clean]
            for mode in variants[0] if variants else ():
                found = [detector.detect(v[mode]) for v in variants]
                out = sum(not d.in_domain for d in found)
                line = f"    held-out clean at {pitch:g} mm, {mode:8s} {out:3d} of {len(found)}"
                if args.thresholds:
                    got = [d.score for d in found]
                    before, after = card.thresholds[mode], new.thresholds[mode]
                    line += f"; flagged {flagged(got, before):3d} -> {flagged(got, after):3d}"
                print(line)
        out = sum(not detector.detect(scan).in_domain for scan in foreign)
        print(f"    foreign scanner, clean exports      {out:3d} of {len(foreign)}")
        if args.write:
            # The card as it is now, with only what was measured here changed: another
            # benchmark may have recorded figures in it meanwhile.
            current = ModelCard.load(folder / "card.json")
            keys = ["domain", "domain_data"]
            if args.thresholds:
                current.thresholds = new.thresholds
                keys += ["n_clean_scans", "clean_score_quantiles", "data"]
            for key in keys:
                current.calibration[key] = new.calibration[key]
            current.save(folder / "card.json")
            (folder / "README.md").write_text(current.to_markdown(), encoding="utf-8")
            print(f"  wrote {folder / 'card.json'}")
    print(f"\ntook {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
