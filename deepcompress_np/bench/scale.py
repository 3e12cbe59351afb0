"""Benchmark: does the pipeline scale to VGG-16? (paper §5.3, Table 5)

The LeNets of the tutorials have a few hundred thousand weights; VGG-16 has
138 million (553 MB as float32). This benchmark builds a VGG-16-sized model
with synthetic weights (Glorot random, no training: sizes, not accuracy, are
the point), and sends it through the same functions and the same file format
as the LeNets, timing every stage and recording its peak memory:

1. **build**: the model from its architecture description;
2. **prune**: ``prune.prune_model`` to the kept fractions of the paper's
   Table 5 (conv1_1 58% ... fc6 4%, fc7 4%, fc8 23%);
3. **quantize**: ``quantize.quantize_model_params``, 8-bit cluster indices
   for conv layers and 5-bit for fc layers (Table 5);
4. **store**: the stored form of every layer, relative indices of 5 bits
   (Table 5's "Index bits (P+Q)");
5. **write**: Huffman-code and write the file;
6. **load**: read, check and decode the file;
7. **run**: predict one 224 x 224 image from the compressed form.

Targets from the project's issue 13: compress (stages 2-5) in at most 60 s,
load in at most 20 s, peak memory (stages 2-7, the model's weights included)
at most twice the dense float32 size, on 2 cores. Each stage reports its wall
time and the CPU time of the process (all threads), which a busy machine does
not inflate. Peak memory is measured two ways: ``tracemalloc`` (every NumPy
and Python allocation, per stage; it starts when the benchmark starts, so it
includes the model) and the process's maximum resident set size
(``resource.getrusage``; it also counts the interpreter and the libraries,
building the model, and everything the process did before).
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

#: VGG-16's layers (Simonyan & Zisserman 2014, configuration D) with the paper's Table 5 kept fractions:
#: (name, out channels or features, kept fraction). Every conv is 3x3, stride 1, padding 1; "pool" is 2x2/2.
VGG16_LAYERS = (
    ("conv1_1", 64, 0.58), ("conv1_2", 64, 0.22), "pool",
    ("conv2_1", 128, 0.34), ("conv2_2", 128, 0.36), "pool",
    ("conv3_1", 256, 0.53), ("conv3_2", 256, 0.24), ("conv3_3", 256, 0.42), "pool",
    ("conv4_1", 512, 0.32), ("conv4_2", 512, 0.27), ("conv4_3", 512, 0.34), "pool",
    ("conv5_1", 512, 0.35), ("conv5_2", 512, 0.29), ("conv5_3", 512, 0.36), "pool",
    ("fc6", 4096, 0.04), ("fc7", 4096, 0.04), ("fc8", 1000, 0.23),
)
CONV_BITS, FC_BITS, INDEX_BITS = 8, 5, 5  # Table 5: weight bits (P+Q) 8 conv / 5 fc, index bits (P+Q) 5

TARGET_COMPRESS_S, TARGET_LOAD_S, TARGET_MEMORY_FACTOR = 60.0, 20.0, 2.0


def vgg16_spec(image_size=224, width_divisor=1):
    """VGG-16 as an architecture description (``architecture.py``); smaller with ``width_divisor`` > 1.

    Returns
    -------
    spec : dict
    keep_fraction : dict[layer name, float]
        Table 5's kept fractions.
    bits : dict["<layer>.W", int]
        8 for conv layers, 5 for fc layers.
    """
    from deepcompress_np.architecture import FORMAT, VERSION

    layers, keep, bits = [], {}, {}
    channels, size, n_pool, first_fc = 3, image_size, 0, True
    for entry in VGG16_LAYERS:
        if entry == "pool":
            n_pool += 1
            layers.append({"kind": "MaxPool2D", "name": f"pool{n_pool}", "kernel_size": 2, "stride": 2})
            size //= 2
            continue
        name, width, fraction = entry
        width = max(1, width // width_divisor) if name != "fc8" else max(1, 1000 // width_divisor)
        if name.startswith("conv"):
            layers.append({"kind": "Conv2D", "name": name, "in_channels": channels, "out_channels": width,
                           "kernel_size": 3, "stride": 1, "padding": 1})
            channels = width
            bits[f"{name}.W"] = CONV_BITS
        else:
            if first_fc:
                layers.append({"kind": "Flatten", "name": "flatten"})
                channels, first_fc = channels * size * size, False
            layers.append({"kind": "Linear", "name": name, "in_features": channels, "out_features": width})
            channels = width
            bits[f"{name}.W"] = FC_BITS
        keep[name] = fraction
        if name != "fc8":
            layers.append({"kind": "ReLU", "name": f"relu_{name}"})
    spec = {"format": FORMAT, "version": VERSION, "input_shape": [3, image_size, image_size], "layers": layers}
    return spec, keep, bits


class _Stages:
    """Times and peak memory of named stages (tracemalloc must be running)."""

    def __init__(self, verbose):
        self.records, self.verbose = [], verbose

    def run(self, name, function):
        gc.collect()
        tracemalloc.reset_peak()
        start, cpu_start = time.perf_counter(), time.process_time()
        result = function()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        current, peak = tracemalloc.get_traced_memory()
        self.records.append({"stage": name, "seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak / 1e6,
                             "after_mb": current / 1e6})
        if self.verbose:
            print(f"  {name:9s} {seconds:7.1f} s (CPU {cpu:6.1f} s)   peak {peak / 1e6:7.0f} MB   held after "
                  f"{current / 1e6:7.0f} MB", flush=True)
        return result


def _max_rss_mb():
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run(quick=False, seed=0, verbose=False, folder=None):
    """Compress, write, load and run a VGG-16-sized model; return the figures as a dict.

    Parameters
    ----------
    quick : bool
        A VGG-16 with 8x narrower layers on 32 x 32 images: a smoke run for the tests.
    seed : int
        Seed of the synthetic weights and of the image.
    verbose : bool
        Print each stage as it ends.
    folder : path, optional
        Where to write the file (default: a temporary folder, removed afterwards).
    """
    from deepcompress_np.architecture import build
    from deepcompress_np.compressed import CompressedModel
    from deepcompress_np.prune import prune_model
    from deepcompress_np.quantize import quantize_model_params

    image_size, divisor = (32, 8) if quick else (224, 1)
    spec, keep_fraction, bits = vgg16_spec(image_size, divisor)
    started_tracing = not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start()
    stages = _Stages(verbose)
    workdir = None
    if folder is None:
        workdir = tempfile.TemporaryDirectory()
        folder = workdir.name
    path = Path(folder) / "vgg16.dcnp"
    try:
        model = stages.run("build", lambda: build(spec, seed=seed, arch="vgg16"))
        n_weights = sum(layer.params["W"].size for layer in model.weight_layers())
        n_params = model.n_params()
        masks = stages.run("prune", lambda: prune_model(model, keep_fraction=keep_fraction))
        quantized = stages.run("quantize", lambda: quantize_model_params(model.params(), masks, bits=bits, seed=seed))
        del masks
        params = model.params()
        for key, q in quantized.items():  # the dense model now holds the shared weights: the reference below
            params[key][q.mask] = q.codebook[q.index]
        del params, q  # the view would keep the dense weights alive after `del model`
        names = [layer.name for layer in model.weight_layers()]
        compressed = stages.run("store", lambda: CompressedModel.from_quantized(
            model, quantized, index_bits={name: INDEX_BITS for name in names}))
        del quantized
        file_bytes = stages.run("write", lambda: compressed.save(path))
        del compressed
        image = np.random.default_rng(seed).random((1, 3, image_size, image_size), dtype=np.float32)
        reference = model.forward(image)  # the pruned and quantized dense model: what the file must reproduce
        del model
        loaded = stages.run("load", lambda: CompressedModel.load(path))
        logits = stages.run("run", lambda: loaded.forward(image))
        agree = bool(np.allclose(logits, reference, rtol=1e-3, atol=1e-3 * float(np.max(np.abs(reference)))))
    finally:
        if started_tracing:
            tracemalloc.stop()
        if workdir is not None:
            workdir.cleanup()
    seconds = {r["stage"]: r["seconds"] for r in stages.records}
    dense_mb = 4 * n_params / 1e6
    # the pipeline's peak: prune to run, with the model's dense weights held throughout compression
    peak_mb = max(r["peak_mb"] for r in stages.records if r["stage"] != "build")
    cpu = {r["stage"]: r["cpu_seconds"] for r in stages.records}
    return {
        "compress_cpu_seconds": cpu["prune"] + cpu["quantize"] + cpu["store"] + cpu["write"],
        "load_cpu_seconds": cpu["load"],
        "quick": quick, "image_size": image_size, "n_params": int(n_params), "n_weights": int(n_weights),
        "dense_float32_mb": dense_mb, "file_bytes": int(file_bytes), "stages": stages.records,
        "compress_seconds": seconds["prune"] + seconds["quantize"] + seconds["store"] + seconds["write"],
        "load_seconds": seconds["load"], "run_seconds": seconds["run"],
        "peak_traced_mb": peak_mb, "peak_over_dense": peak_mb / dense_mb, "max_rss_mb": _max_rss_mb(),
        "build_peak_mb": stages.records[0]["peak_mb"],
        "compressed_agrees_with_dense": agree, "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "targets": {"compress_seconds": TARGET_COMPRESS_S, "load_seconds": TARGET_LOAD_S,
                    "peak_over_dense": TARGET_MEMORY_FACTOR},
    }


def print_report(results):
    """The stages and the targets, as text."""
    r = results
    print(f"VGG-16{' (QUICK: 8x narrower, 32x32 images)' if r['quick'] else ''}: {r['n_params']:,} parameters "
          f"= {r['dense_float32_mb']:,.0f} MB as float32; file {r['file_bytes']:,} bytes "
          f"({1e6 * r['dense_float32_mb'] / r['file_bytes']:.0f}x smaller)")
    print(f"{'stage':9s} {'seconds':>8s} {'CPU s':>7s} {'peak MB':>9s} {'held after':>11s}")
    for s in r["stages"]:
        print(f"{s['stage']:9s} {s['seconds']:8.1f} {s['cpu_seconds']:7.1f} {s['peak_mb']:9.0f} {s['after_mb']:11.0f}")
    if r["load_average"] and r["load_average"][0] > r["cores"]:
        print(f"WARNING: the machine is busy (load {r['load_average'][0]:.1f} on {r['cores']} cores): wall times "
              f"include waiting for a core; the CPU seconds (this process, all its threads) do not")
    t = r["targets"]
    print(f"compress (prune + quantize + store + write) {r['compress_seconds']:.1f} s, CPU "
          f"{r['compress_cpu_seconds']:.1f} s (target <= {t['compress_seconds']:.0f} s); load {r['load_seconds']:.1f} s, "
          f"CPU {r['load_cpu_seconds']:.1f} s (target <= {t['load_seconds']:.0f} s); one image {r['run_seconds']:.1f} s")
    rss = f"{r['max_rss_mb']:,.0f} MB" if r["max_rss_mb"] is not None else "unknown"
    print(f"peak traced memory from prune to run {r['peak_traced_mb']:,.0f} MB = {r['peak_over_dense']:.2f}x the dense "
          f"model (target <= {t['peak_over_dense']:.1f}x); building the synthetic model peaks at "
          f"{r['build_peak_mb']:,.0f} MB; process max RSS {rss}; compressed logits agree with the dense model: "
          f"{r['compressed_agrees_with_dense']}")
