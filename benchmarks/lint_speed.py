"""Time tensorlint (cold and warm cache) against TorchFix and libcst's bare parse, side by side.

    python benchmarks/lint_speed.py PATH [PATH ...] [--torchfix CMD] [--jobs N] [--repeat N]

TorchFix is used if `torchfix` is on PATH (or given with --torchfix; it pins an old
libcst, so it is best installed in its own venv: `python -m venv /tmp/tf &&
/tmp/tf/bin/pip install torchfix`, then `--torchfix /tmp/tf/bin/torchfix`).
Every tool sees the same files in the same run, so the ratios are comparable.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def python_files(paths: list[Path]) -> list[Path]:
    files = []
    for path in paths:
        if path.is_file():
            files.append(path)
        else:
            files += sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return files


def _parse_one(path: str) -> int:
    import libcst

    try:
        libcst.parse_module(Path(path).read_bytes())
    except Exception:  # noqa: BLE001 - the floor only counts parse time
        return 0
    return 1


def time_parse_only(files: list[Path], jobs: int) -> float:
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        pool.map(_parse_one, [str(f) for f in files], chunksize=8)
    return time.perf_counter() - start


# Both tools run as installed for a user, with bytecode caching on (a shell that sets
# PYTHONDONTWRITEBYTECODE makes every process compile every module from source).
_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def time_command(cmd: list[str], cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=_ENV)
    return time.perf_counter() - start, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--torchfix", default=shutil.which("torchfix"), help="TorchFix executable")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=1, help="warm-cache repetitions (the best is kept)")
    args = parser.parse_args()

    files = python_files(args.paths)
    lines = sum(f.read_bytes().count(b"\n") for f in files)
    print(f"corpus: {len(files)} files, {lines:,} lines, {args.jobs} worker(s) on {os.cpu_count()} core(s)")

    # one run of each tool on one file first, so that neither pays for writing its bytecode
    with tempfile.TemporaryDirectory() as scratch:
        time_command([sys.executable, "-m", "tensorlint", "check", str(files[0]), "--no-cache", "--exit-zero"], Path(scratch))
        if args.torchfix:
            time_command([args.torchfix, str(files[0])], Path(scratch))
    rows: list[tuple[str, float, str]] = []
    rows.append(("libcst parse only (floor)", time_parse_only(files, args.jobs), ""))

    with tempfile.TemporaryDirectory() as cache:
        base = [sys.executable, "-m", "tensorlint", "check", *map(str, args.paths), "--isolated", "--select", "ALL",
                "--exit-zero", "--output-format", "concise", "-q", "--no-progress", "--cache-dir", cache,
                "-j", str(args.jobs)]
        cold, proc = time_command(base)
        if proc.returncode != 0 or "internal error" in proc.stderr:
            print(proc.stderr, file=sys.stderr)
            return 1
        findings = len(proc.stdout.splitlines())
        rows.append(("tensorlint, cold cache", cold, f"{findings} findings"))
        warm = min(time_command(base)[0] for _ in range(max(1, args.repeat)))
        rows.append(("tensorlint, warm cache", warm, ""))

    torchfix_time = None
    if args.torchfix:
        torchfix_time, proc = time_command([args.torchfix, "--select", "ALL", *map(str, args.paths)])
        note = f"exit {proc.returncode}, {sum(1 for l in proc.stdout.splitlines() if ': TOR' in l)} findings"
        rows.append(("TorchFix", torchfix_time, note))
    else:
        print("TorchFix not found: pass --torchfix PATH to compare")

    print(f"\n{'tool':<28}{'seconds':>9}{'lines/s':>12}{'vs TorchFix':>13}  notes")
    for name, seconds, note in rows:
        ratio = f"{torchfix_time / seconds:.1f}x" if torchfix_time else "-"
        print(f"{name:<28}{seconds:>9.2f}{lines / seconds:>12,.0f}{ratio:>13}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
