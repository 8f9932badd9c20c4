"""The on-device statistics equal a direct computation over the same values."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tensorlint.runtime import Monitor


class _Recorder(nn.Module):
    """Identity that keeps what passed through, to compare the monitor's figures with."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return x


class _Branchy(nn.Module):
    """Skips a layer on odd forwards, so slot order changes between forwards (the non-dense merge path)."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.rec = nn.Linear(6, 6), nn.Linear(6, 6), _Recorder()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls % 2:
            x = self.a(x)
        return self.rec(torch.relu(self.b(x)) - 0.5)


@pytest.mark.parametrize("build", [lambda: nn.Sequential(nn.Linear(6, 6), _Recorder()), _Branchy], ids=["static", "dynamic"])
def test_moments_extremes_and_histogram_are_exact_without_subsampling(build):
    model = build()
    rec = model[1] if isinstance(model, nn.Sequential) else model.rec
    name = "1" if isinstance(model, nn.Sequential) else "rec"
    with Monitor(model, every=1, max_elements=4096) as mon, torch.no_grad():
        for i in range(6):
            model(torch.randn(8 + i, 6) * (i + 1))
    layer = mon.profile().layers[name]
    seen = torch.cat([t.reshape(-1) for t in rec.seen]).double()
    assert layer["samples"] == seen.numel() == layer["count"]
    assert math.isclose(layer["mean"], seen.mean().item(), rel_tol=1e-6, abs_tol=1e-9)
    assert math.isclose(layer["std"], seen.std(correction=0).item(), rel_tol=1e-5)
    assert math.isclose(layer["min"], seen.min().item(), rel_tol=1e-6)
    assert math.isclose(layer["max"], seen.max().item(), rel_tol=1e-6)
    assert math.isclose(layer["zero_fraction"], (seen == 0).double().mean().item(), abs_tol=1e-12)
    assert sum(c for _, c in layer["hist"]) == seen.numel()


def test_non_finite_values_do_not_poison_moments():
    model = nn.Sequential(_Recorder())
    with Monitor(model, every=1, max_elements=4096) as mon, torch.no_grad():
        model(torch.tensor([1.0, 2.0, 3.0]))
        model(torch.tensor([float("nan"), 5.0, float("inf")]))
    layer = mon.profile().layers["0"]
    assert layer["nonfinite_calls"] == 1 and layer["first_nonfinite_forward"] == 1
    assert layer["count"] == 4 and math.isclose(layer["mean"], 11 / 4)
    assert layer["max"] == 5.0


class _Parent(nn.Module):
    """Hands its own input to its child; with ``poison`` it first writes a NaN into it in place."""

    def __init__(self, poison: bool):
        super().__init__()
        self.child = nn.Linear(4, 4)
        self.poison = poison

    def forward(self, x):
        if self.poison:
            x[0, 0] = float("nan")  # the parent's own code makes the NaN, after its input was checked
        return self.child(x)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_input_sum_shared_with_first_child_only_while_unchanged(mode):
    """A parent's input passed on unchanged is summed once; an in-place change (version bump) is summed again."""
    found = {}
    for poison in (True, False):
        model = nn.Sequential(_Parent(poison))
        ctx = torch.no_grad() if mode == "no_grad" else torch.inference_mode()
        with Monitor(model, every=1) as mon, ctx:
            model(torch.randn(3, 4))
        report = mon.report()
        assert not report.summary["internal_errors"]
        found[poison] = [(f.kind, f.module) for f in report.findings]
    assert found[True] == [("non-finite", "0")]  # blamed on the parent's code, not on the Linear
    assert found[False] == []
