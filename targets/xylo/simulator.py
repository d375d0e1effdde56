"""A bit-accurate simulator of the Xylo SNN core: compiled (numba), or vectorized numpy.

It computes what SynSense's xylosim (``xylosim.v2.XyloLayer``, the C++ model
Rockpool's ``XyloSim`` runs) computes, spike for spike and state for state, on a
:class:`~nirc.targets.xylo.specification.XyloSpecification`.

One time step t, in xylosim's order (``sat`` clamps to int16 [-32768, 32767]):

1. **Input.** For each input channel c in index order, with ``n = min(events, 15)``:
   add ``int16(w_in << weight_shift_in)`` n times, one event at a time with
   ``sat``, into each target synapse.
2. **Recurrent and output delivery.** For each hidden neuron i in index order
   with ``n_i > 0`` spikes recorded at step t-1 (at most 31): add
   ``int16(w_rec << weight_shift_rec)`` n_i times with ``sat`` into hidden synapses
   and ``int16(w_out << weight_shift_out)`` n_i times into output synapses. So
   outputs see the hidden layer one step late, and hidden neurons see each other
   one step late.
3. **Hidden neurons**, in index order: each synapse ``I -= decay(I, dash_syn)``;
   ``dv = int16(-decay(V, dash_mem))``; ``dv = sat(dv + I1 + I2)``;
   ``dv = sat(dv + bias)``; ``V = sat(V + dv)``; then, starting from the count n0
   that aliases have already given this neuron in this step, ``while V >=
   threshold and n < 31: n += 1; V -= threshold``. Each alias target of the
   neuron then gets ``min(its count + n, 31)``. ``decay(v, d)`` is ``v >> d``
   (arithmetic), or ``sign(v)`` where that gives 0 for v != 0.
4. **Output neurons**: the same with one synapse and at most 1 spike.

Sampling (what ``run(..., record=True)`` returns for step t): every state *at the
end of step t*: synaptic currents after step 3's decay (so they include step
t's input), membranes after the spike subtraction, hidden spike counts after all
alias additions (exactly the counts delivered in step t+1). This is where
xylosim records (``rec_i_syn``, ``rec_v_mem``, ``rec_recurrent_spikes``, ...).

How it is fast. With numba (the ``fast`` extra), :mod:`.kernels` runs xylosim's
own algorithm, every addition saturating as it happens, in one compiled loop
over the steps of a sample: a step at Xylo's sizes is a few thousand additions,
and the loop does nothing else (7-9x xylosim at 1000 hidden neurons,
benchmarks/xylo_sim.py); the samples of a batch are shared among the idle
cores. Without numba, or with ``jit=False``, the numpy code below gives the
same numbers (the tests compare both with xylosim).

The numpy code. Output neurons are extra columns of the hidden arrays (one
synapse, spike cap 1), so a step is a few dozen numpy calls on vectors of about
2 (Nhid + Nout) synapse states, whatever the activity. Every increment of a step
(``n * w`` of each input channel with events and each hidden neuron that
spiked, read from per-row tables of nonzero weights) is summed by ``bincount``,
positive and negative increments into separate bins. Saturation makes n
additions differ from one addition of n*w, and depends on the order of events;
but a state x whose positive increments P and negative increments N satisfy
``x + P <= 32767`` and ``x + N >= -32768`` cannot saturate in any order, so its
plain sum is exact. Only states at risk are recomputed from their increments in
delivery order (:func:`saturating_sum`): those that can reach one bound by the
closed form ``x_R = S_R - max(0, max_k(S_k - 32767))`` over prefix sums
(mirrored for the lower bound), those that can reach both by replaying the
increments, or for long sequences by composing the clamps pairwise in log2(R)
rounds. All integers are held in float64, which is exact far beyond int16 sums.
"""

from __future__ import annotations

import heapq

import numpy as np

from nirc.diagnostics import NircError

from .specification import XyloSpecification

LO, HI = -32768, 32767
# below this many sample-steps the default does not load numba: loading it and
# the cached kernel takes 0.2-0.3 s (benchmarks/xylo_sim.py), and the numpy code
# costs at least ~20 us a sample-step (25 us to 1.7 ms measured, 64 to 1000
# hidden neurons, one sample or 32)
JIT_MIN_SAMPLE_STEPS = 10_000
_KERNELS = "nirc.targets.xylo.kernels"
MAX_INPUT_EVENTS = 15
MAX_HIDDEN_SPIKES = 31
MAX_OUTPUT_SPIKES = 1
_REPLAY_ROWS = 24  # up to this many ordered increments, replay; beyond, compose


def _wrap16(x: np.ndarray) -> np.ndarray:
    """C's conversion of an int to int16 (two's complement wrap-around)."""
    return ((x + 32768) & 0xFFFF) - 32768


def _decay(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """xylosim's decay ``x >> dash``, or sign(x) where that is 0 and x != 0, on
    integer-valued floats with ``scale = 2.0**-dash``.

    ``floor(x * 2**-d)`` is the arithmetic shift exactly (the product only moves
    the exponent). For x < 0 the shift is never 0 (it floors to <= -1), so only
    positive x can need the sign rule: ``max(x >> d, min(x, 1))``."""
    return np.maximum(np.floor(x * scale), np.minimum(x, 1.0))


def saturating_sum(
    x0: np.ndarray,
    inc: np.ndarray,
    up: np.ndarray | None = None,
    down: np.ndarray | None = None,
) -> np.ndarray:
    """Exact result of adding the rows of ``inc`` (R, C) one after the other to
    ``x0`` (C,), saturating to int16 after each row.

    A row may stand for n repeated events of the same weight: clamping n equal
    increments one by one equals clamping their sum once (the path is monotone).
    ``up`` / ``down`` say which columns can reach the upper / lower bound (x0 plus
    all positive / negative increments beyond it); they are computed if not
    given. A column that reaches neither is a plain sum; one that reaches only
    the upper bound is ``S_R - max(0, max_k(S_k - 32767))`` over its prefix sums
    S_k (mirrored for the lower bound); one that can reach both is replayed row
    by row."""
    x0 = np.asarray(x0, np.float64)
    inc = np.asarray(inc, np.float64)
    if inc.shape[0] == 0:
        return x0.copy()
    if up is None or down is None:
        up = x0 + np.where(inc > 0, inc, 0).sum(axis=0) > HI
        down = x0 + np.where(inc < 0, inc, 0).sum(axis=0) < LO
    out = x0 + inc.sum(axis=0)
    only_up = up & ~down
    if only_up.any():
        prefix = np.cumsum(inc[:, only_up], axis=0)
        prefix += x0[only_up]
        out[only_up] = prefix[-1] - np.maximum(prefix.max(axis=0) - HI, 0)
    only_down = down & ~up
    if only_down.any():
        prefix = np.cumsum(inc[:, only_down], axis=0)
        prefix += x0[only_down]
        out[only_down] = prefix[-1] - np.minimum(prefix.min(axis=0) - LO, 0)
    both = up & down
    if both.any():
        if inc.shape[0] <= _REPLAY_ROWS:
            x = x0[both]
            for row in inc[:, both]:
                x += row
                np.maximum(x, LO, out=x)
                np.minimum(x, HI, out=x)
        else:
            shift, lo, hi = _compose_clamps(inc[:, both])
            x = np.minimum(np.maximum(x0[both] + shift, lo), hi)
        out[both] = x
    return out


def _compose_clamps(inc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compose ``x -> clamp(x + inc[r], LO, HI)`` over the rows r, per column.

    Functions ``x -> clamp(x + d, a, b)`` (a <= b) are closed under composition:
    (d1, a1, b1) then (d2, a2, b2) is (d1 + d2, clamp(a1 + d2, a2, b2),
    clamp(b1 + d2, a2, b2)). Composing neighbours pairwise takes log2(R) rounds
    of vectorized work instead of R sequential steps. Returns (d, a, b)."""
    d = inc
    a = np.full(inc.shape, float(LO))
    b = np.full(inc.shape, float(HI))
    while d.shape[0] > 1:
        n = d.shape[0] - d.shape[0] % 2  # an odd last function waits a round
        d2, a2, b2 = d[1:n:2], a[1:n:2], b[1:n:2]
        na = a[0:n:2] + d2
        np.maximum(na, a2, out=na)
        np.minimum(na, b2, out=na)
        nb = b[0:n:2] + d2
        np.maximum(nb, a2, out=nb)
        np.minimum(nb, b2, out=nb)
        nd = d[0:n:2] + d2
        if n < d.shape[0]:
            nd, na, nb = (np.concatenate([x, y[n:]]) for x, y in ((nd, d), (na, a), (nb, b)))
        d, a, b = nd, na, nb
    return d[0], a[0], b[0]


def _spike_counts(v: np.ndarray, th: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Spike counts of neurons with ``v >= th`` (updating ``v`` in place), for
    any thresholds, including xylosim's behaviour for thresholds <= 0: at 0 a
    neuron spikes ``cap`` times and keeps its membrane; below 0 each spike
    *raises* the membrane, which wraps around at int16 like xylosim's."""
    n = np.zeros(v.size)
    pos = th > 0
    n[pos] = np.minimum(np.floor_divide(v[pos], th[pos]), cap[pos])
    v[pos] -= n[pos] * th[pos]
    n[th == 0] = cap[th == 0]
    neg = (th < 0).nonzero()[0]
    if neg.size:
        vv, tt, cc, nn = v[neg], th[neg], cap[neg], np.zeros(neg.size)
        for _ in range(MAX_HIDDEN_SPIKES):
            go = (vv >= tt) & (nn < cc)
            if not go.any():
                break
            nn += go
            vv = np.where(go, _wrap16((vv - tt).astype(np.int64)), vv)
        v[neg], n[neg] = vv, nn
    return n


def _spike_loop(v: int, th: int, n: int, cap: int) -> tuple[int, int]:
    """xylosim's spike generation for one neuron, including thresholds <= 0."""
    while v >= th and n < cap:
        n += 1
        v = ((v - th + 32768) & 0xFFFF) - 32768
    return n, v


def _csr(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compressed rows of an integer (rows, cols) matrix for the compiled kernel:
    row r's nonzero columns and values are ``cols[ptr[r]:ptr[r + 1]]`` and
    ``vals[...]`` (int64)."""
    rows, cols = np.nonzero(weights)
    ptr = np.zeros(weights.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=weights.shape[0]), out=ptr[1:])
    return ptr, cols.astype(np.int64), weights[rows, cols].astype(np.int64)


def _table(weights: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise delivery table of a (rows, n_cols) weight matrix: for each row,
    the columns and values of its nonzero weights, padded to the longest row.

    Returns (cols, bins, vals). ``cols`` pads with the spare column ``n_cols``.
    ``bins`` is where ``bincount`` sums an entry: its column for a positive
    weight, ``n_cols + column`` for a negative one, ``2 n_cols`` for padding, so
    one ``bincount`` gives the sums of positive and of negative increments."""
    nnz = np.count_nonzero(weights, axis=1)
    width = max(1, int(nnz.max(initial=0)))  # >= 1: bincount of no entries is int64
    rows, cols = np.nonzero(weights)
    slot = np.arange(rows.size) - np.repeat(np.cumsum(nnz) - nnz, nnz)
    vals = weights[rows, cols]
    table_cols = np.full((weights.shape[0], width), n_cols, np.intp)
    table_bins = np.full((weights.shape[0], width), 2 * n_cols, np.intp)
    table_vals = np.zeros((weights.shape[0], width), np.float64)
    table_cols[rows, slot] = cols
    table_bins[rows, slot] = np.where(vals > 0, cols, n_cols + cols)
    table_vals[rows, slot] = vals
    return table_cols, table_bins, table_vals


def compiled_kernels():
    """The compiled kernels (:mod:`.kernels`), or None without numba or with
    ``NIRC_JIT=0``; their machine code is cached where the interpreter caches
    its own (:func:`nirc.interpreter.jit.njit`)."""
    from nirc.interpreter import jit

    return jit.module(_KERNELS)


class XyloSimulator:
    """Runs a :class:`XyloSpecification` bit-accurately (see the module doc).

    State (synaptic currents, membranes and the spike counts waiting for
    delivery) persists across :meth:`run` calls, as on the chip and in xylosim;
    :meth:`reset` zeroes it. Internally every integer is held in a float64
    (exact: no value comes near 2**53), which keeps numpy on its fastest loops.
    """

    def __init__(self, specification: XyloSpecification, *, jit: bool | None = None) -> None:
        """``jit``: run the compiled kernel (:mod:`.kernels`, the ``fast``
        extra's numba) or the numpy code; the same numbers either way. None
        (the default) compiles when numba is installed and either this process
        loaded it already or the run is long enough to repay loading it (see
        :data:`JIT_MIN_SAMPLE_STEPS`); True insists (an error without numba), False
        never does."""
        specification.check_formats()
        self.jit = jit
        self.specification = sp = specification
        n_in, n_hid, n_out = sp.n_in, sp.n_hidden, sp.n_out
        self.n_in, self.n_hidden, self.n_out = n_in, n_hid, n_out

        w_in = np.asarray(sp.weights_in, np.int64)
        w_rec = np.asarray(sp.weights_rec, np.int64)
        # Synapse 2 costs nothing to skip when no weight reaches it: it stays 0.
        two = bool(np.any(w_in[:, :, 1]) or np.any(w_rec[:, :, 1]))
        self._two_synapses = two
        # Units: hidden neurons, then output neurons. Synapse states ("columns"):
        # [synapse 1 of every unit | synapse 2 of every unit], the second half
        # only when synapse 2 is used; output units never get synapse-2 input, so
        # their second column stays 0 and a unit's current is one vector sum.
        n_units = n_hid + n_out
        n_cols = n_units * (2 if two else 1)
        self._n_units, self._n_cols = n_units, n_cols

        def shifted(w: np.ndarray, shift: int) -> np.ndarray:
            return _wrap16(w << shift)  # xylosim passes (w << shift) as int16

        d_in = np.zeros((n_in, n_cols), np.int64)
        d_in[:, :n_hid] = shifted(w_in[:, :, 0], sp.weight_shift_in)
        d_rec = np.zeros((n_hid, n_cols), np.int64)
        d_rec[:, :n_hid] = shifted(w_rec[:, :, 0], sp.weight_shift_rec)
        d_rec[:, n_hid:n_units] = shifted(np.asarray(sp.weights_out, np.int64), sp.weight_shift_out)
        if two:
            d_in[:, n_units : n_units + n_hid] = shifted(w_in[:, :, 1], sp.weight_shift_in)
            d_rec[:, n_units : n_units + n_hid] = shifted(w_rec[:, :, 1], sp.weight_shift_rec)
        # Delivery tables: for each input channel and each hidden neuron, its
        # nonzero weights, padded to the group's longest row (see _table).
        self._in_cols, self._in_bins, self._in_vals = _table(d_in, n_cols)
        self._rec_cols, self._rec_bins, self._rec_vals = _table(d_rec, n_cols)
        # the same as compressed rows for the compiled kernel (targets in column order)
        self._csr = (_csr(d_in), _csr(d_rec))
        # the same as dense matrices, positive and negative parts apart (run_batch)
        self._dense_full = (d_in.astype(np.float64), d_rec.astype(np.float64))
        self._dense = tuple(
            np.ascontiguousarray(np.where(sign * d > 0, d, 0).astype(np.float64))
            for d in (d_in, d_rec) for sign in (1, -1)
        )  # fmt: skip

        def units(hidden, out) -> np.ndarray:
            return np.concatenate([np.asarray(hidden), np.asarray(out)]).astype(np.float64)

        dash_syn = [sp.dash_syn, sp.dash_syn_out]
        if two:
            dash_syn += [sp.dash_syn_2, np.zeros(n_out)]
        self._syn_scale = 2.0 ** -np.concatenate(dash_syn).astype(np.float64)
        dash_mem = units(sp.dash_mem, sp.dash_mem_out)
        self._mem_scale = 2.0**-dash_mem
        self._dash_mem_zero = bool(np.any(dash_mem == 0))
        self._th = units(sp.threshold, sp.threshold_out)
        self._th_nonpos = bool(np.any(self._th <= 0))
        self._bias = units(sp.bias, sp.bias_out)
        self._has_bias = bool(np.any(self._bias))
        self._cap = units(np.full(n_hid, MAX_HIDDEN_SPIKES), np.full(n_out, MAX_OUTPUT_SPIKES))

        # aliases: source -> targets (xylosim walks them in list order)
        self._alias: dict[int, list[int]] = {}
        if sp.aliases is not None:
            self._alias = {i: list(t) for i, t in enumerate(sp.aliases) if t}
        self._alias_sources = np.array(sorted(self._alias), dtype=np.intp)

        # the compiled kernel's parameters: integers, one per column or unit
        alias_ptr = np.zeros(n_units + 1, np.int64)
        np.cumsum([len(self._alias.get(u, ())) for u in range(n_units)], out=alias_ptr[1:])
        alias_tgt = np.array([t for u in sorted(self._alias) for t in self._alias[u]], np.int64)
        self._kernel_params = (
            np.round(-np.log2(self._syn_scale)).astype(np.int64),
            dash_mem.astype(np.int64),
            self._th.astype(np.int64),
            self._bias.astype(np.int64),
            self._cap.astype(np.int64),
            alias_ptr,
            alias_tgt,
        )

        self.reset()

    def reset(self) -> None:
        """Zero every state and drop the spikes waiting for delivery."""
        self._i_syn = np.zeros(self._n_cols)
        self._v = np.zeros(self._n_units)
        self._spikes = np.zeros(self._n_units)  # hidden part: delivered next step

    # -- running -------------------------------------------------------------

    def _check_input(self, input_events: np.ndarray) -> np.ndarray:
        x = np.asarray(input_events)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise NircError(
                "input events have the wrong shape",
                where="input_events",
                expected=f"(T, {self.n_in}): event counts per time step and input channel",
                found=str(x.shape),
            )
        if x.dtype.kind not in "iub":
            if x.dtype.kind != "f" or not np.all(np.isfinite(x) & (x == np.round(x))):
                raise NircError(
                    "input events must be integer event counts",
                    where="input_events",
                    found=f"dtype {x.dtype}",
                )
        if x.size and x.min() < 0:
            t, c = np.argwhere(x < 0)[0]
            raise NircError(
                "negative input event count",
                where=f"input_events[{t}, {c}]",
                expected="a count >= 0 (at most 15 are delivered per step)",
                found=str(x[t, c]),
            )
        return np.minimum(x, MAX_INPUT_EVENTS).astype(np.int64)

    def run(self, input_events: np.ndarray, record: bool = False) -> dict[str, np.ndarray]:
        """Simulate ``input_events`` (T, Nin): the number of events per step and
        input channel (more than 15 count as 15).

        Returns ``{'spikes_out': (T, Nout)}`` and, with ``record``, also
        ``spikes_hidden`` (T, Nhid), ``vmem``, ``isyn``, ``isyn2`` (T, Nhid),
        ``vmem_out`` and ``isyn_out`` (T, Nout), sampled at the end of each step
        (see the module doc). Spike counts are uint8, states int16."""
        inp = self._check_input(input_events)
        n_t = inp.shape[0]
        kernels = self._compiled(n_t)
        if kernels is not None:
            state = (self._i_syn[None], self._v[None], self._spikes[None])
            i_syn, v, spk = (np.ascontiguousarray(x, np.int64) for x in state)
            spikes, v_rec, i_rec = self._evolve(kernels, inp[:, None], i_syn, v, spk, record)
            self._i_syn, self._v, self._spikes = (x[0].astype(np.float64) for x in (i_syn, v, spk))
            return self._results(spikes[:, 0], v_rec[:, 0], i_rec[:, 0], record)
        n_units = self._n_units
        spikes = np.zeros((n_t, n_units), np.uint8)
        v_rec = np.zeros((n_t, n_units) if record else (0, n_units), np.int16)
        i_rec = np.zeros((n_t, self._n_cols) if record else (0, self._n_cols), np.int16)
        for t in range(n_t):
            self._step(inp[t])
            spikes[t] = self._spikes
            if record:
                v_rec[t] = self._v
                i_rec[t] = self._i_syn
        return self._results(spikes, v_rec, i_rec, record)

    def _results(self, spikes, v_rec, i_rec, record: bool) -> dict[str, np.ndarray]:
        """The result dict of :meth:`run` / :meth:`run_batch` from the spike
        counts and states of every unit and column, ``[T, (B,) units]``."""
        n_hid, n_units = self.n_hidden, self._n_units
        out = {"spikes_out": spikes[..., n_hid:]}
        if record:
            out["spikes_hidden"] = spikes[..., :n_hid]
            out["vmem"] = v_rec[..., :n_hid]
            out["isyn"] = i_rec[..., :n_hid]
            if self._two_synapses:
                out["isyn2"] = i_rec[..., n_units : n_units + n_hid]
            else:
                out["isyn2"] = np.zeros(spikes.shape[:-1] + (n_hid,), np.int16)
            out["vmem_out"] = v_rec[..., n_hid:]
            out["isyn_out"] = i_rec[..., n_hid:n_units]
        return out

    # -- the compiled kernel ------------------------------------------------------

    def _compiled(self, sample_steps: int):
        """The compiled kernels' module if this run should use it (see the
        constructor's ``jit``), else None."""
        from nirc.interpreter import jit

        return jit.simulator_kernels(_KERNELS, self.jit, sample_steps, JIT_MIN_SAMPLE_STEPS, "Xylo")

    def _evolve(self, kernels, inp, i_syn, v, spk, record: bool):
        """Run the compiled kernel on ``inp[T, B, Nin]`` from the int64 states
        ``i_syn``, ``v``, ``spk`` ``[B, ...]`` (updated in place); returns the
        spike counts ``[T, B, units]`` and the recorded states (empty unless
        ``record``)."""
        n_t, n_b = inp.shape[:2]
        spikes = np.zeros((n_t, n_b, self._n_units), np.uint8)
        shape = (n_t, n_b) if record else (0, n_b)
        v_rec = np.zeros(shape + (self._n_units,), np.int16)
        i_rec = np.zeros(shape + (self._n_cols,), np.int16)
        args = (
            np.ascontiguousarray(inp, np.int64),
            self._csr[0] + self._csr[1],
            self._kernel_params,
            self.n_hidden,
            self._two_synapses,
            (i_syn, v, spk),
            (spikes, v_rec, i_rec),
            record,
        )
        # samples are independent: idle cores take a share (the kernel releases the GIL)
        from nirc.interpreter.jit import free_cores

        threads = min(free_cores(), n_b)
        if threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            cuts = np.linspace(0, n_b, threads + 1).astype(int)
            with ThreadPoolExecutor(threads) as pool:
                done = [pool.submit(kernels.evolve, *args, int(a), int(b))
                        for a, b in zip(cuts[:-1], cuts[1:])]  # fmt: skip
                for d in done:
                    d.result()
        else:
            kernels.evolve(*args, 0, n_b)
        return spikes, v_rec, i_rec

    def run_batch(self, input_events: np.ndarray, record: bool = False) -> dict[str, np.ndarray]:
        """:meth:`run` for B independent samples at once: ``input_events`` ``(T, B,
        Nin)``; every result gets the batch axis after T (``spikes_out`` ``(T, B,
        Nout)``, ...). The same numbers as B runs from a reset state, each
        step a few dozen numpy calls on ``(B, units)`` arrays: the increments
        of every sample are two matrix products (positive and negative weights
        apart, exact in float64), and only the samples whose synapse states
        could saturate replay their increments in xylosim's order
        (:meth:`_saturate`). Leaves the simulator reset."""
        x = np.asarray(input_events)
        if x.ndim != 3 or x.shape[2] != self.n_in:
            raise NircError(
                "input events have the wrong shape",
                where="input_events",
                expected=f"(T, B, {self.n_in}): event counts per step, sample and channel",
                found=str(x.shape),
            )
        n_t, n_b = x.shape[0], x.shape[1]
        inp = self._check_input(x.reshape(n_t * n_b, self.n_in)).reshape(n_t, n_b, self.n_in)
        kernels = self._compiled(n_t * n_b)
        if kernels is not None:
            self.reset()
            state = [np.zeros((n_b, n)) for n in (self._n_cols, self._n_units, self._n_units)]
            i_syn, v, spk = (x.astype(np.int64) for x in state)
            return self._results(*self._evolve(kernels, inp, i_syn, v, spk, record), record)
        inp = inp.astype(np.float64)
        from nirc.interpreter.jit import blas_single_thread

        with blas_single_thread():  # small products: more threads only wait on each other
            return self._run_batch(inp, record)

    def _run_batch(self, inp: np.ndarray, record: bool) -> dict[str, np.ndarray]:
        n_t, n_b = inp.shape[0], inp.shape[1]
        n_hid, n_units, n_cols = self.n_hidden, self._n_units, self._n_cols
        i_syn = np.zeros((n_b, n_cols))
        v = np.zeros((n_b, n_units))
        spk = np.zeros((n_b, n_units))
        spikes = np.zeros((n_t, n_b, n_units), np.uint8)
        if record:
            v_rec = np.zeros((n_t, n_b, n_units), np.int16)
            i_rec = np.zeros((n_t, n_b, n_cols), np.int16)
        in_pos, in_neg, rec_pos, rec_neg = self._dense
        th = self._th
        cap = self._cap
        for t in range(n_t):
            ev = inp[t]
            hid = spk[:, :n_hid]
            pos = ev @ in_pos + hid @ rec_pos
            neg = ev @ in_neg + hid @ rec_neg
            high = i_syn + pos
            low = i_syn + neg
            new = high + low - i_syn
            up, down = high > HI, low < LO
            risky = up | down
            if risky.any():
                self._batch_saturate(i_syn, new, up, down, risky, ev, hid)
            i_syn = new
            i_syn -= _decay(i_syn, self._syn_scale)
            i_total = i_syn[:, :n_units] + i_syn[:, n_units:] if self._two_synapses else i_syn
            dv = -_decay(v, self._mem_scale)
            if self._dash_mem_zero:
                dv[dv == 32768.0] = LO
            dv += i_total
            np.minimum(np.maximum(dv, LO, out=dv), HI, out=dv)
            if self._has_bias:
                dv += self._bias
                np.minimum(np.maximum(dv, LO, out=dv), HI, out=dv)
            v = v + dv
            np.minimum(np.maximum(v, LO, out=v), HI, out=v)
            v_pre = v.copy() if self._alias else None
            spk = np.zeros((n_b, n_units))
            fire = v >= th
            if fire.any():
                if self._th_nonpos:
                    rows, cols = np.nonzero(fire)
                    vf = v[rows, cols]
                    n = _spike_counts(vf, th[cols], cap[cols])
                    v[rows, cols] = vf
                    spk[rows, cols] = n
                else:
                    n = np.where(fire, np.minimum(np.floor_divide(v, th), cap), 0.0)
                    v -= n * th
                    spk = n
            if self._alias:
                for b in np.flatnonzero(spk[:, self._alias_sources].any(axis=1)):
                    self._apply_aliases(spk[b], v[b], v_pre[b])
            spikes[t] = spk
            if record:
                v_rec[t] = v
                i_rec[t] = i_syn
        self.reset()
        out = {"spikes_out": spikes[:, :, n_hid:]}
        if record:
            out["spikes_hidden"] = spikes[:, :, :n_hid]
            out["vmem"] = v_rec[:, :, :n_hid]
            out["isyn"] = i_rec[:, :, :n_hid]
            if self._two_synapses:
                out["isyn2"] = i_rec[:, :, n_units : n_units + n_hid]
            else:
                out["isyn2"] = np.zeros((n_t, n_b, n_hid), np.int16)
            out["vmem_out"] = v_rec[:, :, n_hid:]
            out["isyn_out"] = i_rec[:, :, n_hid:n_units]
        return out

    def _batch_saturate(self, i_syn, new, up, down, risky, events, hidden) -> None:
        """The synapse states (sample, column) of a batch step that could saturate
        (``risky``), recomputed into ``new`` from their increments in xylosim's
        delivery order (input channels, then hidden neurons, by index; a count
        of n events or spikes is one increment of n w, see :func:`saturating_sum`):
        every such state is a column of one :func:`saturating_sum`, whose rows are
        the channels and neurons active in any of these samples (a zero
        increment leaves a clamped state alone)."""
        bs, cs = np.nonzero(risky)
        rows_of = np.unique(bs)
        ch = np.flatnonzero(events[rows_of].any(axis=0))
        act = np.flatnonzero(hidden[rows_of].any(axis=0))
        d_in, d_rec = self._dense_full
        parts = []
        if ch.size:
            parts.append(events[bs][:, ch].T * d_in[ch][:, cs])
        if act.size:
            parts.append(hidden[bs][:, act].T * d_rec[act][:, cs])
        if not parts:
            return
        inc = np.concatenate(parts) if len(parts) > 1 else parts[0]
        new[bs, cs] = saturating_sum(i_syn[bs, cs], inc, up[bs, cs], down[bs, cs])

    def _step(self, events: np.ndarray) -> None:
        n_hid, n_cols, n_units = self.n_hidden, self._n_cols, self._n_units
        channels = events.nonzero()[0]
        active = (self._spikes[:n_hid] > 0).nonzero()[0]

        # -- 1 + 2: deliver input events and last step's hidden spikes -------------
        # One bincount sums every increment of the step, positive and negative
        # ones into separate bins (rows repeat n times: n * w is exact).
        i_syn = self._i_syn
        in_vals = rec_vals = None
        n_bins = 2 * n_cols + 1
        if active.size:
            rec_vals = self._rec_vals[active]
            counts = self._spikes[active]
            if counts.max() > 1:
                rec_vals = rec_vals * counts[:, None]
            sums = np.bincount(self._rec_bins[active].ravel(), rec_vals.ravel(), minlength=n_bins)
            if channels.size:
                in_vals = self._in_vals[channels] * events[channels, None]
                sums += np.bincount(
                    self._in_bins[channels].ravel(), in_vals.ravel(), minlength=n_bins
                )
        elif channels.size:
            in_vals = self._in_vals[channels] * events[channels, None]
            sums = np.bincount(self._in_bins[channels].ravel(), in_vals.ravel(), minlength=n_bins)
        if channels.size or active.size:
            high = i_syn + sums[:n_cols]  # x + all positive increments
            low = i_syn + sums[n_cols : 2 * n_cols]  # x + all negative ones
        else:
            high = low = i_syn
        # Neither bound reachable in any order: the plain sum is exact.
        new = high + low - i_syn
        if high.max() > HI or low.min() < LO:
            up, down = high > HI, low < LO
            cols = (up | down).nonzero()[0]
            new[cols] = self._saturate(
                cols, up[cols], down[cols], channels, in_vals, active, rec_vals
            )
        i_syn = new

        # -- 3 + 4: neurons (hidden and output together) ---------------------------
        i_syn -= _decay(i_syn, self._syn_scale)
        i_total = i_syn[:n_units] + i_syn[n_units:] if self._two_synapses else i_syn
        v = self._v
        dv = -_decay(v, self._mem_scale)
        if self._dash_mem_zero:
            dv[dv == 32768.0] = LO  # -(-32768) does not fit int16: xylosim wraps it
        dv += i_total
        np.minimum(np.maximum(dv, LO, out=dv), HI, out=dv)
        if self._has_bias:
            dv += self._bias
            np.minimum(np.maximum(dv, LO, out=dv), HI, out=dv)
        v = v + dv
        np.minimum(np.maximum(v, LO, out=v), HI, out=v)

        th = self._th
        spikes = np.zeros(n_units)
        fire = (v >= th).nonzero()[0]
        v_pre = v.copy() if self._alias else None
        if fire.size:
            vf, tf, cap = v[fire], th[fire], self._cap[fire]
            if self._th_nonpos:
                n = _spike_counts(vf, tf, cap)
            else:
                n = np.minimum(np.floor_divide(vf, tf), cap)
                vf -= n * tf
            v[fire] = vf
            spikes[fire] = n
        if self._alias:
            self._apply_aliases(spikes, v, v_pre)
        self._i_syn, self._v, self._spikes = i_syn, v, spikes

    def _saturate(
        self,
        cols: np.ndarray,
        up: np.ndarray,
        down: np.ndarray,
        channels: np.ndarray,
        in_vals: np.ndarray | None,
        active: np.ndarray,
        rec_vals: np.ndarray | None,
        state: np.ndarray | None = None,
    ) -> np.ndarray:
        """Exact new values of the synapse states ``cols`` (at risk of saturating,
        see ``up``/``down``) from their nonzero increments in xylosim's delivery
        order: input channels, then hidden neurons, by index.

        Each column's increments are packed into a matrix padded with zeros
        (adding 0 never changes a clamped state). Columns are grouped by the
        power of two of their length so that a few long columns (say, an output
        neuron fed by many hidden ones) do not pad all the others."""
        where = np.full(self._n_cols + 1, -1, np.intp)  # the spare column maps to -1
        where[cols] = np.arange(cols.size)
        col_parts, val_parts = [], []
        for table, rows, vals in (
            (self._in_cols, channels, in_vals),
            (self._rec_cols, active, rec_vals),
        ):
            if vals is None:
                continue
            pos = where[table[rows]].ravel()  # row-major: channel / neuron order
            keep = pos >= 0
            col_parts.append(pos[keep])
            val_parts.append(vals.ravel()[keep])
        x0 = (self._i_syn if state is None else state)[cols]
        if not col_parts:
            return x0.copy()
        col = np.concatenate(col_parts)
        val = np.concatenate(val_parts)
        if cols.size <= 0xFFFF:
            col = col.astype(np.uint16)  # numpy's stable sort is a radix sort for 16 bits
        order = np.argsort(col, kind="stable")  # keeps delivery order within a column
        col, val = col[order].astype(np.intp), val[order]
        per_col = np.bincount(col, minlength=cols.size)
        rank = np.arange(col.size) - (np.cumsum(per_col) - per_col)[col]
        group = np.ceil(np.log2(np.maximum(per_col, 1))).astype(np.intp)
        out = np.empty(cols.size)
        for g in np.unique(group):
            members = (group == g).nonzero()[0]
            local = np.full(cols.size, -1, np.intp)
            local[members] = np.arange(members.size)
            sel = (local[col] >= 0).nonzero()[0]
            packed = np.zeros((int(per_col[members].max()), members.size))
            packed[rank[sel], local[col[sel]]] = val[sel]
            out[members] = saturating_sum(x0[members], packed, up[members], down[members])
        return out

    def _apply_aliases(self, spikes: np.ndarray, v: np.ndarray, v_pre: np.ndarray) -> None:
        """Replay xylosim's in-order alias pass over the neurons it can affect.

        Neurons evolve in index order. A neuron whose count arrives from an alias
        *before* it evolves starts its spike loop from that count (so its own
        spikes are capped at 31 minus it); one that already evolved just gets the
        count added (capped at 31), without passing it on."""
        th = self._th
        alias = self._alias
        pending: dict[int, int] = {}  # counts waiting for neurons not yet evolved
        heap = [int(s) for s in self._alias_sources[spikes[self._alias_sources] > 0]]
        queued = set(heap)
        heapq.heapify(heap)
        while heap:
            nid = heapq.heappop(heap)
            n0 = pending.pop(nid, 0)
            if n0:
                n, v[nid] = _spike_loop(int(v_pre[nid]), int(th[nid]), n0, MAX_HIDDEN_SPIKES)
                spikes[nid] = n
            for target in alias.get(nid, ()):
                add = int(spikes[nid])
                if add == 0:
                    continue
                if target > nid:
                    pending[target] = min(pending.get(target, 0) + add, MAX_HIDDEN_SPIKES)
                    if target not in queued:
                        queued.add(target)
                        heapq.heappush(heap, target)
                else:
                    spikes[target] = min(int(spikes[target]) + add, MAX_HIDDEN_SPIKES)
