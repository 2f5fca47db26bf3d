"""What POST /api/predict and /api/read accept as JSON, checked value by value before any
NumPy runs.

Body: {"pixels": [...], "scale": 1 | 255, "ink": "auto" | "light" | "dark",
       "preprocess": true | false}; request_body_schema() describes each field (it is the
request body in the OpenAPI document, GET /openapi.json; docs/web-api.md explains more).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

SIDE = 28
MIN_SIDE, MAX_SIDE = 8, 1024
SCALES = (1, 255)
FIELDS = ("pixels", "scale", "ink", "preprocess")
INKS = ("auto", "light", "dark")  # as digitnet.images.to_mnist's `ink`
NUMBER_TYPES = (int, float)  # exact types: JSON true/false are bools, not pixel values


class InputError(ValueError):
    """The request cannot be used; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PixelRequest:
    """A validated request: grey levels (H, W) float64 in [0, 1] (1 = `scale`), which way the
    ink goes (one of INKS) and whether to preprocess."""

    pixels: np.ndarray
    ink: str
    preprocess: bool


def parse_predict_json(body: bytes) -> PixelRequest:
    """The JSON body of POST /api/predict as a PixelRequest; InputError says what is wrong."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise InputError("the JSON is nested too deeply", 400) from None
    except InputError:
        raise
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputError(f"the body is not valid JSON ({error})", 400) from None
    if not isinstance(payload, dict):
        raise InputError('the body must be a JSON object like {"pixels": [...]}')
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r}: expected {', '.join(FIELDS)}")
    if "pixels" not in payload:
        raise InputError('missing field "pixels": the image as nested lists of numbers')
    scale = payload.get("scale", 1)
    if type(scale) not in NUMBER_TYPES or scale not in SCALES:
        raise InputError(f"scale must be 1 or 255, got {_describe(scale)}")
    preprocess = payload.get("preprocess", True)
    if not isinstance(preprocess, bool):
        raise InputError(f"preprocess must be true or false, got {_describe(preprocess)}")
    ink = payload.get("ink", "auto")
    if ink not in INKS:
        raise InputError(f'ink must be "auto", "light" or "dark", got {_describe(ink)}')
    pixels = pixel_array(payload["pixels"], scale)
    if not preprocess and pixels.shape != (SIDE, SIDE):
        height, width = pixels.shape
        raise InputError(f"preprocess false needs a 28x28 image, got {height}x{width}")
    return PixelRequest(pixels, ink, preprocess)


def request_body_schema() -> dict:
    """The JSON body as a JSON Schema with a description per field, for the OpenAPI document."""
    row = {"type": "array", "items": {"type": "number", "minimum": 0}}
    return {
        "type": "object",
        "required": ["pixels"],
        "additionalProperties": False,
        "properties": {
            "pixels": {
                "description": (
                    "Grey levels from 0 to `scale`: 28x28 nested lists, a flat list of 784 "
                    f"numbers (read as 28x28), or H x W rows with sides {MIN_SIDE} to {MAX_SIDE}."
                ),
                "oneOf": [{"type": "array", "items": row}, row],
            },
            "scale": {
                "description": "The largest value: 1 for floats in [0, 1], 255 for bytes.",
                "enum": list(SCALES),
                "default": 1,
            },
            "ink": {
                "description": (
                    'Which way the ink goes: "light" (bright ink on black, like MNIST), '
                    '"dark" (dark ink on light paper) or "auto" (detected, as for image files).'
                ),
                "enum": list(INKS),
                "default": "auto",
            },
            "preprocess": {
                "description": (
                    "true: find the ink, crop to it, fit it into 20x20 and centre it by mass in "
                    "28x28, as `digitnet predict` does with image files. false: the pixels are "
                    "one 28x28 digit already framed like MNIST and go to the network as they are "
                    "(only turned bright on black); /api/read refuses false."
                ),
                "type": "boolean",
                "default": True,
            },
        },
    }


def _refuse_constant(name: str) -> float:
    """json.loads hook: Python accepts NaN and Infinity tokens, standard JSON does not."""
    raise InputError(f"pixels must be finite numbers; {name} is not allowed")


def pixel_array(pixels: object, scale: int) -> np.ndarray:
    """Nested lists (H, W) or a flat list of 784 numbers in [0, scale] -> float64 in [0, 1]."""
    if not isinstance(pixels, list) or not pixels:
        raise InputError("pixels must be a non-empty list (28x28, 784 numbers or H x W rows)")
    if all(isinstance(row, list) for row in pixels):
        rows = pixels
    elif any(isinstance(row, list) for row in pixels):
        raise InputError("pixels mixes rows (lists) and numbers; send rows of numbers")
    elif len(pixels) == SIDE * SIDE:
        rows = [pixels[i : i + SIDE] for i in range(0, len(pixels), SIDE)]
    else:
        raise InputError(f"a flat pixels list must hold 784 numbers (28x28), got {len(pixels)}")
    height, width = len(rows), len(rows[0])
    if height > MAX_SIDE:  # before looking at the rows, so a huge list is not walked
        raise InputError(f"the image has {height} rows; at most {MAX_SIDE} are allowed")
    for index, row in enumerate(rows):  # an image's sides mean something once rows are even
        if len(row) != width:
            raise InputError(
                f"pixels rows differ in length: row 0 has {width}, row {index} has {len(row)}"
            )
        if not {type(value) for value in row} <= set(NUMBER_TYPES):
            bad = next(value for value in row if type(value) not in NUMBER_TYPES)
            raise InputError(f"pixels must be numbers, row {index} holds {_describe(bad)}")
    if not (MIN_SIDE <= height <= MAX_SIDE and MIN_SIDE <= width <= MAX_SIDE):
        raise InputError(
            f"the image is {height}x{width}; each side must be {MIN_SIDE} to {MAX_SIDE} pixels"
        )
    try:
        values = np.array(rows, dtype=np.float64)
    except OverflowError:
        raise InputError("pixels hold a number too large to use") from None
    if not np.isfinite(values).all():
        raise InputError("pixels must be finite numbers (no NaN or infinity)")
    low, high = values.min(), values.max()
    if low < 0 or high > scale:
        found = low if low < 0 else high
        hint = '; send "scale": 255 with 0-255 pixels' if scale == 1 and 1 < found <= 255 else ""
        raise InputError(
            f"pixel values must be in [0, {scale}] for scale {scale}, found {found:g}{hint}"
        )
    return values / scale


def _describe(value: object) -> str:
    """A JSON value in a few words, for error messages (never the value itself: it may be huge)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)[:20]
    kinds = {str: "a string", list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)
