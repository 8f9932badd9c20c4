"""The pytest plugin: a model test fails on a mode mistake, passes on its clean twin, and pytest starts without torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

pytest_plugins = ["pytester"]

MODEL = """
import pytest
import torch
from torch import nn


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))
"""

TESTS = MODEL + """

def test_forgot_eval(tensorlint_monitor):
    model = net()
    tensorlint_monitor(model)
    with torch.no_grad():
        model(torch.randn(3, 4))


def test_clean_twin(tensorlint_monitor):
    model = net().eval()
    tensorlint_monitor(model)
    with torch.no_grad():
        model(torch.randn(3, 4))


def test_own_failure_stands(tensorlint_monitor):
    model = net()
    tensorlint_monitor(model)
    with torch.no_grad():
        model(torch.randn(3, 4))
    assert False, "the test's own assertion"


@pytest.mark.tensorlint(kinds=["non-finite"])
def test_other_kinds_do_not_count(tensorlint_monitor):
    model = net()
    tensorlint_monitor(model)
    with torch.no_grad():
        model(torch.randn(3, 4))


@pytest.mark.tensorlint(allow={"dropout-active-at-inference": ["2"]})
def test_allowlisted_module(tensorlint_monitor):
    model = net()
    tensorlint_monitor(model)
    with torch.no_grad():
        model(torch.randn(3, 4))


@pytest.mark.tensorlint(allow=["dropout-active-at-inference"])
def test_allowlisted_kind(tensorlint_monitor):
    model = net()
    tensorlint_monitor(model)
    with torch.no_grad():
        model(torch.randn(3, 4))


@pytest.mark.tensorlint(fail_on="never", every=1)
def test_report_is_readable(tensorlint_monitor):
    model = net()
    mon = tensorlint_monitor(model)
    assert mon.options.every == 1
    with torch.no_grad():
        model(torch.randn(3, 4))
    assert [f.kind for f in tensorlint_monitor.report().findings] == ["dropout-active-at-inference"]
"""


def test_fixture_fails_the_test_on_findings(pytester):
    pytester.makepyfile(test_models=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=5, failed=2)
    result.stdout.fnmatch_lines_random([
        "FAILED test_models.py::test_forgot_eval - Failed: tensorlint*",
        "FAILED test_models.py::test_own_failure_stands - AssertionError*",
        "PASSED test_models.py::test_clean_twin",
        "PASSED test_models.py::test_other_kinds_do_not_count",
        "PASSED test_models.py::test_allowlisted_module",
        "PASSED test_models.py::test_allowlisted_kind",
        "PASSED test_models.py::test_report_is_readable",
    ])  # fmt: skip
    text = result.stdout.str()
    assert "tensorlint: 1 finding(s) at or above `warning` (dropout-active-at-inference):" in text
    assert "dropout (p=0.3) in training mode ran while gradients were" in text  # the report is the message
    assert text.count("tensorlint: 1 finding(s)") == 2  # long form + summary line: test_own_failure_stands adds none


def test_severity_from_ini_and_command_line(pytester):
    pytester.makepyfile(test_models=TESTS)
    pytester.makeini("[pytest]\ntensorlint_fail_on = error\n")
    some = ("-p", "no:cacheprovider", "-k", "forgot_eval or clean_twin")
    pytester.runpytest(*some).assert_outcomes(passed=2)  # a warning no longer fails
    pytester.runpytest(*some, "--tensorlint-fail-on", "warning").assert_outcomes(passed=1, failed=1)
    pytester.makeini("[pytest]\ntensorlint_fail_on = warnings\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "clean_twin")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*tensorlint_fail_on must be one of error, warning, info, never*"])


def test_unknown_kind_in_marker_is_an_error(pytester):
    pytester.makepyfile(test_bad=MODEL + """

@pytest.mark.tensorlint(kinds=["dropout"])
def test_typo(tensorlint_monitor):
    tensorlint_monitor(net())
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.tensorlint: unknown finding kind(s) *'dropout'*; expected: saturation*"])
    assert "pytest_plugin.py:" not in result.stdout.str()  # a message, not a traceback into the plugin


def test_marker_is_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.tensorlint(kinds=None, allow=None, fail_on=None, **options)*"])


BLOCKED = textwrap.dedent(
    """
    import sys

    class BlockTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked in this test")
            return None

    sys.meta_path.insert(0, BlockTorch())
    import pytest

    code = pytest.main(sys.argv[1:])
    assert "tensorlint.runtime.pytest_plugin" in sys.modules, "the plugin was not loaded"
    assert "torch" not in sys.modules, "torch was imported"
    sys.exit(code)
    """
)


def test_pytest_starts_without_torch(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
    proc = subprocess.run([sys.executable, "-c", BLOCKED, "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
