"""The static linter must work where torch is not installed: never import it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from lintutil import REPO

BLOCKER = textwrap.dedent(
    """
    import sys

    class BlockTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError(f"torch is blocked in this test ({name})")
            return None

    sys.meta_path.insert(0, BlockTorch())
    from tensorlint.cli import main

    code = main(sys.argv[1:])
    assert "torch" not in sys.modules, "torch was imported"
    sys.exit(code)
    """
)


def test_check_runs_with_torch_import_blocked(tmp_path):
    bug = tmp_path / "bug.py"
    bug.write_text("import torch\nx = torch.randn(2)\ny = torch.tensor(x)\nz = torch.dropout(x, p=0.5, training=True)\n")
    for extra in ([], ["--output-format", "json"], ["--output-format", "sarif"], ["--statistics"], ["--fix"]):
        proc = subprocess.run(
            [sys.executable, "-c", BLOCKER, "check", str(bug), "--no-cache", "--isolated", "--select", "ALL", *extra],
            capture_output=True, text=True, cwd=tmp_path,
        )
        assert proc.returncode in (0, 1), proc.stderr
        assert "blocked" not in proc.stderr and "Traceback" not in proc.stderr
    # the last run (--fix) rewrote the copy; the bad keyword needs a person
    assert "x.detach().clone()" in bug.read_text()


def test_rule_docs_run_with_torch_import_blocked():
    for args in (["rules"], ["rules", "--output-format", "json"], ["rule", "--all"]):
        proc = subprocess.run([sys.executable, "-c", BLOCKER, *args], capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 0, proc.stderr


MISSING_TORCH = textwrap.dedent(
    """
    import sys

    class NoTorch:  # as on a machine without torch: `import torch` finds nothing
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoTorch())
    import tensorlint.runtime  # torch-free: the exports load on first use
    from tensorlint.runtime.findings import KINDS  # a torch-free submodule
    try:
        from tensorlint.runtime import Monitor
    except ImportError as exc:
        print(exc)
        sys.exit(3)
    """
)


def test_runtime_without_torch_says_how_to_install_the_extra():
    proc = subprocess.run([sys.executable, "-c", MISSING_TORCH], capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    assert 'pip install "tensorlint[runtime]"' in proc.stdout
    assert 'pip install ".[runtime]"' in proc.stdout
    assert "Traceback" not in proc.stderr
