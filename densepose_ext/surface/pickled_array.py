"""Numpy arrays inside a pickle file, memory-mapped instead of loaded.

The reference ships its geodesic distance matrix (``Pdist_matrix.pkl``, 1.5 GB at SMPL size) as a pickled dict of
numpy arrays. ``pickle.load`` reads every byte into memory and numpy then holds a second copy while it builds the
array. Numpy pickles an array as ``_reconstruct(ndarray, (0,), b"b")`` followed by BUILD with the state
``(version, shape, dtype, is_fortran, raw bytes)``, and the raw bytes sit in the file as one run (opcodes BINBYTES /
BINBYTES8, or BINSTRING in pickles written by Python 2, the reference's). ``load_mapped`` skips such runs and maps
them read-only (``mmap`` advised MADV_RANDOM: such arrays are lookup tables read at scattered places, so a lookup
should read its own page from disk, not the read-ahead window around it); small runs, and payloads not stored as
raw bytes, are read normally.

Only numpy's array and dtype reconstruction is allowed to run: any other global in the file is an error (a pickle
can otherwise execute arbitrary code).
"""

from __future__ import annotations

import mmap
import pickle
import struct
from pathlib import Path
from typing import Any, Union

import numpy as np

__all__ = ["load_mapped", "is_mapped"]

# Byte runs shorter than this are read into memory: mapping them would save nothing.
MIN_MAPPED_BYTES = 1 << 20

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how Python 3 writes bytes at protocol 2: _codecs.encode(latin1 text, "latin1")
}


def _latin1_encode(text: str, encoding: str) -> bytes:
    if encoding != "latin1":
        raise ValueError(f"expected bytes pickled as latin1 text, got encoding {encoding!r}")
    return text.encode("latin1")


class _FileBytes:
    """A run of ``length`` raw bytes at ``offset`` of the pickle file, left on disk."""

    def __init__(self, offset: int, length: int) -> None:
        self.offset, self.length = offset, length


class _ArraySpec:
    """Stands in for the ndarray under construction: records the state numpy's BUILD passes."""

    def __init__(self, *_args: Any) -> None:
        self.state: tuple = ()

    def __setstate__(self, state: tuple) -> None:
        self.state = state


# pickle._Unpickler is the pure-Python unpickler: unlike the C one it lets a subclass replace opcode handlers
# (class attribute ``dispatch``, opcode byte -> function), which is what skipping a byte run needs.
class _MappingUnpickler(pickle._Unpickler):  # noqa: SLF001 - see above
    dispatch = dict(pickle._Unpickler.dispatch)  # noqa: SLF001

    def __init__(self, file, path: Path) -> None:
        super().__init__(file, encoding="latin1")  # latin1: Python 2 pickles, as the reference reads them
        self._raw_file = file
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise ValueError(f"{self._path}: expected a pickle of numpy arrays, found the global {module}.{name}")
        if name == "dtype":
            return np.dtype
        if name == "encode":
            return _latin1_encode
        return _ArraySpec

    def _byte_run(self, length: int, as_text: bool) -> None:
        # Runs inside a protocol-4 frame are already in memory; large ones are written outside frames.
        if length >= MIN_MAPPED_BYTES and self._unframer.current_frame is None:
            offset = self._raw_file.tell()
            self._raw_file.seek(length, 1)
            self.append(_FileBytes(offset, length))
        else:
            data = self.read(length)
            self.append(data.decode("latin1") if as_text else data)

    def _load_binbytes(self) -> None:
        self._byte_run(struct.unpack("<I", self.read(4))[0], as_text=False)

    def _load_binbytes8(self) -> None:
        self._byte_run(struct.unpack("<Q", self.read(8))[0], as_text=False)

    def _load_binstring(self) -> None:
        (length,) = struct.unpack("<i", self.read(4))
        if length < 0:
            raise pickle.UnpicklingError(f"{self._path}: negative BINSTRING length {length}")
        self._byte_run(length, as_text=True)

    dispatch[pickle.BINBYTES[0]] = _load_binbytes
    dispatch[pickle.BINBYTES8[0]] = _load_binbytes8
    dispatch[pickle.BINSTRING[0]] = _load_binstring


def _array(spec: _ArraySpec, path: Path) -> np.ndarray:
    """The array an _ArraySpec describes: mapped from ``path`` when its bytes were left there."""
    if len(spec.state) != 5:
        raise ValueError(f"{path}: expected numpy's array state (version, shape, dtype, fortran, data), "
                         f"got {len(spec.state)} fields")
    _, shape, dtype, fortran, data = spec.state
    shape, order = tuple(int(s) for s in shape), "F" if fortran else "C"
    count = int(np.prod(shape, dtype=np.int64))
    if dtype.hasobject:
        raise ValueError(f"{path}: expected a numeric array, got dtype {dtype}")
    size = len(data) if not isinstance(data, _FileBytes) else data.length
    if size != count * dtype.itemsize:
        raise ValueError(f"{path}: array of shape {shape} and dtype {dtype} needs {count * dtype.itemsize} bytes, "
                         f"the file holds {size}")
    if isinstance(data, _FileBytes):
        return _map(path, data, dtype).reshape(shape, order=order)
    raw = data.encode("latin1") if isinstance(data, str) else data
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order)


def _map(path: Path, run: _FileBytes, dtype: np.dtype) -> np.ndarray:
    """The bytes of ``run`` as a flat read-only array over a memory map of ``path``."""
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)  # stays valid after the file is closed
    if hasattr(mmap, "MADV_RANDOM"):  # Linux, macOS
        mapped.madvise(mmap.MADV_RANDOM)
    return np.frombuffer(mapped, dtype=dtype, count=run.length // dtype.itemsize, offset=run.offset)


def _resolve(obj: Any, path: Path) -> Any:
    if isinstance(obj, _ArraySpec):
        return _array(obj, path)
    if isinstance(obj, dict):
        return {k: _resolve(v, path) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(v, path) for v in obj)
    return obj


def load_mapped(path: Union[str, Path]) -> Any:
    """Unpickle ``path`` (numpy arrays in dicts, lists, tuples); arrays of >= 1 MiB stored as raw bytes come back as
    read-only views of a memory map of the file (``is_mapped``), the others as read-only arrays in memory."""
    path = Path(path)
    with open(path, "rb") as fh:
        try:
            obj = _MappingUnpickler(fh, path).load()
        except (pickle.UnpicklingError, EOFError, struct.error) as err:
            raise ValueError(f"{path}: not a readable pickle ({err})") from err
    return _resolve(obj, path)


def is_mapped(array: np.ndarray) -> bool:
    """Whether ``array`` views a memory-mapped file (as load_mapped returns large arrays)."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)
