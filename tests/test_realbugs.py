"""The real-bug corpus (tests/realbugs/): each case is reduced from a public bug report or
fix commit. The buggy version must yield every expected finding (code, file, line); the
fixed twin must yield none of the expected codes.

Cases the linter misses today carry `known_miss = "reason"` in case.toml and run as
strict xfails, so a case that starts passing must have its `known_miss` removed.
Single-file cases are linted file by file with `lint_source`; multi-file cases go
through the CLI entry point (in this process), one project per folder, so that
cross-file analysis sees the case's files together.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "score_realbugs.py"
_spec = importlib.util.spec_from_file_location("score_realbugs", _SCRIPT)
score = importlib.util.module_from_spec(_spec)
sys.modules["score_realbugs"] = score  # dataclasses look their module up
_spec.loader.exec_module(score)

CASES = score.load_cases()


def _lint(case, folder: Path):
    if case.is_multi_file():
        return score.lint_folder_cli_in_process(folder)
    return score.lint_folder(folder, in_process=True)


def _param(case, reason):
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=case.name, marks=marks)


def test_corpus_size():
    assert len(CASES) >= 40
    assert len({c.project for c in CASES}) >= 25


@pytest.mark.parametrize("case", [_param(c, c.known_miss) for c in CASES])
def test_buggy_version_is_reported(case):
    findings = _lint(case, case.buggy)
    missing = score.missing_expected(case, findings)
    got = sorted((f.code, f.file, f.line) for f in findings)
    assert not missing, f"missing {missing}; got {got}"


@pytest.mark.parametrize(
    "case", [_param(c, c.known_false_alarm) for c in CASES if c.fixed is not None]
)
def test_fixed_twin_is_clean(case):
    alarms = score.twin_alarms(case, _lint(case, case.fixed))
    assert not alarms, f"fixed twin flagged: {alarms}"


def test_case_files_are_valid_python():
    for case in CASES:
        for folder in (case.buggy, case.fixed):
            if folder is None:
                continue
            files = score.python_files(folder)
            assert files, f"{folder} has no .py files"
            for path in files:
                compile(path.read_text(encoding="utf-8"), str(path), "exec")
        for e in case.expected:
            assert (case.buggy / e.file).is_file(), f"{case.name}: {e.file} not in buggy/"
        if case.fixed is not None:
            assert {p.relative_to(case.fixed) for p in score.python_files(case.fixed)} == {
                p.relative_to(case.buggy) for p in score.python_files(case.buggy)
            }, f"{case.name}: fixed/ must hold the same files as buggy/"
