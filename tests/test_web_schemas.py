"""digitnet.web.schemas without a server: every accepted body shape, scale and ink, and each
refusal as an InputError with its HTTP status and a one-sentence message."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitnet.web.schemas import (
    FIELDS,
    INKS,
    MAX_SIDE,
    MIN_SIDE,
    InputError,
    parse_predict_json,
    pixel_array,
    request_body_schema,
)


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def gradient(height: int, width: int, scale: int = 1) -> list[list[float]]:
    """Rows whose values all differ, so a transposed or re-wrapped image cannot pass."""
    values = np.arange(height * width).reshape(height, width) / (height * width - 1)
    if scale == 255:
        return np.round(values * 255).astype(int).tolist()
    return values.tolist()


def refusal(raw: bytes, status: int = 422) -> str:
    """The InputError that parsing raw gives, checked for its status and one-line sentence."""
    with pytest.raises(InputError) as caught:
        parse_predict_json(raw)
    message = str(caught.value)
    assert caught.value.status == status, message
    assert message and "\n" not in message and ". " not in message, message
    assert len(message) < 200 and "Traceback" not in message, message
    return message


# --- accepted ----------------------------------------------------------------------------------


def test_a_28x28_image_in_0_1_comes_back_as_float64_unchanged():
    rows = gradient(28, 28)
    request = parse_predict_json(body(pixels=rows))
    assert request.pixels.dtype == np.float64 and request.pixels.shape == (28, 28)
    np.testing.assert_array_equal(request.pixels, np.array(rows))
    assert (request.ink, request.preprocess) == ("auto", True)


def test_a_flat_list_of_784_is_read_row_by_row_as_28x28():
    rows = gradient(28, 28)
    flat = [value for row in rows for value in row]
    request = parse_predict_json(body(pixels=flat))
    np.testing.assert_array_equal(request.pixels, np.array(rows))


@pytest.mark.parametrize(
    ("height", "width"),
    [(MIN_SIDE, MIN_SIDE), (MIN_SIDE, MAX_SIDE), (MAX_SIDE, MIN_SIDE), (40, 13)],
)
def test_any_h_by_w_with_sides_in_bounds_is_accepted(height, width):
    rows = gradient(height, width)
    request = parse_predict_json(body(pixels=rows))
    assert request.pixels.shape == (height, width)
    np.testing.assert_array_equal(request.pixels, np.array(rows))


@pytest.mark.parametrize("scale", [1, 255, 1.0, 255.0])
def test_scale_1_and_255_give_the_same_0_1_pixels(scale):
    rows = gradient(28, 28, 255)
    pixels = np.array(rows) / 255
    given = rows if scale in (255, 255.0) else pixels.tolist()
    request = parse_predict_json(body(pixels=given, scale=scale))
    np.testing.assert_allclose(request.pixels, pixels, rtol=0, atol=1e-15)
    assert request.pixels.min() == 0.0 and request.pixels.max() == 1.0


@pytest.mark.parametrize("ink", INKS)
@pytest.mark.parametrize("preprocess", [True, False])
def test_every_ink_and_both_preprocess_values_are_kept(ink, preprocess):
    request = parse_predict_json(body(pixels=gradient(28, 28), ink=ink, preprocess=preprocess))
    assert (request.ink, request.preprocess) == (ink, preprocess)


def test_pixel_array_takes_integers_and_floats_mixed_in_a_row():
    values = pixel_array([[0, 0.5, 1] + [1] * 5] * 8, 1)
    np.testing.assert_array_equal(values[0, :3], [0.0, 0.5, 1.0])


def test_the_schema_names_every_field_and_the_same_choices_the_parser_takes():
    schema = request_body_schema()
    assert set(schema["properties"]) == set(FIELDS) and schema["required"] == ["pixels"]
    assert schema["properties"]["ink"]["enum"] == list(INKS)
    assert schema["properties"]["scale"]["enum"] == [1, 255]
    assert schema["additionalProperties"] is False
    assert f"{MIN_SIDE} to {MAX_SIDE}" in schema["properties"]["pixels"]["description"]


# --- refused: the body -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"pixels=1", b'{"pixels": [1,]}', b"\xff\xfe\x00garbage", b"[" * 5]
)
def test_a_body_that_is_not_json_is_a_400(raw):
    assert refusal(raw, 400).startswith("the body is not valid JSON")


def test_json_nested_beyond_the_recursion_limit_is_a_400():
    assert refusal(b"[" * 100_000 + b"]" * 100_000, 400) == "the JSON is nested too deeply"


@pytest.mark.parametrize("raw", [b"[]", b"3", b'"pixels"', b"null"])
def test_a_body_that_is_not_an_object_is_refused(raw):
    assert refusal(raw).startswith("the body must be a JSON object")


def test_an_unknown_field_and_a_missing_pixels_field_are_named():
    message = refusal(body(pixels=gradient(28, 28), colour="red"))
    assert message == "unknown field 'colour': expected pixels, scale, ink, preprocess"
    assert refusal(body(scale=1)).startswith('missing field "pixels"')


@pytest.mark.parametrize(
    ("scale", "shown"), [(2, "2"), (0, "0"), ("255", "a string"), (True, "true"), (None, "null")]
)
def test_a_scale_other_than_1_or_255_is_refused(scale, shown):
    assert refusal(body(pixels=gradient(28, 28), scale=scale)) == (
        f"scale must be 1 or 255, got {shown}"
    )


@pytest.mark.parametrize(("value", "shown"), [("yes", "a string"), (1, "1"), (None, "null")])
def test_preprocess_must_be_a_boolean(value, shown):
    message = refusal(body(pixels=gradient(28, 28), preprocess=value))
    assert message == f"preprocess must be true or false, got {shown}"


@pytest.mark.parametrize(("ink", "shown"), [("white", "a string"), (["dark"], "a list")])
def test_an_unknown_ink_is_refused(ink, shown):
    message = refusal(body(pixels=gradient(28, 28), ink=ink))
    assert message == f'ink must be "auto", "light" or "dark", got {shown}'


def test_preprocess_false_needs_28x28():
    message = refusal(body(pixels=gradient(30, 20), preprocess=False))
    assert message == "preprocess false needs a 28x28 image, got 30x20"


# --- refused: the pixels -----------------------------------------------------------------------


@pytest.mark.parametrize("pixels", [[], {}, "0" * 784, 0, None])
def test_pixels_that_are_not_a_non_empty_list_are_refused(pixels):
    assert refusal(body(pixels=pixels)).startswith("pixels must be a non-empty list")


def test_a_flat_list_of_another_length_and_mixed_rows_are_refused():
    message = refusal(body(pixels=[0.0] * 783))
    assert message == "a flat pixels list must hold 784 numbers (28x28), got 783"
    mixed = refusal(body(pixels=[[0.0] * 28] + [0.0] * 27))
    assert mixed.startswith("pixels mixes rows (lists) and numbers")


def test_ragged_rows_are_refused_naming_the_first_odd_row():
    rows = gradient(28, 28)
    rows[5] = rows[5][:-1]
    message = refusal(body(pixels=rows))
    assert message == "pixels rows differ in length: row 0 has 28, row 5 has 27"


@pytest.mark.parametrize(
    ("value", "shown"), [("0", "a string"), (True, "true"), (None, "null"), ([0], "a list")]
)
def test_a_pixel_that_is_not_a_number_is_refused_naming_its_row(value, shown):
    rows = gradient(28, 28)
    rows[3][7] = value
    assert refusal(body(pixels=rows)) == f"pixels must be numbers, row 3 holds {shown}"


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_tokens_are_refused(token):
    raw = b'{"pixels": [[0' + b", 0" * 27 + b"], [" + token + b", 0" * 27 + b"]]}"
    message = refusal(raw)
    assert message == f"pixels must be finite numbers; {token.decode()} is not allowed"


def test_numbers_too_large_for_a_float_are_refused():
    flat = "[" + ", ".join(["0"] * 783 + ["1e400"]) + "]"  # json reads 1e400 as inf
    message = refusal(b'{"pixels": ' + flat.encode() + b"}")
    assert message == "pixels must be finite numbers (no NaN or infinity)"
    huge = "[" + ", ".join(["0"] * 783 + ["1" + "0" * 400]) + "]"  # an int past float64
    assert refusal(b'{"pixels": ' + huge.encode() + b"}") == (
        "pixels hold a number too large to use"
    )


@pytest.mark.parametrize(
    ("height", "width"),
    [(MIN_SIDE - 1, 28), (28, MIN_SIDE - 1), (28, MAX_SIDE + 1), (1, 0)],
)
def test_sides_out_of_bounds_are_refused(height, width):
    message = refusal(body(pixels=[[0.0] * width for _ in range(height)]))
    assert message == (
        f"the image is {height}x{width}; each side must be {MIN_SIDE} to {MAX_SIDE} pixels"
    )


def test_too_many_rows_are_refused_before_the_rows_are_read():
    ragged = [[0.0]] + [[0.0, 0.0]] * MAX_SIDE  # the row count is refused, not the widths
    for rows in ([[0.0]] * (MAX_SIDE + 1), ragged):
        message = refusal(body(pixels=rows))
        assert message == f"the image has {MAX_SIDE + 1} rows; at most {MAX_SIDE} are allowed"


@pytest.mark.parametrize(
    ("scale", "value", "expected"),
    [
        (1, -0.5, "pixel values must be in [0, 1] for scale 1, found -0.5"),
        (1, 300, "pixel values must be in [0, 1] for scale 1, found 300"),  # no byte hint
        (255, 256, "pixel values must be in [0, 255] for scale 255, found 256"),
        (255, -1, "pixel values must be in [0, 255] for scale 255, found -1"),
        (
            1,
            200,
            'pixel values must be in [0, 1] for scale 1, found 200; send "scale": 255 with '
            "0-255 pixels",
        ),
    ],
)
def test_values_out_of_range_are_refused_with_a_hint_for_bytes(scale, value, expected):
    rows = [[0] * 28 for _ in range(28)]
    rows[10][10] = value
    assert refusal(body(pixels=rows, scale=scale)) == expected
