"""Exporting a digitnet network to run without digitnet: ONNX (onnx.py)."""

from __future__ import annotations

from digitnet.export.onnx import export_onnx, to_onnx

__all__ = ["export_onnx", "to_onnx"]
