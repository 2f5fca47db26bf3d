"""ASGI middleware and error handlers: a cap on the body's size, security headers on every
response, and every error as one JSON sentence with its 4xx status, never a stack trace."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitnet.web.schemas import InputError

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
]


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


def add_error_handlers(app: FastAPI, max_body_bytes: int) -> None:
    """Every error as {"error": "<one sentence>"}, never a stack trace."""

    @app.exception_handler(InputError)
    def input_error(request: Request, error: InputError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.exception_handler(BodyTooLarge)
    def body_too_large(request: Request, error: BodyTooLarge) -> JSONResponse:
        return too_large_response(max_body_bytes)

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
