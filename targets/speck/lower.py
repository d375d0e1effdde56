"""`lower-speck`: the fused `snn` level -> the `speck` dialect.

Runs on a float `snn` module after `inline-subgraphs`, `discretize` (Speck's
default ``dt = 1``: Sinabs files count time in steps), `fold-weights` and
`fuse`, i.e. a graph of ``snn.layer`` ops (synapse -> neuron -> optional
sum-pool). Steps:

1. **Structure** (:func:`extract`): each ``snn.layer`` becomes one core
   layer. A dense synapse becomes a convolution whose kernel covers its whole
   input (the flatten before it is already in its weight, or is absorbed
   here: the weight ``[f, c*h*w]`` is read as ``[f, c, h, w]``, C order); a
   grouped convolution is expanded to a full one (zeros between groups).
   Routing is read off the SSA edges: a layer's synapse input, looking back
   through reshapes and sum-pools, is another layer's spikes (a destination,
   with the pools' product as its pooling) or a graph Input (events from the
   host). Several inputs of one synapse are a merge. An Output reads a
   layer's monitored spikes (pooled on the host if pools stand between).
2. **IR-level rules**, each refused with the node's name and the reason:
   only integrate-and-fire neurons (a LIF's leak ``alpha_mem < 1`` is refused,
   or dropped with ``allow_approximate``); no synaptic current stage; one
   threshold per layer (:func:`~.rules.check_uniform`); reset to zero needs
   ``v_reset == 0`` (reset by subtraction ignores it); no delays or recurrent
   edges (the chip is feed-forward); sum-pools square with stride = kernel,
   no padding, product 1, 2 or 4; no op the chip lacks (a neuron without
   weights, weights not followed by a neuron, unfolded scales).
3. **Chip rules and placement on the shapes** (before quantizing, so that a
   network that cannot fit fails fast): :func:`~.rules.check_network` and
   :func:`~.placement.place` on the layers with placeholder weights.
4. **Quantization** (:mod:`.quantize`): one scale per layer, searched on
   calibration inputs against the float network.
5. The ``speck.chip`` module (:func:`~.dialect.build_chip`) replaces the
   `snn` graph.

The float neuron becomes the chip's as follows. The neuron's input gain
(``r``) is already in the weights (`fold-weights`; any gain left is folded
here). Biases (the synapse's and ``bias_mem``) are added on every step: the
chip's leak, ``leak_enable``. A spike ``v > thr`` (``compare = gt``) on
integer membranes is ``v >= floor(thr * S) + 1``, which is the chip's test
against ``threshold_high``; ``compare = ge`` uses ``ceil(thr * S)``. Reset
``zero`` with ``v_reset = 0`` is ``return_to_zero``; ``subtract`` subtracts
``threshold_high`` (and snnTorch's subtraction in the next step,
``subtract_undecayed``, is the same on a neuron without leak; with a leak it
is approximated so under ``allow_approximate``). ``threshold_low`` is the
most negative int16 unless the neuron has a lower bound ``v_min`` (Sinabs'
``min_v_mem``): then ``round(v_min * S)``. A cap on multi-spike counts
(``max_spikes``) is dropped under ``allow_approximate``, refused otherwise. Binary neurons simulate with one spike per step
at most (``spike_mode = single``), multi-spike ones (Sinabs' profile) with
``floor(v / threshold_high)`` spikes (``multi``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from nirc.diagnostics import NircError, warn

from .dialect import ChipInput, ChipNetwork, ChipOutput, build_chip
from .layer import Destination, SpeckLayer
from .spec import SPECK, SpeckSpec

F64 = np.float64


@dataclass
class FloatLayer:
    """A core layer before quantization (float weights in membrane units)."""

    name: str
    sources: tuple[str, ...]
    neuron: str  # the snn neuron's name: the float reference's probe
    input_shape: tuple[int, int, int]
    weights: np.ndarray  # float64 [f, c, ky, kx]
    bias: np.ndarray  # float64 [f], added every step
    stride: tuple[int, int]  # (x, y)
    padding: tuple[int, int]  # (x, y)
    threshold: float
    compare: str  # "gt" or "ge"
    return_to_zero: bool
    v_init: np.ndarray | None = None  # float64 [f, h, w]
    destinations: list[Destination] = field(default_factory=list)
    approximation: str | None = None
    v_min: float | None = None  # a lower bound of the membrane (threshold_low)

    def placeholder(self) -> SpeckLayer:
        """The layer with zero weights: enough for the shape rules and memory."""
        return SpeckLayer(
            name=self.name,
            sources=self.sources,
            input_shape=self.input_shape,
            weights=np.zeros(self.weights.shape, np.int8),
            stride=self.stride,
            padding=self.padding,
            destinations=tuple(self.destinations),
        )


@dataclass
class FloatNetwork:
    layers: list[FloatLayer]
    inputs: dict[str, ChipInput]
    outputs: dict[str, ChipOutput]
    spike_mode: str
    dt: float
    notes: list[str] = field(default_factory=list)


def _snn():
    from nirc.dialects import snn

    return snn


def _name(op: Operation) -> str:
    return _snn().label(op)


def _shape(value: SSAValue) -> tuple[int, ...]:
    return _snn().known_shape(value, "Speck")


def _chip_shape(shape: tuple[int, ...], where: str) -> tuple[int, int, int]:
    if len(shape) == 3:
        return shape  # type: ignore[return-value]
    if len(shape) == 1:
        return (shape[0], 1, 1)
    raise NircError(
        f"a {len(shape)}-D value cannot be events on Speck",
        where=where,
        expected="(channels, height, width) or a flat vector",
        found=str(list(shape)),
        hint="Speck has 2-D convolutions only (no Conv1d)",
    )


# --------------------------------------------------------------------------------------
# refusing what the chip cannot run
# --------------------------------------------------------------------------------------


def _cycle_through(op: Operation) -> list[str] | None:
    """The node names of a cycle from ``op`` back to ``op`` (looking through
    layers), or None when ``op`` is on no cycle."""
    snn = _snn()
    parent: dict[int, tuple[Operation, Operation | None]] = {id(op): (op, None)}
    todo = [op]
    while todo:
        cur = todo.pop(0)
        for user, _ in snn.consumers(cur.results[0]):
            if user is op:
                path, node = [], cur
                while node is not None:
                    path.append(_name(node))
                    node = parent[id(node)][1]
                return path[::-1] + [_name(op)]
            if id(user) in parent or not user.results:
                continue
            parent[id(user)] = (user, cur)
            todo.append(user)
    return None


def _refuse_delay(op: Operation) -> NircError:
    snn = _snn()
    cycle = _cycle_through(op)
    if cycle is not None:
        return NircError(
            f"a recurrent connection {' -> '.join(cycle)}: Speck cores are feed-forward",
            where=_name(op),
            expected="a feed-forward network (no recurrent connections)",
            found=f"a feedback loop through {', '.join(dict.fromkeys(cycle))}",
            hint="Speck cannot route spikes back to an earlier layer; use a feed-forward "
            "model, or a target with recurrent weights (Xylo)",
        )
    return NircError(
        "a Delay node: Speck has no synaptic delays",
        where=_name(op),
        expected="no Delay nodes",
        found=f"a delay of {snn.attr_to_array(op.steps).reshape(-1)[:4].tolist()} step(s)",
        hint="remove the delay (events on Speck arrive in the step they are sent)",
    )


def _pool_factor(op: Operation, spec: SpeckSpec) -> int:
    (kh, kw), (sh, sw), (ph, pw) = op.window()
    name = _name(op)
    if op.divisor is not None:
        raise NircError(
            "an average pool whose 1/k could not be folded into the next weights",
            where=name,
            expected="an AvgPool2d read only by weights (fold-weights moves 1/k into them)",
            found="an average pool read by something else",
            hint="use SumPool2d, or put weights right after the average pool",
        )
    if kh != kw or (sh, sw) != (kh, kw) or (ph, pw) != (0, 0) or kh not in spec.poolings:
        raise NircError(
            "Speck pools square windows with stride equal to the kernel, without padding",
            where=name,
            expected=f"kernel k x k with k in {{{', '.join(map(str, spec.poolings))}}}, "
            "stride k, padding 0",
            found=f"kernel {kh}x{kw}, stride {sh}x{sw}, padding {ph}x{pw}",
        )
    return kh


def _zero_delay(op: Operation) -> bool:
    """A delay of 0 steps everywhere (e.g. a NIR Delay shorter than dt/2): a wire."""
    snn = _snn()
    return isinstance(op, snn.DelayOp) and not snn.attr_to_array(op.steps).any()


def _check_ops(graph, spec: SpeckSpec) -> None:
    snn = _snn()
    # delays first: a recurrent loop is the reason, whatever else it breaks
    for op in graph.block.ops:
        if isinstance(op, snn.DelayOp) and not _zero_delay(op):
            raise _refuse_delay(op)
    for op in graph.block.ops:
        name = _name(op)
        if isinstance(op, snn.ScaleOp):
            raise NircError(
                "a Scale node that could not be folded into weights",
                where=name,
                expected="Scale next to a Linear/Conv (fold-weights moves it into the weights)",
                found="a Scale with nothing to fold into",
            )
        if isinstance(op, snn.NeuronOp):
            raise NircError(
                "a neuron layer without weights: a Speck core computes conv -> IAF",
                where=name,
                expected="a Linear/Affine/Conv2d feeding every neuron layer",
                found="neurons fed directly by "
                + ", ".join(_name(p) for p in snn.flat_inputs(op) if p is not None),
                hint="insert an identity Conv2d (1x1 kernel, weight 1 per channel)",
            )
        if isinstance(op, snn.SYNAPSE_OPS):
            readers = sorted({_name(u) for u, _ in snn.consumers(op.results[0])})
            raise NircError(
                "weights whose output is not integrated by one neuron layer: a Speck core "
                "ends in IAF neurons",
                where=name,
                expected="Linear/Conv -> IF, with the neurons the weights' only reader",
                found=f"read by {', '.join(readers) or 'nothing'}",
                hint="put IF neurons after these weights (a readout layer of IF neurons "
                "counts spikes)",
            )
        if isinstance(op, snn.SumPool2dOp):
            _pool_factor(op, spec)


# --------------------------------------------------------------------------------------
# neurons
# --------------------------------------------------------------------------------------


@dataclass
class _Neuron:
    threshold: float
    compare: str
    spikes: str
    return_to_zero: bool
    gain: np.ndarray  # per output channel [f]
    bias: np.ndarray  # per output channel [f]
    v_init: np.ndarray | None
    approximation: str | None
    v_min: float | None = None  # the membrane's lower bound: threshold_low


def _per_channel(a: np.ndarray | None, shape: tuple[int, ...], field_: str, name: str, default):
    """A neuron parameter as one value per output channel (axis 0; the only axis
    of a dense layer), or a NircError when it varies within a channel."""
    f = shape[0]
    if a is None:
        return np.full(f, default, F64)
    full = np.broadcast_to(np.asarray(a, F64), shape).reshape(f, -1)
    if not (full == full[:, :1]).all():
        raise NircError(
            f"{field_} differs within a channel; a Speck core has one value per feature",
            where=name,
            expected=f"{field_} uniform over each output channel",
            found=f"values from {full.min():g} to {full.max():g}",
        )
    return full[:, 0].copy()


def _neuron(op: Operation, allow_approximate: bool, dt: float) -> _Neuron:
    from .rules import check_uniform

    snn = _snn()
    name = _name(op)
    shape = _shape(op.results[0])
    if op.quantized:
        raise NircError(
            "the neuron is already quantized; Speck quantizes float networks itself",
            where=name,
            hint="lower the float network (drop the `quantize` pass)",
        )
    if not op.spiking:
        raise NircError(
            "non-spiking neurons (LI / I) cannot run on Speck: its cores emit spikes",
            where=name,
            expected="spiking IF neurons",
            found="a neuron without v_threshold",
            hint="replace a leaky-integrator readout by IF neurons and count their spikes",
        )
    if op.has_synapse_stage:
        raise NircError(
            "CubaLIF / CubaLI neurons cannot run on Speck: it has no synaptic current stage",
            where=name,
            expected="IF neurons (no synaptic current, no leak)",
            found="a neuron with a synaptic current (alpha_syn)",
            hint="retrain with IF (IAF) neurons",
        )
    alpha = snn.param(op, "alpha_mem").astype(F64)
    approximation = None
    bias_mem = snn.param(op, "bias_mem")
    if not (alpha == 1.0).all():
        a_min, a_max = float(alpha.min()), float(alpha.max())
        found = f"alpha_mem = {a_min:.6g}" + (f"..{a_max:.6g}" if a_max != a_min else "")
        if a_min < 0:  # 1 - dt/tau < 0: the time step is longer than the time constant
            found += f" at dt = {dt:g} s (is --dt right? the time constant is shorter than dt)"
        if (alpha == 0.0).all():
            raise NircError(
                "a memoryless Threshold node cannot run on Speck: its neurons integrate",
                where=name,
                expected="IF neurons",
                found="a Threshold (alpha_mem = 0)",
            )
        if not allow_approximate:
            raise NircError(
                "LIF neurons cannot run on Speck: the membrane leaks by a factor alpha_mem "
                "per step, Speck's neurons do not leak",
                where=name,
                expected="IF neurons (alpha_mem = 1)",
                found=f"a leaky neuron with {found}",
                hint="retrain with IF (IAF) neurons, or pass --allow-approximate to drop the "
                "leak (the report gives the measured agreement with the LIF network)",
            )
        approximation = f"leak dropped ({found} -> 1)"
        warn(
            f"approximated: LIF leak dropped ({found} -> 1); see the measured agreement",
            where=name,
        )
    thr = float(check_uniform(name, snn.param(op, "v_threshold"), "v_threshold"))
    if not thr > 0:
        raise NircError(
            "Speck needs a positive threshold",
            where=name,
            expected="v_threshold > 0",
            found=f"v_threshold = {thr:g}",
        )
    mode = op.reset_mode()
    if mode == "subtract_undecayed" and (alpha == 1.0).all():
        # snnTorch's subtraction in the next step: without a leak it is the same
        # subtraction (v[t] = v[t-1] - n[t-1] thr + x[t]), the same spikes
        mode = "subtract"
    elif mode == "subtract_undecayed" and allow_approximate:
        mode = "subtract"
        approximation = (approximation + "; " if approximation else "") + (
            "the threshold subtracted in the step of the spike, where the float network "
            "subtracts it in the next step without decaying it"
        )
    if mode == "zero":
        v_reset = snn.param(op, "v_reset")
        if v_reset is not None and (np.asarray(v_reset) != 0).any():
            vr = np.asarray(v_reset, F64)
            raise NircError(
                "Speck resets a neuron to 0 (or subtracts the threshold): v_reset must be 0",
                where=name,
                expected="v_reset = 0 with reset to zero",
                found=f"v_reset from {vr.min():g} to {vr.max():g}",
                hint="retrain with v_reset = 0, or pass --reset subtract if the model was "
                "trained with reset by subtraction",
            )
        rtz = True
    elif mode == "subtract":
        rtz = False
    else:
        raise NircError(
            f"reset mode `{mode}` cannot run on Speck",
            where=name,
            expected="reset to zero or by subtraction",
            found=mode,
        )
    cap = op.spike_cap() if op.spike_mode() == "multi" else None
    if cap is not None:
        if not allow_approximate:
            raise NircError(
                "a cap on the spikes per step cannot run on Speck: its multi-spike neurons "
                "emit floor(v / threshold) spikes",
                where=name,
                expected="no max_spikes (or binary spikes)",
                found=f"max_spikes = {cap}",
                hint="pass --allow-approximate to drop the cap (the report gives the measured "
                "agreement)",
            )
        approximation = (approximation + "; " if approximation else "") + (
            f"the cap of {cap} spikes per step dropped"
        )
    v_min = snn.param(op, "v_min")
    low = None
    if v_min is not None:
        low = float(check_uniform(name, v_min, "v_min"))
    gain = _per_channel(snn.param(op, "gain_mem"), shape, "gain_mem", name, 1.0)
    bias = _per_channel(bias_mem, shape, "bias_mem", name, 0.0)
    v0 = snn.param(op, "v_init")
    v_init = None
    if v0 is not None and (np.asarray(v0) != 0).any():
        v_init = np.broadcast_to(np.asarray(v0, F64), shape).copy()
    return _Neuron(thr, op.compare_mode(), op.spike_mode(), rtz, gain, bias, v_init,
                   approximation, low)  # fmt: skip


# --------------------------------------------------------------------------------------
# structure
# --------------------------------------------------------------------------------------


@dataclass
class _Source:
    kind: str  # "layer" or "input"
    key: object  # layer index or input name
    pooling: int
    via: tuple[str, ...]  # the pools and reshapes passed


def _resolve(value: SSAValue, layer_index: dict, spec: SpeckSpec, consumer: str) -> _Source:
    snn = _snn()
    pooling = 1
    via: list[str] = []
    cur = value
    while True:
        op = cur.owner
        if isinstance(op, snn.ReshapeOp | snn.SumPool2dOp) or _zero_delay(op):
            if len(op.operands) != 1:
                raise NircError(
                    "a sum of several inputs before a reshape or pool: Speck merges events "
                    "only at a core's input",
                    where=_name(op),
                    found=f"{len(op.operands)} inputs",
                )
            if isinstance(op, snn.SumPool2dOp):
                pooling *= _pool_factor(op, spec)
            via.append(_name(op))
            cur = op.operands[0]
            continue
        if isinstance(op, snn.LayerOp):
            pools = [o for o in op.body.blocks[0].ops if isinstance(o, snn.SumPool2dOp)]
            for p in pools:
                pooling *= _pool_factor(p, spec)
                via.append(_name(p))
            src = _Source("layer", layer_index[op], pooling, tuple(via))
            break
        if isinstance(op, snn.InputOp):
            if pooling != 1:
                raise NircError(
                    "pooling the input events: Speck pools only the spikes a core sends",
                    where=", ".join(via),
                    expected="a pool after a neuron layer",
                    found=f"a pool of the graph input `{_name(op)}`",
                    hint="pool the events on the host, or use a stride-2 convolution",
                )
            src = _Source("input", _name(op), 1, tuple(via))
            break
        raise NircError(
            f"cannot route {op.name if isinstance(op, Operation) else 'this value'} to a core",
            where=consumer,
        )
    if pooling not in spec.poolings:
        raise NircError(
            "consecutive pools multiply to a pooling Speck does not have",
            where=", ".join(via),
            expected=f"a total pooling in {{{', '.join(map(str, spec.poolings))}}}",
            found=str(pooling),
        )
    return src


def _layer_neuron(layer: Operation) -> tuple[Operation, Operation | None, list[Operation]]:
    snn = _snn()
    ops = [o for o in layer.body.blocks[0].ops if not isinstance(o, snn.YieldOp)]
    neuron = next(o for o in ops if isinstance(o, snn.NeuronOp))
    pool = next((o for o in ops if isinstance(o, snn.SumPool2dOp)), None)
    synapses = [o for o in ops if isinstance(o, snn.SYNAPSE_OPS)]
    return neuron, pool, synapses


def _weights(syn: Operation, in_value_shape: tuple[int, ...], chip_in: tuple[int, int, int]):
    """(weights [f, c, ky, kx], bias [f], stride (x, y), padding (x, y)) in floats."""
    snn = _snn()
    name = _name(syn)
    w = snn.param(syn, "weight")
    if w.dtype.kind != "f":
        raise NircError("the weights are already quantized", where=name)
    w = w.astype(F64)
    f = int(w.shape[0])
    b = snn.param(syn, "bias")
    bias = np.zeros(f) if b is None else np.broadcast_to(np.asarray(b, F64), (f,)).copy()
    c, h, wd = chip_in
    if isinstance(syn, snn.DenseOp):
        r = syn.contracted
        if r != len(in_value_shape):
            raise NircError(
                "a Linear/Affine over the last axes of a larger input has no Speck form",
                where=name,
                expected="weights over the whole input (a convolution covering it)",
                found=f"weights over {r} of the input's {len(in_value_shape)} axes "
                f"{list(in_value_shape)}",
            )
        if int(np.prod(w.shape[1:])) != c * h * wd:
            raise NircError(
                "the weights do not match the events the core receives",
                where=name,
                expected=f"{c * h * wd} inputs ({c}x{h}x{wd})",
                found=f"weights {list(w.shape)}",
            )
        return w.reshape(f, c, h, wd), bias, (1, 1), (0, 0)
    stride, pads, dil, groups = syn.conv_params()
    if tuple(in_value_shape) != chip_in:
        raise NircError(
            "the convolution reads events reshaped on the way: Speck sends a core's feature "
            "map as it is",
            where=name,
            expected=f"an input of shape {list(chip_in)}",
            found=f"an input of shape {list(in_value_shape)}",
        )
    if dil != (1, 1):
        raise NircError(
            "dilated convolutions cannot run on Speck",
            where=name,
            expected="dilation 1",
            found=f"dilation {list(dil)}",
        )
    (pt, pb), (pl, pr) = pads
    if pt != pb or pl != pr:
        raise NircError(
            "Speck pads both sides of an axis alike",
            where=name,
            expected="symmetric padding (e.g. 'same' with an odd kernel)",
            found=f"padding top {pt}, bottom {pb}, left {pl}, right {pr}",
        )
    if groups != 1:  # a grouped conv is a full one with zeros between the groups
        og, cg = f // groups, w.shape[1]
        full = np.zeros((f, cg * groups) + w.shape[2:], F64)
        for g in range(groups):
            full[g * og : (g + 1) * og, g * cg : (g + 1) * cg] = w[g * og : (g + 1) * og]
        w = full
    return w, bias, (stride[1], stride[0]), (pl, pt)


def extract(
    module: ModuleOp, *, allow_approximate: bool = False, spec: SpeckSpec = SPECK
) -> FloatNetwork:
    """The float core layers of a fused `snn` module (steps 1 and 2 of the
    module docstring)."""
    snn = _snn()
    graph = snn.top_graph(module)
    _check_ops(graph, spec)
    layer_ops = [op for op in graph.block.ops if isinstance(op, snn.LayerOp)]
    if not layer_ops:
        raise NircError(
            "no neuron layers to put on Speck cores",
            expected="Linear/Conv -> IF layers (after `fuse`)",
            found="none",
        )
    layer_index = {op: i for i, op in enumerate(layer_ops)}
    layers: list[FloatLayer] = []
    inputs: dict[str, ChipInput] = {}
    input_ops = graph.input_ops()
    input_layers: dict[str, list[int]] = {_name(op): [] for op in input_ops}
    modes: dict[str, str] = {}
    notes: list[str] = []
    out_shape: list[tuple[int, int, int]] = []
    for i, lop in enumerate(layer_ops):
        neuron, pool, synapses = _layer_neuron(lop)
        lname = _name(lop)
        if len(synapses) != 1:
            raise NircError(
                f"{len(synapses)} weight ops sum into one neuron layer: a Speck core has one "
                "kernel",
                where=lname,
                expected="one Linear/Conv per neuron layer (several sources may share it: a merge)",
                found=", ".join(_name(s) for s in synapses) or "no weights",
            )
        syn = synapses[0]
        if isinstance(syn, snn.Conv1dOp):
            raise NircError(
                "Conv1d cannot run on Speck: its cores convolve 2-D feature maps",
                where=_name(syn),
                hint="express the network with Conv2d over (channels, height, width)",
            )
        if [v.owner for v in neuron.operands] != [syn]:
            raise NircError(
                "the neurons also receive input that does not go through the core's kernel",
                where=_name(neuron),
                expected=f"input only from `{_name(syn)}`",
                found=f"{len(neuron.operands)} inputs",
            )
        nrn = _neuron(neuron, allow_approximate, graph.dt_value)
        modes[lname] = nrn.spikes
        if nrn.approximation:
            notes.append(f"{_name(neuron)}: {nrn.approximation}")
        block_args = list(lop.body.blocks[0].args)
        srcs = []
        for v in syn.operands:
            outer = lop.operands[block_args.index(v)] if v in block_args else None
            if outer is None:
                raise NircError("a synapse reads a value inside its layer", where=_name(syn))
            srcs.append(_resolve(outer, layer_index, spec, _name(syn)))
        shapes = set()
        for s in srcs:
            if s.kind == "layer" and s.key >= i:  # type: ignore[operator]
                raise NircError(
                    "a layer reads a layer defined after it: Speck's routing is feed-forward",
                    where=lname,
                    found=f"input from `{_name(layer_ops[s.key])}`",  # type: ignore[index]
                )
            if s.kind == "layer":
                f, h, w = out_shape[s.key]  # type: ignore[index]
                shapes.add((f, h // s.pooling, w // s.pooling))
            else:
                op = next(o for o in input_ops if _name(o) == s.key)
                shapes.add(_chip_shape(_shape(op.out), str(s.key)))
        if len(shapes) != 1:
            raise NircError(
                "a merge of events of different shapes",
                where=_name(syn),
                expected="every source sending the same (c, h, w)",
                found=", ".join(str(list(s)) for s in sorted(shapes)),
            )
        chip_in = shapes.pop()
        in_value = _shape(syn.operands[0])
        w, b, stride, padding = _weights(syn, in_value, chip_in)
        w = w * nrn.gain.reshape(-1, 1, 1, 1)
        b = b * nrn.gain + nrn.bias
        n_shape = _shape(neuron.results[0])
        f = int(w.shape[0])
        chip_out = _chip_shape(n_shape, lname)
        out_shape.append(chip_out)
        sources = tuple(
            dict.fromkeys([_name(syn), _name(neuron)] + ([_name(pool)] if pool else []))
        )
        layers.append(
            FloatLayer(
                name=lname,
                sources=sources,
                neuron=_name(neuron),
                input_shape=chip_in,
                weights=w,
                bias=b,
                stride=stride,
                padding=padding,
                threshold=nrn.threshold,
                compare=nrn.compare,
                return_to_zero=nrn.return_to_zero,
                v_init=None if nrn.v_init is None else nrn.v_init.reshape(chip_out),
                approximation=nrn.approximation,
                v_min=nrn.v_min,
            )
        )
        assert f == chip_out[0]
        for s in srcs:
            if s.kind == "layer":
                layers[s.key].destinations.append(Destination(i, s.pooling))  # type: ignore[index]
            else:
                input_layers[s.key].append(i)  # type: ignore[index]
    for op in input_ops:
        name = _name(op)
        consumers = input_layers[name]
        if not consumers:
            continue
        inputs[name] = ChipInput(
            tuple(op.declared_shape()), _chip_shape(_shape(op.out), name), tuple(consumers)
        )
    outputs: dict[str, ChipOutput] = {}
    for op in graph.output_ops():
        name = _name(op)
        if len(op.operands) != 1:
            raise NircError(
                "an Output summing several sources: Speck reads each core's spikes apart",
                where=name,
                expected="one source per Output",
                found=f"{len(op.operands)} sources",
            )
        src = _resolve(op.operands[0], layer_index, spec, name)
        if src.kind != "layer":
            raise NircError(
                "an Output reads the input events directly: nothing for Speck to compute",
                where=name,
            )
        f, h, w = out_shape[src.key]  # type: ignore[index]
        p = src.pooling
        outputs[name] = ChipOutput(int(src.key), _shape(op.operands[0]), p)  # type: ignore[call-overload]
        if int(np.prod(_shape(op.operands[0]))) != f * (h // p) * (w // p):
            raise NircError("the Output does not match its source's spikes", where=name)
    kinds = sorted(set(modes.values()))
    if len(kinds) > 1:
        raise NircError(
            "neurons mix single-spike and multi-spike semantics; a Speck simulation uses one",
            where=", ".join(n for n, m in modes.items() if m == "multi"),
            expected="the same spike mode everywhere",
            found=", ".join(kinds),
        )
    spike_mode = "multi" if kinds == ["multi"] else "single"
    return FloatNetwork(layers, inputs, outputs, spike_mode, graph.dt_value, notes)


# --------------------------------------------------------------------------------------
# the whole lowering
# --------------------------------------------------------------------------------------


@dataclass
class LoweringResult:
    """What :func:`lower_to_speck` did: the float network, the chip network
    (quantized, placed) and the quantization report."""

    float_network: FloatNetwork
    network: ChipNetwork
    quantization: object  # .quantize.QuantizationReport
    calibration: dict[str, np.ndarray]  # the calibration inputs, [T, B, *shape]
    reference_outputs: dict[str, np.ndarray]  # the float network's outputs on them


def lower_to_speck(
    module: ModuleOp,
    *,
    allow_approximate: bool = False,
    calibration: dict[str, np.ndarray] | None = None,
    calibrate: str | None = None,
    calib_steps: int = 100,
    calib_rate: float = 0.05,
    calib_batch: int = 2,
    seed: int = 0,
    spec: SpeckSpec = SPECK,
    calib_samples: int | None = None,
) -> LoweringResult:
    """Replace the fused float `snn` graph of ``module`` by its ``speck.chip``
    (see the module docstring). ``calibration`` (arrays ``[T, B, *shape]`` per
    Input) or ``calibrate`` (an .npz of them) are the inputs scales are chosen
    on; by default Bernoulli spikes (``calib_rate``, ``calib_steps``,
    ``calib_batch``, ``seed``)."""
    from nirc.dialects.snn import is_snn_module

    from .placement import place
    from .quantize import calibration_inputs, float_reference, quantize_network
    from .rules import check_network

    if not is_snn_module(module):
        raise NircError(
            "lower-speck runs on the fused `snn` level",
            expected="a module holding an snn.graph of snn.layer ops",
            found="no snn.graph",
            hint="nirc opt model.nir -p 'inline-subgraphs,discretize{dt=1},fold-weights,fuse,"
            "lower-speck', or nirc compile model.nir --target speck",
        )
    net = extract(module, allow_approximate=allow_approximate, spec=spec)
    placeholders = [layer.placeholder() for layer in net.layers]
    check_network(placeholders, spec, warnings=False)
    cores = place(placeholders, spec)
    if calibration is None:
        calibration = calibration_inputs(
            module, calibrate, steps=calib_steps, rate=calib_rate, batch=calib_batch, seed=seed,
            samples=calib_samples,
        )  # fmt: skip
    reference = float_reference(module, calibration, [layer.neuron for layer in net.layers])
    layers, report = quantize_network(
        net, calibration, reference, spec, data_set=bool(getattr(calibration, "dataset", False)),
        labels=getattr(calibration, "labels", None),
    )  # fmt: skip
    any_input = next(iter(calibration.values()), None)
    if getattr(calibration, "description", ""):
        report.calibration = calibration.description
    elif calibrate:
        report.calibration = f"{calibrate}"
    elif any_input is not None:
        report.calibration = (
            f"{any_input.shape[1]} x {any_input.shape[0]} steps of random spikes, "
            f"p = {calib_rate:g}, seed {seed}"
        )
    chip = ChipNetwork(
        layers=layers,
        cores=cores,
        inputs=net.inputs,
        outputs=net.outputs,
        dt=net.dt,
        spike_mode=net.spike_mode,
    )
    new = build_chip(chip)
    body = module.body.blocks[0]
    for op in list(body.ops):
        op.detach()
        op.erase()
    for op in list(new.body.blocks[0].ops):
        op.detach()
        body.add_op(op)
    outputs = {k: np.asarray(reference[k]) for k in net.outputs}
    return LoweringResult(net, chip, report, dict(calibration), outputs)


@dataclass(frozen=True)
class LowerSpeckPass(ModulePass):
    """Fused float `snn` -> `speck` (see the module docstring). Options:
    ``allow_approximate`` (drop LIF leaks), ``calibrate`` (an .npz of inputs),
    ``calib_steps``, ``calib_rate``, ``calib_batch``, ``seed`` (random
    calibration spikes), ``report`` (print the quantization report on stderr)."""

    name = "lower-speck"

    allow_approximate: bool = False
    calibrate: str | None = None
    calib_steps: int = 100
    calib_rate: float | str = 0.05
    calib_batch: int = 2
    seed: int = 0
    report: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from nirc.passes.discretize import parse_float_option

        result = lower_to_speck(
            op,
            allow_approximate=self.allow_approximate,
            calibrate=self.calibrate,
            calib_steps=self.calib_steps,
            calib_rate=parse_float_option(self.calib_rate, "calib_rate") or 0.0,
            calib_batch=self.calib_batch,
            seed=self.seed,
        )
        if self.report:
            for line in result.quantization.lines():  # type: ignore[attr-defined]
                print(line, file=sys.stderr)


__all__ = ["FloatLayer", "FloatNetwork", "LowerSpeckPass", "extract", "lower_to_speck"]
