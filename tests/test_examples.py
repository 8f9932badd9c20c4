"""The shipped examples show what the README promises: each planted bug is found, nothing else."""

from __future__ import annotations

from collections import Counter

import pytest

from lintutil import REPO, run_cli

EXPECTED = {
    "copy_construct.py": ["TL001", "TL001"],
    "eval_mode.py": ["TL104"],
    "functional_dropout.py": ["TL101", "TL101"],
    "module_structure.py": ["TL108", "TL002"],
    "numerics.py": ["TL201", "TL202", "TL203"],
    "seed_notes.py": ["TL302"],
}


# Planted for rules that are off by default: found only when selected.
EXPECTED_OPT_IN = {"numerics.py": ["TL204"], "eval_mode.py": ["TL103"]}


@pytest.mark.parametrize("opt_in", [False, True])
def test_examples_findings_are_exactly_the_planted_bugs(opt_in):
    extra = ["--extend-select", "TL204,TL103"] if opt_in else []
    proc = run_cli("check", "examples/lint", "--no-cache", "--output-format", "concise", "-q", *extra, cwd=REPO)
    assert proc.returncode == 1
    found = Counter()
    for line in proc.stdout.splitlines():
        path, _, _, rest = line.split(":", 3)
        found[(path.rsplit("/", 1)[-1], rest.split()[0])] += 1
    expected = Counter((name, code) for name, codes in EXPECTED.items() for code in codes)
    if opt_in:
        expected += Counter((name, code) for name, codes in EXPECTED_OPT_IN.items() for code in codes)
    assert found == expected
