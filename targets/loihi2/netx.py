"""netx HDF5 files: the network as lava-dl 0.6.0 loads it, written and read.

A netx file (the ``model.net`` of ``nirc compile --target loihi2``) is an
HDF5 file with groups ``/layer/<i>/`` for i = 0..n-1 forming a chain (facts in
TARGETS.md, read in ``lava/lib/dl/netx/hdf5.py`` and checked by running it):

- layer 0 is ``input`` with only ``shape`` ([C, H, W] or [N]): external
  spikes go straight into layer 1's synapse;
- ``dense``: ``weight`` float32 [out, in], optional ``bias`` [out] (the
  neuron's ``bias_mant``), optional ``delay`` (scalar, [out], [in] or
  [out, in]: a DelayDense), ``neuron/`` (below; absent: netx's default
  non-leaky readout);
- ``dense_rec``: a dense layer plus ``weight_rec`` [out, out] from the layer's
  spikes back to its own input;
- ``conv``: ``weight`` [out, in/groups, kH, kW] (PyTorch's layout and
  cross-correlation), ``stride``/``padding``/``dilation`` as (H, W),
  ``groups``, ``inChannels``/``outChannels``/``kernelSize``, optional
  ``bias`` [out];
- ``flatten``: the next dense layer reads the previous layer's [C, H, W]
  spikes flattened in C order;
- ``neuron/``: ``type`` CUBA, ``iDecay`` (the current keeps
  ``(4096 - iDecay) / 4096`` per step), ``vDecay``, ``vThMant``,
  ``refDelay``, ``gradedSpike``. ``messageBits`` is never written (netx then
  fails at run time).

:class:`NetxNetwork` is that file as data (shapes in nirc's C-order
convention: [C, H, W] or [N]); :func:`write_netx` writes it byte for byte
deterministically (no HDF5 timestamps, sorted groups, fixed dtypes; large
datasets gzip-compressed, which h5py and so netx read transparently);
:func:`read_netx` reads any file of the layer types above and refuses the
others with a diagnostic. :func:`lava_layers` resolves a network the way
netx and lava's fixed-point models do (weight optimization, clipping,
truncation, int16 biases, clamped delays), which is what
:mod:`.simulator` runs.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nirc.diagnostics import NircError

LAYER_KINDS = ("dense", "dense_rec", "conv")
MAX_DELAY = 62  # netx clamps larger delays to this


@dataclass(frozen=True)
class NetxNeuron:
    """A netx ``neuron/`` group of type CUBA (lava's LIF)."""

    # the current keeps (4096 - i_decay) / 4096 per step, the voltage (4096 - v_decay) / 4096:
    # one value for the layer, or one per neuron (dense) / per output channel (conv)
    i_decay: int | np.ndarray
    v_decay: int | np.ndarray
    v_th: int  # vThMant: spike when v > v_th << 6
    ref_delay: int = 1  # written for netx's reader; CUBA has no refractory period
    graded: bool = False


# netx's default when a dense layer has no neuron group: a non-leaky current,
# v = u, a threshold no 24-bit voltage exceeds (``1 << 18 - 1`` in netx's source)
DEFAULT_READOUT = NetxNeuron(i_decay=0, v_decay=4096, v_th=1 << 17)


@dataclass
class NetxLayer:
    """One synapse + neuron layer of the chain (flatten layers become
    :attr:`flatten` of the layer after them)."""

    kind: str  # dense, dense_rec or conv
    in_shape: tuple[int, ...]  # what the synapse reads, nirc order
    shape: tuple[int, ...]  # the neurons, nirc order ([N] or [C, H, W])
    weight: np.ndarray  # as stored (float32 holding integers)
    neuron: NetxNeuron | None = None  # None: netx's default readout
    weight_rec: np.ndarray | None = None
    bias: np.ndarray | None = None
    delay: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)  # (H, W)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    flatten: bool = False

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclass
class NetxNetwork:
    input_shape: tuple[int, ...]
    layers: list[NetxLayer] = field(default_factory=list)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].shape


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------


COMPRESS_FROM = 1 << 12  # datasets this large are stored gzip-compressed (h5py reads them as is)


def _put(group, name: str, value, dtype) -> None:
    data = np.asarray(value, dtype=dtype)
    if data.size >= COMPRESS_FROM:
        # a recurrent layer of replicas is mostly zeros: compressed, its
        # float32 matrix takes a small fraction of its size
        group.create_dataset(name, data=data, track_times=False, compression="gzip",
                             compression_opts=4, shuffle=True)  # fmt: skip
        return
    group.create_dataset(name, data=data, track_times=False)


def _put_type(group, name: str) -> None:
    group.create_dataset("type", data=np.array([name.encode("ascii")], "S10"), track_times=False)


def write_netx(network: NetxNetwork, path: str | os.PathLike | None = None) -> bytes:
    """The netx HDF5 bytes of ``network`` (also written to ``path`` when
    given). Deterministic: datasets carry no timestamps, groups are created
    in a fixed order, every dtype is fixed."""
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w", libver="earliest", track_order=False) as f:
        top = f.create_group("layer")
        index = 0

        def new_group():
            nonlocal index
            g = top.create_group(str(index))
            index += 1
            return g

        g = new_group()
        _put_type(g, "input")
        _put(g, "shape", network.input_shape, np.int64)
        for layer in network.layers:
            if layer.flatten:
                _put_type(new_group(), "flatten")
            g = new_group()
            _put_type(g, layer.kind)
            _put(g, "shape", layer.shape, np.int64)
            _put(g, "weight", layer.weight, np.float32)
            if layer.kind == "conv":
                kh, kw = layer.weight.shape[2:]
                _put(g, "inChannels", layer.in_shape[0], np.int64)
                _put(g, "outChannels", layer.shape[0], np.int64)
                _put(g, "kernelSize", (kh, kw), np.int64)
                _put(g, "stride", layer.stride, np.int64)
                _put(g, "padding", layer.padding, np.int64)
                _put(g, "dilation", layer.dilation, np.int64)
                _put(g, "groups", layer.groups, np.int64)
            else:
                _put(g, "inFeatures", int(np.prod(layer.in_shape)), np.int64)
                _put(g, "outFeatures", layer.size, np.int64)
            if layer.weight_rec is not None:
                _put(g, "weight_rec", layer.weight_rec, np.float32)
            if layer.bias is not None:
                _put(g, "bias", layer.bias, np.float32)
            if layer.delay is not None:
                _put(g, "delay", layer.delay, np.float32)
            if layer.neuron is not None:
                n = g.create_group("neuron")
                _put_type(n, "CUBA")
                _put(n, "iDecay", layer.neuron.i_decay, np.int64)
                _put(n, "vDecay", layer.neuron.v_decay, np.int64)
                _put(n, "vThMant", layer.neuron.v_th, np.int64)
                _put(n, "refDelay", layer.neuron.ref_delay, np.int64)
                _put(n, "gradedSpike", layer.neuron.graded, np.bool_)
        sim = f.create_group("simulation")
        _put(sim, "Ts", 1, np.int64)
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _decay_value(d) -> int | np.ndarray:
    a = np.asarray(d, np.int64)
    return int(a.reshape(-1)[0]) if a.size == 1 else a.reshape(-1)


def network_to_netx(network) -> NetxNetwork:
    """The netx network of a `loihi2` network (a :class:`~.dialect.Network`;
    duck-typed so that this module does not import the dialect)."""
    layers = []
    for layer in network.layers:
        neuron = NetxNeuron(_decay_value(layer.i_decay), _decay_value(layer.v_decay),
                            int(layer.v_th))
        layers.append(NetxLayer(
            kind=layer.kind,
            in_shape=tuple(layer.in_shape),
            shape=tuple(layer.shape),
            weight=np.asarray(layer.weight, np.float32),
            neuron=neuron,
            weight_rec=None if layer.weight_rec is None else np.asarray(layer.weight_rec, np.float32),
            bias=None if layer.bias is None else np.asarray(layer.bias, np.float32),
            delay=None if layer.delay is None else np.asarray(layer.delay, np.float32),
            stride=tuple(layer.stride),
            padding=tuple(layer.padding),
            dilation=tuple(layer.dilation),
            groups=int(layer.groups),
            flatten=bool(layer.flatten),
        ))  # fmt: skip
    return NetxNetwork(tuple(network.input_shape), layers)


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------


def _text(ds) -> str:
    value = ds[()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else b""
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _ints(g, key: str, where: str, count: int | None = None) -> tuple[int, ...]:
    if key not in g:
        raise NircError(f"a netx layer lacks `{key}`", where=where)
    a = np.asarray(g[key][()]).reshape(-1)
    if count is not None and a.size == 1:
        a = np.repeat(a, count)
    if count is not None and a.size != count:
        raise NircError(f"`{key}` has the wrong length", where=f"{where}/{key}",
                        expected=f"{count} values", found=str(a.tolist()))  # fmt: skip
    return tuple(int(v) for v in a)


def _neuron(g, where: str) -> NetxNeuron | None:
    if "neuron" not in g:
        return None
    n = g["neuron"]
    kind = _text(n["type"]) if "type" in n else ""
    if kind not in ("CUBA", "LOIHI"):
        raise NircError(
            "nirc simulates CUBA neurons only",
            where=f"{where}/neuron/type",
            expected="CUBA or LOIHI (lava's LIF)",
            found=repr(kind),
        )
    if "messageBits" in n:
        raise NircError("a neuron group with `messageBits`: netx fails on it at run time",
                        where=f"{where}/neuron/messageBits", hint="drop the field")  # fmt: skip
    values: dict = {}
    for key in ("iDecay", "vDecay", "vThMant"):
        if key not in n:
            raise NircError(f"the neuron group lacks `{key}`", where=f"{where}/neuron")
        a = np.asarray(n[key][()]).astype(np.int64)
        if a.size != 1 and key == "vThMant":
            raise NircError("one vThMant per layer", where=f"{where}/neuron/{key}",
                            found=f"{a.size} values")  # fmt: skip
        values[key] = int(a.reshape(-1)[0]) if a.size == 1 else a
    ref = int(np.asarray(n["refDelay"][()]).reshape(-1)[0]) if "refDelay" in n else 1
    graded = bool(np.asarray(n["gradedSpike"][()]).reshape(-1)[0]) if "gradedSpike" in n else False
    return NetxNeuron(values["iDecay"], values["vDecay"], values["vThMant"], ref, graded)


def _conv_out(in_shape, out_ch, kernel, stride, padding, dilation) -> tuple[int, int, int]:
    sizes = []
    for ax in range(2):
        size = (in_shape[1 + ax] + 2 * padding[ax] - dilation[ax] * (kernel[ax] - 1) - 1)
        sizes.append(size // stride[ax] + 1)
    return (out_ch, sizes[0], sizes[1])


def read_netx(path: str | os.PathLike) -> NetxNetwork:
    """The network in the netx file ``path`` (see the module docstring);
    NircErrors name the layer and field of anything nirc cannot run."""
    import h5py

    p = Path(path)
    if not p.exists():
        raise NircError("no such file", where=str(p))
    try:
        f = h5py.File(p, "r")
    except OSError as e:
        raise NircError("not an HDF5 file", where=str(p), found=str(e).splitlines()[0]) from None
    with f:
        if "layer" not in f:
            raise NircError("not a netx file: no `layer` group", where=str(p),
                            expected="groups /layer/0, /layer/1, ... (lava-dl netx)")  # fmt: skip
        top = f["layer"]
        count = len(top)
        if count == 0 or any(str(i) not in top for i in range(count)):
            raise NircError("netx layers must be numbered 0..n-1", where=f"{p}:/layer",
                            found=", ".join(sorted(top.keys())))  # fmt: skip
        g0 = top["0"]
        where0 = f"{p}:/layer/0"
        if "type" not in g0 or _text(g0["type"]) != "input":
            raise NircError("layer 0 must be the `input` layer", where=where0,
                            found=_text(g0["type"]) if "type" in g0 else "no type")  # fmt: skip
        if "neuron" in g0:
            raise NircError(
                "an input layer with a neuron group: lava builds an Input block whose port "
                "no source can drive",
                where=f"{where0}/neuron",
                hint="write layer 0 with `shape` only",
            )
        input_shape = _ints(g0, "shape", where0)
        net = NetxNetwork(input_shape=tuple(input_shape))
        prev = tuple(input_shape)
        flatten = False
        for i in range(1, count):
            g = top[str(i)]
            where = f"{p}:/layer/{i}"
            kind = _text(g["type"]) if "type" in g else ""
            if kind == "flatten":
                flatten = True
                continue
            if kind not in LAYER_KINDS:
                raise NircError(
                    f"netx layer type `{kind}` is not loadable by lava-dl 0.6.0",
                    where=f"{where}/type",
                    expected="input, dense, dense_rec, conv or flatten",
                    found=kind or "no type",
                )
            if "weight" not in g:
                raise NircError("a netx layer lacks `weight`", where=where)
            w = np.asarray(g["weight"][()])
            neuron = _neuron(g, where)
            if kind == "conv":
                if neuron is None:
                    raise NircError("a conv layer needs a neuron group", where=where)
                if len(prev) != 3:
                    raise NircError("a conv layer reads [C, H, W] spikes", where=where,
                                    found=f"an input of shape {list(prev)}")  # fmt: skip
                w = w.reshape(w.shape[:4])
                groups = _ints(g, "groups", where)[0] if "groups" in g else 1
                stride = _ints(g, "stride", where, 2)
                padding = _ints(g, "padding", where, 2)
                dilation = _ints(g, "dilation", where, 2)
                out = _conv_out(prev, w.shape[0], w.shape[2:], stride, padding, dilation)
                if w.shape[1] * groups != prev[0]:
                    raise NircError("the conv weight does not match its input channels",
                                    where=f"{where}/weight",
                                    expected=f"[out, {prev[0]}/{groups}, kH, kW]",
                                    found=str(list(w.shape)))  # fmt: skip
                shape = tuple(int(v) for v in _ints(g, "shape", where))
                if shape != out:
                    raise NircError("the conv layer's shape differs from its output",
                                    where=f"{where}/shape", expected=str(list(out)),
                                    found=str(list(shape)))  # fmt: skip
                layer = NetxLayer("conv", prev, out, w, neuron, stride=tuple(stride),
                                  padding=tuple(padding), dilation=tuple(dilation),
                                  groups=int(groups))  # fmt: skip
            else:
                n_in = int(np.prod(prev))
                if w.ndim == 1:
                    w = w.reshape(-1, n_in)
                shape = (int(np.prod(_ints(g, "shape", where))),)
                if w.shape != (shape[0], n_in):
                    raise NircError("the dense weight does not match its layer",
                                    where=f"{where}/weight",
                                    expected=f"[{shape[0]}, {n_in}] (out, in)",
                                    found=str(list(w.shape)))  # fmt: skip
                if len(prev) > 1 and not flatten and net.layers:
                    raise NircError("a dense layer after a conv layer needs a flatten layer "
                                    "between them", where=where)  # fmt: skip
                layer = NetxLayer(kind, prev, shape, w, neuron, flatten=flatten)
                if kind == "dense_rec":
                    if "weight_rec" not in g:
                        raise NircError("a dense_rec layer lacks `weight_rec`", where=where)
                    wr = np.asarray(g["weight_rec"][()]).reshape(shape[0], -1)
                    if wr.shape != (shape[0], shape[0]):
                        raise NircError("`weight_rec` must be [out, out]",
                                        where=f"{where}/weight_rec", found=str(list(wr.shape)))  # fmt: skip
                    layer.weight_rec = wr
                if "delay" in g:
                    d = np.asarray(g["delay"][()])
                    if kind == "dense_rec":
                        raise NircError(
                            "delays on a dense_rec layer: netx 0.6.0 reuses the input delay "
                            "matrix for the recurrent weights and drops the weight exponent",
                            where=f"{where}/delay",
                        )
                    if d.size and np.min(d) < 0:
                        raise NircError("negative delays", where=f"{where}/delay",
                                        found=str(float(np.min(d))))  # fmt: skip
                    if d.ndim == 1 and d.size not in (shape[0], n_in):
                        raise NircError("delays of an invalid shape", where=f"{where}/delay",
                                        expected=f"a scalar, [{shape[0]}], [{n_in}] or "
                                        f"[{shape[0]}, {n_in}]", found=str(list(d.shape)))  # fmt: skip
                    if d.ndim == 2 and d.shape != (shape[0], n_in):
                        raise NircError("delays of an invalid shape", where=f"{where}/delay",
                                        found=str(list(d.shape)))  # fmt: skip
                    layer.delay = d
            flatten = False
            if "bias" in g:
                b = np.asarray(g["bias"][()]).reshape(-1)
                if b.size != layer.shape[0]:
                    raise NircError("one bias per neuron (dense) or output channel (conv)",
                                    where=f"{where}/bias", expected=f"{layer.shape[0]} values",
                                    found=f"{b.size}")  # fmt: skip
                layer.bias = b
            net.layers.append(layer)
            prev = layer.shape
        if not net.layers:
            raise NircError("the netx file has no synapse layer", where=str(p))
        return net


# --------------------------------------------------------------------------------------
# what lava makes of it
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptimizedWeights:
    """netx's ``optimize_weight_bits`` of one weight matrix (integers)."""

    weights: np.ndarray  # shifted left by -weight_exp
    num_weight_bits: int
    weight_exp: int
    sign_mode: int  # 1 mixed, 2 excitatory, 3 inhibitory


MIXED, EXCITATORY, INHIBITORY = 1, 2, 3


def optimize_weight_bits(weight: np.ndarray) -> OptimizedWeights:
    """netx's choice of a per-layer exponent for integer weights: a sign mode,
    a left shift that fills the 8-bit mantissa, the matching exponent, and the
    bits the weights need (the same arithmetic as lava-dl 0.6.0's
    ``netx.utils.optimize_weight_bits``, out-of-range weights clipped as it
    does)."""
    w = np.asarray(weight, dtype=np.int64)
    if w.size == 0 or not np.any(w):
        raise NircError(
            "every weight of the layer is zero: netx's weight optimization divides by "
            "the largest weight and cannot load it",
            expected="at least one nonzero weight",
        )
    hi, lo = int(w.max()), int(w.min())
    if hi > 254 and lo < 0:
        w = np.clip(w, -256, 254)
        hi = int(w.max())
    if lo < -256 and hi > 0:
        w = np.clip(w, -256, 254)
        lo = int(w.min())
    if hi < 0:
        mode, signed = INHIBITORY, 0
        scale = -256 / lo
    elif lo >= 0:
        mode, signed = EXCITATORY, 0
        scale = 255 / hi
    else:
        mode, signed = MIXED, 1
        scale = min(127 / hi if hi else np.inf, -128 / lo)
    scale_bits = int(np.floor(np.log2(scale))) + signed
    n = 8
    while n > 0 and np.any(w % (1 << n)):
        n -= 1
    n -= signed
    num_bits = 8 - scale_bits - n
    # numpy's shifts by a negative count give 0 (lava's numpy does the same)
    shifted = np.left_shift(w, np.int64(scale_bits))
    return OptimizedWeights(shifted, int(num_bits), int(-scale_bits), mode)


def _sign_mode(w: np.ndarray) -> int:
    if w.size == 0 or w.min() >= 0:
        return EXCITATORY
    if w.max() <= 0:
        return INHIBITORY
    return MIXED


def synapse_weights(shifted: np.ndarray, num_weight_bits: int) -> np.ndarray:
    """The weights lava's fixed-point Dense uses: its own sign mode, clipped
    to 8 bits of magnitude, then the low bits truncated to
    ``num_weight_bits`` (lava's ``clip_weights`` and ``truncate_weights``)."""
    mode = _sign_mode(shifted)
    w = np.asarray(shifted, np.int64)
    if mode == INHIBITORY:
        w = -w
    mixed = int(mode == MIXED)
    w = np.clip(w, -256 * mixed, 255)
    k = np.int64(8 - num_weight_bits + mixed)
    w = np.left_shift(np.right_shift(w, k), k)  # a negative count zeroes them, as in lava
    return -w if mode == INHIBITORY else w


def kept_exactly(weight: np.ndarray, weight_rec: np.ndarray | None = None) -> bool:
    """Whether netx (one exponent for the layer) and lava (a sign mode, a
    clip and a truncation per synapse) keep these stored integer weights
    exactly, i.e. every spike adds exactly its stored weight. They do not
    always: a layer whose weights are all <= 0 with zeros among them is
    "mixed" to netx but inhibitory to lava, and with an odd weight below -128
    lava's truncation by -1 bits zeroes every weight."""
    mats = [np.asarray(weight, np.int64).reshape(np.shape(weight)[0], -1)]
    if weight_rec is not None:
        mats.append(np.asarray(weight_rec, np.int64))
    opt = optimize_weight_bits(np.hstack(mats))
    start = 0
    for m in mats:
        part = opt.weights[:, start : start + m.shape[1]]
        start += m.shape[1]
        if opt.weight_exp > 0 or not np.array_equal(synapse_weights(part, opt.num_weight_bits),
                                                    m << -opt.weight_exp):  # fmt: skip
            return False
    return True


@dataclass
class LavaLayer:
    """A layer as lava's fixed-point models compute it (see :mod:`.simulator`)."""

    kind: str
    in_shape: tuple[int, ...]
    shape: tuple[int, ...]
    weights: np.ndarray  # int64: dense [out, in] (after netx and lava), conv [out, in/g, kh, kw]
    weight_exp: int = 0
    num_weight_bits: int = 8
    weights_rec: np.ndarray | None = None
    delays: np.ndarray | None = None  # int64 [out, in], None: a plain Dense
    bias_mant: np.ndarray | None = None  # int64, per neuron (flat), after the int16 storage
    i_decay: int | np.ndarray = 0  # lava's du + 1 (per neuron: flat C order)
    v_decay: int | np.ndarray = 4096
    v_th: int = 1 << 17
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


def per_neuron_decay(value, shape: tuple[int, ...], where: str = "") -> int | np.ndarray:
    """A decay as lava applies it: one value, or an int64 array per neuron in
    nirc's flat C order. netx hands a stored array to lava's LIF as is, which
    broadcasts it against the layer's state ([N], or [W, H, C] for a conv):
    a conv layer's [C] array is one value per channel."""
    a = np.asarray(value, np.int64)
    if a.size == 1:
        return int(a.reshape(-1)[0])
    n = int(np.prod(shape))
    if len(shape) == 1 and a.size == n:
        return a.reshape(-1)
    if len(shape) == 3 and a.shape == (shape[0],):
        return np.repeat(a, shape[1] * shape[2])
    if len(shape) == 3 and a.shape == tuple(reversed(shape)):
        return np.ascontiguousarray(a.transpose(2, 1, 0)).reshape(-1)
    raise NircError("decays of a shape lava cannot broadcast onto the layer", where=where or None,
                    expected=f"one value, one per neuron or one per channel of {list(shape)}",
                    found=str(list(a.shape)))  # fmt: skip


def _int16(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.int64).astype(np.int16).astype(np.int64)


def lava_layer(layer: NetxLayer) -> LavaLayer:
    """What netx and lava's fixed-point processes make of one netx layer."""
    neuron = layer.neuron or DEFAULT_READOUT
    stored = np.trunc(np.asarray(layer.weight, np.float64)).astype(np.int64)
    out = LavaLayer(layer.kind, tuple(layer.in_shape), tuple(layer.shape), stored,
                    i_decay=per_neuron_decay(neuron.i_decay, layer.shape),
                    v_decay=per_neuron_decay(neuron.v_decay, layer.shape), v_th=neuron.v_th,
                    stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                    groups=layer.groups)  # fmt: skip
    if layer.kind != "conv":
        if layer.kind == "dense_rec":
            rec = np.trunc(np.asarray(layer.weight_rec, np.float64)).astype(np.int64)
            opt = optimize_weight_bits(np.hstack([stored, rec]))
            n_in = stored.shape[1]
            out.weights = synapse_weights(opt.weights[:, :n_in], opt.num_weight_bits)
            out.weights_rec = synapse_weights(opt.weights[:, n_in:], opt.num_weight_bits)
        else:
            opt = optimize_weight_bits(stored)
            out.weights = synapse_weights(opt.weights, opt.num_weight_bits)
        out.weight_exp, out.num_weight_bits = opt.weight_exp, opt.num_weight_bits
        if layer.delay is not None:
            d = np.asarray(layer.delay, np.float64)
            if d.max(initial=0) > MAX_DELAY:
                d = np.clip(d, 0, MAX_DELAY)
            n_out, n_in = stored.shape
            if d.ndim == 0:
                d = np.full((n_out, n_in), float(d))
            elif d.ndim == 1:
                d = np.repeat(d[:, None], n_in, 1) if d.size == n_out else np.repeat(d[None], n_out, 0)
            out.delays = np.trunc(d).astype(np.int64)
    if layer.bias is not None:
        b = _int16(np.trunc(np.asarray(layer.bias, np.float64)).astype(np.int64))
        if layer.kind == "conv":
            b = np.repeat(b, int(np.prod(layer.shape[1:])))
        out.bias_mant = b
    return out


def lava_layers(network: NetxNetwork) -> list[LavaLayer]:
    return [lava_layer(layer) for layer in network.layers]


def effective_weights(layer: LavaLayer) -> tuple[np.ndarray, np.ndarray | None] | None:
    """For a dense layer whose weights lava keeps exactly: the integer
    contribution of one spike per synapse (``weights * 2**weight_exp``, exact),
    for the feed-forward and recurrent weights; None when the exponent drops
    bits (then only the summed, shifted arithmetic of the simulator holds)."""
    e = layer.weight_exp
    mats = [layer.weights] + ([layer.weights_rec] if layer.weights_rec is not None else [])
    if e >= 0:
        res = [m << e for m in mats]
    else:
        if any(np.any(m % (1 << -e)) for m in mats):
            return None
        res = [m >> -e for m in mats]
    return res[0], (res[1] if len(res) > 1 else None)


__all__ = [
    "DEFAULT_READOUT",
    "LavaLayer",
    "NetxLayer",
    "NetxNetwork",
    "NetxNeuron",
    "lava_layer",
    "kept_exactly",
    "lava_layers",
    "network_to_netx",
    "optimize_weight_bits",
    "per_neuron_decay",
    "read_netx",
    "synapse_weights",
    "write_netx",
]
