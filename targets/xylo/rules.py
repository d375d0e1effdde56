"""Xylo's rules on the mapped float network, each a NircError naming the node
(layer or port) and the limit.

Where the rules are checked:

- here (:func:`check_network`, on :class:`~.lower.XyloFloatNetwork`): input
  channels, hidden and output neuron counts per variant, fan-out per hidden
  neuron (left over when :func:`~.lower.split_fan_out` could not place alias
  neurons), one synapse on IMU, Audio 3 / IMU's first/last-128 input/output
  windows;
- in :mod:`.lower` while mapping: tau > dt and the dash range 0..15
  (:func:`~.lower.dash_of`), at most 2 (IMU: 1; output neurons: 1) distinct
  synaptic time constants per neuron, room for the alias neurons that split a
  fan-out above the limit, no weight -> weight, neurons receive only from
  weights, outputs straight from non-recurrent neurons fed by hidden ones,
  one-step delays only; one common dt holds by construction (an `snn` graph
  has one ``dt``);
- on the integer network (:meth:`XyloSpecification.validate`, also the
  ``xylo.network`` verifier): int8 weights, int16 thresholds, biases and
  shifted weights, synapses per neuron (IMU has one), one alias per neuron.
"""

from __future__ import annotations

import numpy as np

from nirc.diagnostics import NircError

from .lower import XyloFloatNetwork
from .spec import XyloSpec


def _layer_of(net: XyloFloatNetwork, neuron: int) -> str:
    for p in net.hidden:
        if p.start <= neuron < p.start + p.size:
            return p.name
    return "?"


def check_network(net: XyloFloatNetwork, spec: XyloSpec) -> None:
    """Raise a NircError on the first rule of ``spec`` the network breaks."""
    if net.n_in > spec.input_channels:
        raise NircError(
            f"too many input channels for {spec.title}",
            where=", ".join(f"{n} [{', '.join(map(str, s))}]" for n, s in net.inputs),
            expected=f"at most {spec.input_channels} input channels ({spec.name})",
            found=f"{net.n_in} channels",
            hint="reduce the input dimension (e.g. pool or select channels) before Xylo",
        )
    if net.n_hidden > spec.hidden_neurons:
        raise NircError(
            f"too many hidden neurons for {spec.title}",
            where=", ".join(f"{p.name} ({p.size})" for p in net.hidden),
            expected=f"at most {spec.hidden_neurons} hidden neurons ({spec.name})",
            found=f"{net.n_hidden} hidden neurons",
            hint="shrink the hidden layers or choose a larger variant (audio2: 1000)",
        )
    if net.n_out > spec.output_neurons:
        raise NircError(
            f"too many output neurons for {spec.title}",
            where=", ".join(f"{p.name} ({p.size})" for p in net.output),
            expected=f"at most {spec.output_neurons} output neurons ({spec.name})",
            found=f"{net.n_out} output neurons",
            hint="choose a variant with more outputs (audio3: 32) or read fewer classes",
        )
    # after lower.split_fan_out, only a network whose aliases did not fit gets here
    fan_out = np.count_nonzero((net.w_rec != 0) | (net.w_rec_2 != 0), axis=1)
    if fan_out.size and fan_out.max() > spec.max_fan_out:
        i = int(np.argmax(fan_out))
        raise NircError(
            "fan-out above the chip's limit",
            where=f"{_layer_of(net, i)} (hidden neuron {i})",
            expected=f"at most {spec.max_fan_out} hidden targets per hidden neuron ({spec.name})",
            found=f"{int(fan_out[i])} targets",
            hint="prune the weights leaving this layer, or target audio3 (1024) / imu (512)",
        )
    if spec.synapses_per_hidden < 2 and (np.any(net.w_in_2) or np.any(net.w_rec_2)):
        i = int(
            np.flatnonzero(np.any(net.w_in_2 != 0, axis=0) | np.any(net.w_rec_2 != 0, axis=0))[0]
        )
        raise NircError(
            f"a second synapse on {spec.title}, which has one per hidden neuron",
            where=f"{_layer_of(net, i)} (hidden neuron {i})",
            expected=f"{spec.synapses_per_hidden} synaptic time constant per hidden neuron ({spec.name})",
            found="weights onto synapse 2",
            hint="give the input paths one time constant, or target audio2 / audio3",
        )
    if spec.input_window is not None:
        fed = np.flatnonzero(np.any((net.w_in != 0) | (net.w_in_2 != 0), axis=0))
        if fed.size and fed.max() >= spec.input_window:
            i = int(fed.max())
            raise NircError(
                f"input weights outside {spec.title}'s input window",
                where=f"{_layer_of(net, i)} (hidden neuron {i})",
                expected=f"inputs reach only hidden neurons 0..{spec.input_window - 1} on {spec.title}",
                found=f"input weights onto hidden neuron {i}",
                hint=f"keep the layers fed by inputs within {spec.input_window} neurons",
            )
    if spec.output_window is not None and net.n_hidden > spec.output_window:
        first = net.n_hidden - spec.output_window
        feeding = np.flatnonzero(np.any(net.w_out != 0, axis=1))
        if feeding.size and feeding.min() < first:
            i = int(feeding.min())
            raise NircError(
                f"output weights outside {spec.title}'s output window",
                where=f"{_layer_of(net, i)} (hidden neuron {i})",
                expected=f"outputs read only the last {spec.output_window} hidden neurons "
                f"({first}..{net.n_hidden - 1}) on {spec.title}",
                found=f"output weights from hidden neuron {i}",
                hint=f"keep the layer read by the outputs within {spec.output_window} neurons",
            )


__all__ = ["check_network"]
