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

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from digitnet import __version__
from digitnet.images import FORMATS
from digitnet.nn.model import Sequential
from digitnet.web.middleware import BodyLimit, SecurityHeaders, add_error_handlers
from digitnet.web.predictor import Predictor
from digitnet.web.schemas import INKS, MAX_SIDE, MIN_SIDE, SCALES, InputError, request_body_schema

MAX_BODY_BYTES = 5 * 1024 * 1024  # JSON bodies and uploads alike
IMAGE_TYPES = tuple(f"image/{name.lower()}" for name in FORMATS)  # image/png ... image/tiff
STATIC = Path(__file__).parent / "static"
INK_CONVENTION = (
    'pixels are grey levels from 0 to `scale` (1 or 255); "ink" says which way the ink goes: '
    '"light" (bright ink on black, like MNIST), "dark" (dark ink on light paper) or "auto" '
    "(the default: detected, as for uploaded image files)"
)


def create_app(model: Sequential, meta: dict) -> FastAPI:
    """The ASGI app serving `model`; meta is the model file's JSON header (preset, results)."""
    predictor = Predictor(model)
    app = FastAPI(title="digitnet", version=__version__, docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders)
    add_error_handlers(app, MAX_BODY_BYTES)
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
