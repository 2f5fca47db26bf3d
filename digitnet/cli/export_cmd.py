"""`digitnet export MODEL --onnx OUT.onnx`: the network as ONNX, to run without digitnet."""

from __future__ import annotations

import argparse
import json
import os

from digitnet.cli.models import add_model_arguments, chosen_model, load_model_file_or_default
from digitnet.cli.run_control import check_output_path
from digitnet.errors import ConfigError
from digitnet.export.onnx import DEFAULT_OPSET, export_onnx, input_shape


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a model as ONNX, to run with ONNX Runtime or any ONNX runtime",
        description="Write the network as an ONNX model: input 'pixels', float32 in 0-1, "
        "bright ink on black, (N, 784) or (N, 1, 28, 28) as the network takes them; output "
        "'probabilities' (N, 10), softmax and calibration included. Needs the onnx package "
        "(pip install digitnet[onnx]).",
    )
    add_model_arguments(parser, "the model file to export (default: the bundled model)")
    parser.add_argument("--onnx", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    parser.add_argument(
        "--opset", type=int, default=DEFAULT_OPSET,
        help=f"the ONNX operator set version (default {DEFAULT_OPSET}; Deskew needs 11 or later)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model_path = chosen_model(args.model, args.model_option)
    if os.path.splitext(args.onnx)[1].lower() != ".onnx":
        raise ConfigError(f"--onnx {args.onnx}: an ONNX file ends in .onnx")
    out = check_output_path(args.onnx, "--onnx", {"the model file": model_path})
    model_file = load_model_file_or_default(model_path)
    written = export_onnx(model_file.model, out, model_file.meta, opset=args.opset)
    shape = ["N", *input_shape(model_file.model)]
    if args.json:
        print(json.dumps({"out": str(written), "opset": args.opset, "input_shape": shape}))
    else:
        dims = ", ".join(map(str, shape))
        print(f"wrote {written} (ONNX opset {args.opset}, input 'pixels' ({dims}))")
    return 0
