"""`lower-loihi2`: the fused `snn` level -> the `loihi2` dialect.

Runs on a float `snn` module after `inline-subgraphs`, `discretize`,
`fold-weights` and `fuse` (a graph of ``snn.layer`` ops). Steps:

1. **Structure** (:func:`extract`): the graph must be a netx chain (rules in
   :mod:`.rules`, each refusal a diagnostic naming the node). Walking from the
   one Input, each ``snn.layer`` becomes one netx layer: its synapse (dense,
   or conv with stride, padding, dilation, groups) and its neuron. What stands
   between two layers is folded into the next layer's weights exactly:
   reshapes (Flatten; a dense layer after [C, H, W] values gets netx's
   ``flatten``, whose C order is nirc's), sum-pools (netx cannot load pooling:
   a pool followed by a dense layer is that layer's weight times the pooling
   matrix; followed by a conv, a conv with a dilated kernel and a multiplied
   stride when that is exact, else the product as a dense layer, else a
   refusal), and delays (netx's per-synapse delays of a dense layer). A
   self-recurrent layer (its spikes back through a one-step delay and a
   dense synapse) becomes ``dense_rec``. A neuron that reads its input
   without weights gets an identity synapse (a dense diagonal, or a
   one-to-one conv of kernel 1 on [C, H, W] values).
2. **Neurons** (:func:`neuron_parameters`): the `snn` neuron as lava's CUBA
   neuron. A synaptic stage gives ``iDecay = 4096 (1 - alpha_syn)``, none
   gives ``iDecay = 4096`` (the current is the input of the step);
   ``vDecay = 4096 (1 - alpha_mem)``. lava adds the current of the same step
   to ``v``; a neuron whose membrane reads the previous step's current (NIR's
   plain CubaLIF) is the same neuron with its input one step later, which a
   dense layer gets as a netx delay of 1 (exact); a conv or recurrent layer
   cannot, and is approximated with the same-step current. Non-spiking
   neurons (LI, CubaLI, I) become a readout: the same decays, the largest
   threshold mantissa, the voltage as the output; only the last layer may
   be one (lava's CUBA neurons send binary spikes).
   What Loihi cannot compute exactly is lowered to the closest thing and
   listed in the report (:mod:`.replicas` then builds dense layers of such
   neurons from several Loihi neurons, exactly or nearly, and the quantizer
   compensates the rest on the calibration data): several spikes per step
   (binary spikes), reset by subtraction or
   with a refractory step (reset to zero), ``v >= thr`` (``v > thr`` on the
   integer grid), ``v_reset`` or initial states other than zero, a synaptic bias of a neuron with a current stage (added to ``v`` at its
   steady state).
3. **Quantization** (:mod:`.quantize`): per-layer scales for Loihi's formats,
   searched on the calibration inputs against the float network's outputs.
4. **Placement** (:func:`nirc.passes.partition.place`, with the capacity
   model of :mod:`.spec` and the calibration activity), checked against the
   same capacity with :mod:`.resources`.
5. The ``loihi2.network`` module (:func:`~.dialect.build_network`) replaces
   the `snn` graph.

Timing: every netx layer adds one step (its synapse sends what it computed
the step before), so the last layer answers ``latency`` = number of layers
steps after its input; runs reset each layer's state at the step its first
input arrives (netx's ``reset_interval``/``reset_offset``), so biases act
from that step on as in the float network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from nirc.diagnostics import NircError
from nirc.targets.base import grouped_notes

from . import rules

F64 = np.float64
MAX_DENSE_FALLBACK = 4_000_000  # weights of a conv + pool materialized as a dense layer
MULTI_NOTE = "several spikes per step (a spike count) become at most one spike per step"
STEADY_BIAS_NOTE = ("the synaptic bias enters the membrane at its steady state b / (1 - alpha_syn) "
                    "(lava adds biases to v, not to the current)")
SUBTRACT_NOTES = {
    "subtract": "reset by subtraction becomes reset to zero",
    "subtract_undecayed": "reset by subtraction (in the next step) becomes reset to zero",
}


def _snn():
    from nirc.dialects import snn

    return snn


def _name(op: Operation) -> str:
    return _snn().label(op)


def _shape(value: SSAValue) -> tuple[int, ...]:
    return _snn().known_shape(value, "Loihi 2")


def _arr(op: Operation, field: str) -> np.ndarray | None:
    a = _snn().param(op, field)
    return None if a is None else np.asarray(a, F64)


# --------------------------------------------------------------------------------------
# the float network as netx will hold it
# --------------------------------------------------------------------------------------


@dataclass
class FloatNeuron:
    """The neuron of a layer, per neuron (flat), in the membrane's real units."""

    alpha_mem: np.ndarray
    alpha_syn: np.ndarray | None  # None: no current stage
    bias: np.ndarray  # added to v every step (bias_mem, and synaptic biases)
    threshold: np.ndarray | None  # None: a readout
    order: str  # "same": v reads this step's current; "previous": one step late
    delay_order: bool = False  # "previous" realized as a netx delay of 1
    reset: str = "zero"  # the float neuron's reset rule (snn's `reset`)
    cap: int | None = 1  # the most spikes per step (1: binary; None: unbounded counts)
    # the part of ``bias`` that enters the *current* every step in the float
    # neuron (synaptic biases of a neuron with a current stage), in the
    # current's units; ``bias`` holds it at its steady state, current_bias /
    # (1 - alpha_syn), since lava adds biases to v
    current_bias: np.ndarray | None = None
    compare: str = "gt"  # the float spike condition: v > thr (gt) or v >= thr (ge)


@dataclass
class FloatLayer:
    """One netx layer before quantization (float weights in membrane units)."""

    name: str
    sources: list[str]
    kind: str  # dense, dense_rec, conv
    in_shape: tuple[int, ...]
    shape: tuple[int, ...]
    weight: np.ndarray  # dense [out, n_in]; conv [out, in/g, kh, kw]
    neuron: FloatNeuron
    weight_rec: np.ndarray | None = None
    delay: np.ndarray | None = None  # int [out, n_in] steps (user delays + order)
    flatten: bool = False
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    notes: list[str] = field(default_factory=list)  # approximations
    exact: list[str] = field(default_factory=list)  # exact rewrites worth reporting
    # per neuron: a relay of :mod:`.replicas` (its rows are set in Loihi's integers
    # by the quantizer: it fires the step after its replica did); None: no relays
    relay: np.ndarray | None = None
    # per neuron: integer bias units the quantizer adds (an integrator's v >= thr:
    # v = u + bias, so one unit turns v > thr into v >= thr on the weight grid)
    bias_offset: np.ndarray | None = None
    lag: int = 0  # steps this layer answers later than the float layer (beyond netx's one)
    construction: str = "plain"  # how :mod:`.replicas` built it
    unbuilt: str = ""  # why :mod:`.replicas` left it plain where it could build it
    # per neuron: the float neuron whose spikes it sends (-1: none); None: its own
    owner: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def spiking(self) -> bool:
        return self.neuron.threshold is not None


@dataclass
class FloatNetwork:
    dt: float
    input_name: str
    input_shape: tuple[int, ...]
    layers: list[FloatLayer]
    outputs: list[tuple[str, tuple[int, ...]]]
    exact: list[str] = field(default_factory=list)
    # per neuron of the last layer: the output element its spikes count for (-1:
    # none); None: neuron k is element k (see :mod:`.replicas`)
    output_select: np.ndarray | None = None

    @property
    def latency(self) -> int:
        """Steps between an input column and the last layer's answer to it."""
        return sum(1 + layer.lag for layer in self.layers)

    def offset(self, k: int) -> int:
        """Steps between an input column and layer k's answer to it."""
        return sum(1 + layer.lag for layer in self.layers[: k + 1])

    @property
    def notes(self) -> list[str]:
        """The approximations, each once with the layers it applies to."""
        return grouped_notes([(layer.name, n) for layer in self.layers for n in layer.notes])


# --------------------------------------------------------------------------------------
# linear maps between layers: reshapes and sum-pools
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """A sum-pool between two layers (from [C, H, W] spikes)."""

    name: str
    in_shape: tuple[int, int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]

    @property
    def out_shape(self) -> tuple[int, int, int]:
        c, h, w = self.in_shape
        return (c,) + tuple(
            (size + 2 * p - k) // s + 1
            for size, k, s, p in zip((h, w), self.kernel, self.stride, self.padding)
        )  # type: ignore[return-value]

    def adjoint(self, w: np.ndarray) -> np.ndarray:
        """``w`` [..., C, Hp, Wp] (weights reading the pooled map) as weights
        reading the map before pooling, [..., C, H, W]: exact, since the pool
        is a sum."""
        c, h, wd = self.in_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        _, hp, wp = self.out_shape
        lead = w.shape[:-3]
        out = np.zeros(lead + (c, h + 2 * ph, wd + 2 * pw))
        for u in range(kh):
            for v in range(kw):
                out[..., u : u + sh * (hp - 1) + 1 : sh, v : v + sw * (wp - 1) + 1 : sw] += w
        return out[..., ph : ph + h, pw : pw + wd]


def compose_conv_pool(
    pool: Pool, weight: np.ndarray, stride, padding, dilation
) -> tuple[np.ndarray, tuple, tuple, tuple] | None:
    """conv(pool(x)) as one convolution of x: kernel tap (a, b) of the conv
    reads pooled cell (y s + a d - p), i.e. the window of input rows (y s + a
    d - p) sp - pp + u; so the kernel becomes ``(K - 1) d sp + k`` wide with
    the conv's weights repeated over each window, stride ``s sp``, padding
    ``p sp + pp``, dilation 1. Exact unless a window the conv reads in its
    zero padding covers real input rows (then None)."""
    (kh, kw), (sph, spw), (pph, ppw) = pool.kernel, pool.stride, pool.padding
    _, h, wd = pool.in_shape
    _, hp, wp = pool.out_shape
    for k, sp, pp, p, size, pooled in ((kh, sph, pph, padding[0], h, hp),
                                       (kw, spw, ppw, padding[1], wd, wp)):  # fmt: skip
        if p > 0 and (k > sp + pp or pooled * sp - pp < size):
            return None
    o, cg, ka, kb = weight.shape
    kh2 = (ka - 1) * dilation[0] * sph + kh
    kw2 = (kb - 1) * dilation[1] * spw + kw
    w2 = np.zeros((o, cg, kh2, kw2))
    for a in range(ka):
        for b in range(kb):
            y0, x0 = a * dilation[0] * sph, b * dilation[1] * spw
            w2[:, :, y0 : y0 + kh, x0 : x0 + kw] += weight[:, :, a : a + 1, b : b + 1]
    new_stride = (stride[0] * sph, stride[1] * spw)
    new_padding = (padding[0] * sph + pph, padding[1] * spw + ppw)
    return w2, new_stride, new_padding, (1, 1)


def conv_matrix(weight, in_shape, out_shape, stride, padding, dilation, groups) -> np.ndarray:
    """A convolution as its dense matrix [n_out, n_in] (C order)."""
    from .simulator import correlate

    n_in = int(np.prod(in_shape))
    eye = np.eye(n_in)
    cols = [
        correlate(eye[s : s + 512].reshape((-1,) + tuple(in_shape)), weight, out_shape,
                  stride, padding, dilation, groups, integers=False).reshape(-1, int(np.prod(out_shape)))
        for s in range(0, n_in, 512)
    ]  # fmt: skip
    return np.concatenate(cols, axis=0).T


# --------------------------------------------------------------------------------------
# neurons
# --------------------------------------------------------------------------------------


def _per_neuron(a: np.ndarray | None, n: int, default: float) -> np.ndarray:
    """A parameter as a fresh float64 array of one value per neuron (flat)."""
    if a is None:
        return np.full(n, default)
    return np.array(np.broadcast_to(np.asarray(a, F64).reshape(-1) if np.ndim(a) else a, (n,)))


def neuron_parameters(neuron: Operation, n: int, syn_bias: np.ndarray | None,
                      ) -> tuple[FloatNeuron, list[str], np.ndarray]:
    """The float neuron as lava's CUBA neuron computes it, the approximations
    this takes, and the input gain left to fold into the synapse (per neuron)."""
    name = _name(neuron)
    notes: list[str] = []
    spiking = neuron.spiking
    alpha_mem = _per_neuron(_arr(neuron, "alpha_mem"), n, 1.0)
    syn = neuron.has_synapse_stage
    alpha_syn = _per_neuron(_arr(neuron, "alpha_syn"), n, 1.0) if syn else None
    gain = _per_neuron(_arr(neuron, "gain_mem"), n, 1.0)
    if syn:
        gain = gain * _per_neuron(_arr(neuron, "gain_syn"), n, 1.0)
    bias = _per_neuron(_arr(neuron, "bias_mem"), n, 0.0)
    for label, a in (("alpha_mem", alpha_mem), ("alpha_syn", alpha_syn)):
        if a is None:
            continue
        rules.check_decay_range(name, label, a)
    current_bias = None
    if syn_bias is not None and np.any(syn_bias):
        if syn and np.any(alpha_syn < 1):
            notes.append(STEADY_BIAS_NOTE)
            current_bias = syn_bias * gain
            bias = bias + current_bias / np.maximum(1.0 - alpha_syn, 1e-12)
        else:
            bias = bias + syn_bias * gain
    order = neuron.order() if syn else "same"
    threshold = None
    if spiking:
        threshold = _per_neuron(_arr(neuron, "v_threshold"), n, 0.0)
        if np.any(threshold <= 0):
            raise rules.nonpositive_threshold(name, threshold)
        if neuron.spike_mode() == "multi":
            notes.append(MULTI_NOTE)
        reset = neuron.reset_mode()
        if reset != "zero":
            notes.append(SUBTRACT_NOTES.get(reset) or {
                "zero_refractory": "the refractory step after a spike is dropped (reset to zero, "
                "then integrate)"}[reset])  # fmt: skip
        if neuron.compare_mode() == "ge":
            notes.append("v >= threshold becomes v > threshold on the integer grid")
        v_reset = _arr(neuron, "v_reset")
        if reset in ("zero", "zero_refractory") and v_reset is not None and np.any(v_reset):
            notes.append("v_reset other than 0 becomes 0 (lava resets to zero)")
    for label in ("v_init", "i_init"):
        a = _arr(neuron, label)
        if a is not None and np.any(a):
            notes.append(f"{label} other than 0 becomes 0 (lava's states start at zero)")
    fn = FloatNeuron(alpha_mem, alpha_syn, bias, threshold, order,
                     reset=neuron.reset_mode() if spiking else "zero",
                     cap=neuron.spike_cap() if spiking else 1, current_bias=current_bias,
                     compare=neuron.compare_mode() if spiking else "gt")  # fmt: skip
    return fn, notes, gain


# --------------------------------------------------------------------------------------
# walking the chain
# --------------------------------------------------------------------------------------


@dataclass
class _Pending:
    """What stands between the last layer (or the input) and the next synapse."""

    base_shape: tuple[int, ...]  # the spikes the chip sends
    shape: tuple[int, ...]  # the value the next synapse reads
    pools: list[Pool] = field(default_factory=list)
    delay: np.ndarray | None = None  # steps per element of the base value
    names: list[str] = field(default_factory=list)


def _forward_users(value: SSAValue, layer: Operation | None) -> list[Operation]:
    """Top-level users of ``value``, without the recurrent delay of ``layer``
    (the delay whose value comes back into ``layer``)."""
    snn = _snn()
    users = []
    for use in value.uses:
        op = use.operation
        if op in users:
            continue
        if layer is not None and _is_feedback(op, layer):
            continue
        if isinstance(op, snn.YieldOp):
            continue
        users.append(op)
    if len(users) < 2:
        return users
    # in block order (use lists are not ordered): diagnostics name them stably
    order = {id(o): i for i, o in enumerate(users[0].parent_block().ops)}  # type: ignore[union-attr]
    return sorted(users, key=lambda o: order.get(id(o), 0))


def _feedback_steps(op: Operation, layer: Operation) -> int | None:
    """When ``op`` (an operand's producer of ``layer``) brings ``layer``'s own
    output back to it, through delays and at most one dense synapse: the
    delay in steps (None: not ``layer``'s own recurrence)."""
    snn = _snn()
    steps, dense = 0, False
    while True:
        if isinstance(op, snn.DelayOp):
            s = op.uniform_steps()
            if s is None:
                return None
            steps += s
        elif isinstance(op, snn.DenseOp) and not dense:
            dense = True
        else:
            return None
        if len(op.operands) != 1:
            return None
        src = op.operands[0]
        if src.owner is layer:
            return steps
        op = src.owner  # type: ignore[assignment]
        if not isinstance(op, Operation):
            return None


def _is_feedback(op: Operation, layer: Operation) -> bool:
    """``op`` starts ``layer``'s recurrent path: a delay or dense synapse on
    the way from ``layer``'s output back into ``layer``."""
    snn = _snn()
    cur = op
    while isinstance(cur, snn.DelayOp | snn.DenseOp):
        users = [u.operation for u in cur.results[0].uses]
        if len(users) != 1:
            return False
        if users[0] is layer:
            return _feedback_steps(cur, layer) is not None
        cur = users[0]
    return False


def extract(module: ModuleOp) -> FloatNetwork:
    """The fused float `snn` module as a netx chain (see the module docstring)."""
    snn = _snn()
    graph = snn.top_graph(module)
    rules.check_ops(graph)
    inputs = graph.input_ops()
    if len(inputs) != 1:
        raise rules.inputs_count(inputs)
    inp = inputs[0]
    in_shape = _shape(inp.out)
    rules.check_value_shape(inp.node_name.data, in_shape)
    net = FloatNetwork(dt=graph.dt_value, input_name=inp.node_name.data, input_shape=in_shape,
                       layers=[], outputs=[])  # fmt: skip
    pending = _Pending(in_shape, in_shape)
    value: SSAValue = inp.out
    producer: Operation | None = None
    while True:
        users = _forward_users(value, producer)
        outputs = [u for u in users if isinstance(u, snn.OutputOp)]
        rest = [u for u in users if not isinstance(u, snn.OutputOp)]
        if outputs:
            if rest or producer is None:
                raise rules.output_not_last(outputs[0], rest, producer)
            if pending.pools or pending.delay is not None:
                raise rules.output_after_pending(outputs[0], pending.names)
            for o in outputs:
                net.outputs.append((o.node_name.data, _shape(value)))
            break
        if not rest:
            raise rules.dead_end(producer or inp)
        if len(rest) > 1:
            raise rules.fan_out(producer or inp, rest)
        op = rest[0]
        others = [v for v in op.operands if v is not value]
        if others and not isinstance(op, snn.LayerOp):
            raise rules.cycle_into(op, others[0].owner)
        if isinstance(op, snn.ReshapeOp):
            pending.shape = _shape(op.out)
            pending.names.append(_name(op))
            value = op.out
            continue
        if isinstance(op, snn.SumPool2dOp):
            _pend_pool(op, pending)
            value = op.out
            continue
        if isinstance(op, snn.DelayOp):
            _pend_delay(op, pending)
            value = op.out
            continue
        if isinstance(op, snn.LayerOp | snn.NeuronOp):
            layer, out_value, pool = _layer(op, value, pending)
            net.layers.append(layer)
            producer = op
            value = out_value
            pending = _Pending(layer.shape, layer.shape)
            if pool is not None:
                _pend_pool(pool, pending)
            continue
        raise rules.synapse_without_neurons(op)
    for layer in net.layers[:-1]:
        if not layer.spiking:
            raise rules.readout_not_last(layer.name)
    return net


def _pend_pool(op: Operation, pending: _Pending) -> None:
    if op.properties.get("divisor") is not None:
        raise rules.average_pool(op)
    if pending.delay is not None and np.ptp(pending.delay) > 0:
        raise rules.delay_before_pool(op)
    shape = pending.shape
    kernel, stride, padding = op.window()
    p = Pool(_name(op), shape, kernel, stride, padding)  # type: ignore[arg-type]
    if p.out_shape != _shape(op.out):
        raise NircError("sum-pool output shape mismatch", where=_name(op))
    pending.pools.append(p)
    pending.shape = p.out_shape
    pending.names.append(_name(op))


def _pend_delay(op: Operation, pending: _Pending) -> None:
    steps = np.asarray(_snn().attr_to_array(op.steps), np.int64)
    if pending.pools and np.ptp(steps) > 0:
        raise rules.delay_after_pool(op)
    per = np.broadcast_to(steps, pending.shape).reshape(-1)
    if pending.pools:
        per = np.full(int(np.prod(pending.base_shape)), int(steps.reshape(-1)[0]))
    if pending.delay is None:
        pending.delay = per.copy()
    else:
        pending.delay = pending.delay + per
    pending.names.append(_name(op))


def _layer(op: Operation, value: SSAValue, pending: _Pending):
    """One ``snn.layer`` (or a bare neuron) reading ``value`` -> (the layer, its
    output value, the sum-pool inside it or None)."""
    snn = _snn()
    name = _name(op)
    if isinstance(op, snn.NeuronOp):
        neuron, ff_syn, rec_syn, pool, out_value = op, [], None, None, op.out
        ff_arg = True
        sources = [name]
    else:
        block = op.body.blocks[0]
        args = list(block.args)
        ff_index = [i for i, v in enumerate(op.operands) if v is value]
        others = [i for i, v in enumerate(op.operands) if v is not value]
        rec_index = None
        for i in others:
            src = op.operands[i].owner
            if not _is_feedback(src, op):  # type: ignore[arg-type]
                raise rules.cycle_into(op, src)
            if rec_index is not None:
                raise rules.recurrent_synapse(op)
            rec_index = i
        neuron = op.neuron()
        pools = [o for o in block.ops if isinstance(o, snn.SumPool2dOp)]
        pool = pools[0] if pools else None
        syns = [o for o in block.ops if isinstance(o, snn.SYNAPSE_OPS)]
        ff_syn = [s for s in syns if s.operands[0] in [args[i] for i in ff_index]]
        rec_syn = None
        if rec_index is not None:
            rec_syn = [s for s in syns if s.operands[0] is args[rec_index]]
        ff_arg = any(v in [args[i] for i in ff_index] for v in neuron.operands)
        out_value = op.out
        sources = [_name(o) for o in block.ops if not isinstance(o, snn.YieldOp)]
        if rec_index is not None:
            sources.append(_name(op.operands[rec_index].owner))  # type: ignore[arg-type]
    n = int(np.prod(_shape(neuron.out)))
    neuron_shape = _shape(neuron.out)
    rules.check_value_shape(name, neuron_shape)
    # the synaptic bias (of dense/conv synapses) enters the neuron every step
    syn_bias = np.zeros(n)
    for s in ff_syn:
        b = _arr(s, "bias")
        if b is not None:
            syn_bias += np.broadcast_to(b.reshape(-1, *([1] * (len(neuron_shape) - 1))),
                                        neuron_shape).reshape(-1)  # fmt: skip
    fneuron, notes, gain = neuron_parameters(neuron, n, syn_bias if syn_bias.any() else None)
    exact: list[str] = []
    layer = _synapse(name, ff_syn, ff_arg, pending, neuron_shape, gain, exact, op)
    layer.neuron = fneuron
    layer.sources = pending.names + sources
    # the recurrent synapse: W_rec on the layer's own spikes one step later
    if rec_syn is not None:
        w_rec, rec_bias = _recurrent_weight(op, rec_syn, n)
        if layer.kind == "conv":
            raise rules.recurrent_conv(op)
        if layer.delay is not None:
            raise rules.recurrent_delay(op)
        layer.kind = "dense_rec"
        layer.weight_rec = w_rec * gain[:, None]
        if rec_bias is not None and np.any(rec_bias):
            b = rec_bias * gain
            a_s = fneuron.alpha_syn
            if a_s is not None and np.any(a_s < 1):  # it enters the current, as the synaptic one
                fneuron.current_bias = b if fneuron.current_bias is None else fneuron.current_bias + b
                fneuron.bias = fneuron.bias + b / np.maximum(1.0 - a_s, 1e-12)
                if STEADY_BIAS_NOTE not in notes:
                    notes.append(STEADY_BIAS_NOTE)
            else:
                fneuron.bias = fneuron.bias + b
            notes.append("the recurrent synapse's bias acts from the first step (the float "
                         "network's starts one step later)")  # fmt: skip
    # order: "previous" = the same neuron with its input one step later
    if fneuron.order == "previous" and fneuron.alpha_syn is not None:
        if layer.kind == "dense":
            step = np.ones((layer.size, layer.weight.shape[1]), np.int64)
            layer.delay = step if layer.delay is None else layer.delay + step
            fneuron.delay_order = True
        else:
            notes.append("the membrane reads the current of the same step, not the previous "
                         f"one (a {layer.kind} layer has no netx delays)")  # fmt: skip
    if fneuron.delay_order:
        exact.append("the membrane reads the previous step's current: the synapse delays its "
                     "input by one step (netx delay 1)")  # fmt: skip
    if layer.delay is not None:
        rules.check_delays(name, layer.delay)
    layer.notes = notes
    layer.exact = exact
    return layer, out_value, pool


def _recurrent_weight(op: Operation, rec_syn, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The recurrent weights (and bias) of a layer reading its own spikes: a
    dense synapse inside the layer (after `fuse` moved the feedback delay
    before it), one outside it (a synapse with a bias stays outside), or none
    (the spikes come straight back: an identity)."""
    snn = _snn()
    feedback = next(v.owner for v in op.operands if _is_feedback(v.owner, op))  # type: ignore[arg-type]
    steps = _feedback_steps(feedback, op)  # type: ignore[arg-type]
    if steps != 1:
        raise rules.recurrent_steps(op, steps)
    outside = feedback if isinstance(feedback, snn.DenseOp) else None
    cur = feedback
    while outside is None and isinstance(cur, snn.DelayOp):
        cur = cur.operands[0].owner
        if isinstance(cur, snn.DenseOp):
            outside = cur
    dense = [s for s in rec_syn if isinstance(s, snn.DenseOp)] + ([outside] if outside else [])
    if len(dense) != len(rec_syn) + (1 if outside else 0) or len(dense) > 1:
        raise rules.recurrent_synapse(op)
    if not dense:
        return np.eye(n), None
    w = _arr(dense[0], "weight").reshape(n, -1)
    b = _arr(dense[0], "bias")
    return w, (None if b is None else np.broadcast_to(b, (n,)).copy())


def _synapse(name, ff_syn, ff_arg, pending: _Pending, neuron_shape, gain, exact, op) -> FloatLayer:
    """The layer's feed-forward synapse reading the chip's spikes
    (``pending.base_shape``), with the pending pools and delays folded in."""
    snn = _snn()
    n = int(np.prod(neuron_shape))
    base = pending.base_shape
    if ff_arg and ff_syn:
        raise rules.input_with_and_without_weights(op)
    if len(ff_syn) > 1:
        if not all(isinstance(s, snn.DenseOp) for s in ff_syn):
            raise rules.two_synapses(op)
    if not ff_syn:  # the neuron reads its input without weights: an identity synapse
        if len(neuron_shape) == 3:
            c = neuron_shape[0]
            g = gain.reshape(neuron_shape)
            if np.ptp(g.reshape(c, -1), axis=1).max(initial=0) > 0:
                raise rules.identity_gain(op)
            # a one-to-one conv of kernel 1 (each pool before it widens the kernel)
            w = g.reshape(c, -1)[:, 0].reshape(c, 1, 1, 1)
            stride, padding, dilation = (1, 1), (0, 0), (1, 1)
            for pool in reversed(pending.pools):
                w, stride, padding, dilation = compose_conv_pool(pool, w, stride, padding, dilation)  # type: ignore[misc]
            _no_conv_delay(pending, op)
            exact.append("an identity synapse (a one-to-one conv, pools folded in) feeds the "
                         "neurons")  # fmt: skip
            return FloatLayer(name, [], "conv", base, neuron_shape, w, None, stride=stride,  # type: ignore[arg-type]
                              padding=padding, dilation=dilation, groups=c)  # fmt: skip
        w = np.diag(gain)
        if pending.pools:
            w = _dense_through_pools(w, pending)
        layer = FloatLayer(name, [], "dense", base, (n,), w, None, flatten=len(base) > 1)  # type: ignore[arg-type]
        layer.delay = _dense_delay(pending, n)
        exact.append("an identity synapse (a diagonal dense layer) feeds the neurons")
        return layer
    s0 = ff_syn[0]
    if isinstance(s0, snn.DenseOp):
        if len(neuron_shape) != 1:
            raise rules.dense_output_shape(s0, neuron_shape)
        w = sum(_arr(s, "weight").reshape(_arr(s, "weight").shape[0], -1) for s in ff_syn)
        w = w * gain[:, None]
        if pending.pools:
            w = _dense_through_pools(w, pending)
        layer = FloatLayer(name, [], "dense", base, (n,), w, None, flatten=len(base) > 1)  # type: ignore[arg-type]
        layer.delay = _dense_delay(pending, n)
        return layer
    if isinstance(s0, snn.Conv1dOp):
        raise rules.conv1d(s0)
    stride, pads, dilation, groups = s0.conv_params()
    for (a, b) in pads:
        if a != b:
            raise rules.asymmetric_padding(s0, pads)
    padding = (pads[0][0], pads[1][0])
    w = _arr(s0, "weight")
    co = w.shape[0]
    g = gain.reshape(neuron_shape)
    if np.ptp(g.reshape(co, -1), axis=1).max(initial=0) > 0:
        raise rules.conv_gain(s0)
    w = w * g.reshape(co, -1)[:, 0].reshape(co, 1, 1, 1)
    _no_conv_delay(pending, op)
    pools = list(pending.pools)
    while pools:
        pool = pools.pop()
        composed = compose_conv_pool(pool, w, stride, padding, dilation)
        if composed is None:
            return _conv_as_dense(name, w, stride, padding, dilation, groups, pool, pools,
                                  pending, neuron_shape, exact, s0)  # fmt: skip
        w, stride, padding, dilation = composed
        exact.append(f"the sum-pool {pool.name} is folded into this conv (kernel "
                     f"{w.shape[2]}x{w.shape[3]}, stride {stride[0]}x{stride[1]})")  # fmt: skip
    return FloatLayer(name, [], "conv", base, neuron_shape, w, None, stride=tuple(stride),  # type: ignore[arg-type]
                      padding=tuple(padding), dilation=tuple(dilation), groups=groups)  # fmt: skip


def _conv_as_dense(name, w, stride, padding, dilation, groups, pool, pools, pending,
                   neuron_shape, exact, s0) -> FloatLayer:
    """A conv after a pool it cannot absorb exactly: the product as a dense layer."""
    n = int(np.prod(neuron_shape))
    n_in = int(np.prod(pool.out_shape))
    if n * int(np.prod(pending.base_shape)) > MAX_DENSE_FALLBACK:
        raise rules.pool_not_foldable(s0, pool, n * int(np.prod(pending.base_shape)))
    m = conv_matrix(w, pool.out_shape, neuron_shape, stride, padding, dilation, groups)
    assert m.shape == (n, n_in)
    rest = _Pending(pending.base_shape, pool.out_shape, pools + [pool], None, [])
    dense = _dense_through_pools(m, rest)
    exact.append(f"the sum-pool {pool.name} and this conv become one dense layer (the pool "
                 "cannot be folded into the conv itself)")  # fmt: skip
    del s0
    return FloatLayer(name, [], "dense", pending.base_shape, (n,), dense, None,  # type: ignore[arg-type]
                      flatten=len(pending.base_shape) > 1)  # fmt: skip


def _dense_through_pools(w: np.ndarray, pending: _Pending) -> np.ndarray:
    out = w.reshape((w.shape[0],) + tuple(pending.pools[-1].out_shape))
    for pool in reversed(pending.pools):
        out = pool.adjoint(out)
    return out.reshape(w.shape[0], -1)


def _dense_delay(pending: _Pending, n: int) -> np.ndarray | None:
    if pending.delay is None or not np.any(pending.delay):
        return None
    return np.repeat(pending.delay.reshape(1, -1), n, axis=0).astype(np.int64)


def _no_conv_delay(pending: _Pending, op) -> None:
    if pending.delay is not None and np.any(pending.delay):
        raise rules.conv_delay(op)


# --------------------------------------------------------------------------------------
# the pass
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LowerLoihi2Pass(ModulePass):
    """Fused float `snn` -> `loihi2` (see the module docstring). Options:
    ``calibrate`` (an .npz of inputs), ``calib_steps``, ``calib_rate``, ``calib_batch``, ``seed`` (random
    calibration spikes), ``partition`` (``auto`` or ``index``), ``replicas`` (``auto``, ``none``
    or a number: :mod:`.replicas`)."""

    name = "lower-loihi2"

    calibrate: str | None = None
    calib_steps: int = 100
    calib_rate: float | str = 0.05
    calib_batch: int = 2
    seed: int = 0
    partition: str = "auto"
    replicas: str = "auto"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from nirc.passes.discretize import parse_float_option
        from nirc.targets.base import CompileOptions

        from .target import lower_module

        options = CompileOptions(
            calibrate=self.calibrate,
            seed=self.seed,
            extra={"calib_steps": self.calib_steps, "calib_batch": self.calib_batch,
                   "calib_rate": parse_float_option(self.calib_rate, "calib_rate") or 0.0,
                   "partition": self.partition, "replicas": str(self.replicas)},  # fmt: skip
        )
        result = lower_module(op, options)
        new = result.module
        for old in list(op.ops):
            old.detach()
            old.erase()
        for top in list(new.ops):
            top.detach()
            op.body.blocks[0].add_op(top)


__all__ = ["FloatLayer", "FloatNetwork", "FloatNeuron", "LowerLoihi2Pass", "Pool",
           "compose_conv_pool", "extract", "neuron_parameters"]  # fmt: skip
