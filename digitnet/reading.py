"""Reading a number: every digit on a picture predicted, left to right, as one text.

A reading is unsure when any of its digits is: one doubtful digit makes the number doubtful.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from digitnet.errors import ImageError
from digitnet.images import read_image
from digitnet.images.segment import DigitInk, segment_digits
from digitnet.nn.model import Sequential
from digitnet.predict import predict_image28


@dataclass
class DigitReading:
    """One digit of a reading: the network's answer, its box [x0, y0, x1, y1) in the
    picture's pixels, and the (28, 28) float32 input it saw (after any Deskew layer)."""

    digit: int
    probabilities: np.ndarray  # (10,)
    box: tuple[int, int, int, int]
    input28: np.ndarray
    unsure: bool = False

    @property
    def confidence(self) -> float:
        """The probability of the digit read, in [0, 1]."""
        return float(self.probabilities[self.digit])

    def __repr__(self) -> str:
        unsure = ", unsure" if self.unsure else ""
        return f"DigitReading({self.digit} at {self.confidence:.1%}, box {self.box}{unsure})"

    def to_dict(self) -> dict:
        return {
            "digit": self.digit,
            "probabilities": [round(float(p), 6) for p in self.probabilities],
            "box": [int(v) for v in self.box],
            "unsure": self.unsure,
        }


@dataclass
class Reading:
    """The number read on one picture: its text (the digits left to right) and each digit."""

    source: str
    text: str
    digits: list[DigitReading]
    unsure: bool

    def __repr__(self) -> str:
        unsure = ", unsure" if self.unsure else ""
        return f"Reading({self.source!r}: {self.text!r}, {len(self.digits)} digits{unsure})"

    def to_dict(self) -> dict:
        return {
            "file": self.source,
            "text": self.text,
            "digits": [digit.to_dict() for digit in self.digits],
            "unsure": self.unsure,
        }


def read_grey(
    model: Sequential, grey: np.ndarray, *, ink: str = "auto", source: str = "array"
) -> Reading:
    """The number on a greyscale picture (H, W) in [0, 1] (1 = white); ink as find_ink.
    ImageError when no digits are found or the picture holds too many marks."""
    digits = []
    for found in segment_digits(grey, ink=ink):
        whole = _digit_reading(model, found, source)
        # a part that may be two touching digits is read as two when, cut in the best of the
        # ways tried, both pieces are read with more confidence than the whole
        best, best_confidence = [whole], whole.confidence
        for left, right in found.splits:
            pair = [_digit_reading(model, left, source), _digit_reading(model, right, source)]
            confidence = min(pair[0].confidence, pair[1].confidence)
            if confidence > best_confidence:
                best, best_confidence = pair, confidence
        digits.extend(best)
    text = "".join(str(digit.digit) for digit in digits)
    return Reading(source, text, digits, any(digit.unsure for digit in digits))


def _digit_reading(model: Sequential, found: DigitInk, source: str) -> DigitReading:
    prediction = predict_image28(model, found.image28, source=source)
    return DigitReading(
        prediction.digit,
        prediction.probabilities,
        found.box,
        prediction.input28,
        prediction.unsure,
    )


def read_files(
    model: Sequential, paths: Iterable[str | os.PathLike[str]]
) -> Iterator[Reading | ImageError]:
    """One Reading per image file, or the ImageError (naming the file) saying why that file
    could not be read; a bad file never stops the others."""
    for path in paths:
        try:
            reading = read_grey(model, read_image(path), source=os.fspath(path))
        except ImageError as error:
            yield with_file_name(error, path)
            continue
        yield reading


def with_file_name(error: ImageError, path: str | os.PathLike[str]) -> ImageError:
    """error, or the same message starting with the file's name when it does not yet."""
    name = os.fspath(path)
    return error if str(error).startswith(name) else ImageError(f"{name}: {error}")
