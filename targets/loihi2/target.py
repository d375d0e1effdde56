"""The Loihi 2 target: ``nirc compile --target loihi2`` and ``nirc run --target loihi2``.

Pipeline::

    .nir / Graph / nir.NIRGraph / `nir` or `snn` module
      -> inline-subgraphs -> discretize{dt, reset, source} -> fold-weights -> fuse   (snn)
      -> the netx chain (lower.extract; rules)                                       (float)
      -> replicas: neurons that send counts or subtract built of several Loihi
         neurons where a dense layer allows it (replicas)
      -> quantize: Loihi's formats, scales searched on the calibration inputs
         against the float network's outputs (quantize.fast_search / search)
      -> placement on cores and chips (nirc.passes.partition.place, checked)
      -> loihi2.network (dialect)                                                     (loihi2)
      -> artifacts: model.net (netx HDF5), run_lava.py, report.json, report.txt,
         model.mlir

Options (``CompileOptions.extra``): ``calib_steps``/``calib_batch``/
``calib_rate`` (random calibration spikes when no ``calibrate`` file),
``calib_samples`` (at most this many samples of a calibration file: default
256 for the fast search, 1024 for the full one), ``search`` (``fast``, the
default with ``calibrate``: the layer-by-layer search of
:func:`.quantize.fast_search`, a few seconds for the task networks;
``full``: the end-to-end search of :func:`.quantize.search` with every
replica plan, minutes; ``quick``: threshold factors 1 and 0.7, the default on
random calibration spikes), ``replicas`` (``auto``, ``none`` or a number: how
neurons that send counts or subtract are built, :mod:`.replicas`),
``check_steps`` (also measure on fresh random inputs), ``input_bits`` (force
graded input spikes of that many bits; default: graded when the calibration
inputs hold counts above 1, or ``max_input_events`` does: `nirc eval` passes
the largest count of the data it evaluates), ``capacity``/``capacity_file``/``partition``
(placement, see :mod:`nirc.passes.partition`).

Timing (what ``nirc run --target loihi2`` and ``run_lava.py`` both do): the
chip answers ``latency`` steps late (one per layer), so a run of T input
steps is run for T + latency steps on lava's clock (the input padded with
zeros), every layer's state is reset at the step its first input arrives
(netx's ``Network(reset_interval=T + latency, reset_offset=1)``), and the
outputs are the last T steps: step t of the outputs answers step t of the
inputs, like the float network's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nirc.diagnostics import NircError
from nirc.targets.base import (
    CompileOptions,
    CompileResult,
    Target,
    Unplaceable,
    load_fused,
    of_samples,
)

from .spec import LOIHI2

REPORT_FORMAT = "nirc-loihi2-report/1"
REPLICAS = (4, 8)  # replica counts a full search compares (besides plain layers)
SEARCH_WORK = 40_000_000  # neuron-steps of calibration data each scale candidate is run on
DEFAULT_CALIB_SAMPLES = 1024  # samples of a calibration file the full search reads
FAST_CALIB_SAMPLES = 256  # ... and the fast one


# --------------------------------------------------------------------------------------
# calibration inputs
# --------------------------------------------------------------------------------------


def calibration(module, o: CompileOptions, mode: str = "full"):
    """The calibration inputs (:class:`nirc.interpreter.snn.Calibration`:
    ``{input: [T, B, *shape]}``, with ``labels`` when the file has them) and
    a label for the report: of the ``--calibrate`` file (nirc's layout,
    arrays per Input ``[T, B, *shape]``, or a labelled data set's, ``spikes``
    [N, T, *shape] and ``labels``; see
    :func:`~nirc.interpreter.snn.calibration_inputs`), at most
    ``calib_samples`` samples (default :data:`FAST_CALIB_SAMPLES` for the
    fast search, else :data:`DEFAULT_CALIB_SAMPLES`): a data set's drawn with
    ``seed``, per-Input arrays' evenly spread; else seeded random spikes."""
    from nirc.interpreter.snn import calibration_inputs

    steps = int(o.extra.get("calib_steps", 100))
    batch = int(o.extra.get("calib_batch", 2))
    rate = float(o.extra.get("calib_rate", 0.05))
    given = o.extra.get("calib_samples")
    limit = int(given) if given is not None else (
        FAST_CALIB_SAMPLES if mode == "fast" else DEFAULT_CALIB_SAMPLES)  # fmt: skip
    if limit < 1:
        raise NircError("calibration samples must be >= 1", where="calib_samples",
                        found=str(limit))  # fmt: skip
    x = calibration_inputs(module, o.calibrate or None, steps=steps, rate=rate, batch=batch,
                           seed=o.seed, samples=limit)  # fmt: skip
    if not o.calibrate or x.dataset:
        return x, x.description
    total = next(iter(x.values())).shape[1]
    if total > limit:
        pick = np.unique(np.linspace(0, total - 1, limit).round().astype(np.int64))
        for k in list(x):
            x[k] = np.ascontiguousarray(x[k][:, pick])
    used = next(iter(x.values())).shape[1]
    return x, f"{Path(o.calibrate).name}: {used} of {total} samples (per-Input arrays)"


GRADED_BITS = 24  # a graded spike's payload (the `loihi2.network` verifier's bound)


def input_bits_for(x: np.ndarray, forced: int | None, where: str | None = None) -> int:
    """0 (binary spikes) when every input is 0/1, else the payload bits of
    graded spikes that hold the largest count (at least 8)."""
    a = np.asarray(x)
    if a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.round(a))):
        raise NircError(
            "real-valued inputs: Loihi 2 takes spikes or graded spikes (integer counts)",
            where=where,
            expected="integers >= 0 (spikes, or event counts)",
            found="non-integer values",
            hint="encode the input as spikes (rate or delta coding)",
        )
    if a.size and a.min() < 0:
        raise NircError("negative inputs: Loihi's input spikes are counts >= 0", where=where,
                        found=f"minimum {float(a.min()):g}")  # fmt: skip
    top = int(a.max()) if a.size else 0
    bits = int(forced) if forced is not None else 0 if top <= 1 else max(8, top.bit_length())
    if bits > GRADED_BITS or (bits and top >= 1 << bits):
        raise NircError(
            "input event counts larger than Loihi's graded spikes carry",
            where=where,
            expected=f"counts up to {(1 << min(bits, GRADED_BITS)) - 1:,} "
            f"({min(bits, GRADED_BITS)}-bit payloads; at most {GRADED_BITS})",
            found=f"largest count {top:,}",
            hint="scale the event counts down, or encode them over more steps",
        )
    return bits


# --------------------------------------------------------------------------------------
# lowering
# --------------------------------------------------------------------------------------


@dataclass
class Lowered:
    """Everything `lower-loihi2` computed (the compile report reads it)."""

    module: Any  # the loihi2 module
    network: Any  # dialect.Network
    float_net: Any  # lower.FloatNetwork
    search: Any  # quantize.Search
    float_module: Any
    calibration: dict[str, np.ndarray]
    calibration_label: str
    reference: dict[str, np.ndarray]
    placement: Any  # partition.Placement
    placement_notes: list[str] = field(default_factory=list)
    search_mode: str = "full"


def _readout_range(float_net, module, calib) -> float | None:
    """The largest |v| and |i| the float readout layer reaches on the
    calibration inputs (None when the last layer spikes)."""
    from nirc.interpreter.snn import run_snn

    last = float_net.layers[-1]
    if last.spiking:
        return None
    probes = [f"{last.name}.v"] + ([f"{last.name}.i"] if last.neuron.alpha_syn is not None else [])
    rec = run_snn(module, calib, record=probes, with_outputs=False)
    top = max(float(np.max(np.abs(rec[p]))) if rec[p].size else 0.0 for p in probes)
    return max(top, 1e-12)


def float_run(module, float_net, calib, counted: bool, chunk: int = 64):
    """The float network on the calibration inputs, in chunks of samples:
    its outputs ``{output: [T, B, *shape]}`` and, when ``counted``, each
    approximated spiking layer's spike counts per sample and neuron ([B, n],
    over the steps; what the fast search matches hidden layers to)."""
    from nirc.interpreter.snn import run_snn

    names = [layer.name for layer in float_net.layers if layer.spiking and layer.notes] if counted else []
    # one run records the layers with the outputs, unless a layer shares an Output's name
    apart = bool(set(names) & {name for name, _ in float_net.outputs})
    total = next(iter(calib.values())).shape[1]
    outs: dict[str, list[np.ndarray]] = {}
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, total, chunk):
        part = {k: v[:, start : start + chunk] for k, v in calib.items()}
        rec = run_snn(module, part, record=names, with_outputs=not apart)
        for n in names:
            a = np.asarray(rec.pop(n), np.float64)
            parts[n].append(a.sum(axis=0).reshape(a.shape[1], -1))
        if apart:
            rec = run_snn(module, part)
        for k, v in rec.items():  # copies: views would keep the chunk's whole record alive
            outs.setdefault(k, []).append(np.array(v))
    reference = {k: np.concatenate(v, axis=1) for k, v in outs.items()}
    return reference, {n: np.concatenate(v) for n, v in parts.items()}


SEARCH_MODES = ("fast", "full", "quick")


def search_mode(o: CompileOptions) -> str:
    """The ``search`` option: ``fast`` (the default with ``--calibrate``:
    one threshold per approximated layer, layer by layer, on
    :data:`FAST_CALIB_SAMPLES` samples), ``full`` (every candidate scale,
    clip, rate gain and replica count, judged end to end, refined; on up to
    :data:`DEFAULT_CALIB_SAMPLES` samples) or ``quick`` (the default on random
    spikes, which say little about a task: threshold factors 1 and 0.7)."""
    mode = str(o.extra.get("search") or ("fast" if o.calibrate else "quick"))
    if mode not in SEARCH_MODES:
        raise NircError("unknown scale search", where="--search",
                        expected=" or ".join(SEARCH_MODES), found=mode)  # fmt: skip
    return mode


def build_plans(value, net, mode: str) -> list[list]:
    """The constructions to compare (:mod:`.replicas`), from the ``replicas``
    option: ``auto`` (default: the most exact constructions with
    :data:`~.replicas.DEFAULT_COPIES` replicas, which the fast search
    compares layer by layer with plain layers; the full search also compares
    other replica counts; on random calibration spikes (quick) every layer
    plain, then every layer as that construction, the whole network judged
    at once), ``none`` (every layer plain, as Loihi's neuron computes it) or
    a number of replicas (1..31).

    Why quick compares them too: random spikes say little about a task's
    scales, but a construction reproduces what the float neurons compute
    (counts, subtraction), which any input shows. Every layer plain, the
    frameworks' networks of tests/data/profiles lost 23-68 % of their
    output spikes on random inputs (Sinabs' IAF 1,935 -> 625, Rockpool's LIF
    1,355 -> 756, snnTorch's Leaky with subtraction 804 -> 622); built of 8
    replicas, 1,940, 1,489 and 809."""
    from .replicas import DEFAULT_COPIES, Build, alternatives, default_builds

    text = "auto" if value is None else str(value)
    if text == "auto":
        if mode == "quick":
            plain, built = [Build() for _ in net.layers], default_builds(net)
            return [plain] if built == plain else [plain, built]
        return [default_builds(net)] if mode == "fast" else alternatives(net, REPLICAS)
    if text == "none":
        return [[Build() for _ in net.layers]]
    if text.isdigit() and 1 <= int(text) <= 31:
        return [default_builds(net, int(text))]
    raise NircError("unknown replica count", where="--replicas",
                    expected=f"auto, none or a number of replicas 1..31 (default: auto, "
                    f"{DEFAULT_COPIES} replicas)", found=text)  # fmt: skip


def float_currents(module, net, calib, plans, samples: int = 64) -> dict[str, tuple[float, float]]:
    """For layers an integrator with encoders builds (:mod:`.replicas`): the
    largest positive and negative currents (99.9th percentiles, in
    thresholds) of the float network on (at most ``samples`` of) the
    calibration inputs: the range the encoders cover."""
    from nirc.interpreter.snn import run_snn

    from .replicas import ENCODER_RANGE

    names = {net.layers[k].name for plan in plans for k, b in enumerate(plan)
             if b.kind == "integrator" and net.layers[k].neuron.alpha_syn is not None}  # fmt: skip
    if not names:
        return {}
    total = next(iter(calib.values())).shape[1]
    pick = np.unique(np.linspace(0, total - 1, min(total, samples)).round().astype(np.int64))
    part = {k: np.ascontiguousarray(v[:, pick]) for k, v in calib.items()}
    rec = run_snn(module, part, record=[f"{n}.i" for n in sorted(names)], with_outputs=False)
    out = {}
    for layer in net.layers:
        if layer.name in names:
            i = np.asarray(rec[f"{layer.name}.i"], np.float64).reshape(-1, layer.size)
            i = i / np.asarray(layer.neuron.threshold, np.float64).reshape(1, -1)
            hi = float(np.quantile(np.maximum(i, 0), 0.999)) if i.size else ENCODER_RANGE[0]
            lo = float(np.quantile(np.maximum(-i, 0), 0.999)) if i.size else ENCODER_RANGE[0]
            out[layer.name] = (hi, lo)
    return out


def lower_module(float_module, o: CompileOptions) -> Lowered:
    """A fused float `snn` module -> a `loihi2` module (the steps of
    :mod:`.lower`).

    With ``replicas = auto``, a network whose replica constructions do not
    fit the chips (a placement refusal) is built again with every layer
    Loihi's neuron, and the placement notes say why: a Sinabs
    784-1,000-1,000-10 network built of 8 replicas needs 1,452 cores, plain
    30 (one chip has 128)."""
    from dataclasses import replace

    try:
        return _lower_module(float_module, o)
    except Unplaceable as u:
        if not u.built or str(o.extra.get("replicas") or "auto") != "auto":
            raise u.error from None
        built, refusal = u.built, u.error.message
    try:
        low = _lower_module(float_module, replace(o, extra={**o.extra, "replicas": "none"}))
    except Unplaceable as u:
        raise u.error from None
    low.placement_notes.append(f"built of replicas ({'; '.join(built)}) the network would not "
                               f"fit ({refusal}): every layer is Loihi's neuron")  # fmt: skip
    return low


def _lower_module(float_module, o: CompileOptions) -> Lowered:
    from nirc.passes.partition import capacity_from_options

    from . import quantize as qz
    from .dialect import Layer, Network, build_network
    from .lower import extract
    from .placement import place_network
    from .replicas import apply
    from .resources import cores_to_runs

    net = extract(float_module)
    mode = search_mode(o)
    calib, label = calibration(float_module, o, mode)
    x = calib[net.input_name]
    bits = input_bits_for(x, o.extra.get("input_bits"), net.input_name)
    most = int(o.extra.get("max_input_events") or 0)
    if o.extra.get("input_bits") is None and most > 1 and (bits == 0 or most >> bits):
        # the data's event counts, whatever the calibration inputs hold (nirc eval
        # passes its data's): binary input spikes would read every count as one
        bits = input_bits_for(np.array([most]), None, net.input_name)
    reference, counts = float_run(float_module, net, calib, counted=mode != "quick")
    rr = _readout_range(net, float_module, calib)
    # the full search runs on at most SEARCH_WORK neuron-steps of calibration
    # data (evenly spread samples); the result is then measured on all of it
    total = x.shape[1]
    pick = np.arange(total)
    if mode == "full":
        per_sample = x.shape[0] * sum(layer.size for layer in net.layers)
        keep = min(total, max(64, SEARCH_WORK // max(per_sample, 1)))
        pick = np.unique(np.linspace(0, total - 1, keep).round().astype(np.int64))
    part = {k: np.ascontiguousarray(v[:, pick]) for k, v in calib.items()}
    part_ref = {k: np.ascontiguousarray(v[:, pick]) for k, v in reference.items()}
    if len(pick) < total:
        counts = {k: v[pick] for k, v in counts.items()}
    # how layers that send counts or subtract are built (.replicas): the most
    # exact constructions, or (full search) the best of several replica counts
    candidates = build_plans(o.extra.get("replicas"), net, mode)
    currents = float_currents(float_module, net, part, candidates)
    ref_counts = qz.output_counts(part_ref)
    best = None
    for plan in candidates:
        xs = np.asarray(part[net.input_name])
        if mode == "fast":
            candidate, found = qz.fast_search(net, plan, xs, part_ref, input_bits=bits,
                                              readout_range=rr, layer_counts=counts,
                                              currents=currents)  # fmt: skip
        else:
            candidate = apply(net, plan, currents)
            found = qz.search(candidate, xs, part_ref, input_bits=bits, readout_range=rr,
                              float_counts=counts or None, quick=mode == "quick")  # fmt: skip
        # another plan must win significantly on the calibration samples (qz.keeps)
        hit = qz.matches(ref_counts, qz.output_counts(found.outputs))
        if best is None or qz.keeps((found.agreement, found.distance),
                                    (best[1].agreement, best[1].distance), hit, best[2]):  # fmt: skip
            best = (candidate, found, hit)
    net, found, _ = best
    if len(pick) < total:
        found = qz.evaluate(net, found.layers, np.asarray(x), reference, input_bits=bits,
                            found=found)  # fmt: skip
        label += f"; the scale search used {len(pick)} of them"
    capacity = capacity_from_options(LOIHI2.capacity, dict(o.extra))
    if capacity.chips > LOIHI2.max_chips:
        raise NircError("more chips than the largest Loihi 2 system", where="--chips",
                        expected=f"at most {LOIHI2.max_chips} (Hala Point)",
                        found=str(capacity.chips))  # fmt: skip
    t = x.shape[0]
    # spikes per neuron per step of each layer on the chip, within its aligned window
    activity = {layer.name: s[net.offset(k) : net.offset(k) + t].mean(axis=(0, 1)).reshape(-1)
                for k, (layer, s) in enumerate(zip(net.layers, found.chip_spikes))}  # fmt: skip
    try:
        placement, _, notes = place_network(net, found.layers, capacity, activity,
                                            method=str(o.extra.get("partition", "auto")),
                                            seed=o.seed)  # fmt: skip
    except NircError as e:
        raise Unplaceable(e, [f"{layer.name}: {layer.construction}" for layer in net.layers
                               if layer.construction != "plain"]) from None  # fmt: skip
    layers = []
    for layer, q in zip(net.layers, found.layers):
        cores = np.asarray(placement.layers[layer.name]).reshape(-1)
        layers.append(Layer(
            name=layer.name, kind=layer.kind, in_shape=tuple(layer.in_shape),
            shape=tuple(layer.shape), weight=q.weight, i_decay=q.i_decay, v_decay=q.v_decay,
            v_th=q.v_th, spiking=layer.spiking, scale=q.scale, placement=cores_to_runs(cores),
            sources=tuple(layer.sources), weight_rec=q.weight_rec, bias=q.bias,
            delay=layer.delay, flatten=layer.flatten, stride=tuple(layer.stride),
            padding=tuple(layer.padding), dilation=tuple(layer.dilation),
            groups=int(layer.groups), weight_exp=q.weight_exp,
            num_weight_bits=q.num_weight_bits, lag=int(layer.lag),
        ))  # fmt: skip
    network = Network(dt=net.dt, input_name=net.input_name, input_shape=tuple(net.input_shape),
                      layers=layers, outputs=list(net.outputs), input_bits=bits,
                      reset_offset=1, capacity=capacity,
                      output_select=net.output_select)  # fmt: skip
    module = build_network(network)
    return Lowered(module, network, net, found, float_module, calib, label, reference,
                   placement, notes, mode)  # fmt: skip


# --------------------------------------------------------------------------------------
# a netx file as a model
# --------------------------------------------------------------------------------------


@dataclass
class NetxModel:
    """A netx file given to ``nirc run --target loihi2``: input ``input``,
    output ``output`` (the last layer's spikes; its raw voltage when it can
    never spike), run with the compiled models' timing convention."""

    path: str
    network: Any  # netx.NetxNetwork


# --------------------------------------------------------------------------------------
# the target
# --------------------------------------------------------------------------------------


def _print_ir(module) -> str:
    import io

    from xdsl.printer import Printer

    buf = io.StringIO()
    Printer(stream=buf).print_op(module)
    buf.write("\n")
    return buf.getvalue()


def _graph_attr(module, name: str, default: str) -> str:
    from nirc.dialects.snn import top_graph

    attr = getattr(top_graph(module), name, None)
    return attr.data if attr is not None else default


class Loihi2Target(Target):
    name = "loihi2"
    reads = frozenset({"capacity", "capacity_file", "partition", "search", "replicas"})
    description = "Intel Loihi 2 through lava-dl netx: 8-bit weights, CUBA neurons, many cores"
    spec = LOIHI2
    records = True  # `nirc run --target loihi2 --record LAYER[.u|.v|.spikes]`

    @property
    def top_op(self):  # type: ignore[override]
        from .dialect import NetworkOp

        return NetworkOp

    # -- compiling -------------------------------------------------------------------

    def compile(self, model: Any, options: CompileOptions | None = None) -> CompileResult:
        from nirc import diagnostics

        o = options or CompileOptions()
        if o.reset not in (None, "zero", "subtract"):
            raise NircError("unknown reset mode", expected="zero or subtract", found=str(o.reset))
        outer = diagnostics.current_sink()
        with diagnostics.collecting(strict=o.strict or outer.strict) as sink:
            low = lower_module(load_fused(model, o), o)
            result = self._artifacts(model, o, low, sink)
        outer.warnings.extend(sink.warnings)
        return result

    def _artifacts(self, model, o: CompileOptions, low: Lowered, sink):
        from nirc import diagnostics

        from .netx import network_to_netx, write_netx
        from .report import build_report, report_text, summary
        from .run_lava import run_lava_script

        agreement = self._agreement(low, o)
        if low.float_net.notes:
            cal = agreement["calibration"]
            diagnostics.warn(
                "the Loihi 2 network approximates the float network ("
                + "; ".join(low.float_net.notes) + "); measured on the calibration inputs: "
                f"{cal['prediction_agreement']:.1%} of the argmax predictions agree "
                f"({of_samples(cal['prediction_agreement'], cal['samples'])})",
                where=self.name,
            )
        for n in low.placement_notes:
            diagnostics.warn(n, where="loihi2 placement")
        name = Path(model).name if isinstance(model, (str, Path)) else type(model).__name__
        estimates = self.estimate(low.module, low.calibration,
                                  label=f"the calibration inputs ({low.calibration_label})")
        report = build_report(name, low, agreement, o, [w.render() for w in sink.warnings],
                              {"source": _graph_attr(low.float_module, "source", "nir"),
                               "reset": _graph_attr(low.float_module, "reset", "zero")},
                              estimates)  # fmt: skip
        artifacts: dict[str, Any] = {
            "model.net": write_netx(network_to_netx(low.network)),
            "run_lava.py": run_lava_script(low.network, name),
            "report.json": json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n",
            "report.txt": report_text(report),
            "model.mlir": _print_ir(low.module),
        }
        return CompileResult(self.name, low.module, artifacts, report, summary(report))

    def _agreement(self, low: Lowered, o: CompileOptions) -> dict:
        from nirc.metrics import mean_spike_count, outputs_agreement

        from .quantize import output_counts, score

        def entry(label, reference, got, max_abs=None):
            ref_c, got_c = output_counts(reference), output_counts(got)
            pred, dist = score(ref_c, got_c)
            within, per = outputs_agreement(reference, got)
            out = {
                "inputs": label,
                "prediction_agreement": round(pred, 6),
                "samples": int(ref_c.shape[0]),
                "count_distance": round(dist, 6),
                "agreement": round(within, 6),
                "per_output": {k: round(v, 6) for k, v in sorted(per.items())},
                "reference_spikes_per_output_neuron": round(mean_spike_count(reference), 4),
            }
            if max_abs is not None:
                out["max_abs_prediction_agreement"] = round(max_abs[0], 6)
                out["max_abs_count_distance"] = round(max_abs[1], 6)
            return out

        s = low.search
        ag = {
            "metric": "argmax of the output counts over the window (ties to the lowest index), "
            "the float snn reference against lava's fixed-point arithmetic; also per-output "
            "spike counts within +-1",
            "calibration": entry(low.calibration_label, low.reference, s.outputs,
                                 (s.max_abs_agreement, s.max_abs_distance)),
        }  # fmt: skip
        labels = getattr(low.calibration, "labels", None)
        ref_c, got_c = output_counts(low.reference), output_counts(s.outputs)
        if labels is not None and len(labels) == ref_c.shape[0] and len(low.float_net.outputs) == 1:
            ag["calibration"]["accuracy"] = {
                "float": round(float(np.mean(np.argmax(ref_c, 1) == labels)), 6),
                "loihi2": round(float(np.mean(np.argmax(got_c, 1) == labels)), 6),
            }
        steps = int(o.extra.get("check_steps", 0) or 0)
        if steps > 0:
            from nirc.interpreter.snn import calibration_inputs, run_snn

            batch = int(o.extra.get("calib_batch", 2))
            rate = float(o.extra.get("calib_rate", 0.05))
            fresh = calibration_inputs(low.float_module, None, steps=steps, rate=rate, batch=batch,
                                       seed=o.seed + 1, role="check")  # fmt: skip
            ref = run_snn(low.float_module, fresh)
            got = self.simulate(low.module, fresh)
            ag["check"] = entry(f"{batch} x {steps} steps of random spikes, p = {rate:g}, seed "
                                f"{o.seed + 1}", ref, got)  # fmt: skip
        return ag

    # -- loading and simulating -------------------------------------------------------

    def load(self, model: Any) -> Any | None:
        """A compiled module (``model.mlir`` or a `loihi2` module), a netx file
        (``.net``/``.h5``/``.hdf5``: see :class:`NetxModel`) or a compiled
        output directory (its ``model.mlir``); None for models to compile."""
        import os

        if isinstance(model, (str, os.PathLike)):
            p = Path(model)
            if p.is_dir() and (p / "model.mlir").exists():
                return self.load(p / "model.mlir")
            if p.suffix in (".net", ".h5", ".hdf5") and p.exists():
                from .netx import read_netx

                return NetxModel(str(p), read_netx(p))
            if p.suffix == ".mlir" and p.exists() and "loihi2.network" in p.read_text(encoding="utf-8", errors="replace"):
                return _parse(p)
            return None
        if isinstance(model, NetxModel):
            return model
        from .dialect import is_loihi2_module

        return model if is_loihi2_module(model) else None

    def _network(self, compiled: Any):
        from .dialect import read_network

        if isinstance(compiled, CompileResult):
            compiled = compiled.module
        if isinstance(compiled, NetxModel):
            return compiled
        return read_network(compiled)

    def input_shapes(self, compiled: Any) -> dict[str, tuple[int, ...]]:
        net = self._network(compiled)
        if isinstance(net, NetxModel):
            return {"input": tuple(net.network.input_shape)}
        return {net.input_name: tuple(net.input_shape)}

    def simulate(self, compiled: Any, inputs: Mapping[str, np.ndarray], *, record: str = "",
                 probes: bool = False, jit: bool | None = None, **_: Any) -> dict[str, np.ndarray]:  # fmt: skip
        """Run a compiled network on ``{input: [T, B, *shape]}`` spikes (or
        graded counts); returns ``{output: [T, B, *shape]}`` aligned with the
        inputs (see the module docstring): spike counts, or a readout's
        dequantized voltage. ``record`` (``"layer,layer.v"``) or ``probes``
        (every layer) add ``<layer>.spikes``, ``.u`` and ``.v`` ([T, B,
        *shape], aligned: step t of a layer answers input step t; u and v in
        lava's integer units)."""
        from .netx import lava_layers, network_to_netx
        from .quantize import select_outputs
        from .simulator import Loihi2Simulator

        net = self._network(compiled)
        if isinstance(net, NetxModel):
            names = [f"layer{k + 1}" for k in range(len(net.network.layers))]
            in_name, in_shape = "input", tuple(net.network.input_shape)
            netx_net, reset, bits = net.network, 1, None
        else:
            names = [layer.name for layer in net.layers]
            in_name, in_shape = net.input_name, tuple(net.input_shape)
            netx_net, reset, bits = network_to_netx(net), net.reset_offset, net.input_bits
        wanted = self._records(record, names, probes)
        if in_name not in inputs:
            raise NircError("inputs missing for the chip",
                            expected=f"`{in_name}` [T, B, {', '.join(map(str, in_shape))}]",
                            found=", ".join(f"`{k}`" for k in inputs) or "none")  # fmt: skip
        x = np.asarray(inputs[in_name])
        if x.ndim != len(in_shape) + 2 or tuple(x.shape[2:]) != in_shape:
            raise NircError(f"input `{in_name}` has the wrong shape", where=in_name,
                            expected=f"[T, B, {', '.join(map(str, in_shape))}]",
                            found=str(list(x.shape)))  # fmt: skip
        if bits is None:
            bits = input_bits_for(x, None, in_name)
        else:
            input_bits_for(x, bits, in_name)
            if bits == 0 and x.size and x.max() > 1:
                from nirc.diagnostics import warn

                warn("the input holds counts above 1, but the network was compiled for binary "
                     "spikes (lava reads any count as one spike); compile with --calibrate on "
                     "count data for graded input spikes", where=in_name)  # fmt: skip
        t, b = x.shape[:2]
        netx_only = isinstance(net, NetxModel)
        lat = len(netx_net.layers) if netx_only else net.latency
        steps = t + lat
        xs = np.concatenate([x, np.zeros((lat, b) + in_shape, x.dtype)]).astype(np.int64)
        sim = Loihi2Simulator(lava_layers(netx_net), input_bits=bits,
                              reset_interval=steps if reset is not None else None,
                              reset_offset=reset or 0)  # fmt: skip
        last = len(netx_net.layers) - 1
        layer_ids = sorted({names.index(n) for n, _ in wanted} | {last})
        res = sim.run(xs, record=layer_ids, jit=jit)
        out: dict[str, np.ndarray] = {}
        if netx_only:
            lv = netx_net.layers[-1]
            never = lv.neuron is None or (lv.neuron.v_th << 6) >= (1 << 23)
            vals = res[f"v{last}"] if never else res[f"s{last}"]
            out["output"] = vals[lat : lat + t].astype(np.float32)
        else:
            top = net.layers[-1]
            if top.spiking:
                vals = select_outputs(res[f"s{last}"][lat : lat + t].reshape(t, b, -1),
                                      net.output_select)  # fmt: skip
            else:
                v = res[f"v{last}"][lat : lat + t].reshape(t, b, -1)
                vals = (v / (64.0 * np.broadcast_to(top.scale, (top.size,)))).astype(np.float32)
            for name, shape in net.outputs:
                out[name] = vals.reshape((t, b) + tuple(shape))
        for name, state in wanted:
            k = names.index(name)
            key = {"spikes": "s", "u": "u", "v": "v"}[state]
            start = k + 1 if netx_only else net.offset(k)
            arr = res[f"{key}{k}"][start : start + t]
            out[f"{name}.{state}"] = arr.astype(np.float32 if state == "spikes" else np.int32)
        return out

    def estimate(self, compiled: Any, inputs: Mapping[str, np.ndarray], *, label: str = "",
                 max_samples: int = 64) -> dict:  # fmt: skip
        """The ``estimates`` section (:func:`nirc.targets.estimates.estimate`):
        the network runs on ``inputs`` (the first ``max_samples`` samples) with
        every layer's spikes recorded; every neuron is updated every step, a
        spike (binary or graded: one message) reaches the synapses of its
        nonzero weights, and the placement's core of every neuron (chip = core
        // cores per chip) says which spikes cross cores and chips."""
        from nirc.targets.estimates import (
            Population,
            conv_synapses,
            count_activity,
            dense_synapses,
            estimate,
        )

        net = self._network(compiled)
        if isinstance(net, NetxModel):
            raise NircError("an estimate needs a network compiled by nirc (a `loihi2` module)",
                            found="a netx file", hint="estimate the .nir model")  # fmt: skip
        cut = {k: np.asarray(v)[:, :max_samples] for k, v in inputs.items()}
        names = [layer.name for layer in net.layers]
        run = self.simulate(compiled, cut, record=",".join(f"{n}.spikes" for n in names))
        x = np.asarray(cut[net.input_name])
        T, B = x.shape[:2]
        source = net.input_name if net.input_name not in names else f"input {net.input_name}"
        pops = [Population(source, (x != 0).reshape(T, B, -1), None, "none")]
        synapses = []
        pre = source
        for layer in net.layers:
            spikes = np.asarray(run[f"{layer.name}.spikes"]).reshape(T, B, -1) != 0
            pops.append(Population(layer.name, spikes, np.asarray(layer.cores, np.int64)))
            if layer.kind == "conv":
                synapses.append(conv_synapses(pre, layer.name, layer.weight, layer.in_shape,
                                              layer.shape, layer.stride, layer.padding,
                                              layer.dilation, int(layer.groups)))  # fmt: skip
            else:
                synapses.append(dense_synapses(pre, layer.name,
                                               np.asarray(layer.weight).reshape(layer.size, -1).T))
            if layer.weight_rec is not None:
                synapses.append(dense_synapses(layer.name, layer.name,
                                               np.asarray(layer.weight_rec).T))  # fmt: skip
            pre = layer.name
        cores = max(int(np.max(layer.cores)) for layer in net.layers) + 1
        chip_of_core = np.arange(cores) // int(net.capacity.cores_per_chip)
        activity = count_activity(pops, synapses, chip_of_core)
        return estimate(activity, self.spec.figures, float(net.dt),
                        inputs=label or "the given inputs")  # fmt: skip

    def _records(self, record: str, names: list[str], probes: bool) -> list[tuple[str, str]]:
        states = ("spikes", "u", "v")
        items = [r.strip() for r in (record or "").split(",") if r.strip()]
        if probes and not items:
            items = list(names)
        out: list[tuple[str, str]] = []
        for item in items:
            if item in names:
                out += [(item, s) for s in states]
                continue
            layer, _, state = item.rpartition(".")
            if layer in names and state in states:
                out.append((layer, state))
                continue
            from nirc.diagnostics import closest

            near = closest(item, names + [f"{n}.{s}" for n in names for s in states])
            raise NircError(
                "--record names no layer or state of the chip",
                where=f"--record {item}",
                expected=f"a layer ({', '.join(names)}), optionally with .spikes, .u or .v",
                hint=f"did you mean `{near}`?" if near else None,
            )
        return list(dict.fromkeys(out))

    def limits(self) -> list[tuple[str, str]]:
        s = self.spec
        c = s.capacity
        rows = [
            ("chip", f"{s.cores_per_chip} neuron cores, up to {s.neurons_per_core:,} neurons and "
             f"{s.memory_per_core // 1024} KiB SRAM per core (public figures)"),
            ("systems", f"boards of {s.chips_per_board} chips (Kapoho Point) to {s.max_chips:,} chips "
             "(Hala Point); default 1 chip, --chips N"),
            ("weights", "integers of 8 bits and a sign ([-256, 254]; [0, 255] or [-255, 0] with "
             "one sign), per-layer exponent chosen by netx"),
            ("decays", f"{s.decay_bits}-bit iDecay/vDecay: the state keeps (4096 - d)/4096 per step"),
            ("threshold", f"{s.threshold_bits}-bit vThMant (v > vThMant << {s.threshold_shift})"),
            ("bias", f"{s.bias_bits}-bit mantissa, exponent {s.bias_exp}"),
            ("states", f"{s.state_bits}-bit u (wraps) and v (saturates)"),
            ("delays", f"0..{s.max_delay} steps per synapse (dense layers)"),
            ("network", "a netx chain: input -> dense / dense_rec / conv layers -> output; pools "
             "folded into weights; one step of latency per layer"),
            ("replicas", "dense layers whose neurons send spike counts or subtract their "
             "threshold: built of several neurons (integrators, ladders with relays, current "
             "encoders; --replicas N, default 8 per neuron, or none)"),
            ("capacity model", f"nirc's estimate: {c.bytes_per_neuron:g} B/neuron, "
             f"{c.bytes_per_synapse:g} B/synapse, {c.bytes_per_shared_weight:g} B/shared conv "
             f"weight, {c.bytes_per_input_axon:g} B/input axon, {c.bytes_per_source_slice:g} "
             f"B/source, {c.fixed_bytes:g} B/core (override: --core-neurons, "
             "--core-synapse-memory, --chips, --capacity FILE.json)"),
        ]  # fmt: skip
        rows += [(f"source: {k}", v) for k, v in c.sources]
        return rows + s.figures.rows()


def _parse(path: Path):
    """Parse and verify a `loihi2` .mlir file."""
    from nirc.load import parse_mlir

    return parse_mlir(path)


__all__ = ["Loihi2Target", "Lowered", "NetxModel", "calibration", "float_run", "input_bits_for",
           "load_fused", "lower_module"]  # fmt: skip
