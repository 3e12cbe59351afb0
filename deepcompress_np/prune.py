"""Network pruning with masked retraining: stage one of Deep Compression.

Paper §2: "we start by learning the connectivity via normal network training.
Next, we prune the small-weight connections: all connections with weights
below a threshold are removed from the network. Finally, we retrain the network
to learn the final weights for the remaining sparse connections."

The method is that of Han, Pool, Tran and Dally, "Learning both Weights and
Connections for Efficient Neural Networks" (NIPS 2015), cited below as
"Han 2015":

* the threshold of a layer is a quality parameter times the standard deviation
  of the layer's weights (Han 2015 §4) -- :func:`prune_by_std`; pruning to a
  target kept fraction is :func:`prune_to_fraction`;
* one boolean mask per weight tensor records the surviving connections; biases
  are not pruned;
* retraining continues from the surviving weights, never re-initialised, at a
  tenth of the original learning rate by default (Han 2015 §3.3, §4: what was
  used for LeNet), with L2 regularisation by default (Han 2015 §3.1: L2 is best
  after retraining) -- :func:`retrain`, whose optimizer holds the weights, the
  gradients *and the momentum* of pruned connections at exactly zero through
  :class:`MaskedUpdate`;
* iterative pruning, prune -> retrain -> prune more (Han 2015 §3.4) --
  :func:`iterative_prune`;
* the dropout rate of a layer is lowered when its input connections are pruned,
  D_r = D_o * sqrt(C_ir / C_io) (Han 2015 eq. 2) -- :func:`adjusted_dropout`;
* neurons left with no incoming or no outgoing connection are dead and can be
  removed (Han 2015 §3.5) -- :func:`dead_neurons`;
* per-layer sensitivity, error against the fraction pruned, without retraining
  (Han 2015 §5, Figure 6) picks the per-layer quality parameters --
  :func:`sensitivity`.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np._validate import is_integer
from deepcompress_np.nn import SGD, Dropout
from deepcompress_np.train import evaluate, train


# ----------------------------------------------------------------------------
# Choosing the connections to keep
# ----------------------------------------------------------------------------

def _check_weights(W, mask, default_mask=True):
    W = np.asarray(W)
    if W.dtype.kind != "f":
        raise TypeError(f"weights must be floating point, got dtype {W.dtype}")
    if W.ndim not in (2, 4):
        raise ValueError(f"weights must be a 2-D fc matrix or a 4-D conv kernel, got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("weights hold NaN or infinite values; pruning by magnitude needs finite weights")
    if mask is None:
        return W, (np.ones(W.shape, dtype=bool) if default_mask else None)
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"a mask must be a boolean array, got dtype {mask.dtype}")
    if mask.shape != W.shape:
        raise ValueError(f"mask has shape {mask.shape} but the weights have shape {W.shape}")
    return W, mask


def prune_by_std(W, quality, mask=None):
    """Han 2015 §4: remove the weights whose magnitude is below quality x std.

    The standard deviation is that of the weights the layer still holds (the
    surviving ones, given by ``mask``); pruned connections are gone and do not
    count. A weight survives if ``|w| >= quality * std`` and it survived before.

    Parameters
    ----------
    W : ndarray, shape (out, in) or (F, C, kh, kw)
    quality : float >= 0
        The quality parameter; 0 keeps everything.
    mask : ndarray of bool, same shape, optional
        Connections that survived earlier pruning (default: all).

    Returns
    -------
    mask : ndarray of bool, same shape as W; True = kept.
    """
    W, mask = _check_weights(W, mask)
    if not np.isfinite(quality) or quality < 0:
        raise ValueError(f"the quality parameter must be a finite number >= 0, got {quality!r}")
    if not mask.any():
        return mask.copy()
    threshold = quality * float(np.std(W[mask]))
    return mask & (np.abs(W) >= threshold)


_BLOCK_WEIGHTS = 1 << 22  # prune_to_fraction compares about 4 M weights at a time


def prune_to_fraction(W, keep_fraction, mask=None):
    """Keep the ``keep_fraction`` of the layer's weights with the largest magnitude.

    ``round(keep_fraction * W.size)`` weights survive, chosen among those that
    survived before; equal magnitudes are broken by position (earlier kept), so
    the result is deterministic.

    Parameters
    ----------
    W : ndarray, shape (out, in) or (F, C, kh, kw)
    keep_fraction : float in [0, 1]
        Of the whole layer, not of the surviving weights.
    mask : ndarray of bool, optional

    Returns
    -------
    mask : ndarray of bool, same shape as W.
    """
    W, mask = _check_weights(W, mask, default_mask=False)  # None: every weight is a candidate
    if not 0.0 <= keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction must be in [0, 1], got {keep_fraction!r}")
    n_candidates = W.size if mask is None else int(np.count_nonzero(mask))
    n_keep = min(int(round(keep_fraction * W.size)), n_candidates)
    new = np.zeros(W.shape, dtype=bool)
    if n_keep == 0:
        return new
    # The threshold t is the n_keep-th largest magnitude. A partial sort finds it in
    # linear time, in place, in one float copy of the layer (a full argsort would add
    # an 8-byte index per weight: 824 MB for VGG-16's fc6). Pruned weights count as -1.
    magnitude = np.abs(W).ravel()
    if mask is not None:
        magnitude[~mask.ravel()] = -1
    kth = magnitude.size - n_keep
    magnitude.partition(kth)
    threshold = magnitude[kth]  # >= 0, since n_keep <= the number of candidates
    del magnitude
    # Keep every candidate above t, then as many ties at t as are still needed, in
    # position order: what a stable sort on -|w| would keep. Done a block of rows at a
    # time so that no other layer-sized temporary is needed.
    rows = W.reshape(W.shape[0], -1)
    kept = new.reshape(rows.shape)
    block = max(1, _BLOCK_WEIGHTS // max(1, rows.shape[1]))
    ties = []
    for start in range(0, rows.shape[0], block):
        a = np.abs(rows[start:start + block])
        above, tie = a > threshold, a == threshold
        if mask is not None:
            candidate = mask.reshape(rows.shape)[start:start + block]
            above &= candidate
            tie &= candidate
        kept[start:start + block] = above
        ties.append(start * rows.shape[1] + np.flatnonzero(tie))
    ties = np.concatenate(ties)
    new.ravel()[ties[:n_keep - int(np.count_nonzero(new))]] = True
    return new


def prune_model(model, masks=None, quality=None, keep_fraction=None):
    """Prune every weight layer named in ``quality`` or ``keep_fraction``.

    Parameters
    ----------
    model : Sequential
    masks : dict[key, bool ndarray], optional
        Current masks (e.g. from an earlier round); missing layers count as unpruned.
    quality : dict[layer name, float], optional
        Quality parameter per layer for :func:`prune_by_std`.
    keep_fraction : dict[layer name, float], optional
        Kept fraction per layer for :func:`prune_to_fraction`.

    Returns
    -------
    masks : dict[key, bool ndarray]
        One mask per weight tensor ("<layer>.W"), for every weight layer. The
        model's pruned weights are set to zero in place.
    """
    quality, keep_fraction = dict(quality or {}), dict(keep_fraction or {})
    names = [layer.name for layer in model.weight_layers()]
    unknown = (set(quality) | set(keep_fraction)) - set(names)
    if unknown:
        raise ValueError(f"no weight layer called {sorted(unknown)}; the model's are {names}")
    both = set(quality) & set(keep_fraction)
    if both:
        raise ValueError(f"layers {sorted(both)} have both a quality parameter and a kept fraction; give one")
    new_masks = {}
    for layer in model.weight_layers():
        key = f"{layer.name}.W"
        W = layer.params["W"]
        old = None if masks is None else masks.get(key)
        if layer.name in quality:
            new_masks[key] = prune_by_std(W, quality[layer.name], old)
        elif layer.name in keep_fraction:
            new_masks[key] = prune_to_fraction(W, keep_fraction[layer.name], old)
        else:
            new_masks[key] = np.ones(W.shape, dtype=bool) if old is None else old.copy()
    apply_masks(model, new_masks)
    return new_masks


def apply_masks(model, masks):
    """Set the pruned weights of ``model`` to exactly zero, in place."""
    params = model.params()
    for key, mask in masks.items():
        if key not in params:
            raise KeyError(f"mask {key!r} names no parameter of the model")
        if mask.shape != params[key].shape:
            raise ValueError(f"mask {key!r} has shape {mask.shape}, the parameter {params[key].shape}")
        params[key][~mask] = 0


# ----------------------------------------------------------------------------
# Masked retraining
# ----------------------------------------------------------------------------

#: A tenth of the learning rate the bundled reference nets were trained with (recipes.TRAINING: 0.05).
DEFAULT_RETRAIN_LR = 0.005

class MaskedUpdate:
    """An ``SGD`` update rule that keeps pruned connections at exactly zero.

    The gradient is masked before the momentum update, and both the momentum
    buffer and the weights are masked after it, so a pruned weight, its
    gradient and its momentum stay 0 for the whole of retraining -- even if
    the buffer came from before pruning, and even with weight decay or L1.

    Parameters
    ----------
    mask : ndarray of bool
        True = kept; same shape as the parameter.
    """

    def __init__(self, mask):
        self.mask = np.asarray(mask, dtype=bool)

    def __call__(self, opt, key, param, grad):
        if grad.shape != self.mask.shape:
            raise ValueError(f"mask for {key!r} has shape {self.mask.shape}, the gradient {grad.shape}")
        grad = grad * self.mask
        opt.momentum_update(key, param, grad)
        opt.velocity[key] *= self.mask
        param *= self.mask


def install_masks(optimizer, masks):
    """Install one :class:`MaskedUpdate` rule per mask in ``optimizer.rules``."""
    for key, mask in masks.items():
        optimizer.rules[key] = MaskedUpdate(mask)
    return optimizer


def adjusted_dropout(p_original, connections_original, connections_retrain):
    """Han 2015 eq. 2: the dropout rate for retraining a pruned layer.

    D_r = D_o * sqrt(C_ir / C_io), where C_i is the number of connections
    into the layer before (o) and after (r) pruning. A sparser layer has less
    capacity to overfit, so it needs less dropout.
    """
    if connections_original <= 0 or not 0 <= connections_retrain <= connections_original:
        raise ValueError(
            f"need 0 <= connections after pruning ({connections_retrain}) <= before ({connections_original}), before > 0"
        )
    return float(p_original) * float(np.sqrt(connections_retrain / connections_original))


def adjust_model_dropout(model, masks, original_p=None):
    """Lower the rate of every Dropout layer that follows a pruned weight layer (Han 2015 eq. 2).

    The dropout acts on the outputs of the nearest weight layer before it;
    C_i counts that layer's connections (the whole tensor).

    Returns
    -------
    dict[dropout layer name, (p_original, p_retrain)]
    """
    changes = {}
    original_p = dict(original_p or {})
    previous = None
    for layer in model.layers:
        if "W" in layer.params:
            previous = layer
        elif isinstance(layer, Dropout) and previous is not None:
            key = f"{previous.name}.W"
            if key in masks:
                p0 = original_p.get(layer.name, layer.p)
                mask = masks[key]
                layer.p = adjusted_dropout(p0, mask.size, int(mask.sum()))
                changes[layer.name] = (p0, layer.p)
    return changes


def retrain(model, masks, X, y, *, epochs=10, lr=DEFAULT_RETRAIN_LR, momentum=0.9, weight_decay=5e-4, l1=0.0,
            batch_size=64, lr_schedule=None, seed=0, X_val=None, y_val=None, augment=None, verbose=True,
            progress_bar=False, desc="retrain"):
    """Retrain the surviving connections of a pruned model, in place.

    The weights are not re-initialised: retraining continues from the
    surviving weights. The default learning rate is a tenth of the 0.05 that
    the bundled reference nets were trained with, as Han 2015 did for LeNet;
    pass a tenth of *your* net's training rate. Regularisation is L2
    (``weight_decay``) by default; pass ``weight_decay=0, l1=...`` for L1.

    Returns
    -------
    history : dict (see :func:`deepcompress_np.train.train`)
    """
    apply_masks(model, masks)
    optimizer = install_masks(SGD(lr=lr, momentum=momentum, weight_decay=weight_decay, l1=l1), masks)
    return train(model, X, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                 lr_schedule=lr_schedule, seed=seed, X_val=X_val, y_val=y_val, augment=augment, verbose=verbose,
                 progress_bar=progress_bar, desc=desc)


def iterative_prune(model, X, y, keep_fraction, *, rounds=3, epochs_per_round=5, masks=None, on_round=None,
                    **retrain_kwargs):
    """Han 2015 §3.4: prune -> retrain -> prune more, ``rounds`` times.

    Round r of R keeps ``f_r = f ** (r / R)`` of each layer (a geometric path
    from 1 to the target kept fraction ``f``), then retrains.

    Parameters
    ----------
    model : Sequential
    X, y : training data
    keep_fraction : dict[layer name, float]
        Target kept fraction per layer after the last round.
    rounds : int >= 1
    epochs_per_round : int
    masks : dict, optional
        Start from these masks.
    on_round : callable (r, model, masks), optional
        Called after the retraining of every round (e.g. to save each round's net).
    **retrain_kwargs
        Passed to :func:`retrain` (lr, weight_decay, X_val, ...).

    Returns
    -------
    masks : dict[key, bool ndarray]
    history : list of dict, one per round: ``keep_fraction`` reached and the retraining history.
    """
    if not is_integer(rounds) or rounds < 1:
        raise ValueError(f"rounds must be a positive integer, got {rounds!r}")
    log = []
    for r in range(1, rounds + 1):
        step = {name: float(f) ** (r / rounds) for name, f in keep_fraction.items()}
        masks = prune_model(model, masks, keep_fraction=step)
        hist = retrain(model, masks, X, y, epochs=epochs_per_round, desc=f"round {r}/{rounds}", **retrain_kwargs)
        log.append({"round": r, "keep_fraction": step, "history": hist})
        if on_round is not None:
            on_round(r, model, masks)
    return masks, log


# ----------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------

def kept_fraction(masks):
    """Fraction of weights kept over all masks together."""
    total = sum(m.size for m in masks.values())
    return float(sum(int(m.sum()) for m in masks.values()) / total) if total else 1.0


def dead_neurons(model, masks):
    """Count the neurons left with no incoming or no outgoing connection (Han 2015 §3.5).

    For a fc layer with mask (out, in), output neuron j has no incoming
    connection if row j is all pruned, and input neuron i has no outgoing
    connection if column i is all pruned. For a conv layer (F, C, kh, kw) the
    "neurons" are whole channels: filter f has no incoming connection if
    mask[f] is all pruned, and input channel c has no outgoing connection if
    mask[:, c] is all pruned.

    Returns
    -------
    dict[layer name, dict]
        ``{"inputs": n, "no_outgoing": k, "outputs": m, "no_incoming": j}`` per weight layer.
    """
    report = {}
    for layer in model.weight_layers():
        key = f"{layer.name}.W"
        mask = masks.get(key, np.ones(layer.params["W"].shape, dtype=bool))
        flat = mask.reshape(mask.shape[0], mask.shape[1], -1)  # (out, in, kh*kw) or (out, in, 1)
        report[layer.name] = {
            "outputs": int(mask.shape[0]),
            "no_incoming": int((~flat.any(axis=(1, 2))).sum()),
            "inputs": int(mask.shape[1]),
            "no_outgoing": int((~flat.any(axis=(0, 2))).sum()),
        }
    return report


def sensitivity(model, X, y, fractions_pruned=(0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98), layers=None):
    """Han 2015 §5, Figure 6: error against the fraction pruned, one layer at a time, without retraining.

    Each layer in turn is pruned to each fraction by magnitude while every
    other layer is left intact; the model is restored afterwards.

    Parameters
    ----------
    model : Sequential
    X, y : evaluation data (use the validation split, not the test set, to choose parameters)
    fractions_pruned : sequence of float in [0, 1)
    layers : list of layer names, optional (default: every weight layer)

    Returns
    -------
    dict[layer name, ndarray of error fractions], aligned with ``fractions_pruned``.
    """
    names = [l.name for l in model.weight_layers()] if layers is None else list(layers)
    curves = {}
    for name in names:
        W = model.layer(name).params["W"]
        saved = W.copy()
        errors = []
        for f in fractions_pruned:
            W[...] = saved * prune_to_fraction(saved, 1.0 - f)
            errors.append(evaluate(model, X, y))
        W[...] = saved
        curves[name] = np.array(errors)
    return curves


def plot_sensitivity(curves, fractions_pruned, ax=None, title="Sensitivity of each layer to pruning"):
    """Plot :func:`sensitivity` curves (error in % against % pruned). Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for name, errors in curves.items():
        ax.plot(100 * np.asarray(fractions_pruned), 100 * np.asarray(errors), marker="o", label=name)
    ax.set_xlabel("parameters pruned away (%)")
    ax.set_ylabel("error without retraining (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def keep_fractions_for_budget(curves, fractions_pruned, budget):
    """From sensitivity curves to a recipe: per layer, the smallest kept fraction within an error budget.

    Han et al. 2015 §5 (Figure 6) read the per-layer thresholds off such
    curves. This is the simplest reading: each layer on its own, no
    retraining, so the layers' losses add up when they are pruned together.

    Parameters
    ----------
    curves : dict[layer name, array_like of float]
        As returned by :func:`sensitivity`: ``curves[name][i]`` is the error
        with only ``name`` pruned by ``fractions_pruned[i]``.
    fractions_pruned : array_like of float, shape (n,)
        In [0, 1), in any order.
    budget : float
        The largest error allowed, e.g. 0.015 for 1.5%.

    Returns
    -------
    dict[layer name, float]
        ``1 - f`` for the largest ``f`` whose error is ``<= budget``; 1.0
        (prune nothing) when no fraction is within the budget.
    """
    pruned = np.asarray(fractions_pruned, dtype=np.float64)
    if pruned.ndim != 1 or np.any(pruned < 0) or np.any(pruned >= 1):
        raise ValueError(f"fractions_pruned must be a 1-D list of fractions in [0, 1), got {fractions_pruned!r}")
    if isinstance(budget, bool) or not isinstance(budget, (int, float, np.floating, np.integer)):
        raise TypeError(f"budget must be a number (an error such as 0.015), got {type(budget).__name__}")
    chosen = {}
    for name, errors in curves.items():
        errors = np.asarray(errors, dtype=np.float64)
        if errors.shape != pruned.shape:
            raise ValueError(f"curve {name!r} has {errors.size} errors for {pruned.size} fractions pruned")
        within = pruned[errors <= budget]
        chosen[name] = float(1.0 - within.max()) if within.size else 1.0
    return chosen
