"""Intel Loihi 2 through lava-dl's netx: the chip's limits, its dialect, the
netx HDF5 emitter and reader, and a simulator bit-exact with lava's
fixed-point model.

Importing this package is cheap (only :mod:`.spec`); the compiler's side is
imported on demand:

- :mod:`.spec`: :data:`LOIHI2`, every number of the chip (formats, cores,
  chips) and its :class:`~nirc.passes.partition.CapacityModel`;
- :mod:`.dialect`: the ``loihi2`` xDSL dialect (``loihi2.network``,
  ``loihi2.layer``), verified against the formats and the placement;
- :mod:`.rules`: what netx's layer chain can hold, each refusal a diagnostic;
- :mod:`.lower`: the `lower-loihi2` pass, fused `snn` -> ``loihi2``;
- :mod:`.quantize`: Loihi number formats, scales calibrated for the task;
- :mod:`.netx`: the netx HDF5 writer (deterministic) and reader;
- :mod:`.simulator`: :class:`~.simulator.Loihi2Simulator` (lava's ``fixed_pt``
  model, vectorized over a batch), with :mod:`.kernels` (numba, optional);
- :mod:`.resources`: what each core holds, as the capacity model counts it;
- :mod:`.placement`: the `partition` pass run on the chip's own layers;
- :mod:`.run_lava`: the emitted ``run_lava.py`` script;
- :mod:`.report`: the resource / quantization report;
- :mod:`.target`: :class:`~.target.Loihi2Target` (``nirc compile/run --target loihi2``).
"""

from __future__ import annotations

from .spec import LOIHI2, Loihi2Capacity, Loihi2Spec

__all__ = ["LOIHI2", "Loihi2Capacity", "Loihi2Spec"]
