"""`digitnet predict` and `digitnet read` load only what they use: no plotting, no web server,
no trainer, no other command's modules (each would add to the start-up of every call)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image

NOT_NEEDED = (
    "matplotlib",
    "fastapi",
    "uvicorn",
    "optuna",
    "digitnet.web",
    "digitnet.plots",
    "digitnet.training.trainer",
    "digitnet.sweep",
    "digitnet.cli.train_cmd",
    "digitnet.cli.serve_cmd",
)

CHECK = """
import json, sys
from digitnet.cli.main import main
status = main(sys.argv[1:])
loaded = [name for name in json.loads(sys.stdin.read()) if name in sys.modules]
print(json.dumps({"status": status, "loaded": loaded}), file=sys.stderr)
"""


@pytest.mark.parametrize("command", ["predict", "read"])
def test_a_prediction_imports_nothing_it_does_not_use(tmp_path, mnist, command):
    image = tmp_path / "seven.png"
    Image.fromarray(255 - mnist.test_images[0]).save(image)
    result = subprocess.run(
        [sys.executable, "-c", CHECK, command, str(image)],
        input=json.dumps(NOT_NEEDED),
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["status"] == 0 and "7" in result.stdout
    assert report["loaded"] == []


def test_the_whole_parser_still_lists_every_command():
    from digitnet.cli.main import COMMAND_NAMES, build_parser

    listed = build_parser().format_help()
    assert all(name in listed for name in COMMAND_NAMES)
