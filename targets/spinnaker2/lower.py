"""`lower-spinnaker2`: the fused `snn` level -> a SpiNNaker2 network.

Runs on a float `snn` module after `inline-subgraphs`, `discretize`,
`fold-weights` and `fuse`. Steps:

1. **Extraction** (:func:`extract`): every ``snn.neuron`` becomes a
   population, every ``snn.input`` a ``spike_list`` population. What a
   neuron receives is traced back through the stateless ops (dense, conv1d,
   conv2d, sum/avg pools, reshapes, scales, delays; two weight layers in a row
   are multiplied out, which is exact) to the spiking populations it comes
   from: one sparse matrix per (source, delay), the projection. Biases of
   the synapses are summed per neuron; the neuron's input gains are folded
   into the rows.
2. **Time alignment**: a projection delivers one step after the spike (the
   chip's latency), a recurrent `snn` edge carries one step, a synaptic
   current read from the previous step (``current_order = previous``)
   carries one more. Each population gets the smallest ``lag`` (chip steps
   behind the float network) such that every projection needs an extra
   delay ``h >= 0``; ``h > 0`` is realised by chains of relay populations
   (one-to-one copies one step later, exact), or by the delayed models
   (``lif``, ``lif_curr_exp``: delay ``h`` in the synapse, but 4-bit
   weights) when ``h <= 7``, the population can take them, and either
   ``delays = model`` or their weights hold the population's exactly
   (:func:`four_bit_exact`; :func:`~.target.lower_module` falls back to
   them where relays do not fit the chips). A loop the chip would make
   longer than trained is refused.
3. **Population models**: LIF/IF -> ``lif_no_delay``; fed only by one 2-D
   convolution (optionally after a sum pool with kernel = stride, no
   padding, no dilation or groups) -> ``lif_conv2d`` with a
   ``Conv2DProjection``; with a synaptic current -> ``lif_curr_exp_no_delay``;
   snnTorch's lost step after a spike (``zero_refractory``) -> the current
   model with ``t_refrac = 1``; delays -> the delayed models. Non-spiking
   neurons (LI, CubaLI) are readouts: a population that never spikes, its
   voltage recorded.

Quantization (:mod:`.quantize`) and placement follow in
:func:`lower_to_spinnaker2`; the pass replaces the `snn` graph by the
``spinnaker2.network`` (:mod:`.dialect`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from nirc.diagnostics import NircError
from nirc.targets.base import grouped_notes

from .network import BIAS, INPUT, NEURON, RELAY, Network, Output, Population, Projection
from .sparse import Coo, conv_coo, dense_coo, sum_pool_coo
from .spec import SPINNAKER2

F64 = np.float64
DELAY_MODES = ("auto", "model", "relay")


@dataclass
class FloatNeuron:
    """A neuron population's float semantics (per neuron, flat C order), in
    the units of the `snn` level with the input gains folded into the weights:
    ``v = alpha * v + drive + bias`` (``drive`` through a current
    ``i = alpha_syn * i + x`` when ``alpha_syn`` is set)."""

    alpha: np.ndarray
    threshold: np.ndarray | None  # None: never spikes (a readout)
    bias: np.ndarray  # added to v every step (bias_mem + synapse biases)
    v_reset: np.ndarray
    v_init: np.ndarray
    alpha_syn: np.ndarray | None = None
    # synapse biases that need an always-on source: {delay: bias} (those into a
    # synaptic current, and those behind a delay)
    source_biases: dict[int, np.ndarray] = field(default_factory=dict)
    current_order: str = "previous"
    reset: str = "zero"
    compare: str = "gt"
    spikes: str = "binary"
    max_spikes: int | None = None  # multi-spike neurons: at most this many per step
    v_min: np.ndarray | None = None  # a lower bound of the membrane (no SpiNNaker2 form)


@dataclass
class Term:
    """Part of a value: ``matrix`` (None: identity) applied to the spikes of
    ``source`` delayed by ``delay`` steps. ``chain`` lists the ops applied,
    first to last (to recognise a Conv2DProjection)."""

    source: Operation
    delay: int
    matrix: Coo | None
    chain: tuple[Operation, ...] = ()


@dataclass
class Traced:
    """Terms and constant biases (by the delay they come through: a bias
    behind a delay of d steps is 0 in the first d steps)."""

    terms: list[Term] = field(default_factory=list)
    biases: dict[int, np.ndarray] = field(default_factory=dict)

    def add_bias(self, delay: int, b: np.ndarray) -> None:
        self.biases[delay] = b.copy() if delay not in self.biases else self.biases[delay] + b


def _snn():
    from nirc.dialects import snn

    return snn


def _name(op: Operation) -> str:
    return _snn().label(op)


def _size(value: SSAValue) -> int:
    from nirc.dialects.nir import shape_of

    s = shape_of(value.type)
    if s is None:
        raise NircError("a value of unknown shape", where=str(value.name_hint),
                        hint="run shape inference (`nir-infer-shapes`) before lowering")  # fmt: skip
    return int(np.prod(s, dtype=np.int64))


def _shape(value: SSAValue) -> tuple[int, ...]:
    from nirc.dialects.nir import shape_of

    s = shape_of(value.type)
    assert s is not None
    return tuple(int(d) for d in s)


def _compose(outer: Coo, term: Term, op: Operation) -> Term:
    m = outer if term.matrix is None else outer @ term.matrix
    return Term(term.source, term.delay, m, term.chain + (op,))


class Tracer:
    """Traces values back to spiking sources (see :class:`Term`), memoized."""

    def __init__(self) -> None:
        self.cache: dict[SSAValue, Traced] = {}

    def value(self, value: SSAValue) -> Traced:
        snn = _snn()
        op = snn.producer(value)
        if op is None:
            raise NircError("a value without a producer", where=str(value.name_hint))
        key = op.results[0]
        if key in self.cache:
            return self.cache[key]
        result = self._op(op)
        self.cache[key] = result
        return result

    def _sum(self, op: Operation) -> Traced:
        out = Traced()
        for v in op.operands:
            t = self.value(v)
            out.terms.extend(t.terms)
            for d, b in t.biases.items():
                out.add_bias(d, b)
        return out

    def _op(self, op: Operation) -> Traced:
        snn = _snn()
        name = _name(op)
        if isinstance(op, snn.InputOp):
            return Traced([Term(op, 0, None)])
        if isinstance(op, snn.NeuronOp):
            if not op.spiking:
                raise NircError(
                    "a non-spiking neuron feeds a synapse: SpiNNaker2 populations talk by "
                    "spikes only",
                    where=name,
                    expected="a spiking neuron (LIF, IF, CubaLIF) before weights; LI/CubaLI "
                    "only as a readout read by an Output",
                    found=f"{name} (no v_threshold) read by another node",
                )
            return Traced([Term(op, 0, None)])
        inner = self._sum(op)
        n_out = _size(op.results[0])
        in_shape = _shape(op.operands[0])
        if isinstance(op, snn.DenseOp):
            w = snn.param(op, "weight").astype(F64)
            m = dense_coo(w, in_shape, op.contracted)
            b = snn.param(op, "bias")
            bias = None if b is None else np.tile(np.broadcast_to(b.astype(F64), (w.shape[0],)),
                                                  n_out // w.shape[0])  # fmt: skip
        elif isinstance(op, snn.Conv1dOp | snn.Conv2dOp):
            w = snn.param(op, "weight").astype(F64)
            stride, pads, dil, groups = op.conv_params()
            m = conv_coo(w, in_shape, stride, pads, dil, groups)
            b = snn.param(op, "bias")
            bias = None
            if b is not None:
                per = n_out // w.shape[0]
                bias = np.repeat(np.broadcast_to(b.astype(F64), (w.shape[0],)), per)
        elif isinstance(op, snn.SumPool2dOp):
            kernel, stride, padding = op.window()
            div = snn.int_prop(op, "divisor") or 1
            m = sum_pool_coo(in_shape, kernel, stride, padding, float(div))  # type: ignore[arg-type]
            bias = None
        elif isinstance(op, snn.ReshapeOp):
            return inner  # same elements, flat C order
        elif isinstance(op, snn.ScaleOp):
            s = np.broadcast_to(snn.param(op, "scale").astype(F64), in_shape).reshape(-1)
            m = Coo.identity(n_out, s)
            bias = None
        elif isinstance(op, snn.DelayOp):
            steps = np.broadcast_to(snn.param(op, "steps").astype(np.int64), in_shape).reshape(-1)
            out = Traced()
            for d0, b in inner.biases.items():
                for d in np.unique(steps):
                    out.add_bias(d0 + int(d), np.where(steps == d, b, 0.0))
            for t in inner.terms:
                for d in np.unique(steps):
                    pick = Coo.identity(n_out, (steps == d).astype(F64))
                    sub = _compose(pick, t, op)
                    if sub.matrix is not None and sub.matrix.nnz == 0:
                        continue
                    out.terms.append(Term(t.source, t.delay + int(d), sub.matrix, sub.chain))
            return out
        else:
            raise NircError(
                f"{op.name} has no SpiNNaker2 form",
                where=name,
                expected="dense, conv1d, conv2d, sum/avg pool, reshape, scale or delay between "
                "spiking populations",
                found=op.name,
            )
        out = Traced([_compose(m, t, op) for t in inner.terms])
        for d, b in inner.biases.items():
            out.add_bias(d, _coo_apply(m, b))
        if bias is not None:
            out.add_bias(0, bias)
        return out


def _coo_apply(m: Coo, x: np.ndarray) -> np.ndarray:
    return np.bincount(m.row, weights=m.data * x[m.col], minlength=m.shape[0])


def _full(value: np.ndarray | None, n: int, default: float) -> np.ndarray:
    if value is None:
        return np.full(n, default, F64)
    return np.broadcast_to(np.asarray(value, F64), (n,)).reshape(-1).copy() if np.ndim(value) == 0 \
        else np.asarray(value, F64).reshape(-1).copy()  # fmt: skip


def float_neuron(op: Operation) -> FloatNeuron:
    """The float semantics of an ``snn.neuron`` (gains not folded here)."""
    snn = _snn()
    n = int(np.prod(op.out_shape() or (), dtype=np.int64))

    def p(field: str, default: float) -> np.ndarray:
        return _full(snn.param(op, field), n, default)

    thr = p("v_threshold", np.inf) if op.spiking else None
    return FloatNeuron(
        alpha=p("alpha_mem", 1.0),
        threshold=thr,
        bias=p("bias_mem", 0.0),
        v_reset=p("v_reset", 0.0),
        v_init=p("v_init", 0.0),
        alpha_syn=p("alpha_syn", 0.0) if op.has_synapse_stage else None,
        current_order=op.order() if op.has_synapse_stage else "previous",
        reset=op.reset_mode() if op.spiking else "zero",
        compare=op.compare_mode() if op.spiking else "gt",
        spikes=op.spike_mode() if op.spiking else "binary",
        max_spikes=snn.int_prop(op, "max_spikes") if op.spiking else None,
        v_min=None if snn.param(op, "v_min") is None else p("v_min", 0.0),
    )


@dataclass
class Extraction:
    """:func:`extract`'s result: the float network (weights in float units)
    and each neuron population's float semantics."""

    network: Network
    neurons: dict[str, FloatNeuron]
    # populations whose extra delay relays carry, where a delayed model would
    # fit in time but not hold the weights (``delays = auto``)
    relayed_for_bits: list[str] = field(default_factory=list)


def extract(module: ModuleOp, *, delays: str = "auto") -> Extraction:
    """The float SpiNNaker2 network of a fused float `snn` module (see the
    module docstring)."""
    from . import rules

    snn = _snn()
    if delays not in DELAY_MODES:
        raise NircError("unknown delay mode", where="delays", expected=" or ".join(DELAY_MODES),
                        found=repr(delays))  # fmt: skip
    graph = snn.top_graph(module)
    ops = list(snn.flat_ops(graph))
    rules.check_float(ops)
    source = snn.graph_source(graph)
    reset = graph.reset.data if graph.reset is not None else "zero"
    pops: list[Population] = []
    neurons: dict[str, FloatNeuron] = {}
    tracer = Tracer()
    incoming: dict[str, list[tuple[str, int, Coo, tuple[str, ...], Term]]] = {}
    gains: dict[str, np.ndarray] = {}
    approximations: list[tuple[str, str]] = []  # (population, approximation)
    exact: list[str] = []
    relayed_for_bits: list[str] = []  # relays where a delayed model would fit in time
    for op in ops:
        if isinstance(op, snn.InputOp):
            pops.append(Population(_name(op), "spike_list", op.declared_shape(), role=INPUT,
                                   source=_name(op), max_atoms_per_core=256))  # fmt: skip
    for op in ops:
        if not isinstance(op, snn.NeuronOp):
            continue
        name = _name(op)
        n = int(np.prod(op.out_shape() or (), dtype=np.int64))
        fn = float_neuron(op)
        traced = tracer._sum(op)
        gain = _full(snn.param(op, "gain_mem"), n, 1.0)
        if op.has_synapse_stage:
            gain = gain * _full(snn.param(op, "gain_syn"), n, 1.0)
        groups: dict[tuple[str, int], list[Term]] = {}
        for t in traced.terms:
            groups.setdefault((_name(t.source), t.delay), []).append(t)
        entries = []
        for (src, d), terms in groups.items():
            n_src = _size(terms[0].source.results[0])
            m: Coo | None = None
            for t in terms:
                tm = t.matrix if t.matrix is not None else Coo.identity(n_src)
                m = tm if m is None else m + tm
            assert m is not None
            m = m.scale_rows(gain).coalesce()
            chain = terms[0].chain if len(terms) == 1 else ()
            entries.append((src, d, m, tuple(_name(c) for c in chain), terms[0] if len(terms) == 1
                            else None))  # fmt: skip
        incoming[name] = entries
        gains[name] = gain
        for d, b in sorted(traced.biases.items()):
            if not np.any(b):
                continue
            if d == 0 and not op.has_synapse_stage:
                fn.bias = fn.bias + b * gain  # i_offset, from the first step
            else:
                fn.source_biases[d] = b * gain
        neurons[name] = fn
        pops.append(Population(name, "lif_no_delay", tuple(op.out_shape() or ()), role=NEURON,
                               source=name, spiking=op.spiking))  # fmt: skip
    by_name = {p.name: p for p in pops}
    d_neuron = {
        n: int(f.alpha_syn is not None and f.current_order == "previous") for n, f in neurons.items()
    }
    lags = _lags(by_name, incoming, d_neuron, neurons)
    projections: list[Projection] = []
    relays: dict[tuple[str, int], Population] = {}
    order: list[Population] = [p for p in pops if p.role == INPUT]
    bias_pops: list[Population] = []
    for p in pops:
        p.lag = lags[p.name]
    for p in pops:
        if p.role != NEURON:
            continue
        fn = neurons[p.name]
        entries = incoming[p.name]
        hs = [lags[p.name] - lags[src] - 1 + d + d_neuron[p.name] for src, d, *_ in entries]
        structures = [rules.conv_structure(p, e, gains[p.name]) for e in entries]
        model = _choose_model(fn, entries, hs, structures, delays)
        p.model = model
        p.max_atoms_per_core = SPINNAKER2.models[model].max_atoms_per_core
        if fn.v_min is not None:
            approximations.append((p.name, "the membrane's lower bound v_min (Sinabs' min_v_mem) "
                                   "has no SpiNNaker2 form: the membrane is unbounded"))
        if fn.reset == "subtract_undecayed" and fn.alpha_syn is not None and np.any(fn.alpha < 1):
            approximations.append((p.name, "snnTorch's undecayed subtraction is an ordinary reset "
                                   "by subtraction (the current model cannot add it back)"))
        delayed_model = model in ("lif", "lif_curr_exp")
        if delayed_model and not four_bit_exact(fn, entries, model):
            approximations.append((p.name, f"`{model}`'s weights have 4 bits ([-15, 15]), not 8: "
                                   "the delay is in the synapses (--delays relay keeps 8 bits, "
                                   "with relay populations)"))  # fmt: skip
        elif (delays == "auto" and model in ("lif_no_delay", "lif_curr_exp_no_delay")
              and 0 < max(hs, default=0) <= SPINNAKER2.max_delay):
            relayed_for_bits.append(p.name)
        for (src, d, m, chain, _term), h, conv in zip(entries, hs, structures):
            pre = src
            if h > 0 and not delayed_model:
                pre = _relay_chain(src, h, by_name, relays, order)
                h_extra = 0
            else:
                h_extra = h
            proj = Projection(f"{pre}->{p.name}" + (f"@{d}" if d else ""), pre, p.name, m,
                              sources=chain)  # fmt: skip
            if h_extra:
                proj.delays = np.full(m.nnz, h_extra, np.int64)
            if conv is not None:
                proj.conv, proj.kernel = conv
            projections.append(proj)
        for d, bias in sorted(fn.source_biases.items()):
            # fires every step from the chip step whose spike reaches the
            # population when the float network first adds the bias
            start = lags[p.name] - 1 + d_neuron[p.name] + d
            b = Population(f"{p.name}.bias" + (f"@{d}" if d else ""), "spike_list", (1,),
                           role=BIAS, source=p.name, start=start, lag=start)  # fmt: skip
            bias_pops.append(b)
            w = Coo(np.arange(p.size, dtype=np.int64), np.zeros(p.size, np.int64),
                    bias.astype(F64), (p.size, 1)).coalesce()  # fmt: skip
            projections.append(Projection(f"{b.name}->{p.name}", b.name, p.name, w,
                                          sources=("bias",)))  # fmt: skip
        order.append(p)
    outputs = _outputs(graph, by_name)
    for o in outputs:
        pop = by_name[o.population]
        pop.record = tuple(sorted(set(pop.record) | {o.reads}))
    populations = [p for p in order if p.role == INPUT] + bias_pops
    populations += [p for p in order if p.role != INPUT]
    if all(f.spikes == "binary" for f in neurons.values()):
        exact.append("binary spikes, strict or >= comparisons (>= as > against the next float32 "
                     "below the threshold)")  # fmt: skip
    exact.append("one step of latency per projection, aligned: outputs read lag steps later")
    if relays:
        exact.append(f"{len(relays)} relay population(s) carry extra delays at int8 precision")
    net = Network(
        dt=graph.dt_value, populations=populations, projections=projections, outputs=outputs,
        approximations=grouped_notes(approximations), exact=exact, source=source, reset=reset,
    )  # fmt: skip
    net.projections += relay_projections(net)
    return Extraction(net, neurons, relayed_for_bits)


def _lags(by_name, incoming, d_neuron, neurons) -> dict[str, int]:
    """Smallest lags with lag(post) >= lag(pre) + 1 - d_snn - d_neuron(post)
    on every projection (longest paths; a positive cycle is refused)."""
    lags = dict.fromkeys(by_name, 0)
    for name, f in neurons.items():
        for d in f.source_biases:
            lags[name] = max(lags[name], 1 - d - d_neuron[name])
    for _ in range(len(by_name) + 1):
        changed = False
        for post, entries in incoming.items():
            for src, d, *_ in entries:
                want = lags[src] + 1 - d - d_neuron[post]
                if want > lags[post]:
                    lags[post] = want
                    changed = True
        if not changed:
            return lags
    loop = sorted(n for n in incoming if lags[n] > len(by_name))
    raise NircError(
        "a recurrent loop is shorter than the chip can run it: every projection adds one "
        "step of latency, more than the loop's delays allow",
        where=", ".join(loop[:6]) or "the recurrent loop",
        expected="at least one step of delay per projection on every loop (a population's "
        "recurrent weights onto itself are fine)",
        found="a loop through several populations with fewer delay steps than projections",
        hint="add a Delay on the loop, or fuse the loop into one recurrent layer",
    )


def _relay_chain(src: str, h: int, by_name, relays, order) -> str:
    """The name of the population that repeats ``src``'s spikes ``h`` steps
    later (a chain of relay populations, shared by the projections of
    ``src``)."""
    prev = src
    base = by_name[src]
    for k in range(1, h + 1):
        key = (src, k)
        if key not in relays:
            r = Population(f"{src}.relay{k}", "lif_no_delay", (base.size,), role=RELAY,
                           source=src, lag=base.lag + k,
                           max_atoms_per_core=SPINNAKER2.models["lif_no_delay"].max_atoms_per_core)  # fmt: skip
            relays[key] = r
            by_name[r.name] = r
            order.append(r)
        prev = relays[key].name
    return prev


def relay_projections(net: Network) -> list[Projection]:
    """One-to-one projections feeding each relay from its predecessor."""
    out = []
    for p in net.populations:
        if p.role != RELAY:
            continue
        k = int(p.name.rsplit("relay", 1)[1])
        pre = p.source if k == 1 else f"{p.source}.relay{k - 1}"
        out.append(Projection(f"{pre}->{p.name}", pre, p.name, Coo.identity(p.size),
                              sources=("relay",)))  # fmt: skip
    return out


def _choose_model(fn: FloatNeuron, entries, hs, structures, delays: str) -> str:
    """The population model (see the module docstring). With ``delays =
    auto`` a population whose synapses need extra delay takes a delayed
    model only where its 4-bit weights hold the float weights exactly
    (:func:`four_bit_exact`); otherwise relays carry the delay and the
    weights keep 8 bits."""
    from . import rules

    refractory = fn.reset == "zero_refractory"
    current = fn.alpha_syn is not None or refractory
    if rules.lif_conv2d_eligible(fn, entries, hs, structures):
        return "lif_conv2d"
    delayed = any(h > 0 for h in hs)
    model = "lif_curr_exp" if current else "lif"
    if (delayed and delays != "relay" and max(hs) <= SPINNAKER2.max_delay
            and (delays == "model" or four_bit_exact(fn, entries, model))):
        return model
    return "lif_curr_exp_no_delay" if current else "lif_no_delay"


def four_bit_exact(fn: FloatNeuron, entries, model: str) -> bool:
    """Whether ``model``'s integer weights hold a population's float weights
    exactly at the scale that maps the largest onto the top of its range:
    every weight, and every bias an always-on source adds, a whole multiple
    of that largest weight over 15. Anything else loses to the rounding:
    the delayed models' weights have 4 bits where the others have 8
    (measured on the paper's Braille RNNs, random spikes, 64 samples of
    100 and 300 steps: the predictions of max-abs scales agreed with the
    float network's on 2-61 % of the samples with the delayed model, on
    59-95 % with relays)."""
    top = (SPINNAKER2.models[model].weight_range or (0, 0))[1]
    weights = [np.abs(m.data) for _src, _d, m, *_ in entries]
    big = max((float(w.max()) for w in weights if w.size), default=0.0)
    if big == 0.0:
        return True
    values = np.concatenate([*weights, *(np.ravel(b) for b in fn.source_biases.values())])
    units = values * (top / big)
    return bool(np.all(np.abs(units - np.rint(units)) <= 1e-6 * top))


def _outputs(graph, by_name) -> list[Output]:
    snn = _snn()
    outs = []
    for op in graph.output_ops():
        name = _name(op)
        sources = []
        for v in op.operands:
            q = snn.producer(v)
            while isinstance(q, snn.ReshapeOp):
                q = snn.producer(q.operands[0])
            sources.append(q)
        ok = len(sources) == 1 and isinstance(sources[0], snn.NeuronOp)
        if not ok:
            found = ", ".join(f"{q.name} {_name(q)!r}" for q in sources if q is not None)
            raise NircError(
                "an Output must read one population's spikes (or a readout's voltage)",
                where=name,
                expected="an Output fed by one neuron layer (through reshapes only)",
                found=found or "nothing",
                hint="pooling or weights after the last neuron have no population to run on: "
                "move them before a neuron layer",
            )
        src = sources[0]
        pop = by_name[_name(src)]
        shape = tuple(int(d) for d in (snn.shape_of(op.operands[0].type) or pop.shape))
        outs.append(Output(name, pop.name, shape, "spikes" if src.spiking else "v"))
    return outs


# --------------------------------------------------------------------------------------
# the pass
# --------------------------------------------------------------------------------------


def lower_to_spinnaker2(module: ModuleOp, **options):
    """Replace the fused float `snn` graph of ``module`` by its
    ``spinnaker2.network``; returns the :class:`~.target.Lowered` result
    (network, quantization, placement). Options as
    :meth:`~.target.SpiNNaker2Target.lower`."""
    from .target import lower_module

    return lower_module(module, **options)


@dataclass(frozen=True)
class LowerSpiNNaker2Pass(ModulePass):
    """Fused float `snn` -> ``spinnaker2`` (see the module docstring). Options:
    ``calibrate`` (an .npz of inputs), ``calib_steps``, ``calib_rate``,
    ``calib_batch``, ``seed`` (random calibration spikes), ``delays``
    (``auto``, ``model``, ``relay``), ``partition`` (``auto``, ``index``),
    ``report`` (print the quantization summary on stderr)."""

    name = "lower-spinnaker2"

    calibrate: str | None = None
    calib_steps: int = 100
    calib_rate: float | str = 0.05
    calib_batch: int = 2
    seed: int = 0
    delays: str = "auto"
    partition: str = "auto"
    report: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from nirc.passes.discretize import parse_float_option

        result = lower_to_spinnaker2(
            op,
            calibrate=self.calibrate,
            calib_steps=self.calib_steps,
            calib_rate=parse_float_option(self.calib_rate, "calib_rate") or 0.0,
            calib_batch=self.calib_batch,
            seed=self.seed,
            delays=self.delays,
            partition=self.partition,
        )
        if self.report:
            for line in result.quantization.lines():
                print(line, file=sys.stderr)


__all__ = ["Extraction", "FloatNeuron", "LowerSpiNNaker2Pass", "extract", "lower_to_spinnaker2",
           "relay_projections"]  # fmt: skip
