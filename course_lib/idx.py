"""Read and write IDX files, the format MNIST is distributed in.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension,
then the array's items in C order, big-endian. The magic number's third byte
is the item type and its fourth the number of dimensions, so MNIST's label
files start with 2049 (``0x00000801``: ``uint8``, 1-D) and its image files with
2051 (``0x00000803``: ``uint8``, 3-D). Files ending in ``.gz`` (or starting
with gzip's magic bytes) are decompressed on the fly.

The format is described on the MNIST page of LeCun, Cortes and Burges.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

#: Magic number of an IDX file of ``uint8`` labels, shape ``(N,)``.
LABELS_MAGIC = 2049
#: Magic number of an IDX file of ``uint8`` images, shape ``(N, rows, cols)``.
IMAGES_MAGIC = 2051

#: IDX item-type byte -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file (wrong magic, truncated, trailing bytes)."""


def read_bytes(path: str | os.PathLike) -> bytes:
    """The content of ``path``, gunzipped if it is a gzip file.

    Raises:
        IdxFormatError: if the file looks like gzip but cannot be decompressed
            (for example a download cut off midway).
    """
    raw = Path(path).read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise IdxFormatError(f"{path}: damaged gzip file ({error})") from error


def parse_idx(
    data: bytes, *, expected_magic: int | None = None, source: str = "IDX data"
) -> np.ndarray:
    """Parse the bytes of an IDX file into a NumPy array.

    Args:
        data: the whole (uncompressed) file content.
        expected_magic: if given, the magic number the file must have, e.g.
            :data:`LABELS_MAGIC` (2049) or :data:`IMAGES_MAGIC` (2051).
        source: name of the file, used in error messages.

    Returns:
        A new array in native byte order, with the shape given by the header
        (``(N,)`` for labels, ``(N, 28, 28)`` for MNIST images).

    Raises:
        IdxFormatError: wrong magic number, unknown item type, or a size that
            does not match the header (truncated file or trailing bytes).
    """
    if len(data) < 4:
        raise IdxFormatError(f"{source}: {len(data)} bytes is too short for an IDX header")
    (magic,) = struct.unpack(">I", data[:4])
    if expected_magic is not None and magic != expected_magic:
        raise IdxFormatError(
            f"{source}: magic number {magic} (0x{magic:08x}), expected {expected_magic} "
            f"(0x{expected_magic:08x}); it is not the IDX file it should be, or it is damaged"
        )
    zero, type_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zero != 0 or type_code not in IDX_DTYPES or ndim == 0:
        raise IdxFormatError(
            f"{source}: magic number {magic} (0x{magic:08x}) is not an IDX header "
            "(expected 0x0000TTDD with a known item type TT and DD >= 1 dimensions)"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IdxFormatError(
            f"{source}: truncated header: {ndim} dimensions need {header_size} bytes, "
            f"got {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = IDX_DTYPES[type_code]
    expected_size = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected_size:
        problem = "truncated" if len(data) < expected_size else "trailing bytes"
        raise IdxFormatError(
            f"{source}: {problem}: header says shape {shape} of {dtype.name}, which is "
            f"{expected_size} bytes with the header, but the data has {len(data)} bytes"
        )
    items = np.frombuffer(data, dtype=dtype, offset=header_size)
    return items.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def read_idx(path: str | os.PathLike, *, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (plain or gzipped) into a NumPy array; see :func:`parse_idx`."""
    return parse_idx(read_bytes(path), expected_magic=expected_magic, source=str(path))


def encode_idx(array: np.ndarray) -> bytes:
    """The bytes of an IDX file holding ``array`` (the inverse of :func:`parse_idx`).

    Args:
        array: an array of one of the IDX item types (``uint8``, ``int8``,
            ``int16``, ``int32``, ``float32``, ``float64``) with at least one axis.
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    codes = [code for code, dtype in IDX_DTYPES.items() if dtype.newbyteorder("=") == native]
    if not codes:
        raise TypeError(f"array: dtype {array.dtype} has no IDX item type")
    code, dtype = codes[0], IDX_DTYPES[codes[0]]
    if array.ndim == 0:
        raise ValueError("array: expected at least one axis, got a 0-D array")
    header = struct.pack(f">I{array.ndim}I", (code << 8) | array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()
