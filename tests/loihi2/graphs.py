"""Small NIR graphs for the Loihi 2 tests and fixtures (nirc's own Graph type).

Imported by ``tests/test_loihi2_*.py`` and run by ``make_lava_fixtures.py``
(``python graphs.py make_conv_graph out.nir``) so that both compile the same
models.
"""

from __future__ import annotations

import sys

import numpy as np

from nirc.graph import Graph, Node


def chain(nodes: list[Node], extra_edges: list[tuple[str, str]] = ()) -> Graph:
    names = [n.name for n in nodes]
    return Graph({n.name: n for n in nodes}, list(zip(names[:-1], names[1:])) + list(extra_edges))


def conv2d(name, weight, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=None) -> Node:
    w = np.asarray(weight, np.float32)
    return Node(name, "Conv2d", {
        "weight": w, "stride": np.array(stride), "padding": np.array(padding),
        "dilation": np.array(dilation), "groups": np.array(groups),
        "bias": np.zeros(w.shape[0], np.float32) if bias is None else np.asarray(bias, np.float32)})  # fmt: skip


def if_node(name, shape, thr=1.0) -> Node:
    return Node(name, "IF", {"r": np.ones(shape), "v_threshold": np.full(shape, thr)})


def lif_node(name, n, tau=4e-3, thr=1.0, dt=1e-3, v_leak=0.0) -> Node:
    return Node(name, "LIF", {"tau": np.full(n, tau), "r": np.full(n, tau / dt),
                              "v_leak": np.full(n, v_leak), "v_threshold": np.full(n, thr)})  # fmt: skip


def make_conv_graph() -> Graph:
    """[1, 6, 6] -> conv 3x3 (padding 1) -> IF -> sum-pool 2 -> conv 3x3
    (padding 1) -> IF -> sum-pool 2 (stride 1) -> flatten -> linear -> IF."""
    rng = np.random.default_rng(5)
    return chain([
        Node("input", "Input", {"shape": np.array([1, 6, 6])}),
        conv2d("conv1", np.round(rng.standard_normal((2, 1, 3, 3)) * 4) / 4, padding=(1, 1)),
        if_node("if1", (2, 6, 6)),
        Node("pool1", "SumPool2d", {"kernel_size": np.array([2, 2]), "stride": np.array([2, 2]),
                                    "padding": np.array([0, 0])}),
        conv2d("conv2", np.round(rng.standard_normal((3, 2, 3, 3)) * 4) / 4, padding=(1, 1)),
        if_node("if2", (3, 3, 3), 1.5),
        Node("pool2", "SumPool2d", {"kernel_size": np.array([2, 2]), "stride": np.array([1, 1]),
                                    "padding": np.array([0, 0])}),
        Node("flat", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
        Node("fc", "Linear", {"weight": (np.round(rng.standard_normal((2, 12)) * 4) / 4 + 0.75).astype(np.float32)}),
        if_node("if3", (2,)),
        Node("output", "Output", {"shape": np.array([2])}),
    ])  # fmt: skip


def make_recurrent_graph() -> Graph:
    """[3] -> linear -> LIF, with a recurrent linear on the LIF -> output."""
    w = np.array([[1.0, -0.5, 0.25], [0.5, 0.5, -1.0]], np.float32)
    wr = np.array([[0.0, -0.5], [0.25, 0.0]], np.float32)
    nodes = [Node("in", "Input", {"shape": np.array([3])}), Node("fc", "Linear", {"weight": w}),
             lif_node("lif", 2), Node("rec", "Linear", {"weight": wr}),
             Node("out", "Output", {"shape": np.array([2])})]  # fmt: skip
    return Graph({n.name: n for n in nodes},
                 [("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")])  # fmt: skip


def cuba_node(name, n, tau_mem=8e-3, tau_syn=4e-3, thr=1.0, dt=1e-3) -> Node:
    return Node(name, "CubaLIF", {
        "tau_mem": np.full(n, tau_mem), "tau_syn": np.full(n, tau_syn),
        "r": np.full(n, tau_mem / dt), "w_in": np.full(n, tau_syn / dt),
        "v_leak": np.zeros(n), "v_threshold": np.full(n, thr)})  # fmt: skip


def make_counts_graph() -> Graph:
    """A Rockpool-style keyword network in miniature (read it with ``--source
    rockpool``: spike counts and reset by subtraction; dt 1 ms): [4] ->
    linear -> CubaLIF(5) -> linear -> CubaLIF(3). Its hidden layer becomes
    ladder replicas with relays, its output an integrator with encoders."""
    rng = np.random.default_rng(31)
    g = chain([
        Node("input", "Input", {"shape": np.array([4])}),
        Node("fc1", "Linear", {"weight": (rng.standard_normal((5, 4)) * 0.08 + 0.08 / 3).astype(np.float32)}),
        cuba_node("lif1", 5, tau_mem=8e-3, tau_syn=2e-3),
        Node("fc2", "Linear", {"weight": (rng.standard_normal((3, 5)) * 0.04 + 0.015).astype(np.float32)}),
        cuba_node("lif2", 3, tau_mem=16e-3, tau_syn=8e-3),
        Node("output", "Output", {"shape": np.array([3])}),
    ])  # fmt: skip
    g.metadata = {"dt": 1e-3}
    return g


def make_rsynaptic_graph() -> Graph:
    """An snnTorch RSynaptic-style network in miniature (read it with
    ``--source snntorch``: subtraction in the next step): [3] -> affine ->
    CubaLIF(4) with a recurrent affine (biases) -> linear -> CubaLIF(2).
    Both layers become integrators with current encoders."""
    rng = np.random.default_rng(32)
    nodes = [
        Node("in", "Input", {"shape": np.array([3])}),
        Node("fc", "Affine", {"weight": (rng.standard_normal((4, 3)) * 0.8 + 0.3).astype(np.float32),
                              "bias": np.full(4, 0.05, np.float32)}),
        cuba_node("lif", 4, tau_mem=8e-3, tau_syn=4e-3, dt=1e-4),
        Node("rec", "Affine", {"weight": (rng.standard_normal((4, 4)) * 0.3).astype(np.float32),
                               "bias": np.full(4, 0.02, np.float32)}),
        Node("fc2", "Linear", {"weight": (rng.standard_normal((2, 4)) * 0.8).astype(np.float32)}),
        cuba_node("lif2", 2, tau_mem=16e-3, tau_syn=8e-3, dt=1e-4),
        Node("out", "Output", {"shape": np.array([2])}),
    ]  # fmt: skip
    return Graph({n.name: n for n in nodes},
                 [("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "fc2"),
                  ("fc2", "lif2"), ("lif2", "out")], {"dt": 1e-4})  # fmt: skip


def make_integrator_graph() -> Graph:
    """[10] -> linear -> IF(7) -> linear -> IF(3), weights in {-1, 0, 1} and
    threshold 1 (on Loihi's grid): read with ``--reset subtract`` or
    ``--source sinabs`` (counts), both layers become integrators."""
    rng = np.random.default_rng(5)
    w1 = rng.choice([-1.0, 0.0, 0.0, 1.0], size=(7, 10)).astype(np.float32)
    w2 = rng.choice([-1.0, 0.0, 1.0, 1.0], size=(3, 7)).astype(np.float32)
    w1[0, :2], w2[0, :2] = [1.0, -1.0], [1.0, -1.0]
    g = chain([Node("input", "Input", {"shape": np.array([10])}),
               Node("fc1", "Linear", {"weight": w1}), if_node("if1", (7,), 1.0),
               Node("fc2", "Linear", {"weight": w2}), if_node("if2", (3,), 1.0),
               Node("output", "Output", {"shape": np.array([3])})])  # fmt: skip
    g.metadata = {"dt": 1.0}
    return g


def count_inputs(rng, steps: int, batch: int, n: int, top: int = 6) -> np.ndarray:
    """Graded inputs [T, B, n]: event counts 0..top (Xylo-style), about half zero."""
    return (rng.integers(0, top + 1, (steps, batch, n)) * (rng.random((steps, batch, n)) < 0.5)).astype(np.int64)


if __name__ == "__main__":
    from nirc.nirfile import write

    write(sys.argv[2], globals()[sys.argv[1]]())
