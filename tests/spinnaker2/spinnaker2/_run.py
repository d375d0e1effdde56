"""The stand-in's simulation (one step at a time, float32 state, integer
weights, a spike at step t arriving at step t + 1 + delay) and its log."""

from __future__ import annotations

import json
import os

import numpy as np

F32 = np.float32


def _log(event):
    path = os.environ.get("S2_STANDIN_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(event) + "\n")


def _param(p, name, default):
    v = p.params.get(name, default)
    return np.broadcast_to(np.asarray(v, F32), (p.size,)).copy()


def _describe(net, hw, timesteps, sys_tick):
    pops = []
    for p in net.populations:
        params = {}
        for k, v in sorted(p.params.items()):
            if p.neuron_model == "spike_list":
                continue
            params[k] = v if isinstance(v, (str, int, float)) else [float(x) for x in v]
        spikes = ({str(k): list(v) for k, v in p.params.items()}
                  if p.neuron_model == "spike_list" else None)
        pops.append({"name": p.name, "size": p.size, "model": p.neuron_model, "params": params,
                     "record": p.record, "max_atoms_per_core": p.max_atoms_per_core,
                     "spike_list": spikes})
    projs = []
    for pr in net.projections:
        if hasattr(pr, "connections"):
            projs.append({"type": "Projection", "pre": pr.pre.name, "post": pr.post.name,
                          "connections": pr.connections.tolist()})
        else:
            projs.append({"type": "Conv2DProjection", "pre": pr.pre.name, "post": pr.post.name,
                          "weights": pr.weights.tolist(), "shape": list(pr.weights.shape),
                          "conv_params": pr.conv_params})
    return {"event": "run", "hw": hw.kind, "address": hw.address, "timesteps": timesteps,
            "sys_tick_in_s": sys_tick, "populations": pops, "projections": projs}


def _conv_input(pr, spikes_prev):
    """Per post neuron: the weighted sum of pre spikes of the last step."""
    c = pr.conv_params
    w = pr.weights.astype(np.float64)  # (C_in, C_out, kH, kW)
    cin, cout, kh, kw = w.shape
    x = spikes_prev.reshape(cin, c["in_height"], c["in_width"]).astype(np.float64)
    py, px = c["pool_y"], c["pool_x"]
    h, wd = c["in_height"] // py, c["in_width"] // px
    pooled = np.zeros((cin, h, wd))
    for i in range(h):
        for j in range(wd):
            pooled[:, i, j] = x[:, i * py : (i + 1) * py, j * px : (j + 1) * px].sum(axis=(1, 2))
    padded = np.zeros((cin, h + c["pad_top"] + c["pad_bottom"], wd + c["pad_left"] + c["pad_right"]))
    padded[:, c["pad_top"] : c["pad_top"] + h, c["pad_left"] : c["pad_left"] + wd] = pooled
    oh = (padded.shape[1] - kh) // c["stride_y"] + 1
    ow = (padded.shape[2] - kw) // c["stride_x"] + 1
    out = np.zeros((cout, oh, ow))
    for o in range(cout):
        for i in range(oh):
            for j in range(ow):
                patch = padded[:, i * c["stride_y"] : i * c["stride_y"] + kh,
                               j * c["stride_x"] : j * c["stride_x"] + kw]
                out[o, i, j] = (patch * w[:, o]).sum()
    return out.reshape(-1)


def run_network(hw, net, timesteps, sys_tick_in_s=None):
    _log(_describe(net, hw, timesteps, sys_tick_in_s))
    T = timesteps
    state = {}
    for p in net.populations:
        p.spikes = np.zeros((T, p.size), bool)
        p.voltages = np.zeros((T, p.size), F32)
        if p.neuron_model == "spike_list":
            for i, steps in p.params.items():
                for t in steps:
                    if 0 <= t < T:
                        p.spikes[t, int(i)] = True
            continue
        state[p.name] = {"v": _param(p, "v_init", 0.0), "i": np.zeros(p.size, F32),
                         "refrac": np.zeros(p.size, np.int64)}
    for t in range(T):
        for p in net.populations:
            if p.neuron_model == "spike_list":
                continue
            x = np.zeros(p.size, np.float64)
            for pr in net.projections:
                if pr.post is not p:
                    continue
                if hasattr(pr, "connections"):
                    for pre, post, w, d in pr.connections:
                        if t - 1 - d >= 0 and pr.pre.spikes[t - 1 - d, pre]:
                            x[post] += w
                elif t >= 1:
                    x += _conv_input(pr, pr.pre.spikes[t - 1])
            x = x.astype(F32)
            st = state[p.name]
            alpha = _param(p, "alpha_decay", 1.0)
            off = _param(p, "i_offset", 0.0)
            thr = _param(p, "threshold", 1.0)
            v_reset = _param(p, "v_reset", 0.0)
            if p.neuron_model in ("lif_curr_exp_no_delay", "lif_curr_exp"):
                st["i"] = _param(p, "exc_decay", 0.0) * st["i"] + x
                v = alpha * st["v"] + st["i"] + off
                held = st["refrac"] > 0
                v = np.where(held, v_reset, v).astype(F32)
                st["refrac"] = np.maximum(st["refrac"] - 1, 0)
            else:
                held = np.zeros(p.size, bool)
                v = alpha * st["v"] + x + off
            fired = (v > thr) & ~held
            if p.neuron_model in ("lif_curr_exp_no_delay", "lif_curr_exp"):
                st["refrac"][fired] = int(p.params.get("t_refrac", 0))
            if p.params.get("reset", "reset_by_subtraction") == "reset_by_subtraction":
                v = np.where(fired, v - thr, v).astype(F32)
            else:
                v = np.where(fired, v_reset, v).astype(F32)
            st["v"] = v
            p.spikes[t] = fired
            p.voltages[t] = v
