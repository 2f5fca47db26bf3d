"""A small builder over onnx.helper: fresh names, constants, nodes, and the few operators
whose form changed between opsets (ReduceSum's axes became an input in opset 13)."""

from __future__ import annotations

import numpy as np


class Graph:
    """The nodes and initialisers of one ONNX graph under construction, for `opset`.

    `onnx` is the imported onnx package (imported by the caller: digitnet never needs it
    otherwise). Every value is float32 unless said otherwise.
    """

    def __init__(self, onnx, opset: int) -> None:
        self.onnx, self.opset = onnx, opset
        self.nodes: list = []
        self.initializers: list = []
        self._used: set[str] = set()

    def name(self, hint: str) -> str:
        """A name no other value of the graph has, made from hint."""
        name, k = hint, 1
        while name in self._used:
            k += 1
            name = f"{hint}_{k}"
        self._used.add(name)
        return name

    def constant(self, value: np.ndarray | float | list, hint: str, dtype=np.float32) -> str:
        """An initialiser holding value (cast to dtype); returns its name."""
        array = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, **attributes) -> str:
        """One node with a single output; returns the output's name."""
        out = self.name(hint)
        node = self.onnx.helper.make_node(
            op_type, inputs, [out], name=self.name(f"{hint}/{op_type}"), **attributes
        )
        self.nodes.append(node)
        return out

    def reduce_sum(self, x: str, axes: list[int], hint: str, *, keepdims: bool = True) -> str:
        """Sum of x over axes, in the form the opset takes."""
        if self.opset >= 13:
            axes_name = self.constant(axes, f"{hint}/axes", np.int64)
            return self.op("ReduceSum", [x, axes_name], hint, keepdims=int(keepdims))
        return self.op("ReduceSum", [x], hint, axes=axes, keepdims=int(keepdims))

    def reshape(self, x: str, shape: tuple[int, ...], hint: str) -> str:
        """x reshaped to shape (0 keeps that dimension, -1 infers it)."""
        return self.op("Reshape", [x, self.constant(shape, f"{hint}/shape", np.int64)], hint)
