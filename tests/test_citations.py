"""Every reference to a paper's section, equation, table or figure, listed in one place, and the known-wrong ones refused.

Two papers are cited: Deep Compression (Han, Mao and Dally, ICLR 2016, arXiv:1510.00149), the default, and
Han, Pool, Tran and Dally, "Learning both Weights and Connections for Efficient Neural Networks" (NIPS 2015,
arXiv:1506.02626), meant when "Han 2015" or "Han et al. 2015" (or the title) appears in the 80 characters
before the reference (on its line or the end of the line before) and the word "paper" does not come after it. Run ``python tests/test_citations.py`` to print the list (file, line, reference, paper, context), to
check them all against the two papers at once; the test prints it too (pytest -s) and fails on the wrong
citations found in review (issue 14) and on numbers neither paper has.
"""

import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEEP_COMPRESSION, HAN_2015 = "Deep Compression (ICLR 2016)", "Han et al. 2015 (NIPS)"
REFERENCE = re.compile(r"§\s*\d+(?:\.\d+)*|\b[Ee]q(?:uation)?\.?\s*\(?\d+\)?|\bTables?\s+\d+(?:\s*(?:-|–|and|,)\s*\d+)*"
                       r"|\bFig(?:ure)?s?\.?\s+\d+(?:\s*(?:-|–|and|,)\s*\d+)*")
HAN = re.compile(r"Han (?:et al\.? )?(?:\(NIPS )?2015|Learning both Weights", re.I)
WINDOW = 80  # characters before a reference in which "Han 2015" must appear for it to be Han's

#: What each paper has (checked against the papers): sections, equations, tables, figures.
LIMITS = {DEEP_COMPRESSION: {"§": 9, "eq": 3, "Table": 9, "Figure": 11},  # Tables 8-9: Appendix A
          HAN_2015: {"§": 6, "eq": 2, "Table": 6, "Figure": 7}}

#: Citations found wrong in review, as (pattern on one line, what is right).
KNOWN_WRONG = [
    (re.compile(r"sensitiv.*(§\s*4\b|Figure 5)|(§\s*4\b|Figure 5).*sensitiv", re.I),
     "sensitivity analysis is Han et al. 2015 §5 and Figure 6"),
    (re.compile(r"(centroid|shared.weight).*§\s*3\.1\b.*(eq|update|gradient)|§\s*3\.1\b.*eq\.?\s*3", re.I),
     "the centroid update (eq. 3) is Deep Compression §3.3"),
    (re.compile(r"Tables?\s+2\s*[-–]\s*4"), "the LeNets are in Tables 1-3"),
    (re.compile(r"dropout.*Deep Compression.*§\s*2|§\s*2.*dropout", re.I), "the dropout rule is Han et al. 2015 §3.2"),
    (re.compile(r"codebook itself\s+is not sorted|codebook is not sorted", re.I), "quantize_layer sorts the codebook"),
    (re.compile(r"consistent with one\s+reading only", re.I), "the paper is inconsistent; say which reading and why"),
]


def _sources():
    """(file, [lines]) of every module, tutorial (cell sources, not outputs) and README."""
    for path in sorted((REPO / "deepcompress_np").rglob("*.py")):
        yield path, path.read_text(encoding="utf-8").splitlines()
    for path in sorted((REPO / "tutorials").glob("*.ipynb")):
        lines = []
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = cell["source"]
            lines += ("".join(source) if isinstance(source, list) else source).splitlines()
        yield path, lines
    for path in (REPO / "README.md", REPO / "tutorials" / "README.md", REPO / "data" / "README.md"):
        yield path, path.read_text(encoding="utf-8").splitlines()


def _kind(ref):
    if ref.startswith("§"):
        return "§"
    if ref.lower().startswith("eq"):
        return "eq"
    return "Table" if ref.startswith("Table") else "Figure"


def citations():
    """Every reference: dicts with file, line, ref, kind, numbers, paper, context."""
    found = []
    for path, lines in _sources():
        for i, line in enumerate(lines):
            for match in REFERENCE.finditer(line):
                ref = match.group(0)
                before = ((lines[i - 1] if i else "") + " " + line[:match.start()])[-WINDOW:]
                han = [m.end() for m in HAN.finditer(before)]
                is_han = bool(han) and "paper" not in before[han[-1]:]
                found.append({
                    "file": str(path.relative_to(REPO)), "line": i + 1, "ref": ref, "kind": _kind(ref),
                    "numbers": [int(n.split(".")[0]) for n in re.findall(r"\d+(?:\.\d+)*", ref)],
                    "paper": HAN_2015 if is_han else DEEP_COMPRESSION, "context": line.strip(),
                })
    return found


def test_list_every_citation_and_refuse_the_known_wrong_ones():
    found = citations()
    assert len(found) > 100  # the scanner sees the code, the notebooks and the READMEs
    for c in found:
        print(f"{c['file']}:{c['line']}: {c['ref']:<12} {c['paper']:<28} {c['context'][:100]}")
    wrong = []
    for path, lines in _sources():
        for i, line in enumerate(lines):
            for pattern, right in KNOWN_WRONG:
                if pattern.search(line):
                    wrong.append(f"{path.relative_to(REPO)}:{i + 1}: {line.strip()[:120]}  -- {right}")
    out_of_range = [f"{c['file']}:{c['line']}: {c['ref']} ({c['paper']} has no such {c['kind']})"
                    for c in found if max(c["numbers"]) > LIMITS[c["paper"]][c["kind"]]]
    assert not wrong, "known-wrong citations:\n" + "\n".join(wrong)
    assert not out_of_range, "citations of numbers the paper does not have:\n" + "\n".join(out_of_range)


def test_the_scanner_attributes_and_catches():
    assert HAN.search("Han et al. 2015 §3.2") and HAN.search("(Han 2015)") and not HAN.search("Han, Mao, Dally")
    assert [m.group(0) for m in REFERENCE.finditer("§3.3, eq. 3, Figure 3 and Tables 2 and 3")] == \
        ["§3.3", "eq. 3", "Figure 3", "Tables 2 and 3"]
    assert any(p.search("sensitivity (Han 2015 §4)") for p, _ in KNOWN_WRONG)
    assert not any(p.search("sensitivity (Han 2015 §5, Figure 6)") for p, _ in KNOWN_WRONG)


if __name__ == "__main__":
    for c in citations():
        print(f"{c['file']}:{c['line']}: {c['ref']:<12} {c['paper']:<28} {c['context'][:100]}")
    sys.exit(0)
