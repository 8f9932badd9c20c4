"""runtime/history.py: bounded snapshots of the on-device statistics, un-merged into per-interval figures."""

from __future__ import annotations

import contextlib
import math

import pytest
import torch
from torch import nn

from tensorlint.runtime import Monitor
from tensorlint.runtime.history import History


def monitored(model: nn.Module, slots: int = 64, **options) -> Monitor:
    mon = Monitor(model, **options)
    mon._history = History(mon.options, slots=slots)
    return mon


def test_interval_moments_and_histograms_match_each_forward():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh())
    outs = []
    with monitored(model, every=1) as mon, torch.no_grad():
        for i in range(12):
            x = torch.randn(8, 8) * (1 + i)
            outs.append(nn.functional.linear(x, model[0].weight, model[0].bias))  # not a module call
            model(x)
    # every forward is sampled and 8 x 16 = 128 elements fit in max_elements: each interval is one forward
    hist = mon.report().history.to_dict()
    layer = hist["layers"]["0"]
    assert hist["forwards"] == list(range(12))
    for j, out in enumerate(outs):
        assert layer["mean"][j] == pytest.approx(out.double().mean().item(), rel=1e-6, abs=1e-9)
        assert layer["std"][j] == pytest.approx(out.double().std(unbiased=False).item(), rel=1e-6)
        assert sum(layer["hist"][j]) == 128


def test_history_stays_bounded_and_merges_pairs():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    with monitored(model, slots=8, every=1) as mon, torch.no_grad():
        for i in range(300):
            model(torch.randn(16, 4) * (1.0 if i < 200 else 5.0))
            assert len(mon._history._forwards.steps) <= 8
    h = mon._history
    assert h._forwards.stride == 64  # 300 sampled forwards in at most 8 slots: the stride doubled 6 times
    assert h.tensor_count() <= 2 * 8
    data = mon.report().history.to_dict()
    layer = data["layers"]["0"]
    # no count is lost by merging: the intervals add up to everything the profile saw
    assert sum(sum(col) for col in layer["hist"]) == mon.profile().layers["0"]["samples"] == 300 * 16 * 8
    # the x5 input from forward 200 shows in the intervals that start after it
    ends = data["forwards"]  # each column covers the forwards after the previous column's, up to its own
    starts = [0] + [e + 1 for e in ends[:-1]]
    before = [s for s, e in zip(layer["std"], ends) if e < 200]
    after = [s for s, a in zip(layer["std"], starts) if a >= 200]
    assert before and after and min(after) > 3 * max(before)


def test_gradient_norms_per_interval_match_the_step():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    expected = []
    with monitored(model, grad_every=1) as mon:
        for _ in range(6):
            opt.zero_grad()
            model(torch.randn(16, 4)).pow(2).sum().backward()
            expected.append(math.sqrt(model[2].weight.grad.norm() ** 2 + model[2].bias.grad.norm() ** 2))
            opt.step()
    data = mon.report().history.to_dict()
    assert data["grad_steps"] == [0, 1, 2, 3, 4, 5]
    assert data["grads"]["2"] == pytest.approx(expected, rel=1e-6)
    assert set(data["grads"]) == {"0", "2"}


@contextlib.contextmanager
def no_host_reads():
    """Any read of a tensor's value on the host raises (what a per-step sync would need)."""
    names = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__")
    saved = {n: getattr(torch.Tensor, n) for n in names}

    def forbidden(*_a, **_k):
        raise AssertionError("host read of a device value during a step")

    try:
        for n in names:
            setattr(torch.Tensor, n, forbidden)
        yield
    finally:
        for n, f in saved.items():
            setattr(torch.Tensor, n, f)


def test_snapshots_never_read_values_on_the_host():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mon = monitored(model, slots=4, every=1, grad_every=1)
    calls = []
    for name in ("after_forward", "after_grad_step"):
        original = getattr(mon._history, name)

        def checked(*args, _original=original, _name=name):
            with no_host_reads():
                _original(*args)
            calls.append(_name)

        setattr(mon._history, name, checked)
    with mon:
        for _ in range(20):
            opt.zero_grad()
            model(torch.randn(16, 4)).sum().backward()
            opt.step()
    assert calls.count("after_forward") == 20 and calls.count("after_grad_step") == 20
    assert not mon.report().summary["internal_errors"]  # a forbidden read would have been logged here
    assert len(mon._history._forwards.steps) <= 4 and len(mon._history._grads.steps) <= 4


def test_forbidden_reads_are_caught():
    """The guard above is not vacuous: a snapshot that reads a value fails."""
    with no_host_reads(), pytest.raises(AssertionError):
        torch.ones(2).sum().item()
