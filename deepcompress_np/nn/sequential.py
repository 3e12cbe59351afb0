"""A model that is a chain of layers."""

from __future__ import annotations

import numpy as np


class Sequential:
    """Layers applied one after the other.

    Every layer gets a name (its own ``name`` or ``"layer<i>"``); a parameter's
    key is ``"<layer name>.<param name>"``, e.g. ``"ip1.W"``. Those keys are what
    the optimizer, the pruning masks and the quantization codebooks are indexed by.

    Parameters
    ----------
    *layers : Layer
    arch : str, optional
        Architecture name, recorded when the model is saved.
    """

    def __init__(self, *layers, arch=None):
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        names = []
        for i, layer in enumerate(layers):
            if layer.name is None:
                layer.name = f"layer{i}"
            if layer.name in names:
                raise ValueError(f"two layers are named {layer.name!r}; layer names must be unique")
            names.append(layer.name)
        self.layers = list(layers)
        self.arch = arch

    def forward(self, x, training=False):
        """Run every layer. x: the first layer's input, e.g. (N, 1, 28, 28) -> logits (N, classes)."""
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, dout):
        """Back-propagate ``dout`` (gradient of the loss w.r.t. the logits) through every layer.

        Layers up to the first one with parameters are told they need not
        compute the gradient of their input: nothing would use it.
        """
        first = next((i for i, layer in enumerate(self.layers) if layer.params), len(self.layers))
        for i in range(len(self.layers) - 1, -1, -1):
            dout = self.layers[i].backward(dout, need_dx=i > first)
            if i <= first:
                break

    def params(self):
        """Dict from key ``"<layer>.<name>"`` to the parameter arrays the layers own (not copies)."""
        return {f"{layer.name}.{k}": v for layer in self.layers for k, v in layer.params.items()}

    def grads(self):
        """Dict from key to the gradients computed by the last ``backward``."""
        return {f"{layer.name}.{k}": v for layer in self.layers for k, v in layer.grads.items()}

    def layer(self, name):
        """The layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; layers are {[l.name for l in self.layers]}")

    def weight_layers(self):
        """The layers that have a weight matrix ``"W"``, in order."""
        return [layer for layer in self.layers if "W" in layer.params]

    def n_params(self):
        """Total number of parameters (weights and biases)."""
        return int(sum(v.size for v in self.params().values()))

    def astype(self, dtype):
        """Convert every parameter to ``dtype`` in place (float64 for gradient checks). Returns self."""
        for layer in self.layers:
            layer.astype(dtype)
        return self

    @property
    def dtype(self):
        return next(iter(self.params().values())).dtype

    def predict(self, X, batch_size=1000):
        """Class predictions, shape (N,), computed in batches."""
        out = [self.forward(X[i:i + batch_size]).argmax(axis=1) for i in range(0, len(X), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def __repr__(self):
        lines = [f"Sequential(arch={self.arch!r}, params={self.n_params():,})"]
        lines += [f"  {layer!r}" for layer in self.layers]
        return "\n".join(lines)
