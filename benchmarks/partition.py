"""`partition`: spike traffic against index-order slicing, time and memory, at scale.

    python benchmarks/partition.py [--quick] [--only NAME[,NAME]] [--seed 0]

For each model and capacity model, one row: neurons, cores (the partitioner's
placement and the index-order baseline at the same per-core limits), traffic
(weighted spike copies per step; see nirc.passes.partition) of both and their
ratio, which method won, the wall time of :func:`nirc.passes.partition.place`
(connectivity + baseline + partitioner, each with the exact evaluation of its
placement; the partitioner's and the baseline's shares printed next to it) and
its peak memory (tracemalloc: the Python and numpy allocations of the call;
the model itself was built before). Rates come from a calibration run of the float reference
interpreter (nirc.interpreter.snn.run_snn) where the row says so.

Models:

- ``paper-cnn``: examples/nmnist_cnn.nir (the NIR paper's N-MNIST CNN), dt 1,
  activity on 8 x 100 steps of Bernoulli(0.05) input spikes;
- ``sinabs-digits``: ../shared/tasks/sinabs_cnn_digits.nir (--source sinabs),
  activity on 16 samples of digits16_train.npz;
- ``dvs-cnn``: a generated DVS-gesture-sized CNN (2x128x128 input, conv 3x3
  32-64-128-64 with 2x2 sum-pools, dense 4096-256-11; 934,155 neurons), built
  directly as a fused snn module; activity on 4 x 20 steps of Bernoulli(0.02)
  events;
- ``sparse-rnn``: 100 inputs (10 % of the input weights nonzero) -> 10,000
  recurrent LIF neurons (1 % of the 10,000 x 10,000 recurrent weights
  nonzero) -> 10 outputs (10 % of the readout weights nonzero: a dense
  10,000-input readout neuron fits no SpiNNaker2 PE). ``-local``: each
  neuron's 100 recurrent partners are drawn near it on a ring (a
  spatially-embedded network) and the neurons are then numbered in random
  order (as training or pruning leaves them); ``-uniform``: partners drawn
  uniformly (no structure any placement could exploit). Activity on 4 x 100
  steps of Bernoulli(0.05) input spikes. NIR (and snn.dense) store the weight
  dense (400 MB of float32 here); nirc reads it through a zero-copy view and
  keeps only the nonzero columns per row (int32), built in row chunks.
- ``dense-mlp``: 784 inputs -> 2,000 -> 2,000 -> 10 LIF, every weight
  nonzero (5.6 M synapses: an MNIST-sized multilayer perceptron); activity
  on 4 x 100 steps of Bernoulli(0.05) input spikes. All-to-all layers are
  where the dense backward step matters: before it marked each (lead, bin)
  group's rows in a table (2026-12-08), it expanded and sorted every
  (output, input) pair, 4 M a call: 19.1 of `nirc compile --target loihi2`'s
  24.2 s were the placement, 16.2 s in all after (artifacts byte-identical);
  place() on the Loihi 2 capacity 28.1 -> 15.7 s, then 12.6 s once the
  repair's attachments came from a table instead of a sort.
- ``conv-10k`` / ``conv-100k`` / ``conv-1M``: the dvs-cnn architecture on 16x16,
  44x44 and 128x128 inputs (14,859 / 110,283 / 934,155 neurons; uniform
  rates): the scaling series.

Capacity models: the targets' own ``spec.capacity``
(``nirc.targets.loihi2.spec`` / ``nirc.targets.spinnaker2.spec``; the script
says which it used, and falls back to equivalent numbers of its own while a
target does not import):

- ``loihi2``: 8,192 neurons and 128 KiB per core, 128 cores per chip, with
  ``chips`` raised to 1,152 (a Hala Point) so that every baseline fits;
  inputs come from the host (not placed); a chip hop costs 10 core hops;
- ``loihi2-neurons``: the same machine without a memory limit (neurons per
  core only): isolates where the cuts fall at the vendors' own slice size;
- ``spinnaker2``: 256 neurons per PE, the LIF app's ~67 KB of regions per PE,
  152 PEs per chip, 48 chips, spike sources placed on PEs, with
  ``exclusive_cores`` (py-spinnaker2 runs one population slice per PE).

Targets (issue 14): traffic <= 0.7x index order on the conv networks, <= 0.8x on
the sparse recurrent network, with the same or fewer cores; the 1M-neuron conv
network in < 60 s and < 4 GB on the 2-core machine; time growing no faster
than n log n over the scaling series.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


# --------------------------------------------------------------------------------------
# building fused snn modules directly
# --------------------------------------------------------------------------------------


class Builder:
    """A small snn graph builder: top-level ops in order, then `fuse`."""

    def __init__(self) -> None:
        self.ops: list = []

    @staticmethod
    def _type(shape):
        from xdsl.dialects.builtin import TensorType, f32

        return TensorType(f32, list(shape))

    def _add(self, cls, name, operands, out_shape, **props):
        from xdsl.dialects.builtin import StringAttr

        from nirc.dialects.nir import array_to_attr

        p = {"name": StringAttr(name)}
        for k, v in props.items():
            p[k] = v if not isinstance(v, np.ndarray) else array_to_attr(v)
        op = cls.create(operands=list(operands), result_types=[self._type(out_shape)], properties=p)
        op.results[0].name_hint = name.replace(".", "_")
        self.ops.append(op)
        return op.results[0]

    def input(self, name, shape):
        from nirc.dialects import snn

        return self._add(snn.InputOp, name, [], shape, shape=np.array(shape, np.int64))

    def conv(self, name, x, weight, stride=1, pad=1):
        from nirc.dialects import snn

        c, h, w = x.type.get_shape()
        k = weight.shape[2]
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        return self._add(
            snn.Conv2dOp, name, [x], (weight.shape[0], ho, wo),
            weight=weight.astype(np.float32), stride=np.array([stride] * 2, np.int64),
            padding=np.full((2, 2), pad, np.int64), dilation=np.ones(2, np.int64),
            groups=np.array(1, np.int64),
        )  # fmt: skip

    def neuron(self, name, *xs):
        from xdsl.dialects.builtin import StringAttr

        from nirc.dialects import snn

        return self._add(
            snn.NeuronOp, name, xs, x_shape(xs[0]), alpha_mem=np.array(0.9),
            v_threshold=np.array(1.0), reset=StringAttr("subtract"),
        )  # fmt: skip

    def pool(self, name, x, k=2):
        from nirc.dialects import snn

        c, h, w = x.type.get_shape()
        return self._add(
            snn.SumPool2dOp, name, [x], (c, h // k, w // k),
            kernel_size=np.array([k, k], np.int64), stride=np.array([k, k], np.int64),
            padding=np.zeros(2, np.int64),
        )  # fmt: skip

    def reshape(self, name, x, shape):
        from nirc.dialects import snn

        return self._add(snn.ReshapeOp, name, [x], shape)

    def dense(self, name, x, weight):
        from nirc.dialects import snn

        return self._add(snn.DenseOp, name, [x], (weight.shape[0],), weight=weight)

    def delay(self, name, x):
        from nirc.dialects import snn

        return self._add(snn.DelayOp, name, [x], x_shape(x), steps=np.array(1, np.int64))

    def output(self, name, x):
        from xdsl.dialects.builtin import StringAttr

        from nirc.dialects import snn

        self.ops.append(snn.OutputOp.create(operands=[x], properties={"name": StringAttr(name)}))

    def module(self):
        from xdsl.dialects.builtin import ModuleOp
        from xdsl.ir import Block, Region

        from nirc.dialects import snn
        from nirc.passes.fuse import fuse

        graph = snn.GraphOp.create(
            properties=snn.graph_attrs(1.0, "euler", "zero"), regions=[Region(Block(self.ops))]
        )
        module = ModuleOp([graph])
        fuse(module)
        module.verify()
        return module


def x_shape(x) -> tuple[int, ...]:
    return tuple(x.type.get_shape())


def conv_net(size: int, seed: int = 0):
    """The dvs-cnn architecture on a 2 x size x size input."""
    rng = np.random.default_rng(seed)
    b = Builder()
    x = b.input("events", (2, size, size))
    cin = 2
    for i, cout in enumerate((32, 64, 128, 64)):
        fan = cin * 9
        w = rng.normal(0, 2.0 / np.sqrt(fan), (cout, cin, 3, 3))
        v = b.neuron(f"lif{i + 1}", b.conv(f"conv{i + 1}", x, w))
        x = b.pool(f"pool{i + 1}", v)
        cin = cout
    flat = int(np.prod(x_shape(x)))
    x = b.reshape("flatten", x, (flat,))
    x = b.neuron("fc1.lif", b.dense("fc1", x, rng.normal(0, 2 / np.sqrt(flat), (256, flat)).astype(np.float32)))
    x = b.neuron("out", b.dense("fc2", x, rng.normal(0, 0.2, (11, 256)).astype(np.float32)))
    b.output("output", x)
    return b.module()


def sparse_rnn(local: bool, seed: int = 0, n: int = 10_000, density: float = 0.01):
    """100 inputs -> n recurrent LIF (``density`` of the recurrent weights
    nonzero) -> 10 outputs (see the module docstring)."""
    rng = np.random.default_rng(seed)
    per = int(round(density * n))
    rows = np.repeat(np.arange(n), per)
    if local:
        offs = np.rint(rng.normal(0, per / 2, size=(n, per))).astype(np.int64)
        offs[offs == 0] = 1
        cols = (np.arange(n)[:, None] + offs) % n
        perm = rng.permutation(n)  # neurons numbered in random order
        rows, cols = perm[rows], perm[cols.reshape(-1)]
    else:
        cols = np.concatenate([rng.choice(n, per, replace=False) for _ in range(n)])
    w_rec = np.zeros((n, n), np.float32)
    w_rec[rows, cols] = rng.normal(0, 0.3, rows.size).astype(np.float32)
    w_in = (rng.random((n, 100)) < 0.1) * rng.normal(0, 1.0, (n, 100))
    b = Builder()
    x = b.input("input", (100,))
    fc = b.dense("w_in", x, w_in.astype(np.float32))
    lif = b.neuron("rec", fc)
    rec = b.dense("w_rec", lif, w_rec)
    del w_rec
    d = b.delay("w_rec.delay", rec)
    neuron_op = lif.owner
    neuron_op.operands = [fc, d]
    w_out = (rng.random((10, n)) < 0.1) * rng.normal(0, 0.3, (10, n))  # a pruned readout
    out = b.neuron("out", b.dense("w_out", lif, w_out.astype(np.float32)))
    b.output("output", out)
    return b.module()


def dense_mlp(seed: int = 0, sizes: tuple[int, ...] = (784, 2000, 2000, 10)):
    """An all-to-all LIF multilayer perceptron (see the module docstring)."""
    rng = np.random.default_rng(seed)
    b = Builder()
    x = b.input("input", (sizes[0],))
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        w = rng.normal(0, 2 / np.sqrt(n_in), (n_out, n_in)).astype(np.float32)
        x = b.neuron(f"lif{i + 1}", b.dense(f"fc{i + 1}", x, w))
    b.output("output", x)
    return b.module()


def nir_model(path: Path, source: str = "nir", dt: float | None = 1.0):
    from nirc.context import make_context
    from nirc.interpreter.snn import load_module
    from nirc.passes import get_pass

    module = load_module(str(path))
    ctx = make_context()
    get_pass("discretize")(dt=dt, source=source).apply(ctx, module)
    get_pass("fold-weights")().apply(ctx, module)
    get_pass("fuse")().apply(ctx, module)
    return module


# --------------------------------------------------------------------------------------
# capacity models
# --------------------------------------------------------------------------------------


def capacities() -> dict[str, object]:
    """The capacity models of the module docstring: the targets' own
    ``spec.capacity`` when their spec modules exist, else this script's."""
    import math

    from nirc.passes.partition import CapacityModel, target_capacity

    mine = {
        "loihi2": CapacityModel(
            "loihi2", neurons_per_core=8192, memory_per_core=128 * 1024, cores_per_chip=128,
            chips=1152, bytes_per_neuron=8, bytes_per_synapse=2, bytes_per_shared_weight=1,
            bytes_per_input_axon=4, bytes_per_source_slice=8, fixed_bytes=1024,
            chip_hop_cost=10.0,
        ),
        "spinnaker2": CapacityModel(
            "spinnaker2", neurons_per_core=256, memory_per_core=67 * 1024, cores_per_chip=152,
            chips=48, bytes_per_neuron=24, bytes_per_synapse=2, bytes_per_shared_weight=1,
            bytes_per_input_axon=6, bytes_per_source_slice=12, fixed_bytes=256,
            place_inputs=True, chip_hop_cost=10.0, exclusive_cores=True,
        ),
    }  # fmt: skip
    out: dict[str, object] = {}
    for name, fallback in mine.items():
        try:
            spec = target_capacity(name)
            out[name + " source"] = f"targets/{name}/spec.py"
        except Exception as e:  # noqa: BLE001 - a target being built: say so, use ours
            out[name + " source"] = f"this script ({type(e).__name__}: {str(e)[:60]})"
            spec = fallback
        if name == "loihi2":  # a Hala Point's chips, so that every baseline fits
            spec = spec.with_overrides(chips=1152)
        else:  # py-spinnaker2 runs one population slice per PE
            spec = spec.with_overrides(exclusive_cores=True)
        out[name] = spec
    out["loihi2-neurons"] = out["loihi2"].with_overrides(memory_per_core=math.inf)
    out["loihi2-neurons source"] = "loihi2 without a memory limit"
    return out


# --------------------------------------------------------------------------------------
# activity
# --------------------------------------------------------------------------------------


def activity_random(module, steps: int, batch: int, rate: float, seed: int = 1):
    from nirc.interpreter.snn import calibration_inputs
    from nirc.passes.partition import measure_activity

    inputs = calibration_inputs(module, None, steps=steps, rate=rate, batch=batch, seed=seed)
    return measure_activity(module, inputs)


def activity_digits(module, samples: int = 16):
    from nirc.passes.partition import measure_activity

    data = np.load(SHARED / "tasks" / "digits16_train.npz")
    spikes = data["spikes"][:samples].astype(np.float32)  # [N, T, 1, 16, 16]
    name = next(op.node_name.data for op in _graph(module).input_ops())
    return measure_activity(module, {name: np.swapaxes(spikes, 0, 1)})


def _graph(module):
    from nirc.dialects import snn

    return snn.top_graph(module)


# --------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------


def measure(module, capacity, activity, seed: int):
    from nirc.passes.partition import place

    tracemalloc.start()
    start = time.perf_counter()
    placement = place(module, capacity, activity=activity, seed=seed)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return placement, seconds, peak


def neurons_of(module) -> int:
    from nirc.dialects import snn

    return sum(
        int(np.prod(op.out_shape()))
        for op in snn.flat_ops(_graph(module))
        if isinstance(op, snn.NeuronOp)
    )


HEADER = (
    f"{'model':<18} {'capacity':<15} {'neurons':>9} {'cores':>11} {'traffic':>21} "
    f"{'ratio':>6} {'won':<12} {'time s':>7} {'(part.':>7} {'base)':>6} {'peak MB':>8}  activity"
)


def row(name, cap_name, module, placement, seconds, peak, activity_label) -> str:
    cores = f"{placement.cores_used}/{placement.baseline_cores}"
    traffic = f"{placement.traffic:.4g}/{placement.baseline_traffic:.4g}"
    ratio = placement.traffic / placement.baseline_traffic if placement.baseline_traffic else 1.0
    return (
        f"{name:<18} {cap_name:<15} {neurons_of(module):>9} {cores:>11} {traffic:>21} "
        f"{ratio:>6.3f} {placement.method:<12} {seconds:>7.2f} "
        f"{placement.timings.get('partitioner', 0.0):>7.2f} {placement.timings.get('baseline', 0.0):>6.2f} "
        f"{peak / 2**20:>8.1f}  {activity_label}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 1M-neuron models")
    parser.add_argument("--only", default="", help="comma-separated model names")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    only = {s for s in args.only.split(",") if s}
    caps = capacities()
    print(f"machine load (1/5/15 min): {' / '.join(f'{v:.2f}' for v in os.getloadavg())}, "
          f"{os.cpu_count()} cores")  # fmt: skip
    for name in ("loihi2", "spinnaker2", "loihi2-neurons"):
        c = caps[name]
        print(f"capacity {name}: {caps[name + ' source']}; {c.neurons_per_core} neurons, "
              f"{c.memory_per_core:g} B per core, {c.cores_per_chip} cores x {c.chips} chips, "
              f"exclusive cores {c.exclusive_cores}, inputs placed {c.place_inputs}")  # fmt: skip
    print("cores and traffic: partitioner/index order; ratio = partitioner / index order")
    print(HEADER)

    def want(name: str) -> bool:
        return not only or name in only

    jobs = []
    if want("paper-cnn"):
        jobs.append(("paper-cnn", lambda: nir_model(ROOT / "examples" / "nmnist_cnn.nir"),
                     lambda m: (activity_random(m, 100, 8, 0.05), "calibrated"),
                     ["loihi2", "loihi2-neurons", "spinnaker2"]))  # fmt: skip
    if want("sinabs-digits") and (SHARED / "tasks" / "sinabs_cnn_digits.nir").exists():
        jobs.append(("sinabs-digits",
                     lambda: nir_model(SHARED / "tasks" / "sinabs_cnn_digits.nir", "sinabs", None),
                     lambda m: (activity_digits(m), "digits16"),
                     ["loihi2", "loihi2-neurons", "spinnaker2"]))  # fmt: skip
    for local in (True, False):
        name = "sparse-rnn-" + ("local" if local else "uniform")
        if want(name):
            jobs.append((name, lambda local=local: sparse_rnn(local, args.seed),
                         lambda m: (activity_random(m, 100, 4, 0.05), "calibrated"),
                         ["loihi2", "spinnaker2"]))  # fmt: skip
    if want("dense-mlp"):
        jobs.append(("dense-mlp", lambda: dense_mlp(args.seed),
                     lambda m: (activity_random(m, 100, 4, 0.05), "calibrated"),
                     ["loihi2", "spinnaker2"]))  # fmt: skip
    if want("dvs-cnn") and not args.quick:
        jobs.append(("dvs-cnn", lambda: conv_net(128, args.seed),
                     lambda m: (activity_random(m, 20, 4, 0.02), "calibrated"),
                     ["loihi2", "loihi2-neurons"]))  # fmt: skip
    for size, label in ((16, "conv-10k"), (44, "conv-100k"), (128, "conv-1M")):
        if want(label) and not (args.quick and size == 128):
            jobs.append((label, lambda size=size: conv_net(size, args.seed),
                         lambda m: (None, "uniform"), ["loihi2"]))  # fmt: skip
    for name, build, act, cap_names in jobs:
        module = build()
        activity, label = act(module)
        for cap_name in cap_names:
            placement, seconds, peak = measure(module, caps[cap_name], activity, args.seed)
            print(row(name, cap_name, module, placement, seconds, peak, label), flush=True)
        del module
    return 0


if __name__ == "__main__":
    sys.exit(main())
