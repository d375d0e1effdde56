"""Read and write NIR HDF5 files (the layout of ``nir.write`` 1.0.8) without ``nir``.

Why our own reader: a compiler is handed files from anywhere. Every broken or
hostile file must end in a :class:`~nirc.diagnostics.NircError` that names the
path inside the file, never in a traceback, a hang, a huge allocation or a read
of some other file. Old files (nir 0.1.x, 0.2.x) must read exactly, dtypes and
bits included.

Layout (as ``nir.write`` 1.0.8 produces it)::

    /version                 string, e.g. "1.0.8" (optional when reading)
    /node/type               "NIRGraph"
    /node/edges              [n, 2] variable-length strings (source, target)
    /node/metadata/...       optional: nested groups, strings, arrays, scalars
    /node/nodes/<name>/type  the primitive's name, e.g. "LIF"
    /node/nodes/<name>/<field>   one dataset per field (see nirc.graph.NODE_FIELDS)
    /node/nodes/<name>/metadata  optional
    /node/nodes/<sub>/...    a nested NIRGraph has the same layout as /node

A nested graph's ``metadata`` group is read into ``node.graph.metadata``.

The reader never follows soft or external links, refuses virtual datasets and
external storage (they make a file read other files), refuses a group reached
twice (hard-link loops), and checks every dataset's declared size against a
bound (``NIRC_MAX_DATASET_BYTES``, default 2 GiB, per dataset and in total)
and against what the file actually stores before allocating anything.
Traversal is iterative: graphs nested thousands deep are fine.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import h5py
import numpy as np
from h5py import h5d, h5l, h5o, h5p, h5s

from nirc.atomic import note_input, write_bytes
from nirc.diagnostics import NircError, closest, warn
from nirc.graph import NODE_FIELDS, NODE_TYPES, Graph, Metadata, Node, Param

NIR_FORMAT_VERSION = "1.0.8"
MAX_BYTES_ENV = "NIRC_MAX_DATASET_BYTES"
DEFAULT_MAX_DATASET_BYTES = 2 << 30
# deflate cannot exceed ~1032:1; a higher ratio means the header lies about the size
MAX_COMPRESSION_RATIO = 1100
# filters HDF5 implements itself (lzf ships with h5py); any other id would make
# HDF5 search the plugin path for code to load
_FILTERS = {
    1: "gzip",
    2: "shuffle",
    3: "fletcher32",
    4: "szip",
    5: "nbit",
    6: "scaleoffset",
    32000: "lzf",
}
_EXPECT_FILE = "an HDF5 file written by nir.write (NIR graph)"

__all__ = ["read", "write", "max_dataset_bytes", "NIR_FORMAT_VERSION"]


def max_dataset_bytes() -> int:
    """The largest dataset (and total) the reader will allocate, in bytes."""
    raw = os.environ.get(MAX_BYTES_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_DATASET_BYTES
    try:
        value = int(float(raw))
    except ValueError:
        raise NircError(
            f"environment variable {MAX_BYTES_ENV} is not a number",
            where=MAX_BYTES_ENV,
            expected="a byte count such as 4294967296",
            found=repr(raw),
        ) from None
    if value <= 0:
        raise NircError(
            f"environment variable {MAX_BYTES_ENV} must be positive",
            where=MAX_BYTES_ENV,
            expected="a byte count > 0",
            found=repr(raw),
        )
    return value


# ----------------------------------------------------------------------------
# locations: built lazily, because paths in graphs nested thousands deep are long


class _Loc:
    """A path inside the file, as a parent chain (cheap to extend, rendered on demand)."""

    __slots__ = ("parent", "name")

    def __init__(self, parent: _Loc | None, name: str) -> None:
        self.parent = parent
        self.name = name

    def child(self, name: str) -> _Loc:
        return _Loc(self, name)

    def __str__(self) -> str:
        parts: list[str] = []
        loc: _Loc | None = self
        while loc is not None and loc.parent is not None:
            parts.append(loc.name)
            loc = loc.parent
        return "/" + "/".join(reversed(parts))


_ROOT = _Loc(None, "")


# ----------------------------------------------------------------------------
# what each field may hold


@dataclass(frozen=True)
class _Rule:
    kinds: str  # numpy dtype kinds accepted
    describe: str  # for "expected: ..."
    min_ndim: int = 0
    max_ndim: int | None = None
    max_size: int | None = None
    strings: tuple[str, ...] = ()  # string values accepted instead of an array


_NUMERIC = _Rule("biuf", "a numeric array")
_SHAPE = _Rule("iu", "a 1-D integer array (a per-sample shape)", max_ndim=1)
_INTS = _Rule("iuf", "an integer or a 1-D array of integers", max_ndim=1)
_INT_SCALAR = _Rule("iu", "one integer", max_ndim=1, max_size=1)
_RULES: dict[str, _Rule] = {
    "shape": _SHAPE,
    "input_shape": _SHAPE,
    "input_type": _SHAPE,
    "bias": _NUMERIC,
    "stride": _INTS,
    "dilation": _INTS,
    "kernel_size": _INTS,
    "padding": _INTS,
    "groups": _INT_SCALAR,
    "start_dim": _INT_SCALAR,
    "end_dim": _INT_SCALAR,
}


def _rule(node_type: str, name: str) -> _Rule:
    if name == "weight":
        if node_type == "Conv1d":
            return _Rule("biuf", "a 3-D numeric array [out, in/groups, k]", 3, 3)
        if node_type == "Conv2d":
            return _Rule("biuf", "a 4-D numeric array [out, in/groups, kh, kw]", 4, 4)
        return _Rule("biuf", "a numeric array with at least 2 axes [out, in]", 2)
    if name == "padding" and node_type in ("Conv1d", "Conv2d"):
        return _Rule(
            "iuf",
            "integer padding (one, or one per axis), 'same' or 'valid'",
            0,
            1,
            strings=("same", "valid"),
        )
    return _RULES.get(name, _NUMERIC)


def _describe_dtype(dt: np.dtype) -> str:
    if dt.names:
        return f"a compound type with fields ({', '.join(dt.names)})"
    if dt.subdtype is not None:
        return f"an HDF5 array type {dt}"
    if dt.kind == "O":
        return "variable-length or reference data"
    if dt.kind == "V":
        return f"opaque data ({dt.itemsize} bytes per element)"
    if h5py.check_string_dtype(dt) is not None:
        return "a string"
    return f"dtype {dt}"


def _fmt_shape(shape: tuple[int, ...] | None) -> str:
    return "null dataspace" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"


# ----------------------------------------------------------------------------
# the reader


# what h5py/HDF5 raise on damaged files (converted to NircError with the path)
_HDF5_FAILURES = (
    OSError,
    RuntimeError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    OverflowError,
    MemoryError,
    UnicodeError,
    SystemError,
)


def read(path: str | os.PathLike) -> Graph:
    """Read a NIR file into a :class:`~nirc.graph.Graph`, refusing anything odd.

    Raises :class:`~nirc.diagnostics.NircError` (``where`` = path inside the file)
    for every problem; reports ignored unknown fields through ``warn``."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as e:
        raise NircError(
            f"cannot open `{p}`: {e.strerror or e}",
            where=str(p),
            expected=_EXPECT_FILE,
            found="no such file" if isinstance(e, FileNotFoundError) else type(e).__name__,
        ) from None
    if not p.is_file():
        raise NircError(f"`{p}` is not a regular file", where=str(p), expected=_EXPECT_FILE)
    note_input(p)
    if st.st_size == 0:
        raise NircError(f"`{p.name}` is empty", where="/", expected=_EXPECT_FILE, found="0 bytes")
    limit = max_dataset_bytes()
    try:
        f = h5py.File(p, "r", locking=False)
    except _HDF5_FAILURES as e:
        raise _open_error(p, st.st_size, e) from None
    reader: _Reader | None = None
    try:
        with f, open(p, "rb") as raw:
            reader = _Reader(f, raw, st.st_size, limit)
            return reader.read_root()
    except NircError:
        raise
    except _HDF5_FAILURES as e:
        raise NircError(
            f"the file is damaged: HDF5 could not read this object ({_first_line(e)})",
            where=str(reader.here) if reader is not None else "/",
            expected=_EXPECT_FILE,
            found=f"{type(e).__name__}: {_first_line(e)}",
            hint="re-export the model; the file may be truncated or corrupted",
        ) from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:300]


def _open_error(p: Path, size: int, e: BaseException) -> NircError:
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
    except OSError:
        head = b""
    msg = _first_line(e)
    if "signature" in msg:
        what = f"`{p.name}` is not an HDF5 file"
    elif "truncated" in msg or "eof" in msg.lower():
        what = f"`{p.name}` is truncated"
    else:
        what = f"`{p.name}` cannot be opened as HDF5"
    return NircError(
        what,
        where="/",
        expected=_EXPECT_FILE,
        found=f"{size} bytes starting with {head!r} ({msg})",
        hint="check that the file was written completely by nir.write or nirc",
    )


class _Reader:
    def __init__(self, f: h5py.File, raw: BinaryIO, file_size: int, limit: int) -> None:
        self.f = f
        self.file_size = file_size
        self.limit = limit
        self.total = 0  # bytes allocated so far
        self.seen: set[tuple[int, int]] = set()  # groups already read (fileno, addr)
        self.here: _Loc = _ROOT  # what is being read, for errors HDF5 raises
        self.raw = raw  # the same file, for checks HDF5 does not make
        fcpl = f.id.get_create_plist()
        self.sizeof_addr, self.sizeof_size = fcpl.get_sizes()
        self.base = fcpl.get_userblock()  # heap addresses are relative to it
        self.heaps: dict[int, dict[int, int]] = {}  # checked heap collections

    # -- links and objects ---------------------------------------------------

    def children(self, gid: h5py.h5g.GroupID, loc: _Loc) -> dict[str, int]:
        """Link names of a group in h5py's listing order, with their link types."""
        self.here = loc
        tracked = gid.get_create_plist().get_link_creation_order() & h5p.CRT_ORDER_TRACKED
        raw: list[tuple[bytes, int]] = []
        gid.links.iterate(
            lambda name, info: raw.append((name, info.type)),
            idx_type=h5py.h5.INDEX_CRT_ORDER if tracked else h5py.h5.INDEX_NAME,
            info=True,
        )
        out: dict[str, int] = {}
        for name_b, ltype in raw:
            try:
                name = name_b.decode("utf-8")
            except UnicodeDecodeError:
                raise NircError(
                    "a name in this group is not valid UTF-8",
                    where=str(loc),
                    expected="UTF-8 names",
                    found=repr(name_b),
                    hint="rename it; NIR names are text",
                ) from None
            out[name] = ltype
        return out

    def open(self, gid: h5py.h5g.GroupID, name: str, ltype: int, loc: _Loc) -> Any:
        """Open a hard-linked child; refuse soft/external links (they loop or reach
        other files)."""
        self.here = loc
        if ltype == h5l.TYPE_SOFT:
            target = gid.links.get_val(name.encode())
            raise NircError(
                "soft link refused: a NIR file holds its data in place, and soft links can loop",
                where=str(loc),
                expected="a group or dataset stored here",
                found=f"soft link to {target.decode('utf-8', 'backslashreplace')!r}",
            )
        if ltype == h5l.TYPE_EXTERNAL:
            val = gid.links.get_val(name.encode())
            target = " ".join(v.decode("utf-8", "backslashreplace") for v in val)
            raise NircError(
                "external link refused: it would make reading this file open another file",
                where=str(loc),
                expected="a group or dataset stored in this file",
                found=f"external link to {target!r}",
            )
        if ltype != h5l.TYPE_HARD:
            raise NircError(
                "user-defined link refused",
                where=str(loc),
                expected="a group or dataset stored in this file",
                found=f"link of type {ltype}",
            )
        return h5o.open(gid, name.encode())

    def group(self, gid: h5py.h5g.GroupID, name: str, ltype: int, loc: _Loc, what: str):
        obj = self.open(gid, name, ltype, loc)
        if not isinstance(obj, h5py.h5g.GroupID):
            raise NircError(
                f"{what} must be a group",
                where=str(loc),
                expected="an HDF5 group",
                found=_kind_of(obj),
            )
        self.mark(obj, loc)
        return obj

    def mark(self, obj: h5py.h5g.GroupID, loc: _Loc) -> None:
        """Remember a group; refuse one reached a second time (hard-link loops)."""
        info = h5o.get_info(obj)
        key = (info.fileno, getattr(info, "addr", None) or hash(obj))
        if key in self.seen:
            raise NircError(
                "this group was already read under another name (a hard-link loop or shared "
                "group): refused, it would make reading loop or multiply",
                where=str(loc),
                expected="every group stored once",
                found="a second hard link to an already-read group",
            )
        self.seen.add(key)

    def dataset(self, gid: h5py.h5g.GroupID, name: str, ltype: int, loc: _Loc, what: str):
        obj = self.open(gid, name, ltype, loc)
        if not isinstance(obj, h5d.DatasetID):
            raise NircError(
                f"{what} must be a dataset",
                where=str(loc),
                expected="an HDF5 dataset",
                found=_kind_of(obj),
            )
        return obj

    # -- datasets ------------------------------------------------------------

    def check_storage(
        self, ds: h5d.DatasetID, loc: _Loc, shape: tuple[int, ...], dt: np.dtype
    ) -> tuple[int, int, int | None]:
        """Refuse data that lives elsewhere or that the file cannot hold.

        Returns (declared bytes, HDF5 layout, file offset of contiguous data)."""
        self.here = loc
        nbytes = math.prod(shape) * dt.itemsize
        if nbytes > self.limit or self.total + nbytes > self.limit:
            raise NircError(
                "dataset too large",
                where=str(loc),
                expected=f"at most {self.limit} bytes in all (set {MAX_BYTES_ENV} to raise it)",
                found=f"{_fmt_shape(shape)} of {dt} = {nbytes} bytes"
                + (f" after {self.total} bytes already read" if self.total else ""),
            )
        plist = ds.get_create_plist()
        layout = plist.get_layout()
        if layout == h5d.VIRTUAL:
            raise NircError(
                "virtual dataset refused: its data would be read from other datasets or files",
                where=str(loc),
                expected="data stored in this dataset",
                found="an HDF5 virtual dataset",
            )
        if plist.get_external_count():
            names = [plist.get_external(i)[0] for i in range(plist.get_external_count())]
            raise NircError(
                "dataset with external storage refused: its data would be read from other files",
                where=str(loc),
                expected="data stored in this file",
                found=f"external raw-data files {names!r}",
            )
        filters = []
        for i in range(plist.get_nfilters()):
            code = plist.get_filter(i)[0]
            if code not in _FILTERS:
                raise NircError(
                    "unsupported compression filter",
                    where=str(loc),
                    expected=f"no filter, or one of {sorted(set(_FILTERS.values()))}",
                    found=f"HDF5 filter id {code}",
                    hint="re-export with compression='gzip' (nir.write's default)",
                )
            filters.append(code)
        offset = None
        if nbytes == 0:
            return 0, layout, offset
        stored = ds.get_storage_size()
        if layout == h5d.CONTIGUOUS:
            offset = ds.get_offset()
            if stored < nbytes or offset is None or offset + stored > self.file_size:
                raise NircError(
                    "dataset declares more data than the file holds",
                    where=str(loc),
                    expected=f"{nbytes} bytes stored for {_fmt_shape(shape)} of {dt}",
                    found=f"{stored} bytes stored"
                    + (
                        ""
                        if offset is None
                        else f" at offset {offset} of a {self.file_size}-byte file"
                    ),
                )
        elif layout == h5d.CHUNKED:
            if stored == 0 or stored > self.file_size:
                raise NircError(
                    "dataset declares more data than the file holds",
                    where=str(loc),
                    expected=f"stored chunks for {_fmt_shape(shape)} of {dt} ({nbytes} bytes)",
                    found=f"{stored} bytes stored in a {self.file_size}-byte file",
                )
            if not filters and stored < nbytes:
                raise NircError(
                    "dataset declares more data than the file holds",
                    where=str(loc),
                    expected=f"{nbytes} bytes stored (no compression)",
                    found=f"{stored} bytes stored",
                )
            if nbytes > stored * MAX_COMPRESSION_RATIO:
                raise NircError(
                    "dataset declares an impossible compression ratio (a decompression bomb?)",
                    where=str(loc),
                    expected=f"at most {MAX_COMPRESSION_RATIO}:1",
                    found=f"{nbytes} bytes declared from {stored} stored ({nbytes / stored:.0f}:1)",
                )
        return nbytes, layout, offset

    def pread(self, offset: int, size: int) -> bytes:
        self.raw.seek(offset)
        return self.raw.read(size)

    def check_vlen(self, loc: _Loc, count: int, layout: int, offset: int | None) -> None:
        """Check the heap objects variable-length strings point to before HDF5 reads
        them: HDF5 loops forever on some damaged global heaps."""
        if layout != h5d.CONTIGUOUS or offset is None:
            raise NircError(
                "variable-length strings must be stored contiguously (as nir writes them)",
                where=str(loc),
                expected="a contiguous string dataset",
                found="chunked or compact storage",
            )
        sa = self.sizeof_addr
        elem = 8 + sa  # length (4), heap collection address, object index (4)
        raw = self.pread(offset, count * elem)
        if len(raw) < count * elem:
            raise NircError(
                "string dataset runs past the end of the file",
                where=str(loc),
                expected=f"{count * elem} bytes of string references",
                found=f"{len(raw)} bytes",
            )
        for k in range(count):
            base = k * elem
            length = int.from_bytes(raw[base : base + 4], "little")
            addr = int.from_bytes(raw[base + 4 : base + 4 + sa], "little")
            index = int.from_bytes(raw[base + 4 + sa : base + elem], "little")
            if addr == 0:  # a null string: HDF5 does not look at the heap
                continue
            objects = self.heaps.get(addr)
            if objects is None:
                objects = self.heaps[addr] = self.check_heap(addr, loc)
            if index not in objects or length > objects[index]:
                raise NircError(
                    "string points outside its heap (damaged file)",
                    where=str(loc) if count == 1 else f"{loc}[{k}]",
                    expected=f"one of the {len(objects)} objects of the heap at {addr}",
                    found=f"object {index} of {length} bytes",
                )

    def check_heap(self, addr: int, loc: _Loc) -> dict[int, int]:
        """Walk an HDF5 global heap collection the way HDF5 does; refuse it where
        HDF5 would loop or run past its end. Returns {object index: size}."""
        ss = self.sizeof_size
        pos = self.base + addr
        head = self.pread(pos, 8 + ss) if pos < self.file_size else b""
        size = int.from_bytes(head[8 : 8 + ss], "little") if len(head) == 8 + ss else 0

        def damaged(found: str) -> NircError:
            return NircError(
                "the heap holding this dataset's strings is damaged",
                where=str(loc),
                expected="an HDF5 global heap collection ('GCOL') inside the file",
                found=f"at byte {pos}: {found}",
                hint="re-export the model; the file is corrupted",
            )

        if head[:4] != b"GCOL":
            raise damaged(f"{head[:4]!r} instead of b'GCOL'")
        if size < 8 + ss or pos + size > self.file_size:
            raise damaged(f"a collection of {size} bytes in a {self.file_size}-byte file")
        data = self.pread(pos, size)
        hdr = 8 + ss  # object header: index (2), refcount (2), reserved (4), size
        p = 8 + ss
        objects: dict[int, int] = {}
        while p < size:
            if p + hdr > size:
                break  # tail too small for an object: free space
            index = int.from_bytes(data[p : p + 2], "little")
            osize = int.from_bytes(data[p + 8 : p + 8 + ss], "little")
            need = hdr + ((osize + 7) & ~7) if index > 0 else osize
            if need == 0 or p + need > size:
                raise damaged(f"object {index} at offset {p} declares {osize} bytes")
            if index > 0:
                objects[index] = osize
            p += need
        return objects

    def read_array(self, ds: h5d.DatasetID, loc: _Loc, kinds: str, describe: str) -> np.ndarray:
        self.here = loc
        dt = ds.dtype
        space = ds.get_space()
        null = space.get_simple_extent_type() == h5s.NULL
        shape = None if null else space.shape
        if dt.kind in "OSU" and h5py.check_string_dtype(dt) is not None:
            raise NircError(
                "expected numbers, found a string",
                where=str(loc),
                expected=describe,
                found=f"string dataset {_fmt_shape(shape)}",
            )
        if dt.kind not in kinds or dt.names or dt.subdtype is not None:
            raise NircError(
                "unsupported element type",
                where=str(loc),
                expected=describe,
                found=f"{_describe_dtype(dt)}, shape {_fmt_shape(shape)}",
            )
        if shape is None:
            raise NircError(
                "dataset holds no value (null dataspace)",
                where=str(loc),
                expected=describe,
                found="an empty (null) dataspace",
            )
        nbytes = self.check_storage(ds, loc, shape, dt)[0]
        arr = np.empty(shape, dtype=dt)
        if nbytes:
            ds.read(h5s.ALL, h5s.ALL, arr)
            self.total += nbytes
        return arr

    def read_strings(self, ds: h5d.DatasetID, loc: _Loc, describe: str) -> np.ndarray:
        """A string dataset as an object array of ``str`` (same shape)."""
        self.here = loc
        dt = ds.dtype
        space = ds.get_space()
        shape = None if space.get_simple_extent_type() == h5s.NULL else space.shape
        if dt.kind not in "OS" or h5py.check_string_dtype(dt) is None or shape is None:
            raise NircError(
                "expected text",
                where=str(loc),
                expected=describe,
                found=f"{_describe_dtype(dt)}, shape {_fmt_shape(shape)}",
            )
        nbytes, layout, offset = self.check_storage(ds, loc, shape, dt)
        raw = np.empty(shape, dtype=dt)
        if nbytes:
            if dt.kind == "O":
                self.check_vlen(loc, math.prod(shape), layout, offset)
            ds.read(h5s.ALL, h5s.ALL, raw)
            self.total += nbytes
        out = np.empty(shape, dtype=object)
        flat_out = out.reshape(-1)
        for i, v in enumerate(raw.reshape(-1)):
            if isinstance(v, str):  # h5py may already decode
                flat_out[i] = v
                continue
            b = bytes(v)
            try:
                flat_out[i] = b.decode("utf-8")
            except UnicodeDecodeError:
                raise NircError(
                    "text is not valid UTF-8",
                    where=str(loc) if out.ndim == 0 else f"{loc}[{i}]",
                    expected="UTF-8 text",
                    found=repr(b[:200]),
                ) from None
        return out

    def read_string(self, ds: h5d.DatasetID, loc: _Loc, describe: str) -> str:
        arr = self.read_strings(ds, loc, describe)
        if arr.ndim != 0:
            raise NircError(
                "expected a single string",
                where=str(loc),
                expected=describe,
                found=f"an array of strings, shape {_fmt_shape(arr.shape)}",
            )
        return arr[()]

    # -- NIR structure -------------------------------------------------------

    def read_root(self) -> Graph:
        root = self.f.id
        entries = self.children(root, _ROOT)
        if "node" not in entries:
            raise NircError(
                "no `node` group: this is HDF5 but not a NIR graph",
                where="/",
                expected="a group `/node` holding the NIRGraph (as nir.write writes it)",
                found=f"top-level entries {sorted(entries)}" if entries else "an empty file",
            )
        loc = _ROOT.child("node")
        gid = self.group(root, "node", entries["node"], loc, "`node`")
        fields = self.children(gid, loc)
        node_type = self.node_type(gid, fields, loc)
        if node_type != "NIRGraph":
            raise NircError(
                "the top-level node must be a graph",
                where=f"{loc}/type",
                expected="NIRGraph",
                found=repr(node_type),
                hint="wrap the node in a NIRGraph with Input and Output nodes",
            )
        graph = Graph()
        stack: list[tuple[Any, dict[str, int], Graph, _Loc]] = [(gid, fields, graph, loc)]
        while stack:
            gid, fields, g, loc = stack.pop()
            self.read_graph(gid, fields, g, loc, stack)
        return graph

    def node_type(self, gid, fields: dict[str, int], loc: _Loc) -> str:
        if "type" not in fields:
            raise NircError(
                "node has no `type`",
                where=str(loc),
                expected="a string dataset `type` naming the NIR primitive (e.g. 'LIF')",
                found=f"fields {sorted(fields)}" if fields else "an empty group",
            )
        tloc = loc.child("type")
        ds = self.dataset(gid, "type", fields["type"], tloc, "`type`")
        name = self.read_string(ds, tloc, "the name of a NIR primitive, e.g. 'LIF'")
        if name not in NODE_FIELDS:
            guess = closest(name, list(NODE_TYPES))
            raise NircError(
                f"unknown node type {name!r}",
                where=str(tloc),
                expected=f"one of {', '.join(NODE_TYPES)}",
                found=repr(name),
                hint=f"did you mean {guess!r}?" if guess else None,
            )
        return name

    def read_graph(self, gid, fields: dict[str, int], graph: Graph, loc: _Loc, stack) -> None:
        for required in ("nodes", "edges"):
            if required not in fields:
                raise NircError(
                    f"graph has no `{required}`",
                    where=str(loc),
                    expected="`type`, `nodes` (a group) and `edges` (an [n, 2] string dataset)",
                    found=f"fields {sorted(fields)}",
                )
        self.warn_unknown(fields, {"type", "nodes", "edges", "metadata"}, loc, "NIRGraph")
        nloc = loc.child("nodes")
        nodes_gid = self.group(gid, "nodes", fields["nodes"], nloc, "`nodes`")
        for name, ltype in self.children(nodes_gid, nloc).items():
            node_loc = nloc.child(name)
            ngid = self.group(nodes_gid, name, ltype, node_loc, f"node `{name}`")
            nfields = self.children(ngid, node_loc)
            node_type = self.node_type(ngid, nfields, node_loc)
            if node_type == "NIRGraph":
                node = Node(name, "NIRGraph", graph=Graph())
                stack.append((ngid, nfields, node.graph, node_loc))
            else:
                node = self.read_node(ngid, nfields, name, node_type, node_loc)
            graph.nodes[name] = node
        eloc = loc.child("edges")
        graph.edges = self.read_edges(
            self.dataset(gid, "edges", fields["edges"], eloc, "`edges`"), eloc
        )
        if "metadata" in fields:
            graph.metadata = self.read_metadata(gid, fields["metadata"], loc.child("metadata"))

    def read_edges(self, ds: h5d.DatasetID, loc: _Loc) -> list[tuple[str, str]]:
        self.here = loc
        expected = "an [n, 2] dataset of node-name strings (source, target)"
        shape = ds.shape
        if (
            shape is not None
            and math.prod(shape) == 0
            and h5py.check_string_dtype(ds.dtype) is None
        ):
            # nir.write stores an empty edge list as an empty float array
            if ds.dtype.kind in "biuf":
                return []
        if h5py.check_string_dtype(ds.dtype) is None:
            raise NircError(
                "edges must be node names",
                where=str(loc),
                expected=expected,
                found=f"{_describe_dtype(ds.dtype)}, shape {_fmt_shape(shape)}",
            )
        if shape is None or not ((len(shape) == 2 and shape[1] == 2) or math.prod(shape) == 0):
            raise NircError(
                "edges must have two columns (source, target)",
                where=str(loc),
                expected=expected,
                found=f"shape {_fmt_shape(shape)}",
            )
        values = self.read_strings(ds, loc, expected)
        edges: list[tuple[str, str]] = []
        for i, (src, dst) in enumerate(values.reshape(-1, 2)):
            if not src or not dst:
                raise NircError(
                    "edge with an empty node name",
                    where=f"{loc}[{i}]",
                    expected="two non-empty node names",
                    found=repr((src, dst)),
                )
            edges.append((src, dst))
        return edges

    def read_node(self, gid, fields: dict[str, int], name: str, node_type: str, loc: _Loc) -> Node:
        required, optional = NODE_FIELDS[node_type]
        params: dict[str, Param] = {}
        for key in required:
            if key not in fields:
                present = [k for k in fields if k not in ("type", "metadata")]
                guess = closest(key, present)
                raise NircError(
                    f"{node_type} node `{name}` is missing the required field `{key}`",
                    where=f"{loc}/{key}",
                    expected=f"fields {', '.join(required)}",
                    found=f"fields {', '.join(present) or 'none'}",
                    hint=f"is `{guess}` meant to be `{key}`?" if guess else None,
                )
            params[key] = self.read_field(gid, key, fields[key], node_type, loc.child(key))
        for key in optional:
            if key in fields:
                params[key] = self.read_field(gid, key, fields[key], node_type, loc.child(key))
        # defaults for files written before these fields existed (as nir does)
        if "v_reset" in optional and "v_reset" not in params:
            params["v_reset"] = np.zeros_like(params["v_threshold"])
        if "w_in" in optional and "w_in" not in params:
            params["w_in"] = np.ones_like(params["tau_mem"])
        self.warn_unknown(fields, {*required, *optional, "type", "metadata"}, loc, node_type)
        metadata = (
            self.read_metadata(gid, fields["metadata"], loc.child("metadata"))
            if "metadata" in fields
            else {}
        )
        return Node(name, node_type, params, metadata)

    def read_field(self, gid, key: str, ltype: int, node_type: str, loc: _Loc) -> Param:
        rule = _rule(node_type, key)
        obj = self.open(gid, key, ltype, loc)
        if isinstance(obj, h5py.h5g.GroupID) and key == "input_type":
            # some writers stored Flatten's input_type as {"input": shape}
            sub = self.children(obj, loc)
            if list(sub) == ["input"]:
                loc = loc.child("input")
                obj = self.open(obj, "input", sub["input"], loc)
        if not isinstance(obj, h5d.DatasetID):
            raise NircError(
                f"field `{key}` must be a dataset",
                where=str(loc),
                expected=rule.describe,
                found=_kind_of(obj),
            )
        if rule.strings and h5py.check_string_dtype(obj.dtype) is not None:
            value = self.read_string(obj, loc, rule.describe)
            if value not in rule.strings:
                raise NircError(
                    f"unknown `{key}` mode",
                    where=str(loc),
                    expected=rule.describe,
                    found=repr(value),
                )
            return value
        arr = self.read_array(obj, loc, rule.kinds, rule.describe)
        if (
            arr.ndim < rule.min_ndim
            or (rule.max_ndim is not None and arr.ndim > rule.max_ndim)
            or (rule.max_size is not None and arr.size > rule.max_size)
        ):
            raise NircError(
                f"field `{key}` has the wrong shape",
                where=str(loc),
                expected=rule.describe,
                found=f"{arr.ndim}-D array of shape {_fmt_shape(arr.shape)}",
            )
        return arr

    def warn_unknown(
        self, fields: dict[str, int], known: set[str], loc: _Loc, node_type: str
    ) -> None:
        for key in fields:
            if key not in known:
                guess = closest(key, sorted(known - {"type", "metadata", "nodes", "edges"}))
                warn(
                    f"ignored unknown field `{key}` of a {node_type} node"
                    + (f" (did you mean `{guess}`?)" if guess else ""),
                    where=f"{loc}/{key}",
                    kind="repair",
                )

    def read_metadata(self, parent, ltype: int, loc: _Loc) -> Metadata:
        """A metadata group as nested dicts of str / numpy arrays (iteratively)."""
        gid = self.group(parent, "metadata", ltype, loc, "`metadata`")
        result: Metadata = {}
        stack: list[tuple[Any, _Loc, Metadata]] = [(gid, loc, result)]
        while stack:
            gid, gloc, into = stack.pop()
            for name, lt in self.children(gid, gloc).items():
                cloc = gloc.child(name)
                obj = self.open(gid, name, lt, cloc)
                if isinstance(obj, h5py.h5g.GroupID):
                    self.mark(obj, cloc)
                    into[name] = sub = {}
                    stack.append((obj, cloc, sub))
                elif isinstance(obj, h5d.DatasetID):
                    into[name] = self.read_value(obj, cloc)
                else:
                    raise NircError(
                        "unsupported metadata entry",
                        where=str(cloc),
                        expected="a group or a dataset",
                        found=_kind_of(obj),
                    )
        return result

    def read_value(self, ds: h5d.DatasetID, loc: _Loc) -> np.ndarray | str:
        describe = "text, a number or a numeric array"
        if h5py.check_string_dtype(ds.dtype) is not None:
            arr = self.read_strings(ds, loc, describe)
            return arr[()] if arr.ndim == 0 else arr.astype(str)
        return self.read_array(ds, loc, "biufc", describe)


def _kind_of(obj: Any) -> str:
    if isinstance(obj, h5py.h5g.GroupID):
        return "a group"
    if isinstance(obj, h5d.DatasetID):
        return "a dataset"
    if isinstance(obj, h5py.h5t.TypeID):
        return "a committed datatype"
    return type(obj).__name__


# ----------------------------------------------------------------------------
# the writer


def write(
    path: str | os.PathLike,
    graph: Graph,
    compression: str | int | None = "gzip",
    compression_opts: Any = None,
) -> None:
    """Write ``graph`` as a NIR file that ``nir.read`` 1.0.8 reads back.

    The file appears atomically (nothing is left behind on failure). Arrays keep
    their dtype and are compressed when ``compression`` is not None; scalars and
    strings are stored plainly, as nir does. Groups track creation order, so the
    file lists nodes in the graph's order."""
    _check_writable(graph)
    try:
        # built in memory, then written as bytes: HDF5 itself never meets a full
        # disk (it can crash there), and the file appears atomically
        buf = io.BytesIO()
        with h5py.File(buf, "w", track_order=True) as f:
            _Writer(f, compression, compression_opts).write_graph(graph)
        write_bytes(path, buf.getvalue())
    except NircError:
        raise
    except (OSError, ValueError, TypeError, RuntimeError) as e:
        raise NircError(
            f"cannot write `{path}`: {_first_line(e)}",
            where=str(path),
            expected="a writable location and compression 'gzip', 'lzf', 0-9 or None",
            found=f"{type(e).__name__}: {_first_line(e)}",
        ) from None


def _check_name(name: Any, where: str | _Loc, what: str) -> None:
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise NircError(
            f"{what} cannot be stored in HDF5",
            where=str(where),
            expected="a non-empty string without '/' (and not '.' or '..')",
            found=repr(name),
        )


def _check_writable(graph: Graph) -> None:
    """Refuse what nir.read could not read back, before creating any file."""
    stack: list[tuple[Graph, str]] = [(graph, "/node")]
    while stack:
        g, where = stack.pop()
        for name, node in g.nodes.items():
            nwhere = f"{where}/nodes/{name}"
            _check_name(name, nwhere, "node name")
            if node.type not in NODE_FIELDS:
                guess = closest(str(node.type), list(NODE_TYPES))
                raise NircError(
                    f"unknown node type {node.type!r}",
                    where=nwhere,
                    expected=f"one of {', '.join(NODE_TYPES)}",
                    found=repr(node.type),
                    hint=f"did you mean {guess!r}?" if guess else None,
                )
            if node.type == "NIRGraph":
                if node.graph is None:
                    raise NircError(
                        "NIRGraph node without a graph",
                        where=nwhere,
                        expected="node.graph set",
                        found="None",
                    )
                stack.append((node.graph, nwhere))
                continue
            required, optional = NODE_FIELDS[node.type]
            missing = [k for k in required if k not in node.params]
            if missing:
                raise NircError(
                    f"{node.type} node `{name}` lacks required fields",
                    where=nwhere,
                    expected=", ".join(required),
                    found=f"missing {', '.join(missing)}",
                )
            for key, value in node.params.items():
                if key not in required and key not in optional:
                    raise NircError(
                        f"field `{key}` is not a {node.type} field",
                        where=f"{nwhere}/{key}",
                        expected=", ".join(required + optional),
                        found=key,
                    )
                if isinstance(value, str):
                    continue
                if not isinstance(value, np.ndarray) or value.dtype.kind not in "biufc":
                    raise NircError(
                        f"field `{key}` cannot be stored",
                        where=f"{nwhere}/{key}",
                        expected="a numeric numpy array or a string",
                        found=type(value).__name__
                        if not isinstance(value, np.ndarray)
                        else f"array of {_describe_dtype(value.dtype)}",
                    )
        for i, edge in enumerate(g.edges):
            if len(edge) != 2 or not all(isinstance(e, str) and e for e in edge):
                raise NircError(
                    "edge cannot be stored",
                    where=f"{where}/edges[{i}]",
                    expected="(source, target) as two non-empty strings",
                    found=repr(edge),
                )


class _Writer:
    def __init__(self, f: h5py.File, compression: Any, compression_opts: Any) -> None:
        self.f = f
        self.compression = compression
        self.compression_opts = compression_opts

    def array(self, group: h5py.Group, key: str, value: np.ndarray) -> None:
        if value.dtype.kind in "US":
            texts = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in value.flat]
            data = np.array(texts, dtype=object).reshape(value.shape)
            group.create_dataset(key, data=data, dtype=h5py.string_dtype())
        elif value.ndim == 0 or self.compression is None:
            group.create_dataset(key, data=value, dtype=value.dtype)
        else:
            group.create_dataset(
                key,
                data=value,
                dtype=value.dtype,
                compression=self.compression,
                compression_opts=self.compression_opts,
            )

    def string(self, group: h5py.Group, key: str, value: str) -> None:
        group.create_dataset(key, data=value, dtype=h5py.string_dtype())

    def write_graph(self, graph: Graph) -> None:
        self.string(self.f, "version", NIR_FORMAT_VERSION)
        loc = _ROOT.child("node")
        stack: list[tuple[h5py.Group, Graph, Metadata, _Loc]] = [
            (self.f.create_group("node", track_order=True), graph, graph.metadata, loc)
        ]
        while stack:
            grp, g, metadata, loc = stack.pop()
            nodes = grp.create_group("nodes", track_order=True)
            for name, node in g.nodes.items():
                ngrp = nodes.create_group(name, track_order=True)
                nloc = loc.child("nodes").child(name)
                if node.type == "NIRGraph":
                    assert node.graph is not None
                    md = {**node.metadata, **node.graph.metadata}
                    stack.append((ngrp, node.graph, md, nloc))
                    continue
                for key, value in node.params.items():
                    if isinstance(value, str):
                        self.string(ngrp, key, value)
                    else:
                        self.array(ngrp, key, value)
                self.metadata(ngrp, node.metadata, nloc)
                self.string(ngrp, "type", node.type)
            edges = np.array([[s, t] for s, t in g.edges], dtype=object).reshape(-1, 2)
            grp.create_dataset("edges", data=edges, dtype=h5py.string_dtype())
            self.metadata(grp, metadata, loc)
            self.string(grp, "type", "NIRGraph")

    def metadata(self, parent: h5py.Group, metadata: Metadata, loc: _Loc) -> None:
        if not metadata:
            return
        mloc = loc.child("metadata")
        stack = [(parent.create_group("metadata", track_order=True), metadata, mloc)]
        while stack:
            grp, d, w = stack.pop()
            if not isinstance(d, dict):
                raise NircError("metadata must be a dict", where=str(w), found=type(d).__name__)
            for key, value in d.items():
                kloc = w.child(str(key))
                _check_name(key, kloc, "metadata key")
                if isinstance(value, dict):
                    stack.append((grp.create_group(key, track_order=True), value, kloc))
                elif isinstance(value, str):
                    self.string(grp, key, value)
                elif isinstance(value, bytes):
                    try:
                        self.string(grp, key, value.decode("utf-8"))
                    except UnicodeDecodeError:
                        raise NircError(
                            "metadata bytes are not UTF-8 text",
                            where=str(kloc),
                            expected="text",
                            found=repr(value[:80]),
                        ) from None
                else:
                    arr = np.asarray(value) if value is not None else None
                    if arr is None or arr.dtype.kind not in "biufcUS" or (arr.dtype.kind == "O"):
                        raise NircError(
                            "metadata value cannot be stored",
                            where=str(kloc),
                            expected="a dict, a string, a number or a numeric/string array",
                            found=type(value).__name__
                            if arr is None
                            else f"{type(value).__name__} of {_describe_dtype(arr.dtype)}",
                        )
                    self.array(grp, key, arr)
