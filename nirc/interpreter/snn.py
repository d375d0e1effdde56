"""The interpreter for the `snn` dialect, float and integer.

An `snn` module becomes an ordinary :class:`~nirc.interpreter.plan.Plan` run
by the same engine as the `nir` level (:mod:`nirc.interpreter.engine`), with
the same numpy kernels for synapses, pools, reshapes and delays
(:mod:`nirc.interpreter.ops`); only the neuron kernel is new
(:class:`SnnNeuron`), because `snn` neurons have more options than NIR's
(reset flavours, ``>=``, multi-spike counts, the order of current and voltage,
initial states, the integer semantics of quantized neurons).

How the module maps onto a plan:

- Fused layers are transparent: their body ops are nodes of their own (named
  by their names); a layer's block arguments are its operands, its result is
  what it yields.
- An ``snn.delay`` of >= 1 step on a cycle is where the engine's feedback
  mechanism applies: its input edge becomes a feedback edge (the engine hands
  over the previous step's value) and the kernel delays ``steps - 1`` more. A
  delay off any cycle is an ordinary delay kernel.
- Fan-in is summed in operand order; `discretize` orders operands so that
  this is the summation order of the `nir` interpreter, which makes a
  discretized graph bit-identical to its `nir` form (the neuron update of
  :class:`SnnNeuron` performs the float operations of
  :mod:`nirc.interpreter.neurons` in the same order).
- Quantized ops hold integers; integer synapses run as float64 kernels whose
  weights are ``weight * 2**shift`` (exact: every value is an integer well
  below 2**53), and quantized neurons run in int64 (see the `snn` dialect's
  docstring for the exact rounding and saturation rules).

Probes: ``node`` (its output), ``node.v``, ``node.i`` and, for spiking
neurons, ``node.v_pre``: the membrane of the step before that step's reset
(what snnTorch records as ``mem``; equal to ``v`` for the resets that act in
the next step).

``cut`` names nodes whose values are given as inputs instead of computed (the
`quantize` pass uses it to evaluate one layer on recorded inputs);
``with_outputs=False`` keeps only what the probes need.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nirc.diagnostics import NircError
from nirc.graph import Graph, Node
from nirc.interpreter.neurons import Neuron, _is
from nirc.interpreter.neurons import _compact as compact
from nirc.interpreter.ops import Conv, Delay, Dense, Flatten, Identity, Pool, Scale
from nirc.interpreter.plan import NodePlan, Plan, Probe, _segments
from nirc.topology import strongly_connected_components, topological_order

F64 = np.float64
I64 = np.int64


# --------------------------------------------------------------------------------------
# the neuron kernel
# --------------------------------------------------------------------------------------


def _compact(a: np.ndarray | None, default: float) -> np.ndarray | float:
    """A uniform array as a float, like the nir kernels do (see
    :func:`nirc.interpreter.neurons._compact`); ``default`` when absent."""
    return float(default) if a is None else compact(a)


def _int_param(a: np.ndarray | None, default: int, shape) -> np.ndarray | int:
    if a is None:
        return int(default)
    a = np.asarray(a, dtype=I64)
    if a.size and np.all(a == a.flat[0]):
        return int(a.flat[0])
    return np.ascontiguousarray(np.broadcast_to(a, shape))


class SnnNeuron(Neuron):
    """An ``snn.neuron`` layer (float or quantized)."""

    def __init__(self, op, shape) -> None:  # noqa: D107 (not Neuron's signature)
        from nirc.dialects.snn import param

        self.name = op.node_name.data
        self.type = "snn.neuron"
        self.shape = tuple(shape)
        self.syn = op.has_synapse_stage
        self.states = ("v", "i") if self.syn else ("v",)
        self.fires = op.spiking
        self.multi = op.spike_mode() == "multi"
        cap = op.spike_cap() if self.multi else None
        self.cap = None if cap is None else float(cap)  # at most this many spikes per step
        # `spiking` tells the engine the output is 0/1 (it bounds weighted sums)
        self.spiking = self.fires and not self.multi
        self.reset_mode = op.reset_mode()
        self.ge = op.compare_mode() == "ge"
        self.same = op.order() == "same"
        self.quantized = op.quantized
        p = {f: param(op, f) for f in (
            "alpha_mem", "gain_mem", "bias_mem", "alpha_syn", "gain_syn",
            "v_threshold", "v_reset", "v_init", "i_init", "v_min")}  # fmt: skip
        if self.quantized:
            self.frac = int(op.frac_bits.value.data)
            bits = int(op.state_bits.value.data)
            self.lo, self.hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            one = 1 << self.frac
            self.d = _int_param(p["alpha_mem"], one, shape)
            self.cm = _int_param(p["gain_mem"], one, shape)
            self.km = _int_param(p["bias_mem"], 0, shape)
            self.ds = _int_param(p["alpha_syn"], one, shape)
            self.cs = _int_param(p["gain_syn"], one, shape)
            self.thr = _int_param(p["v_threshold"], 0, shape)
            self.v_reset = _int_param(p["v_reset"], 0, shape)
            self.v0 = _int_param(p["v_init"], 0, shape)
            self.i0 = _int_param(p["i_init"], 0, shape)
            self.v_min = None if p["v_min"] is None else _int_param(p["v_min"], 0, shape)
        else:
            self.d = _compact(p["alpha_mem"], 1.0)
            self.cm = _compact(p["gain_mem"], 1.0)
            self.km = _compact(p["bias_mem"], 0.0)
            self.ds = _compact(p["alpha_syn"], 1.0)
            self.cs = _compact(p["gain_syn"], 1.0)
            self.thr = _compact(p["v_threshold"], 0.0)
            self.v_reset = _compact(p["v_reset"], 0.0)
            self.v0 = _compact(p["v_init"], 0.0)
            self.i0 = _compact(p["i_init"], 0.0)
            self.v_min = None if p["v_min"] is None else _compact(p["v_min"], 0.0)
        # a count bound of the output, for the engine's exact sums (None: unknown)
        self.output_bound = None if not self.fires else 1.0 if not self.multi else self.cap

    def count_bound(self, drive: float | None) -> float | None:
        """A bound on one step's spike count of an uncapped float multi-spike
        layer whose input never exceeds ``drive`` in magnitude (None: no bound
        known; see :attr:`output_bound` for the others).

        Why it holds, for a reset to a value or by subtraction of the count
        times the threshold (thresholds > 0, the verifier's), no synaptic
        stage and a decay in [0, 1]: the membrane after a step is at most V =
        max(v_init, v_reset, 2 * threshold), by induction. A step that does
        not fire leaves v <= threshold; one that fires leaves v_reset, or v -
        floor(v / thr) * thr, which is below thr but for the rounding of the
        quotient (relative 2**-53 per unit of the count: with counts below
        2**40, far less than another thr). v * decay <= V for v <= V (v < 0
        decays towards 0). So the membrane before the threshold is at most
        V + drive * |gain| + |bias|, and the count at most that over the
        smallest threshold, floor plus one (and a thousandth for the sums'
        rounding)."""
        if not (self.fires and self.multi) or self.cap is not None or self.quantized:
            return self.output_bound
        if drive is None or self.syn or self.reset_mode not in ("subtract", "zero"):
            return None
        thr, d = np.asarray(self.thr, F64), np.asarray(self.d, F64)
        if thr.size == 0 or thr.min() <= 0 or d.min() < 0 or d.max() > 1:
            return None
        top = max(float(np.max(self.v0)), 2.0 * float(thr.max()),
                  float(np.max(self.v_reset)) if self.reset_mode == "zero" else 0.0)  # fmt: skip
        reach = (top + drive * float(np.max(np.abs(self.cm)))
                 + float(np.max(np.abs(self.km)))) * 1.001  # fmt: skip
        q = reach / float(thr.min())
        if not np.isfinite(q) or q >= 2.0**40:
            return None
        return float(np.floor(q) + 1.0)

    # -- state -------------------------------------------------------------------------

    def reset(self, batch: int) -> None:
        dtype = I64 if self.quantized else F64
        full = (batch,) + self.shape
        self.v = np.empty(full, dtype)
        self.v[...] = self.v0
        self.i = np.empty(full, dtype)
        self.i[...] = self.i0
        self.last = np.zeros(full, dtype)  # spike count of the previous step

    def state(self, name: str) -> np.ndarray:
        return getattr(self, name)

    # -- running -----------------------------------------------------------------------

    def run(self, x: np.ndarray, rec: dict[str, np.ndarray]) -> np.ndarray:
        """``x[Tc, B, *shape] -> output[Tc, B, *shape]``; fills ``rec``."""
        if self.quantized:
            return self._run_int(x, rec)
        return self._run_float(x, rec)

    def step(self, x: np.ndarray, rec: dict[str, np.ndarray]) -> np.ndarray:
        return self.run(x[None], {k: v[None] for k, v in rec.items()})[0]

    def _run_float(self, x: np.ndarray, rec) -> np.ndarray:
        mul, add = np.multiply, np.add
        tc = x.shape[0]
        if self.syn:
            u = x if _is(self.cs, 1.0) else x * self.cs
            cur = np.empty((tc + 1,) + x.shape[1:], F64)
            cur[0] = self.i
            for t in range(tc):
                ct = cur[t + 1]
                mul(cur[t], self.ds, ct)
                add(ct, u[t], ct)
            self.i[...] = cur[tc]
            if "i" in rec:
                rec["i"][...] = cur[1:]
            src = cur[1:] if self.same else cur[:tc]
        else:
            src = x
        w = src if _is(self.cm, 1.0) else src * self.cm
        if not _is(self.km, 0.0):
            w = w + self.km
        v, d = self.v, self.d
        rv = rec.get("v")
        if not self.fires:
            y = np.empty(w.shape, F64)
            for t in range(tc):
                if _is(d, 0.0):
                    v[...] = w[t]
                else:
                    if not _is(d, 1.0):
                        mul(v, d, v)
                    add(v, w[t], v)
                y[t] = v
            if rv is not None:
                rv[...] = y
            return y
        return self._membrane_float(v, d, w, rv, rec.get("v_pre"))

    def _membrane_float(self, v, d, w, rv, rp=None) -> np.ndarray:
        """The spiking loop; the default options perform exactly the operations of
        the nir interpreter's loop. ``rp`` records the membrane before this step's
        reset (``v_pre``). (A compiled version of this loop was measured and not
        kept: on batches of 1 and 256 it ran as fast as these ufuncs.)"""
        mul, add, sub = np.multiply, np.add, np.subtract
        tc = w.shape[0]
        thr, v_reset = self.thr, self.v_reset
        out = np.empty(w.shape, F64)
        z = np.empty(v.shape, bool)
        keep = np.empty(v.shape, bool)
        tmp = np.empty(v.shape, F64)
        cmp = np.greater_equal if self.ge else np.greater
        mode = self.reset_mode
        to_zero = _is(v_reset, 0.0)
        last = self.last
        for t in range(tc):
            if _is(d, 0.0):
                v[...] = w[t]
            else:
                if not _is(d, 1.0):
                    mul(v, d, v)
                add(v, w[t], v)
            if mode == "subtract_undecayed":
                mul(last, thr, tmp)
                sub(v, tmp, v)
            elif mode == "zero_refractory":
                np.copyto(v, v_reset, where=last > 0)
            cmp(v, thr, z)
            if self.multi:
                n = np.where(z, np.floor(v / thr), 0.0)
                if self.cap is not None:
                    np.minimum(n, self.cap, out=n)
            else:
                n = z
            if rp is not None:
                rp[t] = v
            if mode == "zero":
                if to_zero:
                    np.logical_not(z, keep)
                    mul(v, keep, v)
                else:
                    np.copyto(v, v_reset, where=z)
            elif mode == "subtract":
                mul(n, thr, tmp)
                sub(v, tmp, v)
            if self.v_min is not None:
                np.maximum(v, self.v_min, out=v)
            out[t] = n
            last[...] = n
            if rv is not None:
                rv[t] = v
        return out

    def _ms(self, a: np.ndarray, m) -> np.ndarray:
        """a * m / 2**F, rounded half up (m a fixed-point multiplier)."""
        if isinstance(m, int) and m == 1 << self.frac:
            return a
        if self.frac == 0:
            return a * m
        return (a * m + (1 << (self.frac - 1))) >> self.frac

    def _sat(self, a: np.ndarray) -> np.ndarray:
        return np.clip(a, self.lo, self.hi, out=a)

    def _run_int(self, x: np.ndarray, rec) -> np.ndarray:
        if x.size and not np.all(np.trunc(x) == x):
            bad = x[np.trunc(x) != x].reshape(-1)[0]
            raise NircError(
                "a quantized neuron received a non-integer input",
                where=self.name,
                expected="integer inputs (spike counts, outputs of integer synapses)",
                found=f"{bad!r}",
                hint="give a quantized network integer inputs (spikes), and quantize every "
                "synapse on the way (float-only ops such as snn.scale need `fold-weights`)",
            )
        xi = np.clip(x, -(2.0**31), 2.0**31 - 1).astype(I64)
        tc = x.shape[0]
        v, i, last = self.v, self.i, self.last
        out = np.empty(x.shape, F64)
        rv, ri, rp = rec.get("v"), rec.get("i"), rec.get("v_pre")
        thr, v_reset = self.thr, self.v_reset
        mode = self.reset_mode
        for t in range(tc):
            if self.syn:
                i_prev = i.copy() if not self.same else None
                i[...] = self._sat(self._ms(i, self.ds) + self._ms(xi[t], self.cs))
                src = i if self.same else i_prev
                if ri is not None:
                    ri[t] = i
            else:
                src = xi[t]
            v[...] = self._sat(self._ms(v, self.d) + self._ms(src, self.cm) + self.km)
            if self.fires:
                if mode == "subtract_undecayed":
                    v[...] = self._sat(v - last * thr)
                elif mode == "zero_refractory":
                    np.copyto(v, v_reset, where=last > 0)
                z = v >= thr if self.ge else v > thr
                if self.multi:
                    n = np.where(z, v // np.where(z, thr, 1), 0)
                    if self.cap is not None:
                        np.minimum(n, int(self.cap), out=n)
                else:
                    n = z.astype(I64)
                if rp is not None:
                    rp[t] = v
                if mode == "zero":
                    np.copyto(v, v_reset, where=z)
                elif mode == "subtract":
                    v[...] = self._sat(v - n * thr)
                if self.v_min is not None:
                    np.maximum(v, self.v_min, out=v)
                last[...] = n
                out[t] = n
            else:
                out[t] = v
            if rv is not None:
                rv[t] = v
        return out


# --------------------------------------------------------------------------------------
# the plan
# --------------------------------------------------------------------------------------

_TYPES = {
    "snn.input": "Input",
    "snn.output": "Output",
    "snn.reshape": "Flatten",
    "snn.delay": "Delay",
}


def _kernel(op, in_shape, out_shape, extra_delay: int):
    """The numpy kernel of one op (the nir interpreter's kernels, fed nir-like nodes)."""
    from nirc.dialects import snn

    name = op.node_name.data
    if isinstance(op, snn.InputOp | snn.OutputOp):
        return Identity(Node(name, "Input"), in_shape, out_shape)
    if isinstance(op, snn.NeuronOp):
        return SnnNeuron(op, out_shape)
    if isinstance(op, snn.ReshapeOp):
        return Flatten(Node(name, "Flatten"), in_shape, out_shape)
    if isinstance(op, snn.ScaleOp):
        return Scale(Node(name, "Scale", {"scale": snn.param(op, "scale")}), in_shape, out_shape)
    if isinstance(op, snn.DelayOp):
        steps = snn.param(op, "steps").astype(F64) - extra_delay
        return Delay(Node(name, "Delay", {"delay": steps}), in_shape, out_shape, 1.0)
    if isinstance(op, snn.SumPool2dOp):
        (kh, kw), stride, pad = op.window()
        kind = "AvgPool2d" if op.divisor is not None else "SumPool2d"
        node = Node(name, kind, {
            "kernel_size": np.array([kh, kw]), "stride": np.array(stride),
            "padding": np.array(pad)})  # fmt: skip
        return Pool(node, in_shape, out_shape)
    weight = snn.param(op, "weight")
    bias = snn.param(op, "bias")
    shift = snn.int_prop(op, "shift")
    if weight.dtype.kind in "iu":  # quantized: exact integers in float64
        weight = weight.astype(F64) * float(2**shift)
        bias = None if bias is None else bias.astype(F64)
    if isinstance(op, snn.DenseOp):
        w2 = weight.reshape(weight.shape[0], -1)
        params = {"weight": w2}
        if bias is not None:
            params["bias"] = np.broadcast_to(bias, (weight.shape[0],))
        kind = "Affine" if bias is not None else "Linear"
        return Dense(Node(name, kind, params), in_shape, out_shape)
    # convolutions: build with zero padding, then set the explicit pads
    stride, pads, dil, groups = op.conv_params()
    nd = op.SPATIAL
    node = Node(name, "Conv1d" if nd == 1 else "Conv2d", {
        "weight": weight, "stride": np.array(stride), "padding": np.zeros(nd, np.int64),
        "dilation": np.array(dil), "groups": np.array(groups),
        "bias": np.zeros(weight.shape[0]) if bias is None
        else np.broadcast_to(bias, (weight.shape[0],))})  # fmt: skip
    k = Conv(node, in_shape, out_shape)
    k.pads = ((0, 0), pads[0]) if nd == 1 else pads
    return k


def build_plan(
    module,
    *,
    record: Iterable[str] | str = (),
    cut: Iterable[str] = (),
    with_outputs: bool = True,
) -> Plan:
    """The simulation plan of an `snn` module (see the module docstring)."""
    from nirc.dialects import snn

    graph = snn.top_graph(module)
    ops = list(snn.flat_ops(graph))
    names = {op: op.node_name.data for op in ops}
    by_name = {n: op for op, n in names.items()}
    preds: dict[str, list[str]] = {}
    for op in ops:
        preds[names[op]] = [names[p] for p in snn.flat_inputs(op)]
    edges = [(s, t) for t in preds for s in preds[t]]
    # one-step feedback: delays (>= 1 step everywhere) on a cycle
    skeleton = Graph({n: Node(n, _TYPES.get(op.name, op.name)) for op, n in names.items()}, edges)
    cyclic: set[str] = set()
    self_loops = {s for s, t in edges if s == t}
    for comp in strongly_connected_components(skeleton):
        if len(comp) > 1 or comp[0] in self_loops:
            cyclic.update(comp)
    contracted = {
        n for n in cyclic
        if isinstance(by_name[n], snn.DelayOp) and snn._breaks_cycle(by_name[n])
    }  # fmt: skip
    feedback = {(s, t) for s, t in edges if t in contracted}

    cut = set(cut)
    unknown = cut - set(by_name)
    if unknown:
        raise NircError("cannot cut at unknown nodes", found=", ".join(sorted(unknown)))
    probes = _probes(by_name, record)
    keep = {p.node for p in probes}
    if with_outputs:
        keep |= {names[op] for op in graph.output_ops()}
    live = set(keep)
    stack = list(keep)
    while stack:
        n = stack.pop()
        if n in cut:
            continue
        for p in preds[n]:
            if p not in live:
                live.add(p)
                stack.append(p)
    sub_preds = {n: ([] if n in cut else preds[n]) for n in names.values() if n in live}
    sub = Graph(
        {n: skeleton.nodes[n] for n in names.values() if n in live},
        [(s, t) for t, ps in sub_preds.items() for s in ps],
    )
    order = topological_order(sub, feedback)
    pos = {n: i for i, n in enumerate(order)}

    nodes: dict[str, NodePlan] = {}
    inputs: dict[str, tuple[int, ...]] = {}
    outputs: dict[str, tuple[int, ...]] = {}
    for op in ops:
        n = names[op]
        if n not in live:
            continue
        if isinstance(op, snn.OutputOp):
            out_shape = _summed(op)
        else:
            out_shape = _shape(op.results[0].type, op)
        if n in cut or isinstance(op, snn.InputOp):
            node_type = "Input"
            kernel = Identity(Node(n, "Input"), out_shape, out_shape)
            inputs[n] = out_shape
            in_shape = out_shape
            node_preds, node_fb = [], []
        else:
            node_type = _TYPES.get(op.name, op.name)
            in_shape = _summed(op) if op.operands else out_shape
            extra = 1 if n in contracted else 0
            kernel = _kernel(op, in_shape, out_shape, extra)
            node_preds = [p for p in preds[n] if (p, n) not in feedback]
            node_fb = [p for p in preds[n] if (p, n) in feedback]
        if isinstance(op, snn.OutputOp) and with_outputs:
            outputs[n] = out_shape
        nodes[n] = NodePlan(n, node_type, kernel, node_preds, node_fb, in_shape, out_shape)

    segments = _segments(sub, order, pos)
    integrator = graph.integrator.data if graph.integrator is not None else "euler"
    reset = graph.reset.data if graph.reset is not None else "zero"
    return Plan(
        sub,
        graph.dt_value,
        "module",
        integrator,
        reset,
        feedback,
        order,
        nodes,
        segments,
        inputs,
        outputs,
        probes,
    )


def _shape(type_, op) -> tuple[int, ...]:
    from nirc.dialects.nir import shape_of

    s = shape_of(type_) if type_ is not None else None
    if s is None:
        raise NircError("the interpreter needs ranked value types", where=op.node_name.data)
    return tuple(int(d) for d in s)


def _summed(op) -> tuple[int, ...]:
    shapes = {_shape(v.type, op) for v in op.operands}
    if len(shapes) != 1:
        raise NircError("inputs of different shapes are summed", where=op.node_name.data)
    return shapes.pop()


def _probes(by_name: dict, record) -> list[Probe]:
    from nirc.diagnostics import closest
    from nirc.dialects import snn

    if isinstance(record, str):
        record = [r for r in record.split(",") if r.strip()]
    probes = []
    for raw in record or ():
        key = raw.strip()
        if key in by_name and not isinstance(by_name[key], snn.OutputOp):
            probes.append(Probe(key, key, None))
            continue
        node, _, state = key.rpartition(".")
        op = by_name.get(node)
        if isinstance(op, snn.NeuronOp):
            states = ("v", "i") if op.has_synapse_stage else ("v",)
            if op.spiking:
                states += ("v_pre",)  # the membrane before this step's reset
            if state in states:
                if key in by_name:  # an Output of that name: one result key, two arrays
                    raise NircError(
                        "ambiguous --record: it names an Output and a state of a neuron",
                        where=f"--record {key}",
                        expected="a name that is either a node or `neuron.state`",
                        found=f"Output `{key}` and state `{state}` of `{node}`",
                        hint=f"rename Output `{key}` to record `{node}`'s {state}",
                    )
                probes.append(Probe(key, node, state))
                continue
            raise NircError(
                f"neuron `{node}` has no state `{state}`",
                where=f"--record {key}",
                expected=f"one of {list(states)}",
                found=state,
            )
        guess = closest(key, list(by_name))
        raise NircError(
            "--record names no node",
            where=f"--record {key}",
            expected="`node` or `neuron.state` (e.g. `lif1.v`)",
            found=key,
            hint=f"did you mean `{guess}`?" if guess else None,
        )
    return probes


# --------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------


def load_module(model: Any):
    """A path (.mlir or .nir), a Graph, a nir.NIRGraph or an xDSL module -> a
    verified module (of whichever dialect it holds)."""
    from nirc import load

    if isinstance(model, (str, os.PathLike)) and Path(model).suffix == ".mlir":
        path = Path(model)
        load._check_exists(path)
        return load.parse_mlir(path)
    return load.load_module(model)


def discretized(module, *, dt=None, integrator="euler", reset="zero", source="nir"):
    """A `nir` module discretized into a new `snn` module (the input is untouched).
    ``source``: a source profile (:mod:`nirc.profiles`); ``integrator``/``reset``
    None take the profile's."""
    from nirc.context import make_context
    from nirc.passes.discretize import DiscretizePass

    module = module.clone()
    DiscretizePass(dt=dt, integrator=integrator, reset=reset, source=source).apply(
        make_context(), module
    )
    return module


def snn_plan_for(
    model: Any,
    *,
    dt: float | None = None,
    integrator: str | None = "euler",
    reset: str | None = "zero",
    record=(),
    source: str = "nir",
) -> Plan:
    """The plan of an `snn` module, or of a `nir` model discretized with these
    options (and source profile). For an `snn` module, ``dt`` (when given) must
    be the module's, and ``source`` (when not ``nir``) the one it was made with."""
    from nirc.dialects.snn import graph_source, is_snn_module, top_graph

    module = load_module(model)
    if not is_snn_module(module):
        module = discretized(
            module, dt=dt, integrator=integrator, reset=reset, source=source or "nir"
        )
    elif source not in (None, "nir") and graph_source(top_graph(module)) != source:
        raise NircError(
            "an snn module already has its semantics",
            expected=f"no --source, or --source {graph_source(top_graph(module))} (the module's)",
            found=f"--source {source}",
            hint="re-run `discretize{source=...}` from the nir level to read it as another "
            "framework",
        )
    elif dt is not None:
        have = top_graph(module).dt_value
        if float(dt) != have:
            raise NircError(
                "an snn module has its own time step",
                expected=f"no --dt, or --dt {have:g} (the module's)",
                found=f"--dt {dt:g}",
                hint="re-run `discretize` from the nir level to change dt",
            )
    return build_plan(module, record=record)


def is_snn_model(model: Any) -> bool:
    """Whether ``model`` is an `snn` module (object, or a .mlir file holding one)."""
    from nirc.dialects.snn import is_snn_module

    if is_snn_module(model):
        return True
    if isinstance(model, (str, os.PathLike)) and Path(model).suffix == ".mlir":
        try:
            head = Path(model).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        return "snn.graph" in head
    return False


def run_snn(
    module,
    inputs: Mapping[str, np.ndarray],
    *,
    record: Iterable[str] = (),
    cut: Iterable[str] = (),
    with_outputs: bool = True,
) -> dict[str, np.ndarray]:
    """Run an `snn` module (float or quantized) on ``{input: [T, B, *shape]}``:
    the float reference that quantization searches and targets measure against.
    See :func:`build_plan` for ``record``, ``cut`` and ``with_outputs``."""
    from nirc.interpreter import Simulation

    sim = Simulation(build_plan(module, record=record, cut=cut, with_outputs=with_outputs))
    out = sim.run({k: inputs[k] for k in sim.plan.inputs})
    for name in sim.plan.outputs if with_outputs else ():
        _check_finite_output(name, np.asarray(out[name]))
    return out


def _check_finite_output(name: str, a: np.ndarray) -> None:
    """A reference whose outputs pass the float range (a readout integrating
    1e300 per step, inf - inf) cannot be matched or measured: refused, with
    where it first happens, instead of NaN distances in a report."""
    if a.dtype.kind != "f" or np.isfinite(a).all():
        return
    first = tuple(np.argwhere(~np.isfinite(a))[0])  # [T, B, ...]: step and sample first
    raise NircError(
        "the float network's output passes the float range",
        where=name,
        found=f"{a[first]} at step {first[0]} of sample {first[1]}",
        expected="finite outputs: the chip's network is quantized and measured against them",
        hint="a readout that integrates without leak, or gains far too large: check r, the "
        "time constants and the weights",
    )


CALIB_SAMPLES = 128  # samples of a labelled data file the quantizers calibrate on


class Calibration(dict):
    """``{input: [T, B, *shape]}`` calibration inputs (a dict), with ``labels``
    ``[B]`` (None unless the file had them) and ``description`` (for reports)."""

    labels: np.ndarray | None = None
    description: str = ""
    dataset: bool = False  # samples of the user's data (not random spikes)


def calibration_inputs(
    module, path: str | None, *, steps: int, rate: float, batch: int, seed: int,
    samples: int | None = None, role: str = "calibration",
) -> Calibration:  # fmt: skip
    """``{input: [T, B, *shape]}`` for an `snn` module: the arrays of the .npz
    ``path`` (checked against the module's inputs), else Bernoulli(``rate``)
    spikes seeded with ``seed``.

    Two layouts of ``path`` are accepted: ``nirc run``'s (one array per Input
    name, time-major ``[T, B, *shape]``), and a labelled data set's (the tasks'
    layout, see :func:`nirc.evaluation.load_data`: ``spikes`` or arrays per
    Input, sample-major ``[N, T, *shape]``, with ``labels``), recognised by
    its ``labels`` or ``spikes`` array. Of a data set, ``samples`` (default
    :data:`CALIB_SAMPLES`) are used, drawn with ``seed`` (all when fewer);
    the result's ``labels`` then holds theirs. ``role``: ``"calibration"``,
    or ``"check"`` for ``--check-steps``' fresh inputs (what a refusal names)."""
    from nirc.interpreter.io import RandomSpec, load_npz, normalize, random_inputs

    plan = build_plan(module)
    shapes = plan.inputs
    if path:
        arrays = load_npz(path)
        if "labels" in arrays or ("spikes" in arrays and "spikes" not in shapes):
            # labels are class indices of the one Output, checked as `nirc eval` does
            outs = list(plan.outputs)
            output = outs[0] if len(outs) == 1 else None
            classes = int(np.prod(plan.outputs[output])) if output is not None else None
            return _labelled_calibration(path, arrays, shapes, samples, seed, classes, output)
        arrays, _, _, _ = normalize(arrays, shapes, where=path)
        out = Calibration({k: np.asarray(v) for k, v in arrays.items()})
        first = next(iter(out.values()), None)
        out.description = f"{Path(path).name}" + (
            f" ({first.shape[1]} x {first.shape[0]} steps)" if first is not None else "")
        return out
    if steps < 1 or batch < 1 or not 0.0 <= rate <= 1.0 or seed < 0:
        raise NircError(
            "bad calibration settings",
            expected="steps >= 1, batch >= 1, rate in [0, 1], seed >= 0",
            found=f"steps {steps}, batch {batch}, rate {rate}, seed {seed}",
        )
    _check_calibration_size(plan, steps, batch, role)
    out = Calibration(random_inputs(shapes, RandomSpec(p=rate, T=steps, B=batch, seed=seed)))
    out.description = f"{batch} x {steps} steps of random spikes, p = {rate:g}, seed {seed}"
    return out


# bytes per input or neuron value of random calibration: a float64 held about eight
# times over (the inputs, the float reference's recorded spikes, the quantizers'
# candidate runs); peak memory measured per value and step over the compile's
# baseline, at 1e5-1e6 samples of one step: Xylo 6.4 x 8 B, Loihi 2 5.3, Speck 3.7
CALIBRATION_BYTES = 8 * 8


def _check_calibration_size(plan: Plan, steps: int, batch: int, role: str) -> None:
    """Refuse random calibration that cannot fit this machine's memory before
    drawing it (:data:`CALIBRATION_BYTES` per input and neuron, sample and
    step): the process was killed by the system's out-of-memory killer, with
    no message, a few GiB past the machine's memory."""
    from nirc.interpreter.io import check_memory, elements

    neurons = {k: n.out_shape for k, n in plan.nodes.items() if isinstance(n.kernel, Neuron)}
    values = elements(plan.inputs) + elements(neurons)
    check = role == "check"
    check_memory(
        float(steps) * batch * values * CALIBRATION_BYTES,
        "the --check-steps run" if check else "random calibration",
        f"{batch:,} samples x {steps:,} steps x {values:,} inputs and neurons, with the float "
        "reference and the " + ("chip's run" if check else "quantizers' runs"),
        "fewer steps (--check-steps) or samples (--calib-batch)" if check else
        "fewer samples (--calib-batch) or steps (--calib-steps), or calibrate on data "
        "(--calibrate)",
    )  # fmt: skip


def calibration_pick(n: int, samples: int = CALIB_SAMPLES, seed: int = 0) -> np.ndarray:
    """The indices (sorted) of the ``samples`` of a data set of ``n`` that a
    calibration draws with ``seed``: all when there are no more (what a
    held-out evaluation leaves out). Draws of one seed are nested: a smaller
    draw is part of a larger one (targets calibrate on 128 to 1,024)."""
    if n <= samples:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:samples])


def _labelled_calibration(path, arrays, shapes, samples, seed, classes=None,
                          output=None) -> Calibration:  # fmt: skip
    """A labelled data set's samples, time-major (see :func:`calibration_inputs`)."""
    from nirc.evaluation import load_data

    ds = load_data(arrays, shapes, classes=classes, output=output, where=str(path))
    want = CALIB_SAMPLES if samples is None else int(samples)
    if want < 1:
        raise NircError("calibration samples must be >= 1", found=str(want))
    n = ds.samples
    pick = calibration_pick(n, want, seed)
    out = Calibration({
        k: np.ascontiguousarray(np.moveaxis(a[pick], 1, 0)) for k, a in ds.inputs.items()
    })  # fmt: skip
    out.labels = None if ds.labels is None else ds.labels[pick]
    out.dataset = True
    out.description = (
        f"{Path(path).name}: {pick.size} of {n} samples x {ds.steps} steps"
        + (f" (drawn with seed {seed})" if pick.size < n else "")
        + (", labelled" if out.labels is not None else "")
    )
    return out
