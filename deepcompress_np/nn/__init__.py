"""A mini neural-network library with hand-written backprop (CS231n style).

Layers share one protocol (see ``layers.py``): ``forward(x, training=False)``
keeps a cache, ``backward(dout)`` returns ``dx`` and fills ``grads``.
"""

from deepcompress_np.nn.conv import Conv2D, MaxPool2D, col2im, im2col
from deepcompress_np.nn.gradcheck import check_layer, check_model, numerical_gradient, rel_error
from deepcompress_np.nn.layers import Dropout, Flatten, Layer, Linear, ReLU
from deepcompress_np.nn.loss import softmax_cross_entropy
from deepcompress_np.nn.optim import SGD
from deepcompress_np.nn.sequential import Sequential

__all__ = [
    "Layer", "Linear", "ReLU", "Dropout", "Flatten", "Conv2D", "MaxPool2D", "im2col", "col2im",
    "Sequential", "softmax_cross_entropy", "SGD", "rel_error", "numerical_gradient", "check_layer", "check_model",
]
