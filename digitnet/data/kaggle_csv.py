"""Read the Kaggle "Digit Recognizer" CSV layout: one digit a row, 784 pixel columns 0-255.

train.csv: header `label,pixel0,...,pixel783`; test.csv: the same without `label`. Files
without a header are accepted too: 785 columns mean label + pixels, 784 mean pixels only.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np

from digitnet.data.idx import read_file_bytes
from digitnet.errors import DataError

N_PIXELS = 784


def read_kaggle_csv(
    path: str | os.PathLike[str], *, require_labels: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Images (n, 28, 28) uint8 and labels (n,) uint8, or None when the file has no label column.

    Raises DataError naming the file and the line for a wrong column count, a value that is
    not an integer, a pixel outside 0-255 or a label outside 0-9.
    """
    path = Path(path)
    text = _read_text(path)
    lines = text.splitlines()
    first_data_line = 1
    has_labels: bool | None = None
    if lines and lines[0][:1].isalpha():
        has_labels = _parse_header(lines[0], path)
        first_data_line = 2
    rows = [line for line in lines[first_data_line - 1 :]]
    while rows and not rows[-1].strip():
        rows.pop()
    if not rows:
        raise DataError(f"{path}: no data rows")
    n_columns = _check_column_counts(rows, path, first_data_line)
    if has_labels is None:
        has_labels = n_columns == N_PIXELS + 1
    if require_labels and not has_labels:
        raise DataError(f"{path}: has no label column (expected label,pixel0,...,pixel783)")
    values = _parse_integers(rows, path, first_data_line)
    pixels = values[:, 1:] if has_labels else values
    _check_range(pixels, 0, 255, "pixel", path, first_data_line)
    labels = None
    if has_labels:
        _check_range(values[:, :1], 0, 9, "label", path, first_data_line)
        labels = values[:, 0].astype(np.uint8)
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels


def _read_text(path: Path) -> str:
    try:
        return read_file_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file") from None


def _parse_header(header: str, path: Path) -> bool:
    names = [name.strip().strip('"') for name in header.split(",")]
    pixel_names = [f"pixel{i}" for i in range(N_PIXELS)]
    if names == ["label", *pixel_names]:
        return True
    if names == pixel_names:
        return False
    raise DataError(f"{path}: line 1: header is not label,pixel0,...,pixel783 or pixel0,...")


def _check_column_counts(rows: list[str], path: Path, first_line: int) -> int:
    counts = np.fromiter((row.count(",") + 1 for row in rows), dtype=np.int64, count=len(rows))
    n_columns = int(counts[0])
    if n_columns not in (N_PIXELS, N_PIXELS + 1):
        raise DataError(f"{path}: line {first_line}: {n_columns} columns, expected 784 or 785")
    bad = np.flatnonzero(counts != n_columns)
    if bad.size:
        line = first_line + int(bad[0])
        raise DataError(f"{path}: line {line}: {counts[bad[0]]} columns, expected {n_columns}")
    return n_columns


def _parse_integers(rows: list[str], path: Path, first_line: int) -> np.ndarray:
    try:
        values = np.loadtxt(io.StringIO("\n".join(rows)), delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as err:
        found = re.search(r"at row (\d+), column (\d+)", str(err))
        where = f"line {first_line + int(found.group(1))}" if found else "a row"
        raise DataError(f"{path}: {where}: a value is not an integer") from None
    return values


def _check_range(
    values: np.ndarray, low: int, high: int, what: str, path: Path, first_line: int
) -> None:
    bad_rows = np.flatnonzero(((values < low) | (values > high)).any(axis=1))
    if bad_rows.size:
        row = int(bad_rows[0])
        bad_value = values[row][(values[row] < low) | (values[row] > high)][0]
        raise DataError(
            f"{path}: line {first_line + row}: {what} {bad_value} is outside {low}-{high}"
        )
