"""From the fused `snn` level to Xylo's single hidden population (float).

:func:`map_network` reads a fused `snn` module (after `fold-weights` and
`fuse`) and places it on the chip's one network shape::

    input channels -> weights_in -> hidden (weights_rec) -> weights_out -> output neurons

- Input channels: every ``snn.input``, flattened and concatenated in file order.
- Hidden population: every layer that does not feed an ``snn.output``, placed
  in neuron-index blocks (layers fed by inputs first, then in file order:
  Audio 3 / IMU accept input weights only onto the first 128 hidden neurons).
  Weights between hidden layers (feed-forward or through a one-step
  ``snn.delay``) go into the blocks of ``weights_rec``; a layer's own
  recurrent weights are its diagonal block.
- Output neurons: the layers read by ``snn.output`` (non-recurrent, fed only by
  hidden layers), in output order.
- Synapses: an LI layer read by spiking neurons is not placed: it is their
  synapse (the chip's current is an LI of the weighted input). A neuron
  where paths of two synaptic time constants meet (two LIs, or an LI and
  weights straight into it) gets the first on synapse 1 (``dash_syn``), the
  second on synapse 2 (``dash_syn_2``); more than two, or two on IMU or an
  output neuron (one synapse), are refused.
- Aliases: a hidden neuron with more recurrent targets than the variant's
  fan-out limit hands the rest to alias neurons (:func:`split_fan_out`).
- Split synapses: a hidden layer whose synaptic decay is not a bit shift and
  whose second synapse is free can carry it on both synapses, as a sum of
  two bit-shift decays (:func:`split_synapses`; :mod:`.quantize` tries it on
  the user's data).

The chip's neuron, per step (TARGETS.md): ``I = a_s (I + W x)`` (the input is
added, then the synapse decays by ``a_s = 1 - 2**-dash_syn``); ``V = a_m V + I
+ bias``. A float `snn` neuron ``i = alpha_syn i + g_s x; v = alpha_mem v + g_m
s + b`` (``s`` the current of the previous step, or of this step) is matched
by effective weights ``g_m g_s W / a_s``: then the chip's ``I`` equals the
float current (``current_order = same``) or the float current one step later
(``previous``). What is exact and what is approximate, per layer:

- exact: dashes whose decay ``1 - 2**-dash`` equals ``alpha`` (tau / dt a power
  of two; also for LI synapses, on either synapse), alias neurons, reset by
  subtraction, ``gt``/``ge`` (via the integer threshold),
  feed-forward latencies (a uniform shift of the output by whole steps);
- approximate, and listed in :attr:`XyloFloatNetwork.notes`: other time
  constants (rounded dash), reset to zero (the chip subtracts), binary
  spikes in hidden layers (the chip may emit several per step), LIF / IF
  without a synaptic stage (the chip's synapse decays with dash 1), IF's
  missing leak (dash 15), an Affine bias (becomes the neuron's bias at the
  synapse's steady state), recurrent loops whose float latency differs
  from the chip's one step.

Everything here is float; :mod:`.quantize` picks the integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nirc.diagnostics import NircError

from .spec import XyloSpec


@dataclass
class Population:
    """One neuron layer placed on the chip: ``start`` .. ``start + size`` of
    the hidden (or output) population."""

    name: str
    start: int
    size: int
    alpha_mem: np.ndarray
    alpha_syn: np.ndarray | None
    threshold: np.ndarray
    compare: str
    reset: str
    spikes: str
    order: str
    recurrent: bool = False
    fed_by_input: bool = False
    relay_of: str | None = None  # a relay neuron layer: the hidden layer it delays
    alias_of: str | None = None  # an alias neuron layer: the hidden layer whose fan-out it carries
    max_spikes: int | None = 1  # the float neuron's spikes per step (None: unbounded)


@dataclass
class XyloFloatNetwork:
    """The network on the chip's shape, in real units of each neuron's membrane.

    ``w_in`` (Nin, Nhid), ``w_rec`` (Nhid, Nhid), ``w_out`` (Nhid, Nout) are the
    effective weights (already divided by the chip's synaptic decay) onto
    synapse 1; ``w_in_2`` / ``w_rec_2`` the same onto synapse 2 (decaying by
    ``dash_syn_2``); ``bias`` and ``bias_out`` are added to the membrane each
    step; ``dash_*`` are the chip's decay shifts; ``threshold*`` the float
    thresholds. ``aliases`` is Rockpool's alias list (one list of targets per
    hidden neuron) or None, see :func:`split_fan_out`."""

    dt: float
    inputs: list[tuple[str, tuple[int, ...]]]
    outputs: list[tuple[str, tuple[int, ...]]]
    hidden: list[Population]
    output: list[Population]
    w_in: np.ndarray
    w_rec: np.ndarray
    w_out: np.ndarray
    bias: np.ndarray
    bias_out: np.ndarray
    threshold: np.ndarray
    threshold_out: np.ndarray
    compare: np.ndarray  # per hidden neuron: True for ">="
    compare_out: np.ndarray
    dash_mem: np.ndarray
    dash_syn: np.ndarray
    dash_mem_out: np.ndarray
    dash_syn_out: np.ndarray
    notes: list[str] = field(default_factory=list)
    exact: list[str] = field(default_factory=list)
    relays: list[tuple[int, int, int]] = field(default_factory=list)  # (source, relay, size)
    w_in_2: np.ndarray | None = None  # None: zeros (synapse 2 unused)
    w_rec_2: np.ndarray | None = None
    dash_syn_2: np.ndarray | None = None
    aliases: list[list[int]] | None = None
    # steps the chip's outputs lag the float network's (feed-forward paths; < 0: lead)
    output_lag: int = 0

    def __post_init__(self) -> None:
        if self.w_in_2 is None:
            self.w_in_2 = np.zeros_like(self.w_in)
        if self.w_rec_2 is None:
            self.w_rec_2 = np.zeros_like(self.w_rec)
        if self.dash_syn_2 is None:
            self.dash_syn_2 = np.zeros(self.w_rec.shape[0], np.int64)

    @property
    def n_alias(self) -> int:
        """How many hidden neurons are alias copies (:func:`split_fan_out`)."""
        return sum(p.size for p in self.hidden if p.alias_of is not None)

    @property
    def n_in(self) -> int:
        return int(self.w_in.shape[0])

    @property
    def n_hidden(self) -> int:
        return int(self.w_rec.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.w_out.shape[1])


def _full(a: np.ndarray | None, n: int, default: float) -> np.ndarray:
    if a is None:
        return np.full(n, float(default))
    a = np.asarray(a, np.float64)
    return np.broadcast_to(a.reshape(-1) if a.size == n else a.reshape(()), (n,)).copy()


def tau_steps(alpha: np.ndarray, integrator: str) -> np.ndarray:
    """tau / dt of decay factors ``alpha`` (inf for alpha = 1)."""
    a = np.asarray(alpha, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if integrator == "exact":
            return np.where(a >= 1, np.inf, -1.0 / np.log(np.clip(a, 1e-300, None)))
        return np.where(a >= 1, np.inf, 1.0 / (1.0 - a))


def dash_of(node: str, what: str, alpha: np.ndarray, integrator: str, spec: XyloSpec,
            notes: list[str], minimum: int = 0, prefer: str | None = None) -> np.ndarray:  # fmt: skip
    """Xylo's ``dash = round(log2(tau / dt))``, checked against the rules
    (tau > dt, 0..15); notes the neurons whose decay it only approximates.
    ``prefer`` (``"down"`` or ``"up"``) takes the other neighbour of an
    approximated ``log2(tau / dt)`` instead of the nearest: a faster or slower
    decay, which a calibration on data may find closer in effect."""
    tau = tau_steps(alpha, integrator)
    if np.any(~(tau > 1.0)):
        k = int(np.flatnonzero(~(tau > 1.0))[0])
        raise NircError(
            f"{what} time constant not above dt (Xylo decays by right shifts of tau/dt)",
            where=f"{node}[{k}]",
            expected="tau > dt (a decay factor alpha > 0)",
            found=f"tau / dt = {tau[k]:.4g} (alpha = {float(alpha[k]):.4g})",
            hint="choose a smaller --dt",
        )
    with np.errstate(divide="ignore"):
        raw = np.log2(tau)
    leakless = ~np.isfinite(raw)
    pick = {"down": np.floor, "up": np.ceil}.get(prefer or "", np.round)
    dash = np.where(leakless, spec.dash_max, pick(np.where(leakless, 0.0, raw)))
    if leakless.any():
        notes.append(
            f"{node}: no {what} leak (IF): the chip decays by 2**-{spec.dash_max} per step, at "
            f"least 1 integer unit (dash {spec.dash_max})"
        )
    if np.any(dash > spec.dash_max):
        k = int(np.flatnonzero(dash > spec.dash_max)[0])
        notes.append(
            f"{node}: {what} tau/dt = {tau[k]:.4g} above 2**{spec.dash_max}: dash clipped to "
            f"{spec.dash_max}"
        )
    dash = np.clip(dash, minimum, spec.dash_max).astype(np.int64)
    chip = 1.0 - 2.0 ** (-dash.astype(np.float64))
    want = np.asarray(alpha, np.float64)
    off = (np.abs(chip - want) > 1e-6) & ~leakless
    if off.any():
        k = int(np.flatnonzero(off)[0])
        notes.append(
            f"{node}: {what} decay {float(want[k]):.4g} approximated by 1 - 2**-{int(dash[k])} = "
            f"{chip[k]:.4g}" + (f" ({int(off.sum())} neurons)" if off.sum() > 1 else "")
        )
    return dash


def _resolve(value) -> tuple[str, str, bool, np.ndarray | None, np.ndarray | None]:
    """Where a layer operand comes from: (kind, name, through a delay, and the
    weight and bias of an ``snn.dense`` between the source layer and a delay,
    or None)."""
    from nirc.dialects import snn

    op = value.owner
    if isinstance(op, snn.InputOp):
        return "input", op.node_name.data, False, None, None
    if isinstance(op, (snn.LayerOp, snn.NeuronOp)):
        return "layer", op.node_name.data, False, None, None
    if isinstance(op, snn.DelayOp):
        steps = op.uniform_steps()
        src = op.inputs[0].owner if len(op.inputs) == 1 else None
        if steps == 1 and isinstance(src, (snn.LayerOp, snn.NeuronOp)):
            return "layer", src.node_name.data, True, None, None
        if (steps == 1 and isinstance(src, snn.DenseOp) and len(src.inputs) == 1
                and isinstance(src.inputs[0].owner, (snn.LayerOp, snn.NeuronOp))):  # fmt: skip
            # recurrent weights (with a bias) in front of the delay
            w = np.asarray(snn.param(src, "weight"), np.float64)
            b = snn.param(src, "bias")
            return ("layer", src.inputs[0].owner.node_name.data, True, w.reshape(w.shape[0], -1),
                    None if b is None else np.asarray(b, np.float64).reshape(-1))  # fmt: skip
        raise NircError(
            "Xylo delivers spikes with exactly one step of delay",
            where=op.node_name.data,
            expected="a one-step delay of a neuron layer's spikes (a recurrent edge)",
            found=f"a delay of {steps} steps" if steps != 1 else "a delay of a non-neuron value",
            hint="remove the Delay node",
        )
    is_op = hasattr(op, "properties")
    name = snn.node_name(op) if is_op else "?"
    kind = op.name if is_op else "a block argument"
    raise NircError(
        "Xylo neurons receive only from weights (no weight -> weight)",
        where=name,
        expected="an Input, a neuron layer or its one-step delay feeding a layer's weights",
        found=f"{kind} feeding weights",
        hint="run fold-weights, or insert a neuron layer between the two weight layers",
    )


def _a_chip(dash: np.ndarray) -> np.ndarray:
    """The chip's synaptic decay ``1 - 2**-dash``: its current is ``a (I + W x)``,
    so weights are divided by it to match a float current."""
    return 1.0 - 2.0 ** (-np.asarray(dash, np.float64))


def _is_filter(neuron) -> bool:
    """An LI neuron (no spike rule, no synaptic stage): on Xylo it is a synapse."""
    return not neuron.spiking and neuron.alpha_syn is None


def _unit_inputs(op, n_out: int) -> list[tuple]:
    """The inputs of a layer or of a bare neuron: (operand value, weight [out,
    in], bias or None) per term of the neuron's fan-in."""
    from nirc.dialects import snn

    if isinstance(op, snn.NeuronOp):  # a bare neuron: identity weights from each operand
        return [(v, np.eye(n_out), None) for v in op.inputs]
    neuron = op.neuron()
    block = op.body.blocks[0]
    args = {arg: i for i, arg in enumerate(block.args)}
    terms = []
    for operand in neuron.inputs:
        syn = operand.owner
        if operand in args:  # a block argument: identity weights
            terms.append((op.inputs[args[operand]], np.eye(n_out), None))
            continue
        if not isinstance(syn, snn.DenseOp):
            raise NircError(
                f"{syn.name} is not expressible on Xylo",
                where=snn.node_name(syn) or syn.name,
                expected="dense weights (snn.dense)",
                found=syn.name,
            )
        if len(syn.inputs) != 1 or syn.inputs[0] not in args:
            raise NircError(
                "Xylo neurons receive only from weights (no weight -> weight)",
                where=syn.node_name.data,
                found="weights fed by another synapse",
            )
        weight = np.asarray(snn.param(syn, "weight"), np.float64)
        weight = weight.reshape(weight.shape[0], -1)
        b = snn.param(syn, "bias")
        bias = None if b is None else np.asarray(b, np.float64).reshape(-1)
        if snn.int_prop(syn, "shift") is not None or weight.dtype.kind in "iu":
            raise NircError("the network is already quantized", where=syn.node_name.data,
                            hint="give Xylo the float network")  # fmt: skip
        terms.append((op.inputs[args[syn.inputs[0]]], weight, bias))
    return terms


def _slots(node: str, dashes: list[np.ndarray], origins: list[str], n_slots: int,
           what: str, spec: XyloSpec) -> list[np.ndarray]:  # fmt: skip
    """Which synapse (0 or 1) each path uses, per neuron: paths whose dashes are
    equal share a synapse; a neuron with more distinct synaptic time constants
    than ``n_slots`` is refused, naming the neuron, the limit and the paths."""
    n = dashes[0].size if dashes else 0
    held = np.full((n, 2), -1, np.int64)  # the dash each synapse holds, per neuron
    slots = []
    for k, d in enumerate(dashes):
        slot = np.where(held[:, 0] == d, 0, np.where(held[:, 1] == d, 1, -1))
        free0 = (slot < 0) & (held[:, 0] < 0)
        held[free0, 0] = d[free0]
        slot[free0] = 0
        free1 = (slot < 0) & (held[:, 1] < 0)
        held[free1, 1] = d[free1]
        slot[free1] = 1
        over = (slot < 0) | (slot >= n_slots)
        if over.any():
            j = int(np.flatnonzero(over)[0])
            meet = [(origins[m], int(dashes[m][j])) for m in range(k + 1)]
            distinct = sorted({dd for _, dd in meet})
            listing = ", ".join(f"tau/dt ~ 2**{dd} from {o}" for o, dd in meet)
            if len(distinct) > 2:
                raise NircError(
                    "more than two synaptic time constants meet one Xylo neuron",
                    where=f"{node}[{j}]",
                    expected=f"at most {min(n_slots, 2)} distinct synaptic time constants per "
                    f"{what} ({spec.title}: synapses with dash_syn and dash_syn_2)",
                    found=f"{len(distinct)} distinct ({listing})",
                    hint="give some of the input paths the same time constant",
                )
            raise NircError(
                f"two synaptic time constants meet one neuron, but {spec.title}'s {what}s "
                f"have {n_slots} synapse",
                where=f"{node}[{j}]",
                expected=f"{n_slots} synaptic time constant per {what} ({spec.name})",
                found=f"{len(distinct)} distinct ({listing})",
                hint="give the input paths the same time constant, or target audio2 / audio3 "
                "(2 synapses per hidden neuron)"
                if what == "hidden neuron"
                else "add a hidden layer in front of the output layer",
            )
        slots.append(slot)
    return slots


def approximated_dashes(module, spec: XyloSpec) -> list[tuple[str, str]]:
    """(neuron, "membrane" or "synaptic") of every decay the chip only
    approximates: the choices :func:`map_network`'s ``dashes`` can turn."""
    out: list[tuple[str, str]] = []
    for note in map_network(module, spec).notes:
        for what in ("membrane", "synaptic"):
            marker = f": {what} decay "
            if marker in note and " approximated by " in note:
                out.append((note.split(marker)[0], what))
    return list(dict.fromkeys(out))


def map_network(module, spec: XyloSpec, relays: bool = False,
                dashes: dict[tuple[str, str], str] | None = None) -> XyloFloatNetwork:  # fmt: skip
    """Place the fused `snn` network of ``module`` on the chip (see the module doc).

    LI neurons (no spike rule, no synaptic stage) read only by spiking neurons
    (directly or through their weights) become synapses of those neurons: the
    chip's synapse ``I = a (I + W x)`` is an LI fed by ``W x`` read in the same
    step. A neuron reached by paths of two synaptic time constants (two LI
    filters, or an LI and its own CubaLIF synapse; see :func:`_slots`) uses
    synapse 1 for the first and synapse 2 for the second, with ``dash_syn`` and
    ``dash_syn_2``: exact when both tau / dt are powers of two (euler).

    Neurons whose fan-out exceeds ``spec.max_fan_out`` get alias neurons
    (:func:`split_fan_out`).

    ``relays`` (off by default; it needs the second synapse) adds a relay neuron per neuron of each hidden layer whose spikes reach a
    ``current_order = previous`` layer through a one-step delay: the relay
    repeats the spike counts one step later (synapse 1 receives ``2 thr`` per
    spike and decays by half; its own spikes put ``-thr`` into synapse 2,
    which cancels the rest; ``dash_mem = 0``), so that the recurrent loop
    takes two steps on the chip as in the float network (spike -> current
    -> membrane). See :func:`.quantize.specification` for the integers.

    Measured on Braille nobias_subtract (16 x 300 steps, p = 0.1, benchmarks/
    xylo.py), relays lowered the mean spike-count error (2.54 vs 3.01) but not
    the agreement within +-1 (0.42 vs 0.45): the rounded time constants and
    the chip's multi-spike hidden neurons dominate there. Off by default: ``nirc.compile(..., target="xylo",
    relays=True)`` turns them on.

    ``dashes`` maps ``(neuron, "membrane" | "synaptic")`` to ``"down"`` or
    ``"up"``: the other neighbour of an approximated decay (see
    :func:`dash_of`; the quantizer tries them on calibration data)."""
    choices = dict(dashes or {})
    from nirc.dialects import snn

    graph = snn.top_graph(module)
    integrator = graph.integrator.data if graph.integrator is not None else "euler"
    dt = graph.dt_value
    inputs: list[tuple[str, tuple[int, ...]]] = []
    units: list = []  # layers and bare neurons
    outputs: list = []
    for op in graph.block.ops:
        if isinstance(op, snn.InputOp):
            inputs.append((op.node_name.data, tuple(int(d) for d in op.declared_shape())))
        elif isinstance(op, snn.LayerOp):
            units.append(op)
        elif isinstance(op, snn.OutputOp):
            outputs.append(op)
        elif isinstance(op, (snn.DelayOp, snn.DenseOp)):
            pass  # checked where a layer reads them (_resolve)
        elif isinstance(op, snn.NeuronOp):
            if not op.spiking:  # an LI filter needs weights in front: it is a synapse
                raise NircError(
                    "a neuron without weights in front (Xylo neurons receive only from weights)",
                    where=op.node_name.data,
                    expected="a layer (weights -> neuron) as `fuse` builds",
                    found="a bare snn.neuron",
                )
            units.append(op)  # a spiking neuron summing LI filters (synapses) or layers
        else:
            raise NircError(
                f"{op.name} is not expressible on Xylo",
                where=snn.node_name(op) or op.name,
                expected="dense weights and neurons only (no conv, pooling or scale)",
                found=op.name,
                hint="flatten convolutions into dense layers before targeting Xylo",
            )
    offsets: dict[str, int] = {}
    n_in = 0
    for name, shape in inputs:
        offsets[name] = n_in
        n_in += int(np.prod(shape)) if shape else 1

    def neuron_of(op):
        return op if isinstance(op, snn.NeuronOp) else op.neuron()

    filters = {op.node_name.data: op for op in units if _is_filter(neuron_of(op))}
    by_name = {op.node_name.data: op for op in units if op.node_name.data not in filters}

    # which layers are outputs
    out_layers: list[str] = []
    out_ports: list[tuple[str, tuple[int, ...]]] = []
    for op in outputs:
        if len(op.inputs) != 1:
            raise NircError("an Output must read one neuron layer on Xylo",
                            where=op.node_name.data, found=f"{len(op.inputs)} operands")  # fmt: skip
        kind, src, delayed, _, _ = _resolve(op.inputs[0])
        if kind != "layer" or delayed:
            raise NircError(
                "Xylo outputs come straight from output neurons",
                where=op.node_name.data,
                expected="an Output reading a spiking neuron layer",
                found=f"an Output reading {kind} `{src}`",
            )
        if src in filters:
            raise NircError(
                "Xylo neurons spike: a non-spiking neuron (LI / CubaLI) is not expressible",
                where=neuron_of(filters[src]).node_name.data,
                expected="LIF, CubaLIF or IF",
                found="a neuron without v_threshold",
            )
        if src in out_layers:
            raise NircError("two Outputs read the same layer", where=op.node_name.data, found=src)
        out_layers.append(src)
        shape = tuple(int(d) for d in (op.inputs[0].type.get_shape()))
        out_ports.append((op.node_name.data, shape))

    def raw_sources(op) -> list[tuple]:
        """(kind, name, delayed, weight [out, in], bias) per fan-in term of ``op``."""
        n = int(np.prod(neuron_of(op).results[0].type.get_shape()))
        srcs = []
        for value, weight, bias in _unit_inputs(op, n):
            kind, src, delayed, pre_w, pre_b = _resolve(value)
            if pre_w is not None:
                if pre_b is not None:
                    bias = weight @ pre_b + (0.0 if bias is None else bias)
                weight = weight @ pre_w
            srcs.append((kind, src, delayed, weight, bias))
        return srcs

    # filters: their own sources, checked (no filter behind a filter)
    filter_info: dict[str, dict] = {}
    for fname, op in filters.items():
        neuron = neuron_of(op)
        nname = neuron.node_name.data
        n = int(np.prod(neuron.results[0].type.get_shape()))
        a = snn.param(neuron, "v_init")
        if a is not None and np.any(a != 0):
            raise NircError("Xylo states start at zero", where=f"{nname}.v_init",
                            found="a nonzero initial state")  # fmt: skip
        srcs = raw_sources(op)
        for kind, src, _d, _w, _b in srcs:
            if kind == "layer" and src in filters:
                raise NircError(
                    "two LI filters in a row are not expressible on Xylo (one synapse per path)",
                    where=nname,
                    expected="an LI fed by weights from inputs or spiking layers",
                    found=f"LI `{src}` feeding LI `{fname}`",
                )
        filter_info[fname] = {
            "neuron": nname,
            "alpha": _full(snn.param(neuron, "alpha_mem"), n, 0.0),
            "gain": _full(snn.param(neuron, "gain_mem"), n, 1.0),
            "bias": _full(snn.param(neuron, "bias_mem"), n, 0.0),
            "sources": srcs,
        }

    # sources of every spiking layer, LI filters expanded into synaptic paths:
    # (kind, name, delayed, weight [out, in], bias, via) with via the filter's name or None
    sources: dict[str, list] = {}
    filter_bias: dict[str, np.ndarray] = {}  # constant drive through filters, into the membrane
    for lname, op in by_name.items():
        neuron = neuron_of(op)
        nname = neuron.node_name.data
        n = int(np.prod(neuron.results[0].type.get_shape()))
        paths = []
        for kind, src, delayed, weight, bias in raw_sources(op):
            if not (kind == "layer" and src in filters):
                paths.append((kind, src, delayed, weight, bias, None))
                continue
            f = filter_info[src]
            if neuron.alpha_syn is not None:
                raise NircError(
                    "an LI filter in front of a neuron with its own synaptic stage is two "
                    "filters in a row: not expressible on Xylo",
                    where=nname,
                    expected="an LI feeding a LIF or IF (the LI becomes the neuron's synapse), "
                    "or weights straight into the CubaLIF",
                    found=f"LI `{f['neuron']}` feeding CubaLIF `{nname}`",
                    hint="use a LIF after the LI, or fold the LI into the CubaLIF's tau_syn",
                )
            identity = weight.shape == (n, n) and np.array_equal(weight, np.eye(n))
            if not identity and (np.ptp(f["alpha"]) > 0 or np.ptp(f["gain"]) > 0):
                raise NircError(
                    "weights after an LI filter with per-neuron time constants are not "
                    "expressible on Xylo",
                    where=nname,
                    expected="an LI read one to one by the neuron, or an LI with one time "
                    "constant (the weights then move in front of it)",
                    found=f"weights from LI `{f['neuron']}` whose neurons differ in tau",
                )
            if bias is not None:  # a bias after the filter: a constant drive of the neuron
                paths.append(("const", src, False, np.zeros((n, 0)), bias, None))
            # constant drive c per step into the filter settles at c / (1 - alpha)
            c = f["bias"].copy()
            for fkind, fsrc, fdelayed, fweight, fbias in f["sources"]:
                if fbias is not None:
                    c += f["gain"] * fbias
                if delayed and fdelayed:
                    raise NircError(
                        "Xylo delivers spikes with exactly one step of delay",
                        where=f["neuron"],
                        expected="one delay on the recurrent path",
                        found="a delay in front of and behind the LI",
                    )
                if fkind == "input" and delayed:
                    raise NircError(
                        "Xylo delivers inputs in the same step (no delay)",
                        where=f["neuron"],
                        expected="an LI fed by inputs read without a delay",
                        found=f"a delayed LI fed by Input `{fsrc}`",
                    )
                w = weight @ (f["gain"][:, None] * fweight)
                paths.append((fkind, fsrc, delayed or fdelayed, w, None, src))
            if np.any(c):
                steady = c / np.maximum(1.0 - f["alpha"], 1e-12)
                filter_bias[lname] = filter_bias.get(lname, np.zeros(n)) + weight @ steady
        sources[lname] = paths

    consumers: dict[str, list[str]] = {n: [] for n in by_name}
    for lname, srcs in sources.items():
        for kind, src, *_rest in srcs:
            if kind == "layer":
                consumers[src].append(lname)
    for lname in out_layers:
        srcs = sources[lname]
        for kind, src, delayed, *_rest in srcs:
            if kind == "input":
                raise NircError(
                    "Xylo output neurons receive only from hidden neurons",
                    where=lname,
                    expected="an output layer fed by hidden layers",
                    found=f"the output layer is fed by Input `{src}`",
                    hint="add a hidden layer between the input and the output layer",
                )
            if src in out_layers:
                raise NircError(
                    "Xylo outputs come straight from non-recurrent neurons",
                    where=lname,
                    expected="an output layer without recurrent weights",
                    found=f"weights from output layer `{src}`"
                    + (" (recurrent)" if delayed else ""),
                    hint="add a non-recurrent readout layer after the recurrent one",
                )
        if consumers[lname]:
            raise NircError(
                "Xylo output neurons send no weights onward",
                where=lname,
                expected="an output layer read only by the graph's Output",
                found=f"it also feeds {', '.join(sorted(set(consumers[lname])))}",
            )
    hidden_names = [n for n in by_name if n not in out_layers]
    fed = {n for n in hidden_names if any(s[0] == "input" for s in sources[n])}
    hidden_names.sort(key=lambda n: 0 if n in fed else 1)  # stable: file order inside

    notes: list[str] = []
    exact: list[str] = []

    def population(name: str, start: int, is_out: bool) -> tuple[Population, dict]:
        neuron = neuron_of(by_name[name])
        nname = neuron.node_name.data
        n = int(np.prod(neuron.results[0].type.get_shape()))
        if not neuron.spiking:
            raise NircError(
                "Xylo neurons spike: a non-spiking neuron (LI / CubaLI) is not expressible",
                where=nname,
                expected="LIF, CubaLIF or IF",
                found="a neuron without v_threshold",
            )
        for init in ("v_init", "i_init"):
            a = snn.param(neuron, init)
            if a is not None and np.any(a != 0):
                raise NircError("Xylo states start at zero", where=f"{nname}.{init}",
                                found="a nonzero initial state")  # fmt: skip
        alpha_mem = _full(snn.param(neuron, "alpha_mem"), n, 0.0)
        a_syn = snn.param(neuron, "alpha_syn")
        alpha_syn = None if a_syn is None else _full(a_syn, n, 0.0)
        thr = _full(snn.param(neuron, "v_threshold"), n, 1.0)
        if np.any(thr <= 0):
            k = int(np.flatnonzero(thr <= 0)[0])
            raise NircError("Xylo thresholds must be positive", where=f"{nname}.v_threshold[{k}]",
                            found=f"{thr[k]:g}")  # fmt: skip
        pop = Population(
            name=name, start=start, size=n, alpha_mem=alpha_mem, alpha_syn=alpha_syn,
            threshold=thr, compare=neuron.compare_mode(), reset=neuron.reset_mode(),
            spikes=neuron.spike_mode(), order=neuron.order(), max_spikes=neuron.spike_cap(),
        )  # fmt: skip
        dash_mem = dash_of(nname, "membrane", alpha_mem, integrator, spec, notes,
                           prefer=choices.get((nname, "membrane")))  # fmt: skip
        g_mem = _full(snn.param(neuron, "gain_mem"), n, 1.0)
        g_syn = _full(snn.param(neuron, "gain_syn"), n, 1.0)
        # one synaptic path per source: its dash, and its gain onto the chip's current
        paths = sources[name]
        direct = [p for p in paths if p[5] is None and p[0] != "const"]
        dashes, gains, origins = [], [], []
        direct_dash = direct_gain = None
        if direct:
            if alpha_syn is None:
                direct_dash = np.ones(n, np.int64)
                notes.append(f"{nname}: no synaptic stage (LIF/IF): the chip's synapse decays "
                             "by half each step (dash_syn 1), spreading each input over time")  # fmt: skip
                direct_gain = g_mem.copy()
            else:
                direct_dash = dash_of(nname, "synaptic", alpha_syn, integrator, spec, notes,
                                      minimum=1, prefer=choices.get((nname, "synaptic")))  # fmt: skip
                direct_gain = g_mem * g_syn / _a_chip(direct_dash)
        filter_dash: dict[str, np.ndarray] = {}
        for kind, _src, _d, _w, _b, via in paths:
            if kind == "const":
                dashes.append(None)
                gains.append(None)
                origins.append(None)
                continue
            if via is None:
                dashes.append(direct_dash)
                gains.append(direct_gain)
                origins.append(f"weights into {nname}")
                continue
            f = filter_info[via]
            if via not in filter_dash:
                a_f = f["alpha"] if f["alpha"].size == n else np.full(n, f["alpha"][0])
                filter_dash[via] = dash_of(f["neuron"], "synaptic (LI)", a_f, integrator, spec,
                                           notes, minimum=1)  # fmt: skip
            dashes.append(filter_dash[via])
            # the filter's own gain is already in the path's weight
            gains.append(g_mem / _a_chip(filter_dash[via]))
            origins.append(f"LI {f['neuron']}")
        real = [k for k, d in enumerate(dashes) if d is not None]
        n_slots = 1 if is_out else spec.synapses_per_hidden
        what = "output neuron" if is_out else "hidden neuron"
        slot_of = _slots(nname, [dashes[k] for k in real], [origins[k] for k in real], n_slots,
                         what, spec)  # fmt: skip
        slots: list[np.ndarray | None] = [None] * len(paths)
        for k, s in zip(real, slot_of):
            slots[k] = s
        dash_syn = np.ones(n, np.int64)
        dash_syn_2 = np.zeros(n, np.int64)
        for d, s in zip(dashes, slots):
            if d is not None:
                dash_syn = np.where(s == 0, d, dash_syn)
                dash_syn_2 = np.where(s == 1, d, dash_syn_2)
        used2 = any(s is not None and np.any(s == 1) for s in slots)
        if used2:
            taus = sorted({o for o, s in zip(origins, slots) if s is not None})
            exact.append(f"{nname}: two synaptic time constants ({', '.join(taus)}) on synapses 1 "
                         "and 2 (dash_syn, dash_syn_2)")  # fmt: skip
        bias = _full(snn.param(neuron, "bias_mem"), n, 0.0)
        if name in filter_bias:
            bias = bias + g_mem * filter_bias[name]
            notes.append(f"{nname}: the LI filters' bias becomes the neuron's bias (exact once "
                         "the filters settle)")  # fmt: skip
        if pop.reset != "subtract":
            notes.append(f"{nname}: reset `{pop.reset}` approximated by the chip's reset by "
                         "subtraction")  # fmt: skip
        v_reset = snn.param(neuron, "v_reset")
        if v_reset is not None and np.any(v_reset != 0) and pop.reset != "subtract":
            notes.append(f"{nname}: v_reset != 0 ignored")
        steady = g_mem
        if alpha_syn is not None:
            steady = g_mem * g_syn / np.maximum(1.0 - alpha_syn, 1e-12)
        return pop, {"dash_mem": dash_mem, "dash_syn": dash_syn, "dash_syn_2": dash_syn_2,
                     "gains": gains, "slots": slots, "bias": bias, "steady": steady}  # fmt: skip

    hidden: list[Population] = []
    hp: dict[str, dict] = {}
    start = 0
    for name in hidden_names:
        pop, params = population(name, start, False)
        pop.fed_by_input = name in fed
        hidden.append(pop)
        hp[name] = params
        start += pop.size
    if relays and spec.synapses_per_hidden < 2:
        raise NircError(
            "relay neurons need a second synapse per hidden neuron",
            where="relays",
            expected="a variant with 2 synapses (audio2, audio3)",
            found=f"{spec.title}: {spec.synapses_per_hidden} synapse",
        )

    def path_order(pop: Population, via: str | None) -> str:
        return "same" if via is not None else pop.order  # an LI is read in the same step

    relayed: list[str] = []
    if relays:
        for pop in hidden:
            for kind, src, delayed, _w, _b, via in sources[pop.name]:
                if (kind == "layer" and delayed and path_order(pop, via) == "previous"
                        and src in hp and src not in relayed):  # fmt: skip
                    relayed.append(src)
    relay_of: dict[str, Population] = {}
    relay_list: list[tuple[int, int, int]] = []
    for src in relayed:
        srcpop = next(p for p in hidden if p.name == src)
        n = srcpop.size
        rpop = Population(
            name=f"{src}.relay", start=start, size=n, alpha_mem=np.zeros(n), alpha_syn=None,
            threshold=np.ones(n), compare="ge", reset="subtract", spikes="multi",
            order="same", relay_of=src,
        )  # fmt: skip
        hp[rpop.name] = {"dash_mem": np.zeros(n, np.int64), "dash_syn": np.ones(n, np.int64),
                         "dash_syn_2": np.ones(n, np.int64)}  # fmt: skip
        relay_of[src] = rpop
        relay_list.append((srcpop.start, start, n))
        start += n
    hidden_layers = list(hidden)
    hidden = hidden + [relay_of[s] for s in relayed]
    n_hid = start
    output: list[Population] = []
    op_: dict[str, dict] = {}
    start = 0
    for name in out_layers:
        pop, params = population(name, start, True)
        output.append(pop)
        op_[name] = params
        start += pop.size
    n_outn = start
    hstart = {p.name: p for p in hidden}

    w_in = np.zeros((2, n_in, n_hid))  # [synapse, in, hidden]
    w_rec = np.zeros((2, n_hid, n_hid))
    w_out = np.zeros((n_hid, n_outn))
    bias = np.zeros(n_hid)
    bias_out = np.zeros(n_outn)

    def place(pop: Population, params: dict, bias_vec: np.ndarray, srcs: list,
              is_out: bool) -> None:  # fmt: skip
        sl = slice(pop.start, pop.start + pop.size)
        bias_vec[sl] += params["bias"]
        for (kind, src, delayed, weight, b, via), gain, slot in zip(srcs, params["gains"],
                                                                    params["slots"]):  # fmt: skip
            if b is not None:
                bias_vec[sl] += b * params["steady"]
                notes.append(f"{pop.name}: the weights' bias becomes the neuron's bias "
                             "(exact once the synaptic current settles)")  # fmt: skip
            if kind == "const":
                continue
            w = weight * gain[:, None]  # [out, in], effective
            cols = [np.where(slot == k, 1.0, 0.0)[:, None] * w for k in (0, 1)]
            order = path_order(pop, via)
            if kind == "input":
                off = offsets[src]
                for k in (0, 1):
                    w_in[k, off : off + w.shape[1], sl] += cols[k].T
            else:
                s = hstart[src]
                if s.name == pop.name:
                    pop.recurrent = True
                if is_out:
                    w_out[s.start : s.start + s.size, sl] += w.T
                elif delayed and order == "previous" and src in relay_of:
                    r = relay_of[src]
                    for k in (0, 1):
                        w_rec[k, r.start : r.start + r.size, sl] += cols[k].T
                    exact.append(f"{pop.name}: weights from {src} (recurrent, current of the "
                                 f"previous step) take two steps through relay {r.name}")  # fmt: skip
                else:
                    for k in (0, 1):
                        w_rec[k, s.start : s.start + s.size, sl] += cols[k].T
                    if delayed and order == "previous":
                        notes.append(f"{pop.name}: recurrent weights from {src} reach the "
                                     "membrane one step earlier on the chip than in the float "
                                     "network (current of the previous step)")  # fmt: skip
                    elif not delayed and order == "same":
                        notes.append(f"{pop.name}: weights from {src} arrive one step later on "
                                     "the chip (hidden spikes are delivered the next step)")  # fmt: skip

    for pop in hidden_layers:
        place(pop, hp[pop.name], bias, sources[pop.name], False)
    for pop in output:
        place(pop, op_[pop.name], bias_out, sources[pop.name], True)

    # how many steps each layer's spikes lag the float network's on the chip, along
    # the feed-forward paths: an input reaches the membrane in its own step on the
    # chip (a float neuron reading the current of the previous step lags by one:
    # -1), a hidden layer's spikes one step later (+1 unless the float network
    # also takes a step: the current of the previous step); recurrent edges do not
    # move the alignment
    lags: dict[str, int] = {}

    def lag_of(name: str, stack: tuple[str, ...] = ()) -> int:
        if name in lags:
            return lags[name]
        pop = next(p for p in hidden_layers + output if p.name == name)
        best = None
        for kind, src, delayed, _w, _b, via in sources[name]:
            if delayed or kind == "const":
                continue
            same = via is not None or pop.alpha_syn is None or pop.order == "same"
            if kind == "input":
                d = 0 if same else -1
            elif src in stack:
                continue
            else:
                d = lag_of(src, stack + (name,)) + (1 if same else 0)
            best = d if best is None else max(best, d)
        lags[name] = 0 if best is None else best
        return lags[name]

    output_lag = max([lag_of(p.name) for p in output], default=0)

    for pop in hidden_layers:
        if pop.spikes == "binary":
            notes.append(f"{pop.name}: binary spikes in the float network; hidden Xylo neurons "
                         "may spike several times per step (same total when v stays below "
                         "2 thresholds)")  # fmt: skip
    for pop in output:
        if pop.spikes == "multi":
            notes.append(f"{pop.name}: output neurons spike at most once per step")
    exact.append("subtractive reset, >= / > thresholds, feed-forward latencies "
                 "(outputs shift by whole steps)")  # fmt: skip
    # de-duplicate, keep order
    seen: set[str] = set()
    notes = [n for n in notes if not (n in seen or seen.add(n))]
    exact = [n for n in exact if not (n in seen or seen.add(n))]

    def cat(params: dict, pops: list[Population], key: str, n: int) -> np.ndarray:
        if not pops:
            return np.zeros(n, np.int64)
        return np.concatenate([params[p.name][key] for p in pops]).astype(np.int64)

    def flt(pops: list[Population], fn) -> np.ndarray:
        return np.concatenate([fn(p) for p in pops]) if pops else np.zeros(0)

    net = XyloFloatNetwork(
        dt=dt,
        inputs=inputs,
        outputs=out_ports,
        hidden=hidden,
        output=output,
        w_in=w_in[0],
        w_rec=w_rec[0],
        w_out=w_out,
        bias=bias,
        bias_out=bias_out,
        threshold=flt(hidden, lambda p: p.threshold),
        threshold_out=flt(output, lambda p: p.threshold),
        compare=flt(hidden, lambda p: np.full(p.size, p.compare == "ge")).astype(bool),
        compare_out=flt(output, lambda p: np.full(p.size, p.compare == "ge")).astype(bool),
        dash_mem=cat(hp, hidden, "dash_mem", n_hid),
        dash_syn=cat(hp, hidden, "dash_syn", n_hid),
        dash_mem_out=cat(op_, output, "dash_mem", n_outn),
        dash_syn_out=cat(op_, output, "dash_syn", n_outn),
        notes=notes,
        exact=exact,
        relays=relay_list,
        w_in_2=w_in[1],
        w_rec_2=w_rec[1],
        dash_syn_2=cat(hp, hidden, "dash_syn_2", n_hid),
    )
    net.output_lag = output_lag
    return split_fan_out(net, spec)


def _layer_name(pops: list[Population], neuron: int) -> str:
    for p in pops:
        if p.start <= neuron < p.start + p.size:
            return p.name
    return "?"


FIT_ERROR_GAIN = 4.0  # a two-synapse fit must cut the current kernel's error this much


def two_synapse_fit(alpha: float, dash: int, spec: XyloSpec
                    ) -> tuple[int, int, float, float, float, float] | None:  # fmt: skip
    """The two synapses whose summed currents ``c1 a1**k + c2 a2**k`` (``a =
    1 - 2**-dash``) follow the float synaptic current ``alpha**k`` after an
    input, least squares over ``8 tau`` steps: ``(d1, d2, c1, c2, error,
    error of the one synapse dash)``, errors relative to the kernel's energy;
    None when no pair of neighbouring dashes does :data:`FIT_ERROR_GAIN`
    times better than the one synapse. (The kernel, not the membrane's
    response: a fit of the response would make up for the membrane's
    approximated decay with more current, which a neuron that fires and
    resets does not leak away.)"""
    tau = 1.0 / max(1.0 - alpha, 1e-9)
    n = int(min(512, max(32, np.ceil(8 * tau))))
    k = np.arange(n, dtype=np.float64)
    want = alpha**k
    energy = float(np.sum(want**2)) or 1.0
    single = float(np.sum(((1.0 - 2.0**-dash) ** k - want) ** 2)) / energy
    raw = np.log2(tau)
    lo, hi = max(1, int(np.floor(raw)) - 2), min(spec.dash_max, int(np.ceil(raw)) + 2)
    best = None
    for d1 in range(lo, hi + 1):
        for d2 in range(d1 + 1, hi + 1):
            basis = np.stack([(1.0 - 2.0**-d) ** k for d in (d1, d2)], 1)
            c, *_ = np.linalg.lstsq(basis, want, rcond=None)
            err = float(np.sum((basis @ c - want) ** 2)) / energy
            if best is None or err < best[4] - 1e-15:
                best = (d1, d2, float(c[0]), float(c[1]), err, single)
    if best is None or not best[4] * FIT_ERROR_GAIN < single:
        return None
    return best


def split_synapses(net: XyloFloatNetwork, spec: XyloSpec) -> XyloFloatNetwork | None:
    """The network with each hidden layer whose synaptic decay the chip only
    approximates (one dash) and whose second synapse is free spread over both
    synapses: each input weight onto synapse 1 and 2 in the proportions
    :func:`two_synapse_fit` finds, so that the sum of two bit-shift decays
    stands for the decay that is not one (the synaptic current then follows
    the float neuron's; the membrane's decay and reset stay the chip's).
    None when no layer qualifies (IMU: one synapse)."""
    if spec.synapses_per_hidden < 2:
        return None
    w_in, w_in_2 = net.w_in.copy(), net.w_in_2.copy()
    w_rec, w_rec_2 = net.w_rec.copy(), net.w_rec_2.copy()
    dash_syn, dash_syn_2 = net.dash_syn.copy(), net.dash_syn_2.copy()
    notes, changed = list(net.notes), False
    for p in net.hidden:
        if p.relay_of is not None or p.alias_of is not None or p.alpha_syn is None:
            continue
        sl = slice(p.start, p.start + p.size)
        if np.any(w_in_2[:, sl]) or np.any(w_rec_2[:, sl]):
            continue  # synapse 2 already carries another time constant
        keys = np.stack([p.alpha_syn, net.dash_syn[sl]], 1)
        fitted = []
        for key in np.unique(keys, axis=0):
            alpha, dash = float(key[0]), int(key[1])
            if abs((1.0 - 2.0**-dash) - alpha) <= 1e-6:
                continue  # exact already
            fit = two_synapse_fit(alpha, dash, spec)
            if fit is None:
                continue
            d1, d2, c1, c2, err, single = fit
            cols = p.start + np.flatnonzero(np.all(keys == key, axis=1))
            a_now, a1, a2 = 1.0 - 2.0**-dash, 1.0 - 2.0**-d1, 1.0 - 2.0**-d2
            for w, w2 in ((w_in, w_in_2), (w_rec, w_rec_2)):
                plain = w[:, cols] * a_now  # undo the one synapse's effective-weight gain
                w[:, cols] = c1 * plain / a1
                w2[:, cols] = c2 * plain / a2
            dash_syn[cols], dash_syn_2[cols] = d1, d2
            fitted.append(f"{p.name}: synaptic decay {alpha:.4g} fitted by two synapses, "
                          f"{c1:.3g} x (1 - 2**-{d1})**k + {c2:.3g} x (1 - 2**-{d2})**k "
                          f"(current kernel error {100 * err:.2g} % instead of "
                          f"{100 * single:.2g} %; {cols.size} neurons)")  # fmt: skip
        if fitted:
            changed = True
            marker = f"{p.name}: synaptic decay "
            notes = [n for n in notes if not (n.startswith(marker) and " approximated by " in n)]
            notes += fitted
    if not changed:
        return None
    from dataclasses import replace

    return replace(net, w_in=w_in, w_in_2=w_in_2, w_rec=w_rec, w_rec_2=w_rec_2,
                   dash_syn=dash_syn, dash_syn_2=dash_syn_2, notes=notes)  # fmt: skip


def split_fan_out(net: XyloFloatNetwork, spec: XyloSpec) -> XyloFloatNetwork:
    """Give every hidden neuron with more than ``spec.max_fan_out`` recurrent
    targets a chain of alias neurons that carry the rest.

    Xylo lets each hidden neuron name one alias target: when neuron i spikes n
    times in a step, its alias j counts those n spikes too (cap 31, which i
    cannot exceed anyway), and j's row of ``weights_rec`` delivers them the
    next step, exactly when i's row does. An alias neuron receives nothing (no
    input or recurrent weights, zero bias), so its membrane stays 0 and, with a
    positive threshold (:func:`.quantize.specification` sets the largest), it
    never spikes on its own: its count is exactly its source's. The source
    keeps its first ``max_fan_out`` targets; each alias of its chain takes the
    next ``max_fan_out``.

    xylosim passes an alias count on only to neurons it has not evolved yet in
    this step (it evolves in index order, see :mod:`.simulator`), so a chain
    must climb in index: the aliases of a layer go in a block right after it,
    or after the last layer fed by inputs if that is later (Audio 3 / IMU
    accept input weights only on the first 128 hidden neurons). The aliases
    have no output weights, so they never enter the output window; as the
    fan-out limits of Audio 3 (1024) and IMU (512) exceed their hidden
    populations, only Audio 2 (64) ever needs aliases.

    Exact, except where a synaptic state saturates: then the order in which
    xylosim adds the increments (by source index) matters, and an alias adds
    its source's at its own index. Refused, naming the neuron, when the hidden
    population cannot hold the aliases."""
    n_hid = net.n_hidden
    if n_hid == 0 or n_hid > spec.hidden_neurons:
        return net  # nothing to split, or too large anyway (rules.check_network says so)
    limit = spec.max_fan_out
    # relays: quantize adds source -> relay and relay -> relay weights; they stay put
    special = np.zeros((n_hid, n_hid), bool)
    for src, rel, n in net.relays:
        k = np.arange(n)
        special[src + k, rel + k] = True
        special[rel + k, rel + k] = True
    targets = (net.w_rec != 0) | (net.w_rec_2 != 0) | special
    fan_out = targets.sum(axis=1)
    need = np.maximum(-(-fan_out // limit) - 1, 0)
    total = int(need.sum())
    if total == 0:
        return net
    free = spec.hidden_neurons - n_hid
    if total > free:
        i = int(np.argmax(fan_out))
        raise NircError(
            "fan-out above the chip's limit, and no room for alias neurons",
            where=f"{_layer_name(net.hidden, i)} (hidden neuron {i})",
            expected=f"at most {limit} hidden targets per hidden neuron ({spec.name}), or "
            f"{total} free hidden neurons for the alias copies that carry the rest",
            found=f"{int(fan_out[i])} targets; {free} free hidden neurons "
            f"({n_hid} of {spec.hidden_neurons} used)",
            hint="prune the weights leaving this layer, shrink the layers, or target audio3 "
            "(1024) / imu (512)",
        )
    # 1. aliases appended at the end (indices n_hid..), rows split there
    n_ext = n_hid + total
    w_rec = np.zeros((n_ext, n_ext))
    w_rec_2 = np.zeros((n_ext, n_ext))
    w_rec[:n_hid, :n_hid] = net.w_rec
    w_rec_2[:n_hid, :n_hid] = net.w_rec_2
    aliases: list[list[int]] = [[] for _ in range(n_ext)]
    fed_end = max((p.start + p.size for p in net.hidden if p.fed_by_input), default=0)
    blocks: list[tuple[int, Population, np.ndarray]] = []  # (insert before, layer, ext. indices)
    nxt = n_hid
    for pop in net.hidden:
        sl = slice(pop.start, pop.start + pop.size)
        m = int(need[sl].sum())
        if m == 0:
            continue
        ext = np.arange(nxt, nxt + m)
        blocks.append((max(pop.start + pop.size, fed_end), pop, ext))
        for i in range(pop.start, pop.start + pop.size):
            if need[i] == 0:
                continue
            order = np.flatnonzero(targets[i])
            order = np.concatenate([order[special[i, order]], order[~special[i, order]]])
            prev = i
            for c in range(1, int(need[i]) + 1):
                chunk = order[c * limit : (c + 1) * limit]
                w_rec[nxt, chunk] = w_rec[i, chunk]
                w_rec_2[nxt, chunk] = w_rec_2[i, chunk]
                w_rec[i, chunk] = 0.0
                w_rec_2[i, chunk] = 0.0
                aliases[prev] = [nxt]
                prev = nxt
                nxt += 1
    # 2. the order on the chip: each alias block before the neuron it is inserted at
    perm: list[int] = []
    cursor = 0
    for at, _pop, ext in sorted(blocks, key=lambda b: b[0]):  # stable: layer order at a tie
        perm.extend(range(cursor, at))
        perm.extend(int(e) for e in ext)
        cursor = at
    perm.extend(range(cursor, n_hid))
    perm_a = np.asarray(perm)
    new_of = np.empty(n_ext, np.int64)
    new_of[perm_a] = np.arange(n_ext)

    def hid(v: np.ndarray, fill: float) -> np.ndarray:
        ext = np.full((n_ext,) + v.shape[1:], fill, dtype=v.dtype)
        ext[:n_hid] = v
        return ext[perm_a]

    pops: list[Population] = []
    for p in net.hidden:
        p.start = int(new_of[p.start])
        pops.append(p)
    for _at, pop, ext in blocks:
        m = ext.size
        pops.append(Population(
            name=f"{pop.name}.alias", start=int(new_of[ext[0]]), size=m, alpha_mem=np.zeros(m),
            alpha_syn=None, threshold=np.ones(m), compare="ge", reset="subtract",
            spikes="multi", order="same", alias_of=pop.name,
        ))  # fmt: skip
    pops.sort(key=lambda p: p.start)
    net.hidden = pops
    net.w_in = hid(net.w_in.T, 0.0).T.copy()
    net.w_in_2 = hid(net.w_in_2.T, 0.0).T.copy()
    net.w_out = hid(net.w_out, 0.0)
    net.w_rec = w_rec[np.ix_(perm_a, perm_a)]
    net.w_rec_2 = w_rec_2[np.ix_(perm_a, perm_a)]
    net.bias = hid(net.bias, 0.0)
    net.threshold = hid(net.threshold, 1.0)
    net.compare = hid(net.compare, True)
    # an alias neuron's membrane stays 0: its dashes do not matter (1 avoids dash 0's wrap)
    net.dash_mem = hid(net.dash_mem, 1)
    net.dash_syn = hid(net.dash_syn, 1)
    net.dash_syn_2 = hid(net.dash_syn_2, 0)
    net.relays = [(int(new_of[s]), int(new_of[r]), n) for s, r, n in net.relays]
    net.aliases = [[int(new_of[t]) for t in aliases[old]] for old in perm_a]
    net.exact.append(f"{total} alias neuron(s) carry the fan-out above {limit} of "
                     + ", ".join(f"{pop.name} ({ext.size})" for _at, pop, ext in blocks)
                     + " (same spike counts, same step)")  # fmt: skip
    return net


__all__ = ["Population", "XyloFloatNetwork", "approximated_dashes", "dash_of", "map_network",
           "split_fan_out", "split_synapses", "two_synapse_fit",
           "tau_steps"]  # fmt: skip
