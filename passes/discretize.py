"""`discretize{dt=..., integrator=euler|exact, reset=zero|subtract, source=nir|...}`: `nir` -> `snn`.

Turns the continuous-time `nir` graph into the discrete-time `snn` dialect by
the rules of SEMANTICS.md, so that the `snn` interpreter gives bit-identical
results to the `nir` interpreter run with the same options:

- ``dt`` follows the interpreter's precedence (:func:`nirc.interpreter.plan.resolve_dt`):
  the option, the graph's metadata ``dt``, the ``r == tau/dt`` convention
  (with a warning), else an error asking for it. A graph without neurons and
  delays gets dt = 1 (it is never used).
- Nested graphs are inlined (dotted names, :func:`nirc.topology.flatten`);
  graph metadata is kept on ``snn.graph``, node metadata is dropped.
- Ops are placed in the interpreter's evaluation order. Every feedback edge
  (:func:`nirc.topology.feedback_edges`) goes through an ``snn.delay`` of one
  step, named ``<source>.delay``, shared by the feedback edges of one source.
  Fan-in operands come in file edge order, the delayed ones last: the `nir`
  interpreter's summation order.
- Decay factors are computed by the `nir` interpreter's own function, in
  float64 (euler: ``alpha = 1 - dt/tau``, gain ``dt/tau``; exact:
  ``exp(-dt/tau)`` and ``-expm1(-dt/tau)``), then ``gain_mem = g*r``,
  ``bias_mem = g*v_leak``, ``gain_syn = g_syn*w_in``; I/IF have ``alpha_mem = 1``
  and ``gain_mem = dt*r``. Spiking neurons get ``reset`` from the option.
  A parameter that is the same for every neuron becomes a 0-d tensor; a gain
  of exactly 1 and a bias or v_reset of exactly 0 are left out (defaults).
- Affine/Linear -> ``snn.dense``; Conv -> ``snn.conv1d/2d`` with explicit pads;
  SumPool2d -> ``snn.sum_pool2d``, AvgPool2d -> the same with ``divisor``;
  Flatten -> ``snn.reshape``; Scale -> ``snn.scale``; Delay -> ``snn.delay`` of
  ``round(delay/dt)`` steps; Threshold -> a memoryless neuron
  (``alpha_mem = 0``, reset to zero).

Source profiles (``source=snntorch|norse|sinabs|rockpool``; :mod:`nirc.profiles`)
---------------------------------------------------------------------------------
``source`` reads the graph as the framework that exported it computed it. The
profile fixes the integrator (``integrator`` may only repeat it), accepts the
framework's resets (``reset`` defaults to the framework's default: snnTorch
and Sinabs subtract), resolves dt by the framework's convention when neither
the option nor the metadata gives it, applies its exporter's file repair
(Norse's time constants), and gives each neuron the `snn` attributes of its
:class:`~nirc.profiles.Flavour`: ``compare``, ``spikes``, the reset flavour,
``current_order``, ``v_init`` and the gains (``gain_syn = w_in`` for an input
that jumps into the current, ``exp(-dt/tau_syn) * w_in`` for one added before
the decay; Rockpool's ``gain_mem = r*dt/(tau*exp(-dt/tau))``). snnTorch's
recurrent loops get their delay on the spikes before the recurrent synapse
(its bias then counts from t = 0). ``snn.graph`` records ``source``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Block, Operation, Region
from xdsl.passes import ModulePass

from nirc.diagnostics import NircError, TimeStepUnknown
from nirc.shapes import delay_steps

F64 = np.float64


def parse_float_option(value, name: str) -> float | None:
    """xDSL's pipeline syntax hands `1e-4` over as a string."""
    if value is None or isinstance(value, float | int) and not isinstance(value, bool):
        return None if value is None else float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NircError(f"option `{name}` must be a number", found=repr(value)) from None


def compact(a) -> np.ndarray:
    """A float64 parameter: 0-d when every element is bitwise the same."""
    a = np.asarray(a, dtype=F64)
    if a.size and a.ndim and (a.view(np.int64) == a.reshape(-1)[:1].view(np.int64)).all():
        return np.array(a.reshape(-1)[0])
    # (np.ascontiguousarray would make a 0-d parameter of a 0-d layer 1-d)
    return np.ascontiguousarray(a) if a.ndim else a.copy()


def _is_exactly(a: np.ndarray, value: float) -> bool:
    a = np.asarray(a, dtype=F64)
    return bool(np.all(a == value) and not np.any(np.signbit(a) != np.signbit(value)))


def _unique(base: str, taken: set[str]) -> str:
    name, k = base, 2
    while name in taken:
        name = f"{base}{k}"
        k += 1
    taken.add(name)
    return name


def discretize_module(
    module: ModuleOp,
    *,
    dt: float | None,
    integrator: str | None = None,
    reset: str | None = None,
    source: str | None = "nir",
) -> None:
    """Replace the module's top-level ``nir.graph`` by its ``snn.graph``.
    ``integrator``/``reset`` None: the profile's (plain reading: euler, zero)."""
    from nirc import profiles
    from nirc.convert import export_module
    from nirc.dialects import nir, snn
    from nirc.dialects.nir import array_to_attr, metadata_to_attr, value_type
    from nirc.topology import flatten, topological_order
    from nirc.validate import infer_shapes, validate

    try:
        profile, integrator, reset = profiles.resolve_options(source, integrator, reset)
        spec = profiles.parse_source(source)
    except NircError as e:
        raise NircError(
            e.message, where="discretize", expected=e.expected, found=e.found, hint=e.hint
        ) from None
    if any(isinstance(op, snn.GraphOp) for op in module.ops):
        raise NircError("the module is already discretized (it holds an snn.graph)")
    tops = [op for op in module.ops if isinstance(op, nir.GraphOp)]
    graph = export_module(module)
    validate(graph)
    shapes = infer_shapes(graph)
    flat = flatten(graph)
    try:
        dt_value, _ = profiles.resolve_dt(profile, flat, dt)
    except TimeStepUnknown as e:
        raise TimeStepUnknown(
            e.message,
            where="discretize",
            expected="discretize{dt=SECONDS}, or `dt` in the graph's metadata",
            found=e.found,
            source="discretize{{source={}}}",
            dt="discretize{{dt={}}}",
            likely=e.likely,
        ) from None
    if dt_value is None:
        dt_value = 1.0
    flat = profiles.repair(profile, flat, dt_value)
    per_neuron = profiles.neuron_options(spec, flat, dt_value)
    fb = profiles.feedback_edges(profile, flat)
    order = topological_order(flat, fb)
    recurrent = profiles.on_cycle(flat) if fb else set()

    taken = set(flat.nodes)
    delay_of: dict[str, str] = {}
    for s, _t in flat.edges:
        if (s, _t) in fb and s not in delay_of:
            delay_of[s] = _unique(f"{s}.delay", taken)

    ops: dict[str, Operation] = {}
    block = Block()
    for name in order:
        node = flat.nodes[name]
        shape = shapes.get(name)
        if shape is None:
            raise NircError("no shape known for this node", where=name)
        flavour = profile.flavour(node.type, name in recurrent)
        op = _convert(
            node, tuple(shape), dt_value, integrator, reset, flavour, per_neuron.get(name)
        )
        block.add_op(op)
        ops[name] = op
        if name in delay_of:
            d = snn.DelayOp.create(
                properties={
                    "name": StringAttr(delay_of[name]),
                    "steps": array_to_attr(np.array(1, np.int64)),
                },
                result_types=[value_type(shape)],
            )
            d.out.name_hint = _hint(delay_of[name])
            block.add_op(d)
            ops[delay_of[name]] = d
    same: dict[str, list] = {n: [] for n in flat.nodes}
    late: dict[str, list] = {n: [] for n in flat.nodes}
    for s, t in flat.edges:
        if (s, t) in fb:
            late[t].append(ops[delay_of[s]].results[0])
        else:
            same[t].append(ops[s].results[0])
    for name, op in ops.items():
        if name in flat.nodes:
            if flat.nodes[name].type == "Input":
                continue
            op.operands = same[name] + late[name]
        else:  # a feedback delay: reads its source
            src = next(s for s, d in delay_of.items() if d == name)
            op.operands = [ops[src].results[0]]
    props = snn.graph_attrs(dt_value, integrator, reset, spec.text)
    if flat.metadata:
        props["metadata"] = metadata_to_attr(flat.metadata)
    new = snn.GraphOp.create(properties=props, regions=[Region(block)])
    for old in tops:
        old.detach()
        old.erase()
    module.body.blocks[0].add_op(new)


def _hint(name: str) -> str | None:
    import re

    # ASCII only: the IR parser takes no other SSA-name characters
    valid = re.compile(r"[A-Za-z_$.-][\w$.-]*", re.ASCII)
    hint = name if valid.fullmatch(name) else "n" + name
    return hint if valid.fullmatch(hint) and not re.fullmatch(r".*_\d+", hint) else None


def _convert(
    node, shape: tuple[int, ...], dt: float, integrator: str, reset: str, flavour=None,
    options: dict | None = None,
) -> Operation:
    from nirc.dialects import snn
    from nirc.dialects.nir import array_to_attr, value_type
    from nirc.interpreter.neurons import _decay, _param
    from nirc.shapes import conv_params, pool_params

    t = node.type
    p = node.params
    props: dict = {"name": StringAttr(node.name)}
    cls: type[Operation]

    def arr(a) -> object:
        return array_to_attr(np.asarray(a))

    if t == "Input":
        props["shape"] = arr(np.asarray(p["shape"]).astype(np.int64).reshape(-1))
        op = snn.InputOp.create(properties=props, result_types=[value_type(shape)])
        op.out.name_hint = _hint(node.name)
        return op
    if t == "Output":
        return snn.OutputOp.create(properties=props)
    if t in ("Affine", "Linear"):
        w = np.asarray(p["weight"])
        if w.ndim != 2:
            raise NircError(
                f"{t} with a {w.ndim}-D weight has no snn form",
                where=node.name,
                expected="a weight matrix [out, in]",
                found=f"shape {list(w.shape)}",
            )
        props["weight"] = arr(w)
        if t == "Affine":
            props["bias"] = arr(np.broadcast_to(np.asarray(p["bias"]), w.shape[:1]).copy())
        cls = snn.DenseOp
    elif t in ("Conv1d", "Conv2d"):
        cp = conv_params(node)
        w = np.asarray(p["weight"])
        props["weight"] = arr(w)
        props["bias"] = arr(np.broadcast_to(np.asarray(p["bias"]), w.shape[:1]).copy())
        props["stride"] = arr(np.array(cp.stride, np.int64))
        props["padding"] = arr(np.array(cp.pads, np.int64).reshape(len(cp.kernel), 2))
        props["dilation"] = arr(np.array(cp.dilation, np.int64))
        props["groups"] = arr(np.array(cp.groups, np.int64))
        cls = snn.Conv1dOp if t == "Conv1d" else snn.Conv2dOp
    elif t in ("SumPool2d", "AvgPool2d"):
        pp = pool_params(node)
        props["kernel_size"] = arr(np.array(pp.kernel, np.int64))
        props["stride"] = arr(np.array(pp.stride, np.int64))
        props["padding"] = arr(np.array(pp.padding, np.int64))
        if t == "AvgPool2d":
            props["divisor"] = snn.int_attr(pp.kernel[0] * pp.kernel[1])
        cls = snn.SumPool2dOp
    elif t == "Flatten":
        cls = snn.ReshapeOp
    elif t == "Scale":
        props["scale"] = arr(p["scale"])
        cls = snn.ScaleOp
    elif t == "Delay":
        steps = delay_steps(p["delay"], dt, f"{node.name}.delay")
        steps = np.broadcast_to(steps, shape)
        props["steps"] = arr(compact(steps).astype(np.int64))
        cls = snn.DelayOp
    elif t == "Threshold":
        props["alpha_mem"] = arr(np.array(0.0))
        props["v_threshold"] = arr(compact(_param(node, "threshold", shape)))
        props["reset"] = StringAttr("zero")
        cls = snn.NeuronOp
    elif t in ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"):
        _neuron_props(
            node, shape, dt, integrator, reset, props, _decay, _param, flavour, options
        )
        cls = snn.NeuronOp
    else:
        raise NircError(f"discretize cannot convert a {t} node", where=node.name)
    op = cls.create(properties=props, result_types=[value_type(shape)])
    op.results[0].name_hint = _hint(node.name)
    return op


def _neuron_props(
    node, shape, dt, integrator, reset, props, decay, get, flavour=None, options=None
) -> None:
    from nirc.diagnostics import warn
    from nirc.dialects.nir import array_to_attr
    from nirc.profiles import Flavour, infinite_limits, limit_note

    t = node.type
    flavour = flavour or Flavour()
    options = options or {}
    limits = {k: np.broadcast_to(m, shape) for k, m in infinite_limits(node).items()}
    if limits:
        warn(limit_note(node, limits), where=node.name, kind="repair")

    def at_limit(field: str, value, limit_value: float):
        """``value`` with ``limit_value`` where ``field`` is an infinite limit."""
        mask = limits.get(field)
        if mask is None:
            return value
        return np.where(mask, limit_value, np.broadcast_to(np.asarray(value, F64), shape))

    def put(field: str, value, skip: float | None = None) -> None:
        value = np.asarray(value, F64)
        if skip is not None and _is_exactly(value, skip):
            return
        _check_finite(node, field, value, dt)
        props[field] = array_to_attr(compact(np.broadcast_to(value, shape)))

    def membrane_gain(g, r, tau, d):
        with np.errstate(invalid="ignore", divide="ignore"):  # inf limits: replaced below
            if flavour.membrane_gain == "rockpool":  # r = tau*exp(-dt/tau)/dt is a unit gain
                return r * dt / (tau * d)
            return g * r

    def time_constant(field: str):
        """(tau, decay, input factor) of a time constant field, its infinite
        limits read as no decay (the gains are set to 1 there below)."""
        tau = get(node, field, shape)
        d, g = decay(node, at_limit(field, tau, 1e300), dt, integrator, field)
        return tau, at_limit(field, d, 1.0), at_limit(field, g, 0.0)

    r = get(node, "r", shape)
    if t in ("I", "IF"):
        put("alpha_mem", np.array(1.0))
        # Norse's IAFCell adds its input per step (r per step, not per second)
        put("gain_mem", r if flavour.membrane_gain == "step" else dt * r, skip=1.0)
    elif t in ("LI", "LIF"):
        tau, d, g = time_constant("tau")
        put("alpha_mem", d)
        put("gain_mem", at_limit("tau", membrane_gain(g, r, tau, d), 1.0), skip=1.0)
        put("bias_mem", g * get(node, "v_leak", shape), skip=0.0)
    else:
        tau_mem, dm, gm = time_constant("tau_mem")
        tau_syn, ds, gs = time_constant("tau_syn")
        put("alpha_mem", dm)
        put("gain_mem", at_limit("tau_mem", membrane_gain(gm, r, tau_mem, dm), 1.0), skip=1.0)
        put("bias_mem", gm * get(node, "v_leak", shape), skip=0.0)
        put("alpha_syn", ds)
        w_in = get(node, "w_in", shape, default=1.0)
        with np.errstate(invalid="ignore"):  # inf limits: replaced by at_limit
            if flavour.synapse_gain == "jump":  # the input jumps into the current
                gain_syn = w_in
            elif flavour.synapse_gain == "decayed":  # added, then decayed with the current
                gain_syn = ds * w_in
            else:
                gain_syn = gs * w_in
        put("gain_syn", at_limit("tau_syn", gain_syn, 1.0), skip=1.0)
        if flavour.current_order != "previous":
            props["current_order"] = StringAttr(flavour.current_order)
    if flavour.v_init == "v_leak" and "v_leak" in node.params:
        put("v_init", get(node, "v_leak", shape), skip=0.0)
    if t in ("IF", "LIF", "CubaLIF"):
        put("v_threshold", get(node, "v_threshold", shape))
        put("v_reset", get(node, "v_reset", shape, default=0.0), skip=0.0)
        props["reset"] = StringAttr(flavour.reset_flavour(reset))
        if flavour.compare != "gt":
            props["compare"] = StringAttr(flavour.compare)
        cap = options.get("max_spikes")
        if flavour.spikes != "binary" and cap != 1:  # a cap of one spike is binary
            props["spikes"] = StringAttr(flavour.spikes)
            if cap is not None:
                props["max_spikes"] = snn_int(cap)
        if options.get("v_min") is not None:
            put("v_min", np.array(options["v_min"]))


FIELDS = {"alpha_mem": "membrane decay", "gain_mem": "input gain", "bias_mem": "leak drive",
          "alpha_syn": "current decay", "gain_syn": "synaptic input gain"}  # the interpreter's words


def _check_finite(node, field: str, value: np.ndarray, dt: float) -> None:
    from nirc.interpreter.neurons import check_finite

    check_finite(node, FIELDS.get(field, f"`{field}`"), value, dt)


def snn_int(value: int):
    from nirc.dialects.snn import int_attr

    return int_attr(int(value))


@dataclass(frozen=True)
class DiscretizePass(ModulePass):
    """nir -> snn at a time step (see the module docstring)."""

    name = "discretize"

    dt: float | int | str | None = None
    integrator: str | None = None
    reset: str | None = None
    source: str = "nir"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        discretize_module(
            op,
            dt=parse_float_option(self.dt, "dt"),
            integrator=self.integrator,
            reset=self.reset,
            source=self.source,
        )


__all__ = ["DiscretizePass", "discretize_module"]
