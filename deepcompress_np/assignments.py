"""Student versions of the tutorials, generated from the solutions so the two never drift apart.

Each tutorial holds its exercises in code cells, between nbgrader's markers::

    def linear_backward(dout, x, W):
        \"\"\"...\"\"\"
        ### BEGIN SOLUTION
        ...the reference solution...
        ### END SOLUTION

:func:`student_notebook` replaces every such region by
``raise NotImplementedError(...)`` at the same indentation (the ``def`` line
and the docstring stay: the stub has the same signature), clears every
output, and leaves everything else as it is. The check cell after each
exercise then reports "not implemented yet" until the student fills it in.
An inline question's answer cell (a markdown cell that nbgrader grades by
hand) holds a model answer in the tutorial; :func:`blank_answers` replaces
its text by ``YOUR ANSWER HERE``, as ``nbgrader generate_assignment`` does.

Notebooks are read and written as JSON with the standard library; no
Jupyter package is needed to generate them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

TUTORIALS_DIR = Path(__file__).resolve().parent.parent / "tutorials"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
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
        if BEGIN in source or END in source:
            name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "this exercise")
            cell["source"] = strip_solutions(source, name)
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
