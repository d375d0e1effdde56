"""SynSense Xylo: variants and limits, Rockpool's specification format, and a
bit-accurate simulator matching SynSense's xylosim.

- :mod:`.spec`: :class:`XyloSpec` per variant (``audio2``, ``audio3``, ``imu``)
- :mod:`.specification`: :class:`XyloSpecification`, the integer network (npz I/O)
- :mod:`.simulator`: :class:`XyloSimulator`, the bit-accurate model (compiled with numba,
  the `fast` extra; numpy otherwise, with the same numbers)
- :mod:`.dialect`: the `xylo` dialect (``xylo.network``, verified against a variant)
- :mod:`.lower`: the fused `snn` network placed on the chip's one hidden population
- :mod:`.rules`: the variant's limits on the mapped network, with diagnostics
- :mod:`.quantize`: per-neuron scales, one shift per matrix, searched for agreement
- :mod:`.target`: :class:`XyloTarget` (``nirc compile/run --target xylo``)
"""

from __future__ import annotations

from .simulator import XyloSimulator
from .spec import VARIANTS, XyloSpec, get_variant
from .specification import XyloSpecification

__all__ = ["VARIANTS", "XyloSimulator", "XyloSpec", "XyloSpecification", "get_variant"]
