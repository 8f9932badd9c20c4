"""Cost of one sampled forward: the monitor in this checkout against the one at a git revision, side by side.

One command, one run:  python benchmarks/runtime_sampled_forward.py --against REV [--rounds 40]
``runtime/`` at REV is extracted (``git archive``) into a temporary folder and imported
under another name, so both monitors live in one process. ``every=1`` makes every forward
a sampled one. Each round times a block of steps unmonitored, with the old monitor and with
the new one, in rotating order (process CPU time, 1 thread); the extra milliseconds per
step over the same round's unmonitored block are summarised as median (interquartile range).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runtime_overhead import make_steps  # noqa: E402

from tensorlint.runtime.monitor import Monitor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def old_monitor(rev: str, into: Path) -> type:
    """``Monitor`` as it was at ``rev``, imported as the package ``runtime_at_rev``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "runtime"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "runtime").rename(into / "runtime_at_rev")
    sys.path.insert(0, str(into))
    return importlib.import_module("runtime_at_rev.monitor").Monitor


def quartiles(values: list[float]) -> str:
    q1, med, q3 = statistics.quantiles(values, n=4)
    return f"+{med * 1e3:5.2f} ms ({q1 * 1e3:.2f}-{q3 * 1e3:.2f})"


def run(workload: str, phase: str, old: type, rounds: int, block: int) -> str:
    model, inference, training = make_steps(workload, torch.device("cpu"))
    step = inference if phase == "inference" else training
    monitors = {"none": None, "old": old(model, every=1, grad_every=1), "new": Monitor(model, every=1, grad_every=1)}
    times: dict[str, list[float]] = {name: [] for name in monitors}
    for r in range(rounds + 1):
        order = list(monitors.items())
        order = order[r % 3 :] + order[: r % 3]
        for name, monitor in order:
            if monitor is not None:
                monitor.attach()
            t0 = time.process_time()
            for _ in range(block):
                step()
            elapsed = (time.process_time() - t0) / block
            if monitor is not None:
                monitor.detach()
            if r:  # round 0 is warm-up
                times[name].append(elapsed)
    for monitor in (monitors["old"], monitors["new"]):
        errors = monitor.report().summary["internal_errors"]
        assert not errors, errors
    base = statistics.median(times["none"])
    extra = {name: [t - b for t, b in zip(times[name], times["none"])] for name in ("old", "new")}
    ratio = statistics.median(n / o for n, o in zip(extra["new"], extra["old"]) if o > 0)
    return (
        f"{workload:8} {phase:9} {base * 1e3:10.2f} ms  old {quartiles(extra['old'])}  new {quartiles(extra['new'])}"
        f"  new/old {ratio:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="git revision whose runtime/ is the 'old' monitor")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--block", type=int, default=4, help="steps per block (default 4)")
    parser.add_argument("--workloads", default="convnet:inference,gpt2:inference,convnet:training,gpt2:training")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        old = old_monitor(args.against, Path(tmp))
        print(
            f"torch {torch.__version__}, 1 thread; every=1, grad_every=1 (every forward and step sampled); "
            f"{args.rounds} rotating rounds x {args.block} steps; extra CPU ms per step over unmonitored: "
            "median (interquartile range)"
        )
        for item in args.workloads.split(","):
            print(run(*item.split(":"), old, args.rounds, args.block), flush=True)


if __name__ == "__main__":
    main()
