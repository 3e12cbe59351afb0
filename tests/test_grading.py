"""Grading without nbgrader: ``python -m deepcompress_np grade`` and the pieces of assignments.py behind it."""

import csv
import json
import sys
from pathlib import Path

import pytest

from deepcompress_np import assignments, cli
from deepcompress_np.assignments import cell_score, exercise_of, graded_version, student_notebook

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
KEEP = {"setup", "exercise", "check", "hidden-check"}


def _cut(name):
    """A tutorial cut down to the cells that grading needs (setup, answers, checks, hidden tests)."""
    nb = json.loads((TUTORIALS / name).read_text())
    nb["cells"] = [c for c in nb["cells"] if KEEP & set(c.get("metadata", {}).get("tags", []))]
    return nb


def _graded(points=1, outputs=()):
    return {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "points": points}}, "outputs": list(outputs)}


@pytest.mark.parametrize("outputs, score", [
    ([], 2.0),
    ([{"output_type": "stream", "name": "stdout", "text": "\u2714 check_x: all 4 cases pass\n"}], 2.0),
    ([{"output_type": "error", "ename": "CheckFailed", "evalue": "", "traceback": []}], 0.0),
    ([{"output_type": "stream", "name": "stderr", "text": "a warning\n"}], 0.0),
    ([{"output_type": "execute_result", "data": {"text/plain": "1.5"}, "metadata": {}}], 1.5),
    ([{"output_type": "execute_result", "data": {"text/plain": "'some text'"}, "metadata": {}}], 2.0),
])
def test_cells_are_scored_by_nbgraders_rule(outputs, score):
    assert cell_score(_graded(2, outputs)) == (score, 2.0)


def test_exercise_names():
    assert exercise_of("check_relative_index") == exercise_of("hidden_relative_index") == "relative_index"


def test_the_graded_version_keeps_the_instructors_checks_and_takes_only_the_answers():
    source = _cut("02_sparse_storage.ipynb")
    submission = student_notebook(source)
    for cell in submission["cells"]:
        tags = cell["metadata"].get("tags", [])
        if "exercise" in tags:
            cell["source"] = "def relative_index(flat, b):\n    return 'my answer'\n"
        if "check" in tags:
            cell["source"] = "pass  # a student who emptied the check"
    graded = graded_version(submission, source)
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in graded["cells"]]
    assert "def relative_index(flat, b):\n    return 'my answer'\n" in sources
    assert any("check_relative_index(relative_index)" in s for s in sources)
    assert any("seed=" in s for s in sources)  # the hidden tests are back
    assert not any(s.startswith("pass  # a student") for s in sources)


def test_a_missing_answer_becomes_the_stub():
    source = _cut("02_sparse_storage.ipynb")
    graded = graded_version({"cells": []}, source)
    answer = [c for c in graded["cells"] if "exercise" in c["metadata"].get("tags", [])][0]
    assert "NotImplementedError" in "".join(answer["source"])


def test_grading_without_nbclient_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "nbclient", None)
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    (tmp_path / "subs" / "alice" / "02_sparse_storage.ipynb").write_text(json.dumps(_cut("02_sparse_storage.ipynb")))
    assert cli.main(["grade", str(tmp_path / "subs")]) == 2
    err = capsys.readouterr().err
    assert "nbclient" in err and "deepcompress_np[dev]" in err


@pytest.mark.slow
def test_grade_command_prints_and_writes_a_score_per_exercise(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DEEPCOMPRESS_CHECKS_RAISE", raising=False)
    source = tmp_path / "instructor"
    source.mkdir()
    nb = _cut("02_sparse_storage.ipynb")
    (source / "02_sparse_storage.ipynb").write_text(json.dumps(nb))
    for student, notebook in (("alice", nb), ("bob", student_notebook(nb))):
        (tmp_path / "subs" / student).mkdir(parents=True)
        (tmp_path / "subs" / student / "02_sparse_storage.ipynb").write_text(json.dumps(notebook))
    out = tmp_path / "scores.csv"
    assert cli.main(["grade", str(tmp_path / "subs"), "--source", str(source), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "relative_index" in printed and "(total)" in printed
    rows = list(csv.DictReader(out.open()))
    scores = {(r["student"], r["exercise"]): (float(r["score"]), float(r["max_score"])) for r in rows}
    assert scores == {("alice", "relative_index"): (2.0, 2.0), ("bob", "relative_index"): (0.0, 2.0),
                      ("alice", "from_relative_index"): (2.0, 2.0), ("bob", "from_relative_index"): (0.0, 2.0)}
    assert cli.main(["grade", str(tmp_path / "subs"), "--source", str(source), "--out", str(out)]) == 2  # no overwrite


def test_grade_refuses_a_folder_without_notebooks(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .ipynb"):
        assignments.grade_submissions(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        assignments.grade_submissions(tmp_path / "missing")
