"""A model that is a chain of layers, and its weights in and out (``state_dict``)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class ParameterView(Mapping):
    """The model's own parameter arrays by key: read-only as a mapping, live as arrays.

    ``model.params()["ip1.W"][...] = values`` writes into the model;
    ``model.params()["ip1.W"] = values`` would only rebind a key of a
    throw-away dict, so it raises instead of silently doing nothing.
    """

    def __init__(self, arrays):
        self._arrays = dict(arrays)

    def __getitem__(self, key):
        return self._arrays[key]

    def __iter__(self):
        return iter(self._arrays)

    def __len__(self):
        return len(self._arrays)

    def __setitem__(self, key, value):
        raise TypeError(
            f"model.params() is a read-only view: assigning {key!r} would not change the model. "
            f"Write into the array, model.params()[{key!r}][...] = value, or use "
            f"model.load_state_dict({{{key!r}: value}})")

    def __repr__(self):
        return f"ParameterView({ {k: v.shape for k, v in self._arrays.items()} })"


#: PyTorch's parameter names and ours: ``fc1.weight`` is ``fc1.W``, ``fc1.bias`` is ``fc1.b``.
TORCH_NAMES = {"weight": "W", "bias": "b"}


class Sequential:
    """Layers applied one after the other.

    Every layer gets a name (its own ``name`` or ``"layer<i>"``); a parameter's
    key is ``"<layer name>.<param name>"``, e.g. ``"ip1.W"``. Those keys are what
    the optimizer, the pruning masks and the quantization codebooks are indexed by.

    Parameters
    ----------
    *layers : Layer
    arch : str, optional
        Architecture name (``"lenet300"``), recorded when the model is saved.
    input_shape : tuple of int, optional
        Shape of one example without the batch axis, ``(C, H, W)`` or ``(D,)``.
        Needed to save a model whose first layer does not fix it (a convolution).
    """

    def __init__(self, *layers, arch=None, input_shape=None):
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
        self.input_shape = None if input_shape is None else tuple(int(n) for n in input_shape)

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
        """Read-only mapping from key ``"<layer>.<name>"`` to the arrays the layers own (not copies).

        Write into an array in place (``params["ip1.W"][...] = 0``); to replace
        weights wholesale use :meth:`load_state_dict`.
        """
        return ParameterView((f"{layer.name}.{k}", v) for layer in self.layers for k, v in layer.params.items())

    def state_dict(self):
        """Dict from key (``"ip1.W"``, ``"ip1.b"``) to a *copy* of every parameter, as PyTorch's ``state_dict``.

        Layouts are PyTorch's: Linear ``W`` is ``(out, in)``, Conv2D ``W`` is ``(F, C, kh, kw)``.
        """
        return {key: value.copy() for key, value in self.params().items()}

    def load_state_dict(self, state):
        """Copy weights into the model from a mapping of key -> array.

        Keys may be ours (``"fc1.W"``, ``"fc1.b"``) or PyTorch's
        (``"fc1.weight"``, ``"fc1.bias"``); the layouts are the same (Linear
        ``(out, in)``, Conv2D ``(F, C, kh, kw)``), so a PyTorch
        ``model.state_dict()`` converted with ``{k: v.detach().numpy()}``
        loads as it is when the layer names agree. Every parameter must be
        given exactly once, with its exact shape and finite values; nothing is
        changed unless everything fits.

        Raises
        ------
        ValueError
            Naming a missing, unknown or repeated key, or a wrong shape.
        TypeError
            For a value that is not numeric.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict takes a mapping of key -> array, got {type(state).__name__}")
        params = self.params()
        given = {}
        for key, value in state.items():
            ours = key
            if isinstance(key, str) and key not in params and "." in key:
                layer, _, name = key.rpartition(".")
                ours = f"{layer}.{TORCH_NAMES.get(name, name)}"
            if ours not in params:
                raise ValueError(f"unknown key {key!r}: the model's parameters are {list(params)} "
                                 f"(PyTorch's '<layer>.weight' and '<layer>.bias' are accepted too)")
            if ours in given:
                raise ValueError(f"parameter {ours!r} is given twice (as {given[ours][0]!r} and {key!r})")
            array = np.asarray(value)
            if array.dtype.kind not in "fiu":
                raise TypeError(f"{key!r}: expected numbers, got an array of dtype {array.dtype}")
            if array.shape != params[ours].shape:
                raise ValueError(f"{key!r}: shape {array.shape}, but the model's {ours!r} has shape "
                                 f"{params[ours].shape} (Linear weights are (out, in), conv kernels (F, C, kh, kw))")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{key!r}: holds NaN or infinite values")
            given[ours] = (key, array)
        missing = [key for key in params if key not in given]
        if missing:
            raise ValueError(f"missing parameters {missing}: every parameter of the model must be given")
        for key, (_, array) in given.items():
            params[key][...] = array
        return self

    def architecture(self):
        """This model's architecture as plain data (see ``deepcompress_np.architecture``)."""
        from deepcompress_np.architecture import describe

        return describe(self)

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
