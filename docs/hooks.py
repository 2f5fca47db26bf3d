"""MkDocs hook: the benchmark tables are read from benchmarks/results/ at every build.

A page writes `<!-- table: benchmarks/results/presets.md -->` (the file's first table) or
`<!-- table: benchmarks/results/speed.md#2 -->` (its second) where the table belongs; the hook
puts the table there, with the file's own "measured ..." line under the first table of a file.
JSON results that have no markdown table (read_numbers.json, calibration.json) are rendered
here. A marker naming a file or table that does not exist is a warning, so `mkdocs build
--strict` fails rather than publishing a page with a hole in it.

Pictures in benchmarks/results/ (scaling.png) are added to the site, and links to them written
for the repository (`../benchmarks/results/scaling.png` in docs/performance.md) point there.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.docs_tables")

RESULTS = "benchmarks/results"
MARKER = re.compile(r"<!--\s*table:\s*(?P<path>[^\s#]+)(?:#(?P<index>\d+))?\s*-->")


def repo_root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def markdown_blocks(text: str) -> list[list[str]]:
    """The file's blocks: runs of non-blank lines."""
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def is_table(block: list[str]) -> bool:
    return len(block) >= 2 and block[0].startswith("|") and set(block[1]) <= set("|-: ")


def table_from_markdown(path: Path, index: int) -> str:
    """The index-th (1-based) table of a results .md file; under the first, its source line."""
    blocks = markdown_blocks(path.read_text(encoding="utf-8"))
    tables = [block for block in blocks if is_table(block)]
    if not 1 <= index <= len(tables):
        raise LookupError(f"{path.name} has {len(tables)} tables, not a table {index}")
    table = "\n".join(tables[index - 1])
    if index > 1:
        return table
    prose = [b for b in blocks if not is_table(b) and not b[0].startswith("#")]
    source = f"From `{RESULTS}/{path.name}`"
    return f"{table}\n\n{source}: {' '.join(prose[0])}" if prose else f"{table}\n\n{source}."


def percent(fraction: float, digits: int = 1) -> str:
    return f"{fraction:.{digits}%}"


def read_numbers_table(results: dict) -> str:
    rows = [
        "| set | numbers | read exactly | right number of digits | refused |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in results.items():
        if isinstance(row, dict):
            rows.append(
                f"| {name.replace('_', ' ')} | {row['n']} | {percent(row['exact_rate'])} "
                f"| {row['right_digit_count']} | {row['refused']} |"
            )
    return "\n".join(rows) + (
        f"\n\nFrom `{RESULTS}/read_numbers.json`: `python benchmarks/read_numbers.py`, "
        f"model {results.get('model', '?')}, seed {results.get('seed', '?')}."
    )


def calibration_table(results: dict) -> str:
    test = results["test"]
    rows = [
        "| | before calibration | after |",
        "|---|---:|---:|",
        f"| expected calibration error, validation ({results['n_val']:,} digits) "
        f"| {percent(results['val_ece_before'], 2)} | {percent(results['val_ece_after'], 2)} |",
        f"| expected calibration error, test ({results['n_test']:,} digits) "
        f"| {percent(results['test_ece_before'], 2)} | {percent(results['test_ece_after'], 2)} |",
    ]
    summary = (
        f"Temperature {results['temperature']:.3f}, unsure threshold "
        f"{percent(results['min_confidence'])}; "
        f"test accuracy {percent(results['test_accuracy'], 2)}. "
        f"The threshold marks {percent(test['unsure_fraction'])} of the test digits unsure; "
        f"{percent(test['unsure_error_rate'])} of those are misread against "
        f"{percent(test['rest_error_rate'], 2)} of the rest, and {test['errors_caught']} of the "
        f"{test['errors']} errors are among them."
    )
    return "\n".join(rows) + (
        f"\n\n{summary}\n\nFrom `{RESULTS}/calibration.json` (`python benchmarks/calibration.py`)."
    )


JSON_TABLES: dict[str, Callable[[dict], str]] = {
    "read_numbers.json": read_numbers_table,
    "calibration.json": calibration_table,
}


def render(root: Path, name: str, index: int) -> str:
    path = root / name
    if not path.is_file():
        raise LookupError(f"{name} does not exist")
    if path.suffix == ".md":
        return table_from_markdown(path, index)
    if path.name in JSON_TABLES:
        return JSON_TABLES[path.name](json.loads(path.read_text(encoding="utf-8")))
    raise LookupError(f"no table is made from {name} (known: .md files, {', '.join(JSON_TABLES)})")


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    """Publish the pictures of benchmarks/results/ under the same path inside the site."""
    for picture in sorted((repo_root(config) / RESULTS).glob("*.png")):
        uri = f"{RESULTS}/{picture.name}"
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, abs_src_path=str(picture)))
    return files


def on_page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    root = repo_root(config)

    def table(match: re.Match[str]) -> str:
        try:
            return render(root, match["path"], int(match["index"] or 1))
        except (LookupError, KeyError, ValueError) as error:
            log.warning("%s: table marker %r: %s", page.file.src_uri, match[0], error)
            return match[0]

    markdown = MARKER.sub(table, markdown)
    # a link that works in the repository (docs/x.md -> ../benchmarks/results/y.png) is, inside
    # the site, one level shallower, since on_files put the file under docs' root
    depth = page.file.src_uri.count("/")
    return markdown.replace(f"]({'../' * (depth + 1)}{RESULTS}/", f"]({'../' * depth}{RESULTS}/")
