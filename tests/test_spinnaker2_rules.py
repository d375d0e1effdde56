"""Every SpiNNaker2 rule refuses with a diagnostic naming the node (or the
option, or the PE) and the limit."""

from __future__ import annotations

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.graph import Graph, Node
from nirc.passes.partition import CoreLoad
from nirc.targets import get_target
from nirc.targets.base import CompileOptions
from nirc.targets.spinnaker2 import rules
from nirc.targets.spinnaker2.network import INPUT, Network, Population, Projection
from nirc.targets.spinnaker2.sparse import Coo
from nirc.targets.spinnaker2.spec import SPINNAKER2

TARGET = get_target("spinnaker2")


def node(name, type_, **params):
    return Node(name, type_, {k: np.asarray(v) for k, v in params.items()})


def if_(name, n):
    return node(name, "IF", r=np.ones(n), v_threshold=np.ones(n), v_reset=np.zeros(n))


def g(nodes, edges):
    return Graph(nodes={n.name: n for n in nodes}, edges=edges)


def refused(model, **options) -> NircError:
    o = CompileOptions(dt=1.0, **{k: v for k, v in options.items() if k in ("reset", "source")},
                       extra={k: v for k, v in options.items() if k not in ("reset", "source")})  # fmt: skip
    with pytest.raises(NircError) as e:
        TARGET.compile(model, o)
    return e.value


def simple():
    return g([node("in", "Input", shape=[3]), node("fc", "Linear", weight=np.eye(3)), if_("if1", 3),
              node("out", "Output", shape=[3])],
             [("in", "fc"), ("fc", "if1"), ("if1", "out")])  # fmt: skip


def test_non_spiking_neuron_feeding_weights():
    model = g([node("in", "Input", shape=[2]), node("fc", "Linear", weight=np.ones((2, 2))),
               node("li", "LI", tau=np.full(2, 2.0), r=np.ones(2), v_leak=np.zeros(2)),
               node("fc2", "Linear", weight=np.ones((1, 2))), if_("if1", 1),
               node("out", "Output", shape=[1])],
              [("in", "fc"), ("fc", "li"), ("li", "fc2"), ("fc2", "if1"), ("if1", "out")])  # fmt: skip
    e = refused(model)
    assert e.where == "li" and "talk by spikes only" in e.message
    assert "LI/CubaLI only as a readout" in e.expected


def test_output_after_weights():
    model = g([node("in", "Input", shape=[3]), node("fc", "Linear", weight=np.eye(3)), if_("if1", 3),
               node("fc2", "Linear", weight=np.ones((2, 3))), node("out", "Output", shape=[2])],
              [("in", "fc"), ("fc", "if1"), ("if1", "fc2"), ("fc2", "out")])  # fmt: skip
    e = refused(model)
    assert e.where == "out" and "one population's spikes" in e.message
    assert "snn.dense 'fc2'" in e.found and "no population to run on" in e.hint


def test_loop_shorter_than_its_projections():
    """A -> B -> A with one step of delay: two projections need two steps."""
    model = g([node("in", "Input", shape=[2]), node("fa", "Linear", weight=np.eye(2)), if_("a", 2),
               node("fb", "Linear", weight=np.eye(2)), if_("b", 2),
               node("back", "Linear", weight=np.eye(2)), node("out", "Output", shape=[2])],
              [("in", "fa"), ("fa", "a"), ("a", "fb"), ("fb", "b"), ("b", "back"), ("back", "a"),
               ("b", "out")])  # fmt: skip
    e = refused(model)
    assert "recurrent loop is shorter than the chip can run it" in e.message
    assert "a" in e.where and "b" in e.where and "Delay" in e.hint


def test_quantized_snn_module_is_refused():
    from nirc.context import make_context
    from nirc.passes import get_pass
    from nirc.targets.base import load_fused as _load

    module = _load(simple(), CompileOptions(dt=1.0))
    get_pass("quantize")().apply(make_context(), module)
    e = refused(module)
    assert "lower-spinnaker2 quantizes for the chip itself" in e.message
    assert e.where in ("fc", "if1")


@pytest.mark.parametrize(
    "option, value, words",
    [("delays", "sometimes", "unknown delay mode"),
     ("partition", "greedy", "unknown partition method"),
     ("weight_scale", -1.0, "weight_scale must be a finite number > 0"),
     ("weight_scale", float("inf"), "weight_scale must be a finite number > 0")],
)  # fmt: skip
def test_bad_options(option, value, words):
    e = refused(simple(), **{option: value})
    assert words in e.message and (e.where == option or e.found == str(value))


def test_unknown_reset():
    with pytest.raises(NircError, match="unknown reset mode"):
        TARGET.compile(simple(), CompileOptions(dt=1.0, reset="bounce"))


def test_pe_over_capacity_table():
    cap = SPINNAKER2.capacity
    loads = {0: CoreLoad(neurons=10), 153: CoreLoad(neurons=300, synapses=40000)}
    memory = {pe: cap.memory(ld) for pe, ld in loads.items()}
    with pytest.raises(NircError) as e:
        rules.check_pe_loads(loads, memory, cap, "placement")
    err = e.value
    assert err.message == "1 processing element(s) over capacity"
    assert "chip 1 PE 1 neurons" in err.found and "300" in err.found and "<- over" in err.found
    assert "256 neurons" in err.expected and "68,608 bytes" in err.expected


def test_router_over_capacity():
    with pytest.raises(NircError) as e:
        rules.check_router({0: 100, 2: 20000}, "placement")
    assert "chip 2 router entries" in e.value.found and "16,384" in e.value.expected


def test_weight_and_delay_ranges():
    inp = Population("in", "spike_list", (2,), role=INPUT)
    lif = Population("lif", "lif", (2,))
    w = Coo.from_dense(np.array([[16.0, 0.0], [0.0, 1.0]]))
    net = Network(1.0, [inp, lif], [Projection("in->lif", "in", "lif", w)], [])
    with pytest.raises(NircError) as e:
        rules.check_ranges(net)
    assert e.value.where == "projection in->lif" and e.value.expected == "integers in [-15, 15]"
    w = Coo.from_dense(np.array([[5.0, 0.0], [0.0, 1.0]]))
    net.projections = [Projection("in->lif", "in", "lif", w, np.array([8, 0]))]
    with pytest.raises(NircError) as e:
        rules.check_ranges(net)
    assert e.value.expected == "delays in 0..7" and "relays" in e.value.hint


def test_connection_list_too_large_for_the_placer():
    from nirc.targets.spinnaker2.placement import placement_module

    inp = Population("in", "spike_list", (9000,), role=INPUT)
    lif = Population("lif", "lif_no_delay", (9000,))
    w = Coo(np.array([0]), np.array([5]), np.array([1.0]), (9000, 9000))
    net = Network(1.0, [inp, lif], [Projection("in->lif", "in", "lif", w)], [])
    with pytest.raises(NircError) as e:
        placement_module(net)
    assert e.value.where == "projection in->lif" and "--partition index" in e.value.hint


def test_simulation_inputs_are_checked():
    result = TARGET.compile(simple(), CompileOptions(dt=1.0))
    with pytest.raises(NircError, match="inputs missing for the chip"):
        TARGET.simulate(result, {"x": np.zeros((3, 1, 3))})
    with pytest.raises(NircError, match="input of the wrong shape"):
        TARGET.simulate(result, {"in": np.zeros((3, 1, 4))})
    with pytest.raises(NircError, match="integer event counts"):
        TARGET.simulate(result, {"in": np.full((3, 1, 3), 0.5)})
    with pytest.raises(NircError) as e:
        TARGET.simulate(result, {"in": np.full((3, 1, 3), 2)})
    assert "more events per step" in e.value.message and "--calibrate" in e.value.hint
    with pytest.raises(NircError) as e:
        TARGET.simulate(result, {"in": np.zeros((3, 1, 3))}, record="nope.v")
    assert e.value.where == "--record nope.v" and "if1" in e.value.expected
