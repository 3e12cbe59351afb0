"""Pruning: the threshold rule, masks that stay exact through retraining, dropout adjustment, reporting."""

import numpy as np
import pytest

from deepcompress_np.models import lenet_300_100
from deepcompress_np.nn import SGD, Dropout, Linear, ReLU, Sequential
from deepcompress_np.prune import (
    MaskedUpdate, adjust_model_dropout, adjusted_dropout, apply_masks, dead_neurons, install_masks,
    iterative_prune, kept_fraction, prune_by_std, prune_model, prune_to_fraction, retrain, sensitivity,
)
from deepcompress_np.train import train


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


def test_prune_by_std_threshold_is_quality_times_std():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((50, 40)).astype(np.float32)
    for q in (0.0, 0.5, 1.0, 2.0):
        mask = prune_by_std(W, q)
        threshold = q * W.std()
        np.testing.assert_array_equal(mask, np.abs(W) >= threshold)
    # With an earlier mask, the std is that of the surviving weights only.
    first = prune_by_std(W, 1.0)
    second = prune_by_std(W, 1.0, first)
    np.testing.assert_array_equal(second, first & (np.abs(W) >= W[first].std()))
    assert second.sum() < first.sum()


def test_prune_to_fraction_keeps_the_largest_magnitudes():
    W = np.array([[0.1, -0.5, 0.3], [0.05, -0.2, 0.9]], dtype=np.float32)
    mask = prune_to_fraction(W, 0.5)
    np.testing.assert_array_equal(mask, [[False, True, True], [False, False, True]])
    assert prune_to_fraction(W, 0.0).sum() == 0 and prune_to_fraction(W, 1.0).all()
    # never resurrects a pruned weight
    earlier = np.ones_like(mask)
    earlier[1, 2] = False
    assert not prune_to_fraction(W, 0.5, earlier)[1, 2]


def test_prune_model_gives_one_mask_per_weight_tensor_and_zeroes_the_weights():
    model = lenet_300_100(0)
    masks = prune_model(model, keep_fraction={"ip1": 0.1, "ip2": 0.2})
    assert set(masks) == {"ip1.W", "ip2.W", "ip3.W"}  # biases are not pruned
    assert masks["ip3.W"].all()
    params = model.params()
    for key, mask in masks.items():
        assert mask.dtype == bool and mask.shape == params[key].shape
        assert np.all(params[key][~mask] == 0)
    assert masks["ip1.W"].mean() == pytest.approx(0.1, abs=1e-4)


def test_masks_hold_weights_gradients_and_momentum_at_exactly_zero_through_retraining():
    model = lenet_300_100(0)
    X, y = _data()
    # Train a little first, so the optimizer has non-zero momentum everywhere ...
    opt = SGD(lr=0.01, momentum=0.9, weight_decay=5e-4, l1=1e-5)
    train(model, X, y, epochs=1, optimizer=opt, verbose=False)
    masks = prune_model(model, keep_fraction={"ip1": 0.05, "ip2": 0.1, "ip3": 0.3})
    # ... then keep training with the SAME optimizer: its old momentum must not revive pruned weights.
    install_masks(opt, masks)
    params = model.params()
    seen_grad_nonzero = False
    for step in range(5):
        idx = np.arange(step * 32, step * 32 + 32)
        from deepcompress_np.nn import softmax_cross_entropy

        _, d = softmax_cross_entropy(model.forward(X[idx], training=True), y[idx])
        model.backward(d)
        grads = model.grads()
        seen_grad_nonzero |= bool(np.any(grads["ip1.W"][~masks["ip1.W"]] != 0))  # raw grads are dense
        opt.step(params, grads)
        for key, mask in masks.items():
            assert np.all(params[key][~mask] == 0), key
            assert np.all(opt.velocity[key][~mask] == 0), key
    assert seen_grad_nonzero  # the rule, not luck, kept them at zero
    # the surviving weights did change
    assert np.any(opt.velocity["ip1.W"][masks["ip1.W"]] != 0)


def test_masked_update_masks_the_gradient_it_passes_on():
    seen = {}

    class Spy(SGD):
        def momentum_update(self, key, param, grad):
            seen["grad"] = grad.copy()
            super().momentum_update(key, param, grad)

    mask = np.array([True, False, True])
    opt = Spy(lr=0.1)
    opt.rules["l.W"] = MaskedUpdate(mask)
    opt.step({"l.W": np.ones(3)}, {"l.W": np.ones(3)})
    np.testing.assert_array_equal(seen["grad"], [1.0, 0.0, 1.0])


def test_retrain_keeps_masks_and_continues_from_surviving_weights():
    model = lenet_300_100(0)
    X, y = _data()
    masks = prune_model(model, keep_fraction={"ip1": 0.1})
    kept_before = model.params()["ip1.W"][masks["ip1.W"]].copy()
    retrain(model, masks, X, y, epochs=1, verbose=False)
    W = model.params()["ip1.W"]
    assert np.all(W[~masks["ip1.W"]] == 0)
    # small learning rate: surviving weights moved a little, not re-initialised
    assert np.corrcoef(W[masks["ip1.W"]], kept_before)[0, 1] > 0.99


def test_iterative_prune_reaches_the_target():
    model = lenet_300_100(0)
    X, y = _data()
    masks, log = iterative_prune(model, X, y, {"ip1": 0.1, "ip2": 0.2}, rounds=2, epochs_per_round=1, verbose=False)
    assert len(log) == 2
    assert log[0]["keep_fraction"]["ip1"] == pytest.approx(0.1 ** 0.5)
    assert masks["ip1.W"].mean() == pytest.approx(0.1, abs=1e-4)
    assert masks["ip2.W"].mean() == pytest.approx(0.2, abs=1e-4)
    assert kept_fraction(masks) < 0.2


def test_dropout_adjustment_follows_han_2015_eq_2():
    assert adjusted_dropout(0.5, 1000, 250) == pytest.approx(0.25)
    assert adjusted_dropout(0.5, 100, 100) == pytest.approx(0.5)
    model = Sequential(Linear(10, 8, rng=0, name="fc1"), ReLU(), Dropout(0.5, name="drop1"),
                       Linear(8, 2, rng=1, name="fc2"))
    masks = prune_model(model, keep_fraction={"fc1": 0.36})
    changes = adjust_model_dropout(model, masks)
    kept = masks["fc1.W"].sum()
    assert changes["drop1"][1] == pytest.approx(0.5 * np.sqrt(kept / 80))
    assert model.layer("drop1").p == pytest.approx(0.5 * np.sqrt(kept / 80))
    with pytest.raises(ValueError):
        adjusted_dropout(0.5, 10, 20)


def test_dead_neurons_are_counted():
    model = Sequential(Linear(4, 3, rng=0, name="a"), ReLU(), Linear(3, 2, rng=1, name="b"))
    masks = {"a.W": np.array([[1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=bool),
             "b.W": np.ones((2, 3), dtype=bool)}
    report = dead_neurons(model, masks)
    assert report["a"] == {"outputs": 3, "no_incoming": 1, "inputs": 4, "no_outgoing": 2}
    assert report["b"]["no_incoming"] == 0 and report["b"]["no_outgoing"] == 0


def test_sensitivity_restores_the_model_and_grows_with_pruning(pretrained):
    from deepcompress_np.data import load_mnist

    model = pretrained("lenet300")
    X, y = load_mnist("val")
    before = {k: v.copy() for k, v in model.params().items()}
    curves = sensitivity(model, X[:2000], y[:2000], fractions_pruned=(0.0, 0.5, 0.99), layers=["ip1", "ip3"])
    for k, v in model.params().items():
        np.testing.assert_array_equal(v, before[k])
    assert curves["ip1"][0] < curves["ip1"][2] and curves["ip3"][0] < curves["ip3"][2]


def test_bad_input_gets_clear_errors():
    W = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="NaN or infinite"):
        prune_by_std(np.array([[np.nan, 1.0]]), 1.0)
    with pytest.raises(ValueError, match="mask has shape"):
        prune_by_std(W, 1.0, np.ones((4, 3), dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        prune_by_std(W, 1.0, np.ones((3, 4)))
    with pytest.raises(ValueError, match="quality"):
        prune_by_std(W, -1.0)
    with pytest.raises(ValueError, match="keep_fraction"):
        prune_to_fraction(W, 1.5)
    with pytest.raises(ValueError, match="2-D fc matrix or a 4-D conv kernel"):
        prune_by_std(np.ones(5, dtype=np.float32), 1.0)
    model = lenet_300_100(0)
    with pytest.raises(ValueError, match="no weight layer called"):
        prune_model(model, quality={"conv9": 1.0})
    with pytest.raises(ValueError, match="both"):
        prune_model(model, quality={"ip1": 1.0}, keep_fraction={"ip1": 0.5})
    with pytest.raises(ValueError, match="shape"):
        apply_masks(model, {"ip1.W": np.ones((2, 2), dtype=bool)})


def _prune_to_fraction_by_sorting(W, keep_fraction, mask=None):
    """The definition: a stable sort on -|w| (pruned weights last), the first round(f * size) kept."""
    mask = np.ones(W.shape, bool) if mask is None else mask
    n_keep = min(int(round(keep_fraction * W.size)), int(mask.sum()))
    order = np.argsort(-np.where(mask, np.abs(W), -1.0).ravel(), kind="stable")
    new = np.zeros(W.size, dtype=bool)
    new[order[:n_keep]] = True
    return new.reshape(W.shape)


@pytest.mark.parametrize("block", [1 << 22, 5])
@pytest.mark.parametrize("seed", range(8))
def test_prune_to_fraction_equals_the_stable_sort_definition_with_ties_and_masks(seed, block, monkeypatch):
    import deepcompress_np.prune

    monkeypatch.setattr(deepcompress_np.prune, "_BLOCK_WEIGHTS", block)  # one block, or a row or two per block
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 30)), int(rng.integers(1, 30))) if seed % 2 else (3, 2, 3, 3)
    # few distinct magnitudes (and both signs of each), so ties at the threshold are the rule
    W = (rng.integers(-4, 5, shape) * 0.5).astype(np.float32 if seed < 4 else np.float64)
    mask = None if seed % 3 == 0 else rng.random(shape) < 0.7
    for fraction in (0.0, 0.1, 0.33, 0.5, 0.77, 1.0):
        expected = _prune_to_fraction_by_sorting(W, fraction, mask)
        np.testing.assert_array_equal(prune_to_fraction(W, fraction, mask), expected)
