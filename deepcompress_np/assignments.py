"""Student versions of the tutorials, generated from the solutions so the two never drift apart.

Each tutorial holds its exercises in code cells, between nbgrader's markers::

    def linear_backward(dout, x, W):
        \"\"\"...\"\"\"
        ### BEGIN SOLUTION
        ...the reference solution...
        ### END SOLUTION

:func:`student_notebook` replaces every such region by
``raise NotImplementedError(...)`` at the same indentation (the ``def`` line
and the docstring stay: the stub has the same signature), removes every
region between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``
(markers included, as nbgrader's ``generate_assignment`` does: those cases run
only when the instructor grades), clears every output, and leaves everything
else as it is. The check cell after each exercise then reports "not
implemented yet" until the student fills it in. An inline question's answer
cell (a markdown cell that nbgrader grades by hand) holds a model answer in
the tutorial; :func:`blank_answers` replaces its text by ``YOUR ANSWER HERE``,
as ``nbgrader generate_assignment`` does.

Notebooks are read and written as JSON with the standard library; no
Jupyter package is needed to generate them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

TUTORIALS_DIR = Path(__file__).resolve().parent.parent / "tutorials"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.M | re.S)


def strip_solutions(source, exercise="this exercise"):
    """Replace each solution region of a cell's source by a ``NotImplementedError`` stub.

    Raises ValueError for unbalanced markers (a BEGIN without its END), which
    would otherwise leak a solution into the student version.
    """
    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"unbalanced solution markers in {exercise}: {source.count(BEGIN)} BEGIN, "
                         f"{source.count(END)} END")

    def stub(match):
        indent, newline = match.group(1), match.group(2)
        return f'{indent}raise NotImplementedError("{exercise}: write your code here"){newline}'

    out = _REGION.sub(stub, source)
    if BEGIN in out or END in out:
        raise ValueError(f"solution markers out of order in {exercise}")
    return out


def strip_hidden_tests(source, cell_name="this cell"):
    """Remove every hidden-test region (markers included) from a cell's source, line by line.

    Raises ValueError for an unbalanced or nested region, which would
    otherwise leak hidden cases (and their seeds) into the student version.
    """
    kept, inside = [], False
    for line in source.split("\n"):
        if "BEGIN HIDDEN TESTS" in line:
            if inside:
                raise ValueError(f"nested BEGIN HIDDEN TESTS in {cell_name}")
            inside = True
        elif "END HIDDEN TESTS" in line:
            if not inside:
                raise ValueError(f"END HIDDEN TESTS without its BEGIN in {cell_name}")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ValueError(f"BEGIN HIDDEN TESTS without its END in {cell_name}")
    return "\n".join(kept)


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"


def is_answer_cell(cell):
    """True for an inline question's answer: a markdown cell nbgrader marks as a solution graded by hand."""
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "markdown" and bool(nbgrader.get("solution")) and bool(nbgrader.get("grade"))


def blank_answers(nb):
    """Replace the model answer of every inline question's answer cell by ``YOUR ANSWER HERE``, in place."""
    for cell in nb.get("cells", []):
        if is_answer_cell(cell):
            cell["source"] = ANSWER_PLACEHOLDER
    return nb


def student_notebook(notebook):
    """The student version of a notebook (a dict as read from JSON); the input is not changed."""
    nb = blank_answers(json.loads(json.dumps(notebook)))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "this exercise")
        if "HIDDEN TESTS" in source:
            source = strip_hidden_tests(source, name)
        if BEGIN in source or END in source:
            source = strip_solutions(source, name)
        cell["source"] = source
        cell["outputs"] = []
        cell["execution_count"] = None
    return nb


def write_student_notebooks(out, tutorials=None, force=False):
    """Write the student version of every ``tutorials/*.ipynb`` into the folder ``out``.

    Refuses (ValueError) to write into a folder that already holds notebooks
    unless ``force`` is True. Returns the paths written.
    """
    tutorials = Path(tutorials) if tutorials is not None else TUTORIALS_DIR
    sources = sorted(tutorials.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no tutorial notebooks in {tutorials}; run from a source checkout of the project")
    out = Path(out)
    if out.resolve() == tutorials.resolve():
        raise ValueError("the output folder is the tutorials folder itself: that would overwrite the solutions")
    existing = sorted(out.glob("*.ipynb")) if out.is_dir() else []
    if existing and not force:
        raise ValueError(f"{out} already holds {len(existing)} notebooks ({existing[0].name}, ...); "
                         f"choose an empty folder or pass --force to overwrite them")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sources:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        target = out / path.name
        target.write_text(json.dumps(student_notebook(notebook), indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        written.append(target)
    return written


# ---------------------------------------------------------------------------
# Grading without nbgrader
# ---------------------------------------------------------------------------

#: Cell timeout (seconds) of ``grade``: notebooks 01 and 05 have cells that train for minutes.
GRADE_TIMEOUT = 600


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def graded_version(submission, source):
    """The notebook to run for grading: the instructor's ``source`` with the student's answers put in.

    Every cell comes from ``source`` (so its check cells, hidden tests
    included, are the instructor's, whatever the student edited), except the
    exercise cells (nbgrader ``solution: true``), which come from the
    ``submission`` cell with the same ``grade_id``. An exercise missing from
    the submission becomes the stub of the student version. Outputs are cleared.
    """
    answers = {}
    for cell in submission.get("cells", []):
        meta = _nbgrader(cell)
        if meta.get("solution") and meta.get("grade_id"):
            answers[meta["grade_id"]] = _source(cell)
    nb = json.loads(json.dumps(source))
    for cell in nb.get("cells", []):
        meta = _nbgrader(cell)
        if meta.get("solution") and meta.get("grade_id"):
            grade_id = meta["grade_id"]
            cell["source"] = answers[grade_id] if grade_id in answers else strip_solutions(_source(cell), grade_id)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def cell_score(cell):
    """``(score, max_points)`` of an executed graded cell, by nbgrader's rule (``utils.determine_grade``).

    An error output, or any output on stderr, gives 0; an ``execute_result``
    that reads as a number gives that many points (partial credit); anything
    else gives the cell's full points.
    """
    max_points = float(_nbgrader(cell).get("points", 0))
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error" or (out.get("output_type") == "stream" and out.get("name") == "stderr"):
            return 0.0, max_points
        if out.get("output_type") == "execute_result":
            text = out.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            try:
                return min(max(float(text), 0.0), max_points), max_points
            except ValueError:
                return max_points, max_points
    return max_points, max_points


def exercise_of(grade_id):
    """The exercise a graded cell belongs to: ``check_relative_index`` and ``hidden_relative_index`` -> ``relative_index``."""
    for prefix in ("check_", "hidden_"):
        if grade_id.startswith(prefix):
            return grade_id[len(prefix):]
    return grade_id


def _executor():
    try:
        from nbclient import NotebookClient
        import nbformat
    except ImportError as e:
        raise ImportError(
            "grading runs the notebooks with nbclient, which is not installed: "
            "pip install 'deepcompress_np[dev]' (or: pip install nbclient nbformat ipykernel)"
        ) from e
    return NotebookClient, nbformat


def grade_notebook(submission_path, source_path, timeout=GRADE_TIMEOUT, kernel_name="python3"):
    """Run one submitted notebook against its instructor version; the score of each exercise.

    Returns
    -------
    dict
        exercise -> [score, max_points], summed over the exercise's graded
        cells (its visible check and its hidden tests), in notebook order.
    """
    NotebookClient, nbformat = _executor()
    submission = json.loads(Path(submission_path).read_text(encoding="utf-8"))
    source = json.loads(Path(source_path).read_text(encoding="utf-8"))
    nb = nbformat.reads(json.dumps(graded_version(submission, source)), as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
                   resources={"metadata": {"path": str(Path(source_path).parent)}}).execute()
    scores = {}
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if meta.get("grade") and cell.get("cell_type") == "code":
            score, max_points = cell_score(cell)
            total = scores.setdefault(exercise_of(meta.get("grade_id", "?")), [0.0, 0.0])
            total[0] += score
            total[1] += max_points
    return scores


def grade_submissions(submissions, source=None, timeout=GRADE_TIMEOUT, progress=print):
    """Grade every ``*.ipynb`` under ``submissions`` against the tutorial of the same name.

    ``submissions`` holds one folder per student (``SUBMISSIONS/alice/03_weight_sharing.ipynb``,
    as nbgrader's ``submitted/`` folder does, deeper levels allowed) or the
    notebooks themselves (the student is then the file's folder name).

    Returns
    -------
    list of dict
        One row per student, notebook and exercise: ``student``, ``notebook``,
        ``exercise``, ``score``, ``max_score``.
    """
    submissions = Path(submissions)
    source = Path(source) if source is not None else TUTORIALS_DIR
    if not submissions.is_dir():
        raise FileNotFoundError(f"{submissions} is not a folder of submitted notebooks")
    sources = {p.name: p for p in source.glob("*.ipynb")}
    if not sources:
        raise FileNotFoundError(f"no instructor notebooks in {source}; pass --source, the folder of the tutorials "
                                f"with their solutions and hidden tests")
    found = sorted(p for p in submissions.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not found:
        raise FileNotFoundError(f"no .ipynb files under {submissions}")
    rows = []
    for path in found:
        if path.name not in sources:
            raise ValueError(f"{path}: no instructor notebook named {path.name} in {source}")
        relative = path.parent.relative_to(submissions)
        student = relative.as_posix() if relative.parts else submissions.name
        progress(f"grading {student}/{path.name} ...")
        for exercise, (score, max_score) in grade_notebook(path, sources[path.name], timeout).items():
            rows.append({"student": student, "notebook": path.name, "exercise": exercise,
                         "score": score, "max_score": max_score})
    return rows


def format_scores(rows):
    """A plain-text table of :func:`grade_submissions` rows, with each student's total."""
    header = ("student", "notebook", "exercise", "score")
    lines = [[r["student"], r["notebook"], r["exercise"], f"{r['score']:g} / {r['max_score']:g}"] for r in rows]
    for student in dict.fromkeys(r["student"] for r in rows):
        mine = [r for r in rows if r["student"] == student]
        lines.append([student, "(total)", "", f"{sum(r['score'] for r in mine):g} / "
                                              f"{sum(r['max_score'] for r in mine):g}"])
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [fmt.format(*x) for x in lines])


def write_scores_csv(rows, path):
    """Write the rows as CSV (student, notebook, exercise, score, max_score)."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "notebook", "exercise", "score", "max_score"])
        writer.writeheader()
        writer.writerows(rows)
