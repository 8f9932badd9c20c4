"""The wheel ships `tensorlint.runtime` from runtime/, and never a bare top-level `runtime`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from lintutil import REPO


def test_pyproject_dependencies_and_extras():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["name"] == "tensorlint"
    assert sorted(d.split(">")[0].split("=")[0].strip() for d in meta["dependencies"]) == ["libcst", "rich"]
    assert [d.split(">")[0] for d in meta["optional-dependencies"]["runtime"]] == ["torch"]
    extras = meta["optional-dependencies"]
    assert any(d.startswith("pytest") for d in extras["test"])
    # the linter's test extra stays slim: the model libraries only where the runtime tests need them
    heavy = ("transformers", "accelerate", "lightning", "torch")
    assert not [d for d in extras["test"] if d.startswith(heavy)]
    assert {d.split(">")[0] for d in extras["runtime-test"]} == {"transformers", "accelerate", "lightning"}
    # CI installs every extra the tests use
    assert '".[runtime,test,runtime-test]"' in (REPO / ".ci" / "run").read_text()
    assert meta["scripts"]["tensorlint"] == "tensorlint.entry:main"  # the cache's quick answer, then the CLI


@pytest.mark.slow
def test_wheel_layout(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr.strip().splitlines()[-1:]}")
    (wheel,) = tmp_path.glob("tensorlint-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tensorlint/runtime/__init__.py" in names
    assert "tensorlint/data/torch_api.json" in names
    assert "tensorlint/rules/tensor_copy_construct.py" in names
    assert not [n for n in names if n.startswith("runtime/")], "a bare top-level runtime package was packaged"


def test_installed_import_package_maps_runtime():
    import tensorlint.runtime

    assert tensorlint.runtime.__file__.replace("\\", "/").endswith("runtime/__init__.py")


def _copy_checkout(dest: Path) -> Path:
    """The working tree as a user's checkout (no .git, no build output), so building never
    writes into this repository."""
    ignore = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".tensorlint_cache",
                                    ".venv", ".pytest_cache")
    shutil.copytree(REPO, dest, ignore=ignore)
    return dest


def _fresh_venv(where: Path) -> Path:
    """A new virtual environment that sees only libcst and rich (the two dependencies), as
    `pip install` would have installed them: offline and fast."""
    import libcst
    import rich

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    (site,) = where.glob("lib/python*/site-packages")
    deps = {str(Path(libcst.__file__).parents[1]), str(Path(rich.__file__).parents[1])}
    # a .pth line is only added to sys.path (its own .pth files, e.g. an editable
    # tensorlint, are not processed), and it comes after the venv's own site-packages
    (site / "zz_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return where / "bin" / "python"


def _pip_into(python: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", *args],
        capture_output=True, text=True,
    )


def _works_from(python: Path, tmp_path: Path) -> None:
    venv = python.parents[1]
    where = subprocess.run([str(python), "-c", "import tensorlint, tensorlint.catalog as c; "
                            "print(tensorlint.__file__); print(len(c.all_rules()))"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    path, count = where.stdout.split()
    assert path.startswith(str(venv)) and int(count) > 20  # the installed copy, with its data files
    bug = tmp_path / "bug.py"
    bug.write_text("import torch\nx = torch.zeros(2)\ny = torch.tensor(x)\n")
    proc = subprocess.run([str(venv / "bin" / "tensorlint"), "check", "--isolated", "--no-cache",
                           "--output-format", "concise", str(bug)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1 and "TL001" in proc.stdout, proc.stdout + proc.stderr


def test_pip_install_from_a_checkout(tmp_path):
    """README: `pip install .` in a checkout (here without dependencies and offline)."""
    checkout = _copy_checkout(tmp_path / "checkout")
    python = _fresh_venv(tmp_path / "venv")
    proc = _pip_into(python, str(checkout))
    if proc.returncode != 0 and "--python" in proc.stderr:
        pytest.skip("pip too old for --python")
    assert proc.returncode == 0, proc.stderr
    _works_from(python, tmp_path)


@pytest.mark.parametrize("builder", ["pip", "build"])
def test_built_wheel_installs_and_runs(tmp_path, builder):
    """README: build a wheel (`pip wheel . --no-deps` or `python -m build --wheel`), install
    it elsewhere, run it."""
    checkout = _copy_checkout(tmp_path / "checkout")
    if builder == "build":
        pytest.importorskip("build")  # in the test extra; the pip route needs nothing
        command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"),
                   str(checkout)]
    else:
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                   "-w", str(tmp_path / "dist"), str(checkout)]
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("tensorlint-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tensorlint/data/rule_catalog.json" in names and "tensorlint/rules/unused_noqa.py" in names
    python = _fresh_venv(tmp_path / "venv")
    proc = _pip_into(python, str(wheel))
    assert proc.returncode == 0, proc.stderr
    _works_from(python, tmp_path)
