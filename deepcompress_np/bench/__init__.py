"""Benchmarks: ``python -m deepcompress_np bench`` prints the figures.

Each module here measures one thing and exposes ``run(...) -> dict`` of figures;
nothing here is a test and nothing asserts on time. ``bench`` runs training,
Huffman coding and k-means; ``bench --inference`` runs ``inference.py`` (the
paper's fc layers, dense against sparse against compressed, Table 8) and
``bench --scale`` runs ``scale.py`` (a VGG-16-sized model through the whole
pipeline and the file).
"""

from __future__ import annotations

import importlib


def _print_training(results):
    for arch, r in results.items():
        line = (f"{arch:9s} training epoch (60,000 images, batch 64): {r['epoch_seconds']:6.2f} s   "
                f"inference: {r['inference_images_per_second']:9,.0f} images/s")
        print(line)
        if "torch_epoch_seconds" in r:
            print(f"{'':9s} PyTorch {r['torch_version']} CPU ({r['torch_threads']} threads): "
                  f"{r['torch_epoch_seconds']:6.2f} s   inference: {r['torch_inference_images_per_second']:9,.0f} "
                  f"images/s   -> ours / PyTorch = {r['epoch_ratio_vs_torch']:.2f}x time")


def _print_dict(title, results):
    print(title)
    for key, value in results.items():
        print(f"  {key:32s} {value:,.4g}" if isinstance(value, float) else f"  {key:32s} {value}")


def run_all(quick=False, torch=True, verbose=True):
    """Run every benchmark; print a short report if ``verbose``; return all figures as a dict."""
    results = {}
    training = importlib.import_module("deepcompress_np.bench.training")
    results["training"] = training.run(quick=quick, torch=torch)
    if verbose:
        _print_training(results["training"])
    for name, title in (("huffman", "Huffman coding, 1,000,000 symbols over 64 (ours vs dahuffman)"),
                        ("kmeans", "k-means, 235,200 weights, k = 64 (ours vs scikit-learn)")):
        try:
            module = importlib.import_module(f"deepcompress_np.bench.{name}")
        except ImportError:
            continue
        results[name] = module.run(repeats=1 if quick else 3)
        if verbose:
            _print_dict(title, results[name])
    return results


def run_selected(inference=False, scale=False, quick=False, verbose=True):
    """Run the inference (``bench --inference``) and/or scale (``bench --scale``) benchmark.

    Prints the report if ``verbose``; returns ``{"inference": ..., "scale": ...}`` with the figures of those run.
    """
    results = {}
    if inference:
        module = importlib.import_module("deepcompress_np.bench.inference")
        results["inference"] = module.run(quick=quick)
        if verbose:
            module.print_report(results["inference"])
    if scale:
        module = importlib.import_module("deepcompress_np.bench.scale")
        results["scale"] = module.run(quick=quick)
        if verbose:
            module.print_report(results["scale"])
    return results
