"""The documentation site: `mkdocs build --strict` is clean, every page of the nav is built, the
benchmark tables are filled in, the guide's examples marked as runnable run, and the built site
reads in Chromium without loading anything from elsewhere.

Screenshots land in tests/artifacts/docs-*.png for a person to look at.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
ARTIFACTS = REPO / "tests" / "artifacts"
RUNNABLE = re.compile(r"<!-- runs as a test -->\n```bash\n(.*?)```", re.S)
GUIDE = ["train", "evaluate", "predict", "read", "show-and-plot", "serve", "data"]
GUIDE += ["reproduce", "calibrate", "ensemble", "sweep", "sklearn", "export"]
# other documents (the README) link to these paths: moving one breaks their links
LINKED_PAGES = {"index.md", *(f"guide/{name}.md" for name in GUIDE)} | {
    f"{name}.md"
    for name in (
        "python-api",
        "reference",
        "reproducing",
        "performance",
        "math",
        "model-format",
        "default-model",
        "web-api",
    )
}

pytestmark = pytest.mark.slow  # CI runs the slow tests too: the build is checked there


def require(module: str) -> None:
    """The docs tools come with the dev extra; in CI a missing one fails instead of skipping."""
    try:
        __import__(module)
    except ImportError:
        message = f"{module} is not installed (pip install -e '.[docs]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`mkdocs build --strict` into a temporary folder: the site and the build's output."""
    require("mkdocs")
    require("mkdocstrings_handlers.python")
    site = tmp_path_factory.mktemp("docs") / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(site)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        stdin=subprocess.DEVNULL,
    )
    return site, result


def nav_pages() -> list[str]:
    """Every .md file the nav of mkdocs.yml names, in order."""
    import yaml

    def walk(entry: object) -> Iterator[str]:
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, list):
            for item in entry:
                yield from walk(item)
        elif isinstance(entry, dict):
            for value in entry.values():
                yield from walk(value)

    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    return list(walk(config["nav"]))


def built_page(site: Path, page: str) -> Path:
    """Where mkdocs writes a page (directory URLs: guide/train.md -> guide/train/index.html)."""
    stem = page.removesuffix(".md")
    return site / ("index.html" if stem == "index" else f"{stem}/index.html")


def test_docs_build_strict_without_warnings(build):
    site, result = build
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert warnings == []
    assert (site / "index.html").is_file()


def test_every_nav_page_is_built_and_the_linked_paths_stay(build):
    site, result = build
    assert result.returncode == 0, result.stderr
    pages = nav_pages()
    assert LINKED_PAGES <= set(pages)
    for page in pages:
        assert (DOCS / page).is_file(), page
        assert built_page(site, page).is_file(), page


def test_benchmark_tables_and_reference_are_filled_in(build):
    site, result = build
    assert result.returncode == 0, result.stderr
    performance = built_page(site, "performance.md").read_text(encoding="utf-8")
    reproducing = built_page(site, "reproducing.md").read_text(encoding="utf-8")
    for html in (performance, reproducing):
        assert "<!-- table:" not in html
        assert "seed002+best" in html  # a row of benchmarks/results/presets.md
    assert "MLP 784-800-10" in performance  # speed.md
    assert "diag_shadow" in performance  # own_images.md
    assert "touching pairs" in performance  # read_numbers.json
    assert 'src="../benchmarks/results/scaling.png"' in performance
    assert (site / "benchmarks" / "results" / "scaling.png").is_file()
    reference = built_page(site, "reference.md").read_text(encoding="utf-8")
    for name in ("digitnet.api.train", "digitnet.nn.model.Sequential", "digitnet.nn.optim"):
        assert f'id="{name}"' in reference, name


def runnable_commands() -> list[tuple[str, str]]:
    """(page, command line) for every line of the guide's blocks marked as runnable."""
    commands = []
    for page in sorted((DOCS / "guide").glob("*.md")):
        for block in RUNNABLE.findall(page.read_text(encoding="utf-8")):
            commands += [(page.name, line) for line in block.splitlines() if line.strip()]
    return commands


def test_guide_examples_marked_runnable_run(tmp_path, mnist):
    from PIL import Image

    # the digit the predict examples read: MNIST test image 0 (a 7), dark ink on paper
    Image.fromarray(255 - mnist.test_images[0]).resize((112, 112)).save(tmp_path / "digit.png")
    commands = runnable_commands()
    assert len(commands) >= 3
    for page, line in commands:
        words = shlex.split(line, comments=True)
        assert words[0] == "digitnet", f"{page}: {line}"
        result = run_cli(*words[1:], cwd=tmp_path)
        assert result.returncode == 0, f"{page}: {line}\n{result.stderr}"
        assert result.stdout.strip(), f"{page}: {line} printed nothing"
        if words[1] == "predict":
            assert re.search(r'digit.png: 7 |"digit": 7', result.stdout), result.stdout


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No line per request on stderr."""


@pytest.fixture(scope="module")
def served_site(build) -> Iterator[str]:
    """The built site over HTTP on a free port of 127.0.0.1, as python -m http.server serves it."""
    site, result = build
    assert result.returncode == 0, result.stderr
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.browser
def test_site_reads_in_chromium_and_loads_nothing_from_elsewhere(served_site):
    pytest.importorskip("playwright")
    from playwright.sync_api import expect, sync_playwright
    from test_web_browser import ARGS, chromium

    executable = chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda request: requested.append(request.url))
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(served_site + "/")
        expect(page).to_have_title("digitnet")
        expect(page.locator("article h1")).to_contain_text("digitnet")
        nav = page.locator("nav.md-nav--primary")
        for title in ("train", "evaluate", "predict", "read", "serve", "calibrate"):
            expect(nav.get_by_role("link", name=title, exact=True)).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "docs-home.png"), full_page=True)

        page.goto(served_site + "/guide/predict/")
        expect(page).to_have_title("predict - digitnet")
        expect(page.locator("article h1")).to_contain_text("digitnet predict")
        expect(page.locator("article table").first).to_contain_text("--save-input")
        page.screenshot(path=str(ARTIFACTS / "docs-predict.png"), full_page=True)
        browser.close()
    assert problems == []
    outside = [url for url in requested if not url.startswith(served_site)]
    assert outside == []


def test_a_table_marker_naming_a_missing_file_is_a_warning(caplog):
    """So that `mkdocs build --strict` fails instead of publishing the marker."""
    import importlib.util
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = SimpleNamespace(file=SimpleNamespace(src_uri="guide/x.md"))
    config = SimpleNamespace(config_file_path=str(REPO / "mkdocs.yml"))
    markdown = "a\n<!-- table: benchmarks/results/presets.md#99 -->\n<!-- table: nowhere.md -->\n"
    with caplog.at_level("WARNING", logger="mkdocs.hooks.docs_tables"):
        out = hooks.on_page_markdown(markdown, page=page, config=config, files=None)
    assert out == markdown
    assert len(caplog.records) == 2
    assert "presets.md has 1 tables, not a table 99" in caplog.text
    assert "nowhere.md does not exist" in caplog.text
    rendered = hooks.on_page_markdown(
        "<!-- table: benchmarks/results/presets.md -->\n![s](../../benchmarks/results/scaling.png)",
        page=page,
        config=config,
        files=None,
    )
    assert rendered.startswith("| preset |")
    assert "From `benchmarks/results/presets.md`: Measured" in rendered
    assert rendered.endswith("![s](../benchmarks/results/scaling.png)")
