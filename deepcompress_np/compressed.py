"""A compressed model: build it from a pruned and quantized net, save it, load it, run it.

:class:`CompressedModel` is the form the paper's pipeline ends in (Figure 1):
per layer, the surviving connections as relative indices with filler zeros
(§2), each as a cluster index into a shared codebook (§3), Huffman-coded on
disk (§4, ``fileformat.py``). It is built from the model's architecture
(``architecture.py``: every layer in order with its hyper-parameters), which
the file stores too, so any ``Sequential`` of the package's layers can be
compressed, saved, and loaded and run in another process with no other
information.

``predict`` runs straight from that form, the way the EIE accelerator does
(Han et al., ISCA 2016): it turns the relative indices back into positions by
a running sum, looks every weight up in the codebook, and multiplies only the
stored entries -- no dense weight matrix is ever built. ``to_dense`` builds
the ordinary model instead; both give the same predictions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from deepcompress_np._validate import is_integer
from deepcompress_np.architecture import build, build_layer, weight_shapes
from deepcompress_np.fileformat import (
    MAX_INDEX_BITS,
    CompressedFileError,
    CompressedLayer,
    check_name,
    decode_file,
    encode_file,
    encode_layer,
)
from deepcompress_np.models import atomic_write
from deepcompress_np.nn.conv import im2col, output_size
from deepcompress_np.sparse import relative_index
from deepcompress_np.sparse.kernels import RowSparse

#: Layer kinds that hold weights (stored compressed); every other kind is rebuilt from its config.
WEIGHT_KINDS = ("Linear", "Conv2D")


class CompressedModel:
    """A model in Deep Compression's stored form.

    Parameters
    ----------
    architecture : dict
        Every layer in order with its hyper-parameters, as from
        ``model.architecture()`` (see ``deepcompress_np.architecture``).
    layers : list of CompressedLayer
        One per weight layer (Linear, Conv2D) of ``architecture``, in order,
        with the weight shapes it gives.
    name : str, optional
        The model's name (``"lenet5"``), kept as ``arch`` and in the file:
        1 to 64 printable ASCII characters, or None.

    Attributes
    ----------
    arch : str or None
        The model's name, for display.
    architecture : dict
        A copy of the architecture description.
    input_shape : tuple of int
        One example's shape, e.g. ``(1, 28, 28)``.
    format_version : int or None
        The version of the file this model was read from (None if built in memory).

    Only the layers without weights (ReLU, MaxPool2D, Flatten, Dropout) are
    built; a weight layer exists only in its compressed form, so a file of a
    large network loads without allocating its dense weights.
    """

    def __init__(self, architecture, layers, name=None):
        if not isinstance(architecture, dict):
            raise TypeError(f"architecture must be a dict as from model.architecture(), got "
                            f"{type(architecture).__name__}")
        expected = list(weight_shapes(architecture).items())  # validates it (ArchitectureError, a ValueError)
        check_name(name)
        self.layers = list(layers)
        got = [(layer.name, tuple(layer.shape)) for layer in self.layers]
        if got != expected:
            raise ValueError(f"the architecture's weight layers are {expected}; got compressed layers {got}")
        for layer in self.layers:
            if np.shape(layer.bias) != (layer.shape[0],):
                raise ValueError(f"layer {layer.name!r}: bias of shape {np.shape(layer.bias)}, expected "
                                 f"({layer.shape[0]},)")
        self.arch = name
        self.architecture = json.loads(json.dumps(architecture))  # a plain copy
        self.input_shape = tuple(self.architecture["input_shape"])
        self.format_version = None
        # The layers without weights are cheap: build them. Weight layers stay as their configs.
        self._steps = [(config, None if config["kind"] in WEIGHT_KINDS else build_layer(config))
                       for config in self.architecture["layers"]]

    # -- building -------------------------------------------------------------

    @classmethod
    def from_quantized(cls, model, quantized, index_bits=None):
        """Store a pruned and quantized model.

        Parameters
        ----------
        model : Sequential
            Any model of the package's layers; supplies the architecture
            (``model.architecture()``), the name (``model.arch``) and the biases.
        quantized : dict[key, QuantizedLayer]
            One per weight tensor (``"ip1.W"``): codebook, cluster index of every
            surviving weight, and the pruning mask.
        index_bits : int, "auto" or dict[layer name, int or "auto"], optional
            Relative-index field width (1 to 16) per layer; a layer not given
            (and every layer by default) gets ``"auto"``, which tries every
            width from 2 to 12 and keeps the one whose Huffman-coded layer is
            smallest: a wider field needs fewer filler zeros, but its gap
            alphabet and code table are larger (paper §2 uses 8 bits for conv
            and 5 for fc layers).
        """
        spec = model.architecture()
        names = [config["name"] for config in spec["layers"] if config["kind"] in WEIGHT_KINDS]
        widths = _index_bits_per_layer(index_bits, names)
        layers = []
        for layer in model.weight_layers():
            key = f"{layer.name}.W"
            if key not in quantized:
                raise ValueError(f"layer {layer.name!r} is not quantized; every weight layer needs a codebook")
            q = quantized[key]
            if q.mask.shape != layer.params["W"].shape:
                raise ValueError(f"{key}: quantized shape {q.mask.shape}, but the layer's weights are "
                                 f"{layer.params['W'].shape}")
            symbols = np.zeros(q.mask.shape, dtype=np.uint32)
            symbols[q.mask] = q.index.astype(np.uint32) + 1  # 0 is kept for filler zeros
            bias = layer.params["b"].astype(np.float32).copy()
            b = widths[layer.name]
            candidates = AUTO_INDEX_BITS if b == "auto" else (b,)
            options = [_stored_layer(layer.name, symbols, q, bias, width) for width in candidates]
            layers.append(min(options, key=lambda stored: len(encode_layer(stored)[0])))
        return cls(spec, layers, name=model.arch)

    # -- the file -------------------------------------------------------------

    def to_bytes(self):
        """The file's bytes (version 2, see ``fileformat.py``)."""
        return encode_file(self.arch, self.architecture, self.layers)[0]

    def byte_breakdown(self):
        """Bytes per layer and part (streams, codebook, bias, tables, headers) of the file."""
        return encode_file(self.arch, self.architecture, self.layers)[1]

    def save(self, path):
        """Write the compressed file atomically; returns its size in bytes."""
        data = self.to_bytes()
        atomic_write(path, lambda f: f.write(data))
        return len(data)

    @classmethod
    def from_bytes(cls, data):
        """Parse and validate a file's bytes; raises :class:`CompressedFileError` on any problem."""
        decoded = decode_file(data)
        model = cls(decoded.architecture, decoded.layers, name=decoded.name)
        model.format_version = decoded.version
        return model

    @classmethod
    def load(cls, path):
        """Read a compressed file; raises :class:`CompressedFileError` if it is not a valid one."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no compressed file at {str(path)!r}")
        return cls.from_bytes(path.read_bytes())

    # -- using it -------------------------------------------------------------

    def to_dense(self):
        """An ordinary ``Sequential`` with the decoded weights (pruned ones exactly 0), and its ``masks``."""
        model = build(self.architecture, arch=self.arch)
        model.masks = {}
        for layer, stored in zip(model.weight_layers(), self.layers):
            layer.params["W"][...] = stored.to_dense()
            layer.params["b"][...] = stored.bias
            mask = np.zeros(int(np.prod(stored.shape)), dtype=bool)
            mask[stored.positions()[stored.symbols > 0]] = True
            model.masks[f"{layer.name}.W"] = mask.reshape(stored.shape)
        return model

    def forward(self, X):
        """Logits computed from the compressed form, EIE style (no dense weight matrix).

        X : (N, *input_shape) float32, e.g. (N, 1, 28, 28) -> logits (N, classes).
        """
        X = np.asarray(X)
        if tuple(X.shape[1:]) != self.input_shape:
            # A net that starts with Flatten also takes the examples already flattened.
            flat = self._steps[0][0]["kind"] == "Flatten" and X.ndim >= 2
            if not (flat and int(np.prod(X.shape[1:])) == int(np.prod(self.input_shape))):
                raise ValueError(f"the model takes a batch of shape (N, {', '.join(map(str, self.input_shape))}), "
                                 f"got {X.shape}")
        stored = iter(self.layers)
        x = X
        for config, layer in self._steps:
            if layer is None:
                x = _sparse_layer_forward(config, next(stored), x)
            else:
                x = layer.forward(x, training=False)
        return x

    def predict(self, X, batch_size=128):
        """Class predictions, shape (N,), computed from the compressed form."""
        out = [self.forward(X[i:i + batch_size]).argmax(axis=1) for i in range(0, len(X), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def n_kept(self):
        return sum(int(np.count_nonzero(layer.symbols)) for layer in self.layers)

    def __repr__(self):
        kinds = [config["kind"] for config in self.architecture["layers"]]
        return (f"CompressedModel(arch={self.arch!r}, input_shape={self.input_shape}, layers={kinds}, "
                f"kept={self.n_kept():,})")


def _index_bits_per_layer(index_bits, names):
    """Layer name -> relative-index width (1..16) or "auto", for every weight layer."""
    if index_bits is None or isinstance(index_bits, (int, str)):
        index_bits = {name: "auto" if index_bits is None else index_bits for name in names}
    if not isinstance(index_bits, dict):
        raise TypeError(f"index_bits must be an int, 'auto' or a dict of layer name -> width, got "
                        f"{type(index_bits).__name__}")
    unknown = sorted(set(index_bits) - set(names))
    if unknown:
        raise ValueError(f"index_bits names layers {unknown} the model does not have; its weight layers are {names}")
    widths = {}
    for name in names:
        b = index_bits.get(name, "auto")
        if b != "auto" and not (is_integer(b) and 1 <= b <= MAX_INDEX_BITS):
            raise ValueError(f"index_bits for {name!r} must be 'auto' or an integer from 1 to {MAX_INDEX_BITS}, "
                             f"got {b!r}")
        widths[name] = b if b == "auto" else int(b)
    return widths


AUTO_INDEX_BITS = tuple(range(2, 13))


def _stored_layer(name, symbols, quantized_layer, bias, b):
    """The CompressedLayer of one weight tensor with b-bit relative indices."""
    ri = relative_index(symbols, b, mask=quantized_layer.mask)
    return CompressedLayer(name, tuple(symbols.shape), b, quantized_layer.codebook.astype(np.float32), bias,
                           ri.fields.astype(np.uint32), ri.values.astype(np.uint32))


def _sparse_matmul(A, rows, cols, values, n_rows):
    """``A @ W.T`` for a sparse W given as entries (rows, cols, values) sorted by row.

    A : (M, n_cols), returns (M, n_rows). Output column r is the dot product of
    W's stored values in row r with the columns of A they connect to: only the
    stored weights are ever multiplied, one output neuron at a time (as EIE
    does, one processing element per output row).
    """
    out = np.zeros((n_rows, A.shape[0]), dtype=A.dtype)
    AT = np.ascontiguousarray(A.T)  # (n_cols, M): a stored weight reads one contiguous row
    bounds = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1], True]) if rows.size else []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        out[rows[start]] = values[start:stop] @ AT[cols[start:stop]]
    return out.T


def _setting(layer, key):
    """A hyper-parameter of a layer given as its config dict or as the layer object."""
    return layer[key] if isinstance(layer, dict) else getattr(layer, key)


def _sparse_layer_forward(layer, stored, x):
    """One weight layer run from its stored form: only the kept entries are multiplied.

    Parameters
    ----------
    layer : dict or Layer
        The layer's config (``{"kind": "Conv2D", "stride": 2, ...}``) or a
        Linear/Conv2D object: only its kind, stride and padding are read,
        never its weights.
    stored : CompressedLayer
    x : ndarray
        (N, in) for Linear, (N, C, H, W) for Conv2D.
    """
    kind = layer["kind"] if isinstance(layer, dict) else type(layer).__name__
    if kind == "Linear":
        # The run-time form (sparse/kernels.py: column indices, one-byte cluster indices, row
        # pointers) is decoded from the gaps once, on first use, and kept with the layer.
        kernel = getattr(stored, "_kernel", None)
        if kernel is None:
            kernel = stored._kernel = RowSparse.from_compressed_layer(stored)
        return kernel.linear(x) + stored.bias
    keep = stored.symbols > 0  # fillers carry weight 0: skip them
    positions = stored.positions()[keep]
    values = stored.codebook[stored.symbols[keep] - 1]  # shared-weight lookup
    # Conv2D: W[f, c, u, v] multiplies im2col column (u * kw + v) * C + c.
    f_out, c_in, kh, kw = stored.shape
    f, rest = np.divmod(positions, c_in * kh * kw)
    c, uv = np.divmod(rest, kh * kw)
    u, v = np.divmod(uv, kw)
    cols = (u * kw + v) * c_in + c
    n, _, h, w = x.shape
    s, p = _setting(layer, "stride"), _setting(layer, "padding")
    ho, wo = output_size(h, kh, s, p), output_size(w, kw, s, p)
    out = _sparse_matmul(im2col(x, kh, kw, s, p), f, cols, values, f_out) + stored.bias
    return out.reshape(n, ho, wo, f_out).transpose(0, 3, 1, 2)


__all__ = ["CompressedModel", "CompressedFileError"]
