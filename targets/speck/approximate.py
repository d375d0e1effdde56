"""What Speck's lowering approximates (under ``--allow-approximate``), as float
networks: the accuracy each costs.

Speck's neurons do not leak, subtract the threshold in the step of a spike and
emit ``floor(v / threshold)`` spikes without a cap. For each such difference
a compiled network shows, :func:`float_variants` gives the float `snn`
network with that one difference applied (and one with all of them), so that
``nirc eval`` can say what each costs on the user's data, in the float
semantics where nothing else differs.
"""

from __future__ import annotations

import numpy as np

from nirc.dialects.nir import array_to_attr
from nirc.targets.base import neuron_variants


def _no_leak(op) -> None:
    from nirc.dialects import snn

    a = snn.param(op, "alpha_mem")
    if op.spiking and a is not None and not np.all(np.asarray(a) == 1.0):
        op.properties["alpha_mem"] = array_to_attr(np.asarray(1.0))


def _subtract_now(op) -> None:
    from xdsl.dialects.builtin import StringAttr

    if op.spiking and op.reset_mode() == "subtract_undecayed":
        op.properties["reset"] = StringAttr("subtract")


def _no_cap(op) -> None:
    op.properties.pop("max_spikes", None)


def float_variants(module, report: dict) -> list[tuple[str, object]]:
    """``(what, float module)`` for each approximation the compile report
    lists (see the module docstring), and ``all of them`` when there are
    several. ``module``: the float `snn` module (discretized, not fused)."""
    notes = " ".join(report.get("approximations") or [])
    edits = []
    if "leak dropped" in notes:
        edits.append(("no leak", _no_leak))
    if "subtracted in the step of the spike" in notes:
        edits.append(("the threshold subtracted in the step of the spike", _subtract_now))
    if "spikes per step dropped" in notes:
        edits.append(("no cap on the spikes per step", _no_cap))
    return neuron_variants(module, edits)


__all__ = ["float_variants"]
