"""The stand-in of ``spinnaker2.snn``: Population, Projection,
Conv2DProjection, Network (see the package docstring)."""

from __future__ import annotations

import numpy as np

MODELS = ("spike_list", "lif_no_delay", "lif_curr_exp_no_delay", "lif_conv2d", "lif",
          "lif_curr_exp")
CONV_KEYS = {"in_height", "in_width", "stride_x", "stride_y", "pool_x", "pool_y", "pad_top",
             "pad_bottom", "pad_left", "pad_right"}


class Population:
    def __init__(self, size, neuron_model, params, name, record=None):
        if neuron_model not in MODELS:
            raise ValueError(f"unknown neuron model {neuron_model}")
        if not isinstance(size, int) or size < 1:
            raise TypeError(f"size must be a positive int, got {size!r}")
        if record is not None and not set(record) <= {"spikes", "v", "v_last"}:
            raise ValueError(f"cannot record {record}")
        self.size = size
        self.neuron_model = neuron_model
        self.params = params
        self.name = name
        self.record = list(record or [])
        self.max_atoms_per_core = None
        self.spikes = None
        self.voltages = None

    def set_max_atoms_per_core(self, n):
        if not isinstance(n, int) or n < 1:
            raise TypeError(f"max atoms per core must be a positive int, got {n!r}")
        self.max_atoms_per_core = n

    def get_spikes(self):
        if "spikes" not in self.record:
            raise RuntimeError(f"{self.name} does not record spikes")
        return {i: np.flatnonzero(self.spikes[:, i]).tolist() for i in range(self.size)}

    def get_voltages(self):
        if "v" not in self.record:
            raise RuntimeError(f"{self.name} does not record v")
        return {i: self.voltages[:, i].copy() for i in range(self.size)}


class Projection:
    def __init__(self, pre, post, connections):
        conns = np.asarray(connections, dtype=np.int64).reshape(-1, 4)
        if len(conns) and (conns[:, 0].max() >= pre.size or conns[:, 1].max() >= post.size
                           or conns.min(axis=0)[:2].min() < 0):
            raise ValueError(f"connection indices outside {pre.name} / {post.name}")
        self.pre, self.post, self.connections = pre, post, conns


class Conv2DProjection:
    def __init__(self, pre, post, weights, conv_params):
        weights = np.asarray(weights)
        if weights.dtype != np.int8 or weights.ndim != 4:
            raise TypeError("Conv2DProjection weights must be int8 (C_in, C_out, kH, kW)")
        if set(conv_params) != CONV_KEYS:
            raise ValueError(f"conv_params keys {sorted(conv_params)}")
        if post.neuron_model != "lif_conv2d":
            raise ValueError("Conv2DProjection targets lif_conv2d populations")
        self.pre, self.post, self.weights, self.conv_params = pre, post, weights, dict(conv_params)


class Network:
    def __init__(self):
        self.populations = []
        self.projections = []

    def add(self, *objects):
        for o in objects:
            (self.populations if isinstance(o, Population) else self.projections).append(o)

    def reset(self):
        for p in self.populations:
            p.spikes = p.voltages = None
