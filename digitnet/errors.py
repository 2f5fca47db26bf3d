"""The exceptions digitnet raises for bad input; the CLI turns each into one line and exit 1."""

from __future__ import annotations


class DigitnetError(Exception):
    """Base class: a problem the user can act on (bad file, bad option, bad image)."""


class DataError(DigitnetError):
    """A dataset file is missing, corrupted, truncated or inconsistent."""


class ModelFileError(DigitnetError):
    """A model or checkpoint file cannot be read or written safely."""


class ImageError(DigitnetError):
    """A user image cannot be read or turned into a 28x28 digit."""


class NoDigitError(ImageError):
    """An image file was read, but no digit could be taken from it (blank, specks, lines)."""


class ConfigError(DigitnetError):
    """A setting (preset, option, hyperparameter) is invalid."""


class TrainingDiverged(DigitnetError):
    """The loss became NaN or infinite; the last good weights were kept."""


class OutputError(DigitnetError):
    """An output file (plot, history, submission) cannot be written."""


class ExportError(DigitnetError):
    """A model cannot be exported (a layer without an ONNX form, a missing package, an
    output file that cannot be written)."""
