"""SpiNNaker2 (py-spinnaker2): a network py-spinnaker2 rebuilds and runs,
placed on processing elements (PEs) and chips, simulated as the vendor's
Brian2 backend computes it.

Only :mod:`.spec` is imported here (cheap: the partitioner reads
``SPINNAKER2.capacity``); the rest is imported on demand:

- :mod:`.spec`: :data:`SPINNAKER2`, the machine, its population models and
  the per-PE memory formula (:class:`SpiNNaker2Capacity`);
- :mod:`.dialect`: the ``spinnaker2`` dialect (network, populations,
  projections, placement) with its verifiers;
- :mod:`.lower`: the `lower-spinnaker2` pass, fused `snn` -> ``spinnaker2``;
- :mod:`.rules`: what the chip cannot run, as diagnostics;
- :mod:`.quantize`: per-population int8 / 4-bit weight scales chosen on
  calibration data for task accuracy;
- :mod:`.simulator`: the Brian2-backend semantics, vectorized over a batch;
- :mod:`.emit`: ``network.json``, ``network.npz`` and ``run_spinnaker2.py``;
- :mod:`.report`: the resource report (text and JSON);
- :mod:`.target`: :class:`~.target.SpiNNaker2Target`.
"""

from __future__ import annotations

from .spec import SPINNAKER2, SpiNNaker2Capacity, SpiNNaker2Spec

__all__ = ["SPINNAKER2", "SpiNNaker2Capacity", "SpiNNaker2Spec"]
