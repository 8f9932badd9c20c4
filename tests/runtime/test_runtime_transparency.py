"""The monitor must not change what the model computes, must clean up after itself, and must not sync per step."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from runtime_helpers import train_steps
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.optim import optimizer as optim_hooks

from tensorlint.runtime import Monitor


def _net():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(8 * 6 * 6, 10), nn.Softmax(dim=-1),
    )  # fmt: skip


def _global_hook_counts():
    return (
        len(module_hooks._global_forward_hooks),
        len(module_hooks._global_forward_pre_hooks),
        len(module_hooks._global_forward_hooks_always_called),
        len(optim_hooks._global_optimizer_post_hooks),
        len(optim_hooks._global_optimizer_pre_hooks),
        torch._C._len_torch_function_stack(),
    )


def _training_run(model, monitored: bool):
    """Outputs and final state of three seeded training steps, with or without the monitor."""
    torch.manual_seed(123)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    outs = []
    ctx = Monitor(model, every=1) if monitored else _Null()
    with ctx:
        for _ in range(3):
            opt.zero_grad()
            out = model(torch.randn(4, 3, 8, 8))
            out.sum().backward()
            opt.step()
            outs.append(out.detach())
        model.eval()
        with torch.no_grad():
            outs.append(model(torch.randn(4, 3, 8, 8)))
    return outs, model.state_dict()


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def test_outputs_and_state_bitwise_identical():
    base = _net()
    plain_outs, plain_state = _training_run(copy.deepcopy(base), monitored=False)
    mon_outs, mon_state = _training_run(copy.deepcopy(base), monitored=True)
    for a, b in zip(plain_outs, mon_outs):
        assert torch.equal(a, b)  # dropout masks included: the monitor draws no random numbers
    assert plain_state.keys() == mon_state.keys()
    for key in plain_state:
        assert torch.equal(plain_state[key], mon_state[key]), key


def test_state_dict_untouched_in_eval():
    model = _net().eval()
    before = copy.deepcopy(model.state_dict())
    with Monitor(model, every=1), torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 8, 8))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_hooks_removed_on_exit_and_on_error():
    model = _net()
    before = _global_hook_counts()
    with Monitor(model) as mon:
        # global pre-hook, 2 optimizer hooks, the model's entry pre-hook, exit hook and input
        # pre-hook, one pre-hook each on the BatchNorm and the Dropout
        assert _global_hook_counts()[:5] != before[:5] and mon.hook_count() == 8
        model(torch.randn(2, 3, 8, 8))
        with torch.no_grad():  # a lean forward (unsampled, grad off) takes the global pre-hook away for its duration
            for _ in range(3):
                model(torch.randn(2, 3, 8, 8))
        assert mon.hook_count() == 8
    assert _global_hook_counts() == before and mon.hook_count() == 0
    with pytest.raises(RuntimeError, match="boom"):
        with Monitor(model):
            model(torch.randn(2, 3, 8, 8))
            raise RuntimeError("boom")
    assert _global_hook_counts() == before
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks and not m._forward_pre_hooks_with_kwargs


def test_exception_inside_forward_unwinds_mode_and_keeps_working():
    class Fails(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.fail = True

        def forward(self, x):
            x = torch.sigmoid(self.fc(x))
            if self.fail:
                raise ValueError("bad batch")
            return x

    model = nn.Sequential(nn.Linear(4, 4), Fails())
    before = _global_hook_counts()
    with Monitor(model, every=1) as mon:
        with pytest.raises(ValueError):
            model(torch.randn(2, 4))
        assert torch._C._len_torch_function_stack() == 0  # the mode left with the failed forward
        model[1].fail = False
        model(torch.randn(2, 4))
        model(torch.randn(2, 4))
    assert _global_hook_counts() == before
    assert mon.forwards == 3 and not mon.internal_errors
    assert mon.profile().layers["1::torch.sigmoid"]["calls"] == 3


@dataclasses.dataclass
class _Out:
    hidden: torch.Tensor
    extra: int = 0


class _Multi(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.kind = kind

    def forward(self, x):
        h = self.fc(x)
        if self.kind == "tuple":
            return (h, h.argmax(-1))
        if self.kind == "dict":
            return {"ids": h.argmax(-1), "hidden": h}
        return _Out(h)


@pytest.mark.parametrize("kind", ["tuple", "dict", "dataclass"])
def test_structured_outputs_are_summarised(kind):
    model = _Multi(kind)
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(3, 4))
    root = mon.profile().layers[""]
    assert root["samples"] == 12 and not mon.internal_errors


@pytest.mark.parametrize("context", ["no_grad", "inference_mode", "autocast"])
def test_grad_modes_and_autocast(context):
    model = _net()
    ctx = {
        "no_grad": torch.no_grad,
        "inference_mode": torch.inference_mode,
        "autocast": lambda: torch.autocast("cpu", dtype=torch.bfloat16),
    }[context]
    with Monitor(model, every=1) as mon:
        with ctx():
            model(torch.randn(4, 3, 8, 8))
        train_steps(model, lambda: torch.randn(4, 3, 8, 8), steps=1)  # in-place updates after inference_mode
    assert not mon.internal_errors
    assert mon.profile().layers["5"]["calls"] == 2


def test_no_host_transfer_per_step(monkeypatch):
    """Per step the monitor must never call .item()/.tolist()/.cpu()/bool(tensor): all stays on device."""
    model = _net()
    with Monitor(model, every=1) as mon:
        train_steps(model, lambda: torch.randn(4, 3, 8, 8), steps=1)  # first forward builds layout caches

        def forbidden(*args, **kwargs):
            raise AssertionError("host transfer during a monitored step")

        for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__"):
            monkeypatch.setattr(torch.Tensor, name, forbidden)
        train_steps(model, lambda: torch.randn(4, 3, 8, 8), steps=3)
        model.eval()
        with torch.no_grad():
            model(torch.randn(4, 3, 8, 8))
        monkeypatch.undo()
    assert not mon.internal_errors
    assert mon.report().summary["sampled_forwards"] == 5


class _SeesHooks(nn.Module):
    """Records, while it runs, how many global forward hooks are registered."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.seen: list[int] = []
        self.seen_pre: list[int] = []

    def forward(self, x):
        self.seen.append(len(module_hooks._global_forward_hooks))
        self.seen_pre.append(len(module_hooks._global_forward_pre_hooks))
        return self.fc(x)


def test_unsampled_forwards_run_no_global_forward_hook():
    """Between samples only the global pre-hook runs: a global forward hook, even an empty one, costs
    torch's hook machinery on every module call. Sampled forwards still see every output."""
    model = nn.Sequential(_SeesHooks(), nn.Dropout(0.5))
    before = len(module_hooks._global_forward_hooks)
    with Monitor(model, every=4) as mon, torch.no_grad():
        model.eval()
        for _ in range(8):
            model(torch.randn(2, 4))
        after_forwards = len(module_hooks._global_forward_hooks)
        model.train()
        model(torch.randn(2, 4))  # a new context: sampled; the dropout runs in train mode at inference
    assert model[0].seen == [before + 1, before, before, before] * 2 + [before + 1]
    assert after_forwards == before and mon.sampled_forwards == 3 and mon.forwards == 9
    assert mon.report().by_kind("dropout-active-at-inference")  # read in the pre-hook
    assert "0.fc" in mon.profile().layers


def test_lean_forwards_run_no_global_hook_at_all():
    """An unsampled forward with gradients off runs without the global pre-hook too, so torch calls
    every layer without hook machinery; the Dropout's own pre-hook still counts every forward."""
    model = nn.Sequential(_SeesHooks(), nn.Dropout(0.5))
    pre = len(module_hooks._global_forward_pre_hooks)
    with Monitor(model, every=4) as mon:
        with torch.no_grad():  # model left in training mode: dropout active at inference, every forward
            for _ in range(8):
                model(torch.randn(2, 4))
        assert len(module_hooks._global_forward_pre_hooks) == pre + 1  # back between forwards
        train_steps(model, lambda: torch.randn(2, 4), steps=4)  # grad on: the pre-hook stays (eval-mode checks)
    assert model[0].seen_pre == [pre + 1, pre, pre, pre] * 2 + [pre + 1] * 4
    assert mon.forwards == 12 and mon.sampled_forwards == 3
    assert mon.report().by_kind("dropout-active-at-inference")[0].count == 8
    assert len(module_hooks._global_forward_pre_hooks) == pre


def test_eval_mode_part_found_on_every_training_step():
    """A part switched to eval mid-training changes no context, so the steps after it are unsampled:
    every one of them still finds the part in eval mode (training forwards keep the global pre-hook)."""
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.2)), nn.Linear(4, 2))
    with Monitor(model, every=16) as mon:
        train_steps(model, lambda: torch.randn(2, 4), steps=3)
        model[0].eval()  # by mistake: the root stays in training mode
        train_steps(model, lambda: torch.randn(2, 4), steps=5)
        model[0].train()
        train_steps(model, lambda: torch.randn(2, 4), steps=4)
    assert mon.sampled_forwards == 1
    found = mon.report().by_kind("train-in-eval-mode")
    assert len(found) == 1 and found[0].module == "0" and found[0].count == 5


def test_eval_mode_part_found_when_parts_are_also_called_alone():
    """A submodule called on its own (an auxiliary loss) begins forwards of its own; the model's layer
    left in eval mode is still found on every step."""

    class EncDec(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))
            self.dec = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))

        def forward(self, x):
            return self.dec(self.enc(x))

    model = EncDec()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with Monitor(model) as mon:
        model.dec.eval()  # by mistake, while training
        for _ in range(40):
            aux = model.enc(torch.randn(2, 4)).sum()
            out = model(torch.randn(2, 4)).sum()
            (aux + out).backward()
            opt.step()
            opt.zero_grad()
    assert mon.forwards == 80
    found = mon.report().by_kind("train-in-eval-mode")
    assert [(f.module, f.count) for f in found] == [("dec", 40)]


def test_copies_of_monitored_modules_work_and_are_not_monitored(tmp_path):
    """Per-module hooks live in the module: deepcopy (EMA, best-model snapshots) and torch.save of a
    monitored model or of a part with a Dropout must not try to copy the monitor (its lock)."""
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1)), nn.Linear(4, 2))
    with Monitor(model) as mon:
        model(torch.randn(2, 4))
        ema, part = copy.deepcopy(model), copy.deepcopy(model[0])
        torch.save(model[0], tmp_path / "part.pt")
        loaded = torch.load(tmp_path / "part.pt", weights_only=False)  # noqa: TL304 (a whole module, pickled by this test)
        with torch.no_grad():  # the copies' Dropouts run in training mode at inference: not this monitor's
            for m, x in ((ema, torch.randn(2, 4)), (part, torch.randn(2, 4)), (loaded, torch.randn(2, 4))):
                assert m(x).shape[0] == 2
    assert mon.forwards == 1 and not mon.report().findings
    assert torch.equal(loaded[0].weight, model[0][0].weight)
    for m in (*ema.modules(), *part.modules(), *loaded.modules()):
        for hook in (*m._forward_pre_hooks.values(), *m._forward_hooks.values()):
            assert hook.__self__ is not mon and not hook.__self__.attached  # an inert monitor, not this one
    with torch.no_grad():
        ema(torch.randn(2, 4))  # after detach too


def test_forward_interrupted_by_keyboard_interrupt_is_ended_by_the_next_one():
    """Ctrl-C in a notebook raises KeyboardInterrupt, for which torch runs no always_call hook: the
    next call of the model ends the interrupted forward, and monitoring goes on."""

    class Stoppable(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.drop, self.stop = nn.Linear(4, 4), nn.Dropout(0.5), False

        def forward(self, x):
            if self.stop:
                raise KeyboardInterrupt
            return self.drop(self.fc(x))

    model = Stoppable()
    pre = len(module_hooks._global_forward_pre_hooks)
    with Monitor(model) as mon, torch.no_grad():
        model(torch.randn(2, 4))
        model(torch.randn(2, 4))  # lean: the global pre-hook is away while it runs
        model.stop = True
        with pytest.raises(KeyboardInterrupt):
            model(torch.randn(2, 4))
        model.stop = False
        for _ in range(3):
            model(torch.randn(2, 4))
        assert len(module_hooks._global_forward_pre_hooks) == pre + 1
    assert mon.forwards == 6 and torch._C._len_torch_function_stack() == 0
    assert mon.report().by_kind("dropout-active-at-inference")[0].count == 5  # the interrupted one never ran it


def test_unregistered_module_counted_on_lean_forwards():
    """Found on a sampled forward, an unregistered module gets a pre-hook of its own, so it is still
    counted on forwards that run without the global pre-hook."""
    model = nn.Sequential(nn.Linear(8, 8), _Unregistered())
    with Monitor(model, every=4) as mon, torch.no_grad():
        for _ in range(10):
            model(torch.randn(2, 8))
    found = mon.report().by_kind("unregistered-module")
    assert len(found) == 1 and found[0].module == "1" and found[0].count == 20
    assert not model[1].layers[0]._forward_pre_hooks  # removed on exit


class _Unregistered(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(8, 8), nn.Linear(8, 8)]  # noqa: TL108 (planted: a plain list, not registered)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def test_every_subsamples_statistics_but_not_mode_checks():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    with Monitor(model, every=4) as mon, torch.no_grad():
        for _ in range(10):
            model(torch.randn(2, 4))  # noqa: TL103 (planted for the runtime monitor)
    assert mon.sampled_forwards == 3 and mon.profile().layers["0"]["calls"] == 3
    assert mon.report().by_kind("dropout-active-at-inference")[0].count == 10


def test_first_forward_of_a_new_context_is_sampled():
    """Switching from training to no_grad evaluation restarts the schedule, so short evaluations get statistics."""
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    with Monitor(model, every=100) as mon:
        train_steps(model, lambda: torch.randn(2, 4), steps=5)  # forward 0 sampled
        model.eval()
        with torch.no_grad():
            for _ in range(3):
                model(torch.randn(2, 4))  # the first of these is sampled
    assert mon.forwards == 8 and mon.sampled_forwards == 2


def test_large_activation_is_element_subsampled():
    model = nn.Sequential(nn.Linear(64, 4096))
    with Monitor(model, every=1, max_elements=1000) as mon, torch.no_grad():
        model(torch.randn(16, 64))
    assert 0 < mon.profile().layers["0"]["samples"] <= 1000


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_no_host_sync_per_step():
    model = _net().cuda()
    with Monitor(model, every=1, grad_every=1) as mon:  # gradient statistics on every step too
        train_steps(model, lambda: torch.randn(4, 3, 8, 8, device="cuda"), steps=1)  # layout caches
        model.eval()
        with torch.no_grad():
            model(torch.randn(4, 3, 8, 8, device="cuda"))
        model.train()
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            for _ in range(3):
                opt.zero_grad(set_to_none=True)
                model(torch.randn(4, 3, 8, 8, device="cuda")).sum().backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                model(torch.randn(4, 3, 8, 8, device="cuda"))
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert not mon.internal_errors
    summary = mon.report().summary
    assert summary["sampled_forwards"] == 6 and summary["sampled_optimizer_steps"] == 4
