"""Spike counts and resets by subtraction, built from Loihi's binary neurons.

lava's CUBA neuron sends at most one spike per step, and when it spikes it
sets its voltage ``v`` to zero; its current ``u`` is never reset. Rockpool's
and Sinabs' neurons send a spike *count* (``floor(v / thr)``) and subtract
``n * thr``; snnTorch's subtract ``thr`` in the next step. A dense layer of
such neurons can be built exactly, or nearly, from more Loihi neurons
(:func:`default_builds` chooses, per layer; the layer becomes ``dense_rec``):

**integrator** (exact): the float membrane lives in the neurons' *current*
u (``iDecay`` from the membrane's decay), which no spike resets; ``v`` keeps
nothing (``vDecay`` 4096: ``v = u + bias``). Replica j (1..J) of a neuron
fires when u exceeds j thresholds (a bias of ``-(j - 1) thr`` on ``v``), so
the replicas that fire are the float neuron's count (up to J); each sent
spike subtracts, through the recurrent synapse, ``alpha_mem * thr`` from
every replica's u at the next step (``thr`` for snnTorch's subtraction in
the next step): the float reset, exactly. The float bias enters u through
an always-on neuron (one per layer). A neuron with a current stage gets
**encoders**: neurons whose u is the float current (``iDecay`` from the
synapse's decay, the neuron's weights, or their negation) and whose bias
makes encoder k fire when the current exceeds ``(k - 1/2) delta``: each step
they send the current rounded to ``delta`` (a quarter threshold) to the
replicas' u, one step later. So such a layer answers one step late (``lag``)
when its membrane reads the current of the same step, on time when it reads
the previous step's; the current is clipped to the range the encoders cover
(from the calibration inputs). Cost: J + the encoders per neuron, so with a
current stage it is used for the last layer and for recurrent layers (where
it followed the float network more closely than ladders, the layer's own
spikes reaching its current one step late).

**ladder** (a layer with a current stage that a dense layer reads): the
replicas keep Loihi's roles (u the current, v the membrane), replica j fires
when v exceeds j thresholds and is set to zero by Loihi when it does. They
tell each other what they sent through the recurrent synapse, so that each
follows the float membrane: at a step where replicas 1..M fire, the float
neuron sends ``n = min(M, cap)`` and keeps ``carry(V, n)`` for the next step
(``a_m (V - n thr)``, or ``a_m V - n thr``); a replica that did not fire
still holds V and needs ``carry(V, n) - a_m V`` (exact: V cancels); a
replica that fired holds 0 and needs ``carry(V, n)``, which it knows only to
within its interval (M thr, (M + 1) thr]: it restarts from the middle (the
one approximation, at most half a threshold). These corrections depend only
on M, which the replicas' spikes encode as a prefix, so they telescope into
fixed recurrent weights (:func:`lateral_block`). The recurrent synapse adds
to u, which would smear a correction over the current's decay, so each
replica has a **relay**: a memoryless neuron (``iDecay = vDecay = 4096``,
bias one below the threshold mantissa, weight 2 from its replica) that fires
the step after its replica and sends ``-a_syn`` times the replica's
corrections, cancelling what the current keeps: v sees one correction, one
step after the spike, as the float membrane does. The quantizer writes the
relays' rows in Loihi's integers (:func:`~.quantize.quantize_layer`).

**independent** (a layer with netx delays, which ``dense_rec`` cannot
hold): J binary replicas with thresholds ``j thr``, each resetting to zero
on its own; the next layer reads all of them. Approximate.

A neuron's members are consecutive (replicas first); the next layer reads
the replicas that send with the neuron's weight (so it receives the count),
and a last layer's :attr:`~.lower.FloatNetwork.output_select` names, per
neuron, the output element it counts for.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .lower import MULTI_NOTE, STEADY_BIAS_NOTE, SUBTRACT_NOTES, FloatLayer, FloatNetwork

GE_NOTE = "v >= threshold becomes v > threshold on the integer grid"
RELAY_WEIGHT = 2  # a relay's weight from its replica (its bias is the threshold mantissa - 1)
ENCODER_STEP = 0.25  # the current's resolution in the encoders, in thresholds
ENCODER_RANGE = (2.0, 8.0)  # the currents encoders cover, in thresholds (bounds)
MAX_GROUP_NEURONS = 2048  # a layer of encoders covers less range rather than grow beyond this
DEFAULT_COPIES = 8
# a construction's dense float64 matrices (its recurrent synapse, its input
# weights, the next layer's weights from its members) stay within 1 GiB: a
# Sinabs 784-4,000-4,000-10 network built of 8 replicas asked for 8 GiB per
# matrix and ran the 24 GiB machine out of memory
MAX_BUILD_ELEMENTS = 1 << 27
SUBTRACTIONS = ("subtract", "subtract_undecayed")


@dataclass(frozen=True)
class Build:
    """How one layer is built: ``plain`` (Loihi's neuron as it is),
    ``integrator``, ``ladder`` or ``independent`` with ``copies`` replicas
    per neuron (see the module docstring)."""

    kind: str = "plain"
    copies: int = 1

    @property
    def label(self) -> str:
        if self.kind == "plain":
            return "plain"
        return f"{self.kind} x{self.copies}"


# --------------------------------------------------------------------------------------
# which construction a layer can take
# --------------------------------------------------------------------------------------


def _has_current(layer: FloatLayer) -> bool:
    """Whether the neurons' current keeps anything from one step to the next
    (an iDecay below 4096)."""
    a = layer.neuron.alpha_syn
    return a is not None and bool(np.any(np.rint(4096 * (1 - np.asarray(a))) < 4096))


def _approximated(layer: FloatLayer) -> bool:
    nrn = layer.neuron
    return layer.spiking and (nrn.cap != 1 or nrn.reset in SUBTRACTIONS)


def _own_delay(layer: FloatLayer) -> np.ndarray | None:
    """The layer's netx delays without the one that realizes "previous"
    order (which an integrator with encoders provides itself)."""
    d = layer.delay
    if d is None or not layer.neuron.delay_order:
        return d
    rest = d - 1
    return rest if np.any(rest) else None


def can_integrate(net: FloatNetwork, k: int) -> bool:
    """Whether layer k can be built of integrators: a dense layer that
    subtracts (or sends counts), read by a dense layer or last, without
    netx delays of its own (``dense_rec`` cannot hold them); with a current
    stage (encoders) only the last layer or a recurrent one, for their cost."""
    layer = net.layers[k]
    if not _approximated(layer) or layer.kind not in ("dense", "dense_rec"):
        return False
    if layer.neuron.reset not in SUBTRACTIONS:
        return False
    last = k == len(net.layers) - 1
    if not last and net.layers[k + 1].kind not in ("dense", "dense_rec"):
        return False
    if _has_current(layer):  # encoders
        return _own_delay(layer) is None and (last or layer.weight_rec is not None)
    return layer.delay is None


def can_ladder(net: FloatNetwork, k: int) -> bool:
    """Whether layer k can be built of ladder replicas: a dense layer that
    subtracts or sends counts, without netx delays, read by a dense layer."""
    layer = net.layers[k]
    if not _approximated(layer) or layer.kind not in ("dense", "dense_rec") or layer.delay is not None:
        return False
    if k + 1 >= len(net.layers) or net.layers[k + 1].kind not in ("dense", "dense_rec"):
        return False
    return layer.neuron.reset in SUBTRACTIONS or layer.neuron.reset == "zero"


def can_replicate(net: FloatNetwork, k: int) -> bool:
    """Independent replicas: a multi-spike dense layer read by a dense layer."""
    layer = net.layers[k]
    return (MULTI_NOTE in layer.notes and layer.kind == "dense" and layer.weight_rec is None
            and k + 1 < len(net.layers) and net.layers[k + 1].kind == "dense"
            and net.layers[k + 1].weight_rec is None)  # fmt: skip


def _copies(layer: FloatLayer, copies: int) -> int:
    cap = layer.neuron.cap
    return max(1, copies if cap is None else min(cap, copies))


def default_builds(net: FloatNetwork, copies: int = DEFAULT_COPIES) -> list[Build]:
    """Per layer, the most exact construction it can take (``copies``
    replicas at most), where its matrices stay within
    :data:`MAX_BUILD_ELEMENTS` (else Loihi's neuron, and the layer's
    ``unbuilt`` says why)."""
    out = []
    width = None  # columns of the layer's weights: the previous layer's members
    for k, layer in enumerate(net.layers):
        if can_integrate(net, k):
            build = Build("integrator", _copies(layer, copies))
        elif can_ladder(net, k):
            build = Build("ladder", _copies(layer, copies))
        elif can_replicate(net, k) and copies > 1:
            build = Build("independent", _copies(layer, copies))
        else:
            build = Build()
        cols = width if width is not None else int(np.prod(layer.weight.shape[1:]))
        if build.kind != "plain":
            m = members(layer, build)
            after = net.layers[k + 1].size if k + 1 < len(net.layers) else 0
            elements = m * m + m * cols + after * m
            if elements > MAX_BUILD_ELEMENTS:
                layer.unbuilt = (
                    f"not built of replicas: {build.label} would take {m:,} neurons and "
                    f"{elements * 8 / 2**30:.1f} GiB of float64 matrices to build (at most "
                    f"{MAX_BUILD_ELEMENTS * 8 / 2**30:.0f} GiB): Loihi's neuron"
                )
                build = Build()
        out.append(build)
        width = members(layer, build) if build.kind != "plain" else None
    return out


def members(layer: FloatLayer, build: Build) -> int:
    """The Loihi neurons ``build`` makes of ``layer`` (at most: an
    integrator's encoders counted at their widest)."""
    n = layer.size
    if build.kind == "integrator":
        enc = sum(encoder_counts(n, build.copies, None)) if _has_current(layer) else 0
        return n * (build.copies + enc) + 2  # a bias neuron, an anchor
    if build.kind == "ladder":
        return n * build.copies * 2  # a relay per replica
    return n * build.copies if build.kind == "independent" else n


def alternatives(net: FloatNetwork, counts: tuple[int, ...]) -> list[list[Build]]:
    """The plans a full search compares, the default first (the fast
    search's, :data:`DEFAULT_COPIES` replicas: the one another plan must beat
    significantly), then every layer plain, then the default constructions
    with each replica count of ``counts``."""
    out = [default_builds(net)]
    for plan in [[Build() for _ in net.layers]] + [default_builds(net, c) for c in counts]:
        if plan not in out:
            out.append(plan)
    return out


# --------------------------------------------------------------------------------------
# the ladder's lateral weights
# --------------------------------------------------------------------------------------


def carry(v: float, n: int, alpha_mem: float, reset: str) -> float:
    """What the float membrane (in thresholds) keeps for the next step after
    reaching ``v`` and sending ``n`` spikes (before the next input)."""
    if reset == "subtract":
        return alpha_mem * (v - n)
    if reset == "subtract_undecayed":
        return alpha_mem * v - n
    if reset == "zero":
        return 0.0 if n > 0 else alpha_mem * v
    raise ValueError(reset)


def lateral_block(levels, sends, alpha_mem: float, reset: str, residue=None) -> np.ndarray:
    """The recurrent weights among one neuron's ladder replicas, [target j,
    source k], in thresholds (see the module docstring). ``levels``: the
    replicas' thresholds (increasing); ``sends``: which replicas send a spike
    to the next layer; ``residue``: where replicas that fired restart, V -
    levels[M - 1] when replicas 1..M fired (per M; default: the middle of the
    interval, half a threshold above the top level)."""
    q = np.asarray(levels, np.float64).reshape(-1)
    j_max = q.size
    sent = np.concatenate([[0], np.cumsum(np.asarray(sends, bool))])
    if residue is None:
        residue = np.append(np.diff(q) / 2, 0.5)
    res = np.broadcast_to(np.asarray(residue, np.float64).reshape(-1), (j_max,))

    def estimate(m: int) -> float:  # V is in (q[m-1], q[m]]
        return float(q[m - 1] + res[m - 1])

    def not_fired(m: int) -> float:
        if m == 0:
            return 0.0
        v = estimate(m)
        return carry(v, int(sent[m]), alpha_mem, reset) - alpha_mem * v

    def fired(m: int) -> float:
        return carry(estimate(m), int(sent[m]), alpha_mem, reset)

    w = np.zeros((j_max, j_max))
    for j in range(1, j_max + 1):
        for k in range(1, j_max + 1):
            if k < j:
                w[j - 1, k - 1] = not_fired(k) - not_fired(k - 1)
            elif k == j:
                w[j - 1, k - 1] = fired(j) - not_fired(j - 1)
            else:
                w[j - 1, k - 1] = fired(k) - fired(k - 1)
    return w


# --------------------------------------------------------------------------------------
# building
# --------------------------------------------------------------------------------------


def apply(net: FloatNetwork, builds: list[Build],
          currents: Mapping[str, tuple[float, float]] | None = None) -> FloatNetwork:  # fmt: skip
    """``net`` with each layer built as ``builds`` says (a copy; ``net``
    itself when every layer is plain). ``currents``: per layer with a current
    stage, the largest positive and negative current (in thresholds) the
    encoders must cover."""
    if all(b.kind == "plain" for b in builds):
        return net
    out = copy.deepcopy(net)
    last = len(out.layers) - 1
    for k, b in enumerate(builds):
        if b.kind == "plain":
            continue
        layer = out.layers[k]
        nxt = out.layers[k + 1] if k < last else None
        if b.kind == "integrator":
            sending = _integrator(layer, b.copies, (currents or {}).get(layer.name))
        elif b.kind == "ladder":
            sending = _ladder(layer, b.copies)
        elif b.kind == "independent":
            sending = _independent(layer, b.copies)
        else:
            raise ValueError(b.kind)
        owner = sending  # per member: the float neuron it counts for, or -1
        layer.owner = owner
        if nxt is not None:
            cols = owner >= 0
            w = nxt.weight[:, np.maximum(owner, 0)] * cols[None, :]
            nxt.weight = w
            nxt.in_shape = (owner.size,)
            if nxt.delay is not None:
                nxt.delay = nxt.delay[:, np.maximum(owner, 0)]
        else:
            out.output_select = owner
    return out


def _grouped(a, n: int, group: int, fill=None) -> np.ndarray:
    """A per-neuron array repeated for each of a group's members ([n * group])."""
    full = np.repeat(np.broadcast_to(np.asarray(a, np.float64).reshape(-1), (n,)), group)
    return full if fill is None else np.where(fill, full, 0.0)


def _independent(layer: FloatLayer, copies: int) -> np.ndarray:
    n = layer.size
    nrn = layer.neuron
    layer.weight = np.repeat(layer.weight, copies, axis=0)
    nrn.threshold = np.repeat(nrn.threshold, copies) * np.tile(np.arange(1, copies + 1), n)
    nrn.alpha_mem = np.repeat(nrn.alpha_mem, copies)
    if nrn.alpha_syn is not None:
        nrn.alpha_syn = np.repeat(nrn.alpha_syn, copies)
    nrn.bias = np.repeat(nrn.bias, copies)
    if layer.delay is not None:
        layer.delay = np.repeat(layer.delay, copies, axis=0)
    layer.shape = (n * copies,)
    layer.construction = f"independent x{copies}"
    layer.notes = [f"several spikes per step (a spike count): {copies} binary replicas per neuron "
                   f"with thresholds thr, 2 thr, .., {copies} thr (each resetting to zero) send "
                   f"up to {copies} per step" if note == MULTI_NOTE else note
                   for note in layer.notes]  # fmt: skip
    return np.repeat(np.arange(n), copies)


def _user_recurrence(layer: FloatLayer, group: int, target: np.ndarray, owner: np.ndarray):
    """The network's own recurrent weights between members: every member
    that sends carries its neuron's spikes to the members ``target`` marks
    (times ``target``: -1 for encoders of the negated current)."""
    n = layer.size if layer.weight_rec is None else layer.weight_rec.shape[0]
    size = n * group
    if layer.weight_rec is None:
        return np.zeros((size, size))
    rows = np.repeat(np.arange(n), group)
    w = layer.weight_rec[rows][:, np.maximum(owner, 0)]
    return w * np.outer(np.asarray(target, np.float64), owner >= 0)


def _ladder(layer: FloatLayer, copies: int) -> np.ndarray:
    n = layer.size
    nrn = layer.neuron
    relays = _has_current(layer)
    group = copies * (2 if relays else 1)
    replica = np.zeros(group, bool)
    replica[:copies] = True
    level = np.where(replica, np.arange(1, group + 1), 1.0)
    cap = nrn.cap if nrn.cap is not None else copies
    sends = replica & (level <= cap)
    owner = np.where(np.tile(sends, n), np.repeat(np.arange(n), group), -1)
    is_replica = np.tile(replica, n)
    thr = np.asarray(nrn.threshold, np.float64)
    a_m = np.broadcast_to(np.asarray(nrn.alpha_mem, np.float64).reshape(-1), (n,))
    rec = _user_recurrence(layer, group, is_replica, owner)
    layer.weight = np.repeat(layer.weight, group, axis=0) * is_replica[:, None]
    nrn.threshold = np.repeat(thr, group) * np.tile(level, n)
    nrn.alpha_mem = _grouped(a_m, n, group, is_replica)
    if nrn.alpha_syn is not None:
        a_s = np.broadcast_to(np.asarray(nrn.alpha_syn, np.float64).reshape(-1), (n,))
        nrn.alpha_syn = _grouped(a_s, n, group, is_replica)
    nrn.bias = _grouped(nrn.bias, n, group, is_replica)
    for i in range(n):
        block = lateral_block(level[:copies], sends[:copies], float(a_m[i]), nrn.reset) * thr[i]
        s = i * group
        rec[s : s + copies, s : s + copies] += block
        if relays:
            rec[s : s + copies, s + copies : s + group] += -float(a_s[i]) * block
    layer.weight_rec = rec
    layer.kind = "dense_rec"
    layer.relay = ~is_replica if relays else None
    layer.shape = (n * group,)
    layer.construction = f"ladder x{copies}"
    send = int(sends.sum())
    notes = []
    for note in layer.notes:
        if note == MULTI_NOTE:
            notes.append(f"several spikes per step (a spike count): at most {send} per step "
                         f"({copies} ladder replicas per neuron)")  # fmt: skip
        elif note == SUBTRACT_NOTES.get(nrn.reset):
            notes.append(f"reset by subtraction: a replica that fired restarts from the middle of "
                         f"the interval its replicas' spikes tell ({copies} ladder replicas per "
                         "neuron; those that did not fire subtract exactly)")  # fmt: skip
        else:
            notes.append(note)
    if nrn.reset == "zero" and MULTI_NOTE in layer.notes:
        notes.append(f"reset to zero of a spike count: {copies} ladder replicas per neuron")
    layer.notes = notes
    layer.exact = layer.exact + [
        f"{copies} ladder replicas per neuron correct each other through the recurrent synapse"
        + ("; relays cancel the current's decay of the corrections" if relays else "")
    ]
    return owner


def encoder_counts(n: int, copies: int, current: tuple[float, float] | None) -> tuple[int, int]:
    """Encoders per neuron for the positive and the negative current: enough
    to cover ``current`` (the largest of each sign, in thresholds) within
    :data:`ENCODER_RANGE`, fewer when the layer would exceed
    :data:`MAX_GROUP_NEURONS` (never below the range's lower bound)."""
    lo, hi = ENCODER_RANGE
    pos, neg = current if current is not None else (hi, hi)
    pos, neg = float(np.clip(pos, lo, hi)), float(np.clip(neg, lo, hi))
    while True:
        kp = int(np.ceil(pos / ENCODER_STEP + 0.5))
        kn = int(np.ceil(neg / ENCODER_STEP + 0.5))
        if n * (copies + kp + kn) + 1 <= MAX_GROUP_NEURONS or (pos <= lo and neg <= lo):
            return kp, kn
        pos, neg = max(lo, pos * 0.8), max(lo, neg * 0.8)


def _integrator(layer: FloatLayer, copies: int, current: tuple[float, float] | None) -> np.ndarray:
    n = layer.size
    nrn = layer.neuron
    encoders = _has_current(layer)
    recurrent = layer.weight_rec is not None
    thr = np.asarray(nrn.threshold, np.float64)
    a_m = np.broadcast_to(np.asarray(nrn.alpha_mem, np.float64).reshape(-1), (n,))
    kp = kn = 0
    if encoders:
        kp, kn = encoder_counts(n, copies, current)
    group = copies + kp + kn
    # the float bias: what enters the membrane every step goes to the replicas'
    # u; what enters the current (synaptic biases), to the encoders'
    cur_b = np.zeros(n) if nrn.current_bias is None or not encoders else \
        np.broadcast_to(np.asarray(nrn.current_bias, np.float64).reshape(-1), (n,))
    mem_b = np.broadcast_to(np.asarray(nrn.bias, np.float64).reshape(-1), (n,))
    if encoders and np.any(cur_b):
        a_s0 = np.broadcast_to(np.asarray(nrn.alpha_syn, np.float64).reshape(-1), (n,))
        mem_b = mem_b - cur_b / np.maximum(1.0 - a_s0, 1e-12)
    bias_neuron = bool(np.any(mem_b) or np.any(cur_b))
    size = n * group + int(bias_neuron)
    role = np.concatenate([np.zeros(copies, int), np.ones(kp, int), np.full(kn, 2)])
    roles = np.tile(role, n)
    member = np.tile(np.arange(group), n)
    neuron = np.repeat(np.arange(n), group)
    is_replica = roles == 0
    owner = np.where(is_replica, neuron, -1)
    # step k of an encoder: 1..kp (positive) or 1..kn (negative)
    step = np.where(roles == 1, member - copies + 1, np.where(roles == 2, member - copies - kp + 1, 0))
    w_in = layer.weight.reshape(n, -1)[neuron]
    sign = np.select([roles == 1, roles == 2], [1.0, -1.0], 0.0 if encoders else 1.0)
    weight = w_in * sign[:, None]
    theta = thr[neuron]
    # v = u + bias: replica j fires when u > j thr, encoder k when the current > (k - 1/2) delta
    bias = np.where(is_replica, -(member) * theta, theta - (step - 0.5) * ENCODER_STEP * theta)
    alpha_syn = np.where(is_replica, a_m[neuron], 0.0)
    if encoders:
        a_s = np.broadcast_to(np.asarray(nrn.alpha_syn, np.float64).reshape(-1), (n,))
        alpha_syn = np.where(is_replica, a_m[neuron], a_s[neuron])
    rec = np.zeros((size, size))
    into = np.select([roles == 1, roles == 2], [1.0, -1.0], 0.0) if encoders else is_replica
    rec[: n * group, : n * group] = _user_recurrence(layer, group, into, owner)
    sub = (a_m if nrn.reset == "subtract" else np.ones(n)) * thr
    for i in range(n):
        s = i * group
        rec[s : s + copies, s : s + copies] -= sub[i]
        if encoders:
            rec[s : s + copies, s + copies : s + copies + kp] = ENCODER_STEP * thr[i]
            rec[s : s + copies, s + copies + kp : s + group] = -ENCODER_STEP * thr[i]
    if bias_neuron:  # always on: the float biases enter u every step
        rec[: n * group, -1] = np.select([is_replica, roles == 1, roles == 2],
                                         [mem_b[neuron], cur_b[neuron], -cur_b[neuron]], 0.0)
        weight = np.vstack([weight, np.zeros((1, weight.shape[1]))])
        top = float(np.max(thr))
        bias = np.append(bias, 2.0 * top)
        theta = np.append(theta, top)
        alpha_syn = np.append(alpha_syn, 0.0)
        owner = np.append(owner, -1)
    anchor = not np.any(rec > 0)
    if anchor:
        # lava gives the recurrent synapse its own sign mode: an inhibitory-only
        # matrix next to mixed input weights loses its odd values (or all of
        # them; see quantize_layer). A neuron that never fires (no input, no
        # bias) holds a positive weight to itself: the synapse is mixed-sign
        top = float(np.max(thr))
        rec = np.pad(rec, ((0, 1), (0, 1)))
        rec[-1, -1] = top / 16.0
        weight = np.vstack([weight, np.zeros((1, weight.shape[1]))])
        bias = np.append(bias, 0.0)
        theta = np.append(theta, top)
        alpha_syn = np.append(alpha_syn, 0.0)
        owner = np.append(owner, -1)
        size += 1
    if layer.kind == "conv":  # pragma: no cover - can_integrate refuses conv layers
        raise ValueError(layer.name)
    layer.weight = weight
    layer.weight_rec = rec
    layer.kind = "dense_rec"
    layer.shape = (size,)
    layer.delay = None
    if nrn.compare == "ge":  # v = u + bias holds nothing: one bias unit makes v > thr v >= thr
        layer.bias_offset = np.append(is_replica, [False] * (size - is_replica.size)).astype(np.int64)
    nrn.threshold = theta
    nrn.bias = bias
    nrn.alpha_mem = np.zeros(size)
    nrn.alpha_syn = alpha_syn
    lag = 1 if encoders and nrn.order == "same" else 0
    nrn.delay_order = False
    layer.lag = lag
    layer.construction = f"integrator x{copies}" + (f", {kp}+{kn} encoders" if encoders else "")
    send = copies
    notes = []
    for note in layer.notes:
        if note == MULTI_NOTE:
            notes.append(f"several spikes per step (a spike count): at most {send} per step "
                         "(the rest stays on the membrane)")  # fmt: skip
        elif note == SUBTRACT_NOTES.get(nrn.reset):
            continue  # exact
        elif note.startswith("the membrane reads the current of the same step"):
            continue
        elif note == STEADY_BIAS_NOTE and encoders:
            continue  # the encoders' current gets it
        elif note == GE_NOTE:
            notes.append("v >= threshold: on the grid of the weights' sums (one bias unit)")
        else:
            notes.append(note)
    if encoders and lag and recurrent:
        notes.append("the layer's own spikes reach its current one step late (the membrane "
                     "answers one step late)")
    if encoders:
        notes.append(f"the current reaches the membrane rounded to {ENCODER_STEP:g} threshold and "
                     f"clipped to [-{kn * ENCODER_STEP - ENCODER_STEP / 2:g}, "
                     f"{kp * ENCODER_STEP - ENCODER_STEP / 2:g}] thresholds (encoders)"
                     + (", one step late" if lag else ""))  # fmt: skip
    layer.notes = notes
    layer.exact = layer.exact + [
        f"the membrane lives in the current u of {copies} replica(s) per neuron (never reset): "
        "spike counts and the subtraction are exact"
        + (f"; {kp + kn} encoders per neuron carry the current" if encoders else "")
        + ("; an always-on neuron adds the bias" if bias_neuron else "")
        + ("; a silent neuron keeps the recurrent synapse mixed-sign (full weight precision)"
           if anchor else "")
    ]
    return owner


__all__ = ["Build", "alternatives", "apply", "can_integrate", "can_ladder", "can_replicate",
           "carry", "default_builds", "lateral_block"]  # fmt: skip
