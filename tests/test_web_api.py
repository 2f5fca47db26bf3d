"""The web API in-process: good drawings and uploads are read like `digitnet predict` reads
files, and every bad request gets a 4xx with {"error": "<one sentence>"}, never a 500."""

from __future__ import annotations

import argparse
import io
import json
import re
import socket
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from digitnet.cli import serve_cmd
from digitnet.data.datasets import Dataset
from digitnet.errors import ConfigError, ImageError, ModelFileError
from digitnet.images import FORMATS, canvas_to_mnist, decode_image_bytes, to_mnist
from digitnet.nn import Deskew, Sequential, deskew
from digitnet.predict import probabilities_for
from digitnet.reading import read_grey
from digitnet.training.config import ModelConfig, TrainConfig
from digitnet.training.pipeline import fit, prepare_data, random_streams
from digitnet.web.app import IMAGE_TYPES, MAX_BODY_BYTES, create_app
from digitnet.web.predictor import Predictor
from digitnet.web.schemas import FIELDS, INKS, SCALES

NO_INK = "no ink found: draw a digit"


@pytest.fixture(scope="module")
def trained(mnist):
    """A 784-64-10 network trained for a second on 3000 MNIST digits (~90% on the test set)."""
    dataset = Dataset("small", mnist.train_images[:3000], mnist.train_labels[:3000], None, None)
    model_config = ModelConfig(hidden=(64,))
    train_config = TrainConfig(batch_size=32, epochs=3, validation=0, seed=1, log_every=1000)
    data = prepare_data(dataset, model_config, train_config, random_streams(1)["split"])
    return fit(model_config, train_config, data).model


@pytest.fixture(scope="module")
def client(trained):
    meta = {"preset": "test", "results": {"test_accuracy": 0.9}, "trained_with": "digitnet"}
    with TestClient(create_app(trained, meta)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def digits(mnist, trained):
    """(image, label) for test digits this small model reads correctly from the dataset."""
    images, labels = mnist.test_images[:50], mnist.test_labels[:50]
    predicted = probabilities_for(trained, images / 255.0).argmax(axis=1)
    return [
        (image, int(label))
        for image, label, guess in zip(images, labels, predicted)
        if guess == label
    ][:5]


def post_json(client: TestClient, payload: object, **headers: str):
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post(
        "/api/predict", content=body, headers={"content-type": "application/json", **headers}
    )


def assert_error(response, status: int, *fragments: str) -> str:
    """A JSON {"error": one sentence} answer with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str), body
    message = body["error"]
    assert message and "\n" not in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def png_bytes(grey: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(grey.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def upscaled_canvas(image: np.ndarray, *, factor: int, shape: tuple[int, int], at: tuple[int, int]):
    """An MNIST digit enlarged `factor` times and pasted at `at` into a black canvas (bytes)."""
    side = 28 * factor
    big = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR))
    canvas = np.zeros(shape, dtype=np.uint8)
    canvas[at[0] : at[0] + side, at[1] : at[1] + side] = big
    return canvas


# ---- what works ------------------------------------------------------------------------------


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_model_info_describes_the_network_and_the_limits(client, trained):
    info = client.get("/api/model").json()
    assert info["architecture"] == trained.spec()
    assert info["n_params"] == trained.n_params == 784 * 64 + 64 + 64 * 10 + 10
    assert info["hidden_units"] == 64
    assert info["preset"] == "test" and info["results"] == {"test_accuracy": 0.9}
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", info["digitnet_version"])
    assert info["input"]["max_body_bytes"] == MAX_BODY_BYTES == 5 * 1024 * 1024
    assert info["input"]["scales"] == [1, 255]
    assert info["input"]["inks"] == ["auto", "light", "dark"]
    assert "grey levels" in info["input"]["convention"]


def test_page_and_assets_are_served_without_external_urls(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<canvas id="pad"' in page.text and "draw a digit" in page.text
    for asset, kind in [("/static/app.js", "javascript"), ("/static/style.css", "text/css")]:
        assert asset in page.text
        response = client.get(asset)
        assert response.status_code == 200 and kind in response.headers["content-type"]
        assert "http://" not in response.text and "https://" not in response.text
    assert "http://" not in page.text and "https://" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_mnist_digit_28x28_unpreprocessed_matches_the_library(client, trained, digits):
    image, label = digits[0]
    response = post_json(client, {"pixels": (image / 255).tolist(), "preprocess": False})
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = probabilities_for(trained, image / 255.0)[0]
    assert answer["digit"] == label
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-5)
    np.testing.assert_allclose(answer["input28"], image / 255, atol=1e-3)
    assert len(answer["hidden"]) == 64 and min(answer["hidden"]) >= 0  # after a ReLU


def test_a_deskewing_model_answers_and_shows_the_digit_it_saw(trained, digits):
    """The page's model may start with Deskew: the answer matches the library's, the hidden
    activations are still the first ReLU's, and input28 is the deskewed digit."""
    deskewing = Sequential([Deskew(), *trained.layers], trained.loss)
    image, _ = digits[0]
    with TestClient(create_app(deskewing, {"preset": "test"})) as deskew_client:
        response = post_json(deskew_client, {"pixels": (image / 255).tolist(), "preprocess": False})
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = probabilities_for(deskewing, image / 255.0)[0]
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-5)
    straightened = deskew(image[None] / 255.0)[0]
    np.testing.assert_allclose(answer["input28"], straightened, atol=1e-3)
    assert np.abs(straightened - image / 255.0).max() > 0.1  # deskewing changed the digit
    assert len(answer["hidden"]) == 64 and min(answer["hidden"]) >= 0


def test_flat_784_and_nested_28x28_and_both_scales_agree(client, digits):
    image, label = digits[1]
    answers = [
        post_json(client, {"pixels": image.ravel().tolist(), "scale": 255}).json(),
        post_json(client, {"pixels": image.tolist(), "scale": 255}).json(),
        post_json(client, {"pixels": (image / 255).tolist()}).json(),
    ]
    assert [answer["digit"] for answer in answers] == [label] * 3
    for answer in answers[1:]:
        np.testing.assert_allclose(answer["probabilities"], answers[0]["probabilities"], atol=1e-5)


def test_big_offset_canvas_is_preprocessed_like_the_cli(client, digits):
    for image, label in digits[:3]:
        canvas = upscaled_canvas(image, factor=8, shape=(400, 300), at=(150, 60))
        response = post_json(client, {"pixels": canvas.tolist(), "scale": 255})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["digit"] == label
        np.testing.assert_allclose(answer["input28"], canvas_to_mnist(canvas / 255), atol=1e-3)
        assert sum(answer["probabilities"]) == pytest.approx(1, abs=1e-4)


def test_png_upload_black_on_white_is_read_like_the_cli(client, digits):
    image, label = digits[2]
    data = png_bytes(255 - upscaled_canvas(image, factor=4, shape=(160, 200), at=(10, 70)))
    response = client.post("/api/predict", files={"file": ("digit.png", data, "image/png")})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["digit"] == label
    expected28 = to_mnist(decode_image_bytes(data), ink="auto")  # what `digitnet predict` does
    np.testing.assert_allclose(answer["input28"], expected28, atol=1e-3)


def test_blank_canvas_says_draw_a_digit(client):
    assert_error(post_json(client, {"pixels": np.zeros((280, 280)).tolist()}), 422, NO_INK)
    faint = np.full((28, 28), 0.01).tolist()
    assert_error(post_json(client, {"pixels": faint, "preprocess": False}), 422, NO_INK)


def test_concurrent_predictions_match_serial_ones(trained, mnist):
    predictor = Predictor(trained)
    images = mnist.test_images[:16] / 255.0
    serial = [predictor.predict28(image) for image in images]
    results: dict[int, dict] = {}

    def worker(index: int) -> None:
        for _ in range(10):
            results[index] = predictor.predict28(images[index])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(images))] == serial


# ---- what is refused -------------------------------------------------------------------------

ROW = [0.0] * 28
BAD_JSON = {
    "NaN token": ('{"pixels": [[NaN]]}', 422, "NaN is not allowed"),
    "Infinity token": ('{"pixels": [[Infinity]]}', 422, "Infinity is not allowed"),
    "-Infinity token": ('{"pixels": [[-Infinity]]}', 422, "-Infinity is not allowed"),
    "overflow to inf": (
        '{"pixels": [' + ",".join(["[1e400" + ",0" * 27 + "]"] * 28) + "]}",
        422,
        "finite",
    ),
    "huge integer": ({"pixels": [[10**400] + ROW[1:]] + [ROW] * 27}, 422, "too large"),
    "not JSON": ("pixels please", 400, "not valid JSON"),
    "truncated JSON": ('{"pixels": [[0, 0]', 400, "not valid JSON"),
    "not UTF-8": (b'{"pixels": "\xff\xfe"}', 400, "not valid JSON"),
    "deeply nested": ("[" * 100_000 + "]" * 100_000, 400, "nested too deeply"),
    "a list body": ([ROW] * 28, 422, "JSON object"),
    "missing pixels": ({"scale": 1}, 422, 'missing field "pixels"'),
    "unknown field": ({"pixels": [ROW] * 28, "invert": True}, 422, "unknown field 'invert'"),
    "pixels not a list": ({"pixels": "0" * 784}, 422, "non-empty list"),
    "pixels empty": ({"pixels": []}, 422, "non-empty list"),
    "ragged rows": ({"pixels": [ROW] * 27 + [ROW[:-1]]}, 422, "rows differ in length"),
    "rows and numbers": ({"pixels": [ROW] * 27 + [0.0]}, 422, "mixes rows"),
    "flat of 783": ({"pixels": [0.0] * 783}, 422, "784 numbers"),
    "strings": ({"pixels": [["0"] * 28] * 28}, 422, "must be numbers"),
    "booleans": ({"pixels": [[True] * 28] * 28}, 422, "must be numbers"),
    "nulls": ({"pixels": [[None] * 28] * 28}, 422, "must be numbers"),
    "three dimensions": ({"pixels": [[[0.0]] * 28] * 28}, 422, "must be numbers"),
    "small and ragged": ({"pixels": [[1, 2], [3]]}, 422, "rows differ in length"),
    "small and 3-D": ({"pixels": [[[0.0] * 28] * 28]}, 422, "must be numbers"),
    "too tall": ({"pixels": [[0]] * 1025}, 422, "1025 rows; at most 1024"),
    "too small": ({"pixels": [[0.0] * 4] * 4}, 422, "8 to 1024"),
    "too wide": ({"pixels": [[0] * 1025] * 8}, 422, "8 to 1024"),
    "negative": ({"pixels": [[-0.5] + ROW[1:]] + [ROW] * 27}, 422, "[0, 1]"),
    "over 1": ({"pixels": [[2] + ROW[1:]] + [ROW] * 27}, 422, "found 2"),
    "over 255": ({"pixels": [[256] + ROW[1:]] + [ROW] * 27, "scale": 255}, 422, "[0, 255]"),
    "scale 3": ({"pixels": [ROW] * 28, "scale": 3}, 422, "scale must be 1 or 255"),
    "scale as text": ({"pixels": [ROW] * 28, "scale": "255"}, 422, "scale must be 1 or 255"),
    "preprocess as text": ({"pixels": [ROW] * 28, "preprocess": "no"}, 422, "true or false"),
    "unpreprocessed canvas": ({"pixels": [[0] * 40] * 40, "preprocess": False}, 422, "28x28"),
}


@pytest.mark.parametrize("payload, status, fragment", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_bad_json_is_refused_with_one_sentence(client, payload, status, fragment):
    assert_error(post_json(client, payload), status, fragment)


def test_strange_but_valid_canvases_never_give_a_500(client):
    rng = np.random.default_rng(0)
    canvases = [
        np.ones((8, 8)),
        np.ones((1024, 8)),
        np.eye(64),
        rng.random((50, 70)),
        (rng.random((100, 100)) > 0.99).astype(float),
        np.pad(np.ones((2, 2)), 20),
    ]
    for canvas in canvases:
        response = post_json(client, {"pixels": canvas.tolist()})
        assert response.status_code in (200, 422), response.text
        if response.status_code == 422:
            assert_error(response, 422)


def tiny_png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels but holds one compressed row: a bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
        + chunk(b"IEND", b"")
    )


BAD_UPLOADS = {
    "empty file": (b"", "the file is empty"),
    "text file": (b"hello, this is not a picture", "not a PNG, JPEG"),
    "truncated PNG": (png_bytes(np.full((64, 64), 200))[:60], "upload:"),
    "decompression bomb": (tiny_png_header(60_000, 60_000), "upload:"),
    "blank image": (png_bytes(np.full((64, 64), 255)), "no ink found"),
}


@pytest.mark.parametrize("data, fragment", BAD_UPLOADS.values(), ids=BAD_UPLOADS.keys())
def test_bad_uploads_are_refused_with_one_sentence(client, data, fragment):
    response = client.post("/api/predict", files={"file": ("x.png", data, "image/png")})
    assert_error(response, 422, fragment)


def test_multipart_without_a_file_is_refused(client):
    assert_error(client.post("/api/predict", files={"image": ("x.png", b"x")}), 422, '"file"')
    assert_error(
        client.post("/api/predict", data={"file": "text"}, files={"other": ("a", b"")}),
        422,
        '"file"',
    )


def test_bodies_over_the_limit_get_413(client):
    too_big = b" " * (MAX_BODY_BYTES + 1)
    message = assert_error(post_json(client, too_big), 413, "5 MB limit")
    assert str(MAX_BODY_BYTES) in message
    upload = client.post("/api/predict", files={"file": ("big.png", too_big, "image/png")})
    assert_error(upload, 413, "5 MB limit")


def test_body_without_content_length_is_counted_while_read(client):
    def chunks():  # a generator body goes out chunked, with no Content-Length to check
        for _ in range(6):
            yield b" " * (1024 * 1024)

    response = client.post(
        "/api/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "5 MB limit")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_gets_415(client, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/api/predict", content=b'{"pixels": []}', headers=headers)
    assert_error(response, 415, "application/json, multipart/form-data or an image")


def test_unknown_routes_and_methods_answer_json(client):
    assert_error(client.get("/nope"), 404, "GET /nope")
    assert_error(client.get("/static/missing.js"), 404)
    assert_error(client.get("/docs"), 404)  # the generated docs would load a CDN
    assert_error(client.get("/api/predict"), 405, "GET /api/predict")
    assert_error(client.delete("/healthz"), 405)


def test_framework_validation_errors_use_the_same_shape(trained):
    app = create_app(trained, {})

    @app.get("/square")
    def square(n: int) -> dict:
        return {"square": n * n}

    with TestClient(app) as test_client:
        assert test_client.get("/square?n=3").json() == {"square": 9}
        assert_error(test_client.get("/square?n=three"), 422, "query.n")


# ---- `digitnet serve` before it starts serving ------------------------------------------------


def serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="digitnet")
    serve_cmd.add_parser(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_serve_defaults_to_localhost_port_8000():
    args = serve_args()
    assert (args.host, args.port, args.model) == ("127.0.0.1", 8000, None)
    with pytest.raises(SystemExit):
        serve_args("--port", "70000")


def test_serve_refuses_a_bad_model_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="bad.npz"):
        serve_cmd.run(serve_args("--model", str(bad), "--port", "0"))


def test_serve_reports_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}: .*--port 0"):
            serve_cmd.listening_socket("127.0.0.1", port)
    with serve_cmd.listening_socket("127.0.0.1", 0) as free:
        assert free.getsockname()[1] > 0


# ---- reading a number: POST /api/read --------------------------------------------------------


def number_canvas(images: list[np.ndarray], *, factor: int = 3, gap: int = 12) -> np.ndarray:
    """MNIST digits enlarged `factor` times side by side on a black canvas, light ink (bytes)."""
    side = 28 * factor
    canvas = np.zeros((side + 40, len(images) * (side + gap) + 40), dtype=np.uint8)
    for i, image in enumerate(images):
        big = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR))
        x = 20 + i * (side + gap)
        canvas[20 : 20 + side, x : x + side] = np.maximum(canvas[20 : 20 + side, x : x + side], big)
    return canvas


def post_read(client: TestClient, payload: object):
    return client.post(
        "/api/read", content=json.dumps(payload), headers={"content-type": "application/json"}
    )


def test_read_a_drawn_number_answers_each_digit_left_to_right(client, trained, digits):
    chosen = [image for image, _ in digits[:3]]
    canvas = number_canvas(chosen)
    response = post_read(client, {"pixels": canvas.tolist(), "scale": 255})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"text", "unsure", "digits"}
    expected = read_grey(trained, canvas / 255.0, ink="light")
    assert answer["text"] == expected.text and len(answer["text"]) == 3
    assert answer["text"] == "".join(str(label) for _, label in digits[:3])
    assert answer["unsure"] == expected.unsure
    for digit, library in zip(answer["digits"], expected.digits):
        assert set(digit) == {"digit", "probabilities", "box", "unsure", "input28", "hidden"}
        np.testing.assert_allclose(digit["probabilities"], library.probabilities, atol=1e-5)
        assert digit["box"] == list(library.box)
        assert np.array(digit["input28"]).shape == (28, 28) and len(digit["hidden"]) == 64
    lefts = [digit["box"][0] for digit in answer["digits"]]
    assert lefts == sorted(lefts)


def test_read_an_uploaded_photo_of_a_number_like_the_cli(client, trained, digits):
    canvas = 255 - number_canvas([image for image, _ in digits[1:5]], factor=4)  # dark on white
    data = png_bytes(canvas)
    response = client.post("/api/read", files={"file": ("number.png", data, "image/png")})
    assert response.status_code == 200, response.text
    expected = read_grey(trained, decode_image_bytes(data))
    assert response.json()["text"] == expected.text == "".join(str(d) for _, d in digits[1:5])


def test_read_refuses_a_blank_canvas_a_page_of_marks_and_unpreprocessed_input(client):
    assert_error(post_read(client, {"pixels": [[0] * 40] * 40}), 422, "no digits found: draw")
    page = Image.new("L", (600, 400), 250)
    draw = ImageDraw.Draw(page)
    for row in range(14):
        draw.text((10, 10 + 27 * row), "A page of text, not a number at all: " * 2, fill=0)
    response = client.post(
        "/api/read", files={"file": ("page.png", png_bytes(np.asarray(page)), "image/png")}
    )
    assert_error(response, 422, "upload: found", "separate marks")
    assert_error(
        post_read(client, {"pixels": [[0] * 28] * 28, "preprocess": False}), 422, "/api/predict"
    )
    assert_error(
        client.post("/api/read", files={"file": ("x.png", b"not an image", "image/png")}),
        422,
        "upload: not a PNG",
    )
    assert_error(post_read(client, {"pixels": "nope"}), 422, "pixels must be a non-empty list")


def test_predict_answers_say_whether_the_model_is_unsure(client, digits):
    image, _ = digits[0]
    answer = post_json(client, {"pixels": (image / 255).tolist(), "preprocess": False}).json()
    assert answer["unsure"] is False or answer["unsure"] is True


# ---- what newcomers send: bytes without a scale, dark ink, raw image files -----------------


def test_0_255_pixels_without_a_scale_are_told_to_send_scale_255(client, digits):
    image, _ = digits[0]
    message = assert_error(post_json(client, {"pixels": image.tolist()}), 422, '"scale": 255')
    assert f"found {image.max()}" in message
    over_255 = {"pixels": [[300] + ROW[1:]] + [ROW] * 27}  # not bytes either: no such hint
    assert '"scale"' not in assert_error(post_json(client, over_255), 422, "found 300")


def test_a_dark_on_light_28x28_is_read_like_an_image_file(client, digits):
    for image, label in digits[:3]:
        paper = 1 - image / 255  # a black digit on white, as drawn with a pen
        response = post_json(client, {"pixels": paper.tolist()})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["digit"] == label
        np.testing.assert_allclose(answer["input28"], to_mnist(paper, ink="auto"), atol=1e-3)


def test_a_dark_on_light_28x28_unpreprocessed_is_inverted(client, trained, digits):
    image, label = digits[1]
    paper = 255 - image
    response = post_json(client, {"pixels": paper.tolist(), "scale": 255, "preprocess": False})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["digit"] == label
    np.testing.assert_allclose(
        answer["probabilities"], probabilities_for(trained, image / 255)[0], atol=1e-5
    )


def test_an_explicit_ink_overrides_the_detection(client, trained, digits):
    image, _ = digits[2]
    as_paper = post_json(
        client, {"pixels": image.tolist(), "scale": 255, "preprocess": False, "ink": "dark"}
    )
    assert as_paper.status_code == 200, as_paper.text
    expected = probabilities_for(trained, 1 - image / 255)[0]  # the digit taken for the paper
    np.testing.assert_allclose(as_paper.json()["probabilities"], expected, atol=1e-5)
    canvas = 255 - upscaled_canvas(image, factor=4, shape=(160, 200), at=(10, 70))
    with pytest.raises(ImageError, match="no ink found"):
        to_mnist(canvas / 255, ink="light")  # white paper taken for a blank of light ink
    light = post_json(client, {"pixels": canvas.tolist(), "scale": 255, "ink": "light"})
    assert_error(light, 422, NO_INK)
    dark = post_json(client, {"pixels": canvas.tolist(), "scale": 255, "ink": "dark"})
    assert dark.status_code == 200, dark.text
    np.testing.assert_allclose(
        dark.json()["input28"], to_mnist(canvas / 255, ink="dark"), atol=1e-3
    )
    assert_error(post_json(client, {"pixels": [ROW] * 28, "ink": "white"}), 422, "ink must be")


def test_read_finds_a_dark_on_light_number(client, trained, digits):
    canvas = 255 - number_canvas([image for image, _ in digits[:3]])
    response = post_read(client, {"pixels": canvas.tolist(), "scale": 255})
    assert response.status_code == 200, response.text
    assert response.json()["text"] == "".join(str(label) for _, label in digits[:3])


def image_file(grey: np.ndarray, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(grey.astype(np.uint8)).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.mark.parametrize("image_format", FORMATS)
def test_a_raw_image_body_is_read_like_an_upload(client, digits, image_format):
    image, label = digits[2]
    data = image_file(
        255 - upscaled_canvas(image, factor=4, shape=(160, 200), at=(10, 70)), image_format
    )
    content_type = f"image/{image_format.lower()}"
    raw = client.post("/api/predict", content=data, headers={"content-type": content_type})
    assert raw.status_code == 200, raw.text
    upload = client.post("/api/predict", files={"file": ("digit", data, content_type)})
    assert raw.json() == upload.json() and raw.json()["digit"] == label
    number = client.post("/api/read", content=data, headers={"content-type": content_type})
    assert number.status_code == 200 and number.json()["text"] == str(label)


def test_a_raw_image_body_is_refused_like_an_upload(client):
    png = {"content-type": "image/png"}
    for data, fragment in BAD_UPLOADS.values():
        assert_error(client.post("/api/predict", content=data, headers=png), 422, fragment)
    too_big = b" " * (MAX_BODY_BYTES + 1)
    assert_error(client.post("/api/predict", content=too_big, headers=png), 413, "5 MB limit")
    svg = client.post("/api/predict", content=b"<svg/>", headers={"content-type": "image/svg+xml"})
    assert_error(svg, 415, "image/png", "not image/svg+xml")


def test_openapi_describes_every_json_field_preprocess_included(client):
    document = client.get("/openapi.json")
    assert document.status_code == 200, document.text
    for route in ("/api/predict", "/api/read"):
        content = document.json()["paths"][route]["post"]["requestBody"]["content"]
        assert {"application/json", "multipart/form-data", "image/png"} <= set(content)
        fields = content["application/json"]["schema"]["properties"]
        assert list(fields) == list(FIELDS)
        assert all(len(field["description"]) > 20 for field in fields.values())
        assert "crop" in fields["preprocess"]["description"]
        assert fields["ink"]["enum"] == list(INKS) and fields["scale"]["enum"] == list(SCALES)


def test_the_web_api_docs_name_every_field_and_value():
    text = (Path(__file__).resolve().parents[1] / "docs" / "web-api.md").read_text("utf-8")
    for name in [*FIELDS, *INKS, *IMAGE_TYPES, "/api/predict", "/api/read", "/openapi.json"]:
        assert name in text, name
    assert '"preprocess": false' in text


def test_the_favicon_is_served_and_linked_from_the_page(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/")
    with Image.open(io.BytesIO(icon.content)) as image:
        assert image.format == "ICO" and image.size[0] >= 16
    links = re.findall(r'<link rel="icon" href="([^"]+)" type="([^"]+)">', client.get("/").text)
    assert links, "the page links no icon"
    for href, kind in links:
        linked = client.get(href)
        assert linked.status_code == 200 and linked.headers["content-type"].startswith(kind)
