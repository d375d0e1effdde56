"""Source profiles: a NIR file read as the framework that exported it computed it.

Most NIR files that snnTorch, Norse, Sinabs and Rockpool export do not mean,
read plainly (SEMANTICS.md), what the framework simulated when the network
was trained. A *profile* (``--source nir|snntorch|norse|sinabs|rockpool``,
default ``nir``, the plain reading) says what the framework computed, as data:

- per NIR neuron type, and whether the neuron sits on a recurrent cycle, a
  :class:`Flavour`: the ``snn.neuron`` attributes (comparison, spike mode,
  reset flavour for each ``--reset`` choice, current-before-voltage order,
  initial voltage) and how the file's parameters become decay factors and
  gains (the synaptic gain rule, the membrane gain rule);
- the integration rule (forward Euler or the exact decay), the reset choices
  the framework offers (the first is its default), where its time step comes
  from, whether the delay of a recurrent loop sits before the recurrent
  synapse, and the file-level repair its exporter needs.

`discretize{source=...}` (:mod:`nirc.passes.discretize`) applies a profile:
it only changes neuron semantics and the place of feedback delays, never the
graph's nodes, and records the profile on ``snn.graph`` so every later pass,
target and artifact sees it. ``nirc run/opt/compile --source`` and
``nirc.simulate(..., source=...)`` go through it. :func:`detect` says which
profile a file most likely came from, with the evidence; nothing applies a
profile unasked. docs/profiles.md is the user's guide; the facts below were
confirmed against the frameworks' own simulations (tests/frameworks/).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from nirc.diagnostics import NircError, warn
from nirc.graph import NEURON_TYPES, TIME_CONSTANT_FIELDS, Graph, Node

__all__ = [
    "OPTIONS",
    "SOURCES",
    "SourceSpec",
    "infinite_limits",
    "neuron_options",
    "parse_source",
    "Flavour",
    "Profile",
    "PROFILES",
    "get_profile",
    "resolve_options",
    "detect",
    "Candidate",
]

SOURCES = ("nir", "snntorch", "norse", "sinabs", "rockpool")
_PLAIN_RESETS = (("zero", "zero"), ("subtract", "subtract"))


@dataclass(frozen=True)
class Flavour:
    """What a NIR neuron becomes under a profile (see the `snn` dialect's neuron).

    ``resets`` maps each ``--reset`` choice to the ``snn`` reset flavour.
    ``synapse_gain`` says how the input enters the synaptic current:
    ``euler`` (``dt/tau_syn * w_in``, the plain reading), ``jump`` (``w_in``:
    the input jumps into the current, Norse) or ``decayed`` (``exp(-dt/tau_syn)
    * w_in``: added, then decayed with the current, Rockpool).
    ``membrane_gain``: ``euler`` (``g * r`` with the integrator's input factor
    ``g``, the plain reading) or ``rockpool`` (``r * dt / (tau * exp(-dt/tau))``:
    Rockpool writes ``r = tau * exp(-dt/tau) / dt`` for a unit gain) or ``step``
    (an IF's ``r`` per step, not per second: Norse's IAFCell adds its input,
    ``v += x``, whatever dt).
    ``v_init``: ``zero`` or ``v_leak`` (Norse starts its neurons at rest)."""

    compare: str = "gt"
    spikes: str = "binary"
    resets: tuple[tuple[str, str], ...] = _PLAIN_RESETS
    current_order: str = "previous"
    synapse_gain: str = "euler"
    membrane_gain: str = "euler"
    v_init: str = "zero"

    def reset_flavour(self, option: str) -> str:
        return dict(self.resets).get(option, option)


@dataclass(frozen=True)
class Profile:
    """One framework's semantics (see the module docstring)."""

    name: str
    framework: str
    summary: str
    integrator: str | None  # None: the --integrator option (the plain reading)
    resets: tuple[str, ...]  # accepted --reset choices, the framework's default first
    neurons: dict[str, Flavour] = field(default_factory=dict)  # "LIF", "LIF@recurrent", "*"
    default_dt: float | None = None  # when neither --dt nor metadata gives one
    dt_is_unit: bool = False  # the file's time constants assume exactly this dt
    delay_before_synapse: bool = False  # recurrent delay on the spikes, before w_rec
    integrators: tuple[str, ...] = ("euler", "exact")
    options: tuple[str, ...] = ()  # what the file leaves out, stated as NAME:key=value

    def flavour(self, node_type: str, recurrent: bool) -> Flavour:
        if recurrent and f"{node_type}@recurrent" in self.neurons:
            return self.neurons[f"{node_type}@recurrent"]
        return self.neurons.get(node_type, self.neurons.get("*", Flavour()))


_SNNTORCH_DELAYED = (("zero", "zero"), ("subtract", "subtract_undecayed"))
_SNNTORCH_LOST_STEP = (("zero", "zero_refractory"), ("subtract", "subtract_undecayed"))

PROFILES: dict[str, Profile] = {
    "nir": Profile(
        name="nir",
        framework="NIR (the plain reading)",
        summary="SEMANTICS.md as written: strict >, one spike, the --reset option, "
        "the --integrator option, current of the previous step",
        integrator=None,
        resets=("zero", "subtract"),
    ),
    "snntorch": Profile(
        name="snntorch",
        framework="snnTorch 1.0",
        summary="forward Euler at the exporter's dt = 1e-4 (beta = 1 - dt/tau); spike "
        "when mem > thr; the reset of a spike happens in the next step (subtract: not "
        "decayed; zero on RLeaky/Synaptic/RSynaptic: the whole next step is lost); "
        "Synaptic's membrane uses the current of the same step; recurrent bias "
        "added from t = 0",
        integrator="euler",
        integrators=("euler",),
        resets=("subtract", "zero"),
        neurons={
            "LIF": Flavour(resets=_SNNTORCH_DELAYED),  # Leaky
            "LIF@recurrent": Flavour(resets=_SNNTORCH_LOST_STEP),  # RLeaky
            "IF": Flavour(resets=_SNNTORCH_DELAYED),
            "IF@recurrent": Flavour(resets=_SNNTORCH_LOST_STEP),
            "CubaLIF": Flavour(resets=_SNNTORCH_LOST_STEP, current_order="same"),  # (R)Synaptic
            "CubaLI": Flavour(current_order="same"),
        },
        default_dt=1e-4,
        dt_is_unit=True,
        delay_before_synapse=True,
    ),
    "norse": Profile(
        name="norse",
        framework="Norse 1.1",
        summary="forward Euler at the cells' dt (default 1e-3); neurons start at v_leak; "
        "LIFCell/LICell (CubaLIF/CubaLI): the input jumps into the current, which "
        "reaches the membrane in the same step; time constants written 1000x too "
        "small by to_nir's default dt are scaled back",
        integrator="euler",
        integrators=("euler",),
        resets=("zero", "subtract"),
        neurons={
            "*": Flavour(v_init="v_leak"),
            "IF": Flavour(membrane_gain="step"),  # IAFCell: v += x, whatever dt
            "CubaLIF": Flavour(v_init="v_leak", current_order="same", synapse_gain="jump"),
            "CubaLI": Flavour(v_init="v_leak", current_order="same", synapse_gain="jump"),
        },
        default_dt=1e-3,
    ),
    "sinabs": Profile(
        name="sinabs",
        framework="Sinabs 3.1",
        summary="time in steps (dt = 1); LIF decays exactly with input normalization "
        "(v = a*v + (1-a)*I); spike counts floor(v/thr) when v >= thr; reset by "
        "subtracting n*thr",
        integrator="exact",
        integrators=("exact",),
        resets=("subtract", "zero"),
        neurons={"*": Flavour(compare="ge", spikes="multi")},
        default_dt=1.0,
        dt_is_unit=True,
        options=("max_spikes", "max_spikes_out", "min_v_mem"),
    ),
    "rockpool": Profile(
        name="rockpool",
        framework="Rockpool 3.1",
        summary="exact decays; the input is added to the current before it decays and "
        "reaches the membrane in the same step; spike counts floor(v/thr) when v >= "
        "thr; reset by subtracting n*thr",
        integrator="exact",
        integrators=("exact",),
        resets=("subtract",),
        neurons={
            "*": Flavour(
                compare="ge",
                spikes="multi",
                current_order="same",
                synapse_gain="decayed",
                membrane_gain="rockpool",
            )
        },
        default_dt=1e-3,
        options=("max_spikes", "max_spikes_out"),
    ),
}

# What a --source spec may add after the profile's name (``NAME:key=value,...``):
# the facts a framework's file leaves out. The value `none` removes a default.
OPTIONS: dict[str, str] = {
    "max_spikes": "the most spikes a neuron of a hidden layer (one no Output reads) emits per "
    "step (Rockpool's max_spikes_per_dt, Sinabs' MaxSpike)",
    "max_spikes_out": "the same for the layers an Output reads",
    "min_v_mem": "the lowest membrane value, applied after the reset (Sinabs' min_v_mem, set "
    "by sinabs.from_model conversions)",
}
# Rockpool's networks for Xylo (SynNet) cap hidden neurons at 31 spikes per step
# and outputs at 1, as the chip does
XYLO_CAPS = {"max_spikes": 31, "max_spikes_out": 1}


@dataclass(frozen=True)
class SourceSpec:
    """A ``--source`` value: a profile and the options stated with it
    (``rockpool:max_spikes=31,max_spikes_out=1``; see :data:`OPTIONS`)."""

    profile: Profile
    options: tuple[tuple[str, float | None], ...] = ()

    def get(self, key: str, default=None):
        return dict(self.options).get(key, default)

    def has(self, key: str) -> bool:
        return key in dict(self.options)

    @property
    def text(self) -> str:
        """The canonical spelling (what ``snn.graph`` records as ``source``)."""
        if not self.options:
            return self.profile.name
        items = ",".join(f"{k}={_fmt_option(v)}" for k, v in self.options)
        return f"{self.profile.name}:{items}"


def _fmt_option(v) -> str:
    if v is None:
        return "none"
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def parse_source(source: str | None) -> SourceSpec:
    """``NAME[:key=value[,key=value...]]`` -> a :class:`SourceSpec`; a
    NircError naming the option and what the profile takes otherwise."""
    text = "nir" if source is None else str(source).strip()
    name, _, rest = text.partition(":")
    profile = _profile_named(name.strip().lower(), text)
    options: dict[str, float | None] = {}
    # options are separated by commas (or spaces: `nirc opt -p` turns commas into them)
    for item in filter(None, (i.strip() for i in re.split(r"[,\s]+", rest))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if key not in profile.options:
            takes = ", ".join(profile.options) or "no options"
            raise NircError(
                f"--source {profile.name} takes no option `{key}`",
                where=f"--source {text}",
                expected=f"{profile.name}:key=value with key in: {takes}",
                found=item,
                hint="; ".join(f"{k}: {OPTIONS[k]}" for k in profile.options) or None,
            )
        value = value.strip().lower()
        try:
            if not eq:
                raise ValueError
            if value == "none":
                options[key] = None
            elif key.startswith("max_spikes"):
                cap = int(value)
                if cap < 1:
                    raise ValueError
                options[key] = float(cap)
            else:
                number = float(value)
                if not math.isfinite(number):
                    raise ValueError
                options[key] = number
        except ValueError:
            raise NircError(
                f"bad value for `{key}` in --source",
                where=f"--source {text}",
                expected="an integer >= 1, or none" if key.startswith("max_spikes")
                else "a finite number, or none",
                found=item,
            ) from None
    return SourceSpec(profile, tuple(sorted(options.items())))


def _profile_named(name: str, given: str) -> Profile:
    profile = PROFILES.get(name)
    if profile is None:
        from nirc.diagnostics import closest

        near = closest(name, list(PROFILES))
        raise NircError(
            "unknown source profile",
            where="--source",
            expected=" or ".join(SOURCES),
            found=given,
            hint=f"did you mean `{near}`?" if near else None,
        )
    return profile


def get_profile(source: str | None) -> Profile:
    """The profile of a ``--source`` value (options after ``:`` are checked,
    see :func:`parse_source`)."""
    return parse_source(source).profile


def resolve_options(
    source: str | None, integrator: str | None, reset: str | None
) -> tuple[Profile, str, str]:
    """(profile, integrator, reset choice) with the profile's defaults filled in;
    a NircError when an option asks for what the framework does not do."""
    profile = get_profile(source)
    if integrator is None:
        integrator = profile.integrator or "euler"
    if integrator not in profile.integrators:
        if profile.integrator is None:
            raise NircError(
                "unknown integrator", expected=" or ".join(profile.integrators), found=integrator
            )
        raise NircError(
            f"{profile.framework} integrates with `{profile.integrator}`; "
            f"--source {profile.name} does not take --integrator {integrator}",
            expected=f"no --integrator, or --integrator {profile.integrator}",
            found=integrator,
        )
    if reset is None:
        reset = profile.resets[0]
    if reset not in profile.resets:
        if profile.integrator is None:
            raise NircError("unknown reset mode", expected=" or ".join(profile.resets), found=reset)
        raise NircError(
            f"{profile.framework} has no `{reset}` reset",
            expected=f"--reset {' or '.join(profile.resets)} with --source {profile.name}",
            found=reset,
        )
    return profile, integrator, reset


# --------------------------------------------------------------------------------------
# the time step and the file-level repairs
# --------------------------------------------------------------------------------------


def _neurons(graph: Graph) -> list[Node]:
    return [n for n in graph.nodes.values() if n.type in NEURON_TYPES]


def _arr(node: Node, key: str) -> np.ndarray | None:
    v = node.params.get(key)
    return np.asarray(v, dtype=np.float64) if isinstance(v, np.ndarray) else None


def _membrane_tau(node: Node) -> np.ndarray | None:
    return _arr(node, "tau") if node.type in ("LI", "LIF") else _arr(node, "tau_mem")


def rockpool_dt(graph: Graph) -> float | None:
    """The dt of Rockpool's ``r = tau*exp(-dt/tau)/dt``, when every neuron with a
    time constant agrees on it (relative 1e-4); else None.

    With ``u = dt/tau``: ``u*exp(u) = 1/r``, solved by Newton's method."""
    found = []
    for node in _neurons(graph):
        tau, r = _membrane_tau(node), _arr(node, "r")
        if tau is None or r is None or tau.shape != r.shape or not (r > 0).all():
            continue
        if (r == 1).all():  # r = 1 (Norse, Sinabs) would mean dt = 0.567*tau: not Rockpool's
            return None
        keep = np.isfinite(r.reshape(-1)) & np.isfinite(tau.reshape(-1))
        if not keep.any():  # infinite time constants (see infinite_limits): no dt in them
            continue
        c = 1.0 / r.reshape(-1)[keep]
        u = np.log1p(c)
        for _ in range(60):
            eu = np.exp(u)
            u = u - (u * eu - c) / (eu * (1.0 + u))
        found.append(u * tau.reshape(-1)[keep])
    if not found:
        return None
    dts = np.concatenate(found)
    ref = float(np.median(dts))
    if not (math.isfinite(ref) and ref > 0 and np.allclose(dts, ref, rtol=1e-4, atol=0)):
        return None
    pretty = float(f"{ref:.4g}")
    return pretty if abs(pretty - ref) <= 1e-4 * ref else ref


def resolve_dt(profile: Profile, flat: Graph, dt: float | None) -> tuple[float | None, str]:
    """The time step of a profile: --dt, the graph's metadata, then the
    framework's convention (Sinabs: 1 step; snnTorch: the exporter's 1e-4;
    Rockpool: solved from r; Norse: its default 1e-3, with a warning)."""
    from nirc.interpreter.plan import resolve_dt as plain_resolve_dt

    if profile.name == "nir":
        return plain_resolve_dt(flat, dt)
    if dt is not None or "dt" in flat.metadata:
        value, where = plain_resolve_dt(flat, dt)
        if profile.dt_is_unit and value is not None and value != profile.default_dt:
            warn(
                f"{profile.framework}'s time constants in this file assume dt = "
                f"{profile.default_dt:g} s; with dt = {value:g} s the decays differ from what "
                f"{profile.framework} computed",
                kind="warning",
            )
        return value, where
    if profile.name == "rockpool":
        solved = rockpool_dt(flat)
        if solved is not None:
            return solved, "inferred"
        warn(
            "no dt given and r does not follow Rockpool's r = tau*exp(-dt/tau)/dt: "
            f"assuming Rockpool's usual dt = {profile.default_dt:g} s; pass --dt to override",
            kind="inference",
        )
    elif profile.name == "norse":
        warn(
            f"no dt given: assuming Norse's default dt = {profile.default_dt:g} s (a Norse "
            "file does not record it); pass --dt if the cells used another",
            kind="inference",
        )
    return profile.default_dt, "profile"


def repair(profile: Profile, flat: Graph, dt: float) -> Graph:
    """The file-level repair a profile's exporter needs (a new graph; ``flat`` is
    not modified). Norse: ``to_nir(..., dt=1e-3)`` (the default) writes
    ``tau = 1e-3 * true tau``; when every time constant is below dt (no true time
    constant is, for forward Euler), they are scaled back by 1000."""
    if profile.name != "norse":
        return flat
    taus = [
        np.asarray(n.params[k], dtype=np.float64)
        for n in _neurons(flat)
        for k in TIME_CONSTANT_FIELDS
        if isinstance(n.params.get(k), np.ndarray)
    ]
    if not taus or max(float(t.max()) for t in taus if t.size) >= dt:
        return flat
    largest = max(float(t.max()) for t in taus if t.size)
    warn(
        f"every time constant is below dt = {dt:g} s (the largest is {largest:.3g} s): "
        "Norse's to_nir with its default dt = 1e-3 writes tau = 1e-3 x the true time "
        "constant; using tau x 1000 (export with to_nir(..., dt=1.0) to write true "
        "time constants)",
        kind="repair",
    )
    nodes = {}
    for name, node in flat.nodes.items():
        if node.type in NEURON_TYPES:
            params = dict(node.params)
            for k in TIME_CONSTANT_FIELDS:
                if isinstance(params.get(k), np.ndarray):
                    params[k] = np.asarray(params[k], dtype=np.float64) * 1000.0
            node = Node(node.name, node.type, params, node.metadata, node.graph)
        nodes[name] = node
    return Graph(nodes, list(flat.edges), dict(flat.metadata))


def output_layers(flat: Graph) -> set[str]:
    """Spiking neurons an Output reads (directly or through Flatten nodes)."""
    preds: dict[str, list[str]] = {n: [] for n in flat.nodes}
    for src, dst in flat.edges:
        preds[dst].append(src)
    found: set[str] = set()
    todo = [n for n, node in flat.nodes.items() if node.type == "Output"]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        for src in preds[name]:
            if src in seen:
                continue
            seen.add(src)
            kind = flat.nodes[src].type
            if kind in ("IF", "LIF", "CubaLIF"):
                found.add(src)
            elif kind == "Flatten":
                todo.append(src)
    return found


def xylo_time_constants(flat: Graph, dt: float) -> bool:
    """Whether every time constant of every neuron decays by a Xylo bit shift
    per step, ``exp(-dt/tau) = 1 - 2**-dash`` (dash 1..15): the signature of
    Rockpool's networks built for Xylo (SynNet), whose spike caps follow the
    chip's."""
    found = False
    for node in _neurons(flat):
        for key in TIME_CONSTANT_FIELDS:
            tau = _arr(node, key)
            if tau is None or not tau.size:
                continue
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                a = np.exp(-dt / tau)
                dash = np.round(-np.log2(np.clip(1.0 - a, 1e-300, None)))
            ok = (dash >= 1) & (dash <= 15) & np.isclose(a, 1.0 - 2.0**-dash, rtol=0, atol=1e-6)
            if not ok.all():
                return False
            found = True
    return found


def neuron_options(spec: SourceSpec, flat: Graph, dt: float) -> dict[str, dict]:
    """Per spiking neuron node: ``max_spikes`` (a spike cap per step, None:
    none) and ``v_min`` (a lower bound of the membrane, None: none), from the
    options of ``spec`` and the framework's conventions:

    - Rockpool's ``max_spikes_per_dt`` is not in the file. A network whose
      every decay is a Xylo bit shift was built for Xylo (SynNet), which caps
      hidden neurons at 31 spikes per step and outputs at 1: it is read so,
      with a note; any other is read with LIFTorch's default (2**16, no cap).
    - Sinabs' ``min_v_mem`` (which ``sinabs.from_model`` sets) is not in the
      file either: ``sinabs:min_v_mem=-1`` states it.
    Options given in ``spec`` win over the conventions."""
    profile = spec.profile
    caps = {"max_spikes": None, "max_spikes_out": None}
    if profile.name == "rockpool" and xylo_time_constants(flat, dt):
        unstated = [k for k in XYLO_CAPS if not spec.has(k)]
        caps.update(XYLO_CAPS)
        if unstated:
            warn(
                "every time constant is a Xylo bit shift: reading this Rockpool network as "
                "built for Xylo (SynNet), at most 31 spikes per step in hidden layers and 1 in "
                "output layers (Rockpool's max_spikes_per_dt is not in the file; state it with "
                "--source rockpool:max_spikes=N,max_spikes_out=M, `none` for no cap)",
                kind="inference",
            )
    for key in caps:
        if spec.has(key):
            caps[key] = spec.get(key)
    outputs = output_layers(flat)
    out: dict[str, dict] = {}
    for node in _neurons(flat):
        if node.type not in ("IF", "LIF", "CubaLIF"):
            continue
        cap = caps["max_spikes_out" if node.name in outputs else "max_spikes"]
        out[node.name] = {
            "max_spikes": None if cap is None else int(cap),
            "v_min": spec.get("min_v_mem"),
        }
    return out


# --------------------------------------------------------------------------------------
# infinite time constants: the limit an exporter meant
# --------------------------------------------------------------------------------------

# (time constant, the gain that goes with it) per neuron type
_LIMIT_PAIRS = {
    "LI": (("tau", "r"),),
    "LIF": (("tau", "r"),),
    "CubaLI": (("tau_mem", "r"), ("tau_syn", "w_in")),
    "CubaLIF": (("tau_mem", "r"), ("tau_syn", "w_in")),
}


def infinite_limits(node: Node) -> dict[str, np.ndarray]:
    """Where a neuron's time constant and its gain are both +inf, per time
    constant field: a bool mask of the layer's elements.

    snnTorch exports ``beta = 1`` (an IF, the usual neuron for Speck) as
    ``tau = dt/(1 - beta) = inf`` and ``r = tau/dt = inf`` (Synaptic's
    ``alpha = 1``: ``tau_syn = w_in = inf``). The update ``v += dt/tau (v_leak -
    v + r x)`` then has the limit ``r/tau = 1/dt`` with no leak: ``v += x``, an
    IF with one unit of input per step (and ``i += x`` for the current). nirc
    reads these elements as that limit, with a warning. A lone infinity (tau
    without r) has no such meaning and stays an error."""
    out: dict[str, np.ndarray] = {}
    for tau_f, gain_f in _LIMIT_PAIRS.get(node.type, ()):
        tau, gain = node.params.get(tau_f), node.params.get(gain_f)
        if not isinstance(tau, np.ndarray) or tau.dtype.kind != "f" or np.isfinite(tau).all():
            continue
        if not isinstance(gain, np.ndarray) or gain.dtype.kind != "f":
            continue
        try:
            t, g = np.broadcast_arrays(tau, gain)
        except ValueError:
            continue
        mask = np.isposinf(t) & np.isposinf(g)
        if mask.any():
            out[tau_f] = mask
    return out


def finite_except_limits(node: Node, key: str, value: np.ndarray) -> np.ndarray:
    """``isfinite(value)``, with the elements of :func:`infinite_limits` counted
    as finite (for the checks that refuse NaN and inf)."""
    finite = np.isfinite(value)
    limits = infinite_limits(node)
    for tau_f, gain_f in _LIMIT_PAIRS.get(node.type, ()):
        if tau_f in limits and key in (tau_f, gain_f):
            mask = limits[tau_f]
            if mask.shape == finite.shape:
                finite = finite | mask
            elif mask.all():  # a scalar field against a layer of limits
                finite = finite | np.isposinf(value)
    return finite


def limit_note(node: Node, limits: dict[str, np.ndarray]) -> str:
    parts = []
    for tau_f, mask in limits.items():
        gain_f = dict(_LIMIT_PAIRS[node.type])[tau_f]
        count = f"{int(mask.sum())} of {mask.size} neurons" if mask.size > 1 else "the neuron"
        what = "no leak, one unit of input per step (an IF)" if tau_f != "tau_syn" else (
            "the current keeps its value and adds the input (i += x)")
        parts.append(f"{tau_f} = {gain_f} = inf in {count}: read as the limit {gain_f}/{tau_f}"
                     f" = 1/dt, {what}")
    return ("; ".join(parts) + " (snnTorch exports beta = 1 or alpha = 1 so: it divides by "
            "1 - beta)")


def feedback_edges(profile: Profile, flat: Graph) -> set[tuple[str, str]]:
    """Where the one-step delays of recurrent loops go.

    The plain reading delays the back edges of SEMANTICS.md's depth-first
    search. snnTorch evaluates ``W_rec spk[t-1] + b`` inside step t, so the
    recurrent bias is there from t = 0: a back edge leaving a dense synapse fed
    only from inside its loop moves to the synapse's inputs (the spikes)."""
    from nirc.topology import feedback_edges as dfs_feedback
    from nirc.topology import strongly_connected_components

    fb = dfs_feedback(flat)
    if not profile.delay_before_synapse or not fb:
        return fb
    comp_of = {}
    for k, comp in enumerate(strongly_connected_components(flat)):
        for n in comp:
            comp_of[n] = k
    preds: dict[str, list[str]] = {n: [] for n in flat.nodes}
    for s, t in flat.edges:
        preds[t].append(s)
    moved: set[tuple[str, str]] = set()
    for s, t in fb:
        node = flat.nodes[s]
        ps = preds[s]
        if (
            node.type in ("Affine", "Linear")
            and ps
            and all(comp_of[p] == comp_of[s] for p in ps)
            and all(flat.nodes[p].type in NEURON_TYPES for p in ps)
        ):
            moved.update((p, s) for p in ps)
        else:
            moved.add((s, t))
    return moved


def on_cycle(flat: Graph) -> set[str]:
    """Nodes on a recurrent cycle (a strongly connected component of size > 1, or
    a self-loop)."""
    from nirc.topology import strongly_connected_components

    loops = {s for s, t in flat.edges if s == t}
    out: set[str] = set()
    for comp in strongly_connected_components(flat):
        if len(comp) > 1 or comp[0] in loops:
            out.update(comp)
    return out


# --------------------------------------------------------------------------------------
# detection
# --------------------------------------------------------------------------------------


@dataclass
class Candidate:
    profile: str
    score: float
    evidence: list[str]


def _close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-4) -> bool:
    return a.shape == b.shape and a.size > 0 and bool(np.allclose(a, b, rtol=rtol, atol=0))


def _fmt_list(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def detect(graph: Graph) -> list[Candidate]:
    """Which framework most likely exported ``graph``: candidates with a score and
    the evidence, best first (empty: nothing points anywhere; the plain reading).

    Reads the file as written (call it before shape repairs to see exporters'
    batch axes). Never changes the graph; never applies anything."""
    from nirc.topology import flatten

    try:
        flat = flatten(graph)
    except NircError:
        flat = graph
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _detect(flat)


def _detect(flat: Graph) -> list[Candidate]:
    neurons = [n for n in flat.nodes.values() if n.type in NEURON_TYPES]
    names = list(flat.nodes)
    found: dict[str, Candidate] = {p: Candidate(p, 0.0, []) for p in SOURCES if p != "nir"}

    def add(profile: str, weight: float, text: str) -> None:
        found[profile].score += weight
        found[profile].evidence.append(text)

    # -- naming -------------------------------------------------------------------------
    rec = [n for n in names if n.endswith(".lif") and n[: -len("lif")] + "w_rec" in flat.nodes]
    if rec:
        add("snntorch", 3, f"nodes {_fmt_list(rec)} with `.w_rec` siblings: snnTorch's "
            "RLeaky/RSynaptic export naming")  # fmt: skip
    torch_names = [n for n in names if re.fullmatch(r"\d+_[A-Za-z]+Torch", n)]
    if torch_names:
        add("rockpool", 3, f"nodes {_fmt_list(torch_names)}: Rockpool's module naming "
            "(`N_LinearTorch`, `N_LIFTorch`)")  # fmt: skip

    # -- parameter conventions ------------------------------------------------------------
    with_tau = [n for n in neurons if _membrane_tau(n) is not None and _arr(n, "r") is not None]
    if with_tau:
        snn_dt = [n.name for n in with_tau if _close(_arr(n, "r"), _membrane_tau(n) / 1e-4)]
        if len(snn_dt) == len(with_tau):
            add("snntorch", 3, f"r == tau/dt with dt = 1e-4 in {_fmt_list(snn_dt)} "
                "(snnTorch's exporter hard-codes dt = 1e-4)")  # fmt: skip
        cuba = [n for n in with_tau if n.type in ("CubaLI", "CubaLIF")]
        w_in_ok = [n.name for n in cuba
                   if _arr(n, "w_in") is not None and _arr(n, "tau_syn") is not None
                   and _close(np.broadcast_to(_arr(n, "w_in"), _arr(n, "tau_syn").shape),
                              _arr(n, "tau_syn") / 1e-4)]  # fmt: skip
        if cuba and len(w_in_ok) == len(cuba):
            add("snntorch", 2, f"w_in == tau_syn/1e-4 in {_fmt_list(w_in_ok)} (snnTorch's "
                "Synaptic export)")  # fmt: skip
        taus = np.concatenate([
            np.asarray(n.params[k], np.float64).reshape(-1)
            for n in with_tau for k in TIME_CONSTANT_FIELDS
            if isinstance(n.params.get(k), np.ndarray)])  # fmt: skip
        unit_r = all(_close(_arr(n, "r"), np.ones_like(_arr(n, "r")), 1e-9) for n in with_tau)
        rp = rockpool_dt(flat)
        if rp is not None and not snn_dt and not unit_r:
            # one tau for every neuron makes any r "consistent": weaker evidence
            mem = np.concatenate([_membrane_tau(n).reshape(-1) for n in with_tau])
            several = np.unique(mem).size > 1
            add("rockpool", 4 if several else 2, f"r == tau*exp(-dt/tau)/dt with one dt = "
                f"{rp:g} s in every neuron (Rockpool's exporter)"
                + ("" if several else "; every neuron has the same tau, so this is weak"))  # fmt: skip
        if unit_r and taus.size and taus.max() < 1e-4:
            add("norse", 3, f"r = 1 and every time constant below 1e-4 s (at most "
                f"{taus.max():.3g} s): Norse's to_nir default dt = 1e-3 writes 1000x too "
                "small time constants")  # fmt: skip
        elif unit_r and taus.size and taus.min() >= 1.0:
            add("sinabs", 3, f"r = 1 and time constants from {taus.min():g} to {taus.max():g}: "
                "they look like steps (Sinabs counts time in steps)")  # fmt: skip
        elif unit_r:
            add("norse", 1, "r = 1 in every neuron with a time constant (Norse writes r = 1)")
        if any(n.type in ("CubaLI", "CubaLIF") for n in with_tau) and unit_r:
            w1 = all(_arr(n, "w_in") is None or (_arr(n, "w_in") == 1).all()
                     for n in with_tau if n.type in ("CubaLI", "CubaLIF"))  # fmt: skip
            if w1:
                add("norse", 1, "CubaLIF/CubaLI with r = 1 and w_in = 1: Norse's LIFCell/LICell")
        leak = [n.name for n in with_tau
                if _arr(n, "v_leak") is not None and (_arr(n, "v_leak") != 0).any()]  # fmt: skip
        if leak:
            add("norse", 1, f"non-zero v_leak in {_fmt_list(leak)} (snnTorch, Sinabs and "
                "Rockpool write 0)")  # fmt: skip
    ifs = [n for n in neurons if n.type == "IF"]
    if ifs and all(_close(_arr(n, "r"), np.ones_like(_arr(n, "r")), 1e-9) for n in ifs):
        if "dt" not in flat.metadata:
            add("sinabs", 2, f"IF neurons {_fmt_list([n.name for n in ifs])} with r = 1 and "
                "no dt: Sinabs' IAF (time in steps)")  # fmt: skip
    kinds = {n.type for n in flat.nodes.values()}
    if {"Conv2d", "SumPool2d"} <= kinds and "IF" in kinds:
        add("sinabs", 1, "Conv2d, SumPool2d and IF nodes: the shape of a Sinabs CNN")

    # -- shapes as declared ---------------------------------------------------------------
    for n in flat.nodes.values():
        if n.type == "Input":
            shape = [int(d) for d in np.asarray(n.params["shape"]).reshape(-1)]
            if len(shape) >= 2 and shape[0] == 1 and torch_names:
                add("rockpool", 1, f"Input `{n.name}` declared {shape}: Rockpool keeps "
                    "the batch axis")  # fmt: skip

    out = [c for c in found.values() if c.score > 0]
    out.sort(key=lambda c: -c.score)
    return out


def describe_detection(candidates: list[Candidate], limit: int = 2) -> list[str]:
    """The "likely source" lines of `nirc show`."""
    if not candidates:
        return ["likely source: nothing points to a framework: the plain NIR reading applies "
                "(--source nir)"]  # fmt: skip
    best = candidates[0]
    fw = PROFILES[best.profile].framework
    weak = " (weak evidence)" if best.score < 3 else ""
    lines = [f"likely source: {best.profile} ({fw}), score {best.score:g}{weak} (not applied: "
             f"pass --source {best.profile} to simulate and compile it as {fw} computed it)"]  # fmt: skip
    lines += [f"  - {e}" for e in best.evidence]
    for other in candidates[1:limit]:
        lines.append(f"  also possible: {other.profile}, score {other.score:g}: "
                     + "; ".join(other.evidence))  # fmt: skip
    return lines


def likely_source(graph: Graph) -> tuple[str, str, str, bool] | None:
    """The framework ``graph`` most likely came from, as (its ``--source`` name,
    the framework, the first piece of evidence, whether the evidence is weak:
    a score below 3), or None when nothing points to one (or detection
    fails: it informs, and must never break a run)."""
    try:
        candidates = detect(graph)
    except Exception:
        return None
    if not candidates:
        return None
    best = candidates[0]
    return best.profile, PROFILES[best.profile].framework, best.evidence[0], best.score < 3


def hint(graph: Graph) -> str | None:
    """One line for a plain-reading run of a file that clearly comes from a
    framework (score >= 3): which --source would read it as trained. None
    otherwise. Informs only; nothing is applied."""
    likely = likely_source(graph)
    if likely is None or likely[3]:
        return None
    name, fw, evidence, _ = likely
    return (
        f"this file looks exported by {fw} ({evidence}); the plain NIR reading "
        f"used here may differ from what {fw} computed: --source {name} simulates "
        "it as the framework did (`nirc show` gives the evidence)"
    )
