"""Model files: one .npz holding the weights under stable names plus a JSON header.

Layout (documented in docs/model-format.md):
    meta            0-d unicode array: JSON with format, format_version, architecture, settings,
                    dataset, results, digitnet version
    param/<name>    the weights, e.g. param/0.W (784, 256) float32, param/0.b (256,)
    buffer/<name>   non-trained state, e.g. BatchNorm's buffer/1.running_mean
    optim/<key>     optimiser state (checkpoints only)
    extra/<key>     other arrays a checkpoint needs (best weights so far, ...)

Files are read with allow_pickle=False only, so loading a model can never run code, and every
array is checked (name, dtype, shape, finite) before a model is built. Saving is atomic.
"""

from __future__ import annotations

import inspect
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitnet import __version__
from digitnet.artifacts.atomic import write_atomically
from digitnet.errors import ConfigError, ModelFileError
from digitnet.nn.layer_types import LAYER_TYPES, known_layer_types
from digitnet.nn.layers import Layer
from digitnet.nn.model import Sequential

FORMAT_NAME = "digitnet-model"
FORMAT_VERSION = 1
GROUPS = ("param/", "buffer/", "optim/", "extra/")


@dataclass
class ModelFile:
    """What a model file holds: the model, its JSON header and any checkpoint arrays."""

    model: Sequential
    meta: dict
    optim: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def save_model(
    path: str | os.PathLike[str],
    model: Sequential,
    meta: dict | None = None,
    *,
    optim: dict[str, np.ndarray] | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write the model (and optional checkpoint arrays) atomically; returns the path.

    Raises ModelFileError when the folder does not exist or is not writable, and for a model
    that could not be loaded back as it is: NaN or infinite weights, a layer class of your own
    named like a built-in one, or one whose spec() leaves out the arguments it was built with.
    """
    _check_loadable(model)
    header = {
        **(meta or {}),
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "digitnet_version": __version__,
        "architecture": model.spec(),
        "calibration": _calibration_of(model),
    }
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(header))}
    arrays.update({f"param/{k}": v for k, v in model.get_weights().items()})
    arrays.update({f"buffer/{k}": v for k, v in model.get_buffers().items()})
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in (optim or {}).items()})
    arrays.update({f"extra/{k}": np.asarray(v) for k, v in (extra or {}).items()})
    path = Path(path)
    try:
        return write_atomically(path, lambda handle: np.savez(handle, **arrays))
    except OSError as err:
        raise ModelFileError(f"cannot write {path}: {err.strerror or err}") from None


def _check_loadable(model: Sequential) -> None:
    """ModelFileError for what load_model would refuse or rebuild differently."""
    arrays = {**{s.name: s.param for s in model.named_params()}, **model.named_buffers()}
    for name, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise ModelFileError(f"{name} holds NaN or infinite values: not saved")
    classes = list(dict.fromkeys(type(layer) for layer in model.layers))
    try:  # the names load_model could tell apart: the rule loading applies
        known_layer_types([cls for cls in classes if LAYER_TYPES.get(cls.__name__) is not cls])
    except ConfigError as error:
        raise ModelFileError(f"{error}: rename it, or the file would not load back") from None
    for layer in model.layers:
        cls, named = type(layer), layer.spec().get("type")
        if named != cls.__name__:
            raise ModelFileError(
                f"{cls.__name__}.spec() names the type {named!r}: it would load as that class; "
                f"a subclass's spec() must name {cls.__name__!r}"
            )
        forgotten = _arguments_spec_leaves_out(cls)
        if forgotten:
            raise ModelFileError(
                f"{cls.__name__} takes {', '.join(forgotten)}: its spec() must return them (and "
                "from_spec build it from them) so that a saved model rebuilds it"
            )


def _arguments_spec_leaves_out(cls: type[Layer]) -> list[str]:
    """The constructor arguments of a layer class that keeps Layer's own spec() and
    from_spec() (which save and pass none), apart from rng and dtype, which from_spec gives."""
    if cls.spec is not Layer.spec or cls.from_spec.__func__ is not Layer.from_spec.__func__:
        return []
    skipped = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]  # not self
    return [p.name for p in parameters if p.kind not in skipped and p.name not in ("rng", "dtype")]


def load_model(
    path: str | os.PathLike[str],
    *,
    dtype: type | None = None,
    custom_layers: Sequence[type[Layer]] = (),
) -> ModelFile:
    """Read and validate a model file; raises ModelFileError saying what is wrong.
    dtype: the network's float type (default: float64 for weights saved as float64, else
    float32). custom_layers: Layer classes of your own that the file's network uses."""
    path = Path(path)
    arrays, meta = _read_arrays(path)
    _check_header(meta, path)
    if dtype is None:
        stored = {v.dtype for k, v in arrays.items() if k.startswith("param/")}
        dtype = np.float64 if np.dtype(np.float64) in stored else np.float32
    try:
        model = Sequential.from_spec(
            meta["architecture"],
            rng=np.random.default_rng(0),
            dtype=dtype,
            custom_layers=custom_layers,
        )
    except (ConfigError, KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: the architecture cannot be built ({err})") from None
    params = {k.removeprefix("param/"): v for k, v in arrays.items() if k.startswith("param/")}
    for name, value in params.items():
        if not np.issubdtype(value.dtype, np.floating):
            raise ModelFileError(f"{path}: weight {name} has dtype {value.dtype}, expected floats")
        if not np.all(np.isfinite(value)):
            raise ModelFileError(f"{path}: weight {name} holds NaN or infinite values")
    buffers = {k.removeprefix("buffer/"): v for k, v in arrays.items() if k.startswith("buffer/")}
    for name, value in buffers.items():
        if not np.issubdtype(value.dtype, np.floating) or not np.all(np.isfinite(value)):
            raise ModelFileError(f"{path}: buffer {name} is not finite floats")
    try:
        model.set_weights(params)
        model.set_buffers(buffers)
    except ModelFileError as err:
        raise ModelFileError(f"{path}: {err}") from None
    model.temperature, model.min_confidence = _read_calibration(meta, path)
    optim = {k.removeprefix("optim/"): v for k, v in arrays.items() if k.startswith("optim/")}
    extra = {k.removeprefix("extra/"): v for k, v in arrays.items() if k.startswith("extra/")}
    return ModelFile(model, meta, optim, extra)


def _calibration_of(model: Sequential) -> dict:
    """The header's calibration entry; ModelFileError for a value that could not load back."""
    temperature, cut = float(model.temperature), float(model.min_confidence)
    if not (np.isfinite(temperature) and temperature > 0 and 0.0 <= cut <= 1.0):
        raise ModelFileError(
            f"calibration needs a finite temperature > 0 and min_confidence in [0, 1], "
            f"got {temperature} and {cut}"
        )
    return {"temperature": temperature, "min_confidence": cut}


def _read_calibration(meta: dict, path: Path) -> tuple[float, float]:
    """(temperature, min_confidence); files written before calibration existed get (1, 0)."""
    entry = meta.get("calibration", {})
    try:
        temperature = float(entry.get("temperature", 1.0))
        cut = float(entry.get("min_confidence", 0.0))
    except (AttributeError, TypeError, ValueError):
        raise ModelFileError(f"{path}: the header's calibration is unreadable") from None
    if not (np.isfinite(temperature) and temperature > 0 and 0.0 <= cut <= 1.0):
        raise ModelFileError(f"{path}: calibration temperature {temperature} or cut {cut} invalid")
    return temperature, cut


def _read_arrays(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Every array, read eagerly: npz is lazy and refuses a pickle only when its key is read."""
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder, expected a .npz model file")
    try:
        with open(path, "rb") as handle:  # our handle: np.load leaks its own on a bad zip
            _check_magic(handle.read(6), path)
            handle.seek(0)
            loaded = np.load(handle, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ModelFileError(f"{path}: a single .npy array, not a digitnet model (.npz)")
            with loaded as archive:
                arrays = {key: archive[key] for key in archive.files}
    except ModelFileError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower() or "object" in str(err).lower():
            raise ModelFileError(
                f"{path}: holds pickled objects, refused (it could run code)"
            ) from None
        raise ModelFileError(f"{path}: not a digitnet model file ({err})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise ModelFileError(f"{path}: corrupted or truncated model file ({err})") from None
    not_arrays = [key for key, value in arrays.items() if not isinstance(value, np.ndarray)]
    if not_arrays:
        raise ModelFileError(f"{path}: member {not_arrays[0]!r} is not a NumPy array")
    if "meta" not in arrays:
        raise ModelFileError(f"{path}: not a digitnet model file (no 'meta' header)")
    unknown = [k for k in arrays if k != "meta" and not k.startswith(GROUPS)]
    if unknown:
        raise ModelFileError(f"{path}: unexpected array {unknown[0]!r}")
    try:
        meta = json.loads(arrays.pop("meta").item())
    except (ValueError, TypeError) as err:
        raise ModelFileError(f"{path}: the JSON header is unreadable ({err})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: the JSON header is not an object")
    return arrays, meta


def _check_magic(head: bytes, path: Path) -> None:
    """ModelFileError unless the file starts as a zip (.npz) or .npy does: np.load would take
    anything else (a text, an image) for a pickle and call it one."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        return
    if head[:1] == b"\x80":  # pickle protocol 2 and later
        raise ModelFileError(f"{path}: a pickle, refused (loading it could run code)")
    what = "an empty file" if not head else "not a .npz archive"
    raise ModelFileError(f"{path}: not a digitnet model file ({what})")


def _check_header(meta: dict, path: Path) -> None:
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: not a digitnet model file (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{path}: the header has no format version")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} is newer than this digitnet "
            f"{__version__} reads (version {FORMAT_VERSION}); upgrade digitnet"
        )
    if version < 1:
        raise ModelFileError(f"{path}: unknown model format version {version}")
    if "architecture" not in meta:
        raise ModelFileError(f"{path}: the header has no architecture")
