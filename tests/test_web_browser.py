"""The real `digitnet serve` driven by Debian's Chromium: digits drawn stroke by stroke with the
mouse (and a finger) are read correctly; Clear, Undo and Upload work; Ctrl-C stops the server.

Screenshots land in tests/artifacts/browser-*.png for a person to look at.
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("playwright")
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
BUNDLED_MODEL = REPO / "digitnet" / "models" / "default.npz"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
Stroke = list[tuple[float, float]]  # points in [0, 1] of the digit's box


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed (run scripts/install-browser.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, mnist) -> Path:
    """The bundled model, or a 784-256-10 network trained for two epochs (~96%) when absent."""
    chromium()  # skip before training anything when there is no browser
    if BUNDLED_MODEL.exists():
        return BUNDLED_MODEL
    from digitnet.artifacts.model_file import save_model
    from digitnet.data.datasets import Dataset
    from digitnet.training.config import ModelConfig, TrainConfig
    from digitnet.training.pipeline import fit, prepare_data, random_streams

    dataset = Dataset("mnist", mnist.train_images, mnist.train_labels, None, None)
    model_config = ModelConfig(hidden=(256,))
    train_config = TrainConfig(
        batch_size=128, epochs=2, learning_rate=2e-3, validation=0, seed=0, log_every=10_000
    )
    data = prepare_data(dataset, model_config, train_config, random_streams(0)["split"])
    fitted = fit(model_config, train_config, data)
    return save_model(tmp_path_factory.mktemp("model") / "browser.npz", fitted.model, {})


class Server:
    """`python -m digitnet serve --port 0` in a subprocess; its log goes to a file."""

    def __init__(self, model: Path) -> None:
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "digitnet", "serve", "--port", "0", "--model", str(model)],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )
        self.url = self._wait_for_url()

    def _wait_for_url(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", self.output())
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                pytest.fail(f"digitnet serve exited early:\n{self.output()}")
            time.sleep(0.05)
        self.process.kill()
        pytest.fail(f"digitnet serve printed no URL in {timeout} s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def interrupt(self) -> int:
        """Ctrl-C, as a person would; the exit status."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture(scope="module")
def server(model_path):
    running = Server(model_path)
    yield running
    if running.process.poll() is None:
        running.interrupt()
    running.log.close()


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 820})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on(
        "console", lambda message: problems.append(message.text) if is_problem(message) else None
    )
    opened.goto(server.url)
    expect(opened.locator("#digit")).to_have_text("draw a digit")
    expect(opened.locator("#model-info")).to_contain_text("parameters")
    yield opened
    context.close()
    assert problems == []


def is_problem(message) -> bool:
    """A console error other than the browser noting a 422 answer (a dot too small to read)."""
    return message.type == "error" and "status of 422" not in message.text


def line(start: tuple[float, float], end: tuple[float, float], n: int = 12) -> Stroke:
    return [
        (start[0] + (end[0] - start[0]) * t / n, start[1] + (end[1] - start[1]) * t / n)
        for t in range(n + 1)
    ]


def ellipse(n: int = 40) -> Stroke:
    """A slightly tilted oval, closed with a little overlap, as people draw zeros."""
    points = []
    for i in range(n + 3):
        angle = -math.pi / 2 + 2 * math.pi * i / n
        points.append(
            (0.5 + 0.32 * math.cos(angle) - 0.04 * math.sin(angle), 0.5 + 0.46 * math.sin(angle))
        )
    return points


# digit -> strokes in its box, and the box (left, top, side) as fractions of the pad
DRAWINGS: dict[int, tuple[list[Stroke], tuple[float, float, float]]] = {
    1: ([line((0.56, 0.06), (0.46, 0.94))], (0.08, 0.06, 0.45)),  # small, top left
    0: ([ellipse()], (0.32, 0.2, 0.66)),  # large, right of centre
    7: ([line((0.12, 0.1), (0.86, 0.1)) + line((0.86, 0.1), (0.4, 0.95))[1:]], (0.45, 0.4, 0.5)),
}


def draw(page: Page, strokes: list[Stroke], box: tuple[float, float, float]) -> None:
    """Draw each stroke with the mouse: press, move through the points, release."""
    pad = page.locator("#pad").bounding_box()
    left, top, side = box

    def at(point: tuple[float, float]) -> tuple[float, float]:
        return (
            pad["x"] + (left + point[0] * side) * pad["width"],
            pad["y"] + (top + point[1] * side) * pad["height"],
        )

    for stroke in strokes:
        page.mouse.move(*at(stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(point), steps=3)
        page.mouse.up()
    answered(page)


def answered(page: Page) -> None:
    """Wait for the answer to the whole drawing: answers to parts of it may come first."""
    expect(page.locator(".card.result")).to_have_attribute("aria-busy", "false", timeout=5000)


def pad_pixels(page: Page) -> str:
    return page.evaluate("document.getElementById('pad').toDataURL()")


def test_drawn_digits_are_read_and_clear_resets(page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for digit, (strokes, box) in DRAWINGS.items():
        draw(page, strokes, box)
        expect(page.locator("#digit")).to_have_text(str(digit), timeout=5000)
        expect(page.locator("#bars li").nth(digit)).to_have_class("best")
        expect(page.locator("#confidence")).to_contain_text("% sure")
        seen = page.evaluate(
            "Array.from(document.getElementById('seen').getContext('2d')"
            ".getImageData(0, 0, 28, 28).data).filter((v, i) => i % 4 === 0)"
        )
        assert max(seen) > 200 and np.mean(seen) < 100  # a bright digit on black
        page.screenshot(path=ARTIFACTS / f"browser-{digit}.png")
        page.get_by_role("button", name="Clear the drawing").click()
        expect(page.locator("#digit")).to_have_text("draw a digit")
        expect(page.locator("#confidence")).not_to_contain_text("sure")


def two(n: int = 24) -> Stroke:
    """A 2: an arch from the left over the top, down to the bottom left, then a base."""
    arch = [
        (0.5 + 0.36 * math.cos(angle), 0.34 + 0.3 * math.sin(angle))
        for angle in np.linspace(-0.95 * math.pi, 0.2 * math.pi, n)
    ]
    return arch + line(arch[-1], (0.12, 0.95))[1:] + line((0.12, 0.95), (0.9, 0.95))[1:]


# numbers -> (strokes, box) per digit, drawn side by side on the pad
NUMBERS: dict[str, list[tuple[list[Stroke], tuple[float, float, float]]]] = {
    "42": [
        (
            [
                line((0.55, 0.04), (0.1, 0.62)) + line((0.1, 0.62), (0.92, 0.62))[1:],
                line((0.7, 0.3), (0.7, 0.98)),  # the stem, a second stroke
            ],
            (0.05, 0.22, 0.42),
        ),
        ([two()], (0.53, 0.22, 0.42)),
    ],
    "17": [
        ([line((0.56, 0.06), (0.46, 0.94))], (0.08, 0.25, 0.4)),
        (DRAWINGS[7][0], (0.45, 0.25, 0.45)),
    ],
}


@pytest.mark.parametrize("number", list(NUMBERS))
def test_a_number_drawn_side_by_side_is_read_digit_by_digit(page, number):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for strokes, box in NUMBERS[number]:
        draw(page, strokes, box)
    expect(page.locator("#digit")).to_have_text(number, timeout=5000)
    tiles = page.locator("#digits .digit-tile")
    expect(tiles).to_have_count(len(number))
    for index, char in enumerate(number):
        expect(tiles.nth(index)).to_contain_text(f"{char} \u00b7")
    expect(page.locator("#confidence")).to_contain_text(f"{len(number)} digits")
    expect(page.locator("#bars li").nth(int(number[0]))).to_have_class("best")
    tiles.nth(1).click()  # the second digit's probabilities
    expect(page.locator("#bars li").nth(int(number[1]))).to_have_class("best")
    expect(tiles.nth(1)).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(300)  # let the bars finish moving
    page.screenshot(path=ARTIFACTS / f"browser-number-{number}.png")
    page.get_by_role("button", name="Clear the drawing").click()
    expect(page.locator("#digit")).to_have_text("draw a digit")
    expect(page.locator("#digits")).to_be_hidden()


def test_undo_removes_the_last_stroke_and_redraws(page):
    undo = page.get_by_role("button", name="Undo the last stroke")
    expect(undo).to_be_disabled()
    strokes, box = DRAWINGS[0]
    draw(page, strokes, box)
    expect(page.locator("#digit")).to_have_text("0")
    drawn = pad_pixels(page)
    draw(page, [line((0.1, 0.5), (0.9, 0.5))], (0.3, 0.2, 0.66))  # a bar across the zero
    assert pad_pixels(page) != drawn
    undo.click()
    assert pad_pixels(page) == drawn
    expect(page.locator("#digit")).to_have_text("0")
    undo.click()
    expect(page.locator("#digit")).to_have_text("draw a digit")
    expect(undo).to_be_disabled()


def test_uploaded_image_is_read(page, mnist):
    from PIL import Image

    image, label = mnist.test_images[0], int(mnist.test_labels[0])
    buffer = io.BytesIO()
    Image.fromarray(255 - image).resize((140, 140)).save(buffer, format="PNG")  # dark on white
    page.locator("#upload").set_input_files(
        {"name": "digit.png", "mimeType": "image/png", "buffer": buffer.getvalue()}
    )
    expect(page.locator("#digit")).to_have_text(str(label), timeout=5000)
    expect(page.locator("#status")).to_have_text("from digit.png")
    page.screenshot(path=ARTIFACTS / "browser-upload.png")
    page.emulate_media(color_scheme="dark")
    page.wait_for_timeout(300)  # let the colour transitions finish
    page.screenshot(path=ARTIFACTS / "browser-upload-dark.png")


def test_prediction_updates_while_drawing_one_request_at_a_time(page):
    in_flight, most = [0], [0]

    def started(request) -> None:
        if request.url.endswith("/api/read"):
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])

    def ended(request) -> None:
        if request.url.endswith("/api/read"):
            in_flight[0] -= 1

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    pad = page.locator("#pad").bounding_box()
    points = [(pad["x"] + pad["width"] * x, pad["y"] + pad["height"] * y) for x, y in ellipse()]
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=2)
        page.wait_for_timeout(15)  # a person's pace: ~0.6 s for the whole oval
    expect(page.locator("#digit")).to_have_attribute("data-state", "digit")  # before lifting
    page.mouse.up()
    expect(page.locator("#digit")).to_have_text("0")
    assert most[0] == 1


def test_finger_drawing_on_a_phone_does_not_scroll(browser, server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        has_touch=True,
        is_mobile=True,
    )
    page = context.new_page()
    page.goto(server.url)
    pad = page.locator("#pad").bounding_box()
    assert pad["width"] <= 390 and pad["x"] >= 0  # the pad fits a phone's width
    session = context.new_cdp_session(page)
    stroke = [
        (
            pad["x"] + pad["width"] * (0.5 + 0.02 * t / 10),
            pad["y"] + pad["height"] * (0.15 + 0.7 * t / 10),
        )
        for t in range(11)
    ]

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
        session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", *stroke[0])
    for x, y in stroke[1:]:
        touch("touchMove", x, y)
    touch("touchEnd", *stroke[-1])
    expect(page.locator("#digit")).to_have_text("1", timeout=5000)
    assert page.evaluate("window.scrollY") == 0  # the stroke drew instead of scrolling
    page.screenshot(path=ARTIFACTS / "browser-mobile.png", full_page=True)
    context.close()


def layout(page: Page) -> dict:
    """Both cards' boxes and whether the page scrolls."""
    return page.evaluate(
        """() => ({
          cards: Array.from(document.querySelectorAll(".card"), (card) => {
            const box = card.getBoundingClientRect();
            return [box.x, box.y, box.width, box.height].map(Math.round);
          }),
          scrollHeight: document.documentElement.scrollHeight,
          innerHeight: window.innerHeight,
        })"""
    )


def test_the_cards_keep_their_size_and_the_page_fits_1200x900(browser, server):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(server.url)
    expect(page.locator("#model-info")).to_contain_text("parameters")  # the hidden layer shown
    before = layout(page)
    assert before["scrollHeight"] <= before["innerHeight"], before
    for drawing in [[DRAWINGS[7]], NUMBERS["42"]]:  # a digit, then a number: its tiles show
        page.keyboard.press("Escape")  # clear
        for strokes, box in drawing:
            draw(page, strokes, box)
        expect(page.locator("#digit")).to_have_attribute("data-state", re.compile("digit|unsure"))
        page.wait_for_timeout(300)  # let the bars finish moving
        assert layout(page) == before
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "browser-1200x900.png")
    context.close()


def test_server_stops_cleanly_on_ctrl_c(model_path):
    running = Server(model_path)
    try:
        import urllib.request

        with urllib.request.urlopen(running.url + "/healthz", timeout=10) as response:
            assert response.read() == b'{"status":"ok"}'
        assert running.interrupt() in (0, 130)
        log = running.output()
        assert "Traceback" not in log
        assert '"GET /healthz HTTP/1.1" 200' in log  # one access-log line per request
    finally:
        running.log.close()
