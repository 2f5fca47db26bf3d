"""Read and write IDX files, the format MNIST ships in (raw or gzip, detected by content).

An IDX file is: two zero bytes, a type code, the number of dimensions, then one big-endian
uint32 per dimension, then the data in row-major order (big-endian for multi-byte types).
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path

import numpy as np

from digitnet.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_NDIM = 4
MAX_DATA_BYTES = 2**30  # 1 GiB: far above MNIST (47 MB), far below a decompression bomb


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw or gzip, told apart by its first bytes) into an array.

    Raises DataError naming the file for a missing file, bad gzip data, a wrong magic number, an
    unknown type code, a zero or absurd dimension, and a file shorter or longer than its header.
    """
    path = Path(path)
    return parse_idx(decompress_if_gzip(read_file_bytes(path), path.name), path.name)


def read_file_bytes(path: Path) -> bytes:
    """The whole file, with a DataError (not an OSError) when it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None


def decompress_if_gzip(data: bytes, name: str) -> bytes:
    """Gunzip data that starts with the gzip magic (all members), refusing more than 1 GiB."""
    if not data.startswith(GZIP_MAGIC):
        return data
    chunks: list[bytes] = []
    budget = MAX_DATA_BYTES
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            chunk = inflater.decompress(rest, budget + 1)
            if len(chunk) > budget or inflater.unconsumed_tail:
                raise DataError(f"{name}: decompresses to more than the 1 GiB limit")
            if not inflater.eof:
                raise DataError(f"{name}: truncated gzip data")
            chunks.append(chunk)
            budget -= len(chunk)
            rest = inflater.unused_data
    except zlib.error as err:
        raise DataError(f"{name}: corrupted gzip data ({err})") from None
    return b"".join(chunks)


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """Decode the bytes of an uncompressed IDX file; `name` is used in error messages."""
    if len(data) < 4:
        raise DataError(f"{name}: truncated, the 4-byte IDX header is missing")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{name}: wrong magic number {data[:4].hex()}, not an IDX file")
    type_code, ndim = data[2], data[3]
    if type_code not in TYPE_CODES:
        raise DataError(f"{name}: unknown IDX type code 0x{type_code:02x}")
    if not 1 <= ndim <= MAX_NDIM:
        raise DataError(f"{name}: {ndim} dimensions, expected 1 to {MAX_NDIM}")
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise DataError(f"{name}: truncated inside the dimension list")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if any(d == 0 for d in dims):
        raise DataError(f"{name}: a dimension is zero {tuple(dims)}")
    dtype = TYPE_CODES[type_code]
    n_bytes = dtype.itemsize * _product(dims)  # Python ints: no overflow
    found = len(data) - header_bytes
    if found < n_bytes:
        raise DataError(f"{name}: truncated, expected {n_bytes} bytes of data, found {found}")
    if found > n_bytes:
        raise DataError(f"{name}: {found - n_bytes} bytes more than its header says")
    array = np.frombuffer(data, dtype=dtype, offset=header_bytes).reshape(dims)
    return array.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def _product(dims: list[int]) -> int:
    result = 1
    for d in dims:
        result *= d
    return result


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool = False) -> None:
    """Write an array as an IDX file (gzip when compress=True); the inverse of read_idx."""
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in TYPE_CODES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes or not 1 <= array.ndim <= MAX_NDIM:
        raise DataError(f"cannot write dtype {array.dtype} with {array.ndim} dimensions as IDX")
    code = codes[native]
    buffer = io.BytesIO()
    buffer.write(bytes([0, 0, code, array.ndim]))
    for d in array.shape:
        buffer.write(int(d).to_bytes(4, "big"))
    buffer.write(np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes())
    payload = buffer.getvalue()
    Path(path).write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
