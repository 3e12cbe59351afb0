"""The automatic recipe search (recipe_search.py, recipes.auto_recipe, compress --budget).

The searches run on a 64-32-10 MLP trained on scikit-learn's 8x8 digits
(any Sequential on any data), with short schedules, so that each takes
seconds; the command line runs on the bundled LeNet-300-100.
"""

import json

import numpy as np
import pytest

import deepcompress_np as dc
from deepcompress_np import recipe_search
from deepcompress_np.cli import main
from deepcompress_np.compressed import CompressedModel
from deepcompress_np.nn import SGD, Linear, ReLU, Sequential
from deepcompress_np.recipe_search import BudgetError, kept_fractions, kept_threshold, search_recipe
from deepcompress_np.recipes import CompressionRecipe, auto_recipe
from deepcompress_np.train import evaluate, train

BUDGET = 0.02  # 2 points of 300 validation digits: 6 more mistakes
#: A short schedule for a small MLP: three rounds of three epochs, two of centroids.
BASE = CompressionRecipe(prune_epochs=3, quant_epochs=2, prune_lr=0.01, batch_size=32)
FAST = dict(base=BASE, steps=2, verbose=False)


@pytest.fixture(scope="module")
def digits():
    """``(train, val, test)`` pairs of scikit-learn's digits, pixels scaled to [0, 1]."""
    datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn supplies the digits data")
    data = datasets.load_digits()
    X, y = (data.data / 16).astype(np.float32), data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    return [(X[i], y[i]) for i in (order[:1200], order[1200:1500], order[1500:])]


def mlp(train_data):
    """A 64-32-10 MLP trained for 30 epochs (about a second)."""
    rng = np.random.default_rng(0)
    model = Sequential(Linear(64, 32, rng=rng, name="fc1"), ReLU(), Linear(32, 10, rng=rng, name="fc2"),
                       input_shape=(64,))
    train(model, *train_data, epochs=30, batch_size=32, optimizer=SGD(lr=0.1, momentum=0.9), seed=0, verbose=False)
    return model


@pytest.fixture(scope="module")
def model(digits):
    return mlp(digits[0])


@pytest.fixture(scope="module")
def search(model, digits):
    train_data, val, test = digits
    return search_recipe(model, train_data, val, BUDGET, test=test, seed=0, **FAST)


def test_the_chosen_recipe_is_within_the_budget_on_validation(search, model, digits):
    _, (X_val, y_val), (X_test, y_test) = digits
    assert search.reference_val_error == evaluate(model, X_val, y_val)
    chosen = search.candidates[search.chosen]
    assert chosen["kind"] == "final" and chosen["within_budget"]
    # Measured again here, on the file's bytes: the decoded model meets the budget.
    decoded = CompressedModel.from_bytes(search.result.data)
    error = evaluate(decoded, X_val, y_val)
    assert error == pytest.approx(chosen["val_error"])
    assert error <= search.reference_val_error + BUDGET
    assert chosen["file_bytes"] == len(search.result.data)
    assert search.dense_bytes == 4 * (64 * 32 + 32 + 32 * 10 + 10)
    assert search.dense_bytes / len(search.result.data) > 2  # it did compress
    # The test split is only reported: measured on the decoded file too.
    assert chosen["test_error"] == evaluate(decoded, X_test, y_test)
    # The recipe is per layer, with the base recipe's schedule.
    names = ["fc1", "fc2"]
    assert sorted(search.recipe.keep_fraction) == names and sorted(search.recipe.bits) == names
    assert search.recipe.prune_epochs == BASE.prune_epochs and search.recipe.index_bits == {n: "auto" for n in names}
    assert search.result.recipe == search.recipe


def test_the_record_holds_every_candidate_and_round_trips_through_json(search):
    record = json.loads(json.dumps(search.to_dict()))
    assert len(record["candidates"]) == len(search.candidates) >= 3
    assert record["chosen"] == search.chosen
    for c in record["candidates"]:
        assert {"kind", "keep_fraction", "bits", "file_bytes", "val_error", "within_budget"} <= set(c)
        assert c["within_budget"] == (c["val_error"] <= record["val_limit"] + 1e-12)
    assert CompressionRecipe.from_dict(record["recipe"]) == search.recipe
    # The final runs take the searched candidates within the budget, smallest file first, and the
    # chosen one is the first final run within the budget (earlier ones missed: the search backed off).
    first_final = next(i for i, c in enumerate(search.candidates) if c["kind"] == "final")
    searched = [c for c in search.candidates[:first_final] if c["kind"] == "search"]
    within = sorted((c for c in searched if c["within_budget"]), key=lambda c: c["file_bytes"])
    finals = [c for c in search.candidates if c["kind"] == "final"]
    backoffs = next(i for i, c in enumerate(finals) if c["within_budget"]) + 1
    assert [c["keep_fraction"] for c in finals[:backoffs]] == [c["keep_fraction"] for c in within[:backoffs]]
    chosen = search.candidates[search.chosen]
    assert chosen["kind"] == "final" and chosen["within_budget"]
    assert chosen["file_bytes"] == min(c["file_bytes"] for c in finals if c["within_budget"])


def test_the_same_seed_gives_the_same_recipe(search, model, digits):
    train_data, val, test = digits
    again = auto_recipe(model, train_data, val, BUDGET, seed=0, test=test, return_search=True, **FAST)
    assert again.recipe == search.recipe
    untimed = lambda cs: [{k: v for k, v in c.items() if k != "seconds"} for c in cs]  # noqa: E731
    assert untimed(again.candidates) == untimed(search.candidates)
    assert again.result.data == search.result.data


def test_the_top_level_api_exports_auto_recipe():
    assert dc.auto_recipe is auto_recipe and "auto_recipe" in dc.__all__


@pytest.mark.parametrize("budget", [0, 0.0, -0.003])
def test_a_zero_or_negative_budget_is_refused(budget, model, digits):
    with pytest.raises(ValueError, match="budget must be > 0"):
        auto_recipe(model, *digits[:2], budget)


def test_a_budget_in_points_instead_of_a_fraction_is_refused(model, digits):
    with pytest.raises(ValueError, match="did you mean 0.015"):
        auto_recipe(model, *digits[:2], 1.5)


@pytest.mark.parametrize("budget", ["0.3", None, True])
def test_a_budget_that_is_not_a_number_is_refused(budget, model, digits):
    with pytest.raises(TypeError, match="budget must be a number"):
        auto_recipe(model, *digits[:2], budget)


@pytest.mark.parametrize("budget", [float("nan"), float("inf")])
def test_a_budget_that_is_not_finite_is_refused(budget, model, digits):
    with pytest.raises(ValueError, match="budget must be a finite number"):
        auto_recipe(model, *digits[:2], budget)


def test_a_model_without_weight_layers_is_refused(digits):
    with pytest.raises(ValueError, match="no weight layers"):
        auto_recipe(Sequential(ReLU(), input_shape=(64,)), *digits[:2], 0.01)


def test_a_base_that_is_not_a_recipe_is_refused(model, digits):
    with pytest.raises(TypeError, match="base must be a CompressionRecipe"):
        auto_recipe(model, *digits[:2], 0.01, base={"keep_fraction": 0.1})


def test_a_budget_no_candidate_meets_is_a_budget_error(model, digits):
    # 1-bit codebooks (two shared weights per layer) lose far more than 0.01 points,
    # even when no weight is pruned: every candidate misses, up to keeping everything.
    with pytest.raises(BudgetError, match="even keeping every weight"):
        search_recipe(model, *digits[:2], 0.0001, bit_choices=(1,), **FAST)


def test_a_final_run_that_misses_backs_off_then_gives_up(model, digits, monkeypatch):
    real = recipe_search.compress
    calls = []

    def first_run_breaks(model, recipe, **kw):
        calls.append(recipe)
        result = real(model, recipe, **kw)
        if len(calls) == 1:  # pretend the full retraining went wrong the first time
            result.stages[-1]["val_error"] = 0.9
        return result

    monkeypatch.setattr(recipe_search, "compress", first_run_breaks)
    found = search_recipe(model, *digits[:2], BUDGET, max_backoffs=1, **FAST)
    finals = [c for c in found.candidates if c["kind"] == "final"]
    assert [c["within_budget"] for c in finals] == [False, True]
    assert finals[1]["file_bytes"] >= finals[0]["file_bytes"]  # backed off to the next larger candidate
    assert finals[1]["keep_fraction"] != finals[0]["keep_fraction"]
    assert found.candidates[found.chosen] is finals[1] and found.recipe == calls[1]

    calls.clear()
    with pytest.raises(BudgetError, match="missed the budget"):
        search_recipe(model, *digits[:2], BUDGET, max_backoffs=0, **FAST)


def test_calibration_searches_again_when_the_full_run_beats_its_estimate(model, digits):
    # Six epochs per round in the final run against one in the candidates: the full run is better than
    # its estimate, so the search corrects the estimates by the gap and tries one more, smaller file.
    train_data, val, _ = digits
    found = search_recipe(model, train_data, val, 0.01, **{**FAST, "base": CompressionRecipe(
        prune_epochs=6, quant_epochs=2, prune_lr=0.01, batch_size=32)})
    first_final = next(i for i, c in enumerate(found.candidates) if c["kind"] == "final")
    accepted = found.candidates[first_final]
    assert accepted["within_budget"] and accepted["gap_used"] == 0
    assert accepted["estimated_val_error"] - accepted["val_error"] > 0 and found.gap > 0
    later = found.candidates[first_final + 1:]
    assert any(c["kind"] == "search" for c in later)  # the search went on below
    calibrated = [c for c in later if c["kind"] == "final"]
    assert 1 <= len(calibrated) <= 2  # calibration_rounds=2
    previous = accepted
    for c in calibrated:  # each admitted by its corrected estimate, each smaller than the last accepted file
        assert c["gap_used"] > 0 and c["estimated_val_error"] - c["gap_used"] <= found.val_limit + 1e-12
        assert c["file_bytes"] < previous["file_bytes"]
        previous = c if c["within_budget"] else previous
    # A calibrated run is kept only if it meets the budget.
    assert found.candidates[found.chosen] is previous
    without = search_recipe(model, train_data, val, 0.01, calibration_rounds=0, **{**FAST, "base": CompressionRecipe(
        prune_epochs=6, quant_epochs=2, prune_lr=0.01, batch_size=32)})
    untimed = lambda cs: [{k: v for k, v in c.items() if k != "seconds"} for c in cs]  # noqa: E731
    assert untimed(without.candidates) == untimed(found.candidates[:first_final + 1])


def test_kept_threshold_interpolates_the_first_crossing():
    fractions = (0.0, 0.5, 0.9, 0.99)
    # Increase 0, 0.001, 0.003 (crossing a tolerance of 0.002 halfway from 0.5 to 0.9 pruned), then back down.
    errors = (0.01, 0.011, 0.013, 0.011)
    assert kept_threshold(errors, fractions, 0.01, 0.002) == pytest.approx(1 - 0.7)
    assert kept_threshold(errors, fractions, 0.01, 0.5) == pytest.approx(0.01)  # never crosses
    assert kept_threshold((0.5, 0.6, 0.7, 0.8), fractions, 0.01, 0.002) == 1.0  # crosses at once


def test_the_knob_keeps_big_layers_less_and_sensitive_layers_more():
    sizes = {"big": 100_000, "small": 1_000}
    same = recipe_search.allocation_weights({"big": 0.2, "small": 0.2}, sizes)
    keep = kept_fractions(0.1, same, sizes)
    assert keep["small"] > keep["big"]  # same sensitivity: the small layer is cheaper to keep
    weights = recipe_search.allocation_weights({"big": 0.1, "small": 0.1}, {"big": 1000, "small": 1000})
    more = recipe_search.allocation_weights({"big": 0.1, "small": 0.4}, {"big": 1000, "small": 1000})
    assert weights["big"] == weights["small"] and more["small"] > more["big"]
    assert kept_fractions(1e-9, same, sizes) == {"big": 16 / 100_000, "small": 16 / 1_000}  # the floor
    assert kept_fractions(1e9, same, sizes) == {"big": 1.0, "small": 1.0}


def test_cli_budget_prints_the_candidates_and_writes_the_report_and_figure(capsys, tmp_path):
    out, report = tmp_path / "auto.dcnp", tmp_path / "auto.json"
    code = main(["compress", "--model", "lenet300", "--budget", "2", "--out", str(out), "--report", str(report),
                 "--prune-epochs", "1", "--quant-epochs", "1", "--search-examples", "2000", "--search-steps", "1",
                 "--calibration-rounds", "0"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "candidate 1: knob" in printed and "chosen after" in printed
    record = json.loads(report.read_text())
    search = record["search"]
    assert search["budget"] == pytest.approx(0.02) and search["candidates"][search["chosen"]]["kind"] == "final"
    assert record["recipe"] == search["recipe"] and record["file_bytes"] == out.stat().st_size
    assert search["candidates"][search["chosen"]]["val_error"] <= search["val_limit"]
    assert report.with_suffix(".png").stat().st_size > 0


@pytest.mark.parametrize("argv, message", [
    (["--budget", "0"], "--budget is in percentage points"),
    (["--budget", "-1"], "--budget is in percentage points"),
    (["--figure", "x.png"], "--figure draws the recipe search: it needs --budget"),
])
def test_cli_budget_mistakes_get_one_line(capsys, tmp_path, argv, message):
    code = main(["compress", "--model", "lenet300", "--out", str(tmp_path / "x.dcnp")] + argv)
    assert code == 2 and message in capsys.readouterr().err



def test_cli_budget_on_your_own_model_and_data(capsys, tmp_path, model, digits):
    """``compress --weights M.npz --data D.npz --budget PP``: any saved model, data in Keras' mnist.npz layout."""
    from deepcompress_np.models import save_model

    (X, y), (X_val, y_val), (X_test, y_test) = digits
    weights, data = tmp_path / "mlp.npz", tmp_path / "digits.npz"
    save_model(weights, model)
    np.savez(data, x_train=X, y_train=y, x_val=X_val, y_val=y_val, x_test=X_test, y_test=y_test)
    out, report = tmp_path / "mlp.dcnp", tmp_path / "mlp.json"
    code = main(["compress", "--weights", str(weights), "--data", str(data), "--budget", "2", "--out", str(out),
                 "--report", str(report), "--prune-epochs", "3", "--quant-epochs", "2", "--prune-lr", "0.01",
                 "--search-steps", "2"])
    printed = capsys.readouterr().out
    assert code == 0 and "candidate 1: knob" in printed
    search = json.loads(report.read_text())["search"]
    chosen = search["candidates"][search["chosen"]]
    assert chosen["within_budget"] and chosen["file_bytes"] == out.stat().st_size
    # The validation split of the data file is what the budget is measured on.
    assert search["reference_val_error"] == evaluate(model, X_val, y_val)
    assert evaluate(CompressedModel.load(out), X_val, y_val) <= search["val_limit"]
    assert search["recipe"]["prune_lr"] == 0.01  # the overrides set the final run's schedule


def test_cli_budget_refuses_keep_and_bits(capsys, tmp_path):
    code = main(["compress", "--model", "lenet300", "--budget", "1", "--keep", "0.1", "--out", str(tmp_path / "x")])
    assert code == 2 and "--budget chooses the kept fractions and bits itself" in capsys.readouterr().err


def test_a_calibrated_run_that_misses_rules_its_candidate_out_and_the_next_round_tries_another(
        model, digits, monkeypatch):
    real = recipe_search.compress
    calls = []

    def first_calibrated_run_breaks(model, recipe, **kw):
        calls.append(recipe)
        result = real(model, recipe, **kw)
        if len(calls) == 2:  # the first final run is accepted; pretend the first calibrated one went wrong
            result.stages[-1]["val_error"] = 0.9
        return result

    monkeypatch.setattr(recipe_search, "compress", first_calibrated_run_breaks)
    train_data, val, _ = digits
    found = search_recipe(model, train_data, val, 0.01, calibration_rounds=3, **{**FAST, "base": CompressionRecipe(
        prune_epochs=6, quant_epochs=2, prune_lr=0.01, batch_size=32)})
    finals = [c for c in found.candidates if c["kind"] == "final"]
    assert finals[0]["within_budget"] and not finals[1]["within_budget"]
    assert len(finals) >= 3  # the miss did not end the calibration
    assert finals[2]["keep_fraction"] != finals[1]["keep_fraction"]  # a candidate not run in full before
    assert finals[2]["file_bytes"] < finals[0]["file_bytes"] and finals[2]["gap_used"] == finals[1]["gap_used"]
    assert found.candidates[found.chosen] is not finals[1]
