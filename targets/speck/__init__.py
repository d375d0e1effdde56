"""SynSense Speck / DYNAP-CNN: 9 cores, each conv -> IAF -> sum pooling.

The parts of the target that work on a list of :class:`SpeckLayer` (what the
lowering from the ``snn`` dialect produces):

- ``spec``: :data:`SPECK`, every limit of the chip (:class:`SpeckSpec`);
- ``layer``: :class:`SpeckLayer` and :class:`Destination`;
- ``memory``: kernel / neuron / bias words a layer needs;
- ``rules``: :func:`check_layer`, :func:`check_network` and the IR-level
  helpers :func:`check_uniform`, :func:`check_neuron_kind`;
- ``placement``: :func:`place`, layers onto cores by bipartite matching;
- ``config``: :func:`to_samna_json` / :func:`from_samna_json` (samna's
  configuration layout) and :func:`resource_report`;
- ``simulator``: :class:`SpeckSimulator`, the bit-accurate simulation.

The compiler's side (imported on demand, not here):

- ``dialect``: the ``speck`` xDSL dialect (``speck.chip``, ``speck.core``...)
  and :func:`~.dialect.read_chip` / :func:`~.dialect.build_chip`;
- ``lower``: the `lower-speck` pass, fused `snn` -> ``speck``;
- ``quantize``: the per-layer scale search;
- ``target``: :class:`~.target.SpeckTarget`, ``nirc compile/run --target speck``.
"""

from __future__ import annotations

from .config import (
    SamnaConfig,
    format_resource_report,
    from_samna_json,
    resource_report,
    to_samna_config,
    to_samna_json,
)
from .layer import Destination, SpeckLayer, linear_as_conv_weights
from .memory import LayerMemory, bias_memory, kernel_memory, layer_memory, neuron_memory
from .placement import place, requirements_table
from .rules import check_layer, check_network, check_neuron_kind, check_uniform, layer_violations
from .simulator import SpeckSimulator
from .spec import SPECK, CoreCapacity, SpeckSpec

__all__ = [
    "SPECK",
    "CoreCapacity",
    "Destination",
    "LayerMemory",
    "SamnaConfig",
    "SpeckLayer",
    "SpeckSimulator",
    "SpeckSpec",
    "bias_memory",
    "check_layer",
    "check_network",
    "check_neuron_kind",
    "check_uniform",
    "format_resource_report",
    "from_samna_json",
    "kernel_memory",
    "layer_memory",
    "layer_violations",
    "linear_as_conv_weights",
    "neuron_memory",
    "place",
    "requirements_table",
    "resource_report",
    "to_samna_config",
    "to_samna_json",
]
