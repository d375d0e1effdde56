"""Neuron state updates (SEMANTICS.md, "Neurons"), vectorized over neurons and batch.

Each neuron kernel advances its state over a chunk of steps whose input is
already known (:meth:`Neuron.run`, a tight loop of in-place ufuncs), or over
one step inside a recurrent loop (:meth:`Neuron.step`). ``run`` performs the
same float64 operations per step whatever the chunk's length, so a run in
chunks equals a run one step at a time bit for bit (``step`` serves recurrent
loops, which are stepped in every mode).

The update is the one of SEMANTICS.md with its constants folded once, in
float64 (``a = dt / tau``; ``--integrator exact`` uses ``d = exp(-dt/tau)`` and
``1 - d`` in place of ``1 - a`` and ``a``)::

    LIF/LI:        v = d*v + u[t]            u = (a*r)*x + a*v_leak
    IF/I:          v = v + u[t]              u = (dt*r)*x
    CubaLIF/LI:    v = d_mem*v + (g_mem*r*i + g_mem*v_leak)   (i of the previous step)
                   i = d_syn*i + u[t]        u = (g_syn*w_in)*x

then, for spiking neurons, ``z = v > v_threshold`` and the reset (``zero``:
``v = v_reset`` where ``z``; ``subtract``: ``v -= v_threshold`` where ``z``).
The input-side terms ``u`` are computed for the whole chunk at once. Folding
changes rounding only in the last bits against the literal formulas; what is
recorded is the state after the step's update and reset. ``run`` returns
spikes as bool (the engine keeps them so; synapses convert them), ``step``
as float64.
"""

from __future__ import annotations

import numpy as np

from nirc.diagnostics import NircError, warn
from nirc.graph import Graph, Node
from nirc.interpreter import jit
from nirc.interpreter.ops import reuse
from nirc.shapes import Shape

F64 = np.float64


def _param(node: Node, name: str, shape: Shape, default: float | None = None) -> np.ndarray:
    value = node.params.get(name)
    if value is None:
        if default is None:
            raise NircError(f"{node.type} node has no `{name}`", where=node.name)
        return np.full(shape, default, F64)
    arr = np.asarray(value, dtype=F64)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise NircError(
            f"`{name}` does not fit the layer's shape",
            where=f"{node.name}.{name}",
            expected=f"shape {list(shape)}",
            found=f"shape {list(arr.shape)}",
        ) from None


def _compact(a: np.ndarray) -> np.ndarray | float:
    """A uniform array as a Python float (same arithmetic, less memory traffic)."""
    a = np.asarray(a, dtype=F64)
    if a.size and np.all(a == a.flat[0]) and not np.signbit(a.flat[0]):
        return float(a.flat[0])
    return np.ascontiguousarray(a)


def _is(value, const: float) -> bool:
    return isinstance(value, float) and value == const


def _decay(node: Node, tau: np.ndarray, dt: float, integrator: str, field: str):
    """(d, g): state decay and input gain for one time constant."""
    with np.errstate(over="ignore"):
        a = dt / np.asarray(tau, F64)
    if integrator == "exact":
        return np.exp(-a), -np.expm1(-a)
    if not np.all(np.isfinite(a)):
        k = int(np.argmax(~np.isfinite(a).reshape(-1)))
        raise NircError(
            f"time constant too small for forward Euler at dt = {dt:g} s: dt/{field} overflows",
            where=f"{node.name}.{field}",
            expected=f"{field} of at least {dt / 1e300:g} s, or --integrator exact",
            found=f"{np.asarray(tau).reshape(-1)[k]:g} s",
        )
    if np.any(a > 1):
        warn(
            f"dt={dt:g} is larger than {field}={float(np.min(tau)):g}: forward Euler "
            "overshoots (and oscillates beyond 2x)",
            where=f"{node.name}.{field}",
            kind="warning",
        )
    return 1.0 - a, a


def check_finite(node: Node, what: str, value, dt: float) -> None:
    """Refuse a neuron whose parameters are finite but whose discretized
    coefficients are not (``dt*r/tau`` with tau = 1e-300 and r = 1e300): the
    node's values at the first such neuron, rather than NaN states (the
    interpreter) or IR its verifier refuses (the compiler's `discretize`)."""
    a = np.asarray(value, F64)
    bad = ~np.isfinite(a)
    if not bad.any():
        return
    k = int(np.argmax(bad.reshape(-1)))
    at = [f"{name} = {v.reshape(-1)[k % v.size]:.4g}" for name, v in sorted(node.params.items())
          if isinstance(v, np.ndarray) and v.dtype.kind in "fiu" and v.size]  # fmt: skip
    raise NircError(
        f"the neuron's {what} overflows float64 at dt = {dt:g} s",
        where=node.name,
        found=f"{a.reshape(-1)[k]} at neuron {k} ({', '.join(at)})",
        expected="parameters whose products with dt and each other fit a float64",
        hint="check the units of r, v_leak and the time constants (seconds)",
    )


def _needs_dt(node: Node) -> bool:
    from nirc.interpreter.plan import needs_dt

    return needs_dt(Graph({node.name: node}))


def _limits(node: Node, shape: Shape) -> dict[str, np.ndarray]:
    """Elements whose time constant and gain are both inf (snnTorch's beta = 1),
    read as the limit: no decay, one unit of input per step
    (:func:`nirc.profiles.infinite_limits`); warns once per node."""
    from nirc.profiles import infinite_limits, limit_note

    lim = {k: np.broadcast_to(m, shape) for k, m in infinite_limits(node).items()}
    if lim:
        warn(limit_note(node, lim), where=node.name, kind="repair")
    return lim


def _lift(lim: dict[str, np.ndarray], field: str, value, at_limit: float):
    """``value`` with ``at_limit`` where ``field`` is an infinite limit."""
    mask = lim.get(field)
    if mask is None:
        return value
    return np.where(mask, at_limit, value)


_NO_STATES = np.empty((0, 0, 0), F64)


def _jit_ready(v: np.ndarray, w: np.ndarray, z: np.ndarray, rv: np.ndarray | None) -> bool:
    """Whether the compiled loop can take these arrays as they are."""
    arrays = (v, w, z) if rv is None else (v, w, z, rv)
    return (
        all(a.flags.c_contiguous for a in arrays)
        and v.dtype == F64
        and w.dtype == F64
        and (rv is None or rv.dtype == F64)
    )


MASK_MIN = 16384  # from this many neurons on, multiplying by "not spiked" beats a masked copy


def _membrane_loop(
    v: np.ndarray,
    d,
    w: np.ndarray,
    thr,
    reset: str,
    v_reset,
    rv: np.ndarray | None,
    z: np.ndarray | None = None,
) -> np.ndarray:
    """``v = d*v + w[t]``, spike where ``v > thr``, reset; for each step of
    ``w[Tc, ...]``. Returns the spikes as bool ``[Tc, ...]`` (in ``z`` when
    given); fills ``rv``.

    Each step is three or four ufunc calls on preallocated arrays (decay, add,
    compare, reset), with no other work per step. The reset is a masked copy
    (``zero``) or a masked subtraction (``subtract``); on large layers, where
    that is slower, a zero ``v_reset`` multiplies by "not spiked" and
    subtraction subtracts ``z * thr`` instead. For finite values all forms give
    the same numbers (up to the sign of a zero), and the choice depends only on
    the layer's size, the same in every mode."""
    if z is None:
        z = np.empty(w.shape, bool)
    if jit.ENABLED and w.dtype == F64:
        w = np.ascontiguousarray(w)  # one copy beats the per-step ufunc calls
    zf = z
    if (
        v.ndim > 2
        and v.flags.c_contiguous
        and w.flags.c_contiguous
        and (rv is None or rv.flags.c_contiguous)
    ):  # [B, neurons] views: less ufunc overhead per call than many axes
        tc, b = w.shape[0], v.shape[0]
        v, w, zf = v.reshape(b, -1), w.reshape(tc, b, -1), z.reshape(tc, b, -1)
        rv = None if rv is None else rv.reshape(tc, b, -1)
        d, thr, v_reset = (
            a.reshape(-1) if isinstance(a, np.ndarray) else a for a in (d, thr, v_reset)
        )
    decay = not _is(d, 1.0)
    if jit.ENABLED and v.ndim == 2 and w.ndim == 3 and _jit_ready(v, w, zf, rv):
        m = v.shape[1]
        jit.kernels().membrane_loop(
            v,
            w,
            jit.full(d if decay else 1.0, m),
            jit.full(thr, m),
            jit.full(v_reset, m),
            jit.RESET_ZERO if reset == "zero" else jit.RESET_SUBTRACT,
            zf,
            _NO_STATES if rv is None else rv,
            rv is not None,
        )
        return z
    big = v.size >= MASK_MIN
    mul, add, sub, gt, lnot, copyto = (
        np.multiply, np.add, np.subtract, np.greater, np.logical_not, np.copyto
    )  # fmt: skip
    if reset == "zero":
        kind = 0 if big and _is(v_reset, 0.0) else 1
    else:
        kind = 2 if big else 3
    keep = np.empty(v.shape, bool)
    tmp = np.empty(v.shape, F64) if kind == 2 else None
    t = 0
    for wt, zt in zip(w, zf):
        if decay:
            mul(v, d, v)
        add(v, wt, v)
        gt(v, thr, zt)
        if kind == 0:
            lnot(zt, keep)
            mul(v, keep, v)
        elif kind == 1:
            copyto(v, v_reset, where=zt)
        elif kind == 2:
            mul(zt, thr, tmp)
            sub(v, tmp, v)
        else:
            sub(v, thr, v, where=zt)
        if rv is not None:
            rv[t] = v
            t += 1
    return z


def _integrate(v: np.ndarray, d, w: np.ndarray, rec: dict[str, np.ndarray]) -> np.ndarray:
    """Non-spiking neurons over a chunk: ``v = d*v + w[t]`` for each step (no
    multiply where ``d`` is 1); returns the states ``[Tc, ...]``, leaves the last
    in ``v`` and fills ``rec["v"]``."""
    y = np.empty(w.shape, F64)
    decay = not _is(d, 1.0)
    prev = v
    for t in range(w.shape[0]):
        yt = y[t]
        if decay:
            np.multiply(prev, d, yt)
            np.add(yt, w[t], yt)
        else:
            np.add(prev, w[t], yt)
        prev = yt
    v[...] = prev
    if "v" in rec:
        rec["v"][...] = y
    return y


class Neuron:
    """A layer of neurons of one NIR type."""

    states: tuple[str, ...] = ("v",)
    spiking = False
    macs_per_sample = 0
    weighted = False
    coefficients: tuple[tuple[str, str], ...] = ()  # (attribute, what it is): checked finite

    def __init__(self, node: Node, shape: Shape, dt: float | None, integrator: str, reset: str):
        self.name = node.name
        self.type = node.type
        self.shape = tuple(shape)
        if dt is None and not _needs_dt(node):
            dt = 1.0  # infinite-time-constant limits (snnTorch's beta = 1): dt is not used
        if dt is None:
            raise NircError(
                f"{node.type} needs the time step",
                where=node.name,
                hint="pass --dt (seconds per step), or store `dt` in the graph's metadata",
            )
        self.reset_mode = reset
        self._outputs: list = []  # spike arrays handed out, see ops.reuse
        self._setup(node, dt, integrator)
        for attr, what in self.coefficients:
            check_finite(node, what, getattr(self, attr), dt)

    # --- subclass hooks -------------------------------------------------
    def _setup(self, node: Node, dt: float, integrator: str) -> None:
        raise NotImplementedError

    def reset(self, batch: int) -> None:
        self.v = np.zeros((batch,) + self.shape, F64)

    def drive(self, x: np.ndarray) -> np.ndarray:
        """The input term of the update, elementwise (any leading axes)."""
        u = x if _is(self.c, 1.0) else x * self.c
        if not _is(self.k, 0.0):
            u = u + self.k
        return u

    def state(self, name: str) -> np.ndarray:
        return getattr(self, name)

    # --- spiking helpers ------------------------------------------------
    def _setup_spiking(self, node: Node, reset: str) -> None:
        self.spiking = True
        self.thr = _compact(_param(node, "v_threshold", self.shape))
        self.v_reset = _compact(_param(node, "v_reset", self.shape, default=0.0))

    def _reset_where(self, v: np.ndarray, z: np.ndarray) -> None:
        if self.reset_mode == "subtract":
            np.subtract(v, np.multiply(z, self.thr), v)
        elif _is(self.v_reset, 0.0):
            np.multiply(v, np.logical_not(z), v)
        else:
            np.copyto(v, self.v_reset, where=z)


class Membrane(Neuron):
    """I, IF, LI, LIF: one state ``v``."""

    narrow_output = True  # spikes come out of `run` as bool
    coefficients = (("d", "membrane decay"), ("c", "input gain"), ("k", "leak drive"))

    def _setup(self, node: Node, dt: float, integrator: str) -> None:
        r = _param(node, "r", self.shape)
        if node.type in ("I", "IF"):
            self.d = 1.0
            self.c = _compact(dt * r)
            self.k = 0.0
        else:
            lim = _limits(node, self.shape)
            tau = _param(node, "tau", self.shape)
            d, g = _decay(node, _lift(lim, "tau", tau, 1e300), dt, integrator, "tau")
            v_leak = _param(node, "v_leak", self.shape)
            self.d = _compact(_lift(lim, "tau", d, 1.0))
            with np.errstate(invalid="ignore"):  # 0 * inf at the limits, replaced
                self.c = _compact(_lift(lim, "tau", g * r, 1.0))
            self.k = _compact(g * v_leak)
        if node.type in ("IF", "LIF"):
            self._setup_spiking(node, self.reset_mode)

    def run(self, x: np.ndarray, rec: dict[str, np.ndarray]) -> np.ndarray:
        """Advance over a chunk: ``x[Tc, B, *shape] -> output[Tc, B, *shape]``
        (bool spikes, or float64 states); ``rec`` maps state names to arrays of
        the same shape to fill."""
        u = self.drive(x)
        v, d = self.v, self.d
        if not self.spiking:
            return _integrate(v, d, u, rec)
        z = reuse(self._outputs, u.shape, np.bool_)
        return _membrane_loop(v, d, u, self.thr, self.reset_mode, self.v_reset, rec.get("v"), z)

    def step(self, x: np.ndarray, rec: dict[str, np.ndarray]) -> np.ndarray:
        """One step inside a recurrent loop: ``x[B, *shape] -> output[B, *shape]``;
        ``rec`` maps state names to this step's slot."""
        u = self.drive(x)
        v = self.v
        if not _is(self.d, 1.0):
            np.multiply(v, self.d, v)
        np.add(v, u, v)
        if self.spiking:
            z = np.greater(v, self.thr)
            self._reset_where(v, z)
            out = z.astype(F64)
        else:
            out = v.copy()
        if "v" in rec:
            rec["v"][...] = v
        return out


class Cuba(Neuron):
    """CubaLI, CubaLIF: synaptic current ``i`` feeding membrane ``v``."""

    narrow_output = True  # spikes come out of `run` as bool

    states = ("v", "i")
    coefficients = (("d", "membrane decay"), ("ci", "input gain"), ("c", "synaptic input gain"),
                    ("kv", "leak drive"), ("ds", "current decay"))  # fmt: skip

    def _setup(self, node: Node, dt: float, integrator: str) -> None:
        tau_mem = _param(node, "tau_mem", self.shape)
        tau_syn = _param(node, "tau_syn", self.shape)
        r = _param(node, "r", self.shape)
        v_leak = _param(node, "v_leak", self.shape)
        w_in = _param(node, "w_in", self.shape, default=1.0)
        lim = _limits(node, self.shape)
        dm, gm = _decay(node, _lift(lim, "tau_mem", tau_mem, 1e300), dt, integrator, "tau_mem")
        ds, gs = _decay(node, _lift(lim, "tau_syn", tau_syn, 1e300), dt, integrator, "tau_syn")
        self.d = _compact(_lift(lim, "tau_mem", dm, 1.0))
        with np.errstate(invalid="ignore"):  # 0 * inf at the limits, replaced
            self.ci = _compact(_lift(lim, "tau_mem", gm * r, 1.0))  # current -> membrane
            self.c = _compact(_lift(lim, "tau_syn", gs * w_in, 1.0))
        self.kv = _compact(gm * v_leak)
        self.ds = _compact(_lift(lim, "tau_syn", ds, 1.0))
        self.k = 0.0
        if node.type == "CubaLIF":
            self._setup_spiking(node, self.reset_mode)

    def reset(self, batch: int) -> None:
        super().reset(batch)
        self.i = np.zeros((batch,) + self.shape, F64)

    def _membrane_drive(self, i_prev: np.ndarray) -> np.ndarray:
        w = i_prev if _is(self.ci, 1.0) else i_prev * self.ci
        if not _is(self.kv, 0.0):
            w = w + self.kv
        return w

    def run(self, x: np.ndarray, rec: dict[str, np.ndarray]) -> np.ndarray:
        u = self.drive(x)
        tc = u.shape[0]
        # the current never sees the membrane: advance it over the chunk first
        cur = np.empty((tc + 1,) + u.shape[1:], F64)
        cur[0] = self.i
        ds = self.ds
        mul, add = np.multiply, np.add
        for t in range(tc):
            ct = cur[t + 1]
            mul(cur[t], ds, ct)
            add(ct, u[t], ct)
        self.i[...] = cur[tc]
        if "i" in rec:
            rec["i"][...] = cur[1:]
        w = self._membrane_drive(cur[:tc])  # uses the previous step's current
        v, d = self.v, self.d
        if not self.spiking:
            return _integrate(v, d, w, rec)
        z = reuse(self._outputs, w.shape, np.bool_)
        return _membrane_loop(v, d, w, self.thr, self.reset_mode, self.v_reset, rec.get("v"), z)

    def step(self, x: np.ndarray, rec: dict[str, np.ndarray]) -> np.ndarray:
        u = self.drive(x)
        i, v = self.i, self.v
        w = self._membrane_drive(i)  # may be `i` itself: use it before updating i
        np.multiply(v, self.d, v)
        np.add(v, w, v)
        np.multiply(i, self.ds, i)
        np.add(i, u, i)
        if self.spiking:
            z = np.greater(v, self.thr)
            self._reset_where(v, z)
            out = z.astype(F64)
        else:
            out = v.copy()
        if "v" in rec:
            rec["v"][...] = v
        if "i" in rec:
            rec["i"][...] = i
        return out


NEURONS: dict[str, type[Neuron]] = {
    "I": Membrane,
    "IF": Membrane,
    "LI": Membrane,
    "LIF": Membrane,
    "CubaLI": Cuba,
    "CubaLIF": Cuba,
}
