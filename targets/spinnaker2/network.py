"""A SpiNNaker2 network as py-spinnaker2 builds it: populations and projections.

The plain-Python form every part of the target shares: `lower-spinnaker2`
extracts a :class:`Network` with float weights from the fused `snn` level,
:mod:`.quantize` turns it into integers, :mod:`.dialect` prints and reads it
as the ``spinnaker2`` dialect, :mod:`.simulator` runs it and :mod:`.emit`
writes it out for py-spinnaker2.

Time alignment. Every projection delivers a spike one step after it was
emitted (plus its ``delay`` for the delayed models). A population therefore
runs ``lag`` steps behind the float network: its chip step ``t + lag`` is the
float network's step ``t``. Inputs have lag 0. The extraction chooses lags
and delays so that every synaptic path is exact (see :mod:`.lower`); outputs
are read ``lag`` steps later and the run lasts ``T + max lag`` steps.

Units. A neuron population's voltage is ``v_scale`` chip units per float
unit (the per-population weight scale); each of its chip spikes stands for
``spike_gain`` float spikes (1 unless a multi-spike neuron is compensated).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field

import numpy as np

from .sparse import Coo

# population roles
INPUT = "input"  # a graph Input (spike_list), copies per channel for event counts
NEURON = "neuron"  # a neuron of the graph
RELAY = "relay"  # a one-to-one copy one step later (latency alignment)
BIAS = "bias"  # an always-on spike source carrying a synaptic current's bias

RESETS = ("reset_by_subtraction", "reset_to_v_reset")


@dataclass
class Population:
    """One py-spinnaker2 population.

    ``params`` holds py-spinnaker2's parameter names (``threshold``,
    ``alpha_decay``, ``i_offset``, ``v_init``, ``v_reset``, ``reset``;
    ``exc_decay``, ``inh_decay``, ``t_refrac`` for the current-based models),
    each a float or a per-neuron float array (flat C order). ``record`` is
    what py-spinnaker2 records (``spikes``, ``v``). ``copies`` (``K``) is the
    number of chip neurons per element, laid out along the first axis (see
    :func:`copy_layout`): an input element with an event count ``c`` in a step
    fires its copies ``0..c-1``; a multi-spike neuron becomes ``K`` binary
    copies whose membranes are offset by ``0..K-1`` thresholds (their spikes
    add up to the multi-spike count, see :mod:`.quantize`). ``start``
    (bias sources) is the first chip step they fire at; they fire every step
    after. ``source`` is the `snn` node it comes from (relays and bias sources:
    the population they serve)."""

    name: str
    model: str
    shape: tuple[int, ...]
    role: str = NEURON
    params: dict[str, object] = field(default_factory=dict)
    record: tuple[str, ...] = ()
    max_atoms_per_core: int = 256
    v_scale: float = 1.0
    spike_gain: int = 1
    lag: int = 0
    copies: int = 1
    start: int = 0
    source: str = ""
    spiking: bool = True

    @property
    def size(self) -> int:
        """Chip neurons (copies included)."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.copies

    @property
    def elements(self) -> int:
        """Elements of the graph node (not its copies)."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def chip_shape(self) -> tuple[int, ...]:
        """The shape of the chip neurons: the first axis holds the copies."""
        if not self.shape:
            return (self.copies,)
        return (int(self.shape[0]) * self.copies,) + tuple(int(d) for d in self.shape[1:])

    def layout(self) -> np.ndarray:
        return copy_layout(self.shape, self.copies)

    def param(self, name: str, default: float = 0.0) -> np.ndarray:
        """A parameter as a float32 array over the population."""
        value = self.params.get(name, default)
        return np.broadcast_to(np.asarray(value, np.float32), (self.size,))


def copy_layout(shape: tuple[int, ...], copies: int) -> np.ndarray:
    """``[elements, copies]``: the chip neuron of each element's copy ``j``.
    Copies are laid out along the first axis: element ``(e0, r)`` (``r`` the
    flat index over the other axes) has copy ``j`` at
    ``(e0 * copies + j) * R + r``, so a [C, H, W] population with K copies is
    a [C*K, H, W] one whose channel ``c*K + j`` is copy j of channel c (a
    convolution stays a convolution)."""
    shape = tuple(int(d) for d in shape) or (1,)
    rest = int(np.prod(shape[1:], dtype=np.int64))
    e = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
    e0, r = e // rest, e % rest
    j = np.arange(copies, dtype=np.int64)
    return (e0[:, None] * copies + j[None, :]) * rest + r[:, None]


def sum_copies(a: np.ndarray, shape: tuple[int, ...], copies: int) -> np.ndarray:
    """``a[..., chip neurons]`` summed over each element's copies:
    ``[..., elements]``."""
    if copies == 1:
        return a
    return a[..., copy_layout(shape, copies)].sum(axis=-1)


_MATRICES: dict[tuple, Coo] = {}


@dataclass
class Conv2d:
    """The geometry of a ``snn.Conv2DProjection`` (py-spinnaker2's names):
    ``in_channels`` x ``in_height`` x ``in_width`` presynaptic neurons (C
    order), an optional sum-pool of ``pool_y`` x ``pool_x`` (kernel = stride,
    no padding) before a convolution with stride and explicit pads."""

    in_channels: int
    in_height: int
    in_width: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride_y: int = 1
    stride_x: int = 1
    pool_y: int = 1
    pool_x: int = 1
    pad_top: int = 0
    pad_bottom: int = 0
    pad_left: int = 0
    pad_right: int = 0

    @property
    def pooled(self) -> tuple[int, int]:
        return self.in_height // self.pool_y, self.in_width // self.pool_x

    @property
    def out_shape(self) -> tuple[int, int, int]:
        ph, pw = self.pooled
        oh = (ph + self.pad_top + self.pad_bottom - self.kernel_h) // self.stride_y + 1
        ow = (pw + self.pad_left + self.pad_right - self.kernel_w) // self.stride_x + 1
        return self.out_channels, oh, ow

    def conv_params(self) -> dict[str, int]:
        """py-spinnaker2's ``conv_params`` dictionary."""
        return {
            "in_height": self.in_height, "in_width": self.in_width,
            "stride_x": self.stride_x, "stride_y": self.stride_y,
            "pool_x": self.pool_x, "pool_y": self.pool_y,
            "pad_top": self.pad_top, "pad_bottom": self.pad_bottom,
            "pad_left": self.pad_left, "pad_right": self.pad_right,
        }  # fmt: skip

    def matrix(self, kernel: np.ndarray) -> Coo:
        """The projection as a sparse matrix [post, pre] for ``kernel``
        [C_out, C_in, kH, kW] (PyTorch order); the last few are remembered
        (the same projection is read several times in a compile)."""
        kernel = np.asarray(kernel, np.float64)
        key = (astuple(self), kernel.shape, kernel.tobytes())
        hit = _MATRICES.get(key)
        if hit is None:
            hit = self._matrix(kernel)
            if len(_MATRICES) >= 16:
                _MATRICES.pop(next(iter(_MATRICES)))
            _MATRICES[key] = hit
        return hit.copy()

    def _matrix(self, kernel: np.ndarray) -> Coo:
        from .sparse import conv2d_coo, sum_pool_coo

        conv = conv2d_coo(
            kernel, (self.in_channels,) + self.pooled, (self.stride_y, self.stride_x),
            ((self.pad_top, self.pad_bottom), (self.pad_left, self.pad_right)), (1, 1), 1,
        )  # fmt: skip
        if self.pool_y == self.pool_x == 1:
            return conv
        pool = sum_pool_coo(
            (self.in_channels, self.in_height, self.in_width), (self.pool_y, self.pool_x),
            (self.pool_y, self.pool_x), (0, 0),
        )  # fmt: skip
        return conv @ pool


@dataclass
class Projection:
    """Synapses from ``pre`` to ``post``.

    ``weights`` is the sparse matrix [post, pre] (float before quantization,
    integer after); ``delays`` the per-synapse extra delay (0 for the no-delay
    models; hardware delay = delay + 1) aligned with ``weights``'s entries.
    ``conv`` (with ``kernel`` [C_out, C_in, kH, kW]) makes it a
    ``Conv2DProjection``: ``weights`` is then the matrix that kernel stands
    for. ``sources`` names the `snn` ops it was built from."""

    name: str
    pre: str
    post: str
    weights: Coo
    delays: np.ndarray | None = None
    conv: Conv2d | None = None
    kernel: np.ndarray | None = None
    sources: tuple[str, ...] = ()

    @property
    def synapses(self) -> int:
        return int(np.count_nonzero(self.weights.data))

    def delay_of(self) -> np.ndarray:
        n = self.weights.data.size
        return np.zeros(n, np.int64) if self.delays is None else self.delays

    def connection_list(self) -> np.ndarray:
        """``[pre, post, weight, delay]`` rows (int64), nonzero weights only,
        sorted by (pre, post): py-spinnaker2's ``connections``."""
        w = self.weights
        keep = w.data != 0
        rows = np.stack(
            [w.col[keep], w.row[keep], np.rint(w.data[keep]), self.delay_of()[keep]], axis=1
        ).astype(np.int64)
        order = np.lexsort((rows[:, 1], rows[:, 0]))
        return rows[order]


@dataclass
class Output:
    """A graph Output: what it reads (a population's ``spikes`` or ``v``),
    and the NIR shape it is read as."""

    name: str
    population: str
    shape: tuple[int, ...]
    reads: str = "spikes"


@dataclass
class Network:
    """Populations (in an order where every projection's source of the same
    step comes first), projections, outputs, and how it was made."""

    dt: float
    populations: list[Population]
    projections: list[Projection]
    outputs: list[Output]
    approximations: list[str] = field(default_factory=list)
    exact: list[str] = field(default_factory=list)
    source: str = "nir"
    reset: str = "zero"

    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def inputs(self) -> list[Population]:
        return [p for p in self.populations if p.role == INPUT]

    @property
    def latency(self) -> int:
        """Chip steps between an input and the last output reading it."""
        return max((self.population(o.population).lag for o in self.outputs), default=0)

    def incoming(self, name: str) -> list[Projection]:
        return [pr for pr in self.projections if pr.post == name]

    def is_conv2d(self, pr: Projection) -> bool:
        """Whether ``pr`` is a ``Conv2DProjection`` (a convolution into a
        ``lif_conv2d`` population; other convolutions are connection lists)."""
        return pr.conv is not None and self.population(pr.post).model == "lif_conv2d"


__all__ = [
    "BIAS",
    "Conv2d",
    "INPUT",
    "NEURON",
    "Network",
    "Output",
    "Population",
    "Projection",
    "RELAY",
    "RESETS",
    "copy_layout",
    "sum_copies",
]
