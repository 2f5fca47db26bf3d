"""The IDX reader: round trips, gzip detected by content, and every corruption refused."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitnet.data.idx import parse_idx, read_idx, write_idx
from digitnet.errors import DataError


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28),
        np.array([0, 9, 3], dtype=np.uint8),
        np.array([[-1, 2], [300, -40000]], dtype=np.int32),
        np.array([1.5, -2.25], dtype=np.float64),
        np.array([[1, -2]], dtype=np.int16),
        np.array([0.5], dtype=np.float32),
    ],
)
def test_round_trip(tmp_path, array, compress):
    path = tmp_path / "file.idx"
    write_idx(path, array, compress=compress)
    loaded = read_idx(path)
    assert loaded.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(loaded, array)


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    gz_without_suffix = tmp_path / "labels"
    write_idx(gz_without_suffix, array, compress=True)
    raw_with_gz_suffix = tmp_path / "labels.gz"
    write_idx(raw_with_gz_suffix, array, compress=False)
    np.testing.assert_array_equal(read_idx(gz_without_suffix), array)
    np.testing.assert_array_equal(read_idx(raw_with_gz_suffix), array)


def test_multi_byte_values_are_big_endian(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 0x0C, 1, 0, 0, 0, 1, 0, 0, 1, 2]))
    assert read_idx(path).tolist() == [258]


def _header(code=0x08, dims=(3,)):
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "header is missing"),
        (b"\x00\x00", "header is missing"),
        (b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"abc", "wrong magic"),
        (_header(code=0x07) + b"abc", "unknown IDX type code"),
        (bytes([0, 0, 8, 0]), "0 dimensions"),
        (bytes([0, 0, 8, 5]) + b"\x00" * 20, "5 dimensions"),
        (_header(dims=(3,))[:6], "dimension list"),
        (_header(dims=(3,)) + b"ab", "truncated"),
        (_header(dims=(3,)) + b"abcd", "more than its header"),
        (_header(dims=(0, 5)), "dimension is zero"),
        (_header(dims=(2**32 - 1, 2**32 - 1, 2**32 - 1)), "truncated"),
    ],
)
def test_corrupted_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert "bad-idx" in str(info.value)


def test_truncated_gzip_is_refused(tmp_path):
    path = tmp_path / "cut.gz"
    packed = gzip.compress(_header(dims=(1000,)) + bytes(1000))
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="truncated gzip"):
        read_idx(path)


def test_corrupted_gzip_is_refused(tmp_path):
    path = tmp_path / "junk.gz"
    path.write_bytes(b"\x1f\x8b" + b"\xff" * 40)
    with pytest.raises(DataError, match="gzip"):
        read_idx(path)


def test_missing_file_and_folder_are_refused(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "absent")
    with pytest.raises(DataError, match="folder"):
        read_idx(tmp_path)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_parse_or_raise_data_error(data):
    try:
        parse_idx(data, "fuzz")
    except DataError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]),
    dims=st.lists(st.integers(0, 4) | st.integers(0, 2**32 - 1), min_size=1, max_size=4),
    tail=st.binary(max_size=64),
)
def test_structured_headers_parse_or_raise_data_error(code, dims, tail):
    header = bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    try:
        array = parse_idx(header + tail, "fuzz")
    except DataError:
        return
    assert array.shape == tuple(dims)
