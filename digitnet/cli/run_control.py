"""What a long training run needs around it: stop signals that let it save a checkpoint, and
checks of where it will write, made before the work rather than after it."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from digitnet.artifacts.atomic import NotARegularFileError, regular_file_target
from digitnet.errors import ConfigError, OutputError


class StopFlag:
    """Ctrl-C (SIGINT) or SIGTERM asks training to stop at the next step; a second one aborts."""

    def __init__(self) -> None:
        self.requested = False
        self.signal = signal.SIGINT  # the one that asked: the exit status is 128 + its number

    def __call__(self) -> bool:
        return self.requested

    def install(self) -> None:
        def handler(signum: int, frame: object) -> None:
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True
            self.signal = signum
            print(
                "\ndigitnet: stopping after this step (Ctrl-C again to abort)...", file=sys.stderr
            )

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


def check_output_path(path: str | os.PathLike[str], option: str, inputs: Mapping) -> Path:
    """The file writing `path` will replace (a link's target; atomic.regular_file_target);
    ConfigError if that is a device or a pipe, or a file the command reads: `inputs` maps a
    description ("the --test-csv file") to its path (None: not given)."""
    try:
        target = regular_file_target(path)
    except NotARegularFileError as error:
        raise ConfigError(f"{option} {path}: {error.strerror}") from None
    for description, source in inputs.items():
        if source is not None and _same_file(target, source):
            raise ConfigError(f"{option} {path} is {description}; give another file name")
    return target


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether both paths exist and are one file (links and other spellings included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def output_folder(text: str, option: str) -> Path:
    """The folder an option names for files to write, created if missing; OutputError if it
    is a file or cannot be created."""
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{option} {folder}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{option} {folder}: cannot create it ({error.strerror})") from None
    return folder


def check_writable(out: Path, inputs: Mapping) -> None:
    """ConfigError now, before training, if the model file could not be written at the end:
    a missing folder, a folder given as the file, a folder we may not write in, a device or
    a pipe, or one of the `inputs` (as check_output_path)."""
    folder = check_output_path(out, "--out", inputs).parent  # a link's file may lie elsewhere
    if out.is_dir():
        raise ConfigError(f"--out {out} is a folder; give a file name such as {out / 'model.npz'}")
    if not folder.is_dir():
        raise ConfigError(f"--out {out}: the folder {folder} does not exist")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ConfigError(f"--out {out}: cannot write in {folder} ({error.strerror})") from None
