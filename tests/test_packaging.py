"""The wheel ships `tensorlint.runtime` from runtime/, and never a bare top-level `runtime`."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile

import pytest

from lintutil import REPO


def test_pyproject_dependencies_and_extras():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["name"] == "tensorlint"
    assert sorted(d.split(">")[0].split("=")[0].strip() for d in meta["dependencies"]) == ["libcst", "rich"]
    assert [d.split(">")[0] for d in meta["optional-dependencies"]["runtime"]] == ["torch"]
    assert any(d.startswith("pytest") for d in meta["optional-dependencies"]["test"])
    assert meta["scripts"]["tensorlint"] == "tensorlint.cli:main"


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
