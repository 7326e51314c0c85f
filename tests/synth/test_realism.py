"""Export statistics (the definitions the real table was measured with) and the real table."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.synth import (
    REAL_20FT_SHARES,
    REAL_GOODS,
    VEHICLE_TYPES,
    export_statistics,
    real_export_statistics,
    real_goods_vehicle,
)


def test_statistics_of_a_known_image_by_hand():
    image = np.full((100, 200), 200, np.uint8)
    image[:, :50] = 0  # a quarter black
    image[:, 150:] = 250  # a quarter near-white
    stats = export_statistics(image)
    assert stats["frac_black_le10"] == 0.25
    assert stats["frac_white_ge245"] == 0.25
    assert (stats["grey_q10"], stats["grey_q50"], stats["grey_q90"]) == (0.0, 200.0, 250.0)
    # Three levels at 1/4, 1/2, 1/4: 1.5 bits.
    assert stats["hist_entropy_bits"] == pytest.approx(1.5)
    # Stripes 10 px wide of 0 and 80: Sobel / 8 gives 80 * 4 / 8 = 40 on the two columns
    # at each edge, a fifth of the sampled pixels, so that is the 99th percentile.
    stripes = np.zeros((100, 200), np.float32)
    for c in range(10, 200, 20):
        stripes[:, c : c + 10] = 80
    assert export_statistics(stripes)["grad_q99"] == pytest.approx(40.0)


def test_real_table_holds_every_commodity():
    table = real_export_statistics()
    assert set(table) == {"all", *REAL_GOODS}
    for goods, stats in table.items():
        for q25, median, q75 in stats.values():
            assert q25 <= median <= q75, goods
    # What the issue measured: dense reefer loads are dark, tyres light.
    assert table["frozen poultry"]["frac_black_le10"][1] > 0.3
    assert table["tyres"]["grey_q50"][1] > 200
    assert table["all"]["grey_q50"][1] == pytest.approx(163.5)


def test_bad_input():
    with pytest.raises(ValueError, match="row, col"):
        export_statistics(np.zeros((2, 3, 4)))


def test_containers_are_drawn_in_the_real_sets_shares():
    rng = np.random.default_rng(5)
    for goods, (_, boxes) in REAL_GOODS.items():
        assert set(boxes) <= set(VEHICLE_TYPES), goods
        drawn = [real_goods_vehicle(goods, rng) for _ in range(3000)]
        assert set(drawn) <= set(boxes)
        short = np.mean(["20ft" in box for box in drawn])
        # Binomial spread of 3,000 draws is at most 0.009.
        assert short == pytest.approx(REAL_20FT_SHARES[goods], abs=0.03), goods
    # The 40 ft boxes of a commodity take turns evenly.
    drawn = [real_goods_vehicle("tyres", rng) for _ in range(2000)]
    assert 0.45 < drawn.count("container_40ft_hc") / len(drawn) < 0.55
    assert "reefer_20ft" in REAL_GOODS["frozen beef"][1]
    assert set(drawn) == {"container_40ft", "container_40ft_hc"}
    with pytest.raises(KeyError, match="rice"):
        real_goods_vehicle("rice", rng)
