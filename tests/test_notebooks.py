"""Every tutorial runs top to bottom, its checks pass, and the student versions hold no solutions or hidden tests."""

import json
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from deepcompress_np.assignments import (ANSWER_PLACEHOLDER, BEGIN, END, is_answer_cell, strip_hidden_tests,
                                         student_notebook, write_student_notebooks)

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))
PASSED, NOT_IMPLEMENTED = "\u2714 check_", "is not implemented yet"


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _text_outputs(cell):
    texts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            texts.append("".join(out["text"]) if isinstance(out["text"], list) else out["text"])
        elif "data" in out and "text/plain" in out["data"]:
            data = out["data"]["text/plain"]
            texts.append("".join(data) if isinstance(data, list) else data)
        elif out.get("output_type") == "error":
            texts.append(f"{out['ename']}: {out['evalue']}")
    return "\n".join(texts)


def _tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def _execute(nb, timeout=900, allow_errors=False):
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(TUTORIALS)}}).execute()
    return nb


def _errors(cell):
    return [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def test_tutorials_are_numbered_from_00_and_committed_with_outputs():
    names = [p.name for p in NOTEBOOKS]
    assert len(names) >= 7, names  # 00..05, one per stage, and 06 (your own network)
    assert [n[:3] for n in names] == [f"{i:02d}_" for i in range(len(names))], names
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert code and all(c.get("execution_count") for c in code), f"{path.name} has unexecuted cells"
        assert any(c.get("outputs") for c in code), f"{path.name} was committed without outputs"
        assert sum("exercise" in _tags(c) for c in code) >= 1, f"{path.name} has no exercise"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_tutorial_runs_top_to_bottom_and_every_check_passes(path):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    _execute(nb)
    seconds = time.perf_counter() - start
    checks = [c for c in nb.cells if "check" in _tags(c)]
    hidden = [c for c in nb.cells if "hidden-check" in _tags(c)]
    assert checks and len(hidden) == len(checks), f"{path.name}: a check cell without its hidden tests"
    for cell in checks + hidden:
        out = _text_outputs(cell)
        assert PASSED in out, f"{path.name}: check cell {_source(cell)!r} did not pass:\n{out}"
        assert not any(o.get("output_type") == "execute_result" for o in cell.outputs), "a check left a value"
    assert all("hidden cases pass" in _text_outputs(c) for c in hidden)
    print(f"{path.name}: {seconds:.0f} s")


def _solution_lines(path):
    """The distinctive lines of every solution region of a tutorial."""
    lines = []
    for cell in json.loads(path.read_text())["cells"]:
        for region in re.findall(re.escape(BEGIN) + r"(.*?)" + re.escape(END), _source(cell), re.S):
            lines += [line.strip() for line in region.splitlines()
                      if len(line.strip()) > 12 and not line.strip().startswith("#")]
    return lines


def _hidden_lines(path):
    """The hidden-test calls (with their seeds) of a tutorial."""
    lines = []
    for cell in json.loads(path.read_text())["cells"]:
        for block in re.findall(r"BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", _source(cell), re.S):
            lines += [line.strip() for line in block.splitlines() if "seed=" in line]
    return lines


def test_student_versions_hold_no_solution_code(tmp_path):
    written = write_student_notebooks(tmp_path / "student", tutorials=TUTORIALS)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for solution, student in zip(NOTEBOOKS, written):
        lines = _solution_lines(solution)
        assert lines, f"{solution.name}: no solution regions found"
        assert _hidden_lines(solution), f"{solution.name}: no hidden tests"
        text = student.read_text()
        for line in lines:
            assert json.dumps(line)[1:-1] not in text, f"{student.name} leaks solution line {line!r}"
        nb = json.loads(text)
        assert BEGIN not in text and END not in text
        assert "HIDDEN TESTS" not in text, f"{student.name} leaks hidden tests"
        for line in _hidden_lines(solution):
            assert json.dumps(line)[1:-1] not in text, f"{student.name} leaks hidden-test line {line!r}"
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "outputs not cleared"
        # everything but the solution regions is unchanged
        original = json.loads(solution.read_text())
        assert [c["cell_type"] for c in nb["cells"]] == [c["cell_type"] for c in original["cells"]]
        for a, b in zip(nb["cells"], original["cells"]):
            if is_answer_cell(b):  # an inline question: the model answer is replaced
                assert _source(a) == ANSWER_PLACEHOLDER and _source(b) not in text
            elif BEGIN not in _source(b):
                assert _source(a) == strip_hidden_tests(_source(b))


def test_hidden_test_blocks_are_removed_with_their_markers_and_bad_ones_refused():
    source = "# kept\n### BEGIN HIDDEN TESTS\ncheck(f, seed=1)\n### END HIDDEN TESTS\nalso kept"
    assert strip_hidden_tests(source) == "# kept\nalso kept"
    for broken in ("### BEGIN HIDDEN TESTS\nx", "x\n### END HIDDEN TESTS",
                   "### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS"):
        with pytest.raises(ValueError, match="HIDDEN TESTS"):
            strip_hidden_tests(broken)


def test_student_version_blanks_model_answers_only():
    answer_meta = {"nbgrader": {"grade": True, "solution": True, "locked": False, "points": 1,
                                "grade_id": "q_x_1", "schema_version": 3}, "tags": ["question"]}
    notebook = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "**Question.** Why?"},
        {"cell_type": "markdown", "metadata": answer_meta, "source": ["**Your answer:** ", "because."]},
        {"cell_type": "markdown", "metadata": {"nbgrader": {"solution": False, "grade": False}}, "source": "Text."},
        {"cell_type": "code", "metadata": {"nbgrader": {"solution": True, "grade": True}}, "source": "x = 1",
         "outputs": [], "execution_count": 1},
    ]}
    student = student_notebook(notebook)
    assert [_source(c) for c in student["cells"]] == ["**Question.** Why?", ANSWER_PLACEHOLDER, "Text.", "x = 1"]
    assert _source(notebook["cells"][1]) == "**Your answer:** because."  # the input is not changed


def test_every_tutorial_has_inline_questions_graded_by_hand():
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        answers = [c for c in cells if is_answer_cell(c)]
        assert len(answers) >= 2, f"{path.name} has {len(answers)} inline questions"
        for cell in answers:
            meta = cell["metadata"]
            assert "question" in meta.get("tags", []) and meta["nbgrader"]["points"] >= 1
            assert meta["nbgrader"]["grade_id"].startswith("q_") and len(_source(cell)) > 40


def test_generator_refuses_to_overwrite_notebooks(tmp_path):
    out = tmp_path / "student"
    write_student_notebooks(out, tutorials=TUTORIALS)
    with pytest.raises(ValueError, match="already holds"):
        write_student_notebooks(out, tutorials=TUTORIALS)
    write_student_notebooks(out, tutorials=TUTORIALS, force=True)
    with pytest.raises(ValueError, match="tutorials folder itself"):
        write_student_notebooks(TUTORIALS, tutorials=TUTORIALS, force=True)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_version_checks_report_missing_implementations(path):
    """Executed as generated, every check prints what is missing and then fails its cell (what graders score)."""
    student = student_notebook(json.loads(path.read_text()))
    cells = [c for c in student["cells"] if _tags(c) & {"setup", "exercise", "check", "hidden-check"}]
    nb = nbformat.reads(json.dumps({**student, "cells": cells}), as_version=4)
    _execute(nb, timeout=300, allow_errors=True)
    checks = [c for c in nb.cells if "check" in _tags(c)]
    assert checks
    for cell in nb.cells:
        if "check" in _tags(cell):
            out = _text_outputs(cell)
            assert NOT_IMPLEMENTED in out and "\u2718" in out, f"{path.name}: {_source(cell)!r} printed:\n{out}"
            assert [e["ename"] for e in _errors(cell)] == ["CheckFailed"], f"{path.name}: {_source(cell)!r}"
        else:  # setup, stubs and the (empty) hidden-test cells run without error
            assert not _errors(cell), f"{path.name}: {_source(cell)!r} raised {_errors(cell)}"
