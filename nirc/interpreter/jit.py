"""Compiled kernels for the interpreter's hot loops (optional: numba).

Installed with the ``fast`` extra (``pip install 'nirc[fast]'``); without
numba, or with ``NIRC_JIT=0`` in the environment, the interpreter runs its
numpy kernels and gives the same numbers. The kernels live in
:mod:`nirc.interpreter.program_kernels` (a whole graph as one loop over time,
see :mod:`nirc.interpreter.program`: the fast path of every graph it supports)
and :mod:`nirc.interpreter.jit_kernels` (the chunked schedule's), imported (and
numba with them) on first use only, so that commands that do not simulate
never pay numba's import. In the chunked schedule, three kinds of loops gain
from compilation:

- Neuron updates over a chunk of steps (``membrane_loop``): numpy pays a call
  per ufunc per step; the compiled loop makes one pass per step with the same
  float64 operations in the same order (multiply, then add: numba does not
  fuse them into a multiply-add without ``fastmath``), so states and spikes
  are identical bit for bit.
- Spike-driven synapses (``conv_scatter``, ``dense_scatter``): each nonzero
  input adds its weights times its value into the outputs it reaches. Used
  only where sums are exact (integer inputs within the bound the weights
  allow, see :func:`nirc.interpreter.ops.exact_sum_possible`), so the order of
  the additions cannot change the result: the output equals the matrix
  product's bit for bit. On the sparse activity of spiking networks (a few
  percent of neurons per step) this does a fraction of a dense product's work.
- A synapse fused with the spiking layer it alone feeds (``synapse_neuron``):
  one sample's synaptic sums stay in cache and go straight into the neuron
  update, so the chunk's float64 currents are never written to memory (at
  batch 32 that traffic, not the arithmetic, bounds the unfused schedule).

Compiled functions are cached on disk (numba's ``cache=True``) in a per-user
directory (:func:`cache_dir`: ``$NIRC_CACHE_DIR``, else
``$XDG_CACHE_HOME/nirc`` or ``~/.cache/nirc``; never inside the installed
package, and no cache at all when none of these is writable): only the first
run compiles (the program's kernel about 20 s, the chunked ones a few); later
processes load them in a third of a second (the CLI says so on a terminal
when a compile takes a while: :func:`announce_compiles`), which is why
:class:`~nirc.interpreter.engine.Simulator` uses them by default only on runs
(or a process's runs together) long enough to repay that. A cache entry that
cannot be read is removed and compiled again, one that cannot be written is
skipped, each with a warning (:func:`_load_or_miss`): the cache costs time,
never a run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np

ENABLED = importlib.util.find_spec("numba") is not None and os.environ.get("NIRC_JIT", "1") != "0"

# reset kinds of the neuron loops
RESET_ZERO, RESET_SUBTRACT = 0, 1

_MODULE = "nirc.interpreter.jit_kernels"
_PROGRAM_MODULE = "nirc.interpreter.program_kernels"


def cache_dir() -> str | None:
    """The per-user directory for numba's cache of the compiled kernels
    (created when missing), or None when no candidate is writable."""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for base in (os.environ.get("NIRC_CACHE_DIR"), os.path.join(home, "nirc")):
        if not base:
            continue
        path = os.path.join(base, "numba")
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK | os.X_OK):
            return path
    return None


CACHE_DIR: str | None = None  # where numba caches, None for no cache (chosen once by njit())
_CACHE_CHOSEN = False


NOTICE_AFTER_S = 2.0  # a compile running this long is one the user notices
_NOTICE = {"stream": None, "wanted": False, "registered": False, "seconds": 0.0}


def announce_compiles(stream) -> None:
    """Have the first compile of this process that takes longer than
    :data:`NOTICE_AFTER_S` say so on ``stream`` (the CLI passes its terminal;
    None: say nothing): a first run otherwise sits silent for 20 s or more
    while numba builds the kernels (loading them from the cache takes a
    fraction of a second, and says nothing). Either way the compiles' time
    is counted from then on (:func:`compile_seconds`)."""
    _NOTICE["stream"] = stream
    _NOTICE["wanted"] = True
    if "numba" in sys.modules:
        _register_notice()


def compile_seconds() -> float:
    """Wall time this process has spent compiling kernels since
    :func:`announce_compiles` (0 before it; loading them from the cache
    happens when their module is imported and is not counted): what a
    command takes out of a run's speed and reports apart."""
    return float(_NOTICE["seconds"])


COMPILE_APART_S = 0.5  # compile time inside a run that commands report apart from its speed


def stopwatch() -> Callable[[], tuple[float, float]]:
    """A clock started now: calling it gives the wall seconds since and, of
    them, the seconds numba spent compiling kernels (:func:`compile_seconds`),
    which commands report apart from a run's own time."""
    t0, k0 = time.perf_counter(), compile_seconds()
    return lambda: (time.perf_counter() - t0, compile_seconds() - k0)


class _CompileNotice:
    """A numba event listener (``numba:compile``, which covers cache loads
    too): a timer runs while the outermost compile does and writes the
    notice, once, if it fires."""

    def __init__(self) -> None:
        self.depth = 0
        self.timer = None
        self.said = False
        self.began = 0.0

    def on_start(self, event) -> None:
        self.depth += 1
        if self.depth == 1:
            self.began = time.perf_counter()
        if self.depth == 1 and not self.said and _NOTICE["stream"] is not None:
            import threading

            self.timer = threading.Timer(NOTICE_AFTER_S, self.say)
            self.timer.daemon = True
            self.timer.start()

    def on_end(self, event) -> None:
        self.depth -= 1
        if self.depth == 0:
            _NOTICE["seconds"] += time.perf_counter() - self.began
        if self.depth == 0 and self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def say(self) -> None:
        stream = _NOTICE["stream"]
        if self.said or stream is None:
            return
        self.said = True
        kept = (f"later runs load them from {CACHE_DIR}" if CACHE_DIR
                else "not kept: no writable cache directory")  # fmt: skip
        stream.write(f"nirc: compiling the simulation kernels for this machine, once (up to half "
                     f"a minute; {kept})\n")  # fmt: skip
        stream.flush()


def _register_notice() -> None:
    if not _NOTICE["wanted"] or _NOTICE["registered"]:
        return
    from numba.core import event

    class Listener(_CompileNotice, event.Listener):
        pass

    event.register("numba:compile", Listener())
    _NOTICE["registered"] = True


def _use_cache_dir() -> None:
    """Point numba's cache at :func:`cache_dir` (once, before the first kernel
    module is imported)."""
    global CACHE_DIR, _CACHE_CHOSEN
    if _CACHE_CHOSEN:
        return
    _CACHE_CHOSEN = True
    CACHE_DIR = cache_dir()
    if CACHE_DIR is not None:
        os.environ["NUMBA_CACHE_DIR"] = CACHE_DIR
        if "numba" in sys.modules:  # imported before us: its config is read already
            import numba.core.config

            numba.core.config.CACHE_DIR = CACHE_DIR


def njit(**options):
    """``numba.njit`` for nirc's kernel modules (the interpreter's and the chip
    simulators'): nogil, and the machine code cached in :func:`cache_dir`,
    chosen before the first compile, never inside the installed package (no
    cache where no candidate is writable)."""
    _use_cache_dir()
    import numba

    _register_notice()
    decorate = numba.njit(cache=CACHE_DIR is not None, nogil=True, **options)
    if CACHE_DIR is None:
        return decorate

    def compiled(fn):
        dispatcher = decorate(fn)
        _load_or_miss(dispatcher)
        return dispatcher

    return compiled


def _load_or_miss(dispatcher) -> None:
    """A damaged cache entry of ``dispatcher`` (a file cut short by a full disk
    or a killed process: numba raised UnpicklingError or EOFError from it, an
    internal error of every command that simulates) is removed and counts as
    a miss: the kernel compiles again and is cached afresh, with a warning.
    A cache that cannot be written (a full disk, permissions changed since)
    costs the next process a compile, with a warning, not the run."""
    from nirc.diagnostics import warn

    cache = getattr(dispatcher, "_cache", None)
    load = getattr(cache, "load_overload", None)
    save = getattr(cache, "save_overload", None)
    index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
    if load is None or save is None or index is None:  # another numba's layout: its own
        return

    def load_or_miss(sig, target_context):
        try:
            return load(sig, target_context)
        except Exception as e:  # noqa: BLE001 - any unreadable entry is a miss
            with contextlib.suppress(OSError):
                os.remove(index)
            warn(f"the cached kernel {index} could not be read ({type(e).__name__}: {e}): "
                 "removed; it compiles again", kind="warning")  # fmt: skip
            return None

    def save_or_skip(sig, data):
        try:
            save(sig, data)
        except OSError as e:
            warn(f"the compiled kernel could not be cached in {os.path.dirname(index)} "
                 f"({type(e).__name__}: {e}): the next process compiles it again", kind="warning")  # fmt: skip

    cache.load_overload = load_or_miss
    cache.save_overload = save_or_skip


def module(name: str):
    """A compiled-kernel module by name (a chip simulator's), imported on first
    use, or None without numba or with ``NIRC_JIT=0``."""
    if not ENABLED:
        return None
    return importlib.import_module(name)


def simulator_kernels(name: str, jit: bool | None, sample_steps: int, min_steps: int, simulator: str):
    """The kernel module a chip simulator's run uses: ``jit=False`` none,
    ``True`` always (a diagnostic without numba), ``None`` when the module is
    loaded already or the run has at least ``min_steps`` sample-steps (below
    that, numba's start-up would cost more than it saves)."""
    if jit is False or (jit is None and name not in sys.modules and sample_steps < min_steps):
        return None
    kernels = module(name)
    if kernels is None and jit:
        from nirc.diagnostics import NircError

        raise NircError(f"the compiled {simulator} simulator needs numba", where=f"{simulator}Simulator(jit=True)",
                        expected="numba installed (pip install 'nirc[fast]') and NIRC_JIT unset or 1",
                        found="numba missing or NIRC_JIT=0",
                        hint="pass jit=None to fall back to the numpy simulator")  # fmt: skip
    return kernels


def kernels():
    """The compiled kernels' module (imports numba on first use, caching the
    compiled code in :func:`cache_dir`)."""
    _use_cache_dir()
    import nirc.interpreter.jit_kernels as k

    return k


def program_kernels():
    """The module of the whole-graph kernel (:mod:`nirc.interpreter.program`),
    imported on first use like :func:`kernels`."""
    _use_cache_dir()
    import nirc.interpreter.program_kernels as k

    return k


def loaded() -> bool:
    """Whether this process has loaded the compiled kernels already."""
    return _MODULE in sys.modules


def program_loaded() -> bool:
    """Whether this process has loaded the whole-graph kernel already."""
    return _PROGRAM_MODULE in sys.modules


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """The numpy kernels only, for the duration (the step-by-step oracle runs
    so, which makes it independent of the compiled code it checks). Not
    thread-safe: it sets the module's switch."""
    global ENABLED
    was = ENABLED
    ENABLED = False
    try:
        yield
    finally:
        ENABLED = was


def free_cores(pieces: bool = False) -> int:
    """Cores not busy with other work right now: the CPU count less the one-minute
    load average (rounded) that other processes cause, at least 1. On a loaded
    machine, BLAS or numba threads beyond this only wait for each other (two BLAS
    threads on a loaded 2-core machine made a CNN run 3-10x slower than one).
    ``pieces``: for threads that take pieces of work in turn and never wait for
    each other (the compiled program's samples), one thread more, up to the
    CPU count: it runs on what the busy cores leave (the paper CNN at batch 32
    on 2 cores, one of them kept busy by another process: 3,000 steps/s with
    one thread, 3,600-4,300 with two).
    The load average also counts this process's own busy threads of the last
    minute (:func:`own_load` takes them out): a loop of runs on every core
    would otherwise see its own load and fall back to one thread after a
    minute. ``NIRC_THREADS`` overrides it."""
    forced = os.environ.get("NIRC_THREADS")
    if forced and forced.isdigit() and int(forced) > 0:
        return int(forced)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - platforms without a load average
        load = 0.0
    others = max(0.0, load - own_load())
    free = max(1, int(cores or 1) - int(others + 0.5))
    return min(int(cores or 1), free + 1) if pieces else free


SHARE_SAMPLE_STEPS = 1000  # at least this many sample-steps per piece the threads take
_EXECUTOR = None
_SAMPLE_THREAD = "nirc-samples"


def share_samples(run, args: tuple, batch: int, parts: int, steps: int) -> None:
    """``run(*args, b0, b1)`` over the samples ``0 .. batch-1`` in pieces of
    at least :data:`SHARE_SAMPLE_STEPS` sample-steps (runs of ``steps``
    steps), taken in turn by ``parts`` threads (the calling one and
    :func:`_executor`'s; the kernel must release the GIL) until none are
    left. A thread that shares its core with another process takes fewer
    pieces instead of holding the others up at the end, as fixed ranges did.
    Called from one of those threads, it runs alone: the pool's threads
    would be waiting for themselves."""
    import itertools
    import threading

    piece = max(1, -(-SHARE_SAMPLE_STEPS // max(1, steps)))
    taken = itertools.count()  # next() of a count is atomic: one piece per taker

    def take() -> None:
        while (b0 := next(taken) * piece) < batch:
            run(*args, b0, min(batch, b0 + piece))

    if threading.current_thread().name.startswith(_SAMPLE_THREAD):
        take()
        return
    pool = _executor()
    futures = [pool.submit(take) for _ in range(1, parts)]
    take()
    for f in futures:
        f.result()


def over_samples(run, args: tuple, batch: int, steps: int) -> None:
    """``run(*args, b0, b1)`` (a compiled loop over the samples ``b0 ..
    b1-1`` that releases the GIL) over ``batch`` samples of ``steps`` steps,
    shared among a thread per idle core (:func:`free_cores` with
    ``pieces``, :func:`share_samples`): the chip simulators' and the
    convolutions' sample loops."""
    threads = min(free_cores(pieces=True), batch)
    if threads > 1:
        share_samples(run, args, batch, threads, steps)
    else:
        run(*args, 0, batch)


def _executor():
    """The threads that run samples beside the calling thread (kept: starting
    a thread costs about as much as a short run)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        from concurrent.futures import ThreadPoolExecutor

        _EXECUTOR = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1),
                                       thread_name_prefix=_SAMPLE_THREAD)  # fmt: skip
    return _EXECUTOR


LOAD_WINDOW = 60.0  # seconds: the decay of the kernel's one-minute load average
_OWN = [None, None, 0.0]  # process CPU seconds and clock at the last look, own load


def own_load() -> float:
    """This process's share of the one-minute load average, estimated like the
    kernel computes it: its CPU time per second (busy threads), averaged with
    an exponential decay of one minute. Updated at each call, from the CPU
    time used since the last (0 at the first call: a lower bound, so that
    the estimate never makes a busy machine look free)."""
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
    except (ImportError, OSError):  # pragma: no cover - platforms without it
        return 0.0
    cpu, now = usage.ru_utime + usage.ru_stime, time.monotonic()
    last_cpu, last_now, level = _OWN
    if last_cpu is not None and now > last_now:
        keep = math.exp(-(now - last_now) / LOAD_WINDOW)
        level = level * keep + (cpu - last_cpu) / (now - last_now) * (1.0 - keep)
    _OWN[:] = [cpu, now, level]
    return level


_BLAS: list = [None, -1]  # threadpoolctl's controller, and len(sys.modules) when it was made


def _blas_limit(n: int):
    """threadpoolctl's limit of BLAS to ``n`` threads, or None without it. Its
    controller is kept: making one reads the process's memory map, 1-3 ms, as
    long as a short simulation; it is made again when modules were imported
    since (one of them may have loaded another BLAS)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    if _BLAS[0] is None or _BLAS[1] != len(sys.modules):
        _BLAS[0], _BLAS[1] = ThreadpoolController(), len(sys.modules)
    return _BLAS[0].limit(limits=n, user_api="blas")


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """numpy's BLAS on ``n`` threads for the duration (when threadpoolctl is
    installed; it comes with the ``fast`` extra)."""
    limit = _blas_limit(n)
    if limit is None:  # pragma: no cover - depends on the environment
        yield
        return
    with limit:
        yield


@contextlib.contextmanager
def blas_single_thread() -> Iterator[None]:
    """numpy's BLAS on one thread for the duration, when threadpoolctl is
    installed (it comes with the ``fast`` extra). The compiled kernels run the
    batch on every core; an idle OpenBLAS thread spins on a core for a while
    after each call, and on a 2-core machine that halves their speed."""
    with blas_threads(1):
        yield


@contextlib.contextmanager
def numba_threads(n: int) -> Iterator[None]:
    """The compiled kernels' parallel loops on at most ``n`` threads (numba's
    setting is per calling thread), for the duration."""
    import numba

    was = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(was)


def full(value, m: int, dtype=np.float64) -> np.ndarray:
    """A neuron parameter (a number, or an array of the layer's shape) as a
    contiguous array of ``m`` elements of ``dtype``, one per neuron: always a
    new, writable array (a layer-shaped array passed through ``broadcast_to``
    alone came back read-only, and numba compiles a kernel once more for each
    mix of read-only and writable arguments: 8-24 s each)."""
    return np.broadcast_to(np.asarray(value, dtype).reshape(-1), (m,)).copy()


def channels_last(wr: np.ndarray) -> np.ndarray:
    """Run weights ``[C, KH, SW, Og, M]`` as ``[C, KH, SW, M, Og]``: for the
    fused kernel, whose buffer is channels-last."""
    return np.ascontiguousarray(wr.transpose(0, 1, 2, 4, 3))


def conv_segments(
    rows: np.ndarray, cols: np.ndarray, wcl: np.ndarray, n_o: int
) -> tuple[np.ndarray, np.ndarray]:
    """For the fused, channels-last kernel: what one input at position ``p =
    y*W + x`` adds, as segments ``segs[start[p]:start[p+1]]`` of ``(first
    output element, first weight, length)``: ``acc[o0 + j] += w[w0 + j] * x``
    for ``j < length``, where the caller adds the input channel's offset to
    ``w0`` (``ch * wcl[0].size``) and its group's first output channel to
    ``o0``. From :func:`conv_tables`' ``rows`` and ``cols`` and the run weights
    ``wcl[C, KH, SW, M, Og]`` of :func:`channels_last`, ``n_o`` output
    channels in all. With one group, a kernel row's run of output cells and
    all their channels is one contiguous segment (what the compiled loop
    vectorizes); with several, each cell's channels of the group are one.

    Tabulated so that the loop over events does no arithmetic beyond these
    additions: a per-event computation of the runs cost as much as the
    additions themselves on the paper's CNN."""
    h, w = rows.shape[0], cols.shape[0]
    _, _, sw, mm, og = wcl.shape
    counts = np.zeros(h * w + 1, np.int64)
    pieces: list[np.ndarray] = []
    pos_of: list[np.ndarray] = []
    xs = np.arange(w)
    phase, m0, run, oc0 = (cols[:, i] for i in range(4))
    live = run > 0
    for y in range(h):
        for a in range(rows[y, 0]):
            ky, orow = rows[y, 1 + 2 * a], rows[y, 2 + 2 * a]
            o_cell = orow + oc0[live]
            w0 = ((ky * sw + phase[live]) * mm + m0[live]) * og
            if og == n_o:
                seg = np.stack([o_cell * n_o, w0, run[live] * og], axis=1)
                at = y * w + xs[live]
            else:  # one segment per cell of the run
                r = [np.arange(k) for k in run[live]]
                cell = np.concatenate([c + k for c, k in zip(o_cell, r)])
                ws = np.concatenate([w + k * og for w, k in zip(w0, r)])
                seg = np.stack([cell * n_o, ws, np.full(cell.size, og)], axis=1)
                at = y * w + np.repeat(xs[live], run[live])
            pieces.append(seg)
            pos_of.append(at)
    if not pieces:
        return counts, np.zeros((0, 3), np.int64)
    segs = np.concatenate(pieces).astype(np.int64)
    at = np.concatenate(pos_of)
    order = np.argsort(at, kind="stable")  # by input position; rows in order within one
    np.add.at(counts, at + 1, 1)
    return np.cumsum(counts), np.ascontiguousarray(segs[order])


def narrow(x: np.ndarray) -> np.ndarray:
    """Bool inputs as uint8 (numba compiles one loop per input dtype)."""
    return x.view(np.uint8) if x.dtype == np.bool_ else x


def conv_tables(
    in_chw, kernel, out_hw, stride, pads, dilation, weight
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the compiled convolutions take: ``rows``, ``cols`` and the run
    weights ``wr``, for PyTorch's cross-correlation (output ``(oy, ox)`` reads
    input ``(oy*sh - pt + ky*dh, ox*sw - pl + kx*dw)``) of ``weight[O, C/g, KH, KW]``.

    - ``rows[y]``: how many kernel rows reach an output row from input row
      ``y``, then (ky, oy * OW) pairs.
    - Columns: with the kernel's width dilated (zeros between taps, width
      ``KWd = (KW-1)*dw + 1``), an input column ``x`` of phase ``r = (x + pl)
      % sw`` is reached by the taps ``kx = r + sw*(M-1-m)``, ``m = 0 .. M-1``
      (``M = ceil(KWd / sw)``), which read consecutive output columns
      ``q - (M-1-m)`` (``q = (x + pl - r) / sw``). ``cols[x]`` = (r, first m
      inside the output, run length, first output column).
    - ``wr[C, KH, SW, Og, M]``: those runs' weights (zero where the dilated
      kernel has no tap), input channel ``c``'s to the outputs of its group.

    Tabulated once per layer, so the loops over events do no division."""
    c, h, wd = in_chw
    kh, kw = kernel
    oh, ow = out_hw
    sh, sw = stride
    (pt, _), (pl, _) = pads
    dh, dw = dilation
    rows = np.zeros((h, 1 + 2 * kh), np.int64)
    for y in range(h):
        for ky in range(kh):
            ty = y + pt - ky * dh
            if ty >= 0 and ty % sh == 0 and ty // sh < oh:
                n = rows[y, 0]
                rows[y, 1 + 2 * n], rows[y, 2 + 2 * n] = ky, (ty // sh) * ow
                rows[y, 0] = n + 1
    kwd = (kw - 1) * dw + 1
    mm = -(-kwd // sw)
    cols = np.zeros((wd, 4), np.int64)
    for xx in range(wd):
        r = (xx + pl) % sw
        q = (xx + pl - r) // sw
        m0, m1 = max(0, mm - 1 - q), min(mm, ow - q + mm - 1)
        cols[xx] = (r, m0, max(0, m1 - m0), q - (mm - 1) + m0)
    o, cg = weight.shape[:2]
    og = o // (c // cg)
    dilated = np.zeros((o, cg, kh, mm * sw), np.float64)
    dilated[:, :, :, :kwd:dw] = weight
    wr = np.zeros((c, kh, sw, og, mm), np.float64)
    for ch in range(c):
        gi = ch // cg
        part = dilated[gi * og : (gi + 1) * og, ch - gi * cg]  # [Og, KH, M*SW]
        for r in range(sw):
            taps = r + sw * (mm - 1 - np.arange(mm))  # m = 0 .. M-1
            wr[ch, :, r] = part[:, :, taps].transpose(1, 0, 2)
    return rows, cols, wr


__all__ = [
    "ENABLED",
    "blas_single_thread",
    "RESET_SUBTRACT",
    "RESET_ZERO",
    "disabled",
    "full",
    "kernels",
    "loaded",
    "narrow",
    "channels_last",
    "conv_segments",
    "conv_tables",
]
