"""Every refusal of the Loihi 2 target, with its diagnostic.

One test per rule of :mod:`nirc.targets.loihi2.rules` (what netx's chain
cannot hold), of the quantizer (what Loihi's formats cannot hold) and of the
target (inputs, options, capacity): each builds the smallest graph that
breaks the rule and checks the message, the node it names and the way out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.graph import Graph, Node
from nirc.targets import compile as compile_for
from nirc.targets import get_target

sys.path.insert(0, str(Path(__file__).resolve().parent / "loihi2"))
from graphs import chain, conv2d, if_node, lif_node  # noqa: E402

FAST = {"calib_steps": 20, "calib_batch": 1}


def graph(nodes, edges=None, dt=1.0) -> Graph:
    g = chain(nodes) if edges is None else Graph({n.name: n for n in nodes}, edges)
    g.metadata = {"dt": dt}
    return g


def inp(shape) -> Node:
    return Node("in", "Input", {"shape": np.array(shape)})


def out(shape, name="out") -> Node:
    return Node(name, "Output", {"shape": np.array(shape)})


def lin(name, n_out, n_in, seed=0) -> Node:
    w = np.random.default_rng(seed).standard_normal((n_out, n_in)).astype(np.float32)
    return Node(name, "Linear", {"weight": w})


def pool(name, k=2, s=2, p=0, avg=False) -> Node:
    return Node(name, "AvgPool2d" if avg else "SumPool2d", {
        "kernel_size": np.array([k, k]), "stride": np.array([s, s]), "padding": np.array([p, p])})  # fmt: skip


def refused(g, **kw) -> NircError:
    with pytest.raises(NircError) as e:
        compile_for(g, "loihi2", **FAST, **kw)
    return e.value


def check(e: NircError, where: str, *words: str) -> None:
    text = e.render()
    assert e.where == where, text
    for w in words:
        assert w in text, f"{w!r} not in\n{text}"


RECURRENT = [("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")]


# --------------------------------------------------------------------------------------
# structure (rules.py)
# --------------------------------------------------------------------------------------


def test_two_inputs():
    g = graph([Node("a", "Input", {"shape": np.array([2])}), Node("b", "Input", {"shape": np.array([2])}),
               lin("fa", 2, 2), lin("fb", 2, 2), if_node("if", (2,)), out([2])],
              [("a", "fa"), ("b", "fb"), ("fa", "if"), ("fb", "if"), ("if", "out")])  # fmt: skip
    check(refused(g), "`a`, `b`", "2 Input nodes: a netx network has exactly one input layer",
          "merge the inputs")


def test_output_in_the_middle():
    g = graph([inp([3]), lin("f1", 3, 3), if_node("i1", (3,)), lin("f2", 2, 3), if_node("i2", (2,)),
               out([2]), out([3], "mid")],
              [("in", "f1"), ("f1", "i1"), ("i1", "f2"), ("f2", "i2"), ("i2", "out"), ("i1", "mid")])  # fmt: skip
    check(refused(g), "mid", "an Output reads `i1`, which also feeds `i2`",
          "netx's Network has one output port", "--record i1")


def test_output_reads_the_input():
    check(refused(graph([inp([3]), out([3])])), "out",
          "an Output reads the Input directly: netx's output is the last layer's spikes")


def test_output_after_a_pool():
    g = graph([inp([1, 4, 4]), conv2d("c", np.ones((1, 1, 1, 1))), if_node("i", (1, 4, 4)),
               pool("p"), out([1, 2, 2])])  # fmt: skip
    check(refused(g), "out", "the Output reads the last layer through `p`",
          "pool or delay on the host")


def test_fan_out():
    g = graph([inp([2]), lin("fa", 2, 2), if_node("la", (2,)), lin("fb", 2, 2), if_node("lb", (2,)),
               out([2]), out([2], "o2")],
              [("in", "fa"), ("fa", "la"), ("la", "out"), ("in", "fb"), ("fb", "lb"), ("lb", "o2")])  # fmt: skip
    check(refused(g), "in", "`in` feeds 2 nodes (`la`, `lb`): a netx chain has no branches")


def test_dead_end():
    """Nothing after the last layer (an `snn` module without its Output)."""
    from nirc.dialects import snn
    from nirc.targets.base import CompileOptions
    from nirc.targets.loihi2.lower import extract
    from nirc.targets.loihi2.target import load_fused

    m = load_fused(graph([inp([2]), lin("f", 2, 2), if_node("i", (2,)), out([2])]), CompileOptions())
    o = snn.top_graph(m).output_ops()[0]
    o.detach()
    o.erase()
    with pytest.raises(NircError) as e:
        extract(m)
    check(e.value, "i", "the chain ends without reaching an Output")


def test_cycle_through_another_layer():
    g = graph([inp([2]), lin("f1", 2, 2), if_node("i1", (2,)), lin("f2", 2, 2), if_node("i2", (2,)),
               lin("back", 2, 2), out([2])],
              [("in", "f1"), ("f1", "i1"), ("i1", "f2"), ("f2", "i2"), ("i2", "back"),
               ("back", "i1"), ("i2", "out")])  # fmt: skip
    check(refused(g), "i1", "comes back into `i1` from elsewhere in the network",
          "self-recurrent dense layers (dense_rec) only")


def test_synapse_without_neurons():
    check(refused(graph([inp([3]), lin("f", 2, 3), out([2])])), "f",
          "a snn.dense not followed by its own neuron layer", "an LI readout")


def test_input_with_and_without_weights():
    g = graph([inp([2]), lin("f", 2, 2), if_node("i", (2,)), out([2])],
              [("in", "f"), ("f", "i"), ("in", "i"), ("i", "out")])  # fmt: skip
    check(refused(g), "i", "reads its input both through weights and directly")


def test_readout_in_the_middle():
    li = Node("li", "LI", {"tau": np.full(2, 2.0), "r": np.ones(2), "v_leak": np.zeros(2)})
    g = graph([inp([2]), lin("f", 2, 2), li, lin("g", 2, 2), if_node("i", (2,)), out([2])])
    check(refused(g), "li", "a non-spiking layer (LI, CubaLI, I) in the middle of the network")


def test_average_pool_before_the_output():
    g = graph([inp([1, 4, 4]), conv2d("c", np.ones((1, 1, 1, 1))), if_node("i", (1, 4, 4)),
               pool("p", avg=True), out([1, 2, 2])])  # fmt: skip
    check(refused(g), "p", "an average pool whose 1/k could not be folded")


def _delays(shape, values, dt=1.0) -> Node:
    steps = np.asarray(values, float)
    steps = steps.reshape(shape) if steps.size > 1 else np.full(shape, float(steps))
    return Node("d", "Delay", {"delay": steps * dt})


def test_per_neuron_delays_before_a_pool():
    g = graph([inp([1, 2, 2]), _delays((1, 2, 2), [0, 1, 2, 3]), pool("p"),
               Node("flat", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
               lin("f", 2, 1), if_node("i", (2,)), out([2])])  # fmt: skip
    check(refused(g), "p", "delays that differ per neuron before a pool")


def test_per_neuron_delays_after_a_pool():
    g = graph([inp([1, 2, 2]), pool("p", k=1, s=1), _delays((1, 2, 2), [0, 1, 2, 3]),
               Node("flat", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
               lin("f", 2, 4), if_node("i", (2,)), out([2])])  # fmt: skip
    check(refused(g), "d", "per-neuron delays after a pool")


def test_pool_that_cannot_be_folded():
    g = graph([inp([4, 64, 64]), conv2d("c1", np.ones((4, 4, 1, 1))), if_node("i1", (4, 64, 64)),
               pool("p", k=3, s=2), conv2d("c2", np.ones((8, 4, 3, 3)), padding=(1, 1)),
               if_node("i2", (8, 31, 31)), out([8, 31, 31])])  # fmt: skip
    check(refused(g), "c2", "the sum-pool `p` before `c2` cannot be folded into the conv exactly",
          "125,960,192 weights")


def test_recurrent_conv():
    g = graph([inp([1, 3, 3]), conv2d("c", np.ones((1, 1, 1, 1))), if_node("i", (1, 3, 3)),
               out([1, 3, 3])], [("in", "c"), ("c", "i"), ("i", "i"), ("i", "out")])  # fmt: skip
    check(refused(g), "i", "a recurrent convolutional layer")


def test_recurrent_layer_with_input_delays():
    g = graph([inp([3]), _delays((3,), [1, 2, 0], 1e-3), lin("fc", 2, 3), lif_node("lif", 2),
               lin("rec", 2, 2, 1), out([2])],
              [("in", "d"), ("d", "fc")] + RECURRENT[1:], dt=1e-3)  # fmt: skip
    check(refused(g, dt=1e-3), "lif", "delays into a recurrent layer")


def test_recurrent_loop_of_several_steps():
    g = graph([inp([3]), lin("fc", 2, 3), lif_node("lif", 2), lin("rec", 2, 2, 1),
               Node("d", "Delay", {"delay": np.full(2, 2e-3)}), out([2])],
              [("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "d"), ("d", "lif"),
               ("lif", "out")], dt=1e-3)  # fmt: skip
    check(refused(g, dt=1e-3), "lif", "a recurrent connection through more than one step",
          "a delay of 3 steps")


def test_recurrent_path_with_two_synapses():
    g = graph([inp([3]), lin("fc", 2, 3), lif_node("lif", 2), lin("r1", 2, 2, 1), lin("r2", 2, 2, 2),
               out([2])],
              [("in", "fc"), ("fc", "lif"), ("lif", "r1"), ("r1", "lif"), ("lif", "r2"), ("r2", "lif"),
               ("lif", "out")], dt=1e-3)  # fmt: skip
    check(refused(g, dt=1e-3), "lif", "a recurrent path that is not one dense synapse")


def test_non_positive_threshold():
    g = graph([inp([2]), lin("f", 2, 2), if_node("i", (2,), -0.5), out([2])])
    check(refused(g), "i", "a threshold <= 0: Loihi's threshold mantissa is unsigned")


def test_identity_synapse_with_gains_per_position():
    node = Node("i", "IF", {"r": np.arange(1.0, 5.0).reshape(1, 2, 2), "v_threshold": np.ones((1, 2, 2))})
    check(refused(graph([inp([1, 2, 2]), node, out([1, 2, 2])])), "i",
          "input gains that differ within a channel: its identity synapse is a one-to-one conv")


def test_two_conv_synapses_into_one_layer():
    g = graph([inp([1, 3, 3]), conv2d("ca", np.ones((1, 1, 1, 1))), conv2d("cb", np.ones((1, 1, 3, 3)),
               padding=(1, 1)), if_node("i", (1, 3, 3)), out([1, 3, 3])],
              [("in", "ca"), ("in", "cb"), ("ca", "i"), ("cb", "i"), ("i", "out")])  # fmt: skip
    check(refused(g), "i", "several conv synapses from one source into one layer")


def test_dense_on_the_last_axis_of_a_map():
    g = graph([inp([2, 3, 4]), lin("f", 5, 4), if_node("i", (2, 3, 5)), out([2, 3, 5])])
    check(refused(g), "f", "a dense synapse with [..., N] outputs: netx's dense layers have [N]")


def test_two_dimensional_values():
    g = graph([inp([3, 4]), lin("f", 2, 4), if_node("i", (3, 2)), out([3, 2])])
    check(refused(g), "in", "a 2-D value: netx layers are [N] (dense) or [C, H, W] (conv)")


def test_conv1d():
    node = Node("c", "Conv1d", {"weight": np.ones((1, 1, 3), np.float32), "stride": np.array([1]),
                                "padding": np.array([1]), "dilation": np.array([1]),
                                "groups": np.array(1), "bias": np.zeros(1, np.float32)})  # fmt: skip
    g = graph([inp([1, 5]), node, if_node("i", (1, 5)), out([1, 5])])
    check(refused(g), "c", "a Conv1d: netx convolutions are 2-D", "a Conv2d of height 1")


def test_asymmetric_padding():
    node = Node("c", "Conv2d", {"weight": np.ones((1, 1, 2, 2), np.float32), "stride": np.array([1, 1]),
                                "padding": "same", "dilation": np.array([1, 1]),
                                "groups": np.array(1), "bias": np.zeros(1, np.float32)})  # fmt: skip
    g = graph([inp([1, 4, 4]), node, if_node("i", (1, 4, 4)), out([1, 4, 4])])
    check(refused(g), "c", "asymmetric conv padding")


def test_conv_gains_per_position():
    node = Node("i", "IF", {"r": np.arange(1.0, 10.0).reshape(1, 3, 3), "v_threshold": np.ones((1, 3, 3))})
    g = graph([inp([1, 3, 3]), conv2d("c", np.ones((1, 1, 1, 1))), node, out([1, 3, 3])])
    check(refused(g), "c", "input gains that differ within a channel of a conv layer")


def test_delay_before_a_conv():
    g = graph([inp([1, 3, 3]), _delays((1, 3, 3), 2), conv2d("c", np.ones((1, 1, 1, 1))),
               if_node("i", (1, 3, 3)), out([1, 3, 3])])  # fmt: skip
    check(refused(g), "i", "delays before a conv layer: netx's conv layers have no synaptic delays")


def test_scale_that_cannot_be_folded():
    g = graph([inp([2]), Node("s", "Scale", {"scale": np.array([1.0, 2.0])}), out([2])])
    check(refused(g), "s", "a Scale node that could not be folded into weights")


def test_quantized_snn_module():
    from nirc.context import make_context
    from nirc.passes import get_pass
    from nirc.targets.base import CompileOptions
    from nirc.targets.loihi2.target import load_fused, lower_module

    m = load_fused(graph([inp([2]), lin("f", 2, 2), if_node("i", (2,)), out([2])]), CompileOptions())
    get_pass("quantize")(report=False).apply(make_context(), m)
    with pytest.raises(NircError) as e:
        lower_module(m, CompileOptions(extra=FAST))
    check(e.value, "f", "a quantized `snn` module: lower-loihi2 quantizes for Loihi itself")


def test_decay_outside_what_12_bits_hold():
    g = graph([inp([2]), lin("f", 2, 2), lif_node("l", 2, tau=0.4e-3), out([2])], dt=1e-3)
    check(refused(g, dt=1e-3), "l", "`alpha_mem` outside [0, 1]", "tau >= dt")


def test_delay_beyond_62_steps():
    g = graph([inp([2]), _delays((2,), 70), lin("f", 2, 2), if_node("i", (2,)), out([2])])
    check(refused(g), "i", "a delay of 70 steps: netx clamps delays to 62")


# --------------------------------------------------------------------------------------
# formats (quantize.py)
# --------------------------------------------------------------------------------------


def test_thresholds_differing_within_a_conv_channel():
    node = Node("i", "IF", {"r": np.ones((1, 3, 3)), "v_threshold": np.arange(1.0, 10.0).reshape(1, 3, 3)})
    g = graph([inp([1, 3, 3]), conv2d("c", np.ones((1, 1, 1, 1))), node, out([1, 3, 3])])
    check(refused(g), "i", "thresholds that differ within a channel of a conv layer")


def test_biases_differing_within_a_conv_channel():
    node = Node("l", "LIF", {"tau": np.full((1, 3, 3), 2.0), "r": np.ones((1, 3, 3)),
                             "v_leak": np.arange(9.0).reshape(1, 3, 3), "v_threshold": np.ones((1, 3, 3))})  # fmt: skip
    g = graph([inp([1, 3, 3]), conv2d("c", np.ones((1, 1, 1, 1))), node, out([1, 3, 3])])
    check(refused(g), "l", "biases that differ within a channel of a conv layer")


def test_time_constants_differing_within_a_conv_channel():
    tau = np.arange(2.0, 11.0).reshape(1, 3, 3)
    node = Node("l", "LIF", {"tau": tau, "r": tau,
                             "v_leak": np.zeros((1, 3, 3)), "v_threshold": np.ones((1, 3, 3))})  # fmt: skip
    g = graph([inp([1, 3, 3]), conv2d("c", np.ones((1, 1, 1, 1))), node, out([1, 3, 3])])
    check(refused(g), "l", "time constants that differ within a channel of a conv layer")


def test_all_zero_weights(tmp_path):
    g = graph([inp([2]), Node("f", "Linear", {"weight": np.zeros((2, 2), np.float32)}),
               if_node("i", (2,)), out([2])])  # fmt: skip
    check(refused(g), "i", "every weight of the layer is zero: netx cannot load it")
    # the fast search (calibration data) says the same, not that no candidate fitted
    np.savez(tmp_path / "c.npz", **{"in": (np.random.default_rng(0).random((20, 3, 2)) < 0.5)})
    check(refused(g, calibrate=str(tmp_path / "c.npz")), "i",
          "every weight of the layer is zero: netx cannot load it")  # fmt: skip


def test_calibration_samples_must_be_positive(tmp_path):
    np.savez(tmp_path / "c.npz", **{"in": np.zeros((10, 4, 3), np.uint8)})
    with pytest.raises(NircError, match="calibration samples must be >= 1") as info:
        compile_for(SMALL, "loihi2", calibrate=str(tmp_path / "c.npz"), calib_samples=-3)
    assert "calib_samples" in info.value.render() and "-3" in info.value.render()


# --------------------------------------------------------------------------------------
# the target: inputs, options, capacity
# --------------------------------------------------------------------------------------


SMALL = graph([inp([3]), lin("f", 4, 3), if_node("i", (4,)), out([4])])


def test_real_valued_inputs():
    target = get_target("loihi2")
    r = compile_for(SMALL, "loihi2", **FAST)
    with pytest.raises(NircError, match="real-valued inputs: Loihi 2 takes spikes or graded"):
        target.simulate(r.module, {"in": np.full((5, 1, 3), 0.5)})
    with pytest.raises(NircError, match="negative inputs"):
        target.simulate(r.module, {"in": np.full((5, 1, 3), -1)})
    with pytest.raises(NircError, match="inputs missing for the chip"):
        target.simulate(r.module, {"x": np.zeros((5, 1, 3))})
    with pytest.raises(NircError, match="input `in` has the wrong shape"):
        target.simulate(r.module, {"in": np.zeros((5, 1, 4))})
    with pytest.raises(NircError, match="--record names no layer or state of the chip"):
        target.simulate(r.module, {"in": np.zeros((5, 1, 3))}, record="i.w")


def test_count_inputs_on_a_binary_network_warn():
    from nirc import diagnostics

    r = compile_for(SMALL, "loihi2", **FAST)
    with diagnostics.collecting() as sink:
        get_target("loihi2").simulate(r.module, {"in": np.full((5, 1, 3), 3)})
    assert any("compiled for binary spikes" in w.message for w in sink.warnings)


def test_more_chips_than_hala_point():
    check(refused(SMALL, capacity={"chips": 2000}), "--chips",
          "more chips than the largest Loihi 2 system", "at most 1152")


def test_network_that_does_not_fit():
    """Needs against capacity: too many cores for one chip, a neuron whose
    synapses alone exceed a core."""
    big = graph([inp([300]), lin("f", 600, 300), if_node("i", (600,)), out([600])])
    with pytest.raises(NircError) as info:
        compile_for(big, "loihi2", **FAST, capacity={"neurons_per_core": 2})
    text = info.value.render()
    assert "128" in text and "cores" in text and "i" in text, text
    with pytest.raises(NircError) as info:
        compile_for(big, "loihi2", **FAST, capacity={"memory_per_core": 1500})
    text = info.value.render()
    assert "not even one neuron of i fits a core's memory" in text and "1.5 KiB" in text, text


def test_unknown_reset():
    with pytest.raises(NircError, match="unknown reset mode"):
        compile_for(SMALL, "loihi2", reset="bounce")


def test_calibration_file_of_another_shape(tmp_path):
    np.savez(tmp_path / "c.npz", spikes=np.zeros((4, 10, 5)), labels=np.zeros(4))
    with pytest.raises(NircError, match="`spikes` has the wrong shape for Input `in`"):
        compile_for(SMALL, "loihi2", calibrate=str(tmp_path / "c.npz"))
