"""Tests for trained quantization (paper §3): k-means weight sharing and the shared-centroid update."""

import numpy as np
import pytest

from deepcompress_np.nn.optim import SGD
from deepcompress_np.quantize import (
    DEFAULT_BITS,
    QuantizedLayer,
    SharedWeightUpdate,
    default_bits,
    density_init,
    forgy_init,
    index_dtype,
    install_shared_weights,
    kmeans_1d,
    linear_init,
    quantize_layer,
    quantize_model_params,
)

def bimodal_weights(seed, n=3000):
    """Trained-layer-like weights: two bumps either side of zero, as in paper Figure 4."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(-0.1, 0.03, n // 2), rng.normal(0.08, 0.04, n - n // 2)])


def reference_kmeans(x, init):
    """scikit-learn's Lloyd from the same centroids, run to strict convergence (skips the test without it)."""
    sklearn_cluster = pytest.importorskip("sklearn.cluster", reason="scikit-learn is the test oracle for k-means")
    km = sklearn_cluster.KMeans(
        n_clusters=init.size, init=init.reshape(-1, 1), n_init=1, max_iter=300, tol=0.0, algorithm="lloyd"
    ).fit(x.reshape(-1, 1))
    return km.cluster_centers_.ravel(), km.labels_, km.inertia_


# --- k-means against a reference --------------------------------------------------------------


@pytest.mark.parametrize("init_name", ["linear", "density", "forgy"])
@pytest.mark.parametrize("seed", [0, 1])
def test_kmeans_matches_sklearn_from_same_init(init_name, seed):
    x = bimodal_weights(seed)
    k = 16
    init = {"linear": lambda: linear_init(x, k), "density": lambda: density_init(x, k),
            "forgy": lambda: forgy_init(x, k, seed)}[init_name]()
    ours = kmeans_1d(x, init, max_iter=300, tol=0.0)
    ref_centroids, ref_labels, ref_inertia = reference_kmeans(x, init)
    np.testing.assert_array_equal(ours.labels, ref_labels)
    np.testing.assert_allclose(ours.centroids, ref_centroids, rtol=1e-6, atol=1e-7)
    assert ours.inertia <= 1.0001 * ref_inertia
    # the reported inertia is eq. 1 for the returned centroids and labels
    direct = np.sum((x - ours.centroids.astype(np.float64)[ours.labels]) ** 2)
    assert ours.inertia == pytest.approx(direct, rel=1e-5)


def test_kmeans_result_types_and_order():
    x = bimodal_weights(3, n=500).astype(np.float32)
    init = linear_init(x, 8)[::-1].copy()  # descending: labels must refer to this order
    result = kmeans_1d(x, init)
    assert result.centroids.dtype == np.float32 and result.centroids.shape == (8,)
    assert result.labels.shape == (500,)
    assert np.all(np.diff(result.centroids) < 0)  # order of the given centroids is kept
    # every weight is assigned to its nearest centroid
    dist = np.abs(x[:, None].astype(np.float64) - result.centroids[None, :])
    np.testing.assert_allclose(dist[np.arange(500), result.labels], dist.min(axis=1), atol=1e-7)
    assert 1 <= result.n_iter <= 300


def test_kmeans_lowers_inertia_from_init():
    x = bimodal_weights(4)
    init = linear_init(x, 8)
    start = np.sum(np.min((x[:, None] - init[None, :]) ** 2, axis=1))
    assert kmeans_1d(x, init).inertia < start


def test_kmeans_tol_stops_earlier_than_strict_convergence():
    x = bimodal_weights(5)
    init = linear_init(x, 32)
    loose = kmeans_1d(x, init, tol=1e-2)
    strict = kmeans_1d(x, init, tol=0.0)
    assert loose.n_iter < strict.n_iter
    assert kmeans_1d(x, init, max_iter=2).n_iter == 2


def test_empty_cluster_moves_to_farthest_weight():
    # the middle centroid starts with no weight: -1 and 0 are nearer -1, 10 and 11 nearer 11
    x = np.array([-1.0, 0.0, 10.0, 11.0])
    result = kmeans_1d(x, np.array([-1.0, 5.0, 11.0]))
    # it is moved onto the farthest weight (tie 0 vs 10 -> the smaller), leaving no cluster empty
    np.testing.assert_allclose(result.centroids, [-1.0, 0.0, 10.5])
    np.testing.assert_array_equal(result.labels, [0, 1, 2, 2])
    assert result.inertia == pytest.approx(0.5)  # keeping it in place would give 1.0


def test_weight_on_a_midpoint_goes_to_the_larger_centroid():
    # 1.0 is exactly halfway between the centroids 0 and 2: documented to join the larger one
    result = kmeans_1d(np.array([0.0, 1.0, 2.0]), np.array([0.0, 2.0]), tol=0.0)
    np.testing.assert_array_equal(result.labels, [0, 1, 1])
    np.testing.assert_allclose(result.centroids, [0.0, 1.5])
    assert result.inertia == pytest.approx(0.5)


# --- initialisations (paper §3.2) --------------------------------------------------------------


def test_linear_init_spans_min_to_max_evenly():
    x = bimodal_weights(6)
    c = linear_init(x, 10)
    assert c[0] == x.min() and c[-1] == x.max()
    np.testing.assert_allclose(np.diff(c), (x.max() - x.min()) / 9)


def test_density_init_is_equal_mass_quantiles():
    x = bimodal_weights(7, n=4000)
    k = 8
    c = density_init(x, k)
    assert np.all(np.diff(c) > 0)
    # centroid j has (j + 1/2)/k of the weights below it
    below = np.array([np.mean(x < cj) for cj in c])
    np.testing.assert_allclose(below, (np.arange(k) + 0.5) / k, atol=1.5 / x.size)
    # density init crowds the centroids where the weights are dense, linear does not
    assert np.ptp(c) < np.ptp(linear_init(x, k))


def test_forgy_init_deterministic_members_of_data():
    x = bimodal_weights(8)
    a, b = forgy_init(x, 16, rng=3), forgy_init(x, 16, rng=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, forgy_init(x, 16, rng=4))
    assert np.all(np.isin(a, x))
    assert np.unique(a).size == 16  # drawn without replacement (the data has no repeats)
    with pytest.raises(ValueError, match="without replacement"):
        forgy_init(x[:5], 16)


# --- QuantizedLayer and quantize_layer ---------------------------------------------------------


def test_quantize_layer_respects_mask_and_dtype():
    rng = np.random.default_rng(9)
    W = rng.normal(0, 0.1, (20, 30)).astype(np.float32)
    mask = rng.random(W.shape) < 0.3
    q = quantize_layer(W, mask, bits=4)
    assert q.index.dtype == np.uint8 and q.index.size == mask.sum()
    assert q.codebook.dtype == np.float32 and q.codebook.shape == (16,)
    dense = q.to_dense()
    assert dense.dtype == np.float32 and dense.shape == W.shape
    assert np.all(dense[~mask] == 0.0)
    np.testing.assert_array_equal(dense[mask], q.codebook[q.index])
    assert q.n_distinct() <= 16 and q.n_clusters_used() <= 16
    # each surviving weight maps to its nearest centroid: the error is at most half a gap
    assert np.max(np.abs(dense[mask] - W[mask])) <= np.max(np.diff(np.sort(q.codebook))) / 2 + 1e-6
    # pruned weights play no part: changing them does not change the codebook
    W2 = W.copy()
    W2[~mask] = 100.0
    np.testing.assert_array_equal(quantize_layer(W2, mask, bits=4).codebook, q.codebook)


def test_quantize_layer_default_mask_is_nonzero():
    W = np.array([[0.0, 0.5, -0.5], [0.0, 0.25, 0.0]], dtype=np.float32)
    q = quantize_layer(W, bits=1)
    np.testing.assert_array_equal(q.mask, W != 0)


def test_index_dtype_is_smallest_that_fits():
    assert index_dtype(8) == np.uint8 and index_dtype(9) == np.uint16 and index_dtype(16) == np.uint16
    W = np.random.default_rng(10).normal(size=(40, 40)).astype(np.float32)
    assert quantize_layer(W, bits=9).index.dtype == np.uint16


def test_quantize_layer_deterministic_per_seed():
    W = np.random.default_rng(11).normal(size=(30, 30)).astype(np.float32)
    a = quantize_layer(W, bits=5, init="forgy", seed=7)
    b = quantize_layer(W, bits=5, init="forgy", seed=7)
    np.testing.assert_array_equal(a.codebook, b.codebook)
    np.testing.assert_array_equal(a.index, b.index)


def test_default_bits_follow_the_paper():
    assert all(default_bits("lenet300", name) == 6 for name in ("ip1", "ip2.W", "ip3"))
    assert default_bits("lenet5", "conv1") == 8 and default_bits("lenet5", "conv2.W") == 8
    assert default_bits("lenet5", "ip1.W") == 5 and default_bits("lenet5", (10, 500)) == 5
    assert default_bits("lenet5", (20, 1, 5, 5)) == 8
    assert DEFAULT_BITS["lenet5"] == {"conv": 8, "fc": 5}
    with pytest.raises(ValueError, match="unknown arch"):
        default_bits("alexnet", "conv1")


def test_quantize_model_params_weights_only_with_per_layer_bits():
    rng = np.random.default_rng(12)
    params = {
        "conv1.W": rng.normal(size=(4, 1, 3, 3)).astype(np.float32),
        "conv1.b": rng.normal(size=4).astype(np.float32),
        "ip1.W": rng.normal(size=(5, 36)).astype(np.float32),
        "ip1.b": rng.normal(size=5).astype(np.float32),
    }
    masks = {"ip1.W": rng.random((5, 36)) < 0.5}
    bits = {k: default_bits("lenet5", k) for k in params if k.endswith("W")}
    q = quantize_model_params(params, masks, bits)
    assert set(q) == {"conv1.W", "ip1.W"}
    assert q["conv1.W"].bits == 8 and q["ip1.W"].bits == 5
    np.testing.assert_array_equal(q["ip1.W"].mask, masks["ip1.W"])
    with pytest.raises(ValueError, match="no entry for 'ip1.W'"):
        quantize_model_params(params, masks, {"conv1.W": 8})


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [0, 17, -1])
def test_bits_out_of_range(bits):
    with pytest.raises(ValueError, match="bits must be between 1 and 16"):
        quantize_layer(np.ones((3, 3), np.float32), bits=bits)


def test_bits_not_an_integer():
    with pytest.raises(TypeError, match="bits must be an integer"):
        quantize_layer(np.ones((3, 3), np.float32), bits=4.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights(bad):
    W = np.ones((3, 3), np.float32)
    W[1, 1] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        quantize_layer(W, bits=2)
    with pytest.raises(ValueError, match="NaN or inf"):
        kmeans_1d(W.ravel(), [0.0, 1.0])


def test_empty_layer_gives_empty_index_and_zero_codebook():
    W = np.random.default_rng(13).normal(size=(4, 5)).astype(np.float32)
    q = quantize_layer(W, np.zeros(W.shape, bool), bits=3)
    assert q.index.size == 0 and q.index.dtype == np.uint8
    np.testing.assert_array_equal(q.codebook, np.zeros(8, np.float32))
    np.testing.assert_array_equal(q.to_dense(), np.zeros(W.shape, np.float32))
    assert q.n_clusters_used() == 0


def test_fewer_distinct_weights_than_clusters():
    W = np.array([0.5, -0.5, 0.5, 0.5, -0.5, 0.0] * 3, dtype=np.float32).reshape(3, 6)
    q = quantize_layer(W, bits=3)  # 8 clusters, 2 distinct surviving values
    np.testing.assert_array_equal(q.to_dense(), W)  # exact: a centroid sits on each value
    assert q.n_clusters_used() == 2 and q.n_distinct() == 2
    # the unused clusters keep their linear-init positions between -0.5 and 0.5
    unused = np.setdiff1d(np.arange(8), q.index)
    np.testing.assert_allclose(q.codebook[unused], np.linspace(-0.5, 0.5, 8)[1:-1], rtol=1e-6)
    # Forgy draws k weights without replacement: 2 surviving weights cannot seed 8 clusters
    with pytest.raises(ValueError, match="init='linear'"):
        quantize_layer(np.array([[0.5, -0.5]], np.float32), bits=3, init="forgy")


def test_wrong_mask():
    W = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="shape"):
        quantize_layer(W, np.ones((4, 3), bool), bits=2)
    with pytest.raises(TypeError, match="bool"):
        quantize_layer(W, np.ones((3, 4), np.float32), bits=2)


def test_unknown_init():
    with pytest.raises(ValueError, match="unknown init"):
        quantize_layer(np.ones((3, 3), np.float32), bits=2, init="kmeans++")


def test_corrupt_quantized_layer_rejected():
    good = dict(codebook=np.zeros(4, np.float32), index=np.array([0, 3], np.uint8),
                mask=np.array([True, False, True]), shape=(3,), bits=2)
    QuantizedLayer(**good)
    with pytest.raises(ValueError, match="beyond the 4 codebook entries"):
        QuantizedLayer(**{**good, "index": np.array([0, 4], np.uint8)})
    with pytest.raises(ValueError, match="mask keeps 2"):
        QuantizedLayer(**{**good, "index": np.array([0], np.uint8)})
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        QuantizedLayer(**{**good, "codebook": np.zeros(5, np.float32)})


# --- trained quantization (paper §3.1, Figure 3) -----------------------------------------------

# Paper Figure 3: a 4x4 weight matrix, its cluster indices (4 clusters) and its gradient.
FIG3_WEIGHTS = np.array([
    [2.09, -0.98, 1.48, 0.09],
    [0.05, -0.14, -1.08, 2.12],
    [-0.91, 1.92, 0.00, -1.03],
    [1.87, 0.00, 1.53, 1.49],
], dtype=np.float32)
FIG3_INDEX = np.array([
    [3, 0, 2, 1],
    [1, 1, 0, 3],
    [0, 3, 1, 0],
    [3, 1, 2, 2],
])
FIG3_CENTROIDS = np.array([-1.00, 0.00, 1.50, 2.00], dtype=np.float32)
FIG3_GRAD = np.array([
    [-0.03, -0.01, 0.03, 0.02],
    [-0.01, 0.01, -0.02, 0.12],
    [-0.01, 0.02, 0.04, 0.01],
    [-0.07, -0.02, 0.01, -0.02],
], dtype=np.float32)


def test_figure3_centroid_update_sums_the_gradients():
    layer = QuantizedLayer(FIG3_CENTROIDS.copy(), FIG3_INDEX.ravel().astype(np.uint8),
                           np.ones((4, 4), bool), (4, 4), bits=2)
    rule = SharedWeightUpdate(layer)
    # gradients grouped by cluster, summed by hand:
    #   cluster 0 (-0.98, -1.08, -0.91, -1.03): -0.01 - 0.02 - 0.01 + 0.01       = -0.03
    #   cluster 1 (0.09, 0.05, -0.14, 0, 0):     0.02 - 0.01 + 0.01 + 0.04 - 0.02 =  0.04
    #   cluster 2 (1.48, 1.53, 1.49):            0.03 + 0.01 - 0.02               =  0.02
    #   cluster 3 (2.09, 2.12, 1.92, 1.87):     -0.03 + 0.12 + 0.02 - 0.07        =  0.04
    by_hand = np.array([-0.03, 0.04, 0.02, 0.04])
    np.testing.assert_allclose(rule.centroid_grad(FIG3_GRAD), by_hand, atol=1e-6)

    W = layer.to_dense()
    opt = SGD(lr=1.0, momentum=0.0)
    opt.rules["W"] = rule
    opt.step({"W": W}, {"W": FIG3_GRAD})
    # fine-tuned centroids: c - lr * sum
    np.testing.assert_allclose(layer.codebook, [-0.97, -0.04, 1.48, 1.96], atol=1e-6)
    np.testing.assert_array_equal(W, layer.codebook[FIG3_INDEX])
    # averaging instead of summing would give other centroids
    counts = np.bincount(FIG3_INDEX.ravel(), minlength=4)
    averaged = FIG3_CENTROIDS - by_hand / counts
    assert not np.allclose(layer.codebook, averaged, atol=1e-3)


def test_figure3_centroid_update_with_momentum_by_hand():
    """Two steps of momentum on the centroids: v <- momentum * v - lr * dL/dc, c <- c + v (hand-computed)."""
    layer = QuantizedLayer(FIG3_CENTROIDS.copy(), FIG3_INDEX.ravel().astype(np.uint8),
                           np.ones((4, 4), bool), (4, 4), bits=2)
    W = layer.to_dense()
    opt = SGD(lr=1.0, momentum=0.5)
    opt.rules["W"] = SharedWeightUpdate(layer)
    # summed gradients per cluster (see the test above): g = [-0.03, 0.04, 0.02, 0.04]
    # step 1: v = 0.5 * 0 - g       = [ 0.03,  -0.04, -0.02, -0.04];  c = [-1, 0, 1.5, 2] + v = [-0.97, -0.04, 1.48, 1.96]
    opt.step({"W": W}, {"W": FIG3_GRAD})
    np.testing.assert_allclose(layer.codebook, [-0.97, -0.04, 1.48, 1.96], atol=1e-6)
    # step 2: v = 0.5 * v - g       = [ 0.045, -0.06, -0.03, -0.06];  c = [-0.925, -0.10, 1.45, 1.90]
    # (without the decay of v it would be v = [0.06, -0.08, -0.04, -0.08], c = [-0.91, -0.12, 1.44, 1.88])
    opt.step({"W": W}, {"W": FIG3_GRAD})
    np.testing.assert_allclose(opt.velocity["W:codebook"], [0.045, -0.06, -0.03, -0.06], atol=1e-6)
    np.testing.assert_allclose(layer.codebook, [-0.925, -0.10, 1.45, 1.90], atol=1e-6)
    np.testing.assert_array_equal(W, layer.codebook[FIG3_INDEX])


def test_quantize_figure3_weights_recovers_its_clusters():
    q = quantize_layer(FIG3_WEIGHTS, np.ones((4, 4), bool), bits=2)
    np.testing.assert_array_equal(q.index.reshape(4, 4), FIG3_INDEX)


def test_sgd_with_shared_weights_keeps_k_values_and_pruned_zeros():
    rng = np.random.default_rng(14)
    params = {
        "ip1.W": rng.normal(0, 0.1, (8, 6)).astype(np.float32),
        "ip1.b": np.zeros(8, np.float32),
        "ip2.W": rng.normal(0, 0.1, (3, 8)).astype(np.float32),
        "ip2.b": np.zeros(3, np.float32),
    }
    masks = {key: rng.random(params[key].shape) < 0.5 for key in ("ip1.W", "ip2.W")}
    for key, mask in masks.items():
        params[key][~mask] = 0.0
    arrays = {key: params[key] for key in params}  # the model's own arrays must be changed in place
    opt = SGD(lr=0.05, momentum=0.9, weight_decay=1e-3)
    quantized = quantize_model_params(params, masks, bits=2)
    codebook_before = quantized["ip1.W"].codebook.copy()
    rules = install_shared_weights(opt, params, quantized)
    assert set(rules) == {"ip1.W", "ip2.W"}

    for _ in range(5):
        grads = {key: rng.normal(size=p.shape).astype(np.float32) for key, p in params.items()}
        opt.step(params, grads)

    for key in ("ip1.W", "ip2.W"):
        W = params[key]
        assert W is arrays[key]
        assert np.all(W[~masks[key]] == 0.0)
        assert np.unique(W[masks[key]]).size <= 4
        np.testing.assert_array_equal(W, quantized[key].to_dense())
        assert opt.velocity[key + ":codebook"].shape == (4,)
        assert key not in opt.velocity
    assert not np.array_equal(quantized["ip1.W"].codebook, codebook_before)
    assert np.any(params["ip1.b"] != 0)  # biases keep the plain update


def test_install_rejects_mismatched_shapes():
    q = quantize_layer(np.ones((3, 3), np.float32), bits=1)
    with pytest.raises(ValueError, match="shape"):
        install_shared_weights(SGD(), {"ip1.W": np.ones((3, 4), np.float32)}, {"ip1.W": q})
    with pytest.raises(KeyError, match="ip2.W"):
        install_shared_weights(SGD(), {"ip1.W": np.ones((3, 3), np.float32)}, {"ip2.W": q})


def test_rule_rewrites_pruned_positions_to_exact_zero():
    mask = np.array([[True, False], [False, True]])
    layer = QuantizedLayer(np.array([-1.0, 1.0], np.float32), np.array([0, 1], np.uint8), mask, (2, 2), bits=1)
    W = layer.to_dense()
    W[0, 1] = 0.3  # something wrote into a pruned position
    opt = SGD(lr=0.1, momentum=0.0)
    opt.rules["W"] = SharedWeightUpdate(layer)
    opt.step({"W": W}, {"W": np.ones((2, 2), np.float32)})
    np.testing.assert_allclose(W, [[-1.1, 0.0], [0.0, 0.9]], rtol=1e-6)
    assert W[0, 1] == 0.0 and W[1, 0] == 0.0


def test_codebook_comes_out_sorted_even_after_empty_cluster_moves():
    """Linear init puts centroids in the pruned gap around 0; they move, and are renumbered in order."""
    rng = np.random.default_rng(0)
    W = rng.normal(0, 0.1, (60, 50)).astype(np.float32)
    mask = np.abs(W) > 0.12  # a bimodal layer, as after pruning
    q = quantize_layer(W, mask, bits=5)
    assert np.all(np.diff(q.codebook) >= 0)
    np.testing.assert_array_equal(q.to_dense()[mask], q.codebook[q.index])
    # every surviving weight still maps to its nearest centroid
    nearest = np.abs(W[mask][:, None] - q.codebook[None, :]).argmin(axis=1)
    np.testing.assert_allclose(q.codebook[nearest], q.codebook[q.index])
