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


ENTRY_PROBE = """
import json, sys
from tensorlint.entry import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "cli": "tensorlint.cli" in sys.modules, "argparse": "argparse" in sys.modules}))
"""


def _entry(tmp_path, *args, env=None):
    proc = subprocess.run([sys.executable, "-c", ENTRY_PROBE, "check", *args], cwd=tmp_path, capture_output=True,
                          text=True, env=env)
    lines = proc.stdout.strip().splitlines()
    return "\n".join(lines[:-1]), json.loads(lines[-1])


CLEAN = "import torch\n\n\ndef f(x):\n    return torch.relu(x)\n"
BUG = "import torch\n\n\ndef f(x):\n    return torch.tensor(torch.ones(3))\n"


def test_the_cache_answers_a_clean_file_before_the_command_line_loads(tmp_path):
    (tmp_path / "clean.py").write_text(CLEAN)
    (tmp_path / "plain.py").write_text("print('no tensors here')\n")
    out, first = _entry(tmp_path, "clean.py", "plain.py")
    assert first["cli"] and first["code"] == 0  # a miss: the full command line checked it
    out, warm = _entry(tmp_path, "clean.py", "plain.py")
    assert warm == {"code": 0, "cli": False, "argparse": False} and out == "All checks passed!"


def test_anything_but_the_plainest_case_goes_to_the_command_line(tmp_path):
    import os

    (tmp_path / "clean.py").write_text(CLEAN)
    (tmp_path / "bug.py").write_text(BUG)
    _entry(tmp_path, "clean.py", "bug.py")
    out, warm = _entry(tmp_path, "bug.py")  # findings: printed by the full command line
    assert warm["cli"] and warm["code"] == 1 and "TL001" in out
    for args in (["clean.py", "--no-cache"], ["clean.py", "-q"], ["."]):
        out, other = _entry(tmp_path, *args)
        assert other["cli"], args
    out, env = _entry(tmp_path, "clean.py", env={**os.environ, "TENSORLINT_OUTPUT_FORMAT": "json"})
    assert env["cli"] and out.strip() == "[]"


def test_a_configuration_sends_the_run_to_the_command_line(tmp_path):
    (tmp_path / "bug.py").write_text(BUG)
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\nignore = ["TL001"]\n')
    _entry(tmp_path, "bug.py")
    out, warm = _entry(tmp_path, "bug.py")
    assert warm["cli"] and warm["code"] == 0  # the config's ignore applied, by the full path
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')  # not ours: the quick answer may apply
    out, first = _entry(tmp_path, "bug.py")
    assert first["code"] == 1 and "TL001" in out


def test_an_edited_dependency_is_not_answered_from_the_cache(tmp_path):
    (tmp_path / "models.py").write_text(
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.lin = nn.Linear(2, 2)\n"
    )
    (tmp_path / "infer.py").write_text(
        "import torch\nfrom models import Net\n\nnet = Net()\nnet.load_state_dict(torch.load('w.pt'))\n"
        "with torch.no_grad():\n    y = net(torch.ones(1))\n"
    )
    _entry(tmp_path, "infer.py")
    out, warm = _entry(tmp_path, "infer.py")
    assert warm == {"code": 0, "cli": False, "argparse": False}  # no dropout: nothing to say
    (tmp_path / "models.py").write_text((tmp_path / "models.py").read_text() + "        self.drop = nn.Dropout(0.5)\n")
    out, after = _entry(tmp_path, "infer.py", "--output-format", "concise")
    assert after["cli"] and after["code"] == 1 and "TL103" in out
    out, again = _entry(tmp_path, "infer.py")
    assert again["cli"] and again["code"] == 1  # a finding is never answered by the quick path
