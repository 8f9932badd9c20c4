"""Overhead of tensorlint.runtime.Monitor against an unmonitored step and fastai-style ``.item()`` hooks.

One command, one run, side by side:  python benchmarks/runtime_overhead.py [--quick]
Variants are interleaved round by round (each round: one block of steps per variant, in a
fresh random order, seeded). Each variant's block is divided by the unmonitored block of
the same round, and the median of those per-round ratios is printed with their
interquartile range, so a noisy (shared) machine shows up as a wide range instead of a
wrong figure. The fastai-style hooks get their own rounds against their own unmonitored
blocks: they allocate several full-size tensors per layer per step, and glibc's malloc
then returns memory to the kernel and takes it back, so whichever block ran next paid
page faults that were not its own. Minor page faults per step are printed for every
variant (``getrusage``), because the same heap effect can make any block slower. An A/A
column divides a second unmonitored block by the first, in the same rounds: how far one
median ratio strays when nothing differs.

Two heaps, one command: the rows are printed twice, first with glibc's default malloc
(what most users run) and then in a child process whose heap is held steady
(``GLIBC_TUNABLES`` fixes the mmap and trim thresholds, so freed memory stays in the
heap, as jemalloc or tcmalloc would keep it; PyTorch's CPU tuning guide recommends those
for deep learning). ``--heap glibc`` or ``--heap steady`` runs one of them. A block is one
full sampling cycle by default (``--steps`` defaults to ``every``: 16 steps with the
defaults ``every=16``, ``grad_every=16``, one sampled forward and one sampled optimizer
step per block; ``--every 32`` gives 32-step blocks). CUDA rows are added when a GPU is present.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from torch import nn

from tensorlint.runtime import Monitor


def conv_net() -> nn.Module:
    def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(3, 32, 1), *block(32, 64, 2), *block(64, 64, 1), *block(64, 128, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10),
    )  # fmt: skip


def gpt2() -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging

    logging.set_verbosity_error()
    cfg = GPT2Config(vocab_size=1024, n_positions=128, n_embd=128, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(cfg)


class FastaiStyleHooks:
    """What users write by hand (fastai ActivationStats): mean/std/near-zero pulled with .item() per layer per step."""

    def __init__(self, model: nn.Module):
        self.stats: list[tuple[float, float, float]] = []
        layers = [m for m in model.modules() if next(m.children(), None) is None and next(m.parameters(False), None) is not None]
        self.handles = [m.register_forward_hook(self.hook) for m in layers]

    def hook(self, module, args, out):
        if isinstance(out, tuple):
            out = out[0]
        o = out.detach().float()
        self.stats.append((o.mean().item(), o.std().item(), (o <= 0.05).long().sum().item() / o.numel()))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()


class Unmonitored:
    def __init__(self, model):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def make_steps(name: str, device: torch.device) -> tuple[nn.Module, Callable[[], None], Callable[[], None]]:
    """(model, inference step, training step) for one workload."""
    torch.manual_seed(0)
    if name == "convnet":
        model = conv_net().to(device)
        x = torch.randn(32, 3, 32, 32, device=device)
        y = torch.randint(0, 10, (32,), device=device)

        def loss_fn():
            return nn.functional.cross_entropy(model(x), y)

        def infer():
            return model(x)
    else:
        model = gpt2().to(device)
        ids = torch.randint(0, 1024, (8, 64), device=device)

        def loss_fn():
            return model(input_ids=ids, labels=ids).loss

        def infer():
            return model(input_ids=ids).logits

    opt = torch.optim.SGD(model.parameters(), lr=1e-4)

    def inference():
        model.eval()
        with torch.no_grad():
            infer()

    def training():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        opt.step()

    return model, inference, training


def time_steps(step: Callable[[], None], n: int, device: torch.device) -> tuple[float, float]:
    """(seconds, minor page faults) per step: process CPU time on CPU (robust on a shared machine), synchronised wall time on CUDA."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    if device.type == "cuda":
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
    else:
        t0 = time.process_time()
        for _ in range(n):
            step()
        seconds = time.process_time() - t0
    return seconds / n, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / n


def rounds_of(variants: dict, step: Callable[[], None], device: torch.device, rounds: int, steps: int, rng: random.Random) -> dict:
    """{label: [(seconds, faults) per step, one per round]}; each round runs every variant once, in a random order."""
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    for r in range(rounds + 1):
        order = list(variants.items())
        rng.shuffle(order)
        for label, wrapper in order:
            with wrapper():
                t = time_steps(step, steps, device)
            if r:  # round 0 is warm-up
                times[label].append(t)
    return times


def bench(workload: str, phase: str, device: torch.device, rounds: int, steps: int, options: dict, seed: int = 0) -> tuple[dict, dict]:
    """Per-step (seconds, faults) of each variant, one figure per round, for the monitors and for the fastai-style hooks.

    One Monitor lives across rounds so its ``every`` schedule is honest; the fastai-style
    hooks are built per block, as a user would register them, in rounds of their own.
    """
    model, inference, training = make_steps(workload, device)
    step = inference if phase == "inference" else training
    monitor = Monitor(model, **options)
    plain = Monitor(model, **{**options, "grad_checks": False})
    rng = random.Random(seed)
    monitors = rounds_of(
        {
            "unmonitored": lambda: Unmonitored(model),
            "A/A": lambda: Unmonitored(model),  # a second unmonitored block: the noise floor of one ratio
            "tensorlint": lambda: monitor,  # defaults: activation statistics, mode checks and gradient checks
            "no-grad-checks": lambda: plain,
        },
        step, device, rounds, steps, rng,
    )  # fmt: skip
    assert monitor.sampled_forwards >= rounds * steps // monitor.options.every
    hooks = rounds_of(
        {"unmonitored": lambda: Unmonitored(model), "fastai-style": lambda: FastaiStyleHooks(model)},
        step, device, max(3, rounds // 4), steps, rng,
    )  # fmt: skip
    return monitors, hooks


def ratio(times: dict, label: str) -> str:
    """Median of the per-round ratios to the unmonitored block of the same round, with their IQR, and page faults per step."""
    ratios = [t / base for (t, _), (base, _) in zip(times[label], times["unmonitored"])]
    q1, med, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
    return f"{med:.2f}x ({q1:.2f}-{q3:.2f}) {statistics.median(f for _, f in times[label]):5.0f}"


# Large enough that no activation is mmapped and freed memory is never handed back to the kernel.
STEADY_HEAP = "glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=17179869184"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke test")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1: CPU time is then per step)")
    parser.add_argument("--every", type=int, default=None, help="Monitor(every=...) instead of the default")
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds (default 40)")
    parser.add_argument("--steps", type=int, default=None, help="steps per block (default: every, one sampling cycle)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the per-round variant order (default 0)")
    parser.add_argument(
        "--heap", choices=("both", "glibc", "steady"), default="both",
        help="glibc: the default malloc; steady: mmap/trim thresholds fixed (a child process); both (default): one after the other",
    )  # fmt: skip
    args = parser.parse_args()
    if args.heap == "steady" and os.environ.get("GLIBC_TUNABLES") != STEADY_HEAP:
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "GLIBC_TUNABLES": STEADY_HEAP})
    torch.set_num_threads(args.threads)
    options = {} if args.every is None else {"every": args.every}
    every = options.get("every", Monitor(nn.Identity()).options.every)
    steps = every if args.steps is None else args.steps
    rounds = 3 if args.quick else args.rounds
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); Monitor every={every}; "
        f"{rounds} interleaved rounds x {steps} steps; ratio = median over rounds (interquartile range); "
        "CPU rows: process CPU time per step"
    )
    heap = "steady (GLIBC_TUNABLES=" + STEADY_HEAP + ")" if os.environ.get("GLIBC_TUNABLES") == STEADY_HEAP else "glibc defaults"
    print(f"heap: {heap}")
    print(
        "each cell: median ratio (interquartile range) and minor page faults per step; "
        "fastai-style hooks in rounds of their own against their own unmonitored blocks"
    )
    print(
        f"{'device':6} {'workload':8} {'phase':9} {'unmonitored ms':>15} {'faults':>6} {'tensorlint':>25} "
        f"{'no grad checks':>25} {'fastai-style':>25} {'A/A (no monitor)':>25}"
    )
    for device in devices:
        for workload in ("convnet", "gpt2"):
            for phase in ("inference", "training"):
                t, hooks = bench(workload, phase, device, rounds, steps, options, args.seed)
                base = statistics.median(s for s, _ in t["unmonitored"])
                faults = statistics.median(f for _, f in t["unmonitored"])
                print(
                    f"{device.type:6} {workload:8} {phase:9} {base * 1e3:15.2f} {faults:6.0f} {ratio(t, 'tensorlint'):>25} "
                    f"{ratio(t, 'no-grad-checks'):>25} {ratio(hooks, 'fastai-style'):>25} {ratio(t, 'A/A'):>25}",
                    flush=True,
                )
    if args.heap == "both":
        sys.stdout.flush()
        print()
        argv = [f"--{k}={v}" for k, v in vars(args).items() if v is not None and k not in ("heap", "quick")]
        argv += ["--quick"] * args.quick + ["--heap=steady"]
        raise SystemExit(subprocess.call([sys.executable, os.path.abspath(__file__), *argv]))


if __name__ == "__main__":
    main()
