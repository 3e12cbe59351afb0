"""Convolution and max pooling with hand-written forward and backward passes.

The layers follow the protocol stated in ``layers.py``. Both are written with
*strided views*: ``sliding_window_view`` looks at every kh x kw window of the
input without copying it, which is several times faster than gathering the
windows with fancy indexing.

im2col and col2im
-----------------
A convolution is a matrix product once every receptive field is laid out as a
row ("image to columns")::

    cols[(n, i, j), (u, v, c)] = x_pad[n, c, i*s + u, j*s + v]      (N*Ho*Wo, kh*kw*C)
    out[(n, i, j), f]           = cols @ W2.T + b                     (N*Ho*Wo, F)

with ``W2[f, (u, v, c)] = W[f, c, u, v]``. The backward pass multiplies by the
transposes, and *col2im* adds each row of ``dcols`` back onto the pixels it
was read from (a pixel belongs to up to kh*kw windows, so its gradient is a sum).
Conv2D computes that sum one kernel offset at a time (:func:`add_shifted`).

Memory layout
-------------
Columns are ordered (u, v, c), channel innermost, and the layers' outputs are
stored channels-last ("NHWC") in memory while being *viewed* as (N, C, H, W).
The matrix product produces (N*Ho*Wo, F), which is NHWC already; keeping that
layout means im2col and col2im copy whole runs of C contiguous numbers instead
of single scattered floats, which makes them several times faster. For the same
reason the column matrix of a network's *input* (stored NCHW, one channel for
MNIST) is kept in column-major order, where each kernel offset's Wo pixels of a
row are contiguous (see ``Conv2D._columns``). The shapes every function takes
and returns are the usual (N, C, H, W).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from deepcompress_np._validate import is_integer
from deepcompress_np.nn.layers import Layer, _glorot_uniform


def _check_positive_int(what, value, minimum=1):
    if not is_integer(value) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _same_layout(a, like):
    """A copy of ``a`` laid out in memory like ``like`` (mixing layouts makes elementwise work slow)."""
    out = np.empty_like(like, dtype=a.dtype)
    out[...] = a
    return out


def output_size(size, kernel, stride, padding=0):
    """Spatial output size of a convolution or pooling window: floor((size + 2p - k) / s) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def windows(x, kh, kw, stride):
    """Strided view of every kh x kw window: (N, C, H, W) -> (N, C, Ho, Wo, kh, kw), no copy."""
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


def im2col(x, kh, kw, stride=1, padding=0, out=None):
    """Lay every receptive field out as a row.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    out : ndarray, shape (N*Ho*Wo, kh*kw*C), optional
        Where to write the result (e.g. a work array reused between calls), in
        any memory order: Conv2D picks the order that makes the copy fastest.

    Returns
    -------
    cols : ndarray, shape (N*Ho*Wo, kh*kw*C)
        Row (n, i, j) holds window (i, j) of image n, ordered (u, v, c).
    """
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = windows(x, kh, kw, stride)  # (N, C, Ho, Wo, kh, kw), a view
    n, c, ho, wo = win.shape[:4]
    rows = win.transpose(0, 2, 3, 4, 5, 1)  # (N, Ho, Wo, kh, kw, C), still a view
    if out is None:
        return rows.reshape(n * ho * wo, kh * kw * c)  # the copy happens here
    if out.shape != (n * ho * wo, kh * kw * c):
        raise ValueError(f"im2col: out has shape {out.shape}, expected {(n * ho * wo, kh * kw * c)}")
    # View ``out`` with the six axes of ``rows``: row (n, i, j), column (u, v, c).
    # Built from out's own strides, so ``out`` may be laid out in any order.
    rs, cs = out.strides
    target = as_strided(out, rows.shape, (ho * wo * rs, wo * rs, rs, kw * c * cs, c * cs, cs), writeable=True)
    np.copyto(target, rows)
    return out


def col2im(dcols, x_shape, kh, kw, stride=1, padding=0):
    """Adjoint of :func:`im2col`: add each row of ``dcols`` back onto its window.

    Parameters
    ----------
    dcols : ndarray, shape (N*Ho*Wo, kh*kw*C), ordered (u, v, c) like im2col's
    x_shape : tuple (N, C, H, W)

    Returns
    -------
    dx : ndarray, shape (N, C, H, W) (stored channels-last)
    """
    n, c, h, w = x_shape
    ho, wo = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    per_offset = dcols.reshape(n, ho, wo, kh, kw, c).transpose(3, 4, 0, 1, 2, 5)  # (kh, kw, N, Ho, Wo, C) view
    return add_shifted(per_offset, x_shape, stride, padding)


def add_shifted(per_offset, x_shape, stride=1, padding=0):
    """The sum that col2im computes, given one slab per kernel offset.

    ``dx[n, c, i*s + u - p, j*s + v - p] += per_offset[u, v, n, i, j, c]`` for
    every kernel offset (u, v): each slab is added onto the input pixels its
    windows read at that offset, kh*kw strided additions over the whole batch.

    Parameters
    ----------
    per_offset : ndarray, shape (kh, kw, N, Ho, Wo, C)
    x_shape : tuple (N, C, H, W)

    Returns
    -------
    dx : ndarray, shape (N, C, H, W) (stored channels-last)
    """
    kh, kw, n, ho, wo, c = per_offset.shape
    h, w = x_shape[2:]
    dx = np.zeros((n, h + 2 * padding, w + 2 * padding, c), dtype=per_offset.dtype)  # NHWC
    for u in range(kh):
        for v in range(kw):
            dx[:, u:u + stride * ho:stride, v:v + stride * wo:stride, :] += per_offset[u, v]
    dx = dx.transpose(0, 3, 1, 2)  # view as (N, C, H, W)
    if padding:
        dx = dx[:, :, padding:-padding, padding:-padding]
    return dx


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in Caffe and PyTorch).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int
        Square kernels kh = kw = kernel_size.
    stride : int, default 1
    padding : int, default 0
        Zero padding on every side.
    rng : numpy.random.Generator or int, optional
        Source of the initial weights (Glorot uniform); biases start at zero.

    Shapes
    ------
    x : (N, C, H, W), W : (F, C, kh, kw), b : (F,), out : (N, F, Ho, Wo) with
    Ho = floor((H + 2*padding - kh) / stride) + 1.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None, name=None):
        super().__init__(name)
        self.in_channels = _check_positive_int("in_channels", in_channels)
        self.out_channels = _check_positive_int("out_channels", out_channels)
        self.kernel_size = _check_positive_int("kernel_size", kernel_size)
        self.stride = _check_positive_int("stride", stride)
        self.padding = _check_positive_int("padding", padding, minimum=0)
        rng = np.random.default_rng(rng)
        k = self.kernel_size
        fan_in, fan_out = in_channels * k * k, out_channels * k * k
        self.params["W"] = _glorot_uniform(rng, fan_in, fan_out, (out_channels, in_channels, k, k))
        self.params["b"] = np.zeros(out_channels, dtype=np.float32)
        self._buffers = {}

    def _work(self, name, shape, dtype, order="C"):
        """A work array kept between steps (fresh large arrays cost a page fault per 4 KB, every step)."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype or not buf.flags[f"{order}_CONTIGUOUS"]:
            buf = self._buffers[name] = np.empty(shape, dtype=dtype, order=order)
        return buf

    def _w2b(self):
        """The kernels as a matrix W2[f, (u, v, c)] = W[f, c, u, v], with the bias as a last column: (F, kh*kw*C + 1)."""
        w2 = self.params["W"].transpose(0, 2, 3, 1).reshape(self.out_channels, -1)
        return np.concatenate([w2, self.params["b"][:, None]], axis=1)

    def _columns(self, x, ho, wo, training):
        """im2col of x plus a last column of ones, shape (N*Ho*Wo, kh*kw*C + 1).

        The bias is the weight of an input that is always 1: with that column,
        one matrix product adds the bias in the forward pass and sums its
        gradient in the backward pass. In training the columns go into a work
        array reused every step (evaluation batches get a fresh one).

        The memory order follows the input's, so that the copy reads long
        contiguous runs: an input stored channels-last (what Conv2D and MaxPool2D
        return) gives kw*C contiguous numbers per window row, which suits rows
        laid out (u, v, c) (C order); an input stored NCHW (images, e.g. MNIST's
        single channel) has its Wo pixels along a row contiguous instead, which
        suits a column-major (Fortran order) matrix. Matrix products take either.
        """
        n, c = x.shape[:2]
        k = self.kernel_size
        shape = (n * ho * wo, k * k * c + 1)
        order = "F" if x.strides[3] == x.itemsize else "C"
        if training:
            cols = self._work("cols", shape, x.dtype, order)
        else:
            cols = np.empty(shape, dtype=x.dtype, order=order)
        cols[:, -1] = 1
        im2col(x, k, k, self.stride, self.padding, out=cols[:, :-1])
        return cols

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> out: (N, F, Ho, Wo) (stored channels-last)."""
        self._check_input(x, 4, f"(N, {self.in_channels}, H, W)")
        n, c, h, w = x.shape
        k, s, p = self.kernel_size, self.stride, self.padding
        if c != self.in_channels:
            raise ValueError(f"{self!r}: expected {self.in_channels} input channels, got {c} (shape {x.shape})")
        if h + 2 * p < k or w + 2 * p < k:
            raise ValueError(f"{self!r}: input {h}x{w} (padding {p}) is smaller than the {k}x{k} kernel")
        ho, wo = output_size(h, k, s, p), output_size(w, k, s, p)
        cols = self._columns(x, ho, wo, training)  # (N*Ho*Wo, k*k*C + 1)
        out = cols @ self._w2b().T  # (N*Ho*Wo, F): the windows times the kernels, plus the bias
        self.cache = (x.shape, cols)
        return out.reshape(n, ho, wo, self.out_channels).transpose(0, 3, 1, 2)

    def backward(self, dout, need_dx=True):
        """dout: (N, F, Ho, Wo) -> dx: (N, C, H, W); stores dW (F, C, kh, kw) and db (F,)."""
        x_shape, cols = self.cache
        k = self.kernel_size
        dout2 = dout.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)  # (N*Ho*Wo, F)
        # dW2 = dout2.T @ cols, computed as (cols.T @ dout2).T (BLAS is faster that way round here).
        dw2b_t = cols.T @ dout2  # (k*k*C + 1, F): dW2.T, and db in the last row (the column of ones)
        self.grads["W"] = np.ascontiguousarray(
            dw2b_t[:-1].reshape(k, k, self.in_channels, self.out_channels).transpose(3, 2, 0, 1))
        self.grads["b"] = dw2b_t[-1].copy()
        if not need_dx:
            return None
        # col2im(dout2 @ W2) would do, but it is faster to compute the slab of
        # each kernel offset (u, v), dout2 @ W[:, :, u, v], contiguously: one
        # batched matrix product gives all k*k of them, then add them shifted.
        n, ho, wo = x_shape[0], *dout.shape[2:]
        w_offsets = self.params["W"].transpose(2, 3, 0, 1).reshape(k * k, self.out_channels, self.in_channels)
        per_offset = np.matmul(dout2, w_offsets, out=self._work("dx slabs", (k * k, n * ho * wo, self.in_channels),
                                                                dout2.dtype))
        per_offset = per_offset.reshape(k, k, n, ho, wo, self.in_channels)
        return add_shifted(per_offset, x_shape, self.stride, self.padding)

    def __repr__(self):
        name = f"{self.name!r}, " if self.name else ""
        return (f"Conv2D({name}{self.in_channels}->{self.out_channels}, "
                f"{self.kernel_size}x{self.kernel_size}, stride={self.stride}, padding={self.padding})")


class MaxPool2D(Layer):
    """Max pooling over kernel_size x kernel_size windows.

    The gradient of each window goes to exactly one of its maxima, the first in
    row-major order within the window, as in Caffe and PyTorch. This matters on
    MNIST, whose blank background makes exact ties (four zeros) common: sending
    the gradient to every tied maximum would multiply it.

    Parameters
    ----------
    kernel_size : int
    stride : int, optional
        Defaults to ``kernel_size`` (non-overlapping windows). Windows that do not
        fit at the bottom/right edge are dropped (floor mode, as in PyTorch).

    Shapes
    ------
    x : (N, C, H, W), out : (N, C, Ho, Wo) with Ho = floor((H - k) / stride) + 1.
    """

    def __init__(self, kernel_size, stride=None, name=None):
        super().__init__(name)
        self.kernel_size = _check_positive_int("kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else _check_positive_int("stride", stride)

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> out: (N, C, Ho, Wo)."""
        self._check_input(x, 4, "(N, C, H, W)")
        k, s = self.kernel_size, self.stride
        h, w = x.shape[2:]
        if h < k or w < k:
            raise ValueError(f"{self!r}: input {h}x{w} is smaller than the {k}x{k} window")
        ho, wo = output_size(h, k, s), output_size(w, k, s)
        # Visit the k*k offsets of the windows in row-major order; a strictly
        # greater value takes over, so ties keep the first maximum.
        out = x[:, :, :s * ho:s, :s * wo:s].copy(order="K")  # keeps the input's memory layout
        arg = np.zeros_like(out, dtype=np.uint8 if k * k < 256 else np.int32)
        for offset in range(1, k * k):
            u, v = divmod(offset, k)
            candidate = x[:, :, u:u + s * ho:s, v:v + s * wo:s]
            better = candidate > out
            np.maximum(out, candidate, out=out)
            # Offsets only grow, so "the later offset if it is strictly better" is a maximum.
            np.maximum(arg, better * arg.dtype.type(offset), out=arg)
        self.cache = (x, arg)
        return out

    def backward(self, dout, need_dx=True):
        """dout: (N, C, Ho, Wo) -> dx: (N, C, H, W), non-zero only at one maximum per window."""
        if not need_dx:
            return None
        x, arg = self.cache
        k, s = self.kernel_size, self.stride
        ho, wo = arg.shape[2:]
        if dout.strides != arg.strides:  # e.g. NCHW from Flatten.backward: match arg's memory layout first
            dout = _same_layout(dout, arg)
        tiled = s == k and x.shape[2] == k * ho and x.shape[3] == k * wo  # windows cover x exactly once
        # Same memory layout as the input; no need to clear it if every pixel is written below.
        dx = (np.empty_like if tiled else np.zeros_like)(x, dtype=dout.dtype)
        for offset in range(k * k):
            u, v = divmod(offset, k)
            # Windows whose winner sits at offset (u, v) send their gradient there.
            target = dx[:, :, u:u + s * ho:s, v:v + s * wo:s]
            if tiled:
                np.multiply(dout, arg == offset, out=target)
            else:  # overlapping windows (stride < k) can share a pixel: add
                target += dout * (arg == offset)
        return dx

    def __repr__(self):
        name = f"{self.name!r}, " if self.name else ""
        return f"MaxPool2D({name}{self.kernel_size}x{self.kernel_size}, stride={self.stride})"
