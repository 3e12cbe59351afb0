"""A compressed model: build it from a pruned and quantized net, save it, load it, run it.

:class:`CompressedModel` is the form the paper's pipeline ends in (Figure 1):
per layer, the surviving connections as relative indices with filler zeros
(§2), each as a cluster index into a shared codebook (§3), Huffman-coded on
disk (§4, ``fileformat.py``).

``predict`` runs straight from that form, the way the EIE accelerator does
(Han et al., ISCA 2016): it turns the relative indices back into positions by
a running sum, looks every weight up in the codebook, and multiplies only the
stored entries -- no dense weight matrix is ever built. ``to_dense`` builds
the ordinary model instead; both give the same predictions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepcompress_np.fileformat import CompressedFileError, CompressedLayer, decode_file, encode_file, encode_layer
from deepcompress_np.models import atomic_write, build
from deepcompress_np.nn import Conv2D, Linear
from deepcompress_np.nn.conv import im2col, output_size
from deepcompress_np.sparse import default_index_bits, relative_index
from deepcompress_np.sparse.kernels import RowSparse


class CompressedModel:
    """A model in Deep Compression's stored form.

    Parameters
    ----------
    arch : str
        ``"lenet300"`` or ``"lenet5"``.
    layers : list of CompressedLayer
        One per weight layer, in order.
    """

    def __init__(self, arch, layers):
        self.arch = arch
        self.layers = list(layers)
        # The architecture supplies the layers without weights (ReLU, pooling, ...) and the
        # convolutions' stride and padding; its dense weight arrays are dropped, never used.
        self._skeleton = build(arch)
        names = [layer.name for layer in self._skeleton.weight_layers()]
        if [layer.name for layer in self.layers] != names:
            raise ValueError(f"{arch} needs compressed layers {names}, got {[l.name for l in self.layers]}")
        for layer in self._skeleton.layers:
            layer.params = {}

    # -- building -------------------------------------------------------------

    @classmethod
    def from_quantized(cls, model, quantized, index_bits=None):
        """Store a pruned and quantized model.

        Parameters
        ----------
        model : Sequential
            Supplies the architecture and the biases.
        quantized : dict[key, QuantizedLayer]
            One per weight tensor (``"ip1.W"``): codebook, cluster index of every
            surviving weight, and the pruning mask.
        index_bits : dict[layer name, int or "auto"], optional
            Relative-index field width per layer; default 5 for fc, 8 for conv
            (paper §2). ``"auto"`` tries every width from 2 to 12 and keeps the
            one whose Huffman-coded layer is smallest: a wider field needs fewer
            filler zeros, but its gap alphabet and code table are larger.
        """
        index_bits = dict(index_bits or {})
        layers = []
        for layer in model.weight_layers():
            key = f"{layer.name}.W"
            if key not in quantized:
                raise ValueError(f"layer {layer.name!r} is not quantized; every weight layer needs a codebook")
            q = quantized[key]
            b = index_bits.get(layer.name, default_index_bits(q.mask.shape))
            symbols = np.zeros(q.mask.shape, dtype=np.uint32)
            symbols[q.mask] = q.index.astype(np.uint32) + 1  # 0 is kept for filler zeros
            bias = layer.params["b"].astype(np.float32).copy()
            candidates = AUTO_INDEX_BITS if b == "auto" else (b,)
            options = [_stored_layer(layer.name, symbols, q, bias, width) for width in candidates]
            layers.append(min(options, key=lambda stored: len(encode_layer(stored)[0])))
        return cls(model.arch, layers)

    # -- the file -------------------------------------------------------------

    def to_bytes(self):
        """The file's bytes (see ``fileformat.py``)."""
        return encode_file(self.arch, self.layers)[0]

    def byte_breakdown(self):
        """Bytes per layer and part (streams, codebook, bias, tables, headers) of the file."""
        return encode_file(self.arch, self.layers)[1]

    def save(self, path):
        """Write the compressed file atomically; returns its size in bytes."""
        data = self.to_bytes()
        atomic_write(path, lambda f: f.write(data))
        return len(data)

    @classmethod
    def from_bytes(cls, data):
        """Parse and validate a file's bytes; raises :class:`CompressedFileError` on any problem."""
        arch, layers = decode_file(data)
        return cls(arch, layers)

    @classmethod
    def load(cls, path):
        """Read a compressed file; raises :class:`CompressedFileError` if it is not a valid one."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no compressed file at {str(path)!r}")
        return cls.from_bytes(path.read_bytes())

    # -- using it -------------------------------------------------------------

    def to_dense(self):
        """An ordinary ``Sequential`` with the decoded weights (pruned ones exactly 0)."""
        model = build(self.arch)
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

        X : (N, 1, 28, 28) float32 -> logits (N, 10).
        """
        stored = iter(self.layers)
        x = X
        for layer in self._skeleton.layers:
            if isinstance(layer, (Linear, Conv2D)):
                x = _sparse_layer_forward(layer, next(stored), x)
            else:
                x = layer.forward(x, training=False)
        return x

    def predict(self, X, batch_size=128):
        """Class predictions, shape (N,), computed from the compressed form."""
        out = [self.forward(X[i:i + batch_size]).argmax(axis=1) for i in range(0, len(X), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def n_kept(self):
        return sum(int(np.count_nonzero(layer.symbols)) for layer in self.layers)


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


def _sparse_layer_forward(layer, stored, x):
    if isinstance(layer, Linear):
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
    s, p = layer.stride, layer.padding
    ho, wo = output_size(h, kh, s, p), output_size(w, kw, s, p)
    out = _sparse_matmul(im2col(x, kh, kw, s, p), f, cols, values, f_out) + stored.bias
    return out.reshape(n, ho, wo, f_out).transpose(0, 3, 1, 2)


__all__ = ["CompressedModel", "CompressedFileError"]
