"""The check of tutorial 06 (importing scikit-learn's MLP): it passes the solution and catches the usual mistakes."""

import numpy as np
import pytest

from deepcompress_np.checks import CheckFailed, check_sklearn_to_state_dict
from deepcompress_np.checks._core import CheckResult
from deepcompress_np.checks.own_model import FittedMLP, _reference_sklearn_to_state_dict
from deepcompress_np.nn import Linear, ReLU, Sequential

# --- the notebook's solution ----------------------------------------------------------------------


def sklearn_to_state_dict(clf, layer_names):
    state = {}
    for name, W, b in zip(layer_names, clf.coefs_, clf.intercepts_):
        state[f"{name}.W"] = W.T
        state[f"{name}.b"] = b
    return state


def as_lists(clf, layer_names):
    """Another correct answer: nested lists instead of arrays, keys built differently."""
    return {key: value for i, name in enumerate(layer_names)
            for key, value in ((name + ".W", clf.coefs_[i].T.tolist()), (name + ".b", list(clf.intercepts_[i])))}


# --- plausible wrong answers ----------------------------------------------------------------------


def not_transposed(clf, layer_names):
    return {k: v for i, n in enumerate(layer_names) for k, v in ((f"{n}.W", clf.coefs_[i]),
                                                                  (f"{n}.b", clf.intercepts_[i]))}


def transposed_only_when_needed(clf, layer_names):
    """Transposes only when the shapes give it away: the square layer is wrong."""
    state = {}
    for i, n in enumerate(layer_names):
        W = clf.coefs_[i]
        state[f"{n}.W"] = W if W.shape[0] == W.shape[1] else W.T
        state[f"{n}.b"] = clf.intercepts_[i]
    return state


def torch_names(clf, layer_names):
    return {k: v for i, n in enumerate(layer_names) for k, v in ((f"{n}.weight", clf.coefs_[i].T),
                                                                  (f"{n}.bias", clf.intercepts_[i]))}


def swapped(clf, layer_names):
    return {k: v for i, n in enumerate(layer_names) for k, v in ((f"{n}.W", clf.intercepts_[i]),
                                                                  (f"{n}.b", clf.coefs_[i].T))}


def reversed_layers(clf, layer_names):
    return {k: v for i, n in enumerate(reversed(layer_names)) for k, v in ((f"{n}.W", clf.coefs_[i].T),
                                                                            (f"{n}.b", clf.intercepts_[i]))}


def first_layer_only(clf, layer_names):
    return {f"{layer_names[0]}.W": clf.coefs_[0].T, f"{layer_names[0]}.b": clf.intercepts_[0]}


# --- the solutions pass ---------------------------------------------------------------------------


@pytest.mark.parametrize("solution", [sklearn_to_state_dict, as_lists])
def test_the_solution_passes(solution):
    result = check_sklearn_to_state_dict.evaluate(solution)
    assert isinstance(result, CheckResult)
    assert result and result.n_cases == 3, result.report


def test_the_reference_loads_into_a_sequential_with_sklearns_forward_pass():
    """The oracle: scikit-learn's forward pass, relu(X @ W1 + b1) @ W2 + b2, written out with its own layouts."""
    clf = FittedMLP((6, 9, 4), seed=3)
    model = Sequential(Linear(6, 9, name="fc1"), ReLU(), Linear(9, 4, name="fc2"))
    model.load_state_dict(_reference_sklearn_to_state_dict(clf, ["fc1", "fc2"]))
    X = np.random.default_rng(0).normal(size=(5, 6))
    expected = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0) @ clf.coefs_[1] + clf.intercepts_[1]
    np.testing.assert_allclose(model.forward(X.astype(np.float32)), expected, rtol=1e-5, atol=1e-5)


# --- wrong answers are rejected, with the right hint ----------------------------------------------


@pytest.mark.parametrize("mutant, hint", [
    (not_transposed, "transpose it (coefs_[0].T)"),
    (transposed_only_when_needed, "transpose it (coefs_[1].T)"),
    (torch_names, "PyTorch's key names"),
    (swapped, "the biases are intercepts_[0]"),
    (reversed_layers, "layer_names[i] goes with coefs_[i]"),
])
def test_mistakes_are_rejected_with_a_hint(mutant, hint):
    result = check_sklearn_to_state_dict.evaluate(mutant)
    assert not result
    assert "\u2718" in result.report and "expected:" in result.report
    assert hint in result.report, result.report


def test_a_missing_layer_names_the_keys():
    result = check_sklearn_to_state_dict.evaluate(first_layer_only)
    assert not result and "the keys are ['fc1.W', 'fc1.b'], expected" in result.report, result.report


# --- robustness: stubs, crashes, wrong types ------------------------------------------------------


def test_a_stub_is_reported_as_not_implemented():
    def stub(clf, layer_names):
        raise NotImplementedError

    result = check_sklearn_to_state_dict.evaluate(stub)
    assert not result and "not implemented yet" in result.report


@pytest.mark.parametrize("bad, message", [
    (lambda clf, names: None, "forget the `return`"),
    (lambda clf, names: [clf.coefs_[0].T], "expected a dict"),
    (lambda clf, names: {k: "text" for k in sklearn_to_state_dict(clf, names)}, "not an array of numbers"),
    (lambda clf, names: clf.coefs_[5], "raised IndexError"),
])
def test_crashes_and_wrong_types_give_a_failed_result_never_an_exception(bad, message):
    result = check_sklearn_to_state_dict.evaluate(bad)
    assert isinstance(result, CheckResult) and not result
    assert message in result.report, result.report


def test_a_failed_check_raises_and_a_passed_one_returns_none(capsys):
    with pytest.raises(CheckFailed, match="check_sklearn_to_state_dict"):
        check_sklearn_to_state_dict(not_transposed)
    assert "transpose it" in capsys.readouterr().out
    assert check_sklearn_to_state_dict(sklearn_to_state_dict) is None
    assert capsys.readouterr().out == "\u2714 check_sklearn_to_state_dict: all 3 cases pass\n"


NOTEBOOK_SEED = 90661  # tutorial 06's hidden-test cell


@pytest.mark.parametrize("seed", [0, 1, 2, NOTEBOOK_SEED])
def test_hidden_random_cases_pass_the_solutions_and_catch_every_mistake(seed):
    for solution in (sklearn_to_state_dict, as_lists):
        result = check_sklearn_to_state_dict.evaluate(solution, seed=seed)
        assert result and "all 8 hidden cases pass" in result.report, result.report
    for mutant in (not_transposed, transposed_only_when_needed, torch_names, swapped, reversed_layers,
                   first_layer_only):
        assert not check_sklearn_to_state_dict.evaluate(mutant, seed=seed), (mutant.__name__, seed)


def test_the_same_seed_draws_the_same_networks():
    from deepcompress_np.checks.own_model import _random_cases

    a, b = _random_cases(np.random.default_rng(5), 8), _random_cases(np.random.default_rng(5), 8)
    assert [c.description for c in a] == [c.description for c in b]
    assert all(np.array_equal(x.args[0].coefs_[-1], y.args[0].coefs_[-1]) for x, y in zip(a, b))


@pytest.mark.parametrize("in_place", [
    lambda clf, names: clf.coefs_.__setitem__(0, clf.coefs_[0].T),      # transposes the model's list entry
    lambda clf, names: clf.coefs_.reverse(),                              # reorders the model's layers
    lambda clf, names: clf.intercepts_[0].sort(),                        # sorts a bias vector in place
])
def test_an_answer_that_changes_the_model_it_was_given_fails(in_place):
    def answer(clf, layer_names):
        right = as_lists(clf, layer_names)  # copies: the answer is right, but the model is changed after
        in_place(clf, layer_names)
        return right

    result = check_sklearn_to_state_dict.evaluate(answer)
    assert not result and "changed its input `clf` in place" in result.report, result.report


def test_the_checks_own_reference_as_the_answer_fails():
    result = check_sklearn_to_state_dict.evaluate(_reference_sklearn_to_state_dict)
    assert not result and "library's own implementation" in result.report, result.report
    wrapped = check_sklearn_to_state_dict.evaluate(lambda clf, names: _reference_sklearn_to_state_dict(clf, names))
    assert not wrapped and "calls the library's own" in wrapped.report, wrapped.report
