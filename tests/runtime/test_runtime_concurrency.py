"""Threads, torch.compile and reentrant checkpointing (issue 10, items 1-3)."""

from __future__ import annotations

import threading
import warnings

import pytest
import torch
import torch.utils.checkpoint as checkpoint
from resnet_helpers import ResNet18, batchnorms
from runtime_helpers import train_steps
from torch import nn
from torch.nn.modules import module as module_hooks

from tensorlint.runtime import Monitor


def _classifier():
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 4), nn.Softmax(-1))


# ---- 1. threads ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("every", [1, 3])
def test_two_threads_inference_every_forward_counted(every):
    model = _classifier().eval()
    errors: list[BaseException] = []
    per_thread = 500

    def serve():
        try:
            with torch.no_grad():
                for _ in range(per_thread):
                    model(torch.randn(4, 8))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    hooks_before = len(module_hooks._global_forward_hooks)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an internal failure would warn
        with Monitor(model, every=every) as mon:
            threads = [threading.Thread(target=serve) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            # the global forward hook lives only while some thread runs a sampled forward
            assert len(module_hooks._global_forward_hooks) == hooks_before
    assert not errors, errors
    # every sampled forward saw the first layer exactly once, whichever thread registered the hook
    assert mon.profile().layers["0"]["calls"] == mon.sampled_forwards >= 2 * per_thread // every
    assert mon.forwards == 2 * per_thread
    assert not mon.internal_errors
    report = mon.report()
    assert not report.findings and report.summary["forwards"] == 1000
    assert torch._C._len_torch_function_stack() == 0
    if every == 1:
        assert mon.sampled_forwards == 1000
        assert mon.profile().layers["0"]["calls"] == 1000


def test_detach_and_attach_while_a_forward_runs_keeps_the_hook_counts():
    """A forward in flight across detach(); attach() (a server that monitors in windows) ends under the
    new attachment; it must not unbalance the counts of forwards in progress, or a sampled forward
    running beside a lean one would lose the global pre-hook and miss its checks."""

    class Parked(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.drop = nn.Linear(4, 4), nn.Dropout(0.5)
            self.stops: dict[str, tuple[threading.Event, threading.Event]] = {}

        def forward(self, x):
            x = self.fc(x)
            stop = self.stops.pop(threading.current_thread().name, None)
            if stop is not None:  # park between the two layers until released
                stop[0].set()
                stop[1].wait(10)
            return self.drop(x)

    def parked(name: str, grad: bool):
        inside, release = threading.Event(), threading.Event()
        model.stops[name] = (inside, release)

        def run():
            with torch.set_grad_enabled(grad):  # grad mode is per thread
                model(torch.randn(2, 4))

        thread = threading.Thread(target=run, name=name)
        thread.start()
        assert inside.wait(10)
        return thread, release

    model = Parked()
    pre = len(module_hooks._global_forward_pre_hooks)
    mon = Monitor(model)
    mon.attach()
    first, release = parked("first", True)  # the first forward: sampled
    mon.detach()
    mon.attach()
    release.set()
    first.join()
    model(torch.randn(2, 4)), model(torch.randn(2, 4))
    sampled, release_sampled = parked("sampled", False)  # no_grad: a new context, sampled
    lean, release_lean = parked("lean", False)  # the next no_grad forward: lean
    release_sampled.set()  # the sampled forward's Dropout runs while the lean forward is in progress
    sampled.join()
    release_lean.set()
    lean.join()
    mon.detach()
    assert len(module_hooks._global_forward_pre_hooks) == pre
    assert mon.forwards == 5 and mon.sampled_forwards == 2
    # both no_grad forwards ran the Dropout in training mode: the lean one by its own pre-hook, the
    # sampled one through the global pre-hook, which must still be there
    found = mon.report().by_kind("dropout-active-at-inference")
    assert [(f.module, f.count) for f in found] == [("drop", 2)]


def test_threads_with_a_mistake_count_every_event():
    model = _classifier()  # left in training mode: dropout and BatchNorm at inference
    with Monitor(model, every=2) as mon:

        def serve():
            with torch.no_grad():
                for _ in range(300):
                    model(torch.randn(4, 8))

        threads = [threading.Thread(target=serve) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    report = mon.report()
    assert not report.summary["internal_errors"]
    counts = {f.kind: f.count for f in report.findings}
    assert counts["batchnorm-train-at-inference"] == 600 and counts["dropout-active-at-inference"] == 600


def test_report_never_raises(monkeypatch):
    model = _classifier().eval()
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(4, 8))
    monkeypatch.setattr(type(mon), "profile", lambda self, **kwargs: 1 / 0)
    with pytest.warns(RuntimeWarning):
        report = mon.report()
    assert report.findings == [] and "ZeroDivisionError" in report.summary["internal_errors"][-1]


# ---- 2. torch.compile ----------------------------------------------------------------------------------------
def _plain():
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def test_compile_eager_report_does_not_raise_and_counts_forwards():
    torch._dynamo.reset()
    model = _plain()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's note about global hooks and OptimizedModule
        with Monitor(model, every=1) as mon:
            compiled = torch.compile(model, backend="eager")
            outs = [compiled(torch.randn(2, 8)) for _ in range(3)]
            model(torch.randn(2, 8))  # an eager call is still inspected
    report = mon.report()
    assert all(o.shape == (2, 4) for o in outs)
    assert not report.summary["internal_errors"] and not report.findings
    assert mon.forwards == 4 and report.summary["compiled_forwards"] == 3
    assert mon.profile().layers["1"]["calls"] == 1


def test_compile_monitor_adds_no_graph_breaks():
    model = _plain()
    torch._dynamo.reset()
    bare = torch._dynamo.explain(model)(torch.randn(2, 8))
    torch._dynamo.reset()
    with Monitor(model, every=1):
        monitored = torch._dynamo.explain(model)(torch.randn(2, 8))
    torch._dynamo.reset()
    assert (bare.graph_count, bare.graph_break_count) == (1, 0)
    assert (monitored.graph_count, monitored.graph_break_count) == (1, 0)


# ---- 3. reentrant activation checkpointing ---------------------------------------------------------------------
class _Checkpointed(nn.Module):
    def __init__(self, reentrant: bool | None):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1)) for _ in range(3)
        )
        self.head = nn.Linear(16, 2)
        self.reentrant = reentrant

    def forward(self, x):
        for block in self.blocks:
            if self.reentrant is None:
                x = block(x)
            else:
                x = checkpoint.checkpoint(block, x, use_reentrant=self.reentrant)
        return self.head(x)


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpointing_in_training_is_silent(reentrant):
    model = _Checkpointed(reentrant)
    with Monitor(model, every=1) as mon:
        train_steps(model, lambda: torch.randn(16, 16).requires_grad_(), steps=3)
    report = mon.report()
    assert not report.findings, report.findings
    assert not report.summary["internal_errors"]


def test_reentrant_checkpoint_of_the_whole_model_is_silent():
    model = ResNet18()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with Monitor(model) as mon:
        for _ in range(2):
            opt.zero_grad()
            x = torch.randn(8, 3, 16, 16, requires_grad=True)
            checkpoint.checkpoint(model, x, use_reentrant=True).sum().backward()
            opt.step()
    assert not mon.report().findings


def test_real_no_grad_inference_in_train_mode_still_found_with_checkpointing_model():
    """The look-alike: the same model evaluated under no_grad without eval() is still an error."""
    model = _Checkpointed(True)
    with Monitor(model) as mon, torch.no_grad():
        model(torch.randn(16, 16))  # noqa: TL103 (planted for the runtime monitor)
    report = mon.report()
    (bn,) = report.by_kind("batchnorm-train-at-inference")
    assert set(bn.modules) == {"blocks.0.1", "blocks.1.1", "blocks.2.1"}
    assert report.by_kind("dropout-active-at-inference")


def test_resnet_forgotten_eval_is_one_row():
    """Issue 10 item 9: one forgotten eval() on ResNet-18 is one row listing its 20 BatchNorms."""
    model = ResNet18()
    with Monitor(model) as mon, torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 16, 16))  # noqa: TL103 (planted for the runtime monitor)
    report = mon.report()
    rows = report.by_kind("batchnorm-train-at-inference")
    assert len(rows) == 1 and len(report.findings) == 1
    row = rows[0]
    names = batchnorms(model)
    assert len(names) == 20 and sorted(row.modules) == sorted(names)
    assert row.module == "bn1" and row.details["first_forward"] == 0 and row.count == 60
    assert "20 modules" in row.message and "model.eval()" in row.message
    assert len(report.details) == 20 and {f.module for f in report.details} == set(names)
    data = report.to_dict()
    assert len(data["findings"]) == 1 and len(data["findings"][0]["details"]["per_module"]) == 20
    assert len(data["details"]) == 20


class _Gate(nn.Module):
    """Holds each thread inside the forward until the other one got there too."""

    def __init__(self, barrier):
        super().__init__()
        self.barrier = barrier

    def forward(self, x):
        if self.barrier is not None:
            self.barrier.wait(timeout=30)
        return x


@pytest.mark.parametrize("overlap", [True, False])
def test_two_threads_sampling_one_layer_lose_no_update(overlap):
    # Both threads stage a row for layer "0" before either forward ends: the first to end
    # merges both rows into the one accumulator slot. Every staged value must be counted.
    forwards = 20
    model = nn.Sequential(nn.Linear(8, 16), _Gate(threading.Barrier(2) if overlap else None), nn.Linear(16, 4)).eval()
    errors: list[BaseException] = []

    def serve():
        try:
            with torch.no_grad():
                for _ in range(forwards):
                    model(torch.randn(4, 8))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    with Monitor(model, every=1) as mon:
        threads = [threading.Thread(target=serve) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors and not mon.internal_errors, (errors, mon.internal_errors)
    layers = mon.profile().layers
    for name, width in (("0", 16), ("2", 4)):
        assert layers[name]["calls"] == 2 * forwards
        assert layers[name]["samples"] == 2 * forwards * 4 * width
        assert layers[name]["count"] == layers[name]["samples"], (name, layers[name]["count"])
        assert sum(c for _, c in layers[name]["hist"]) == layers[name]["samples"]
