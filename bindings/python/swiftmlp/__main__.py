"""``python -m swiftmlp convert IN OUT``: converts a model file by its extension.

    in:   .smlp (swiftmlp's own format), .onnx, .net (FANN 2.x)
    out:  .smlp, .onnx, .net (FANN 2.1), .c (standalone C99 source, smlp_export_c)

Options: ``--dtype float32|float64`` for the model read from .onnx or .net (default:
the ONNX input's type; float64 for FANN), ``--prefix NAME`` for the C function
``NAME_predict`` (default smlp_model), ``--opset N`` for ONNX. docs/interop.md says
what each format keeps and what it refuses. Exit status 0 on success, 1 when the
model cannot be converted (the message says why), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

INPUTS = (".smlp", ".onnx", ".net")
OUTPUTS = (".smlp", ".onnx", ".net", ".c")


def convert(source: str, target: str, *, dtype: str | None = None, prefix: str | None = None,
            opset: int | None = None) -> None:
    """Reads ``source`` and writes ``target``, each format chosen by its extension."""
    from . import interop
    from .network import Network

    kind_in, kind_out = Path(source).suffix.lower(), Path(target).suffix.lower()
    if kind_in not in INPUTS:
        raise ValueError(f"cannot read {source!r}: the extension must be one of {', '.join(INPUTS)}")
    if kind_out not in OUTPUTS:
        raise ValueError(f"cannot write {target!r}: the extension must be one of {', '.join(OUTPUTS)}")
    if kind_in == ".smlp":
        network = Network.load(source)
    elif kind_in == ".onnx":
        network = interop.from_onnx(source, dtype=dtype)
    else:
        network = interop.load_fann(source, dtype=dtype or "float64")
    if dtype is not None and kind_in == ".smlp" and network.dtype != dtype:
        raise ValueError(f"--dtype {dtype}: {source!r} is a {network.dtype} model, and .smlp keeps its dtype")
    with network:
        if kind_out == ".smlp":
            network.save(target)
        elif kind_out == ".onnx":
            interop.to_onnx(network, target, **({} if opset is None else {"opset": opset}))
        elif kind_out == ".net":
            interop.to_fann(network, target)
        else:
            network.export_c(target, prefix)


def source_error(source: str, error: Exception) -> str:
    return f"cannot convert {source!r}: {type(error).__name__}: {error}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swiftmlp", description="swiftmlp model tools")
    commands = parser.add_subparsers(dest="command", required=True)
    convert_parser = commands.add_parser(
        "convert", help="convert a model file; formats by extension",
        description=f"Reads IN ({', '.join(INPUTS)}) and writes OUT ({', '.join(OUTPUTS)}).")
    convert_parser.add_argument("source", metavar="IN")
    convert_parser.add_argument("target", metavar="OUT")
    convert_parser.add_argument("--dtype", choices=("float32", "float64"),
                                help="dtype of a model read from .onnx or .net")
    convert_parser.add_argument("--prefix", help="C identifier for NAME_predict in a .c output")
    convert_parser.add_argument("--opset", type=int, help="ONNX opset of a .onnx output (default 17)")
    args = parser.parse_args(argv)
    try:
        convert(args.source, args.target, dtype=args.dtype, prefix=args.prefix, opset=args.opset)
    except ImportError as error:
        print(f"python -m swiftmlp convert: {error} (pip install onnx)", file=sys.stderr)
        return 1
    except (ValueError, OSError) as error:
        print(f"python -m swiftmlp convert: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # what onnx raises for a file that is not a model (DecodeError...)
        print(f"python -m swiftmlp convert: {source_error(args.source, error)}", file=sys.stderr)
        return 1
    print(f"{args.source} -> {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
