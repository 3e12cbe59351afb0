"""Checks for the tutorials' exercises: ``check_<name>(your_function)``.

Each check runs your function against the library's reference on several
inputs, edge cases included. On success it prints one line and returns None;
on failure it prints what it tried, what it expected, what it got and a hint
aimed at the likely mistake, then raises :class:`CheckFailed` (an
``AssertionError``), which is what an autograder scores. ``check_<name>(fn,
seed=N)`` runs random cases drawn from ``N`` instead (the hidden tests), and
``check_<name>.evaluate(fn)`` returns the :class:`CheckResult` without
printing or raising. See ``_core.py`` for how, and ``tutorials/README.md`` for
how instructors use them.

One module per tutorial:

* ``nn`` (00): ``check_linear_backward``, ``check_softmax_cross_entropy``
* ``pruning`` (01): ``check_prune_by_std``, ``check_masked_sgd_step``
* ``sparse`` (02): ``check_relative_index``
* ``quantization`` (03): ``check_linear_init``, ``check_centroid_update``
* ``huffman`` (04): ``check_huffman_code_lengths``, ``check_canonical_codes``
* ``ratio`` (05): ``check_layer_compression``
* ``course`` (01, 02): ``check_choose_keep_fractions``, ``check_from_relative_index`` (the larger exercises)
* ``own_model`` (06): ``check_sklearn_to_state_dict``
* ``inference`` (07): ``check_weight_traffic``
"""

import importlib

from deepcompress_np.checks._core import CheckFailed, CheckResult

_MODULES = ("nn", "pruning", "sparse", "quantization", "huffman", "ratio", "course", "own_model", "inference")
__all__ = ["CheckFailed", "CheckResult"]
for _module_name in _MODULES:
    _module = importlib.import_module(f"{__name__}.{_module_name}")
    for _name in _module.__all__:
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
