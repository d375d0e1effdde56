"""Running a plan: in chunks of time (fast) or one step at a time (the oracle).

Both modes execute the same segments with the same kernels; they differ only
in how many steps one call covers, and in that the step mode never uses the
compiled kernels of :mod:`nirc.interpreter.jit` (the oracle stays plain numpy). In ``mode="step"`` every node is evaluated
once per step in topological order, which is the plain reading of
SEMANTICS.md. In ``mode="fast"`` a chunk of steps goes through each segment
at once (one matrix product per synapse over every step and sample of the
chunk). Since kernels compute each sample the same way whatever the number of
samples (see :mod:`nirc.interpreter.ops`), both modes give identical outputs.

With the compiled kernels (the ``fast`` extra), ``mode="fast"`` runs a graph
whose every node :mod:`nirc.interpreter.program` supports as one compiled loop
over time instead (the same results; :data:`PROGRAM` turns that off), and the
chunked schedule below stays for ``precision="float32"``, for the graphs the
program cannot run, and for tiny graphs at many samples per core
(:func:`_batch_wins`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

import numpy as np

from nirc.interpreter import jit
from nirc.interpreter.neurons import Membrane, Neuron
from nirc.interpreter.ops import Conv, Delay, Dense, Pool, Scale, reuse
from nirc.interpreter.plan import NodePlan, Plan, Segment

F64 = np.float64
NARROW = (np.dtype(np.bool_), np.dtype(np.uint8))  # exact small integers passed as they are
CHUNK_BYTES = 64 << 20  # intermediate values of one chunk of steps
MAX_CHUNK = 128  # steps; longer chunks only add memory traffic
PRECISIONS = ("float64", "float32")


def _value_bytes(node: NodePlan) -> int:
    """Bytes per element of a node's output as the engine holds it."""
    k = node.kernel
    if isinstance(k, Neuron) and k.spiking and getattr(k, "narrow_output", False):
        return 1
    if isinstance(k, Pool) and not k.average:
        return 8 if k.kernel[0] * k.kernel[1] > 255 else 1  # pools of spikes
    return 8


def chunk_steps(
    plan: Plan, batch: int, steps: int, budget: int = CHUNK_BYTES, fused: Collection[str] = ()
) -> int:
    """How many steps one chunk covers: as many as fit in ``budget`` bytes of
    intermediate values (all of them, although most are dropped early), at
    least one, at most ``MAX_CHUNK`` or all. Convolutions block their own
    scratch memory (see ops.Conv). ``fused``: synapses run inside a fused
    kernel, whose sums (and their neurons' input currents) never exist as
    arrays."""
    per_step = 0
    fed = {name for name, n in plan.nodes.items() if set(n.preds) & set(fused)}
    for name, n in plan.nodes.items():
        size = int(np.prod(n.out_shape, dtype=np.int64))
        if name not in fused:
            per_step += size * _value_bytes(n)
        if isinstance(n.kernel, Neuron) and name not in fed:
            per_step += 8 * size  # the input currents
    per_step = max(1, per_step * batch)
    return int(max(1, min(steps, MAX_CHUNK, budget // per_step)))


JIT_MODES = ("auto", "on", "off")
# below this much work (see `work`; about two seconds of numpy), "auto" does not
# load the compiled kernels: loading them takes about half a second
JIT_MIN_WORK = 4e9
# ... unless this process has already spent that long in runs they would have
# done (a loop of short runs: streaming samples, a sweep); then it loads them
JIT_LOAD_SECONDS = 0.5
_UNCOMPILED = [0.0]  # seconds of such runs so far in this process
# with the compiled kernels, run a whole supported graph as one compiled loop
# over time (:mod:`.program`); False keeps the chunked schedule (for comparisons
# and for the tests of its own kernels)
PROGRAM = True
NEURON_WORK = 50  # a neuron update in numpy costs about this many multiply-accumulates


def work(plan: Plan, steps: int, batch: int) -> float:
    """A run's work in dense multiply-accumulates (synapses, and neurons at
    ``NEURON_WORK`` each): what decides whether compiling pays."""
    per = 0
    for n in plan.nodes.values():
        k = n.kernel
        per += getattr(k, "macs_per_sample", 0)
        if isinstance(k, Neuron):
            per += NEURON_WORK * int(np.prod(n.out_shape, dtype=np.int64))
    return float(per) * steps * batch


class Simulator:
    """Holds a plan's state between runs; ``run`` starts from zero state."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._programs: dict = {}  # see _program

    def run(
        self,
        inputs: dict[str, np.ndarray],
        steps: int,
        batch: int,
        *,
        mode: str = "fast",
        chunk: int | None = None,
        progress: Callable[[int], None] | None = None,
        precision: str = "float64",
        jit_mode: str = "auto",
    ) -> dict[str, np.ndarray]:
        """Simulate ``steps`` steps. ``inputs`` maps each Input name to an
        array ``[T, B, *shape]`` (any numeric dtype; steps past its end read
        zeros). Returns ``{key: [steps, B, *shape]}`` for every Output and probe.
        ``precision="float32"``: weighted sums in float32 (see the module doc).
        ``jit_mode``: ``"on"`` uses the compiled kernels of
        :mod:`nirc.interpreter.jit` when numba is installed (the whole graph
        as one program when :mod:`.program` supports it), ``"off"`` never,
        ``"auto"`` when they are already loaded, or the run is long enough to
        repay loading them (about half a second), or this process has spent
        that long in runs without them; the step mode never does.
        """
        if jit_mode not in JIT_MODES:
            raise ValueError(f"jit_mode must be one of {JIT_MODES}, not {jit_mode!r}")
        if mode not in ("fast", "step"):
            raise ValueError(f"mode must be 'fast' or 'step', not {mode!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be 'float64' or 'float32', not {precision!r}")
        use = jit.ENABLED and mode != "step" and jit_mode != "off"
        auto = use and jit_mode == "auto"
        if auto:
            use = (
                jit.loaded()
                or jit.program_loaded()
                or work(self.plan, steps, batch) >= JIT_MIN_WORK
                or _UNCOMPILED[0] >= JIT_LOAD_SECONDS
            )
        cores = jit.free_cores()  # threads beyond the idle cores only slow a loaded machine
        if use and precision == "float64" and PROGRAM and not _batch_wins(self.plan, batch, cores):
            prog = self._program(inputs, batch)
            if prog is not None:
                for n in self.plan.nodes.values():
                    if isinstance(n.kernel, (Neuron, Delay)):
                        n.kernel.reset(batch)
                threads = jit.free_cores(pieces=True)  # samples taken in turn: no waiting
                return prog.run(
                    inputs, steps, batch, chunk=chunk, progress=progress, threads=threads
                )
        if not use:
            start = time.perf_counter()
            with jit.disabled(), jit.blas_threads(cores):
                out = self._run(inputs, steps, batch, mode, chunk, progress, precision)
            if auto:  # time that the compiled kernels might have saved
                _UNCOMPILED[0] += time.perf_counter() - start
            return out
        with jit.blas_single_thread(), jit.numba_threads(cores):
            # the compiled kernels use the cores themselves
            return self._run(inputs, steps, batch, mode, chunk, progress, precision)

    def _program(self, inputs: dict[str, np.ndarray], batch: int):
        """The whole-graph program for these inputs (:mod:`.program`), or None
        when the plan has a node it cannot run. Built once per pattern of
        exact sums and batch size."""
        from nirc.interpreter import program

        cache = self._programs
        if cache.get("supported") is None:
            cache["supported"] = program.supported(self.plan)
        if not cache["supported"]:
            return None
        exact = self._exact(inputs)
        key = (tuple(sorted(n for n, e in exact.items() if e)), batch)
        prog = cache.get(key)
        if prog is None:
            if len(cache) > 16:
                cache.clear()
                cache["supported"] = True
            prog = cache[key] = program.compile_program(self.plan, exact, batch)
        return prog

    def _exact(self, inputs: dict[str, np.ndarray]) -> dict[str, bool]:
        """Which weighted sums are exact for these inputs (see :func:`exact_sums`)."""
        ranges = {n: integer_range(a) for n, a in inputs.items()}
        return exact_sums(
            self.plan, {n: None if r is None else max(-r[0], r[1]) for n, r in ranges.items()}
        )

    def _run(self, inputs, steps, batch, mode, chunk, progress, precision):
        plan = self.plan
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be 'float64' or 'float32', not {precision!r}")
        f32 = precision == "float32"
        if mode not in ("fast", "step"):
            raise ValueError(f"mode must be 'fast' or 'step', not {mode!r}")
        for n in plan.nodes.values():
            if isinstance(n.kernel, (Neuron, Delay)):
                n.kernel.reset(batch)
        results: dict[str, np.ndarray] = {}
        for name, shape in plan.outputs.items():
            results[name] = np.zeros((steps, batch) + shape, F64)
        state_probes: dict[str, list[tuple[str, np.ndarray]]] = {}
        out_probes: dict[str, list[np.ndarray]] = {}
        for name in plan.outputs:
            if name in plan.nodes:
                out_probes.setdefault(name, []).append(results[name])
        for p in plan.probes:
            shape = plan.nodes[p.node].out_shape
            arr = results.get(p.key)
            if arr is None:
                arr = results[p.key] = np.zeros((steps, batch) + shape, F64)
            if p.state is None:
                if p.key not in plan.outputs:
                    out_probes.setdefault(p.node, []).append(arr)
            else:
                state_probes.setdefault(p.node, []).append((p.state, arr))
        ranges = {n: integer_range(a) for n, a in inputs.items()}
        exact = exact_sums(
            plan, {n: None if r is None else max(-r[0], r[1]) for n, r in ranges.items()}
        )
        # integer inputs within 0..255 (spikes, counts) travel as uint8, like spikes do
        narrow = {n for n, r in ranges.items() if r is not None and r[0] >= 0 and r[1] <= 255}
        cyclic = [_Cyclic(plan, seg, exact, f32) if seg.cyclic else None for seg in plan.segments]
        for c in cyclic:
            if c is not None:
                c.reset(batch)
        # values no longer needed after each segment
        last_use: dict[str, int] = {}
        for i, seg in enumerate(plan.segments):
            for n in seg.nodes:
                last_use.setdefault(n, i)
                for p in plan.nodes[n].preds:
                    last_use[p] = i
        drop: list[list[str]] = [[] for _ in plan.segments]
        for n, i in last_use.items():
            drop[i].append(n)
        fused: dict[str, tuple[str, str | None]] = {}
        if jit.ENABLED and not f32:
            fused = fusable(plan, exact, set(out_probes), set(state_probes))
        if mode == "step":
            tc_max = 1
        else:
            tc_max = chunk or chunk_steps(plan, batch, steps, fused=fused)

        done = {n for target, pool in fused.values() for n in (target, pool) if n is not None}
        segments = list(zip(plan.segments, cyclic, drop))

        def run_segments(first: int, last: int, vals: dict, t0: int, t1: int) -> None:
            """Segments ``first .. last-1`` of the chunk ``t0 .. t1``."""
            tc = t1 - t0
            for seg, cyc, gone in segments[first:last]:
                if cyc is not None:
                    recs = {n: {s: a[t0:t1] for s, a in state_probes.get(n, ())} for n in seg.nodes}
                    cyc.run(vals, tc, batch, recs)
                else:
                    name = seg.nodes[0]
                    node = plan.nodes[name]
                    if node.type == "Input" and not node.preds:
                        vals[name] = _input_chunk(
                            inputs.get(name), t0, t1, batch, node.out_shape, name in narrow
                        )
                    elif name in fused:  # the synapse and its neurons in one compiled loop
                        target, pool = fused[name]
                        x = _gather(node, vals, tc, batch)
                        rec = {s: a[t0:t1] for s, a in state_probes.get(target, ())}
                        pnode = None if pool is None else plan.nodes[pool]
                        out = _fused(node, plan.nodes[target], pnode, x, tc, batch, rec)
                        vals[target if pool is None else pool] = out
                    elif name in done:  # computed with its synapse
                        pass
                    else:
                        x = _gather(node, vals, tc, batch)
                        rec = {s: a[t0:t1] for s, a in state_probes.get(name, ())}
                        vals[name] = _evaluate(node, x, tc, batch, rec, exact[name], f32)
                for n in seg.nodes:
                    for arr in out_probes.get(n, ()):
                        arr[t0:t1] = vals[n]
                for n in gone:
                    vals.pop(n, None)
            if last == len(segments) and progress is not None:
                progress(t1)

        chunks = [(t0, min(t0 + tc_max, steps)) for t0 in range(0, steps, tc_max)]
        split = _pipeline_split(plan, fused) if fused and batch == 1 and len(chunks) > 1 else 0
        if not split:
            for t0, t1 in chunks:
                run_segments(0, len(segments), {}, t0, t1)
            return results
        # two stages on two cores: the compiled kernels release the GIL, and
        # each node still sees its chunks in order, so the results are the same
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as later:
            pending = None
            for t0, t1 in chunks:
                vals: dict[str, np.ndarray] = {}
                run_segments(0, split, vals, t0, t1)
                if pending is not None:
                    pending.result()
                pending = later.submit(run_segments, split, len(segments), vals, t0, t1)
            pending.result()
        return results


# The program runs a batch's samples one after the other (on every free core);
# the chunked schedule runs each layer's batch in one numpy call. On a tiny
# graph (work per sample-step below TINY_WORK, see `work`) the per-sample cost
# of the program (about 0.8 us a step on the Braille network) then exceeds the
# chunked schedule's from about 24 samples per core on (Braille, one core:
# 0.81 vs 1.42 CPU-us per sample-step at batch 8, 1.1 vs 0.65 at 32, 0.79 vs
# 0.55 at 128).
TINY_WORK = 10_000
TINY_BATCH_PER_CORE = 24


def _batch_wins(plan: Plan, batch: int, cores: int) -> bool:
    """Whether the chunked schedule is expected faster than the program: a
    tiny graph, many samples per core."""
    return batch > TINY_BATCH_PER_CORE * max(1, cores) and work(plan, 1, 1) < TINY_WORK


PIPELINE_MIN_SHARE = 0.25  # the smaller stage's share of the work for two stages to pay


def _pipeline_split(plan: Plan, fused: dict[str, tuple[str, str | None]]) -> int:
    """Where to cut the segments into two pipeline stages (run on two threads,
    one chunk apart) so that their work is as even as possible, or 0 when no
    cut is worth it. Only between segments that a fused kernel does not span,
    and only for plans without recurrent loops."""
    if any(seg.cyclic for seg in plan.segments):
        return 0
    cost = []
    inside: set[int] = set()  # cut positions inside a fused group
    index = {seg.nodes[0]: i for i, seg in enumerate(plan.segments)}
    for syn, (target, pool) in fused.items():
        end = index[pool if pool is not None else target]
        inside.update(range(index[syn] + 1, end + 1))
    for seg in plan.segments:
        node = plan.nodes[seg.nodes[0]]
        w = getattr(node.kernel, "macs_per_sample", 0)
        if isinstance(node.kernel, Neuron):
            w += NEURON_WORK * int(np.prod(node.out_shape, dtype=np.int64))
        cost.append(float(w))
    total = sum(cost)
    if total <= 0:
        return 0
    best, best_gap, acc = 0, total, 0.0
    for i in range(1, len(cost)):
        acc += cost[i - 1]
        if i in inside:
            continue
        gap = abs(total - 2 * acc)
        if gap < best_gap:
            best, best_gap = i, gap
    if best and min(sum(cost[:best]), total - sum(cost[:best])) < PIPELINE_MIN_SHARE * total:
        return 0
    return best


def fusable(
    plan: Plan, exact: dict[str, bool], recorded: set[str], states: set[str] = frozenset()
) -> dict[str, tuple[str, str | None]]:
    """Synapses to run fused with the spiking neuron layer they alone feed
    (``synapse_neuron`` of :mod:`nirc.interpreter.jit_kernels`), and the
    sum-pool that alone reads those neurons' spikes, if any: ``{synapse:
    (neurons, pool or None)}``. The synapse: a Conv, or a Dense of a 1-D
    input, with exact sums, whose output nothing else reads or records; the
    neurons: a spiking IF/LIF layer with no other input (its states may be
    recorded, and its spikes unless a pool is fused); the pool: a SumPool2d
    with stride equal to its kernel and no padding, not recorded. Nothing in a
    recurrent loop. ``recorded``: nodes whose output is recorded; ``states``:
    nodes whose states are."""
    loops = {n for seg in plan.segments if seg.cyclic for n in seg.nodes}
    users: dict[str, list[str]] = {}
    for name, node in plan.nodes.items():
        for p in node.preds + node.fb_preds:
            users.setdefault(p, []).append(name)
    fused: dict[str, tuple[str, str | None]] = {}
    for name, node in plan.nodes.items():
        if not (isinstance(node.kernel, Membrane) and node.kernel.spiking):
            continue
        if len(node.preds) != 1 or node.fb_preds or name in loops:
            continue
        syn = node.preds[0]
        sk = plan.nodes[syn].kernel
        watched = loops | recorded | states
        if users.get(syn) != [name] or syn in watched or not exact.get(syn):
            continue
        if isinstance(sk, Conv):
            pool = None if name in recorded else _fusable_pool(plan, name, users, watched)
            fused[syn] = (name, pool)
        elif isinstance(sk, Dense) and sk.matrix and len(plan.nodes[syn].in_shape) == 1:
            fused[syn] = (name, None)
    return fused


def _fusable_pool(plan: Plan, neurons: str, users, watched: set[str]) -> str | None:
    """The sum-pool that alone reads ``neurons``' spikes, when it can run in
    the fused loop (see :func:`fusable`); ``watched``: recorded or looping nodes."""
    readers = users.get(neurons, [])
    if len(readers) != 1:
        return None
    pool = plan.nodes[readers[0]]
    k = pool.kernel
    if not isinstance(k, Pool) or k.average or pool.preds != [neurons] or pool.fb_preds:
        return None
    if readers[0] in watched or k.stride != k.kernel or any(k.padding):
        return None
    if len(pool.in_shape) != 3 or k.kernel[0] * k.kernel[1] > 255:
        return None
    return readers[0]


def _fused(
    syn: NodePlan, neuron: NodePlan, pool: NodePlan | None, x: np.ndarray, tc: int, batch: int, rec
) -> np.ndarray:
    """Run a synapse and its neuron layer (and the pool reading them) as one
    compiled loop over the chunk; returns the spikes ``[Tc, B, *shape]``
    (bool), or the pool's counts (uint8), updates the neurons' state and fills
    ``rec["v"]``. The arguments that do not change between chunks
    are prepared once (:func:`_fused_setup`), and large buffers are reused: on
    a virtual machine a fresh megabyte costs milliseconds of page faults."""
    sk, nk = syn.kernel, neuron.kernel
    n_in = int(np.prod(syn.in_shape, dtype=np.int64))
    xs = jit.narrow(np.ascontiguousarray(x).reshape(tc * batch, n_in))
    shape = neuron.out_shape
    m = int(np.prod(shape, dtype=np.int64))
    pk = None if pool is None else pool.kernel
    setup = getattr(nk, "_jit_fused", None)
    if setup is None or setup[0] is not sk or setup[1] is not pk:
        setup = nk._jit_fused = (sk, pk, _fused_setup(sk, nk, m, pool))
    fixed, order = setup[2]
    if pool is None:
        z = reuse(nk._outputs, (tc, batch) + tuple(shape), np.bool_)
        pz = z
    else:
        z = _NO_SPIKES
        pz = reuse(pk._outputs, (tc, batch) + tuple(pool.out_shape), np.uint8)
    v = nk.v.reshape(batch, m)
    if order is None:
        vk = v
    else:  # channels-last inside the kernel
        vk = reuse(nk._scratch_cl, (batch, m), F64)
        np.take(v, order, axis=1, out=vk)
    rv = rec.get("v")
    out_v = rv.reshape(tc, batch, m) if rv is not None and rv.flags.c_contiguous else None
    if rv is not None and out_v is None:
        out_v = np.empty((tc, batch, m), F64)
    kernels = jit.kernels()
    run = kernels.synapse_neuron_batch if batch > 1 else kernels.synapse_neuron
    run(
        xs,
        *fixed,
        _NO_POOL_OUT if pool is None else pz.reshape(tc, batch, -1),
        vk,
        z.reshape(tc, batch, m) if pool is None else z,
        _NO_STATES if out_v is None else out_v,
        out_v is not None,
    )
    if order is not None:
        v[:, order] = vk
    if rv is not None and not rv.flags.c_contiguous:
        rv[...] = out_v.reshape(rv.shape)
    return pz


def _fused_setup(sk, nk, m: int, pool: NodePlan | None) -> tuple[tuple, np.ndarray | None]:
    """The fused kernel's arguments between the input and the state (they do
    not change during a run), and the channels-last order of a convolution's
    neurons (None for a dense synapse)."""
    if isinstance(sk, Conv):
        conv = sk.jit_segments()
        n_o = conv[-1]
        bias = sk.jit_tables()[5]
        wdense = np.empty((0, 0), F64)
        order = np.arange(m).reshape(n_o, m // n_o).T.reshape(-1)  # cl index -> neuron
    else:
        none = np.empty(0, np.int64)
        conv = (1, none, np.empty((0, 3), np.int64), np.empty(0, F64), 0, 1, 1, m)
        wdense = sk.weight_t
        bias = np.empty(0, F64) if sk.bias is None else sk.bias
        order = None
    # a layer-wide value per parameter goes in as one element (see jit_kernels._drive_update)
    params = (nk.c, nk.k, nk.d, nk.thr, nk.v_reset)
    size = 1 if all(isinstance(p, float) for p in params) else m
    bias = np.repeat(bias, m // bias.size) if bias.size else np.zeros(m, F64)  # per neuron

    def param(value, size: int = size) -> np.ndarray:
        a = jit.full(value, size)
        return a if order is None or size == 1 else np.ascontiguousarray(a[order])

    nk._scratch_cl = []
    reset = jit.RESET_ZERO if nk.reset_mode == "zero" else jit.RESET_SUBTRACT
    neuron = (param(bias, m), *map(param, params), reset)
    fixed = (isinstance(sk, Conv), conv, wdense, neuron)
    cells_of = np.empty(0, np.int64)  # no pool
    if pool is not None:  # each neuron cell -> the pooled cell it counts into, or -1
        _, h, w = pool.in_shape
        (kh, kw), (_, ph, pw) = pool.kernel.kernel, pool.out_shape
        y, x = np.divmod(np.arange(h * w), w)
        py, px = y // kh, x // kw
        cells_of = np.where((py < ph) & (px < pw), py * pw + px, -1).astype(np.int64)
    return fixed + (cells_of,), order


_NO_STATES = np.empty((0, 0, 0), F64)
_NO_SPIKES = np.empty((0, 0, 0), np.bool_)
_NO_POOL_OUT = np.empty((0, 0, 0), np.uint8)


def _input_chunk(data, t0: int, t1: int, batch: int, shape, narrow: bool = False) -> np.ndarray:
    """An input over the chunk: bool and uint8 inputs (spikes) as they are,
    integers within 0..255 as uint8 when ``narrow``, anything else as float64."""
    tc = t1 - t0
    if data is None:
        return np.zeros((tc, batch) + shape, F64)
    part = data[t0:t1]
    if part.dtype in NARROW:
        dtype = part.dtype
    else:
        dtype = np.uint8 if narrow else F64
    if part.shape[0] == tc:
        return np.asarray(part, dtype=dtype)
    out = np.zeros((tc, batch) + shape, dtype)
    out[: part.shape[0]] = part
    return out


def _f64(x: np.ndarray) -> np.ndarray:
    return x if x.dtype == F64 else x.astype(F64)


def _gather(node: NodePlan, vals: dict[str, np.ndarray], tc: int, batch: int) -> np.ndarray:
    """The summed input of a node over the chunk, in edge order (float64 unless
    it is one value that the node's kernel takes as it is)."""
    preds = node.preds
    if not preds:
        return np.zeros((tc, batch) + node.in_shape, F64)
    x = vals[preds[0]]
    if len(preds) == 1:
        return x if getattr(node.kernel, "narrow_inputs", False) else _f64(x)
    x = _f64(x)
    for p in preds[1:]:
        x = x + vals[p]
    return x


def _evaluate(
    node: NodePlan, x: np.ndarray, tc: int, batch: int, rec, exact: bool, f32: bool = False
) -> np.ndarray:
    k = node.kernel
    if isinstance(k, Neuron):
        return k.run(x, rec)
    if isinstance(k, Delay):
        return k.run(x)
    x = x.reshape((tc * batch,) + node.in_shape)
    if f32 and hasattr(k, "apply_f32"):
        y = k.apply_f32(x)
    else:
        y = k.apply(x, exact or _exact_now(k, x))
    return y.reshape((tc, batch) + node.out_shape)


def _exact_now(k, x: np.ndarray) -> bool:
    """Whether a weighted sum whose input had no static bound (spike counts of
    multi-spike neurons without a cap) is exact on this chunk's values: then
    any order of addition gives the same, and the fast kernels may run."""
    if not getattr(k, "weighted", False) or x.dtype.kind != "f":
        return False
    bound = integer_bound(x)
    return bound is not None and bool(k.exact_for(bound))


def integer_range(data) -> tuple[float, float] | None:
    """(min, max) of ``data`` if every value is an integer (of float64's exact
    range), else None; (0, 0) for no data. Floats are checked block by block
    (a cache-sized block at a time, no array-sized temporaries): inputs of
    spikes stored as float32 are common and large."""
    if data is None:
        return 0.0, 0.0
    a = np.asarray(data)
    if a.size == 0:
        return 0.0, 0.0
    if a.dtype.kind == "b":
        return 0.0, (1.0 if a.any() else 0.0)
    lo, hi = float(np.min(a)), float(np.max(a))  # NaN and inf show here
    if a.dtype.kind in "iu":
        return lo, hi
    if not (np.isfinite(lo) and np.isfinite(hi)) or max(-lo, hi) >= 2.0**53:
        return None
    flat = a.reshape(-1)
    block = 1 << 18
    for s in range(0, flat.size, block):
        part = flat[s : s + block]
        if not np.array_equal(part, np.trunc(part)):
            return None
    return lo, hi


def integer_bound(data) -> float | None:
    """max |x| if every value of ``data`` is an integer, else None."""
    r = integer_range(data)
    return None if r is None else max(-r[0], r[1])


def _output_bound(node: NodePlan, in_bound: float | None) -> float | None:
    """A bound on |output| when the output holds integers, else None."""
    k = node.kernel
    if node.type == "Threshold" or (isinstance(k, Neuron) and k.spiking):
        return 1.0
    if isinstance(k, Neuron) and getattr(k, "output_bound", None) is not None:
        return float(k.output_bound)  # spike counts of capped multi-spike neurons
    if node.type in ("Input", "Output", "Flatten", "Delay"):
        return in_bound
    if in_bound is None:
        return None
    if isinstance(k, Pool) and not k.average:
        return in_bound * k.kernel[0] * k.kernel[1]
    if isinstance(k, Scale) and np.all(k.scale == np.trunc(k.scale)):
        return in_bound * float(np.max(np.abs(k.scale), initial=0.0))
    return None


def _frac_bits(node: NodePlan, in_frac: int | None) -> int | None:
    """How many fractional bits the output's values have when its input's are
    integers times ``2**-in_frac``: an average pool whose window is a power of
    two adds its log2 (the mean of spikes over 2x2 is a multiple of 1/4); None
    when unknown. Weighted sums of such values are exact exactly when those of
    the integers ``value * 2**frac`` are (the scale only moves exponents)."""
    k = node.kernel
    if node.type == "Threshold" or (isinstance(k, Neuron) and k.spiking):
        return 0
    if isinstance(k, Neuron) and getattr(k, "output_bound", None) is not None:
        return 0
    if node.type in ("Input", "Output", "Flatten", "Delay"):
        return in_frac
    if isinstance(k, Pool) and in_frac is not None:
        if not k.average:
            return in_frac
        window = k.kernel[0] * k.kernel[1]
        if window & (window - 1) == 0:
            return in_frac + window.bit_length() - 1
    return None


def _pooled_bound(node: NodePlan, in_bound: float | None) -> float | None:
    """An average pool's output bound (the mean is at most the largest input)."""
    k = node.kernel
    if isinstance(k, Pool) and k.average and in_bound is not None:
        return in_bound
    return _output_bound(node, in_bound)


def exact_sums(plan: Plan, input_bounds: dict[str, float | None]) -> dict[str, bool]:
    """For each node, whether its weighted sums are exact for these inputs
    (integer-valued within the bound its weights allow, or such integers times
    ``2**-k``: the means of power-of-two average pools, see :func:`_frac_bits`).
    The spike counts of uncapped multi-spike layers are bounded through their
    input's magnitude (:func:`_magnitude`, ``count_bound``)."""
    static = {n: _output_bound(p, None) for n, p in plan.nodes.items()}
    bounds: dict[str, float | None] = {}
    fracs: dict[str, int | None] = {}
    mags: dict[str, float | None] = {}  # |output| at most (any real), None: unknown
    exact: dict[str, bool] = {}
    for name in plan.order:
        node = plan.nodes[name]
        if node.type == "Input" and not node.preds:
            b_in = input_bounds.get(name, 0.0)
            f_in: int | None = 0
            m_in = b_in
        else:
            b_in = 0.0
            f_in = 0
            m_in = 0.0
            for p in node.preds:
                b_in = None if b_in is None or bounds[p] is None else b_in + bounds[p]
                f_in = None if f_in is None or fracs[p] is None else max(f_in, fracs[p])
                m_in = None if m_in is None or mags[p] is None else m_in + mags[p]
            for p in node.fb_preds:
                b_in = None if b_in is None or static[p] is None else b_in + static[p]
                f_in = None if f_in is None or static[p] is None else f_in
                m_in = None if m_in is None or static[p] is None else m_in + static[p]
        bounds[name] = _pooled_bound(node, b_in)
        fracs[name] = _frac_bits(node, f_in)
        counts = getattr(node.kernel, "count_bound", None)
        if bounds[name] is None and counts is not None:
            bounds[name] = counts(m_in)
            fracs[name] = None if bounds[name] is None else 0
        mags[name] = bounds[name] if bounds[name] is not None else _magnitude(node, m_in)
        scaled = None if b_in is None or f_in is None else b_in * 2.0**f_in
        exact[name] = bool(node.kernel.weighted and node.kernel.exact_for(scaled))
    return exact


def _magnitude(node: NodePlan, m_in: float | None) -> float | None:
    """A bound on |output| of a node whose output is not an integer bound (a
    weighted sum: its inputs' bound times the largest sum of |weights| into
    one output, plus the largest |bias|), or None."""
    k = node.kernel
    if m_in is None or not np.isfinite(m_in):
        return None
    if node.type in ("Input", "Output", "Flatten", "Delay"):
        return m_in
    if isinstance(k, (Dense, Conv)):
        return m_in * k.gain + k.bias_bound
    if isinstance(k, Pool):
        return m_in if k.average else m_in * k.kernel[0] * k.kernel[1]
    if isinstance(k, Scale):
        return m_in * float(np.max(np.abs(k.scale), initial=0.0))
    return None


class _Cyclic:
    """A recurrent segment, stepped node by node each step."""

    def __init__(self, plan: Plan, seg: Segment, exact: dict[str, bool], f32: bool = False) -> None:
        self.plan = plan
        self.seg = seg
        self.exact = exact
        self.f32 = f32
        members = set(seg.nodes)
        self.entries = []
        fb_sources: set[str] = set()
        for name in seg.nodes:
            node = plan.nodes[name]
            ext = [p for p in node.preds if p not in members]
            internal = [p for p in node.preds if p in members]
            fb_sources.update(node.fb_preds)
            self.entries.append((name, node, ext, internal, list(node.fb_preds)))
        self.fb_sources = sorted(fb_sources)

    def reset(self, batch: int) -> None:
        self.prev = {
            n: np.zeros((batch,) + self.plan.nodes[n].out_shape, F64) for n in self.fb_sources
        }

    def run(self, vals, tc: int, batch: int, recs) -> None:
        # per node: (name, kind, kernel, external input over the chunk, same-step
        # sources, feedback sources, exact, probes, output over the chunk)
        work = []
        outs = {}
        for name, node, ext, internal, fb in self.entries:
            out = outs[name] = np.empty((tc, batch) + node.out_shape, F64)
            x = None
            if ext:
                x = _f64(vals[ext[0]])
                for p in ext[1:]:
                    x = x + vals[p]
            k = node.kernel
            kind = 0 if isinstance(k, Neuron) else 1 if isinstance(k, Delay) else 2
            if kind == 2 and self.f32 and hasattr(k, "apply_f32"):
                kind = 3
            rec = list(recs.get(name, {}).items())
            work.append((name, kind, k, x, internal, fb, self.exact[name], rec, out, node.in_shape))
        prev = self.prev
        fb_sources = self.fb_sources
        no_rec: dict[str, np.ndarray] = {}
        for t in range(tc):
            cur: dict[str, np.ndarray] = {}
            for name, kind, k, ext, internal, fb, exact, rec, out, in_shape in work:
                x = None if ext is None else ext[t]
                for p in internal:
                    x = cur[p] if x is None else x + cur[p]
                for p in fb:
                    x = prev[p] if x is None else x + prev[p]
                if x is None:
                    x = np.zeros((batch,) + in_shape, F64)
                if kind == 0:
                    y = k.step(x, {s: a[t] for s, a in rec} if rec else no_rec)
                elif kind == 1:
                    y = k.run(x[None])[0]
                elif kind == 2:
                    y = k.apply(x, exact)
                else:
                    y = k.apply_f32(x)
                cur[name] = y
                out[t] = y
            for n in fb_sources:
                prev[n] = cur[n]
        vals.update(outs)
