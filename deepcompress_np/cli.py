"""The command line: ``python -m deepcompress_np <command>`` or ``deepcompress <command>``.

Each command is a small function that calls the library; ``main`` builds the
argument parser and turns the library's ``ValueError``, ``TypeError`` and
``FileNotFoundError`` into a one-line message and exit status 2 instead of a
traceback (set ``DEEPCOMPRESS_DEBUG=1`` to see the traceback).

Commands never overwrite a file the user already has unless told to with
``--force``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np

ARCH_CHOICES = ("lenet300", "lenet5")


class CommandError(Exception):
    """A problem with the command line the user typed (exit status 2)."""


def _pretrained_path(arch):
    """The bundled weights of ``arch``, shipped inside the package (``deepcompress_np/pretrained/``)."""
    from deepcompress_np.models import PRETRAINED_DIR

    path = PRETRAINED_DIR / f"{arch}.npz"
    if not path.is_file():
        raise CommandError(f"no bundled weights at {path}; pass --weights PATH or train them with "
                           f"'python -m deepcompress_np train --model {arch} --out {arch}.npz'")
    return path


def _model_path(name):
    """A model file, or the name of a bundled net ("lenet300", "lenet5") when no such file exists."""
    if name in ARCH_CHOICES and not Path(name).exists():
        return _pretrained_path(name)
    return Path(name)


def _check_out(path, force):
    """Refuse to overwrite an existing file unless --force was given."""
    path = Path(path)
    if path.exists() and not force:
        raise CommandError(f"{path} already exists; choose another --out or pass --force to overwrite it")
    return path


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _print_json(obj):
    print(json.dumps(obj, indent=2, sort_keys=True, default=_json_default))


def _load_any(path):
    """A model from a ``.npz`` file, or a CompressedModel from a compressed file (told apart by the magic number)."""
    from deepcompress_np.compressed import CompressedModel
    from deepcompress_np.fileformat import MAGIC
    from deepcompress_np.models import load_model

    path = Path(path)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    with open(path, "rb") as f:
        head = f.read(len(MAGIC))
    return CompressedModel.load(path) if head == MAGIC else load_model(path)


def _spec(model):
    """The architecture description of a model (``model.architecture()``) or a compressed model (its attribute)."""
    spec = model.architecture
    return spec if isinstance(spec, dict) else spec()


def _input_shape_and_classes(model):
    """One example's shape and the number of classes (the length of the last layer's output)."""
    from deepcompress_np.architecture import validate

    spec = _spec(model)
    out = validate(spec)[-1]
    return tuple(spec["input_shape"]), (out[0] if len(out) == 1 else None)


def _model_name(model, path):
    return model.arch or Path(path).stem


def _data(model, args, need_train=True):
    """The ``train``, ``val`` and ``test`` pairs for ``model``: from ``--data`` or, for a 28x28 model, MNIST.

    Returns a dict with keys ``train``, ``val``, ``test`` (``val`` may be None:
    the pipeline then holds out a sixth of ``train``) and ``source``.
    """
    from deepcompress_np.data import load_mnist
    from deepcompress_np.datasets import fit_input_shape, load_data_file
    from deepcompress_np.pipeline import MNIST_SHAPES

    shape, n_classes = _input_shape_and_classes(model)
    if getattr(args, "data", None) is None:
        if shape not in MNIST_SHAPES:
            raise CommandError(f"the model takes examples of shape {shape}, not MNIST's 28x28 images: pass your "
                               f"data with --data DATA.npz (x_train, y_train, x_test, y_test as in Keras' mnist.npz)")
        splits = {"train": load_mnist("fit", data_dir=args.data_dir) if need_train else None,
                  "val": load_mnist("val", data_dir=args.data_dir) if need_train else None,
                  "test": load_mnist("test", data_dir=args.data_dir), "source": "MNIST"}
    else:
        splits = {**load_data_file(args.data, n_classes=n_classes), "source": str(args.data)}
    for split in ("train", "val", "test"):
        if splits[split] is not None:
            X, note = fit_input_shape(splits[split][0], shape, what=f"x_{split}")
            if note and not getattr(args, "json", False):
                print(f"note: {note}")
            splits[split] = (X, splits[split][1])
    return splits


def _recipe(model, args):
    """The compression recipe the command line asks for.

    ``--recipe R.json`` (a :class:`CompressionRecipe` as JSON), or ``--keep``
    and ``--bits`` (one value for every weight layer, the other knobs at their
    defaults), or else the bundled recipe of a LeNet; then the
    ``--prune-epochs``, ``--quant-epochs``, ``--prune-lr`` and ``--quant-lr``
    overrides.
    """
    from deepcompress_np.recipes import COMPRESSION, CompressionRecipe

    recipe_file = getattr(args, "recipe", None)
    scalars = {name: getattr(args, arg) for name, arg in (("keep_fraction", "keep"), ("bits", "bits"))
               if getattr(args, arg, None) is not None}
    if recipe_file is not None:
        if scalars:
            raise CommandError("give either --recipe or --keep/--bits, not both (put every value in the recipe file)")
        path = Path(recipe_file)
        if not path.is_file():
            raise CommandError(f"no recipe file at {str(path)!r}")
        try:
            recipe = CompressionRecipe.from_json(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not a text file; a recipe is JSON such as CompressionRecipe().to_json() "
                               f"writes") from None
        except (TypeError, ValueError) as e:
            raise CommandError(f"{path}: {e}") from None
    elif model.arch in COMPRESSION and len(scalars) < 2:
        recipe = dataclasses.replace(COMPRESSION[model.arch], **scalars)  # e.g. the bundled recipe with --bits 4
    elif scalars:
        recipe = CompressionRecipe(**scalars)
    else:
        names = [layer.name for layer in model.weight_layers()]
        raise CommandError(f"only {sorted(COMPRESSION)} have a bundled recipe: pass --keep F --bits B (one value "
                           f"for every weight layer) or --recipe R.json (values per layer: this model's weight "
                           f"layers are {names})")
    try:
        return dataclasses.replace(recipe, **_schedule_overrides(args)).for_model(model)
    except ValueError as e:
        raise CommandError(f"{recipe_file or 'the recipe'}: {e}") from None


def _schedule_overrides(args):
    """The retraining settings given on the command line (--prune-epochs, --quant-epochs, --prune-lr, --quant-lr)."""
    return {name: getattr(args, name) for name in ("prune_epochs", "quant_epochs", "prune_lr", "quant_lr")
            if getattr(args, name, None) is not None}


def _load_weights(args):
    """The model of ``--weights`` (any saved model) or the bundled weights of ``--model``."""
    from deepcompress_np.models import load_model

    if args.weights is None and args.model is None:
        raise CommandError("say which model: --weights MODEL.npz (any model saved with save_model), or "
                           "--model lenet300|lenet5 for the bundled weights")
    weights = args.weights or _pretrained_path(args.model)
    model = load_model(weights)
    if args.model is not None and model.arch != args.model:
        raise CommandError(f"{weights} holds a {model.arch or 'custom'} model, not {args.model}")
    return model, weights


def _budget_base(model, args):
    """With --budget: the recipe whose retraining schedule the search keeps (it chooses kept fractions and bits).

    ``--recipe R.json`` or the bundled recipe of a LeNet, else the defaults of
    :class:`CompressionRecipe`; then the --prune-epochs style overrides.
    """
    from deepcompress_np.recipes import COMPRESSION, CompressionRecipe

    if getattr(args, "keep", None) is not None or getattr(args, "bits", None) is not None:
        raise CommandError("--budget chooses the kept fractions and bits itself: drop --keep/--bits (a --recipe "
                           "file still sets the retraining schedule)")
    if getattr(args, "recipe", None) is not None or model.arch in COMPRESSION:
        return _recipe(model, args)
    return dataclasses.replace(CompressionRecipe(), **_schedule_overrides(args))


def _search(model, base, args, train=None, val=None, test=None):
    """``--budget PP``: the automatic recipe search (recipe_search.py), its candidates printed as it goes.

    ``base`` supplies the final run's retraining schedule (with any --prune-epochs style overrides).
    Returns the RecipeSearch; its ``result`` is the final, verified compression.
    """
    from deepcompress_np.recipe_search import search_recipe

    if not 0 < args.budget < 100:
        raise CommandError(f"--budget is in percentage points of validation error, above 0 and below 100 "
                           f"(e.g. --budget 0.5), got {args.budget:g}")
    options = {"search_epochs": args.search_epochs, "search_examples": args.search_examples,
               "steps": args.search_steps, "calibration_rounds": args.calibration_rounds}
    print(f"searching for the smallest file within {args.budget:g} points of the reference's validation error")
    search = search_recipe(model, train, val, args.budget / 100, test=test, base=base, seed=args.seed,
                           data_dir=args.data_dir, verbose=True, progress_bar=True,
                           **{k: v for k, v in options.items() if v is not None})
    chosen = search.candidates[search.chosen]
    print(f"chosen after {search.seconds:.0f} s: kept {chosen['keep_fraction']}, bits {chosen['bits']}, "
          f"{chosen['file_bytes']:,} B ({chosen['ratio']:.1f}x), val error {100 * chosen['val_error']:.2f}% "
          f"(limit {100 * search.val_limit:.2f}%)")
    return search


def _search_figure(report, args):
    """Save the search's figure (--figure, or next to --report) when --budget was used; returns its path or None."""
    from deepcompress_np.figures import save_recipe_search_figure

    if "search" not in report:
        return None
    path = args.figure or (Path(args.report).with_suffix(".png") if args.report else None)
    return None if path is None else save_recipe_search_figure(report["search"], path)


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


def cmd_evaluate(args):
    from deepcompress_np.compressed import CompressedModel
    from deepcompress_np.train import evaluate

    args.path = _model_path(args.path)
    model = _load_any(args.path)
    X, y = _data(model, args, need_train=False)["test"]
    error = evaluate(model, X, y)
    name = _model_name(model, args.path)
    result = {"path": str(args.path), "arch": model.arch, "test_error": error, "n_test": int(len(y)),
              "n_errors": int(round(error * len(y))), "file_bytes": Path(args.path).stat().st_size,
              "compressed": isinstance(model, CompressedModel), "data": str(args.data or "MNIST")}
    if args.json:
        _print_json(result)
    else:
        kind = "compressed file, decoded and run from its sparse form" if result["compressed"] else "dense model"
        print(f"{args.path} ({kind}): {name}, test error {100 * error:.2f}% "
              f"({result['n_errors']} of {len(y)} test examples of {result['data']})")
    return 0


def cmd_prune(args):
    from deepcompress_np.models import save_model
    from deepcompress_np.pipeline import copy_model, prune_stage
    from deepcompress_np.prune import dead_neurons, kept_fraction, prune_model
    from deepcompress_np.train import evaluate

    out = _check_out(args.out, args.force)
    model, _ = _load_weights(args)
    recipe = _recipe(model, args)
    data = _data(model, args)
    X, y = data["train"]
    X_test, y_test = data["test"]
    reference = evaluate(model, X_test, y_test)
    one_shot = copy_model(model)  # the same kept fractions in one cut, without retraining
    names = [layer.name for layer in model.weight_layers()]
    prune_model(one_shot, keep_fraction=recipe.per_layer("keep_fraction", names))
    before = evaluate(one_shot, X_test, y_test)
    masks = prune_stage(model, recipe, X, y, seed=args.seed, verbose=not args.json, progress_bar=not args.json)
    after = evaluate(model, X_test, y_test)
    dead = dead_neurons(model, masks)
    layers = []
    for layer in model.weight_layers():
        mask = masks[f"{layer.name}.W"]
        layers.append({"layer": layer.name, "n_weights": int(mask.size), "kept": int(mask.sum()),
                       "kept_fraction": float(mask.mean()), "dead_neurons": dead[layer.name]})
    result = {"arch": model.arch, "test_error_reference": reference, "test_error_before_retraining": before,
              "test_error": after, "kept_fraction": kept_fraction(masks), "layers": layers,
              "recipe": recipe.to_dict(), "data": data["source"]}
    save_model(out, model, masks=masks, metadata={"stage": "pruned", **result})
    if args.json:
        _print_json(result)
        return 0
    width = max(6, *(len(r["layer"]) for r in layers))
    print(f"\n{'layer':{width}s} {'#weights':>9s} {'kept':>8s}  dead neurons (no incoming / no outgoing)")
    for r in layers:
        d = r["dead_neurons"]
        print(f"{r['layer']:{width}s} {r['n_weights']:>9,} {100 * r['kept_fraction']:7.2f}%  "
              f"{d['no_incoming']} of {d['outputs']} outputs / {d['no_outgoing']} of {d['inputs']} inputs")
    print(f"{'total':{width}s} {sum(r['n_weights'] for r in layers):>9,} {100 * result['kept_fraction']:7.2f}%")
    print(f"test error: reference {100 * reference:.2f}%, pruned without retraining {100 * before:.2f}%, "
          f"after retraining {100 * after:.2f}%; saved to {out}")
    return 0


def cmd_quantize(args):
    from deepcompress_np.models import load_model, save_model
    from deepcompress_np.pipeline import quantize_stage
    from deepcompress_np.train import evaluate

    out = _check_out(args.out, args.force)
    model = load_model(args.weights)
    masks = model.masks or {f"{l.name}.W": l.params["W"] != 0 for l in model.weight_layers()}
    names = [layer.name for layer in model.weight_layers()]
    recipe = dataclasses.replace(_recipe(model, args), init=args.init)
    bits = recipe.per_layer("bits", names)  # --bits, else the paper's bits of a LeNet
    data = _data(model, args)
    X, y = data["train"]
    X_test, y_test = data["test"]
    errors = {"pruned": evaluate(model, X_test, y_test)}
    quantized = quantize_stage(model, masks, recipe, X, y, bits=bits, seed=args.seed, verbose=not args.json,
                               progress_bar=not args.json,
                               after_kmeans=lambda m: errors.__setitem__("kmeans", evaluate(m, X_test, y_test)))
    errors["retrained"] = evaluate(model, X_test, y_test)
    layers = [{"layer": n, "bits": bits[n], "codebook_size": quantized[f"{n}.W"].k,
               "distinct_values": quantized[f"{n}.W"].n_distinct(),
               "kept": quantized[f"{n}.W"].n_kept} for n in names]
    result = {"arch": model.arch, "init": args.init, "test_error_pruned": errors["pruned"],
              "test_error_before_retraining": errors["kmeans"], "test_error": errors["retrained"], "layers": layers,
              "data": data["source"]}
    save_model(out, model, masks=masks, metadata={"stage": "quantized", **result})
    if args.json:
        _print_json(result)
        return 0
    width = max(6, *(len(n) for n in names))
    print(f"\n{'layer':{width}s} {'bits':>4s} {'distinct non-zero values':>25s} {'kept weights':>13s}")
    for r in layers:
        print(f"{r['layer']:{width}s} {r['bits']:>4d} {r['distinct_values']:>25d} {r['kept']:>13,}")
    print(f"test error: pruned {100 * errors['pruned']:.2f}%, after k-means ({args.init} init) "
          f"{100 * errors['kmeans']:.2f}%, after centroid retraining {100 * errors['retrained']:.2f}%; saved to {out}")
    return 0


def _compress_and_report(model, weights, args, out):
    """Run the pipeline on ``model``, write the file, print Tables 2 and 1; returns the JSON-able report."""
    from deepcompress_np.compressed import CompressedModel
    from deepcompress_np.models import atomic_write
    from deepcompress_np.pipeline import compress
    from deepcompress_np.report import format_layer_table, format_table1, layer_table, table1_row

    budget = getattr(args, "budget", None)
    recipe = _recipe(model, args) if budget is None else _budget_base(model, args)  # with --budget: the schedule
    data = _data(model, args)
    search = None
    if budget is None:
        result = compress(model, recipe, train=data["train"], val=data["val"], test=data["test"], seed=args.seed,
                          verbose=True, progress_bar=True)
    else:
        search = _search(model, recipe, args, data["train"], data["val"], data["test"])
        result = search.result
    atomic_write(out, lambda f: f.write(result.data))
    file_bytes = Path(out).stat().st_size
    stored = CompressedModel.load(out)  # every figure below comes from the file on disk
    rows = layer_table(stored)
    row = table1_row(stored, file_bytes, result.reference_error, result.test_error)
    row["arch"] = row["arch"] or Path(weights).stem
    print(f"\nTable 2/3 ({row['arch']}), measured on {out}:\n{format_layer_table(rows)}\n")
    print(f"Table 1:\n{format_table1(row)}\n")
    report = {**row, "layers": rows, "stages": result.stages, "recipe": result.recipe.to_dict(), "file": str(out),
              "weights": str(weights), "data": data["source"]}
    if search is not None:
        report["search"] = search.to_dict()
    return report


def cmd_compress(args):
    out = _check_out(args.out, args.force)
    if args.report:
        _check_out(args.report, args.force)
    if args.figure and args.budget is None:
        raise CommandError("--figure draws the recipe search: it needs --budget")
    if args.budget is not None and (args.figure or args.report):
        _check_out(args.figure or Path(args.report).with_suffix(".png"), args.force)
    model, weights = _load_weights(args)
    report = _compress_and_report(model, weights, args, out)
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2, sort_keys=True, default=_json_default))
        print(f"report written to {args.report}")
    figure = _search_figure(report, args)
    if figure is not None:
        print(f"figure of the search written to {figure}")
    return 0


def _output_folder(path, force):
    """A folder for generated outputs: new, ours from an earlier run, or --force."""
    path = Path(path)
    marker = path / ".deepcompress-output"
    if path.exists() and any(path.iterdir()) and not marker.exists() and not force:
        raise CommandError(f"{path} exists and holds files this program did not write; "
                           f"choose another --out-dir or pass --force")
    path.mkdir(parents=True, exist_ok=True)
    marker.write_text("written by deepcompress_np; its files are overwritten by the next run\n")
    return path


def cmd_demo(args):
    from deepcompress_np.figures import save_demo_figures
    from deepcompress_np.models import load_model

    folder = _output_folder(args.out_dir, args.force)
    out = folder / "lenet300.dcnp"
    weights = _pretrained_path("lenet300")
    report = _compress_and_report(load_model(weights), weights, args, out)
    (folder / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True, default=_json_default))
    figures = save_demo_figures(out, folder)
    print(f"wrote {out} ({report['file_bytes']:,} bytes), report.json and {', '.join(p.name for p in figures)} "
          f"to {folder}/")
    return 0


def cmd_reproduce(args):
    from deepcompress_np.models import load_model, save_model
    from deepcompress_np.recipes import train_reference
    from deepcompress_np.report import format_table1

    folder = _output_folder(args.out_dir, args.force)
    rows = []
    for arch in ARCH_CHOICES:
        model, metadata = train_reference(arch, seed=args.seed, data_dir=args.data_dir, progress_bar=True)
        weights = folder / f"{arch}_reference.npz"
        save_model(weights, model, metadata=metadata)
        report = _compress_and_report(load_model(weights), weights, args, folder / f"{arch}.dcnp")
        (folder / f"{arch}_report.json").write_text(
            json.dumps(report, indent=2, sort_keys=True, default=_json_default))
        rows.append(report)
    print("Table 1, both nets trained from scratch and compressed:")
    for row in rows:
        print(format_table1(row))
    return 0


def cmd_bench(args):
    if args.inference or args.scale:
        from deepcompress_np.bench import run_selected

        results = run_selected(inference=args.inference, scale=args.scale, quick=args.quick, verbose=not args.json)
        if args.json:
            _print_json(results)
        return 0
    from deepcompress_np.bench import run_all

    results = run_all(quick=args.quick, torch=not args.no_torch, verbose=not args.json)
    if args.json:
        _print_json(results)
    return 0


def cmd_assignments(args):
    from deepcompress_np.assignments import write_student_notebooks

    written = write_student_notebooks(args.out, force=args.force)
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_grade(args):
    from deepcompress_np.assignments import format_scores, grade_submissions, write_scores_csv

    out = _check_out(args.out, args.force) if args.out else None
    try:
        rows = grade_submissions(args.submissions, source=args.source, timeout=args.timeout)
    except ImportError as e:  # nbclient missing: say which extra to install
        raise CommandError(str(e)) from e
    print(format_scores(rows))
    if out is not None:
        write_scores_csv(rows, out)
        print(f"wrote {out}")
    return 0


def cmd_download_mnist(args):
    from deepcompress_np.data import SPLITS, load_mnist, mnist_cache_dir

    for split in ("train", "test"):
        load_mnist(split, data_dir=args.data_dir, download=True)
    print(f"MNIST is ready ({', '.join(sorted(set(f for s in SPLITS.values() for f in s[:2])))}, MD5-checked); "
          f"downloaded files are in {mnist_cache_dir()}")
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

    def add(name, func, help, data=True):
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        if data:
            p.add_argument("--data-dir", default=None, help="folder holding the MNIST files (default: search)")
        return p

    def add_force(p, what="--out"):
        p.add_argument("--force", action="store_true", help=f"overwrite {what} if it exists")

    def add_model(p):
        p.add_argument("--model", choices=ARCH_CHOICES, default=None,
                       help="a bundled LeNet (its pretrained weights unless --weights is given)")
        p.add_argument("--weights", default=None, help="any model saved with save_model (.npz)")

    def add_data(p):
        p.add_argument("--data", default=None, metavar="DATA.npz",
                       help="your data: x_train, y_train, x_test, y_test (optionally x_val, y_val) as in Keras' "
                            "mnist.npz; uint8 images are scaled by /255 (default: MNIST, for 28x28 models)")

    def add_recipe(p):
        p.add_argument("--recipe", default=None, metavar="R.json",
                       help="a CompressionRecipe as JSON (recipe.to_json()), e.g. with per-layer values")
        p.add_argument("--keep", type=float, default=None, metavar="F",
                       help="fraction of every weight layer's weights to keep after pruning")
        p.add_argument("--bits", type=int, default=None, metavar="B",
                       help="bits per shared-weight index in every layer (2**B shared weights)")

    def add_epochs(p):
        p.add_argument("--prune-epochs", type=int, default=None, help="retraining epochs per pruning round")
        p.add_argument("--quant-epochs", type=int, default=None, help="epochs of centroid fine-tuning")
        p.add_argument("--prune-lr", type=float, default=None, help="learning rate of the retraining after pruning")
        p.add_argument("--quant-lr", type=float, default=None, help="learning rate of the centroid fine-tuning")

    p = add("train", cmd_train, "train a reference net from scratch on MNIST")
    p.add_argument("--model", choices=ARCH_CHOICES, required=True)
    p.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="where to save the weights (.npz)")
    add_force(p)

    p = add("evaluate", cmd_evaluate, "test error of a model (.npz) or a compressed file, on MNIST's 10,000 test "
                                      "images or the test split of --data")
    p.add_argument("path", help="a model (.npz), a compressed file (.dcnp), or lenet300 / lenet5 (the bundled nets)")
    add_data(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = add("prune", cmd_prune, "prune a trained net and retrain it (paper §2)")
    add_model(p)
    add_data(p)
    p.add_argument("--out", required=True, help="where to save the pruned model (.npz, with its masks)")
    p.add_argument("--keep", type=float, default=None, help="fraction of every layer's weights to keep "
                                                            "(default: the bundled recipe of a LeNet)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--prune-epochs", type=int, default=None, help="retraining epochs per pruning round")
    p.add_argument("--prune-lr", type=float, default=None, help="learning rate of the retraining")
    p.add_argument("--seed", type=int, default=0)
    add_force(p)

    p = add("quantize", cmd_quantize, "share weights by k-means and fine-tune the centroids (paper §3)")
    p.add_argument("--weights", required=True, help="a pruned model (.npz) written by the prune command")
    add_data(p)
    p.add_argument("--bits", type=int, default=None, help="bits per weight index (default: the paper's per layer "
                                                          "for a LeNet)")
    p.add_argument("--init", choices=("linear", "forgy", "density"), default="linear")
    p.add_argument("--out", required=True, help="where to save the quantized model (.npz)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quant-epochs", type=int, default=None, help="epochs of centroid fine-tuning")
    p.add_argument("--quant-lr", type=float, default=None, help="learning rate of the centroid fine-tuning")
    p.add_argument("--seed", type=int, default=0)
    add_force(p)

    p = add("compress", cmd_compress, "the whole pipeline: prune, quantize, Huffman-code, write the file")
    add_model(p)
    add_data(p)
    add_recipe(p)
    p.add_argument("--out", required=True, help="the compressed file to write")
    p.add_argument("--report", default=None, help="also write the report as JSON here")
    p.add_argument("--seed", type=int, default=0)
    add_epochs(p)
    p.add_argument("--budget", type=float, default=None, metavar="PP",
                   help="choose the recipe automatically: the smallest file whose validation error is at most PP "
                        "percentage points above the reference's (e.g. 0.5); --prune-epochs/--quant-epochs then "
                        "set the final run's schedule")
    p.add_argument("--figure", default=None, help="with --budget: where to draw the candidates (PNG; default: "
                                                  "the --report path with .png)")
    p.add_argument("--search-epochs", type=int, default=None, help="with --budget: retraining epochs per pruning "
                                                                   "round of each candidate (default 1)")
    p.add_argument("--search-examples", type=int, default=None, help="with --budget: retrain the candidates on a "
                                                                     "random subset of this many training examples")
    p.add_argument("--search-steps", type=int, default=None, help="with --budget: bisection steps (default 4)")
    p.add_argument("--calibration-rounds", type=int, default=None,
                   help="with --budget: extra full runs on candidates whose estimate, corrected by the last full "
                        "run's gap, is within the budget (default 2)")
    add_force(p, "--out, --report and --figure")

    p = add("demo", cmd_demo, "the main job: compress the bundled LeNet-300-100 and write the file and figures")
    p.add_argument("--out-dir", default="deepcompress_demo", help="output folder (default: ./deepcompress_demo)")
    p.add_argument("--seed", type=int, default=0)
    add_epochs(p)
    add_force(p, "a folder holding other files")

    p = add("reproduce", cmd_reproduce, "train both nets from scratch, compress them, print Table 1")
    p.add_argument("--out-dir", default="deepcompress_reproduce", help="output folder")
    p.add_argument("--seed", type=int, default=0)
    add_epochs(p)
    add_force(p, "a folder holding other files")

    p = add("bench", cmd_bench, "speed figures: training epoch, inference, Huffman coding, k-means", data=False)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quick", action="store_true", help="fewer repeats and a partial epoch")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison even if torch is installed")
    p.add_argument("--inference", action="store_true",
                   help="only the inference benchmark: the paper's fc layers (Table 8) dense, CSR, compressed, scipy")
    p.add_argument("--scale", action="store_true",
                   help="only the scale benchmark: compress, write, load and run a VGG-16-sized model")

    p = add("assignments", cmd_assignments, "write the student versions of the tutorial notebooks", data=False)
    p.add_argument("--out", required=True, help="folder for the student notebooks")
    add_force(p, "notebooks already in --out")

    p = add("grade", cmd_grade, "run submitted notebooks with the instructor's checks and hidden tests; "
                                "print a score per exercise (needs nbclient: the dev extra)", data=False)
    p.add_argument("submissions", help="folder of submitted notebooks, one sub-folder per student")
    p.add_argument("--source", default=None, help="folder of the instructor notebooks (default: tutorials/ "
                                                   "of this source checkout)")
    p.add_argument("--out", default=None, help="also write the scores as CSV here")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    add_force(p)

    add("download-mnist", cmd_download_mnist, "download the four MNIST files (MD5-checked) into the user cache")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CommandError, ValueError, TypeError, FileNotFoundError) as e:
        if os.environ.get("DEEPCOMPRESS_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
