"""The web app: `digitnet serve` runs create_app(model, meta) under uvicorn."""

from __future__ import annotations

from digitnet.web.app import MAX_BODY_BYTES, create_app

__all__ = ["MAX_BODY_BYTES", "create_app"]
