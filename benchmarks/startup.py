"""Start-up: one small file, side by side with `python -c pass`, in one run.

    python benchmarks/startup.py [--runs 30]

Every command runs as a fresh process with the interpreter running this script (the
same environment, so `python -c pass` pays the same site-packages start-up). The runs
are interleaved (pass, warm, cold, pass, ...) so that other load on the machine hits
all of them alike; the minimum and the median of each are shown, and the ratios to
`python -c pass`.

- warm: `tensorlint check one.py` answered by the cache, before the command line loads
  (tensorlint/fast_path.py), for a clean file and for a file with a finding (printed in
  the full format by output/full_text.py, as the command line prints it);
- full CLI, warm: the same file with a finding, answered from the cache by the full
  command line (tensorlint.cli.main: argparse, configuration, discovery), which any
  option or a configuration file sends the run to;
- cold: `tensorlint check one.py --no-cache`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLEAN = "import torch\n\n\ndef f(x):\n    return torch.relu(x)\n"
FINDING = "import torch\n\n\ndef f(x):\n    return torch.tensor(torch.ones(3))\n"


# As installed for a user: Python writes and reuses bytecode (.pyc). Some shells set
# PYTHONDONTWRITEBYTECODE, which makes every run compile every module from source.
_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
_CLI = "import sys; from tensorlint.cli import main; sys.exit(main(sys.argv[1:]))"  # never the quick answer


def _time(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=_ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    py = sys.executable
    script = Path(py).with_name("tensorlint")  # the installed command, as editors and pre-commit run it
    lint = [str(script), "check"] if script.exists() else [py, "-m", "tensorlint", "check"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "clean.py").write_text(CLEAN)
        (folder / "finding.py").write_text(FINDING)
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "warm, clean file": lint + ["clean.py"],
            "warm, 1 finding": lint + ["finding.py"],
            "full CLI, warm, finding": [py, "-c", _CLI, "check", "finding.py"],
            "cold (--no-cache)": lint + ["clean.py", "--no-cache"],
        }
        for cmd in commands.values():  # fill the cache, load the OS's file cache
            _time(cmd, folder)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(_time(cmd, folder))
    base_min = min(times["python -c pass"])
    base_med = statistics.median(times["python -c pass"])
    print(f"{args.runs} interleaved runs each, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'command':<24} {'min':>8} {'median':>8} {'min/pass':>9} {'median/pass':>12}")
    for name, values in times.items():
        low, mid = min(values), statistics.median(values)
        print(f"{name:<24} {low * 1000:>6.0f}ms {mid * 1000:>6.0f}ms {low / base_min:>8.2f}x {mid / base_med:>11.2f}x")


if __name__ == "__main__":
    main()
