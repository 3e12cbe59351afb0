"""Real nbgrader, as an instructor runs it: generate the assignment, autograde five students, read the scores.

No environment variable is set for the checks: a stub scores 0, the reference full marks, one bug part of
them, and the two tricks an earlier version fell for (changing os.environ in the answer cell, importing the
library's own function as the answer) score 0. To keep the run short the course's notebooks are 02 and 04
cut down to their setup, exercise, check and hidden-test cells (the cells nbgrader grades and what they need).
"""

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepcompress_np.checks.huffman import _lengths_merging_heaviest

nbgrader_api = pytest.importorskip("nbgrader.api", reason="nbgrader is in the dev extra")

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("02_sparse_storage.ipynb", "04_huffman_coding.ipynb")
KEEP = {"setup", "exercise", "check", "hidden-check"}
ASSIGNMENT = "ps1"

# A plausible bug, as a student would submit it: the same wrong Huffman the check diagnoses (merging the two
# *heaviest* nodes), renamed to the exercise's function.
BUGGY_HUFFMAN = inspect.getsource(_lengths_merging_heaviest).replace("_lengths_merging_heaviest",
                                                                     "huffman_code_lengths")

IMPORTS = {
    "relative_index": "from deepcompress_np.sparse import relative_index\n",
    "from_relative_index": "from deepcompress_np.sparse import from_relative_index\n",
    "huffman_code_lengths": "from deepcompress_np.huffman import huffman_code_lengths\n",
    "canonical_codes": "from deepcompress_np.huffman import canonical_codes\n",
}


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _answers(notebook):
    return [c for c in notebook["cells"] if _nbgrader(c).get("solution")]


def _submission(release, source, answer):
    """The released notebook with each answer cell's source replaced by ``answer(grade_id, solution_source)``."""
    solutions = {_nbgrader(c)["grade_id"]: _source(c) for c in _answers(source)}
    nb = json.loads(json.dumps(release))
    for cell in _answers(nb):
        grade_id = _nbgrader(cell)["grade_id"]
        cell["source"] = answer(grade_id, solutions[grade_id], _source(cell))
    return nb


STUDENTS = {
    "stub": lambda grade_id, solution, stub: stub,
    "reference": lambda grade_id, solution, stub: solution,
    "one_bug": lambda grade_id, solution, stub: BUGGY_HUFFMAN if grade_id == "huffman_code_lengths" else solution,
    "env_trick": lambda grade_id, solution, stub: (
        "import os\nos.environ.pop('DEEPCOMPRESS_CHECKS_RAISE', None)\nos.environ['DEEPCOMPRESS_CHECKS_RAISE'] = '0'\n"
        + stub),
    "import_trick": lambda grade_id, solution, stub: IMPORTS[grade_id],
}
EXPECTED = {"stub": 0, "reference": 8, "one_bug": 6, "env_trick": 0, "import_trick": 0}


def _nbgrader_cli(course, env, *args):
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_real_nbgrader_scores_stub_reference_bug_and_tricks(tmp_path):
    course = tmp_path / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    for name in NOTEBOOKS:
        nb = json.loads((REPO / "tutorials" / name).read_text())
        nb["cells"] = [c for c in nb["cells"] if KEEP & set(c.get("metadata", {}).get("tags", []))]
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        (course / "source" / ASSIGNMENT / name).write_text(json.dumps(nb, indent=1))
    (course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "deepcompress"\nc.Execute.timeout = 300\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPCOMPRESS_CHECKS")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
               DEEPCOMPRESS_DATA=str(REPO / "data"))

    _nbgrader_cli(course, env, "generate_assignment", ASSIGNMENT, "--force")
    for name in NOTEBOOKS:
        text = (course / "release" / ASSIGNMENT / name).read_text()
        assert "HIDDEN TESTS" not in text and "seed=" not in text, f"{name}: hidden tests leak into the release"
        assert "BEGIN SOLUTION" not in text and "NotImplementedError" in text

    for student, answer in STUDENTS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name in NOTEBOOKS:
            release = json.loads((course / "release" / ASSIGNMENT / name).read_text())
            source = json.loads((course / "source" / ASSIGNMENT / name).read_text())
            (folder / name).write_text(json.dumps(_submission(release, source, answer), indent=1))
    _nbgrader_cli(course, env, "autograde", ASSIGNMENT, "--create")
    _nbgrader_cli(course, env, "export")
    assert (course / "grades.csv").is_file()

    scores, per_cell = {}, {}
    with nbgrader_api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in STUDENTS:
            submission = gradebook.find_submission(ASSIGNMENT, student)
            scores[student] = (submission.score, submission.max_score)
            per_cell[student] = {g.name: g.score for nb in submission.notebooks for g in nb.grades}
    print("\nnbgrader scores (no environment variable):")
    for student, (score, max_score) in scores.items():
        print(f"  {student:<13} {score:g} / {max_score:g}   {per_cell[student]}")
    assert {s: score for s, (score, _) in scores.items()} == EXPECTED, scores
    assert all(max_score == 8 for _, max_score in scores.values())  # 02 and 04: two exercises each, two cells each
    # the bug costs exactly its exercise: visible and hidden cells of huffman_code_lengths
    assert per_cell["one_bug"]["check_huffman_code_lengths"] == 0 == per_cell["one_bug"]["hidden_huffman_code_lengths"]
    assert per_cell["one_bug"]["check_canonical_codes"] == 1 == per_cell["one_bug"]["hidden_relative_index"]
