"""The shipped examples show what the README promises: each planted bug is found, nothing else."""

from __future__ import annotations

from collections import Counter

from lintutil import REPO, run_cli

EXPECTED = {
    "copy_construct.py": ["TL001", "TL001"],
    "eval_mode.py": ["TL103", "TL104"],
    "functional_dropout.py": ["TL101", "TL101"],
    "module_structure.py": ["TL108", "TL002"],
    "numerics.py": ["TL201", "TL202", "TL203", "TL204"],
    "seed_notes.py": ["TL302"],
}


def test_examples_findings_are_exactly_the_planted_bugs():
    proc = run_cli("check", "examples/lint", "--no-cache", "--output-format", "concise", "-q", cwd=REPO)
    assert proc.returncode == 1
    found = Counter()
    for line in proc.stdout.splitlines():
        path, _, _, rest = line.split(":", 3)
        found[(path.rsplit("/", 1)[-1], rest.split()[0])] += 1
    expected = Counter((name, code) for name, codes in EXPECTED.items() for code in codes)
    assert found == expected
