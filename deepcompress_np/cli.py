"""The command line: ``python -m deepcompress_np <command>`` or ``deepcompress <command>``.

Each command is a small function that parses nothing itself and calls the
library; ``main`` builds the argument parser and turns the library's
``ValueError``/``TypeError``/``FileNotFoundError`` into a one-line message and
exit status 2 instead of a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO_DATA = Path(__file__).resolve().parent.parent / "data"
ARCH_CHOICES = ("lenet300", "lenet5")


class CommandError(Exception):
    """A problem with the command line the user typed (exit status 2)."""


def _pretrained_path(arch):
    return REPO_DATA / f"{arch}.npz"


def _check_out(path, force):
    """Refuse to overwrite an existing file unless --force was given."""
    path = Path(path)
    if path.exists() and not force:
        raise CommandError(f"{path} already exists; choose another --out or pass --force to overwrite it")
    return path


def _print_json(obj):
    print(json.dumps(obj, indent=2, sort_keys=True, default=_json_default))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# ----------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------

def cmd_train(args):
    from deepcompress_np.models import save_model
    from deepcompress_np.recipes import train_reference

    out = _check_out(args.out, args.force)
    model, metadata = train_reference(args.model, seed=args.seed, epochs=args.epochs, data_dir=args.data_dir,
                                      progress_bar=True, verbose=True)
    metadata["command"] = " ".join(["python -m deepcompress_np"] + sys.argv[1:])
    save_model(out, model, metadata=metadata)
    print(f"test error {100 * metadata['test_error']:.2f}% on 10,000 test images; "
          f"trained in {metadata['train_seconds']:.0f} s; saved to {out}")
    return 0


def _load_any(path):
    """A dense model from a .npz file (compressed files are handled by the pipeline module)."""
    from deepcompress_np.models import load_model

    path = Path(path)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    return load_model(path)


def cmd_evaluate(args):
    from deepcompress_np.data import load_mnist
    from deepcompress_np.train import evaluate

    model = _load_any(args.path)
    X, y = load_mnist("test", data_dir=args.data_dir)
    error = evaluate(model, X, y)
    result = {"path": str(args.path), "arch": model.arch, "test_error": error, "n_test": int(len(y)),
              "n_errors": int(round(error * len(y)))}
    if args.json:
        _print_json(result)
    else:
        print(f"{args.path}: {model.arch}, test error {100 * error:.2f}% "
              f"({result['n_errors']} of {len(y)} test images)")
    return 0


def cmd_bench(args):
    from deepcompress_np.bench import run_all

    results = run_all(quick=args.quick, torch=not args.no_torch, verbose=not args.json)
    if args.json:
        _print_json(results)
    return 0


def cmd_demo(args):
    from deepcompress_np.data import load_mnist
    from deepcompress_np.models import load_model
    from deepcompress_np.train import evaluate

    X, y = load_mnist("test", data_dir=args.data_dir)
    for arch in ARCH_CHOICES:
        model = load_model(_pretrained_path(arch))
        print(f"{arch}: {model.n_params():,} parameters, test error {100 * evaluate(model, X, y):.2f}%")
    return 0


# ----------------------------------------------------------------------------
# Parser
# ----------------------------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(
        prog="deepcompress",
        description="Deep Compression (Han, Mao and Dally, ICLR 2016) from scratch in NumPy.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    def add(name, func, help):
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        p.add_argument("--data-dir", default=None, help="folder holding the MNIST files (default: search)")
        return p

    p = add("train", cmd_train, "train a reference net from scratch on MNIST")
    p.add_argument("--model", choices=ARCH_CHOICES, required=True)
    p.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="where to save the weights (.npz)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")

    p = add("evaluate", cmd_evaluate, "measure the test error of a saved model on all 10,000 test images")
    p.add_argument("path", help="a model (.npz)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = add("bench", cmd_bench, "print speed figures (training epoch, inference, Huffman, k-means)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quick", action="store_true", help="fewer repeats and a partial epoch")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison even if torch is installed")

    add("demo", cmd_demo, "the main job on the bundled data")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CommandError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
