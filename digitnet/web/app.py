"""The web app: a drawing page and a small JSON API around one trained network.

    GET  /              the page (static/index.html; app.js and style.css under /static/)
    GET  /favicon.ico   the icon (static/favicon.ico; the page links static/favicon.svg)
    POST /api/predict   JSON pixels (see schemas.py), a multipart image upload (field "file")
                        or a raw image body (Content-Type one of IMAGE_TYPES)
                        -> {"digit", "probabilities", "input28", "hidden", "unsure"}
    POST /api/read      the same bodies, read as a number (digits side by side, left to right)
                        -> {"text", "unsure", "digits": [{"digit", "probabilities", "box",
                        "unsure", "input28", "hidden"}]}
    GET  /api/model     architecture, parameter count, preset, results, limits
    GET  /openapi.json  the OpenAPI document: each JSON field described (no docs page: it
                        would load scripts from a CDN)
    GET  /healthz       {"status": "ok"}

Every error is JSON {"error": "<one sentence>"} with a 4xx status: 400 malformed body, 404 no
such route, 405 wrong method, 413 body over MAX_BODY_BYTES, 415 wrong content type, 422 a body
that parses but cannot be used (wrong shape, values out of range, not an image, no ink).
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitnet import __version__
from digitnet.errors import ImageError
from digitnet.images import FORMATS, MIN_CONTRAST, decode_image_bytes, to_mnist
from digitnet.nn.activations import ACTIVATIONS
from digitnet.nn.model import Sequential
from digitnet.predict import Prediction, looks_dark_on_light, predict_image28
from digitnet.reading import DigitReading, read_grey
from digitnet.training.build import layout_of
from digitnet.web.schemas import (
    INKS,
    MAX_SIDE,
    MIN_SIDE,
    SCALES,
    InputError,
    PixelRequest,
    parse_predict_json,
    request_body_schema,
)

MAX_BODY_BYTES = 5 * 1024 * 1024  # JSON bodies and uploads alike
IMAGE_TYPES = tuple(f"image/{name.lower()}" for name in FORMATS)  # image/png ... image/tiff
STATIC = Path(__file__).parent / "static"
NO_INK = "no ink found: draw a digit"
NO_DIGITS = "no digits found: draw one or more digits side by side"
INK_CONVENTION = (
    'pixels are grey levels from 0 to `scale` (1 or 255); "ink" says which way the ink goes: '
    '"light" (bright ink on black, like MNIST), "dark" (dark ink on light paper) or "auto" '
    "(the default: detected, as for uploaded image files)"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
]


def create_app(model: Sequential, meta: dict) -> FastAPI:
    """The ASGI app serving `model`; meta is the model file's JSON header (preset, results)."""
    predictor = Predictor(model)
    app = FastAPI(title="digitnet", version=__version__, docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders)
    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.ico", headers={"cache-control": "max-age=86400"})

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/api/model")
    def model_info() -> dict:
        return {
            "digitnet_version": __version__,
            "summary": repr(model),
            "architecture": model.spec(),
            "n_params": model.n_params,
            "hidden_units": predictor.hidden_units,
            "preset": meta.get("preset"),
            "results": meta.get("results"),
            "trained_with": meta.get("trained_with"),
            "input": {
                "convention": INK_CONVENTION,
                "shapes": f"28x28, 784 flat, or H x W with sides {MIN_SIDE} to {MAX_SIDE}",
                "scales": list(SCALES),
                "inks": list(INKS),
                "max_body_bytes": MAX_BODY_BYTES,
            },
        }

    @app.post("/api/predict", openapi_extra=request_body_openapi("one digit"))
    async def predict(request: Request) -> JSONResponse:
        return await _answer(request, predictor.predict_json, predictor.predict_upload)

    @app.post("/api/read", openapi_extra=request_body_openapi("a number"))
    async def read(request: Request) -> JSONResponse:
        return await _answer(request, predictor.read_json, predictor.read_upload)

    return app


def request_body_openapi(what: str) -> dict:
    """The OpenAPI requestBody of the POST routes: the JSON fields, an upload, a raw image."""
    image = {"type": "string", "format": "binary", "description": f"an image file of {what}"}
    upload = {"type": "object", "required": ["file"], "properties": {"file": image}}
    content = {
        "application/json": {"schema": request_body_schema()},
        "multipart/form-data": {"schema": upload},
        **{image_type: {"schema": image} for image_type in IMAGE_TYPES},
    }
    return {"requestBody": {"required": True, "content": content}}


async def _answer(request: Request, from_json, from_upload) -> JSONResponse:
    """A JSON body to from_json(bytes), a multipart upload's file or a raw image body to
    from_upload(bytes), run off the event loop; 415 for another content type."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        answer = await run_in_threadpool(from_json, body)
    elif content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=8) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InputError('the upload needs an image file in the field "file"')
            data = await upload.read()
        answer = await run_in_threadpool(from_upload, data)
    elif content_type in IMAGE_TYPES:
        body = await request.body()
        answer = await run_in_threadpool(from_upload, body)
    else:
        raise InputError(
            f"send application/json, multipart/form-data or an image ({', '.join(IMAGE_TYPES)}), "
            f"not {content_type or 'a body without a content type'}",
            415,
        )
    return JSONResponse(answer)


class Predictor:
    """The model behind a lock, and a hidden layer's activations for the page.

    Layers keep their last input for backward, so two forwards at once on one model would race
    on that state: predictions take turns (a forward is ~0.1 ms; preprocessing runs outside).
    """

    def __init__(self, model: Sequential) -> None:
        self.model = model
        self.layout = layout_of(model)
        self._activations = hidden_activations(model)
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
            hidden = self._hidden(prediction.input28)
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
                hidden = [self._hidden(digit.input28) for digit in reading.digits]
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

    def _hidden(self, seen28: np.ndarray) -> np.ndarray | None:
        """The first vector-shaped hidden activation for an input already through the fixed
        prefix (None when the model has none); call with the lock held."""
        shape = (1, 1, 28, 28) if self.layout == "image" else (1, 784)
        x = np.asarray(seen28, dtype=self.model.dtype).reshape(shape)
        start = self.model.fixed_prefix
        for index, layer in enumerate(self.model.layers[start:], start):
            x = layer.forward(x, training=False)
            if index in self._activations and x.ndim == 2:
                return x[0].astype(np.float64)  # a copy: later layers may reuse x
        return None

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


def hidden_activations(model: Sequential) -> set[int]:
    """Indices of the activation layers before the output; the page shows the first one whose
    output is a vector (the first fully connected hidden layer, also in a CNN)."""
    activations = tuple(ACTIVATIONS.values())
    return {i for i, layer in enumerate(model.layers[:-1]) if isinstance(layer, activations)}


class BodyTooLarge(Exception):
    """The client sent more than MAX_BODY_BYTES (counted while reading)."""


class BodyLimit:
    """ASGI middleware: 413 for a Content-Length over max_bytes, or once more bytes arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await too_large_response(self.max_bytes)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:  # a lying or absent Content-Length
                raise BodyTooLarge
            return message

        await self.app(scope, counting_receive, send)


def too_large_response(max_bytes: int) -> JSONResponse:
    megabytes = max_bytes / (1024 * 1024)
    return JSONResponse(
        {"error": f"the request body is over the {megabytes:g} MB limit ({max_bytes} bytes)"},
        status_code=413,
    )


class SecurityHeaders:
    """ASGI middleware: every response forbids content sniffing and loading from elsewhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def _add_error_handlers(app: FastAPI) -> None:
    """Every error as {"error": "<one sentence>"}, never a stack trace."""

    @app.exception_handler(InputError)
    def input_error(request: Request, error: InputError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.exception_handler(BodyTooLarge)
    def body_too_large(request: Request, error: BodyTooLarge) -> JSONResponse:
        return too_large_response(MAX_BODY_BYTES)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, error: HTTPException) -> JSONResponse:
        where = f"{request.method} {request.url.path}"
        messages = {404: f"no such page or route: {where}", 405: f"method not allowed: {where}"}
        detail = error.detail if isinstance(error.detail, str) else None
        message = messages.get(error.status_code) or detail or HTTPStatus(error.status_code).phrase
        return JSONResponse(
            {"error": message}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(RequestValidationError)
    def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        first = problems[0] if problems else {}
        place = ".".join(str(part) for part in first.get("loc", ()))
        message = f"{place}: {first.get('msg', 'invalid')}" if place else "invalid request"
        return JSONResponse({"error": message}, status_code=422)

    @app.exception_handler(Exception)
    def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"error": "internal error: the server could not answer"}, 500)
