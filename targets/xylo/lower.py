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

The chip's neuron, per step (TARGETS.md): ``I = a_s (I + W x)`` (the input is
added, then the synapse decays by ``a_s = 1 - 2**-dash_syn``); ``V = a_m V + I
+ bias``. A float `snn` neuron ``i = alpha_syn i + g_s x; v = alpha_mem v + g_m
s + b`` (``s`` the current of the previous step, or of this step) is matched
by effective weights ``g_m g_s W / a_s``: then the chip's ``I`` equals the
float current (``current_order = same``) or the float current one step later
(``previous``). What is exact and what is approximate, per layer:

- exact: dashes whose decay ``1 - 2**-dash`` equals ``alpha`` (tau / dt a power
  of two), reset by subtraction, ``gt``/``ge`` (via the integer threshold),
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


@dataclass
class XyloFloatNetwork:
    """The network on the chip's shape, in real units of each neuron's membrane.

    ``w_in`` (Nin, Nhid), ``w_rec`` (Nhid, Nhid), ``w_out`` (Nhid, Nout) are the
    effective weights (already divided by the chip's synaptic decay); ``bias``
    and ``bias_out`` are added to the membrane each step; ``dash_*`` are the
    chip's decay shifts; ``threshold*`` the float thresholds."""

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
            notes: list[str], minimum: int = 0) -> np.ndarray:  # fmt: skip
    """Xylo's ``dash = round(log2(tau / dt))``, checked against the rules
    (tau > dt, 0..15); notes the neurons whose decay it only approximates."""
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
    dash = np.where(leakless, spec.dash_max, np.round(np.where(leakless, 0.0, raw)))
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
    if isinstance(op, snn.LayerOp):
        return "layer", op.node_name.data, False, None, None
    if isinstance(op, snn.DelayOp):
        steps = op.uniform_steps()
        src = op.inputs[0].owner if len(op.inputs) == 1 else None
        if steps == 1 and isinstance(src, snn.LayerOp):
            return "layer", src.node_name.data, True, None, None
        if (steps == 1 and isinstance(src, snn.DenseOp) and len(src.inputs) == 1
                and isinstance(src.inputs[0].owner, snn.LayerOp)):  # fmt: skip
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


def map_network(module, spec: XyloSpec, relays: bool = False) -> XyloFloatNetwork:
    """Place the fused `snn` network of ``module`` on the chip (see the module doc).

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
    relays=True)`` turns them on."""
    from nirc.dialects import snn

    graph = snn.top_graph(module)
    integrator = graph.integrator.data if graph.integrator is not None else "euler"
    dt = graph.dt_value
    inputs: list[tuple[str, tuple[int, ...]]] = []
    layers: list = []
    outputs: list = []
    for op in graph.block.ops:
        if isinstance(op, snn.InputOp):
            inputs.append((op.node_name.data, tuple(int(d) for d in op.declared_shape())))
        elif isinstance(op, snn.LayerOp):
            layers.append(op)
        elif isinstance(op, snn.OutputOp):
            outputs.append(op)
        elif isinstance(op, (snn.DelayOp, snn.DenseOp)):
            pass  # checked where a layer reads them (_resolve)
        elif isinstance(op, snn.NeuronOp):
            raise NircError(
                "a neuron without weights in front (Xylo neurons receive only from weights)",
                where=op.node_name.data,
                expected="a layer (weights -> neuron) as `fuse` builds",
                found="a bare snn.neuron",
            )
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
    by_name = {op.node_name.data: op for op in layers}

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
        if src in out_layers:
            raise NircError("two Outputs read the same layer", where=op.node_name.data, found=src)
        out_layers.append(src)
        shape = tuple(int(d) for d in (op.inputs[0].type.get_shape()))
        out_ports.append((op.node_name.data, shape))

    # sources of every layer: list of (kind, name, delayed, weight [out, in], bias)
    sources: dict[str, list] = {}
    for op in layers:
        lname = op.node_name.data
        neuron = op.neuron()
        block = op.body.blocks[0]
        args = {arg: i for i, arg in enumerate(block.args)}
        srcs = []
        n_out = int(np.prod(neuron.results[0].type.get_shape()))
        for operand in neuron.inputs:
            syn = operand.owner
            if operand in args:  # a block argument: identity weights
                weight, bias = np.eye(n_out), None
                arg_index = args[operand]
            elif isinstance(syn, snn.DenseOp):
                if len(syn.inputs) != 1 or syn.inputs[0] not in args:
                    raise NircError(
                        "Xylo neurons receive only from weights (no weight -> weight)",
                        where=syn.node_name.data,
                        found="weights fed by another synapse",
                    )
                arg_index = args[syn.inputs[0]]
                weight = np.asarray(snn.param(syn, "weight"), np.float64)
                weight = weight.reshape(weight.shape[0], -1)
                b = snn.param(syn, "bias")
                bias = None if b is None else np.asarray(b, np.float64).reshape(-1)
                if snn.int_prop(syn, "shift") is not None or weight.dtype.kind in "iu":
                    raise NircError("the network is already quantized", where=syn.node_name.data,
                                    hint="give Xylo the float network")  # fmt: skip
            else:
                raise NircError(
                    f"{syn.name} is not expressible on Xylo",
                    where=snn.node_name(syn) or syn.name,
                    expected="dense weights (snn.dense)",
                    found=syn.name,
                )
            kind, src, delayed, pre_w, pre_b = _resolve(op.inputs[arg_index])
            if pre_w is not None:
                if pre_b is not None:
                    bias = weight @ pre_b + (0.0 if bias is None else bias)
                weight = weight @ pre_w
            srcs.append((kind, src, delayed, weight, bias))
        sources[lname] = srcs

    consumers: dict[str, list[str]] = {n: [] for n in by_name}
    for lname, srcs in sources.items():
        for kind, src, _d, _w, _b in srcs:
            if kind == "layer":
                consumers[src].append(lname)
    for lname in out_layers:
        srcs = sources[lname]
        for kind, src, delayed, _w, _b in srcs:
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

    def population(name: str, start: int) -> tuple[Population, dict]:
        neuron = by_name[name].neuron()
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
            spikes=neuron.spike_mode(), order=neuron.order(),
        )  # fmt: skip
        dash_mem = dash_of(nname, "membrane", alpha_mem, integrator, spec, notes)
        if alpha_syn is None:
            dash_syn = np.ones(n, np.int64)
            notes.append(f"{nname}: no synaptic stage (LIF/IF): the chip's synapse decays "
                         "by half each step (dash_syn 1), spreading each input over time")  # fmt: skip
        else:
            dash_syn = dash_of(nname, "synaptic", alpha_syn, integrator, spec, notes, minimum=1)
        a_chip = 1.0 - 2.0 ** (-dash_syn.astype(np.float64))
        g_mem = _full(snn.param(neuron, "gain_mem"), n, 1.0)
        g_syn = _full(snn.param(neuron, "gain_syn"), n, 1.0)
        gain = g_mem * (g_syn / a_chip if alpha_syn is not None else 1.0)
        bias = _full(snn.param(neuron, "bias_mem"), n, 0.0)
        if pop.reset != "subtract":
            notes.append(f"{nname}: reset `{pop.reset}` approximated by the chip's reset by "
                         "subtraction")  # fmt: skip
        v_reset = snn.param(neuron, "v_reset")
        if v_reset is not None and np.any(v_reset != 0) and pop.reset != "subtract":
            notes.append(f"{nname}: v_reset != 0 ignored")
        steady = g_mem
        if alpha_syn is not None:
            steady = g_mem * g_syn / np.maximum(1.0 - alpha_syn, 1e-12)
        return pop, {"dash_mem": dash_mem, "dash_syn": dash_syn, "gain": gain, "bias": bias,
                     "steady": steady}  # fmt: skip

    hidden: list[Population] = []
    hp: dict[str, dict] = {}
    start = 0
    for name in hidden_names:
        pop, params = population(name, start)
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
    relayed: list[str] = []
    if relays:
        for pop in hidden:
            if pop.order != "previous":
                continue
            for kind, src, delayed, _w, _b in sources[pop.name]:
                if kind == "layer" and delayed and src in hp and src not in relayed:
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
                         "gain": np.zeros(n), "bias": np.zeros(n), "steady": np.zeros(n)}  # fmt: skip
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
        pop, params = population(name, start)
        output.append(pop)
        op_[name] = params
        start += pop.size
    n_outn = start
    hstart = {p.name: p for p in hidden}

    w_in = np.zeros((n_in, n_hid))
    w_rec = np.zeros((n_hid, n_hid))
    w_out = np.zeros((n_hid, n_outn))
    bias = np.zeros(n_hid)
    bias_out = np.zeros(n_outn)

    def place(pop: Population, params: dict, bias_vec: np.ndarray, target: np.ndarray,
              srcs: list, is_out: bool) -> None:  # fmt: skip
        sl = slice(pop.start, pop.start + pop.size)
        bias_vec[sl] += params["bias"]
        for kind, src, delayed, weight, b in srcs:
            w = weight * params["gain"][:, None]  # [out, in], effective
            if b is not None:
                bias_vec[sl] += b * params["steady"]
                notes.append(f"{pop.name}: the weights' bias becomes the neuron's bias "
                             "(exact once the synaptic current settles)")  # fmt: skip
            if kind == "input":
                off = offsets[src]
                w_in[off : off + w.shape[1], sl] += w.T
            else:
                s = hstart[src]
                if s.name == pop.name:
                    pop.recurrent = True
                if is_out:
                    target[s.start : s.start + s.size, sl] += w.T
                elif delayed and pop.order == "previous" and src in relay_of:
                    r = relay_of[src]
                    w_rec[r.start : r.start + r.size, sl] += w.T
                    exact.append(f"{pop.name}: weights from {src} (recurrent, current of the "
                                 f"previous step) take two steps through relay {r.name}")  # fmt: skip
                else:
                    w_rec[s.start : s.start + s.size, sl] += w.T
                    if delayed and pop.order == "previous":
                        notes.append(f"{pop.name}: recurrent weights from {src} reach the "
                                     "membrane one step earlier on the chip than in the float "
                                     "network (current of the previous step)")  # fmt: skip
                    elif not delayed and pop.order == "same":
                        notes.append(f"{pop.name}: weights from {src} arrive one step later on "
                                     "the chip (hidden spikes are delivered the next step)")  # fmt: skip

    for pop in hidden_layers:
        place(pop, hp[pop.name], bias, w_rec, sources[pop.name], False)
    for pop in output:
        place(pop, op_[pop.name], bias_out, w_out, sources[pop.name], True)

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

    return XyloFloatNetwork(
        dt=dt,
        inputs=inputs,
        outputs=out_ports,
        hidden=hidden,
        output=output,
        w_in=w_in,
        w_rec=w_rec,
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
    )


__all__ = ["Population", "XyloFloatNetwork", "dash_of", "map_network", "tau_steps"]
