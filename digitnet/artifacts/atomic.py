"""Atomic file writes: write a temporary file in the same folder, fsync, rename over the target.

An interrupted write (Ctrl-C, a full disk, a crash) never leaves a half-written file behind: the
target is either the old file or the complete new one. A symbolic link is written through (its
target file is replaced, the link stays); a device, a pipe or a socket is refused, since a rename
would put a plain file in its place (`--out /dev/null` run as root would replace the device).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Call write(file) on a temporary file beside `path`, then rename it to `path`.

    Raises OSError (e.g. PermissionError, FileNotFoundError for a missing folder) unchanged;
    the temporary file is removed on any failure, and NotARegularFileError for a path that is
    a device, a pipe or a socket. Returns the path written: a link's target for a link.
    """
    path = regular_file_target(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())  # mkstemp makes 0600; users expect 0644
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_folder(folder)
    return path


class NotARegularFileError(OSError):
    """The output path leads to something other than a regular file: a device, a pipe, a
    socket, or a loop of symbolic links."""


def regular_file_target(path: str | os.PathLike[str]) -> Path:
    """The file a write to `path` replaces: `path` itself, or for a symbolic link the file it
    points to (through every link; a dangling link's target is created). NotARegularFileError
    if what the path leads to exists and is not a regular file or a folder (a folder is left
    for the write to fail on, as ever), or for a loop of links."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # follows links, /dev/stdout to its pipe included
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotARegularFileError(
                errno.ELOOP, "is a loop of symbolic links", str(path)
            ) from None
        mode = None  # nothing there yet (or unreachable: the write will say why)
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise NotARegularFileError(
            errno.EEXIST, "exists and is not a regular file (a device, a pipe or a socket)",
            str(path),
        )  # fmt: skip
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically replace `path` with `data`."""
    return write_atomically(path, lambda handle: handle.write(data))


def write_text_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically replace `path` with `text` encoded as UTF-8."""
    return write_bytes_atomically(path, text.encode("utf-8"))


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _current_umask() -> int:
    """The process umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
