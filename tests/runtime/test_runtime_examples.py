"""Each examples/runtime script runs and reports the finding kind it demonstrates."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from tensorlint.runtime.report import Report

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "runtime"
EXPECTED = {
    "saturation.py": "saturation",
    "dead_units.py": "dead-units",
    "non_finite.py": "non-finite",
    "drift.py": "drift",
    "bn_stats_mismatch.py": "bn-stats-mismatch",
    "dropout_active_at_inference.py": "dropout-active-at-inference",
    "batchnorm_train_at_inference.py": "batchnorm-train-at-inference",
    "train_in_eval_mode.py": "train-in-eval-mode",
    "batchnorm_small_batch.py": "batchnorm-small-batch",
    "unregistered_module.py": "unregistered-module",
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_reports_its_kind(script, monkeypatch, capsys):
    printed: list[Report] = []
    monkeypatch.setattr(Report, "print", lambda self, console=None: printed.append(self))
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert len(printed) == 1
    report = printed[0]
    assert EXPECTED[script] in {f.kind for f in report.findings}
    assert not report.summary["internal_errors"]
