"""What Xylo's mapping approximates, as float networks: the accuracy each costs.

Xylo cannot express every float neuron (see :mod:`.lower`): its decays are bit
shifts, it resets by subtraction, its hidden neurons emit up to 31 spikes per
step and its outputs one, and every neuron has a synaptic current. For each
such difference a compiled network shows, :func:`float_variants` gives the
float `snn` network with that one difference applied (and one with all of
them: the chip's arithmetic without its integers), so that ``nirc eval``
can say what each costs on the user's data, in the float semantics where
nothing else differs.
"""

from __future__ import annotations

import numpy as np

from nirc.dialects.nir import array_to_attr
from nirc.targets.base import neuron_variants

from .lower import dash_of, tau_steps
from .spec import XyloSpec

# a Xylo hidden neuron's spikes per step
HIDDEN_CAP = 31


def _set(op, name: str, value) -> None:
    op.properties[name] = array_to_attr(np.asarray(value, np.float64))


def _outputs(module) -> set[str]:
    from nirc.dialects import snn

    names: set[str] = set()
    for out in snn.top_graph(module).output_ops():
        for v in out.operands:
            p = snn.producer(v)
            while isinstance(p, snn.ReshapeOp):
                p = snn.producer(p.operands[0])
            if isinstance(p, snn.NeuronOp):
                names.add(p.node_name.data)
    return names


def _decays(op, integrator: str, spec: XyloSpec, choices: dict,
            fitted: frozenset = frozenset()) -> None:  # fmt: skip
    """The chip's bit-shift decays; a synaptic decay ``fitted`` (the neuron
    names whose synapse :func:`~.lower.split_synapses` spread over the chip's
    two) stays the float one: two synapses stand for it, not one dash."""
    from nirc.dialects import snn

    name = op.node_name.data
    for field, what in (("alpha_mem", "membrane"), ("alpha_syn", "synaptic")):
        a = snn.param(op, field)
        if a is None or (what == "synaptic" and name in fitted):
            continue
        alpha = np.asarray(a, np.float64).reshape(-1)
        if np.any(~(tau_steps(alpha, integrator) > 1.0)):
            return  # a decay the chip refuses: nothing to emulate
        dash = dash_of(name, what, alpha, integrator, spec, [], minimum=1 if what != "membrane"
                       else 0, prefer=choices.get(f"{name}.{what}"))  # fmt: skip
        chip = 1.0 - 2.0 ** (-dash.astype(np.float64))
        _set(op, field, chip.reshape(np.shape(a)) if np.ndim(a) else chip[0])


def _synapse(op) -> None:
    """A neuron without a synaptic stage gets the chip's: ``i = (i + x) / 2``,
    read in the same step."""
    from xdsl.dialects.builtin import StringAttr

    if op.has_synapse_stage:
        return
    _set(op, "alpha_syn", 0.5)
    _set(op, "gain_syn", 0.5)
    op.properties["current_order"] = StringAttr("same")


def _subtract(op) -> None:
    from xdsl.dialects.builtin import StringAttr

    if op.spiking and op.reset_mode() != "subtract":
        op.properties["reset"] = StringAttr("subtract")
        op.properties.pop("v_reset", None)


def _hidden_multi(op, caps: dict[str, int]) -> None:
    """Up to 31 spikes per step, or the cap the chosen thresholds leave
    (``caps``, by layer: see :func:`~.quantize.with_spike_caps`)."""
    from xdsl.dialects.builtin import StringAttr

    from nirc.dialects.snn import int_attr

    cap = caps.get(op.node_name.data, HIDDEN_CAP)
    if op.spiking and cap > 1 and op.spike_cap() != cap:
        op.properties["spikes"] = StringAttr("multi")
        op.properties["max_spikes"] = int_attr(cap)
        op.properties.setdefault("compare", StringAttr(op.compare_mode()))


def _spike_caps(notes: list[str]) -> dict[str, int]:
    from .quantize import CAP_NOTE

    caps = {}
    for n in notes:
        if CAP_NOTE in n:
            caps[n.split(": thresholds ")[0]] = int(n.split(CAP_NOTE)[1].split(" ")[0])
    return caps


def _output_binary(op) -> None:
    if op.spiking and op.spike_mode() == "multi":
        op.properties.pop("spikes", None)
        op.properties.pop("max_spikes", None)


def float_variants(module, report: dict, spec: XyloSpec) -> list[tuple[str, object]]:
    """``(what, float module)`` for each approximation of the compiled
    network (see the module docstring) that changes something, and ``all of
    them`` when there are several. ``module``: the float `snn` module
    (discretized, not fused); ``report``: the compile report (its
    approximations and the decay choices of the quantizer)."""
    from nirc.dialects import snn

    notes = " ".join(report.get("approximations") or [])
    choices = (report.get("quantization") or {}).get("decay_choices") or {}
    graph = snn.top_graph(module)
    integrator = graph.integrator.data if graph.integrator is not None else "euler"
    outputs = _outputs(module)
    edits = []
    fitted = frozenset(n.split(": synaptic decay ")[0] for n in report.get("approximations") or []
                       if " fitted by two synapses" in n)  # fmt: skip
    if " decay " in notes or "no membrane leak" in notes:
        edits.append(("decays as Xylo bit shifts",
                      lambda op: _decays(op, integrator, spec, choices, fitted)))  # fmt: skip
    if "no synaptic stage" in notes:
        edits.append(("the chip's synapse (dash_syn 1) on neurons without one", _synapse))
    if "approximated by the chip's reset by subtraction" in notes:
        edits.append(("reset by subtraction", _subtract))
    caps = _spike_caps(report.get("approximations") or [])
    several = [n.split(": binary spikes")[0] for n in report.get("approximations") or []
               if "hidden Xylo neurons may spike several times" in n]  # fmt: skip
    # layers whose thresholds keep them to one spike per step spike as the float ones
    several = [n for n in several if caps.get(n, HIDDEN_CAP) > 1]
    if several:
        label = "up to 31 spikes per step in hidden layers"
        if caps:
            label = "hidden spikes per step up to " + ", ".join(
                f"{caps.get(n, HIDDEN_CAP)} ({n})" for n in several)
        edits.append((label, lambda op: None if op.node_name.data in outputs
                      else _hidden_multi(op, caps)))  # fmt: skip
    if "output neurons spike at most once per step" in notes:
        edits.append(("one spike per step in output layers",
                      lambda op: _output_binary(op) if op.node_name.data in outputs else None))  # fmt: skip
    return neuron_variants(module, edits)


__all__ = ["float_variants"]
