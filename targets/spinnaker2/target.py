"""The SpiNNaker2 target: ``nirc compile --target spinnaker2`` and ``nirc run --target spinnaker2``.

Pipeline::

    .nir / Graph / nir.NIRGraph / `nir` or `snn` module
      -> inline-subgraphs -> discretize{dt, reset, source} -> fold-weights -> fuse   (snn)
      -> extract: populations, projections (sparse), lags, models              (lower)
      -> quantize: weight scale and spike gain per population, searched on
         calibration inputs for the float network's predictions              (quantize)
      -> place on PEs and chips (the generic partitioner), per-PE memory     (placement)
      -> the spinnaker2 dialect (verified), then the artifacts: network.json,
         network.npz, run_spinnaker2.py, report.json, report.txt, model.mlir

Options (``CompileOptions.extra``): ``calib_steps``/``calib_batch``/``calib_rate``
(random calibration spikes when no ``--calibrate`` file), ``calib_samples``
(samples of the calibration file the scale search simulates, default 256),
``delays`` (``auto``/``model``/``relay``, see :mod:`.lower`), ``partition``
(``auto``/``index``), ``capacity``/``capacity_file`` (``nirc compile``'s
placement overrides), ``record_steps`` (the run length the PE recording
memory is sized for; default: the calibration inputs' length plus the
latency), ``input_copies`` (spike sources per input element; default: the
largest event count in the calibration inputs, or ``max_input_events`` when
larger: `nirc eval` passes its data's), ``weight_scale`` (one
scale for every population instead of the search), ``quick`` (max-abs scales,
no search). ``nirc compile`` sets ``delays``, ``calib_samples``,
``record_steps`` and ``weight_scale`` from ``--delays``, ``--calib-samples``,
``--record-steps`` and ``--weight-scale`` when they are given.
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

from .dialect import NetworkOp
from .network import NEURON
from .spec import SPINNAKER2

REPORT_FORMAT = "nirc-spinnaker2-report/1"


@dataclass
class Calibration:
    inputs: dict[str, np.ndarray]
    labels: np.ndarray | None
    label: str


def calibration(module, path: str | None, *, steps: int, rate: float, batch: int, seed: int,
                samples: int) -> Calibration:  # fmt: skip
    """The calibration inputs ``{input: [T, B, *shape]}``: an .npz in
    ``nirc run``'s layout, a labelled data set in the tasks' layout (``samples``
    of it drawn with ``seed``; see :func:`nirc.interpreter.snn.calibration_inputs`),
    or seeded random spikes."""
    from nirc.interpreter.snn import calibration_inputs

    c = calibration_inputs(module, path, steps=steps, rate=rate, batch=batch, seed=seed,
                           samples=samples)  # fmt: skip
    labels = getattr(c, "labels", None)
    label = getattr(c, "description", "") or (f"inputs of {Path(path).name}" if path else "")
    return Calibration({k: np.asarray(v) for k, v in c.items()}, labels, label)


@dataclass
class Lowered:
    """What :func:`lower_module` made."""

    module: Any  # the spinnaker2 module
    network: Any  # integer Network
    extraction: Any
    quantization: Any
    placement: Any
    capacity: Any
    calibration: Calibration
    float_module: Any
    reference: dict[str, np.ndarray]
    chip: dict[str, np.ndarray]
    samples: int
    fallbacks: list[str] = field(default_factory=list)  # rebuilt to fit the chips: why


def lower_module(module, *, delays: str = "auto", **options: Any) -> Lowered:
    """Lower a fused float `snn` module (see the module docstring); with
    ``replace_graph`` the module's `snn` graph is replaced by the network.

    Where the network does not fit the chips (a placement refusal), it is
    built again, and the placement notes say why: first without copies of
    multi-spike neurons (one chip neuron each, as max-abs builds them), then,
    with ``delays = auto``, with the delayed models where relays carried
    extra delays to keep 8-bit weights."""
    from .lower import extract

    notes: list[str] = []
    settings = {"delays": delays, "copies": True}
    while True:
        try:
            lowered = _lower_module(module, **settings, **options)
            break
        except Unplaceable as u:
            refusal = u.error.message
            if settings["copies"] and u.built:
                notes.append(f"as copies ({', '.join(u.built)}) the network would not fit "
                             f"({refusal}): one chip neuron per float neuron")  # fmt: skip
                settings["copies"] = False
                continue
            relayed = extract(module, delays="auto").relayed_for_bits \
                if settings["delays"] == "auto" else []  # fmt: skip
            if not relayed:
                raise u.error from None
            notes.append(f"relays for the delays of {', '.join(relayed)} would not fit "
                         f"({refusal}): the delayed models' synapses carry them, with 4-bit "
                         "weights")  # fmt: skip
            settings["delays"] = "model"
    lowered.placement.notes.extend(notes)
    lowered.fallbacks = notes
    return lowered


def _lower_module(
    module,
    *,
    calibrate: str | None = None,
    calib_steps: int = 100,
    calib_rate: float = 0.05,
    calib_batch: int = 2,
    calib_samples: int = 256,
    seed: int = 0,
    delays: str = "auto",
    copies: bool = True,
    partition: str = "auto",
    capacity_extra: Mapping[str, Any] | None = None,
    record_steps: int | None = None,
    input_copies: int | None = None,
    max_input_events: int | None = None,
    weight_scale: float | None = None,
    quick: bool = False,
    replace_graph: bool = True,
) -> Lowered:
    from nirc.dialects.snn import top_graph
    from nirc.interpreter.snn import run_snn
    from nirc.load import verify
    from nirc.passes.partition import capacity_from_options

    from . import quantize as q
    from . import rules
    from .dialect import build_network
    from .lower import extract
    from .placement import place_network

    if partition not in ("auto", "index"):
        raise NircError("unknown partition method", where="partition", expected="auto or index",
                        found=repr(partition))  # fmt: skip
    ex = extract(module, delays=delays)
    float_module = module.clone() if replace_graph else module
    cal = calibration(module, calibrate, steps=calib_steps, rate=calib_rate, batch=calib_batch,
                      seed=seed, samples=calib_samples)  # fmt: skip
    total = next(iter(cal.inputs.values())).shape[1] if cal.inputs else 0
    n = min(total, max(1, int(calib_samples)))
    subset = {k: v[:, :n] for k, v in cal.inputs.items()}
    input_sources: dict[str, int] = {}
    room = capacity_from_options(SPINNAKER2.capacity, dict(capacity_extra or {}))
    room_sources = room.chips * room.cores_per_chip * SPINNAKER2.models["spike_list"].max_atoms_per_core
    for p in ex.network.inputs:
        a = cal.inputs.get(p.name)
        if a is not None and a.size and np.min(a) < 0:
            raise NircError("SpiNNaker2 inputs are spikes: event counts cannot be negative",
                            where=p.name, expected="calibration event counts >= 0",
                            found=f"counts down to {np.min(a):g}")  # fmt: skip
        most = max(int(np.max(a)) if a is not None and a.size else 1, int(max_input_events or 1))
        input_sources[p.name] = max(1, int(input_copies) if input_copies else most)
        if input_sources[p.name] * p.elements > room_sources:  # before building that many sources
            raise NircError(
                "the input's event counts need more spike sources than the chips hold",
                where=p.name,
                expected=f"at most {room_sources:,} spike sources ({room.chips} chip(s) x "
                f"{room.cores_per_chip} PEs x 256)",
                found=f"{input_sources[p.name]:,} per element (the largest event count per step) "
                f"x "
                f"{p.elements:,} elements",
                hint="each element gets one spike source per event it may carry in a step: "
                "calibrate on counts the chip should take, or pass fewer events",
            )
    reference = run_snn(module, subset)
    if weight_scale is not None:
        if not 0 < weight_scale < np.inf:
            raise NircError("weight_scale must be a finite number > 0", where="weight_scale",
                            found=str(weight_scale))  # fmt: skip
        base = q.max_abs_scales(ex, {})
        choices = {k: q.Choice(float(weight_scale)) for k in base}
        qnet = q.integer_network(ex, choices, input_sources)
        quant = q.Quantization(choices, base, "given weight scale", cal.label, n)
        quant.effective(qnet)
    else:
        # random spikes say nothing about what the user trained: no search on them
        qnet, quant = q.search(ex, subset, reference, cal.label, input_copies=input_sources,
                               quick=quick or not calibrate, copies=copies)  # fmt: skip
    chip, spikes = q._run(qnet, subset)
    quant.score = q.score(reference, chip)
    rules.check_ranges(qnet)
    steps = next(iter(cal.inputs.values())).shape[0] if cal.inputs else 0
    models = {p.model for p in qnet.populations}
    record_v = any("v" in p.record for p in qnet.populations)
    cap = SPINNAKER2.capacity_for(models, recorded_steps=int(record_steps or steps + qnet.latency),
                                  record_voltages=record_v)  # fmt: skip
    cap = capacity_from_options(cap, dict(capacity_extra or {}))
    try:
        placement = place_network(qnet, cap, activity=q.activity(qnet, spikes), method=partition,
                                  seed=seed)  # fmt: skip
    except NircError as e:
        raise Unplaceable(e, [p.name for p in qnet.populations
                               if p.role == NEURON and p.copies > 1]) from None  # fmt: skip
    for p in qnet.populations:
        pp = placement.populations[p.name]
        if pp.max_atoms_per_core is not None and (len(pp.slices) > 1 or p.size > p.max_atoms_per_core):
            p.max_atoms_per_core = pp.max_atoms_per_core
    s2 = build_network(qnet, placement, cap)
    verify(s2)
    if replace_graph:
        graph = top_graph(module)
        top = next(op for op in s2.ops if isinstance(op, NetworkOp))
        top.detach()
        graph.parent_block().insert_op_before(top, graph)  # type: ignore[union-attr]
        graph.detach()
        graph.erase()
        s2 = module
    return Lowered(s2, qnet, ex, quant, placement, cap, cal, float_module, reference, chip, n)


def _print_ir(module) -> str:
    import io

    from xdsl.printer import Printer

    buf = io.StringIO()
    Printer(stream=buf).print_op(module)
    buf.write("\n")
    return buf.getvalue()


class SpiNNaker2Target(Target):
    name = "spinnaker2"
    reads = frozenset({"capacity", "capacity_file", "partition", "delays", "record_steps",
                       "weight_scale"})
    top_op = NetworkOp
    description = ("SpiNNaker2 (py-spinnaker2): populations on processing elements and chips, "
                   "float32 neurons, int8 (or 4-bit delayed) weights")  # fmt: skip
    spec = SPINNAKER2
    records = True  # `nirc run --target spinnaker2 --record POP[.v|.spikes]`

    def lower(self, model: Any, options: CompileOptions | None = None) -> Lowered:
        o = options or CompileOptions()
        if o.reset not in (None, "zero", "subtract"):
            raise NircError("unknown reset mode", expected="zero or subtract", found=str(o.reset))
        module = load_fused(model, o)
        e = dict(o.extra)
        return lower_module(
            module,
            calibrate=o.calibrate,
            calib_steps=int(e.get("calib_steps", 100)),
            calib_rate=float(e.get("calib_rate", 0.05)),
            calib_batch=int(e.get("calib_batch", 2)),
            calib_samples=int(e.get("calib_samples", 256)),
            seed=o.seed,
            delays=str(e.get("delays", "auto")),
            partition=str(e.get("partition", "auto")),
            capacity_extra={k: e[k] for k in ("capacity", "capacity_file") if k in e},
            record_steps=e.get("record_steps"),
            input_copies=e.get("input_copies"),
            max_input_events=e.get("max_input_events"),
            weight_scale=e.get("weight_scale"),
            quick=bool(e.get("quick", False)),
            replace_graph=True,
        )

    def compile(self, model: Any, options: CompileOptions | None = None) -> CompileResult:
        from nirc import diagnostics

        o = options or CompileOptions()
        outer = diagnostics.current_sink()
        with diagnostics.collecting(strict=o.strict or outer.strict) as sink:
            low = self.lower(model, o)
            for n in low.fallbacks:
                diagnostics.warn(n, where="spinnaker2 placement")
            if low.network.approximations:
                score = low.quantization.score
                diagnostics.warn(
                    "the SpiNNaker2 network approximates the float network ("
                    + "; ".join(low.network.approximations) + "); measured: prediction agreement "
                    f"{score['prediction_agreement']:.1%} on the calibration inputs "
                    f"({of_samples(score['prediction_agreement'], int(score['predicted']))})",
                    where=self.name,
                )  # fmt: skip
        outer.warnings.extend(sink.warnings)
        from .emit import artifacts
        from .report import build_report, report_text, summary

        name = Path(model).name if isinstance(model, (str, Path)) else type(model).__name__
        estimates = self.estimate(low.module, low.calibration.inputs,
                                  label=f"the calibration inputs ({low.calibration.label})")
        report = build_report(low, name, o, [w.render() for w in sink.warnings], estimates)
        files = artifacts(low.module, steps=_steps(low))
        files["report.json"] = json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n"
        files["report.txt"] = report_text(report)
        files["model.mlir"] = _print_ir(low.module)
        return CompileResult(self.name, low.module, files, report, summary(report))

    # -- simulating ------------------------------------------------------------------

    def _module(self, compiled: Any):
        return compiled.module if isinstance(compiled, CompileResult) else compiled

    def input_shapes(self, compiled: Any) -> dict[str, tuple[int, ...]]:
        from .dialect import read_network

        net, _, _ = read_network(self._module(compiled))
        return {p.name: tuple(p.shape) for p in net.inputs}

    def simulate(self, compiled: Any, inputs: Mapping[str, np.ndarray], *, probes: bool = False,
                 record: str = "", **_: Any) -> dict[str, np.ndarray]:  # fmt: skip
        """Run a ``spinnaker2`` module on ``{input: [T, B, *shape]}`` event
        counts as py-spinnaker2's Brian2 backend computes it; returns
        ``{output: [T, B, *shape]}`` aligned with the float network (spike
        counts times the population's spike gain; a readout's voltage in float
        units). ``probes`` adds ``<population>.spikes`` and ``.v`` of every
        neuron population; ``record`` (``"lif1,lif2.v"``) only the named ones."""
        from .dialect import read_network
        from .simulator import simulate

        net, _, _ = read_network(self._module(compiled))
        pops = [p.name for p in net.populations if p.role in ("neuron", "relay")]
        wanted = [r.strip() for r in record.split(",") if r.strip()]
        names = list(pops) if probes else []
        for w in wanted:
            base, state = (w, "") if w in pops else w.rpartition(".")[::2]
            if base not in pops or state not in ("", "v", "spikes"):
                raise NircError(
                    "--record names no population of the network",
                    where=f"--record {w}",
                    expected=f"a population ({', '.join(pops)}), optionally with .v or .spikes",
                )
            names.append(base)
        out = simulate(net, inputs, probes=tuple(dict.fromkeys(names)))
        if wanted:
            keep = {o.name for o in net.outputs}
            for w in wanted:
                keep |= {f"{w}.v", f"{w}.spikes"} if w in pops else {w}
            out = {k: v for k, v in out.items() if k in keep}
        return out

    def estimate(self, compiled: Any, inputs: Mapping[str, np.ndarray], *, label: str = "",
                 max_samples: int = 64) -> dict:  # fmt: skip
        """The ``estimates`` section (:func:`nirc.targets.estimates.estimate`):
        the network runs on ``inputs`` (the first ``max_samples`` samples, the
        chip's run of T + latency steps) with every population's spikes; every
        neuron and relay is updated every step, spike sources (inputs, bias
        sources) are placed on PEs like the neurons, a spike reaches the
        synapses of its nonzero weights, and the placement's PE of every
        neuron (chip = PE // PEs per chip) says which spikes cross PEs and
        chips."""
        from nirc.targets.estimates import Population, Synapses, count_activity, estimate

        from .dialect import read_network
        from .network import INPUT
        from .simulator import Simulator, check_inputs

        net, pes, cap = read_network(self._module(compiled))
        cut = {k: np.asarray(v)[:, :max_samples] for k, v in inputs.items()}
        arrays = check_inputs(net, cut)
        steps = max((a.shape[0] for a in arrays.values()), default=0) + net.latency
        spikes, _ = Simulator(net).run(arrays, steps)
        pops = []
        for p in net.populations:
            s = np.asarray(spikes[p.name])
            core = (np.asarray(pes[p.name], np.int64) if pes and p.name in pes
                    else np.zeros(p.size, np.int64))  # fmt: skip
            source = p.role in (INPUT, "bias")
            pops.append(Population(p.name, s.reshape(s.shape[0], s.shape[1], -1), core,
                                   "none" if source else "every step"))  # fmt: skip
        synapses = []
        for pr in net.projections:
            keep = pr.weights.data != 0
            synapses.append(Synapses(pr.pre, pr.post, pr.weights.col[keep].astype(np.int64),
                                     pr.weights.row[keep].astype(np.int64)))  # fmt: skip
        per_chip = int(cap.cores_per_chip) if cap is not None else int(self.spec.pes_per_chip)
        top = max((int(c.max()) for c in (p.core for p in pops) if c.size), default=0)
        activity = count_activity(pops, synapses, np.arange(top + 1) // per_chip)
        return estimate(activity, self.spec.figures, float(net.dt),
                        inputs=label or "the given inputs")  # fmt: skip

    def limits(self) -> list[tuple[str, str]]:
        s = self.spec
        c = s.capacity
        rows = [
            ("machine", f"{s.pes_per_chip} application PEs per chip (Cortex-M4F, float32), "
                        f"boards of {s.chips_per_board} chips"),
            ("PE memory", f"{s.pe_sram_bytes // 1024} KiB SRAM: {s.pe_instruction_bytes // 1024} "
                          f"KiB instruction, {s.pe_data_bytes // 1024} KiB data, of which "
                          f"{c.memory_per_core:,} B for the LIF app's regions"),
            ("PE memory formula", f"{c.fixed_bytes:g} B + {c.bytes_per_neuron:g} B/neuron + "
                                  f"{c.bytes_per_synapse:g} B/synapse + {c.bytes_per_input_axon:g} "
                                  f"B/synapse row + {c.bytes_per_source_slice:g} B/master "
                                  "population table entry + 1 B/conv kernel weight + recordings: "
                                  "spikes ((n+31)/32+2) words, voltages (n+1) words per step"),
            ("neurons per PE", f"{c.neurons_per_core} (the synapse word's 8-bit target index)"),
            ("router", f"{s.router_entries:,} entries per chip"),
        ]  # fmt: skip
        from .simulator import MODELLED_MODELS, VERIFIED_MODELS

        for m in s.models.values():
            w = f", weights {m.weight_range[0]}..{m.weight_range[1]}" if m.weight_range else ""
            d = f", delays {m.delay_range[0]}..{m.delay_range[1]}" if m.delay_range and \
                m.delay_range[1] else ""  # fmt: skip
            status = "verified" if m.name in VERIFIED_MODELS else "modelled"
            assert m.name in VERIFIED_MODELS + MODELLED_MODELS
            rows.append((m.name, f"{m.summary}; max atoms/PE {m.max_atoms_per_core}{w}{d} "
                                 f"[simulator: {status}]"))  # fmt: skip
        return rows + s.figures.rows()


def _steps(low: Lowered) -> int:
    a = next(iter(low.calibration.inputs.values()), None)
    return int(a.shape[0]) if a is not None else 0


__all__ = ["Calibration", "Lowered", "SpiNNaker2Target", "calibration", "lower_module"]
