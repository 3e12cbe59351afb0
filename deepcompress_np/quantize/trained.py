"""Trained quantization: fine-tuning the shared centroids (paper §3.3, eq. 3, Figure 3).

During retraining the gradients of all weights in a cluster are summed and
the sum updates the shared centroid; the weights are then rewritten from the
codebook, so a layer never holds more than ``k`` distinct non-zero values.
:class:`SharedWeightUpdate` is that update for one ``QuantizedLayer``
(``layer.py``), as a rule for the optimizer's ``SGD.rules`` (see
``nn/optim.py``); :func:`install_shared_weights` installs one for every
quantized layer of a model.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np.quantize.layer import QuantizedLayer


class SharedWeightUpdate:
    """An ``SGD`` update rule that trains the codebook instead of the weights.

    Every weight in cluster ``k`` *is* the centroid ``c_k``, so by the chain
    rule the gradient of the loss with respect to ``c_k`` is the **sum** of
    the gradients of those weights (paper §3.3, eq. 3, Figure 3):

        dL/dc_k = sum_{i : I_i = k} dL/dW_i ,
        c_k    <- c_k - lr * dL/dc_k .

    The sum is one ``np.bincount`` over the cluster indices. After the update
    the layer's weights are rewritten as ``codebook[index]`` at the mask and
    0.0 elsewhere, so the layer never holds more than ``k`` distinct non-zero
    values and pruned weights stay exactly zero.

    Because the gradient is summed, not averaged, a big cluster moves faster
    than a small one: that is the true gradient of the shared value. With
    momentum, the centroids get their own momentum buffer ``opt.velocity[key
    + ":codebook"]``, shape (k,), with the optimizer's coefficient:
    ``v <- momentum * v - lr * dL/dc``, ``c <- c + v``.

    Parameters
    ----------
    layer : QuantizedLayer
        Its ``codebook`` is updated in place, so after retraining the same
        object holds the fine-tuned codebook, ready for storage.
    use_momentum : bool
        Apply the optimizer's momentum to the centroids (default True).
    """

    def __init__(self, layer, use_momentum=True):
        if not isinstance(layer, QuantizedLayer):
            raise TypeError(f"layer must be a QuantizedLayer, got {type(layer).__name__}")
        self.layer = layer
        self.use_momentum = bool(use_momentum)

    def centroid_grad(self, grad):
        """dL/dc, shape (k,), float64: the gradients summed per cluster."""
        layer = self.layer
        return np.bincount(layer.index, weights=grad[layer.mask], minlength=layer.k)

    def __call__(self, opt, key, param, grad):
        layer = self.layer
        if param.shape != layer.shape or grad.shape != layer.shape:
            raise ValueError(
                f"{key!r}: parameter {param.shape} / gradient {grad.shape} do not match "
                f"the quantized layer's shape {layer.shape}"
            )
        step = np.float32(opt.lr) * self.centroid_grad(grad).astype(np.float32)
        if self.use_momentum and opt.momentum:
            v = opt.velocity.get(key + ":codebook")
            if v is None:
                v = opt.velocity[key + ":codebook"] = np.zeros(layer.k, np.float32)
            v *= np.float32(opt.momentum)
            v -= step
            layer.codebook += v
        else:
            layer.codebook -= step
        param.fill(0)
        param[layer.mask] = layer.codebook[layer.index]


def install_shared_weights(opt, model_params, quantized, use_momentum=True):
    """Switch the quantized layers of a model to trained quantization.

    Writes each quantized layer into the model's own array (in place; the
    array is never rebound) and installs a ``SharedWeightUpdate`` for it in
    ``opt.rules``. Such a rule replaces any rule already there for the key
    (pruning's ``MaskedUpdate``): it keeps pruned weights at zero itself. The
    per-weight momentum buffer ``opt.velocity[key]`` is dropped, as those
    weights no longer move on their own.

    Parameters
    ----------
    opt : deepcompress_np.nn.optim.SGD
        The optimizer used for retraining.
    model_params : dict[str, ndarray]
        ``model.params()``: key -> the arrays the layers own.
    quantized : dict[str, QuantizedLayer]
        From ``quantize_model_params``; every key must be in ``model_params``.
    use_momentum : bool
        Momentum on the centroids (see ``SharedWeightUpdate``).

    Returns
    -------
    dict[str, SharedWeightUpdate]
        The rules installed, by key.
    """
    for key, layer in quantized.items():
        if key not in model_params:
            raise KeyError(f"quantized layer {key!r} is not a parameter of the model")
        if model_params[key].shape != layer.shape:
            raise ValueError(
                f"{key!r}: model parameter has shape {model_params[key].shape}, "
                f"quantized layer has shape {layer.shape}"
            )
    rules = {}
    for key, layer in quantized.items():
        model_params[key][...] = layer.to_dense()
        rules[key] = opt.rules[key] = SharedWeightUpdate(layer, use_momentum=use_momentum)
        opt.velocity.pop(key, None)
    return rules
