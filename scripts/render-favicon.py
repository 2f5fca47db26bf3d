"""Render digitnet/web/static/favicon.svg into favicon.ico (16, 32 and 48 px) beside it.

Run after editing the SVG: `.venv/bin/python scripts/render-favicon.py` (needs Playwright and
Debian's chromium, as the browser tests do).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parent.parent / "digitnet" / "web" / "static"
SIDE = 64  # rendered once this large; Pillow scales it down to each icon size


def render_png(svg: str, side: int) -> bytes:
    """The SVG drawn by Chromium on a transparent side x side square, as PNG bytes."""
    source = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": side, "height": side})
        page.set_content(
            f'<body style="margin:0"><img src="{source}" width="{side}" height="{side}"></body>'
        )
        png = page.screenshot(omit_background=True)
        browser.close()
    return png


def main() -> None:
    png = render_png((STATIC / "favicon.svg").read_text(encoding="utf-8"), SIDE)
    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGBA").save(STATIC / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
