"""Re-lint cost after editing one file of a 500-file project, side by side.

    python benchmarks/project_edit.py [--files 500] [--jobs N]

Generates a project (`pkg/models.py`, `pkg/engine.py`, `train.py`, and filler modules
of realistic size, a tenth of which import the engine), then times, in one run:
- a cold run over the whole project;
- a warm run (nothing changed);
- a run after editing `pkg/engine.py` (the edited file and its dependents re-lint);
- linting only the edited file and its dependents, cold, for comparison.
The findings cache records, per file, which project files its findings consulted, so
the edit re-lints only those.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = '''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.fc = nn.Linear(hidden, hidden)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return self.drop(self.fc(x))
'''
ENGINE = '''
import torch


def train_one_epoch(model, loader, opt):
    model.train()
    for x, y in loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()


def evaluate(model, loader):
    with torch.no_grad():
        return [model(x) for x, _ in loader]
'''
DEPENDENT = '''
import torch
from pkg.models import Net
from pkg.engine import train_one_epoch, evaluate


def run_{i}(loader, opt):
    model = Net()
    for epoch in range(3):
        train_one_epoch(model, loader, opt)
        evaluate(model, loader)
'''
FILLER = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block{i}(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        h = self.norm(x)
        h = F.gelu(self.fc1(h))
        return x + self.fc2(h)
''' + "".join(
    f'''

def helper_{{i}}_{k}(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    y = x * scale
    y = torch.clamp(y, min=-{k + 1}.0, max={k + 1}.0)
    return y.mean(dim=-1, keepdim=True) + y.std(dim=-1, keepdim=True)
'''
    for k in range(12)
)


def generate(root: Path, files: int) -> list[Path]:
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.tensorlint]\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "models.py").write_text(MODELS)
    (root / "pkg" / "engine.py").write_text(ENGINE)
    dependents = []
    for i in range(files - 3):
        path = root / "pkg" / f"mod_{i:04d}.py"
        if i % 10 == 0:
            path.write_text(DEPENDENT.format(i=i))
            dependents.append(path)
        else:
            path.write_text(FILLER.format(i=i))
    return dependents


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode not in (0, 1) or "internal error" in proc.stderr:
        raise SystemExit(proc.stderr)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dependents = generate(root, args.files)
        base = [sys.executable, "-m", "tensorlint", "check", "--select", "ALL", "-q", "--no-progress", "-j", str(args.jobs)]
        cold = timed([*base, "."], root)
        warm = timed([*base, "."], root)
        engine = root / "pkg" / "engine.py"
        engine.write_text(ENGINE.replace("def evaluate(model, loader):\n", "def evaluate(model, loader):\n    model.eval()\n"))
        edited = timed([*base, "."], root)
        alone = [str(engine.relative_to(root))] + [str(p.relative_to(root)) for p in dependents]
        only = timed([*base, "--no-cache", *alone], root)
        lines = sum(p.read_bytes().count(b"\n") for p in root.rglob("*.py"))
    print(f"project: {args.files} files, {lines:,} lines; {len(dependents)} files depend on pkg/engine.py; {args.jobs} worker(s)")
    print(f"{'run':<52}{'seconds':>9}")
    for name, seconds in (
        ("cold, whole project", cold),
        ("warm, nothing changed", warm),
        ("after editing pkg/engine.py (whole project)", edited),
        ("the edited file and its dependents alone, no cache", only),
    ):
        print(f"{name:<52}{seconds:>9.2f}")
    print(f"edit re-lint / (edited file + dependents alone): {edited / only:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
