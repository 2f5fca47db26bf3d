"""The network behind the web app: one digit or a number from the request's pixels or
image file, through digitnet.predict and digitnet.reading as the CLI predicts."""

from __future__ import annotations

import threading

import numpy as np

from digitnet.errors import ImageError
from digitnet.images import MIN_CONTRAST, decode_image_bytes, to_mnist
from digitnet.nn.model import Sequential
from digitnet.predict import Prediction, hidden_vector, looks_dark_on_light, predict_image28
from digitnet.reading import DigitReading, read_grey
from digitnet.web.schemas import InputError, PixelRequest, parse_predict_json

NO_INK = "no ink found: draw a digit"
NO_DIGITS = "no digits found: draw one or more digits side by side"


class Predictor:
    """The model behind a lock, and a hidden layer's activations for the page.

    Layers keep their last input for backward, so two forwards at once on one model would race
    on that state: predictions take turns (a forward is ~0.1 ms; preprocessing runs outside).
    """

    def __init__(self, model: Sequential) -> None:
        self.model = model
        self._lock = threading.Lock()
        self.hidden_units = self._hidden_units()

    def predict_json(self, body: bytes) -> dict:
        """A JSON body (see schemas.py) -> the answer dict; InputError for unusable input."""
        request = parse_predict_json(body)
        if not request.preprocess:
            return self.predict28(framed_digit(request))
        try:
            image28 = to_mnist(request.pixels, ink=request.ink)
        except ImageError as error:
            blank = str(error).startswith("no ink found")
            raise InputError(NO_INK if blank else str(error)) from None
        return self.predict28(image28)

    def predict_upload(self, data: bytes) -> dict:
        """Image file contents -> the answer dict, preprocessed as `digitnet predict` does."""
        try:
            image28 = to_mnist(decode_image_bytes(data, name="upload"), ink="auto")
        except ImageError as error:
            message = str(error)
            raise InputError(
                message if message.startswith("upload") else f"upload: {message}"
            ) from None
        return self.predict28(image28)

    def predict28(self, image28: np.ndarray) -> dict:
        """{"digit", "probabilities" (10), "input28" (28x28, as the network sees it: after any
        Deskew layer), "hidden" (units or null), "unsure"}."""
        with self._lock:
            prediction = predict_image28(self.model, image28)
            hidden = hidden_vector(self.model, prediction.input28)
        return _digit_answer(prediction, hidden)

    def read_json(self, body: bytes) -> dict:
        """A JSON body (as predict_json) -> the reading's answer dict."""
        request = parse_predict_json(body)
        if not request.preprocess:
            raise InputError("preprocess false is for one 28x28 digit: use /api/predict")
        return self._read(request.pixels, ink=request.ink, name=None)

    def read_upload(self, data: bytes) -> dict:
        """Image file contents -> the reading's answer dict, as `digitnet read` reads files."""
        try:
            grey = decode_image_bytes(data, name="upload")
        except ImageError as error:
            raise InputError(str(error)) from None
        return self._read(grey, ink="auto", name="upload")

    def _read(self, grey: np.ndarray, *, ink: str, name: str | None) -> dict:
        """{"text", "unsure", "digits": [{"digit", "probabilities", "box", "unsure", "input28",
        "hidden"}]}; InputError when no digits are found."""
        try:
            with self._lock:  # segmentation is quick beside the forwards it leads to
                reading = read_grey(self.model, grey, ink=ink)
                hidden = [hidden_vector(self.model, digit.input28) for digit in reading.digits]
        except ImageError as error:
            message = str(error)
            if name is None and message.startswith("no digits found"):
                message = NO_DIGITS
            raise InputError(message if name is None else f"{name}: {message}") from None
        digits = []
        for digit, units in zip(reading.digits, hidden):
            answer = _digit_answer(digit, units)
            digits.append({**answer, "box": [int(v) for v in digit.box]})
        return {"text": reading.text, "unsure": reading.unsure, "digits": digits}

    def _hidden_units(self) -> int | None:
        """How many activations "hidden" holds (None when the model has no such layer)."""
        blank = self.predict28(np.zeros((28, 28), dtype=np.float32))
        return None if blank["hidden"] is None else len(blank["hidden"])


def framed_digit(request: PixelRequest) -> np.ndarray:
    """The 28x28 of a request with preprocess false as bright ink on black: inverted for dark
    ink, or for "auto" when its border is mostly bright (as digitnet.predict judges arrays)."""
    dark = request.ink == "dark" or (
        request.ink == "auto" and bool(looks_dark_on_light(request.pixels[None])[0])
    )
    image28 = 1 - request.pixels if dark else request.pixels
    if image28.max() < MIN_CONTRAST:
        raise InputError(NO_INK)
    return image28


def _digit_answer(prediction: Prediction | DigitReading, hidden: np.ndarray | None) -> dict:
    probabilities = np.asarray(prediction.probabilities, dtype=np.float64)
    return {
        "digit": int(prediction.digit),
        "probabilities": np.round(probabilities, 6).tolist(),
        "input28": np.round(np.asarray(prediction.input28, np.float64), 3).tolist(),
        "hidden": None if hidden is None else np.round(hidden, 4).tolist(),
        "unsure": bool(prediction.unsure),
    }
