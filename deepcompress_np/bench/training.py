"""Speed of the mini neural net: seconds per training epoch and inference images per second.

An epoch is what the issue tracker and the README call one: forward, backward
and SGD update over 60,000 MNIST-sized images at batch 64 (938 steps). When
PyTorch happens to be installed (it is never a dependency), the same work is
timed with it, side by side, on the same machine and the same threads.
"""

from __future__ import annotations

import time

import numpy as np

from deepcompress_np.models import build
from deepcompress_np.nn import SGD, softmax_cross_entropy

N_TRAIN, BATCH = 60000, 64


def _fake_mnist(n, seed=0):
    """Stand-in images with MNIST's statistics that matter for speed (mostly exact zeros)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, 28, 28), dtype=np.float32)
    X[X < 0.8] = 0.0  # ~80% blank pixels, like MNIST
    X[:, :, :4, :] = 0.0  # always-blank border rows, like MNIST
    y = rng.integers(0, 10, size=n)
    return X, y


def numpy_epoch_seconds(arch, steps, X, y):
    """Seconds for ``steps`` training steps of our NumPy net (after one warm-up step)."""
    model = build(arch, seed=0)
    opt = SGD(lr=0.01, momentum=0.9, weight_decay=5e-4)
    params = model.params()

    def step(i):
        j = (i * BATCH) % (len(X) - BATCH)
        logits = model.forward(X[j:j + BATCH], training=True)
        _, d = softmax_cross_entropy(logits, y[j:j + BATCH])
        model.backward(d)
        opt.step(params, model.grads())

    step(0)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    return time.perf_counter() - start


def numpy_inference_images_per_second(arch, X, batch_size=1000, repeats=3):
    model = build(arch, seed=0)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(X, batch_size=batch_size)
        best = min(best, time.perf_counter() - start)
    return len(X) / best


def _torch_model(torch, arch):
    nn = torch.nn
    if arch == "lenet300":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(),
                             nn.Linear(100, 10))
    return nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))


def torch_epoch_seconds(torch, arch, steps, X, y):
    """The same ``steps`` training steps in PyTorch (CPU), or None without torch."""
    model = _torch_model(torch, arch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step(i):
        j = (i * BATCH) % (len(X) - BATCH)
        opt.zero_grad()
        loss = loss_fn(model(Xt[j:j + BATCH]), yt[j:j + BATCH])
        loss.backward()
        opt.step()

    step(0)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    return time.perf_counter() - start


def torch_inference_images_per_second(torch, arch, X, batch_size=1000, repeats=3):
    model = _torch_model(torch, arch).eval()
    Xt = torch.from_numpy(X)
    best = float("inf")
    with torch.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            for i in range(0, len(X), batch_size):
                model(Xt[i:i + batch_size]).argmax(1)
            best = min(best, time.perf_counter() - start)
    return len(X) / best


def run(quick=False, torch=True, archs=("lenet300", "lenet5"), repeats=None):
    """Seconds per epoch (60,000 images, batch 64) and inference images/s, ours and PyTorch's.

    Each epoch time is the best of ``repeats`` runs (default 3, or 1 with
    ``quick``), ours and PyTorch's alternating, so that both see the same
    machine. ``quick`` times 150 steps and scales to a full epoch. Returns a
    dict per architecture.
    """
    steps_full = -(-N_TRAIN // BATCH)
    steps = 150 if quick else steps_full
    repeats = (1 if quick else 3) if repeats is None else repeats
    X, y = _fake_mnist(10000)
    torch_mod = None
    if torch:
        try:
            import torch as torch_mod  # its default thread count, like NumPy's BLAS: every core
        except ImportError:
            torch_mod = None
    results = {}
    for arch in archs:
        ours, theirs = float("inf"), float("inf")
        for _ in range(repeats):
            ours = min(ours, numpy_epoch_seconds(arch, steps, X, y) * steps_full / steps)
            if torch_mod is not None:
                theirs = min(theirs, torch_epoch_seconds(torch_mod, arch, steps, X, y) * steps_full / steps)
        r = {"epoch_seconds": ours, "inference_images_per_second": numpy_inference_images_per_second(arch, X),
             "timed_steps": steps, "repeats": repeats}
        if torch_mod is not None:
            r["torch_version"] = torch_mod.__version__
            r["torch_threads"] = torch_mod.get_num_threads()
            r["torch_epoch_seconds"] = theirs
            r["epoch_ratio_vs_torch"] = ours / theirs
            r["torch_inference_images_per_second"] = torch_inference_images_per_second(torch_mod, arch, X)
        results[arch] = r
    return results
