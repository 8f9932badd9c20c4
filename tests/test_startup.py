"""A run that the cache answers imports neither libcst, the rules, rich nor torch
(benchmarks/startup.py times it; this checks the reason it is fast)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from tensorlint.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("libcst", "rich", "tensorlint.rules", "tensorlint.engine", "torch") if m in sys.modules)
# files are checked in worker processes: the parent only imports multiprocessing then
checked = "multiprocessing" in sys.modules
print(json.dumps({"code": code, "heavy": heavy, "checked": checked}))
"""


def _run(tmp_path, *args):
    proc = subprocess.run([sys.executable, "-c", PROBE, "check", *args], cwd=tmp_path, capture_output=True, text=True)
    return proc.stdout, json.loads(proc.stdout.strip().splitlines()[-1])


def test_warm_clean_run_imports_nothing_heavy(tmp_path):
    (tmp_path / "clean.py").write_text("import torch\n\n\ndef f(x):\n    return torch.relu(x)\n")
    out, first = _run(tmp_path, "clean.py")
    assert first["code"] == 0 and first["checked"]
    out, warm = _run(tmp_path, "clean.py")
    assert warm == {"code": 0, "heavy": [], "checked": False}
    assert "All checks passed!" in out


def test_warm_run_with_a_finding_needs_rich_only_for_the_full_format(tmp_path):
    (tmp_path / "bug.py").write_text("import torch\n\n\ndef f(x):\n    return torch.tensor(torch.ones(3))\n")
    _run(tmp_path, "bug.py")
    out, warm = _run(tmp_path, "bug.py", "--output-format", "concise")
    assert warm == {"code": 1, "heavy": [], "checked": False} and "TL001" in out
    out, warm = _run(tmp_path, "bug.py")
    assert warm == {"code": 1, "heavy": ["rich"], "checked": False} and "TL001" in out


def test_an_edited_dependency_is_checked_again(tmp_path):
    # the cheap path must not skip the dependency check: the cache entry names models.py
    (tmp_path / "models.py").write_text(
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.drop = nn.Dropout(0.5)\n"
    )
    (tmp_path / "infer.py").write_text(
        "import torch\nfrom models import Net\n\nnet = Net()\nnet.load_state_dict(torch.load('w.pt'))\n"
        "with torch.no_grad():\n    y = net(torch.ones(1))\n"
    )
    _run(tmp_path, "infer.py")
    out, warm = _run(tmp_path, "infer.py", "--output-format", "concise")
    assert not warm["checked"] and "TL103" in out
    (tmp_path / "models.py").write_text((tmp_path / "models.py").read_text() + "# edited\n")
    out, after = _run(tmp_path, "infer.py", "--output-format", "concise")
    assert after["checked"] and after["code"] == warm["code"] == 1 and "TL103" in out
