"""From a graph to an executable plan: dt, kernels and a schedule.

The plan is built once per graph and options, then run on any inputs.

Schedule
    The graph is flattened (nested graphs inlined, see :mod:`nirc.topology`),
    nodes that reach no Output and no recorded probe are dropped, and the rest
    is cut into *segments*: the strongly connected components, in a
    topological order of the graph without its feedback edges. A segment
    without a cycle is one node whose input is known for a whole chunk of
    steps once the segments before it have run: a synapse (Affine, Conv...)
    then runs over the chunk in one call, a neuron layer runs its tight loop
    over the chunk. A segment with a cycle (a recurrent layer) is stepped node
    by node, each step, with its inputs from outside the cycle computed for
    the chunk beforehand.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from nirc.diagnostics import NircError, TimeStepUnknown, warn
from nirc.graph import NEURON_TYPES, Graph
from nirc.interpreter.neurons import NEURONS, Neuron
from nirc.interpreter.ops import OPS, Delay, Op
from nirc.shapes import Shape, fmt, implied_input_shape
from nirc.topology import (
    Edge,
    feedback_edges,
    flatten,
    strongly_connected_components,
    topological_order,
)

INTEGRATORS = ("euler", "exact")
RESETS = ("zero", "subtract")


@dataclass
class NodePlan:
    name: str
    type: str
    kernel: Op | Delay | Neuron
    preds: list[str]  # same-step inputs, in edge order (repeated edges repeat)
    fb_preds: list[str]  # feedback inputs: the previous step's value
    in_shape: Shape
    out_shape: Shape


@dataclass
class Segment:
    nodes: list[str]
    cyclic: bool


@dataclass
class Probe:
    key: str  # `node` or `node.state`
    node: str
    state: str | None  # None: the node's output


@dataclass
class Plan:
    graph: Graph  # flat
    dt: float | None
    dt_source: str  # "argument", "metadata", "inferred" or "unused"
    integrator: str
    reset: str
    feedback: set[Edge]
    order: list[str]
    nodes: dict[str, NodePlan]
    segments: list[Segment]
    inputs: dict[str, Shape]
    outputs: dict[str, Shape]
    probes: list[Probe] = field(default_factory=list)

    def synaptic_macs_per_step(self) -> int:
        """Multiply-accumulates of the synapses per sample and step."""
        return sum(int(n.kernel.macs_per_sample) for n in self.nodes.values())


# --- dt -------------------------------------------------------------------


def _scalar(value, where: str) -> float:
    try:
        if isinstance(value, (bytes, str)):
            v = float(value.decode() if isinstance(value, bytes) else value)
        else:
            arr = np.asarray(value)
            if arr.dtype.kind in "SU":
                v = float(arr.reshape(-1)[0])
            else:
                if arr.size != 1:
                    raise ValueError
                v = float(arr.reshape(-1)[0])
    except (ValueError, TypeError):
        raise NircError(
            "dt must be one number (seconds per step)", where=where, found=repr(value)[:80]
        ) from None
    if not math.isfinite(v) or v <= 0:
        raise NircError("dt must be finite and > 0", where=where, found=repr(v))
    return v


def _infinite_limits(node):
    from nirc.profiles import infinite_limits

    return infinite_limits(node)


def _dt_candidates(graph: Graph) -> list[tuple[str, str, np.ndarray]]:
    """(node, fields, tau/r values) for every neuron using the `r == tau/dt` convention
    (an r, or w_in for the synaptic current, that is not all ones)."""
    out: list[tuple[str, str, np.ndarray]] = []
    pairs = {
        "LI": (("tau", "r"),),
        "LIF": (("tau", "r"),),
        "CubaLI": (("tau_mem", "r"), ("tau_syn", "w_in")),
        "CubaLIF": (("tau_mem", "r"), ("tau_syn", "w_in")),
    }
    for name, node in graph.nodes.items():
        for tau_f, gain_f in pairs.get(node.type, ()):
            tau, gain = node.params.get(tau_f), node.params.get(gain_f)
            if not isinstance(tau, np.ndarray) or not isinstance(gain, np.ndarray):
                continue
            gain = gain.astype(np.float64)
            if gain.size == 0 or np.all(gain == 1.0):
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.broadcast_arrays(tau.astype(np.float64) / gain)[0]
            limit = _infinite_limits(node).get(tau_f)
            if limit is not None:  # tau = r = inf (snnTorch's beta = 1): no dt in them
                ratio = ratio[~np.broadcast_to(limit, ratio.shape)]
                if ratio.size == 0:
                    continue
            out.append((name, f"{tau_f}/{gain_f}", ratio))
    return out


def needs_dt(graph: Graph) -> bool:
    """Whether anything depends on dt: delays, and neurons other than the
    infinite-time-constant limits of :func:`nirc.profiles.infinite_limits` (an IF
    with one unit of input per step, whatever dt)."""
    for n in graph.nodes.values():
        if n.type == "Delay":
            return True
        if n.type in NEURON_TYPES:
            limits = _infinite_limits(n)
            fields = {"LIF": ("tau",), "CubaLIF": ("tau_mem", "tau_syn")}.get(n.type)
            if not fields or not all(f in limits and limits[f].all() for f in fields):
                return True
    return False


def resolve_dt(graph: Graph, dt: float | None) -> tuple[float | None, str]:
    """The time step, by the precedence of SEMANTICS.md: the argument, the
    graph's metadata ``dt``, the ``r == tau/dt`` convention (with a warning),
    else an error if anything needs it. Returns (dt, where it came from)."""
    if dt is not None:
        return _scalar(dt, "--dt"), "argument"
    if "dt" in graph.metadata:
        return _scalar(graph.metadata["dt"], "/node/metadata/dt"), "metadata"
    if not needs_dt(graph):
        return None, "unused"
    cands = _dt_candidates(graph)
    if cands:
        ref = float(np.ravel(cands[0][2])[0]) if cands[0][2].size else float("nan")
        consistent = math.isfinite(ref) and ref > 0
        for _, _, ratio in cands:
            consistent = consistent and bool(
                np.all(np.isfinite(ratio)) and np.allclose(ratio, ref, rtol=1e-5, atol=0)
            )
        if consistent:
            pretty = float(f"{ref:.6g}")
            value = pretty if abs(pretty - ref) <= 1e-5 * ref else ref
            names = list(dict.fromkeys(c[0] for c in cands))
            warn(
                f"no dt given: inferred dt = {value:g} s from r == tau/dt in {', '.join(names)} "
                "(the convention of snnTorch-style exporters); pass --dt to override",
                kind="inference",
            )
            return value, "inferred"
        seen = [f"{n}: {f} = {float(np.ravel(r)[0]):.6g}" for n, f, r in cands]
        raise TimeStepUnknown(
            "cannot infer the time step: the neurons disagree on tau/r",
            expected="one dt with r == tau/dt in every neuron, or dt given",
            found="; ".join(seen[:6]),
            **_time_step_terms(graph),
        )
    raise TimeStepUnknown(
        "the graph's neurons need a time step, and none is given",
        expected="dt (seconds per step), or `dt` in the graph's metadata",
        **_time_step_terms(graph),
    )


def _time_step_terms(graph: Graph) -> dict:
    """A missing time step in the Python API's terms, with the framework the
    file most likely came from (see :class:`~nirc.diagnostics.TimeStepUnknown`)."""
    from nirc.profiles import likely_source

    return {"source": "source='{}'", "dt": "dt={}", "likely": likely_source(graph)}


# --- the plan --------------------------------------------------------------


def _parse_probes(graph: Graph, record, states_of) -> list[Probe]:
    if isinstance(record, str):
        record = [r for r in record.split(",") if r.strip()]
    probes: list[Probe] = []
    for raw in record or ():
        key = raw.strip()
        node, _, state = key.rpartition(".")
        if key in graph.nodes:
            if node in graph.nodes and state in states_of(graph.nodes[node].type):
                raise NircError(
                    "ambiguous --record: it names a node and a state of another node",
                    where=f"--record {key}",
                    expected="a name that is either a node or `node.state`",
                    found=f"node `{key}` ({graph.nodes[key].type}) and state `{state}` of "
                    f"`{node}`",
                    hint=f"rename node `{key}` in the file to record `{node}`'s {state}",
                )
            probes.append(Probe(key, key, None))
            continue
        if node in graph.nodes:
            states = states_of(graph.nodes[node].type)
            if state in states:
                probes.append(Probe(key, node, state))
                continue
            raise NircError(
                f"node `{node}` has no state `{state}`",
                where=f"--record {key}",
                expected=f"one of {list(states)}"
                if states
                else f"`{node}` alone (it has no state)",
                found=state,
            )
        from nirc.diagnostics import closest

        # `lif1.v` where `lif1` was a subgraph: the state of a node inside it
        inside = [f"{n}.{state}" for n, nd in graph.nodes.items()
                  if n.startswith(f"{node}.") and state in states_of(nd.type)]  # fmt: skip
        guess = inside[0] if len(inside) == 1 else closest(key, list(graph.nodes))
        raise NircError(
            "--record names no node",
            where=f"--record {key}",
            expected="`node` or `node.state` (e.g. `lif1.v`)",
            found=key,
            hint=f"did you mean `{guess}`?" if guess else None,
        )
    return probes


def _states_of(node_type: str) -> tuple[str, ...]:
    cls = NEURONS.get(node_type)
    return cls.states if cls is not None else ()


def _live_nodes(graph: Graph, keep: set[str]) -> set[str]:
    preds: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for s, t in graph.edges:
        preds[t].append(s)
    live = set(keep)
    stack = list(keep)
    while stack:
        n = stack.pop()
        for p in preds[n]:
            if p not in live:
                live.add(p)
                stack.append(p)
    return live


def compile_plan(
    graph: Graph,
    shapes: dict[str, Shape],
    *,
    dt: float | None = None,
    integrator: str = "euler",
    reset: str = "zero",
    record=(),
) -> Plan:
    """Build the plan for ``graph`` (validated, nested or flat) whose node
    output shapes are ``shapes`` (dotted names, as `nirc.validate.infer_shapes`
    gives them)."""
    if integrator not in INTEGRATORS:
        raise NircError("unknown integrator", expected=" or ".join(INTEGRATORS), found=integrator)
    if reset not in RESETS:
        raise NircError("unknown reset mode", expected=" or ".join(RESETS), found=reset)
    flat = flatten(graph)
    dt_value, dt_source = resolve_dt(flat, dt)
    feedback = feedback_edges(flat)
    probes = _parse_probes(flat, record, _states_of)
    inputs = {n: _shape(shapes, n, flat) for n, v in flat.nodes.items() if v.type == "Input"}
    outputs = {n: _shape(shapes, n, flat) for n, v in flat.nodes.items() if v.type == "Output"}
    live = _live_nodes(flat, set(outputs) | {p.node for p in probes})

    sub = Graph(
        {n: v for n, v in flat.nodes.items() if n in live},
        [(s, t) for s, t in flat.edges if s in live and t in live],
        flat.metadata,
    )
    order = topological_order(sub, feedback)
    pos = {n: i for i, n in enumerate(order)}
    preds: dict[str, list[str]] = {n: [] for n in sub.nodes}
    fb_preds: dict[str, list[str]] = {n: [] for n in sub.nodes}
    for s, t in sub.edges:
        (fb_preds if (s, t) in feedback else preds)[t].append(s)

    nodes: dict[str, NodePlan] = {}
    for name in order:
        node = sub.nodes[name]
        out_shape = _shape(shapes, name, flat)
        sources = preds[name] + fb_preds[name]
        in_shapes = {_shape(shapes, p, flat) for p in sources}
        if len(in_shapes) > 1:
            raise NircError(
                "the inputs summed into this node have different shapes",
                where=name,
                expected="one shape for every incoming edge",
                found=", ".join(f"{p}: {fmt(_shape(shapes, p, flat))}" for p in sources),
            )
        if in_shapes:
            in_shape = in_shapes.pop()
        elif node.type == "Input":
            in_shape = out_shape
        else:
            in_shape = implied_input_shape(node) or out_shape
        kernel = _kernel(node, in_shape, out_shape, dt_value, integrator, reset)
        nodes[name] = NodePlan(
            name, node.type, kernel, preds[name], fb_preds[name], in_shape, out_shape
        )

    segments = _segments(sub, order, pos)
    return Plan(
        flat,
        dt_value,
        dt_source,
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


def _shape(shapes: dict[str, Shape], name: str, flat: Graph) -> Shape:
    s = shapes.get(name)
    if s is None:
        raise NircError(
            "no shape known for this node",
            where=name,
            hint="give its Input a shape, or its parameters (e.g. Conv input_shape)",
        )
    return tuple(int(d) for d in s)


def _kernel(node, in_shape, out_shape, dt, integrator, reset):
    t = node.type
    if t in NEURONS:
        return NEURONS[t](node, out_shape, dt, integrator, reset)
    if t == "Delay":
        return Delay(node, in_shape, out_shape, dt)
    if t in OPS:
        return OPS[t](node, in_shape, out_shape)
    raise NircError(
        f"the interpreter cannot run a {t} node", where=node.name, expected="a NIR primitive"
    )


def _segments(sub: Graph, order: list[str], pos: dict[str, int]) -> list[Segment]:
    comps = strongly_connected_components(sub)
    comp_of: dict[str, int] = {}
    for i, comp in enumerate(comps):
        for n in comp:
            comp_of[n] = i
    self_loop = {s for s, t in sub.edges if s == t}
    succ: list[set[int]] = [set() for _ in comps]
    indeg = [0] * len(comps)
    for s, t in sub.edges:
        a, b = comp_of[s], comp_of[t]
        if a != b and b not in succ[a]:
            succ[a].add(b)
            indeg[b] += 1
    key = [min(pos[n] for n in comp) for comp in comps]
    ready = [(key[i], i) for i in range(len(comps)) if indeg[i] == 0]
    heapq.heapify(ready)
    segments: list[Segment] = []
    while ready:
        _, i = heapq.heappop(ready)
        members = sorted(comps[i], key=pos.__getitem__)
        cyclic = len(members) > 1 or members[0] in self_loop
        segments.append(Segment(members, cyclic))
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                heapq.heappush(ready, (key[j], j))
    return segments
