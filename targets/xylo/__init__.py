"""SynSense Xylo: variants and limits, Rockpool's specification format, and a
bit-accurate simulator matching SynSense's xylosim.

- :mod:`.spec`: :class:`XyloSpec` per variant (``audio2``, ``audio3``, ``imu``)
- :mod:`.specification`: :class:`XyloSpecification`, the integer network (npz I/O)
- :mod:`.simulator`: :class:`XyloSimulator`, the bit-accurate numpy model
"""

from __future__ import annotations

from .simulator import XyloSimulator
from .spec import VARIANTS, XyloSpec, get_variant
from .specification import XyloSpecification

__all__ = ["VARIANTS", "XyloSimulator", "XyloSpec", "XyloSpecification", "get_variant"]
