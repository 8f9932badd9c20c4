"""The examples/diagnose gallery keeps running and reports what each docstring shows (plus a clean twin each)."""

from __future__ import annotations

import ast
import json
import runpy
import sys
from pathlib import Path

import pytest

from tensorlint.cli import main
from tensorlint.runtime.report import Report

pytest_plugins = ["pytester"]

GALLERY = Path(__file__).resolve().parents[2] / "examples" / "diagnose"
EXAMPLES = {"buggy_training.py", "serve_drift.py", "pytest_plugin_demo.py", "hf_callback.py"}


def docstring(name: str) -> str:
    return ast.get_docstring(ast.parse((GALLERY / name).read_text(encoding="utf-8"))) or ""


def diagnose(capsys, tmp_path, *args):
    out_json = tmp_path / "report.json"
    code = main(["diagnose", "--json", str(out_json), *args])
    out = capsys.readouterr().out
    data = json.loads(out_json.read_text())
    return code, out, {f["kind"] for f in data["findings"]}


def test_every_example_is_tested():
    assert {p.name for p in GALLERY.glob("*.py")} == EXAMPLES


def test_buggy_training_under_diagnose(tmp_path, capsys):
    script = str(GALLERY / "buggy_training.py")
    code, out, kinds = diagnose(capsys, tmp_path, script, "--epochs", "3")
    expected = {"batchnorm-train-at-inference", "saturation", "dropout-active-at-inference"}
    assert code == 0 and kinds == expected
    assert "epoch 2 val_acc" in out
    doc = docstring("buggy_training.py")
    assert all(kind in doc for kind in expected)
    assert out.splitlines()[3] in doc  # "tensorlint diagnose: monitored 1 model(s): model (42 forwards, ...)"
    assert main(["diagnose", "--fail-on", "warning", script, "--epochs", "1"]) == 1
    # the look-alike: scaled features do not saturate the sigmoid; the mode bug remains
    code, _, kinds = diagnose(capsys, tmp_path, script, "--epochs", "1", "--scale", "1")
    assert kinds == {"batchnorm-train-at-inference", "dropout-active-at-inference"}


def test_drift_against_a_saved_profile(tmp_path, capsys):
    script, ref = str(GALLERY / "serve_drift.py"), str(tmp_path / "reference.json")
    code, out, kinds = diagnose(capsys, tmp_path, "--every", "1", "--save-profile", ref, script)
    assert code == 0 and kinds == set()  # recording run: nothing to report
    code, out, kinds = diagnose(capsys, tmp_path, "--every", "1", "--reference", ref, script)
    assert kinds == set()  # the same data against its own profile
    code, out, kinds = diagnose(capsys, tmp_path, "--every", "1", "--reference", ref, script, "--upstream-v2")
    assert kinds == {"drift"}
    assert "drift vs reference" in out and "drift vs reference" in docstring("serve_drift.py")


def test_pytest_plugin_demo(pytester):
    pytester.makepyfile(test_demo=(GALLERY / "pytest_plugin_demo.py").read_text(encoding="utf-8"))
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines_random([
        "FAILED test_demo.py::test_predict_is_deterministic*",
        "PASSED test_demo.py::test_predict_after_eval",
        "PASSED test_demo.py::test_mc_dropout",
        "tensorlint: 1 finding(s) at or above `warning` (dropout-active-at-inference):",
    ])  # fmt: skip
    assert "1 failed, 2 passed" in docstring("pytest_plugin_demo.py")


@pytest.mark.parametrize("init, expected", [("2.0", {"saturation"}), ("0.02", set())])
def test_hf_callback_example(init, expected, monkeypatch, capsys):
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    printed: list[Report] = []
    monkeypatch.setattr(Report, "print", lambda self, console=None, **kw: printed.append(self))
    monkeypatch.setattr(sys, "argv", ["hf_callback.py", "--initializer-range", init])
    runpy.run_path(str(GALLERY / "hf_callback.py"), run_name="__main__")
    final = printed[-1]
    assert {f.kind for f in final.findings} == expected
    assert not final.summary["internal_errors"]
    out = capsys.readouterr().out
    assert out.count("wrote ") >= 3 and "report.json" in out
    if expected:
        assert final.modules("saturation") == {"transformer.h.0.attn", "transformer.h.1.attn"}
        assert "transformer.h.0.attn (+1 more)" in docstring("hf_callback.py")
