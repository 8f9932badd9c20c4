"""Lint time against input size: it must grow linearly (issue 9, scaling).

    python benchmarks/scaling.py [--lines 1000 10000 100000] [--files 200 2000 20000]

Generates training-script-like code (a model class, a training loop, an evaluation
loop and loss helpers; about one finding every 8 lines from a dozen rules) as

- one file of 1k, 10k and 100k lines: timed in-process (`lint_source`, the engine alone)
  and with the CLI (`tensorlint check FILE --no-cache --select ALL -j 1`);
- trees of 200, 2,000 and 20,000 small files (one ~50-line script each, 100 per
  package folder): timed with the CLI (`tensorlint check . --no-cache --select ALL`,
  all cores), which adds discovery, workers and the project index.

Times are CPU seconds (this process for the engine; the CLI process and its workers for
the CLI), measured side by side in one run, so a busy machine changes all rows alike;
wall seconds are shown too. "x per 10x" is the time ratio between consecutive sizes:
linear growth gives ~10x. `--file-timeout 0` keeps the per-file limit out of the timing.
The fix side (1k to 100k lines of fix-heavy code) is `benchmarks/fix_scaling.py`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
"""

CHUNK = '''

class Net{i}(nn.Module):
    def __init__(self, hidden={h}):
        super().__init__()
        self.fc1 = nn.Linear(128, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, 10)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        x = F.relu(self.bn(self.fc1(x)))
        x = F.dropout(x, p=0.2)
        return self.fc2(self.drop(x))


def train_{i}(model, dataset, optimizer, epochs={e}):
    loader = DataLoader(dataset, batch_size=64, shuffle=True)
    criterion = nn.CrossEntropyLoss()
    model.train()
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad(set_to_none=False)
            logits = model(x)
            loss = criterion(F.softmax(logits, dim=1), y)
            loss.backward()
            optimizer.step()
    return loss.item()


def evaluate_{i}(path, loader):
    model = Net{i}()
    model.load_state_dict(torch.load(path))
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            log_probs = torch.log(F.softmax(logits, dim=-1))
            correct += (log_probs.argmax(-1) == y).sum().item()
    return correct


def features_{i}(x, scores):
    table = torch.FloatTensor([{i}, 2.0])
    smooth = torch.log(1 + x)
    growth = torch.exp(x) - 1
    lse = torch.log(torch.sum(torch.exp(scores), dim=-1))
    return table, smooth, growth, lse, x.clone().detach()
'''


def generate(lines: int, offset: int = 0) -> str:
    parts, count, i = [HEADER], HEADER.count("\n"), offset
    while count < lines:
        chunk = CHUNK.format(i=i, h=64 + i % 7, e=1 + i % 5)
        parts.append(chunk)
        count += chunk.count("\n")
        i += 1
    return "".join(parts)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(args: list[str], cwd: Path) -> tuple[float, float, int]:
    """(CPU seconds of the CLI and its workers, wall seconds, findings)."""
    env = dict(os.environ, NO_COLOR="1")
    env.pop("TENSORLINT_OUTPUT_FORMAT", None)
    cpu0, wall0 = children_cpu(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "tensorlint", "check", *args, "--no-cache", "--isolated", "--select", "ALL",
         "--file-timeout", "0", "--output-format", "concise"],
        cwd=cwd, capture_output=True, text=True, env=env,
    )
    wall, cpu = time.perf_counter() - wall0, children_cpu() - cpu0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"tensorlint failed ({proc.returncode}): {proc.stderr[-2000:]}")
    findings = sum(1 for line in proc.stdout.splitlines() if ": TL" in line)
    return cpu, wall, findings


def ratio(value: float, previous: float | None) -> str:
    return "" if previous is None else f"{value / previous:.1f}x"


def single_files(sizes: list[int], tmp: Path) -> None:
    from tensorlint.engine import LintSettings, lint_source
    from tensorlint.selection import resolve_all

    settings = LintSettings(enabled=resolve_all(("ALL",)))
    print("\nOne file (CPU s; in-process = lint_source alone, CLI = `tensorlint check FILE -j 1`):\n")
    print("| lines | findings | in-process s | x per 10x | CLI s | x per 10x | CLI wall s | in-process s per 1k lines |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    prev_engine = prev_cli = None
    for lines in sizes:
        source = generate(lines)
        path = tmp / f"train_{lines}.py"
        path.write_text(source)
        start = time.process_time()
        found = lint_source(source, str(path), settings)
        engine = time.process_time() - start
        cli, wall, _ = run_cli([path.name, "-j", "1"], tmp)
        n_lines = source.count("\n")
        print(f"| {n_lines:,} | {len(found):,} | {engine:.2f} | {ratio(engine, prev_engine)} | {cli:.2f} "
              f"| {ratio(cli, prev_cli)} | {wall:.1f} | {engine / n_lines * 1000:.3f} |", flush=True)
        prev_engine, prev_cli = engine, cli


def trees(counts: list[int], tmp: Path) -> None:
    print("\nA tree of small files (CPU s of the CLI and its workers; `tensorlint check . --no-cache`):\n")
    print("| files | lines | findings | CLI s | x per 10x | wall s | ms per file |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    prev = None
    for count in counts:
        root = tmp / f"tree_{count}"
        lines = 0
        for n in range(count):
            folder = root / f"pkg{n // 100:04d}"
            if n % 100 == 0:
                folder.mkdir(parents=True)
                (folder / "__init__.py").write_text("")
            text = generate(1, offset=n)
            lines += text.count("\n")
            (folder / f"script_{n:05d}.py").write_text(text)
        cpu, wall, found = run_cli(["."], root)
        print(f"| {count:,} | {lines:,} | {found:,} | {cpu:.1f} | {ratio(cpu, prev)} | {wall:.1f} "
              f"| {cpu / count * 1000:.1f} |", flush=True)
        prev = cpu
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="*", default=[1000, 10000, 100000])
    parser.add_argument("--files", type=int, nargs="*", default=[200, 2000, 20000])
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}; 1-minute load average at start: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="tl_scaling_") as name:
        tmp = Path(name)
        if args.lines:
            single_files(args.lines, tmp)
        if args.files:
            trees(args.files, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
