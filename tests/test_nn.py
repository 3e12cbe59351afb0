"""The mini neural net: gradient checks, pooling ties, the loss, the optimizer and its extension point."""

import numpy as np
import pytest

from deepcompress_np.nn import (
    SGD, Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU, Sequential, check_layer, check_model, col2im, im2col,
    numerical_gradient, rel_error, softmax_cross_entropy,
)

TOL = 1e-6


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("layer, shape", [
    (Linear(7, 5, rng=0), (4, 7)),
    (Conv2D(3, 4, 3, rng=0), (2, 3, 6, 5)),
    (Conv2D(2, 3, 3, stride=2, padding=1, rng=1), (2, 2, 7, 7)),
    (Conv2D(2, 3, 5, stride=1, padding=2, rng=2), (2, 2, 5, 6)),
    (Conv2D(1, 2, 2, stride=3, rng=3), (3, 1, 8, 8)),
    (MaxPool2D(2), (2, 3, 6, 6)),
    (MaxPool2D(2), (2, 3, 7, 5)),  # floor mode drops the last row/column
    (MaxPool2D(3, stride=2), (2, 2, 7, 7)),  # overlapping windows
    (ReLU(), (5, 6)),
    (Flatten(), (2, 3, 4, 5)),
])
def test_every_layer_passes_gradient_check_in_float64(layer, shape):
    layer.astype(np.float64)
    errors = check_layer(layer, _x(shape))
    assert max(errors.values()) < TOL, errors
    assert set(errors) == {"x", *layer.params}


def test_gradient_check_catches_a_wrong_backward():
    layer = Linear(4, 3, rng=0).astype(np.float64)
    wrong = layer.backward
    layer.backward = lambda dout, need_dx=True: 2 * wrong(dout, need_dx)
    assert check_layer(layer, _x((2, 4)))["x"] > 0.1


def test_softmax_cross_entropy_gradient_and_value():
    logits, y = _x((6, 4)), np.array([0, 1, 2, 3, 0, 1])
    loss, d = softmax_cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(6), y])))
    num = numerical_gradient(lambda: softmax_cross_entropy(logits, y)[0], logits)
    assert rel_error(d, num) < TOL
    assert d.sum() == pytest.approx(0.0, abs=1e-12)  # each row of p - t sums to zero


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]], dtype=np.float32)
    loss, d = softmax_cross_entropy(logits, np.array([2, 1]))
    assert np.isfinite(loss) and loss == pytest.approx(1000.0, rel=1e-3)
    assert np.all(np.isfinite(d)) and d.dtype == np.float32


def test_whole_models_pass_gradient_check():
    from deepcompress_np.models import lenet5, lenet_300_100

    rng = np.random.default_rng(0)
    small = Sequential(Conv2D(1, 2, 3, rng=0, name="c1"), MaxPool2D(2), ReLU(), Flatten(),
                       Linear(2 * 3 * 3, 5, rng=1, name="f1"), ReLU(), Linear(5, 3, rng=2, name="f2")).astype(np.float64)
    x, y = rng.standard_normal((4, 1, 8, 8)), np.array([0, 1, 2, 1])
    errors = check_model(small, softmax_cross_entropy, x, y)
    assert max(errors.values()) < TOL, errors
    # The real LeNets: check one parameter of each on a tiny batch (the full check is slow).
    for model, x in ((lenet_300_100(0), rng.random((2, 1, 28, 28))), (lenet5(0), rng.random((2, 1, 28, 28)))):
        model.astype(np.float64)
        _, d = softmax_cross_entropy(model.forward(x), np.array([3, 7]))
        model.backward(d)
        last = model.weight_layers()[-1]
        analytic = last.grads["b"].copy()
        numeric = numerical_gradient(lambda: softmax_cross_entropy(model.forward(x), np.array([3, 7]))[0],
                                     last.params["b"])
        assert rel_error(analytic, numeric) < TOL


def test_maxpool_ties_send_the_gradient_to_exactly_one_maximum():
    pool = MaxPool2D(2)
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)  # blank MNIST background: every window is a 4-way tie
    x[0, 0, 2, 3] = x[0, 0, 3, 2] = 1.0  # a 2-way tie in the last window
    out = pool.forward(x)
    dx = pool.backward(np.ones_like(out))
    assert dx.sum() == 4.0  # one unit of gradient per window, never duplicated
    for i in range(2):
        for j in range(2):
            window = dx[0, 0, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
            assert np.count_nonzero(window) == 1
    assert dx[0, 0, 0, 0] == 1.0  # first maximum in row-major order, as Caffe and PyTorch
    assert dx[0, 0, 2, 3] == 1.0 and dx[0, 0, 3, 2] == 0.0


def test_maxpool_matches_a_plain_loop():
    x = np.round(_x((2, 3, 7, 7), seed=5) * 2) / 2  # many ties
    for k, s in ((2, 2), (3, 2), (2, 1)):
        pool = MaxPool2D(k, stride=s)
        out = pool.forward(x)
        g = _x(out.shape, seed=6)
        dx = pool.backward(g)
        ref_out, ref_dx = np.zeros_like(out), np.zeros_like(x)
        for n in range(2):
            for c in range(3):
                for i in range(out.shape[2]):
                    for j in range(out.shape[3]):
                        win = x[n, c, i * s:i * s + k, j * s:j * s + k]
                        u, v = np.unravel_index(np.argmax(win), win.shape)
                        ref_out[n, c, i, j] = win[u, v]
                        ref_dx[n, c, i * s + u, j * s + v] += g[n, c, i, j]
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_allclose(dx, ref_dx, atol=1e-12)


def test_conv_matches_a_direct_loop():
    rng = np.random.default_rng(3)
    conv = Conv2D(2, 3, 3, stride=2, padding=1, rng=0).astype(np.float64)
    conv.params["b"][:] = rng.standard_normal(3)
    x = rng.standard_normal((2, 2, 5, 6))
    out = conv.forward(x)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    W, b = conv.params["W"], conv.params["b"]
    ref = np.zeros((2, 3, 3, 3))
    for i in range(3):
        for j in range(3):
            patch = xp[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
            ref[:, :, i, j] = np.einsum("ncuv,fcuv->nf", patch, W) + b
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(0)
    x, stride, pad = rng.standard_normal((2, 3, 7, 6)), 2, 1
    cols = im2col(x, 3, 3, stride, pad)
    c = rng.standard_normal(cols.shape)
    # <im2col(x), c> == <x, col2im(c)>
    assert np.sum(cols * c) == pytest.approx(np.sum(x * col2im(c, x.shape, 3, 3, stride, pad)))



@pytest.mark.parametrize("order", ["C", "F"])
def test_im2col_writes_into_a_work_array_of_either_memory_order(order):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    expected = im2col(x, 3, 3, 2, 1)
    work = np.full((expected.shape[0], expected.shape[1] + 1), np.nan, dtype=np.float32, order=order)
    returned = im2col(x, 3, 3, 2, 1, out=work[:, :-1])
    np.testing.assert_array_equal(work[:, :-1], expected)
    assert np.isnan(work[:, -1]).all()  # nothing written outside ``out``
    assert np.shares_memory(returned, work)
    with pytest.raises(ValueError, match="expected"):
        im2col(x, 3, 3, 2, 1, out=work)


def test_conv2d_gives_the_same_result_whatever_the_input_memory_layout():
    # NCHW inputs (images) get column-major columns, channels-last ones (layer outputs) row-major.
    rng = np.random.default_rng(1)
    conv = Conv2D(3, 4, 3, stride=1, padding=1, rng=0)
    conv.params["b"][:] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # same values, NHWC in memory
    dout = rng.standard_normal((2, 4, 6, 5)).astype(np.float32)
    results = []
    for inp, order in ((x, "F_CONTIGUOUS"), (x_nhwc, "C_CONTIGUOUS")):
        out = conv.forward(inp, training=True)
        assert conv._buffers["cols"].flags[order]
        dx = conv.backward(dout)
        results.append((out, dx, conv.grads["W"].copy(), conv.grads["b"].copy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)

def test_tiny_batch_overfits_to_100_percent():
    from deepcompress_np.data import load_mnist
    from deepcompress_np.models import lenet5, lenet_300_100
    from deepcompress_np.train import evaluate, train

    X, y = load_mnist("val")
    X, y = X[:32], y[:32]
    for model, epochs in ((lenet_300_100(0), 60), (lenet5(0), 40)):
        train(model, X, y, epochs=epochs, batch_size=8, optimizer=SGD(lr=0.01, momentum=0.9), verbose=False)
        assert evaluate(model, X, y) == 0.0, model.arch


def test_divergence_is_reported_not_silently_trained_on():
    from deepcompress_np.models import lenet_300_100
    from deepcompress_np.train import train

    rng = np.random.default_rng(0)
    X, y = rng.random((64, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 64)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        with np.errstate(all="ignore"):
            train(lenet_300_100(0), X, y, epochs=5, batch_size=8, optimizer=SGD(lr=1e4), verbose=False)


def test_dropout_scales_and_is_identity_at_test_time():
    d = Dropout(0.5, rng=0)
    x = np.ones((1000, 100), dtype=np.float32)
    out = d.forward(x, training=True)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    np.testing.assert_array_equal(d.backward(np.ones_like(x)), out)
    np.testing.assert_array_equal(d.forward(x, training=False), x)
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.0)


def test_sgd_matches_the_formula_and_l1():
    w = np.array([1.0, -2.0, 0.5])
    g = np.array([0.1, 0.2, -0.3])
    opt = SGD(lr=0.1, momentum=0.9, weight_decay=0.01, l1=0.001)
    params, v = {"l.W": w.copy()}, np.zeros(3)
    expected = w.copy()
    for _ in range(3):
        full = g + 0.01 * expected + 0.001 * np.sign(expected)
        v = 0.9 * v - 0.1 * full
        expected = expected + v
        opt.step(params, {"l.W": g})
    np.testing.assert_allclose(params["l.W"], expected)
    # biases are not decayed
    opt2 = SGD(lr=0.1, momentum=0.0, weight_decay=1.0)
    b = {"l.b": np.array([1.0])}
    opt2.step(b, {"l.b": np.array([0.0])})
    assert b["l.b"][0] == 1.0


def test_sgd_flushes_tiny_momentum_to_zero():
    opt = SGD(lr=0.1, momentum=0.5, flush_every=1)
    p = {"l.W": np.ones(2, dtype=np.float32)}
    opt.step(p, {"l.W": np.array([1e-31, 1.0], dtype=np.float32)})
    assert opt.velocity["l.W"][0] == 0.0 and opt.velocity["l.W"][1] != 0.0


def test_extension_point_update_rules_replace_the_update_for_their_parameter():
    """A rule installed in SGD.rules owns its parameter's update; the others keep the plain one."""
    calls = []

    def freeze_rule(opt, key, param, grad):
        calls.append(key)  # do nothing: the parameter stays frozen

    model = Sequential(Linear(3, 2, rng=0, name="a"), ReLU(), Linear(2, 2, rng=1, name="b"))
    opt = SGD(lr=0.1)
    opt.rules["a.W"] = freeze_rule
    before = {k: v.copy() for k, v in model.params().items()}
    x, y = _x((4, 3)).astype(np.float32), np.array([0, 1, 0, 1])
    _, d = softmax_cross_entropy(model.forward(x), y)
    model.backward(d)
    opt.step(model.params(), model.grads())
    after = model.params()
    assert calls == ["a.W"]
    np.testing.assert_array_equal(after["a.W"], before["a.W"])
    assert not np.array_equal(after["b.W"], before["b.W"])


def test_wrong_shapes_and_dtypes_get_clear_errors():
    lin = Linear(4, 3, rng=0)
    with pytest.raises(ValueError, match="expected 4 input features"):
        lin.forward(np.zeros((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="expected input of shape"):
        lin.forward(np.zeros((2, 4, 1), dtype=np.float32))
    with pytest.raises(TypeError, match="model.astype"):
        lin.forward(np.zeros((2, 4), dtype=np.float64))
    with pytest.raises(TypeError, match="floating point"):
        lin.forward(np.zeros((2, 4), dtype=np.int64))
    conv = Conv2D(1, 2, 5, rng=0)
    with pytest.raises(ValueError, match="input channels"):
        conv.forward(np.zeros((1, 3, 28, 28), dtype=np.float32))
    with pytest.raises(ValueError, match="smaller than"):
        conv.forward(np.zeros((1, 1, 3, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="labels must lie"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="labels must have shape"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0]))
    with pytest.raises(ValueError, match="positive integer"):
        Linear(0, 3)
    with pytest.raises(ValueError):
        SGD(lr=-1)


def test_models_have_the_papers_parameter_counts_and_shapes():
    from deepcompress_np.models import lenet5, lenet_300_100

    m300, m5 = lenet_300_100(0), lenet5(0)
    assert m300.n_params() == 266_610
    assert m5.n_params() == 431_080
    assert m300.params()["ip1.W"].shape == (300, 784)
    assert m5.params()["conv2.W"].shape == (50, 20, 5, 5)
    x = np.zeros((3, 1, 28, 28), dtype=np.float32)
    assert m300.forward(x).shape == (3, 10) and m5.forward(x).shape == (3, 10)


def test_same_seed_same_weights_and_same_training():
    from deepcompress_np.models import lenet_300_100
    from deepcompress_np.train import random_shift, train

    rng = np.random.default_rng(0)
    X, y = rng.random((256, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 256)
    runs = []
    for seed in (1, 1, 2):
        m = lenet_300_100(seed)
        train(m, X, y, epochs=1, seed=seed, optimizer=SGD(lr=0.01), augment=random_shift(1), verbose=False)
        runs.append(m.params()["ip1.W"])
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_save_load_round_trip(tmp_path):
    from deepcompress_np.models import lenet5, load_model, save_model

    m = lenet5(3)
    masks = {"ip1.W": np.random.default_rng(0).random((500, 800)) > 0.5}
    save_model(tmp_path / "m.npz", m, masks=masks, metadata={"seed": 3, "test_error": 0.01})
    back = load_model(tmp_path / "m.npz")
    assert back.arch == "lenet5" and back.metadata == {"seed": 3, "test_error": 0.01}
    for k, v in m.params().items():
        np.testing.assert_array_equal(back.params()[k], v)
    np.testing.assert_array_equal(back.masks["ip1.W"], masks["ip1.W"])
    x = np.random.default_rng(1).random((5, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(back.forward(x), m.forward(x))
    # the file holds no pickled objects
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


def test_load_rejects_bad_files(tmp_path):
    from deepcompress_np.models import load_model

    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a model file"):
        load_model(tmp_path / "junk.npz")
    np.savez(tmp_path / "noarch.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="__architecture__"):
        load_model(tmp_path / "noarch.npz")
    np.savez(tmp_path / "shape.npz", __arch__=np.array("lenet300"), **{"ip1.W": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="shape"):
        load_model(tmp_path / "shape.npz")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")
