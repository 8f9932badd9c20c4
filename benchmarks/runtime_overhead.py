"""Overhead of tensorlint.runtime.Monitor against an unmonitored step and fastai-style ``.item()`` hooks.

One command, one run, side by side:  python benchmarks/runtime_overhead.py [--quick]
Variants are interleaved round by round (each round: one block of steps per variant, the
order rotated). Each variant's block is divided by the unmonitored block of the same round,
and the median of those per-round ratios is printed with their interquartile range, so a
noisy (shared) machine shows up as a wide range instead of a wrong figure. A block is one
full sampling cycle by default (``--steps`` defaults to ``every``: 16 steps with the
defaults ``every=16``, ``grad_every=16``, one sampled forward and one sampled optimizer
step per block; ``--every 32`` gives 32-step blocks). CUDA rows are added when a GPU is present.
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def time_steps(step: Callable[[], None], n: int, device: torch.device) -> float:
    """Seconds per step: process CPU time on CPU (robust on a shared machine), synchronised wall time on CUDA."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) / n
    t0 = time.process_time()
    for _ in range(n):
        step()
    return (time.process_time() - t0) / n


def bench(workload: str, phase: str, device: torch.device, rounds: int, steps: int, options: dict) -> dict[str, list[float]]:
    """Seconds per step of each variant, one figure per round; one Monitor lives across rounds so its ``every`` schedule is honest."""
    model, inference, training = make_steps(workload, device)
    step = inference if phase == "inference" else training
    monitor = Monitor(model, **options)
    variants = {
        "unmonitored": Unmonitored(model),
        "tensorlint": monitor,  # defaults: activation statistics, mode checks and gradient checks
        "no-grad-checks": Monitor(model, **{**options, "grad_checks": False}),
        "fastai-style": None,  # its hooks are built per round, as a user would register them
    }
    times: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(rounds + 1):
        order = list(variants.items())
        order = order[r % len(order) :] + order[: r % len(order)]
        for label, wrapper in order:
            with wrapper if wrapper is not None else FastaiStyleHooks(model):
                t = time_steps(step, steps, device)
            if r:  # round 0 is warm-up
                times[label].append(t)
    assert monitor.sampled_forwards >= rounds * steps // monitor.options.every
    return times


def ratio(times: dict[str, list[float]], label: str) -> str:
    """Median of the per-round ratios to the unmonitored block of the same round, with their IQR."""
    ratios = [t / base for t, base in zip(times[label], times["unmonitored"])]
    q1, med, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
    return f"{med:.2f}x ({q1:.2f}-{q3:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke test")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1: CPU time is then per step)")
    parser.add_argument("--every", type=int, default=None, help="Monitor(every=...) instead of the default")
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds (default 40)")
    parser.add_argument("--steps", type=int, default=None, help="steps per block (default: every, one sampling cycle)")
    args = parser.parse_args()
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
    print(
        f"{'device':6} {'workload':8} {'phase':9} {'unmonitored ms':>15} {'tensorlint':>19} "
        f"{'no grad checks':>19} {'fastai-style':>19}"
    )
    for device in devices:
        for workload in ("convnet", "gpt2"):
            for phase in ("inference", "training"):
                t = bench(workload, phase, device, rounds, steps, options)
                base = statistics.median(t["unmonitored"])
                print(
                    f"{device.type:6} {workload:8} {phase:9} {base * 1e3:15.2f} {ratio(t, 'tensorlint'):>19} "
                    f"{ratio(t, 'no-grad-checks'):>19} {ratio(t, 'fastai-style'):>19}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
