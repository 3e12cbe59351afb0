"""Benchmark: inference time of the paper's fully connected layers, dense against sparse (paper §6.3, Table 8).

The paper times fc6, fc7 and fc8 of AlexNet and VGG-16 at batch size 1 (and
64) on a Core i7-5930K: MKL's dense GEMV against MKL's CSRMV on the pruned
layer (Appendix A, Table 8). It could not time the compressed form (§8). This
benchmark builds the same six layers with synthetic weights (normal random,
no training: only the shapes and the sparsity matter for time), pruned to the
paper's kept fractions (Table 4: AlexNet fc6 9%, fc7 9%, fc8 25%; Table 5:
VGG-16 fc6 4%, fc7 4%, fc8 23%) and quantized to its bits (5-bit cluster
indices for fc layers; relative indices of 4 bits for AlexNet, 5 for VGG-16),
plus the fc layers of the bundled LeNets (``models.load_pretrained``) pruned
as in Tables 2 and 3, and times ``W @ x`` in every form side by side:

* ``dense``: NumPy's BLAS on the (quantized) dense float32 matrix;
* ``naive``: :func:`~deepcompress_np.sparse.kernels.naive_csr_matvec`, the
  one-liner (batch 1 only: at batch 64 its temporaries take gigabytes);
* ``csr``: our CSR, :class:`~deepcompress_np.sparse.kernels.RowSparse` with
  float32 values;
* ``compressed``: the same kernel on the compressed form decoded from the
  stored layer (cluster indices into the codebook, positions from the
  relative-index gaps);
* ``scipy``: scipy.sparse's compiled CSR, if installed (a reference, never a
  dependency).

"warm" times one layer over and over, as Table 8 does, so its weights stay in
whatever cache holds them. "sequence" runs fc6, fc7 and fc8 one after the
other, as a network does, so each layer's weights have been pushed out of
the caches by the other two -- if they do not all fit in the last-level
cache (printed with the results). The forms take turns: each is timed in
``ROUNDS`` blocks of ``repeats // ROUNDS`` calls (after a warm-up call),
and its time is the fastest block's median, so that a burst of background
activity spoils a block rather than a figure (``interleaved_times``; on this
project's VM single layers had otherwise come out up to 40% slow in one run
and not the next). Batch-64 times are also given per input,
which is how Table 8 reports them ("averaged the time regarding each input
sample"). The dense product uses NumPy's BLAS with its default number of
threads; our kernels and scipy's run on one core, and in the sequence our
kernels run a second time on as many threads as the machine has cores
(``csr_threads``, ``compressed_threads``), the same cores BLAS may use.

Each form's result is compared with the dense product; ``agree`` records
whether they match to float32 rounding. Nothing here asserts on time.
"""

from __future__ import annotations

import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from deepcompress_np.energy import format_energy_table, layer_counts, network_energy
from deepcompress_np.compressed import stored_layer
from deepcompress_np.prune import prune_to_fraction
from deepcompress_np.quantize import quantize_layer
from deepcompress_np.sparse import to_csr
from deepcompress_np.sparse.kernels import RowSparse, naive_csr_matvec

#: The paper's six layers: (network, layer, (out, in), kept fraction, cluster-index bits, relative-index bits).
#: Kept fractions and bits: Table 4 (AlexNet) and Table 5 (VGG-16), column "Weights% (P)", "Weight bits (P+Q)",
#: "Index bits (P+Q)".
PAPER_LAYERS = (
    ("AlexNet", "fc6", (4096, 9216), 0.09, 5, 4),
    ("AlexNet", "fc7", (4096, 4096), 0.09, 5, 4),
    ("AlexNet", "fc8", (1000, 4096), 0.25, 5, 4),
    ("VGG-16", "fc6", (4096, 25088), 0.04, 5, 5),
    ("VGG-16", "fc7", (4096, 4096), 0.04, 5, 5),
    ("VGG-16", "fc8", (1000, 4096), 0.23, 5, 5),
)

#: Paper Table 8, row "Core i7-5930k": microseconds per input; batch 64 averaged per input sample.
#: dense = MKL CBLAS GEMV/GEMM, sparse = MKL SPBLAS CSRMV/CSRMM on the pruned layer.
PAPER_CPU_US = {
    ("AlexNet", "fc6"): {"dense_b1": 7516.2, "sparse_b1": 3066.5, "dense_b64": 318.4, "sparse_b64": 1417.6},
    ("AlexNet", "fc7"): {"dense_b1": 6187.1, "sparse_b1": 1282.1, "dense_b64": 188.9, "sparse_b64": 682.1},
    ("AlexNet", "fc8"): {"dense_b1": 1134.9, "sparse_b1": 890.5, "dense_b64": 45.8, "sparse_b64": 407.7},
    ("VGG-16", "fc6"): {"dense_b1": 35022.8, "sparse_b1": 3774.3, "dense_b64": 1056.0, "sparse_b64": 1780.3},
    ("VGG-16", "fc7"): {"dense_b1": 5372.8, "sparse_b1": 545.1, "dense_b64": 188.3, "sparse_b64": 274.9},
    ("VGG-16", "fc8"): {"dense_b1": 774.2, "sparse_b1": 777.3, "dense_b64": 45.7, "sparse_b64": 363.1},
}

#: The bundled nets' fc layers, pruned as in the paper's Tables 2 (LeNet-300-100) and 3 (LeNet-5).
LENET_LAYERS = (
    ("LeNet-300-100", "lenet300", "ip1", 0.08, 6, 5),
    ("LeNet-300-100", "lenet300", "ip2", 0.09, 6, 5),
    ("LeNet-300-100", "lenet300", "ip3", 0.26, 6, 5),
    ("LeNet-5", "lenet5", "ip1", 0.08, 5, 5),
    ("LeNet-5", "lenet5", "ip2", 0.19, 5, 5),
)

FORMS = ("dense", "naive", "csr", "compressed", "scipy")
#: After a BLAS call OpenBLAS's threads spin for a while waiting for more work: on 2 cores they would take
#: the second core and add their spinning to the next form's CPU time (measured: 5.2 ms of CPU for a 2.1 ms
#: call of our one-thread CSR right after dense, 2.2 ms after a pause), so each layer pauses after dense.
BLAS_REST_S = 0.2
#: Every form is timed in this many blocks, the forms taking turns (``interleaved_times``).
ROUNDS = 3
#: The sequence also runs our kernels on as many threads as the machine has cores (``RowSparse(threads=)``).
SEQUENCE_FORMS = ("dense", "csr", "compressed", "scipy", "csr_threads", "compressed_threads")
BATCH = 64


# ----------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------

def cache_sizes():
    """The CPU's caches as Linux reports them: list of {"level", "type", "size"} (empty elsewhere)."""
    caches = []
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            caches.append({key: (index / key).read_text().strip() for key in ("level", "type", "size")})
        except OSError:
            continue
    return caches


def _cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def machine():
    """CPU, cores, caches, load, library versions."""
    info = {"cpu": _cpu_name(), "cores": os.cpu_count(), "caches": cache_sizes(), "numpy": np.__version__,
            "scipy": None, "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "blas_threads_env": {k: os.environ[k] for k in _THREAD_VARIABLES if k in os.environ}}
    try:
        import scipy

        info["scipy"] = scipy.__version__
    except ImportError:
        pass
    return info


# ----------------------------------------------------------------------------
# Building a layer in every form
# ----------------------------------------------------------------------------

def build_forms(W, keep_fraction, weight_bits, index_bits, name):
    """Prune ``W`` to ``keep_fraction``, quantize it, and return it in every form.

    Returns
    -------
    dict
        ``dense`` (quantized float32 matrix), ``csr`` (``sparse.CSR``),
        ``ours`` / ``compressed`` (:class:`RowSparse`), ``scipy`` (or None),
        ``stored`` (the ``CompressedLayer``).
    """
    mask = prune_to_fraction(W, keep_fraction)
    quantized = quantize_layer(W, mask, bits=weight_bits)
    stored = stored_layer(name, quantized, np.zeros(quantized.shape[0], np.float32), index_bits)
    dense = quantized.to_dense()
    csr = to_csr(dense, mask)
    forms = {"dense": dense, "csr": csr, "stored": stored, "ours": RowSparse.from_csr(csr),
             "compressed": RowSparse.from_compressed_layer(stored), "scipy": None}
    cores = os.cpu_count() or 1
    if cores > 1:  # the same kernels allowed as many threads as the dense product's BLAS may use
        forms["ours_threads"] = RowSparse.from_csr(csr, threads=cores)
        forms["compressed_threads"] = RowSparse.from_compressed_layer(stored, threads=cores)
    try:
        import scipy.sparse

        forms["scipy"] = scipy.sparse.csr_matrix(
            (csr.data, csr.indices.astype(np.int32), csr.indptr.astype(np.int32)), shape=csr.shape)
    except ImportError:  # a compiled reference when installed, never a dependency
        pass
    return forms


def _products(forms, batch):
    """Name -> function computing W @ x in that form (naive only at batch 1)."""
    products = {"dense": lambda x: forms["dense"] @ x, "csr": forms["ours"].matvec,
                "compressed": forms["compressed"].matvec}
    if batch == 1:
        products["naive"] = lambda x: naive_csr_matvec(forms["csr"], x)
    if forms["scipy"] is not None:
        products["scipy"] = lambda x: forms["scipy"] @ x
    return products


def median_times(function, repeats):
    """Median wall time and median CPU time of ``repeats`` calls of ``function()``, after one warm-up call.

    The CPU time is the process's (``time.process_time``, all its threads):
    for a one-core kernel it leaves out the time spent waiting for a core on
    a busy machine; for a multi-threaded BLAS it adds up the threads.
    """
    function()
    wall, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return float(np.median(wall)), float(np.median(cpu))


def median_seconds(function, repeats):
    """Median wall time of ``repeats`` calls of ``function()``, after one warm-up call."""
    return median_times(function, repeats)[0]


def interleaved_times(functions, repeats, rounds=ROUNDS, rest=BLAS_REST_S):
    """Wall and CPU seconds of each function: the fastest of ``rounds`` medians, the functions taking turns.

    Each round times every function for ``repeats // rounds`` calls (after a
    warm-up call) in turn, so a burst of background activity, or a slow
    spell of the machine, spoils one block of one function rather than its
    figure; each function's figure is its fastest block median, wall and CPU
    time from the same block. After the dense product, a pause of ``rest``
    seconds lets BLAS's threads stop spinning (``BLAS_REST_S``).

    Parameters
    ----------
    functions : dict[str, callable]
        Name -> function of no arguments.

    Returns
    -------
    dict[str, tuple[float, float]]
        Name -> (wall seconds, CPU seconds).
    """
    per_round = max(1, repeats // rounds)
    blocks = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            blocks[name].append(median_times(function, per_round))
            if name == "dense":
                time.sleep(rest)
    return {name: min(times) for name, times in blocks.items()}


def _relative_error(got, expected):
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return float(np.max(np.abs(got - expected)) / scale) if scale > 0 else float(np.max(np.abs(got), initial=0.0))


def time_layer(forms, repeats, repeats_batch, rng, rest=BLAS_REST_S):
    """Warm times (ms) of every form at batch 1 and batch 64, and whether each agrees with dense."""
    n_in = forms["dense"].shape[1]
    result = {"b1_ms": {}, "b1_cpu_ms": {}, "b64_ms": {}, "b64_ms_per_input": {}, "max_rel_error": {}, "agree": {}}
    for batch, key, reps in ((1, "b1_ms", repeats), (BATCH, "b64_ms", repeats_batch)):
        x = rng.standard_normal(n_in if batch == 1 else (n_in, batch)).astype(np.float32)
        expected = forms["dense"].astype(np.float64) @ x.astype(np.float64)
        products = _products(forms, batch)
        for name, product in products.items():
            error = _relative_error(product(x), expected)
            label = name if batch == 1 else f"{name}_b{batch}"
            result["max_rel_error"][label] = error
            result["agree"][label] = bool(error < 1e-4)
        timed = interleaved_times({name: (lambda p=product: p(x)) for name, product in products.items()}, reps,
                                  rest=rest)
        for name, (wall, cpu) in timed.items():
            result[key][name] = 1e3 * wall
            if batch == 1:
                result["b1_cpu_ms"][name] = 1e3 * cpu
    result["b64_ms_per_input"] = {name: t / BATCH for name, t in result["b64_ms"].items()}
    return result


def time_sequence(layers, repeats, rng, rest=BLAS_REST_S):
    """fc6 -> ReLU -> fc7 -> ReLU -> fc8 at batch 1, per form: median ms of the whole stack."""
    n_in = layers[0]["dense"].shape[1]
    x = rng.standard_normal(n_in).astype(np.float32)
    products = [_products(forms, 1) for forms in layers]
    if "compressed_threads" in layers[0]:
        for forms, table in zip(layers, products):
            table["csr_threads"] = forms["ours_threads"].matvec
            table["compressed_threads"] = forms["compressed_threads"].matvec
    names = [name for name in SEQUENCE_FORMS if name in products[0]]
    runs, outputs = {}, {}
    for name in names:
        steps = [table[name] for table in products]

        def run(steps=steps):
            h = x
            for i, step in enumerate(steps):
                h = step(h)
                if i < len(steps) - 1:
                    h = np.maximum(h, 0)
            return h

        outputs[name] = run()
        runs[name] = run
    times = {name: 1e3 * wall for name, (wall, _) in interleaved_times(runs, repeats, rest=rest).items()}
    agree = {name: bool(_relative_error(outputs[name], outputs["dense"]) < 1e-4) for name in names}
    dense_bytes = sum(forms["dense"].nbytes for forms in layers)
    return {"b1_ms": times, "agree": agree, "dense_weight_bytes": dense_bytes, "threads": os.cpu_count() or 1}


# ----------------------------------------------------------------------------
# The whole benchmark
# ----------------------------------------------------------------------------

def _layer_record(net, name, forms, keep_fraction, weight_bits, index_bits):
    stored = forms["stored"]
    return {"net": net, "layer": name, "shape": list(forms["dense"].shape), "kept_fraction": keep_fraction,
            "weight_bits": weight_bits, "index_bits": index_bits, "nnz": forms["ours"].nnz,
            "fillers": stored.n_fillers,
            "run_time_bytes": {"dense": int(forms["dense"].nbytes),
                               "csr": int(sum(forms["ours"].bytes_read().values())),
                               "compressed": int(sum(forms["compressed"].bytes_read().values()))}}


def _lenet_predict(repeats, rng):
    """``CompressedModel.predict`` against the dense model's ``predict`` on one LeNet-300-100 image."""
    from deepcompress_np.compressed import CompressedModel
    from deepcompress_np.models import load_pretrained
    from deepcompress_np.prune import prune_model
    from deepcompress_np.quantize import quantize_model_params

    model = load_pretrained("lenet300")
    fractions = {layer: f for _, arch, layer, f, _, _ in LENET_LAYERS if arch == "lenet300"}
    masks = prune_model(model, keep_fraction=fractions)
    quantized = quantize_model_params(model.params(), masks, bits=6, seed=0)
    compressed = CompressedModel.from_quantized(model, quantized, index_bits={n: 5 for n in fractions})
    compressed = CompressedModel.from_bytes(compressed.to_bytes())  # as loaded from a file
    dense = compressed.to_dense()
    X = rng.random((1, 1, 28, 28)).astype(np.float32)
    same = bool(np.array_equal(compressed.predict(X), dense.predict(X)))
    logits_error = _relative_error(compressed.forward(X), dense.forward(X))
    # where the time goes: each fc layer alone, its dense product against its run-time form
    per_layer = {}
    h = X.reshape(1, -1)
    for stored, layer in zip(compressed.layers, dense.weight_layers()):
        kernel = RowSparse.from_compressed_layer(stored)
        W = layer.params["W"]
        per_layer[stored.name] = {
            "dense_us": 1e6 * median_seconds(lambda: h @ W.T, repeats),
            "compressed_us": 1e6 * median_seconds(lambda: kernel.linear(h), repeats),
            "kept": kernel.nnz}
        h = np.maximum(h @ W.T, 0)
    return {"dense_predict_ms": 1e3 * median_seconds(lambda: dense.predict(X), repeats),
            "compressed_predict_ms": 1e3 * median_seconds(lambda: compressed.predict(X), repeats),
            "same_prediction": same, "logits_rel_error": logits_error, "per_layer": per_layer}


def run(quick=False, repeats=None, seed=0, verbose=False):
    """Time every layer in every form; return all figures as a dict (see the module docstring).

    Parameters
    ----------
    quick : bool
        Layers 8 times smaller in each dimension and 3 repeats: a smoke run
        whose times mean nothing, used by the tests.
    repeats : int, optional
        Calls per batch-1 timing (default 30, quick 3); batch 64 uses a
        third of it, at least ``ROUNDS``.
    seed : int
        Seed of the synthetic weights and inputs.
    verbose : bool
        Print each layer's figures as they come.
    """
    repeats = (3 if quick else 30) if repeats is None else int(repeats)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    repeats_batch = max(ROUNDS, repeats // 3)
    rest = 0.0 if quick else BLAS_REST_S
    rng = np.random.default_rng(seed)
    shrink = 8 if quick else 1
    results = {"machine": machine(), "settings": {"quick": quick, "repeats_batch_1": repeats,
                                                   "repeats_batch_64": repeats_batch, "seed": seed,
                                                   "shrink": shrink},
               "layers": [], "sequences": [], "energy": {}}
    networks = {}
    for net in ("AlexNet", "VGG-16"):
        built = []
        for net_name, name, (n_out, n_in), keep, wbits, ibits in PAPER_LAYERS:
            if net_name != net:
                continue
            W = rng.standard_normal((n_out // shrink, n_in // shrink), dtype=np.float32)
            forms = build_forms(W, keep, wbits, ibits, name)
            del W
            record = _layer_record(net, name, forms, keep, wbits, ibits)
            record.update(time_layer(forms, repeats, repeats_batch, rng, rest))
            record["paper_cpu_us"] = PAPER_CPU_US[(net, name)]
            results["layers"].append(record)
            if verbose:
                print(_format_layer(record), flush=True)
            built.append(forms)
        sequence = time_sequence(built, repeats, rng, rest)
        results["sequences"].append({"net": net, **sequence})
        if verbose:
            print(_format_sequence(results["sequences"][-1]), flush=True)
        networks[net] = [layer_counts(forms["stored"]) for forms in built]
        del built
    from deepcompress_np.models import load_pretrained

    pretrained = {arch: load_pretrained(arch) for arch in dict.fromkeys(arch for _, arch, *_ in LENET_LAYERS)}
    for net, arch, name, keep, wbits, ibits in LENET_LAYERS:
        W = next(layer.params["W"] for layer in pretrained[arch].weight_layers() if layer.name == name)
        forms = build_forms(W, keep, wbits, ibits, name)
        record = _layer_record(net, name, forms, keep, wbits, ibits)
        record.update(time_layer(forms, repeats, repeats_batch, rng, rest))
        record["paper_cpu_us"] = None
        results["layers"].append(record)
        networks.setdefault(net, []).append(layer_counts(forms["stored"]))
        if verbose:
            print(_format_layer(record), flush=True)
    results["lenet300_predict_batch_1"] = _lenet_predict(repeats * 10, rng)
    results["energy"] = {net: network_energy(counts) for net, counts in networks.items()}
    results["summary"] = summarize(results)
    return results


def _geomean(values):
    values = [v for v in values if v is not None]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summarize(results):
    """Geometric means over the six paper layers (batch 1, warm) and the sequence ratios."""
    paper = [r for r in results["layers"] if r["paper_cpu_us"] is not None]

    def ratio(a, b, key="b1_ms"):
        # a CPU time can round to 0 for the smallest calls: such a layer has no ratio
        return _geomean([r[key][a] / r[key][b] for r in paper if r[key].get(a, 0) > 0 and r[key].get(b, 0) > 0])

    summary = {
        "csr_over_scipy_b1": ratio("csr", "scipy"),
        "naive_over_scipy_b1": ratio("naive", "scipy"),
        "compressed_over_csr_b1": ratio("compressed", "csr"),
        "dense_over_csr_b1": ratio("dense", "csr"),
        "dense_over_compressed_b1": ratio("dense", "compressed"),
        "dense_over_scipy_b1": ratio("dense", "scipy"),
        "dense_over_csr_b64": ratio("dense", "csr", "b64_ms"),
        "dense_over_scipy_b64": ratio("dense", "scipy", "b64_ms"),
        "csr_over_scipy_b1_cpu": ratio("csr", "scipy", "b1_cpu_ms"),
        "compressed_over_csr_b1_cpu": ratio("compressed", "csr", "b1_cpu_ms"),
        "paper_dense_over_sparse_b1": _geomean([r["paper_cpu_us"]["dense_b1"] / r["paper_cpu_us"]["sparse_b1"]
                                                for r in paper]),
    }
    for seq in results["sequences"]:
        key = seq["net"].replace("-", "").lower()
        t = seq["b1_ms"]
        summary[f"{key}_sequence_dense_over_compressed"] = t["dense"] / t["compressed"]
        summary[f"{key}_sequence_dense_over_csr"] = t["dense"] / t["csr"]
        if "compressed_threads" in t:
            summary[f"{key}_sequence_dense_over_compressed_threads"] = t["dense"] / t["compressed_threads"]
    return summary


# ----------------------------------------------------------------------------
# Printing
# ----------------------------------------------------------------------------

def _ms(value):
    return f"{value:9.3f}" if value is not None else f"{'-':>9s}"


def _format_layer(r):
    t = r["b1_ms"]
    line = (f"{r['net']:13s} {r['layer']:4s} {r['shape'][0]:>5d}x{r['shape'][1]:<6d} {100 * r['kept_fraction']:3.0f}% "
            + " ".join(_ms(t.get(name)) for name in FORMS))
    if r["paper_cpu_us"]:
        p = r["paper_cpu_us"]
        line += f" | {p['dense_b1'] / 1e3:8.3f} {p['sparse_b1'] / 1e3:8.3f}"
    return line


def _format_sequence(s):
    t = s["b1_ms"]
    label = {"csr_threads": f"csr on {s['threads']} threads",
             "compressed_threads": f"compressed on {s['threads']} threads"}
    line = (f"{s['net']:13s} fc6-fc7-fc8 in sequence, {s['dense_weight_bytes'] / 1e6:.0f} MB dense: "
            + ", ".join(f"{label.get(name, name)} {t[name]:.3f} ms" for name in t)
            + f"\n{'':13s} -> dense / compressed = {t['dense'] / t['compressed']:.2f}x on one core")
    if "compressed_threads" in t:
        line += f", {t['dense'] / t['compressed_threads']:.2f}x on {s['threads']} threads (as many as BLAS may use)"
    return line


def print_report(results):
    """The figures as text tables, the paper's Table 8 CPU times alongside."""
    m = results["machine"]
    caches = ", ".join(f"L{c['level']} {c['type'].lower()} {c['size']}" for c in m["caches"]) or "unknown"
    load = ", ".join(f"{v:.2f}" for v in m["load_average"]) if m["load_average"] else "unknown"
    print(f"{m['cpu']}, {m['cores']} cores; caches (per core or shared): {caches}; load average {load}")
    threads = ", ".join(f"{k}={v}" for k, v in m["blas_threads_env"].items()) or "BLAS threads: library default"
    print(f"numpy {m['numpy']}, scipy {m['scipy'] or 'not installed'}, {threads}; fastest of {ROUNDS} medians "
          f"of {max(1, results['settings']['repeats_batch_1'] // ROUNDS)} calls (batch 1), "
          f"{max(1, results['settings']['repeats_batch_64'] // ROUNDS)} (batch 64), the forms taking turns"
          + ("; QUICK RUN: layers 8x smaller, times meaningless" if results["settings"]["quick"] else ""))
    if m["load_average"] and m["cores"] and m["load_average"][0] > m["cores"]:
        print(f"WARNING: the machine is busy (load {m['load_average'][0]:.1f} on {m['cores']} cores): the times "
              f"below measure the competition as much as the kernels; a multi-threaded BLAS suffers most "
              f"(try OPENBLAS_NUM_THREADS=1)")
    print("\nBatch 1, warm (one layer repeated, as Table 8), milliseconds:")
    print(f"{'network':13s} {'layer':4s} {'shape':12s} kept " + " ".join(f"{n:>9s}" for n in FORMS)
          + " | paper i7-5930K: dense   sparse")
    for r in results["layers"]:
        print(_format_layer(r))
    print("\nBatch 1, warm, CPU milliseconds of the process (one core for our kernels and scipy; dense adds up "
          "its BLAS threads):")
    for r in results["layers"]:
        t = r["b1_cpu_ms"]
        print(f"{r['net']:13s} {r['layer']:4s} {'':20s}" + " ".join(_ms(t.get(name)) for name in FORMS))
    print(f"\nBatch {BATCH}, warm, milliseconds per input (whole batch / {BATCH}):")
    print(f"{'network':13s} {'layer':4s} " + " ".join(f"{n:>9s}" for n in FORMS if n != "naive")
          + " | paper: dense   sparse")
    for r in results["layers"]:
        t = r["b64_ms_per_input"]
        line = f"{r['net']:13s} {r['layer']:4s} " + " ".join(_ms(t.get(n)) for n in FORMS if n != "naive")
        if r["paper_cpu_us"]:
            line += f" | {r['paper_cpu_us']['dense_b64'] / 1e3:8.3f} {r['paper_cpu_us']['sparse_b64'] / 1e3:8.3f}"
        print(line)
    print("\nAs a network runs (batch 1):")
    for s in results["sequences"]:
        print(_format_sequence(s))
    disagree = [f"{r['net']} {r['layer']} {k}" for r in results["layers"] for k, ok in r["agree"].items() if not ok]
    print("\nEvery form agrees with the dense product." if not disagree else f"\nDISAGREE: {disagree}")
    p = results["lenet300_predict_batch_1"]
    print(f"LeNet-300-100, one image: dense model predict {p['dense_predict_ms']:.3f} ms, CompressedModel.predict "
          f"{p['compressed_predict_ms']:.3f} ms (same prediction: {p['same_prediction']}); per layer, dense / "
          f"compressed: " + ", ".join(f"{name} {t['dense_us']:.1f} / {t['compressed_us']:.1f} us ({t['kept']:,} kept)"
                                     for name, t in p["per_layer"].items()))
    s = results["summary"]

    def fmt(value):
        return f"{value:.2f}x" if value is not None else "n/a"

    print(f"\nGeometric means over the six paper layers, batch 1: our CSR / scipy time {fmt(s['csr_over_scipy_b1'])} "
          f"(naive {fmt(s['naive_over_scipy_b1'])}), compressed / our CSR {fmt(s['compressed_over_csr_b1'])}, "
          f"speed-up over dense: our CSR {fmt(s['dense_over_csr_b1'])}, compressed {fmt(s['dense_over_compressed_b1'])}, "
          f"scipy {fmt(s['dense_over_scipy_b1'])} (paper's CPU: {fmt(s['paper_dense_over_sparse_b1'])}); in CPU time: "
          f"our CSR / scipy {fmt(s['csr_over_scipy_b1_cpu'])}, compressed / our CSR {fmt(s['compressed_over_csr_b1_cpu'])}")
    print(f"Batch {BATCH}: speed-up over dense of our CSR {fmt(s['dense_over_csr_b64'])}, scipy "
          f"{fmt(s['dense_over_scipy_b64'])} (below 1: dense wins)")
    print("\nWeights read and energy per inference (45 nm table, energy.ENERGY_PJ; weights in SRAM only if the "
          "whole network's fit in 15 MiB):")
    print(format_energy_table(results["energy"]))


def main():
    print_report(run(verbose=False))


if __name__ == "__main__":
    main()
