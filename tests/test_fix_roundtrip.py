"""Every fix of every rule, applied to the shipped examples: output parses, is stable, keeps comments."""

from __future__ import annotations

import shutil

import libcst as cst

from lintutil import REPO, run_cli


def test_fix_all_examples_round_trip(tmp_path):
    work = tmp_path / "examples"
    shutil.copytree(REPO / "examples" / "lint", work)
    before = {p.name: p.read_text() for p in work.glob("*.py")}
    run_cli("check", ".", "--fix", "--unsafe-fixes", "--isolated", "--select", "ALL", "--no-cache", cwd=work)
    changed = 0
    for path in work.glob("*.py"):
        text = path.read_text()
        cst.parse_module(text)
        compile(text, str(path), "exec")
        changed += text != before[path.name]
        # comments survive fixing
        assert [line.split("#", 1)[1] for line in before[path.name].splitlines() if "#" in line and "noqa" not in line] == [
            line.split("#", 1)[1] for line in text.splitlines() if "#" in line and "noqa" not in line
        ]
    assert changed >= 2
    again = run_cli("check", ".", "--diff", "--unsafe-fixes", "--isolated", "--select", "ALL", "--no-cache", cwd=work)
    assert again.stdout == "", "a second fix pass still changed something:\n" + again.stdout
