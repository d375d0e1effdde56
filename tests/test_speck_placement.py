"""Placement of layers onto Speck cores."""

from __future__ import annotations

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.targets.speck import SpeckLayer, place, requirements_table


def layer(name, c, f, k, side, padding=None) -> SpeckLayer:
    """A conv layer c x side x side -> f features with a k x k kernel ('same' padding)."""
    pad = k // 2 if padding is None else padding
    return SpeckLayer(name, (c, side, side), np.zeros((f, c, k, k), np.int8), padding=pad)


def worked_example() -> list[SpeckLayer]:
    return [
        layer("conv1", 2, 8, 3, 32, padding=0),
        SpeckLayer("conv2", (8, 15, 15), np.zeros((16, 8, 3, 3), np.int8), stride=2),
        layer("fc", 16, 10, 7, 7, padding=0),
    ]


def test_worked_example_lands_on_cores_0_1_2():
    assert place(worked_example()) == (0, 1, 2)


def test_placement_is_deterministic():
    layers = worked_example()
    assert place(layers) == place(layers) == place(worked_example())


def test_lowest_cores_that_work():
    # Three layers with 64 Ki neurons fit only cores 0-2: the small first layer
    # must step aside to core 3.
    big = [layer(f"big{i}", 2, 16, 3, 64) for i in range(3)]
    assert place([layer("small", 2, 2, 3, 8), *big]) == (3, 0, 1, 2)
    assert place([*big, layer("small", 2, 2, 3, 8)]) == (0, 1, 2, 3)


def test_layer_that_fits_no_core_is_named_with_the_table():
    layers = [layer("ok", 2, 8, 3, 16), layer("huge", 64, 64, 5, 8)]  # kernel 128 Ki words
    with pytest.raises(NircError) as e:
        place(layers)
    text = str(e.value)
    assert e.value.where == "huge"
    assert "layer 1 huge fits on no Speck core" in text
    assert "kernel 131072" in e.value.found
    # the table: needs against every core's capacity
    assert "1 huge" in text and "131072" in text
    assert "kernel capacity" in text and "64Ki" in text
    row = next(line for line in text.splitlines() if line.startswith("1 huge"))
    assert row.split("|")[1].split() == ["K"] * 9


def test_neuron_memory_too_large_everywhere():
    with pytest.raises(NircError) as e:
        place([layer("wide", 2, 32, 3, 64)])  # 32 * 64 * 64 = 128 Ki neurons
    row = next(line for line in str(e.value).splitlines() if line.startswith("0 wide"))
    assert row.split("|")[1].split() == ["N"] * 9


def test_hall_deficient_set_is_named():
    # kernel 128 * 2^(4+5) = 64 Ki words: only cores 5 and 6 can take them.
    heavy = [layer(f"heavy{i}", 128, 32, 3, 4) for i in range(3)]
    layers = [layer("light", 2, 4, 3, 8), *heavy]
    with pytest.raises(NircError) as e:
        place(layers)
    msg = e.value.message
    assert "layers 1 heavy0, 2 heavy1, 3 heavy2 need 3 distinct cores" in msg
    assert "fit on only 2 (cores 5, 6)" in msg
    assert "light" not in msg.splitlines()[0]
    assert e.value.where == "heavy2"  # the first layer the maximum matching leaves out


def test_more_layers_than_cores():
    layers = [layer(f"l{i}", 2, 2, 3, 8) for i in range(10)]
    with pytest.raises(NircError) as e:
        place(layers)
    assert "need 10 distinct cores but together fit on only 9" in e.value.message
    assert "the chip has 9 cores" in e.value.hint


def test_placement_checks_the_rules_first():
    bad = SpeckLayer("tiny", (2, 2, 2), np.zeros((1, 2, 5, 5), np.int8))
    with pytest.raises(NircError, match="kernel larger than the padded input"):
        place([bad])


def test_requirements_table_marks_fits():
    text = requirements_table(worked_example())
    rows = text.splitlines()
    assert rows[0].split()[:4] == ["layer", "kernel", "neuron", "bias"]
    assert rows[3].startswith("2 fc") and rows[3].split("|")[1].split() == ["ok"] * 9
