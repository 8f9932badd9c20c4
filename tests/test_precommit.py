"""The pre-commit hook, proven with a real `pre-commit try-repo` on a temporary repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lintutil import REPO

pytestmark = pytest.mark.slow

BUGGY = "import torch\n\n\ndef copy(x: torch.Tensor):\n    return torch.tensor(x)\n"
_NO_INDEX = ("Could not find a version", "No matching distribution", "Failed to establish a new connection",
             "Temporary failure in name resolution", "Network is unreachable", "ProxyError", "ConnectionError")


def _pre_commit() -> list[str]:
    exe = Path(sys.executable).with_name("pre-commit")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("pre-commit")
    if not found:
        pytest.skip("pre-commit is not installed")
    return [found]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_hook_fails_on_a_bug_and_passes_after_fix(tmp_path):
    manifest = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert "entry: tensorlint check --force-exclude" in manifest and "require_serial: true" in manifest
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q")
    _git(work, "config", "user.email", "t@example.com")
    _git(work, "config", "user.name", "t")
    (work / "model.py").write_text(BUGGY)
    _git(work, "add", "model.py")
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), NO_COLOR="1")
    env.pop("VIRTUAL_ENV", None)

    def try_repo():
        return subprocess.run(
            [*_pre_commit(), "try-repo", str(REPO), "tensorlint", "--all-files", "--verbose"],
            cwd=work, env=env, capture_output=True, text=True, timeout=900,
        )

    first = try_repo()
    output = first.stdout + first.stderr
    if first.returncode != 1 and any(marker in output for marker in _NO_INDEX):
        pytest.skip("pre-commit could not install the hook (no package index)")
    assert first.returncode == 1, output
    assert "TL001" in output and "tensor-copy-construct" in output

    # the fix, as a user would run it, then the hook passes
    fixer = subprocess.run([sys.executable, "-m", "tensorlint", "check", "--fix", "model.py"], cwd=work,
                           capture_output=True, text=True)
    assert fixer.returncode == 0, fixer.stdout + fixer.stderr
    assert "x.detach().clone()" in (work / "model.py").read_text()
    _git(work, "add", "model.py")
    second = try_repo()
    assert second.returncode == 0, second.stdout + second.stderr


def _readme_snippets() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("\n## pre-commit\n"):]
    section = section[: section.index("\n## ", 5)]
    return [block.split("```", 1)[0] for block in section.split("```yaml\n")[1:]]


def _repo_with_bug(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q")
    _git(work, "config", "user.email", "t@example.com")
    _git(work, "config", "user.name", "t")
    (work / "model.py").write_text(BUGGY)
    _git(work, "add", "model.py")
    return work


def test_readme_local_hook_works_as_written(tmp_path):
    """The README's first snippet, unchanged, with tensorlint installed where git runs."""
    local = next(s for s in _readme_snippets() if "repo: local" in s)
    work = _repo_with_bug(tmp_path)
    (work / ".pre-commit-config.yaml").write_text(local)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), NO_COLOR="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    run = lambda: subprocess.run([*_pre_commit(), "run", "--all-files"], cwd=work, env=env,  # noqa: E731
                                 capture_output=True, text=True, timeout=300)
    first = run()
    assert first.returncode == 1, first.stdout + first.stderr
    assert "TL001" in first.stdout
    subprocess.run([sys.executable, "-m", "tensorlint", "check", "--fix", "model.py"], cwd=work, check=True,
                   capture_output=True)
    second = run()
    assert second.returncode == 0, second.stdout + second.stderr


def test_readme_remote_hook_pins_a_commit(tmp_path):
    """The README's second snippet names this repository's hook, and its `rev:` is a commit
    SHA (no tag exists). Run with a clone of this repository: repo = the clone's path, rev =
    its HEAD, everything else as written."""
    (remote,) = [s for s in _readme_snippets() if "rev:" in s]
    manifest = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert "- id: tensorlint" in manifest and "id: tensorlint" in remote
    assert "rev: v" not in remote and "0000000000000000000000000000000000000000" in remote
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, capture_output=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    config = remote.replace("https://github.com/tensorlint/tensorlint", str(clone)).replace(
        "0000000000000000000000000000000000000000", sha)
    work = _repo_with_bug(tmp_path)
    (work / ".pre-commit-config.yaml").write_text(config)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), NO_COLOR="1")
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run([*_pre_commit(), "run", "--all-files"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=900)
    output = proc.stdout + proc.stderr
    if proc.returncode != 1 and any(marker in output for marker in _NO_INDEX):
        pytest.skip("pre-commit could not install the hook (no package index)")
    assert proc.returncode == 1, output
    assert "TL001" in output
