"""File discovery: recursion, default skips, excludes, .gitignore, --force-exclude."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lintutil import run_cli
from tensorlint.discovery import DEFAULT_EXCLUDES, Discovery, parse_gitignore

BUG = "import torch\ndef f(x: torch.Tensor):\n    return torch.tensor(x)\n"


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BUG)


def _found(root: Path, *args) -> list[str]:
    proc = run_cli("check", *args, "--output-format", "concise", "-q", "--no-cache", cwd=root)
    return sorted({line.split(":")[0] for line in proc.stdout.splitlines()})


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.tensorlint]\n")
    _tree(
        tmp_path,
        [
            "pkg/a.py", "pkg/stub.pyi", "pkg/notes.txt", "build/gen.py", "dist/x.py", "node_modules/m.py",
            ".hg/hooks/h.py", "__pycache__/c.py", "env/lib/site-packages/dep.py", "pkg/ignored.py",
            "logs/run.py", "keep/keep.py", "data/out/skip.py",
        ],
    )
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / ".gitignore").write_text("pkg/ignored.py\nlogs/\n/data/*\n")
    return tmp_path


def test_recursion_and_default_skips(tree):
    assert _found(tree) == ["data/out/skip.py", "keep/keep.py", "logs/run.py", "pkg/a.py", "pkg/ignored.py", "pkg/stub.pyi"]


def test_gitignore_respected_inside_a_repository(tree):
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    assert _found(tree) == ["keep/keep.py", "pkg/a.py", "pkg/stub.pyi"]
    assert "pkg/ignored.py" in _found(tree, "--no-respect-gitignore")


def test_exclude_and_extend_exclude(tree):
    assert "keep/keep.py" not in _found(tree, "--extend-exclude", "keep")
    assert "pkg/a.py" not in _found(tree, "--extend-exclude", "pkg/a.py")
    # --exclude replaces the defaults: build/ comes back
    assert "build/gen.py" in _found(tree, "--exclude", "keep")


def test_explicit_files_are_checked_unless_force_exclude(tree):
    assert _found(tree, "build/gen.py") == ["build/gen.py"]
    assert _found(tree, "build/gen.py", "--force-exclude") == []
    (tree / "pyproject.toml").write_text("[tool.tensorlint]\nextend-exclude = ['keep']\n")
    assert _found(tree, "keep/keep.py", "--force-exclude") == []
    assert _found(tree, "pkg/a.py", "--force-exclude") == ["pkg/a.py"]


def test_gitignore_patterns():
    rules = parse_gitignore("*.log\n!keep.log\n/top.py\ndocs/**/gen_*.py\nout/\n\\#hash.py\n", "")

    def ignored(path: str, is_dir: bool = False) -> bool:
        verdict = False
        for p in rules:
            if p.dir_only and not is_dir:
                continue
            if p.regex.match(path):
                verdict = not p.negate
        return verdict

    assert ignored("a/b.log") and not ignored("a/keep.log")
    assert ignored("top.py") and not ignored("sub/top.py")
    assert ignored("docs/gen_a.py") and ignored("docs/x/y/gen_b.py") and not ignored("docs/x/a.py")
    assert ignored("out", is_dir=True) and not ignored("out")
    assert ignored("#hash.py")


def test_default_excludes_cover_the_usual_folders():
    for name in (".git", ".venv", "venv", "build", "dist", "__pycache__", "site-packages", "node_modules"):
        assert name in DEFAULT_EXCLUDES
    d = Discovery(root=Path("/r"), exclude=DEFAULT_EXCLUDES)
    assert d.excluded(Path("/r/x/build")) and not d.excluded(Path("/r/x/builder"))


def test_symlink_loops_and_duplicate_spellings_check_each_file_once(tmp_path):
    """Review finding: a `.. ` symlink was walked ~40 levels deep and files were fixed repeatedly."""
    (tmp_path / "pyproject.toml").write_text("[tool.tensorlint]\n")
    _tree(tmp_path, ["d/a.py"])
    (tmp_path / "d" / "loop").mkdir()
    (tmp_path / "d" / "loop" / "up").symlink_to("..", target_is_directory=True)
    (tmp_path / "d" / "b.py").symlink_to("a.py")
    proc = run_cli("check", "d", "d/a.py", str(tmp_path / "d" / "a.py"), "--output-format", "concise", "-q",
                   "--no-cache", cwd=tmp_path)
    assert len(proc.stdout.splitlines()) == 1, proc.stdout


def test_stdin_filename_honours_force_exclude(tree):
    proc = run_cli("check", "--force-exclude", "--stdin-filename", "build/x.py", "-", "--no-cache", cwd=tree, input=BUG)
    assert proc.returncode == 0 and "TL001" not in proc.stdout
    proc = run_cli("check", "--stdin-filename", "build/x.py", "-", "--no-cache", cwd=tree, input=BUG)
    assert proc.returncode == 1
