"""Lint time against input size: it must grow linearly (issue 9, scaling).

    python benchmarks/scaling.py [--lines 1000 10000 100000] [--files 200 2000 20000]

Generates training-script-like code (a model class, a training loop, an evaluation
loop and loss helpers; about one finding every 8 lines from a dozen rules) as

- one file of 1k, 10k and 100k lines: linted in-process (`lint_source`: parse, every
  rule, fix edits; nothing cached, no start-up);
- trees of 200, 2,000 and 20,000 small files (one ~50-line script each, 100 per
  package folder): `tensorlint check . --no-cache --select ALL` (all cores), which adds
  start-up, discovery, workers and the project index.

Every size runs in its own process, all at once, and is timed in CPU seconds (the
process; for the CLI, the CLI and its workers): CPU time does not depend on how busy
the machine is, and the sizes share the same conditions. Wall seconds are shown too.
"x per 10x" is the time ratio between consecutive sizes: linear growth gives ~10x.
`--file-timeout 0` keeps the per-file limit out of the timing.
The fix side (1k to 100k lines of fix-heavy code) is `benchmarks/fix_scaling.py`.
"""

from __future__ import annotations

import argparse
import json
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


def measure_file(lines: int, tmp: Path) -> dict:
    """One generated file, linted in-process (`lint_source`, no cache, no start-up)."""
    from tensorlint.engine import LintSettings, lint_source
    from tensorlint.selection import resolve_all

    settings = LintSettings(enabled=resolve_all(("ALL",)))
    lint_source(generate(5, offset=10**6), "warm_up.py", settings)  # first-call set-up is not the file's
    source = generate(lines)
    wall0, start = time.perf_counter(), time.process_time()
    found = lint_source(source, str(tmp / f"train_{lines}.py"), settings)
    return {"lines": source.count("\n"), "findings": len(found), "cpu": time.process_time() - start,
            "wall": time.perf_counter() - wall0}


def measure_tree(count: int, tmp: Path) -> dict:
    """`count` small files (100 per package folder), linted by the CLI with --no-cache."""
    root = tmp / f"tree_{count}"
    lines = 0
    for n in range(count):
        folder = root / f"pkg{n // 100:04d}"
        if n % 100 == 0:
            folder.mkdir(parents=True)
            (folder / "__init__.py").write_text("")
        text = generate(5, offset=n)  # the header and one chunk
        lines += text.count("\n")
        (folder / f"script_{n:05d}.py").write_text(text)
    cpu, wall, found = run_cli(["."], root)
    shutil.rmtree(root, ignore_errors=True)
    return {"files": count, "lines": lines, "findings": found, "cpu": cpu, "wall": wall}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="*", default=[1000, 10000, 100000])
    parser.add_argument("--files", type=int, nargs="*", default=[200, 2000, 20000])
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: "lines:N" or "files:N", prints JSON
    args = parser.parse_args(argv)
    if args.one:
        kind, _, n = args.one.partition(":")
        with tempfile.TemporaryDirectory(prefix="tl_scaling_") as name:
            measure = measure_file if kind == "lines" else measure_tree
            print(json.dumps(measure(int(n), Path(name))))
        return 0
    # Every size in its own process, all at once: CPU seconds do not depend on how the
    # machine is shared, and the sizes see the same conditions.
    print(f"cores: {os.cpu_count()}; 1-minute load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    specs = [f"lines:{n}" for n in args.lines] + [f"files:{n}" for n in args.files]
    procs = {spec: subprocess.Popen([sys.executable, __file__, "--one", spec], stdout=subprocess.PIPE, text=True)
             for spec in specs}
    results = {}
    while len(results) < len(procs):  # each result as soon as it is there (stderr)
        for spec, proc in procs.items():
            if spec not in results and proc.poll() is not None:
                if proc.returncode != 0:
                    raise SystemExit(f"{spec} failed ({proc.returncode})")
                results[spec] = json.loads(proc.stdout.read())
                print(f"{spec}: {json.dumps(results[spec])}", file=sys.stderr, flush=True)
        time.sleep(0.5)
    if args.lines:
        print("\nOne file, linted in-process (`lint_source`: parse, all rules, fix edits; CPU s):\n")
        print("| lines | findings | CPU s | x per 10x size | CPU s per 1k lines | wall s |")
        print("| --- | --- | --- | --- | --- | --- |")
        prev = None
        for n in args.lines:
            r = results[f"lines:{n}"]
            print(f"| {r['lines']:,} | {r['findings']:,} | {r['cpu']:.2f} | {ratio(r['cpu'], prev)} "
                  f"| {r['cpu'] / r['lines'] * 1000:.3f} | {r['wall']:.1f} |")
            prev = r["cpu"]
    if args.files:
        print("\nA tree of small files, `tensorlint check . --no-cache --select ALL` (CPU s of the CLI and its workers):\n")
        print("| files | lines | findings | CPU s | x per 10x files | ms per file | wall s |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        prev = None
        for n in args.files:
            r = results[f"files:{n}"]
            print(f"| {r['files']:,} | {r['lines']:,} | {r['findings']:,} | {r['cpu']:.1f} | {ratio(r['cpu'], prev)} "
                  f"| {r['cpu'] / r['files'] * 1000:.1f} | {r['wall']:.0f} |")
            prev = r["cpu"]
    return 0


if __name__ == "__main__":
    sys.exit(main())
