"""Gradient and training-dynamics checks (issue 10): each planted fault found, its clean twin silent."""

from __future__ import annotations

import pytest
import torch
from runtime_helpers import only
from torch import nn

from tensorlint.runtime import Monitor


def _train(model, steps=6, lr=0.05, loss_scale=1.0, opt=None, mon_kwargs=None, x=None, observe=False):
    opt = opt or torch.optim.SGD(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    with Monitor(model, grad_every=1, **(mon_kwargs or {})) as mon:
        for _ in range(steps):
            opt.zero_grad()
            inp = torch.randn(16, 8, generator=gen, dtype=next(model.parameters()).dtype) if x is None else x
            loss = model(inp).pow(2).mean() * loss_scale
            loss.backward()
            if observe:
                mon.observe_loss(loss)
            opt.step()
    return mon.report()


def _mlp(depth=3, width=16, act=nn.Tanh):
    layers, cin = [], 8
    for _ in range(depth):
        layers += [nn.Linear(cin, width), act()]
        cin = width
    return nn.Sequential(*layers, nn.Linear(cin, 4))


GRAD_KINDS = ("non-finite-gradient", "vanishing-gradient", "exploding-gradient", "weight-update-ratio",
              "unchanged-parameter", "no-gradient", "loss")  # fmt: skip


def _grad_findings(report):
    return [f for f in report.findings if f.kind in GRAD_KINDS]


def test_clean_training_has_no_gradient_findings():
    report = _train(_mlp(), steps=8)
    assert not _grad_findings(report), report.findings
    assert report.summary["optimizer_steps"] == 8 and report.summary["sampled_optimizer_steps"] == 8


@pytest.mark.parametrize("scale,expected", [(1e-9, True), (1.0, False)])
def test_vanishing_gradient(scale, expected):
    report = _train(_mlp(), loss_scale=scale)
    found = report.by_kind("vanishing-gradient")
    assert bool(found) is expected
    if expected:
        assert len(found) == 1 and set(found[0].modules) == {"0", "2", "4", "6"}  # one row: one cause
        assert found[0].details["threshold"] == 1e-7


class _Amplify(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient (what an unstable recurrence does per step)."""

    @staticmethod
    def forward(ctx, x, gain):
        ctx.gain = gain
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.gain, None


class _Block(nn.Module):
    def __init__(self, gain: float):
        super().__init__()
        self.fc, self.gain = nn.Linear(8, 8), gain

    def forward(self, x):
        return torch.tanh(_Amplify.apply(self.fc(x), self.gain))


@pytest.mark.parametrize("gain,expected", [(10.0, True), (1.0, False)])
def test_exploding_gradient(gain, expected):
    torch.manual_seed(0)
    model = nn.Sequential(*[_Block(gain) for _ in range(6)], nn.Linear(8, 4))
    report = _train(model, steps=4, lr=1e-6)
    found = report.by_kind("exploding-gradient")
    assert bool(found) is expected
    if expected:
        assert found[0].module == "0.fc" and found[0].details["last_module"] == "6" and found[0].details["ratio"] > 70


class _NaNGradient(nn.Module):
    """Finite forward, NaN backward: d sqrt(s)/ds is inf at s = 0, times d(s)/dx = 0."""

    def __init__(self, planted: bool):
        super().__init__()
        self.planted = planted

    def forward(self, x):
        if not self.planted:
            return x
        return x / (1 + torch.sqrt((x * 0).pow(2).sum(-1, keepdim=True)))


@pytest.mark.parametrize("planted", [True, False])
def test_first_module_with_non_finite_gradient(planted):
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), _NaNGradient(planted), nn.Linear(16, 4))
    report = _train(model, steps=2, lr=0.0)
    found = report.by_kind("non-finite-gradient")
    if not planted:
        assert not found
        return
    f = only(report, "non-finite-gradient")
    assert f.module == "2" and f.details["step"] == 0 and not f.details["all_parameters"]
    assert f.severity == "error"
    assert "at optimizer step 0," in f.message, f.message  # an int, never "step 0.0"
    assert not report.by_kind("non-finite")  # the forward stayed finite


@pytest.mark.parametrize("lr,expected", [(1e-14, "small"), (0.01, None)])
def test_weight_update_ratio_small(lr, expected):
    model = _mlp().double()  # float32 would round such an update away entirely (see unchanged-parameter)
    report = _train(model, lr=lr)
    found = report.by_kind("weight-update-ratio")
    if expected is None:
        assert not found
        return
    assert len(found) == 1 and found[0].details["check"] == "small" and found[0].details["ratio"] < 1e-8


def test_weight_update_ratio_large():
    model = _mlp(act=nn.Identity)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e-3)
    report = _train(model, lr=1e4, steps=3)
    found = report.by_kind("weight-update-ratio")
    assert found and found[0].details["check"] == "large"


def test_unchanged_parameter_with_zero_learning_rate():
    model = _mlp()
    opt = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.0}, {"params": model[2:].parameters()}], lr=0.05)
    report = _train(model, opt=opt)
    f = only(report, "unchanged-parameter")
    assert f.modules == ["0"] and f.details["check"] == "unchanged"


def test_parameter_missing_from_the_optimizer():
    model = _mlp()
    opt = torch.optim.SGD(model[2:].parameters(), lr=0.05)  # the first layer was left out
    report = _train(model, opt=opt)
    f = only(report, "unchanged-parameter")
    assert f.modules == ["0"] and f.details["check"] == "missing-from-optimizer"


class _Unused(nn.Module):
    def __init__(self, use_head: bool):
        super().__init__()
        self.body, self.head, self.use_head = nn.Linear(8, 8), nn.Linear(8, 4), use_head

    def forward(self, x):
        return self.head(self.body(x)) if self.use_head else self.body(x)


@pytest.mark.parametrize("use_head", [False, True])
def test_parameters_that_never_get_a_gradient(use_head):
    report = _train(_Unused(use_head))
    found = report.by_kind("no-gradient")
    if use_head:
        assert not found
    else:
        assert len(found) == 1 and found[0].module == "head" and found[0].count == 6
        assert found[0].details["parameters"] == ["head.weight", "head.bias"]


def test_frozen_layer_is_not_reported():
    model = _mlp()
    for p in model[0].parameters():
        p.requires_grad_(False)
    report = _train(model, opt=torch.optim.SGD(model[2:].parameters(), lr=0.05))
    assert not _grad_findings(report)


class _WithLoss(nn.Module):
    def __init__(self, nan: bool):
        super().__init__()
        self.fc, self.nan = nn.Linear(8, 1), nan

    def forward(self, x):
        out = self.fc(x)
        loss = out.pow(2).mean()
        return {"logits": out, "loss": loss * float("nan") if self.nan else loss}


@pytest.mark.parametrize("nan", [True, False])
def test_nan_loss_returned_by_the_model(nan):
    model = _WithLoss(nan)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with Monitor(model) as mon:
        for _ in range(3):
            opt.zero_grad()
            model(torch.randn(4, 8))["loss"].backward()
            opt.step()
    found = mon.report().by_kind("loss")
    assert bool(found) is nan
    if nan:
        assert found[0].severity == "error" and found[0].details["nonfinite"] == 3


@pytest.mark.parametrize("lr,expected", [(0.0, True), (0.05, False)])
def test_loss_not_decreasing(lr, expected):
    x = torch.randn(16, 8)
    report = _train(_mlp(), steps=25, lr=lr, x=x, observe=True)
    found = report.by_kind("loss")
    assert bool(found) is expected
    if expected:
        assert found[0].severity == "info" and found[0].details["check"] == "not-decreasing"


@pytest.mark.parametrize("count", [5, 8, 20, 23])
def test_loss_history_keeps_the_first_window_and_the_latest(count):
    """Past ``loss_history`` the first ``loss_window`` losses stay and the rest are the latest, in order."""
    model = _mlp()
    with Monitor(model, loss_window=3, loss_history=8) as mon:
        for i in range(count):
            mon.observe_loss(torch.tensor(float(100 - i)))
    expected = [100.0 - i for i in range(count)] if count <= 8 else [100.0, 99.0, 98.0] + [100.0 - i for i in range(count - 5, count)]
    assert mon._grads._recorded_losses() == expected
    if count >= 6:  # the report reads its two windows off the same values
        report = mon.report()
        assert not report.by_kind("loss")  # it decreased
        with Monitor(model, loss_window=3, loss_history=8) as flat:
            for i in range(count):
                flat.observe_loss(torch.tensor(1.0 if i < 3 or i >= count - 3 else 0.0))
        found = only(flat.report(), "loss")
        assert found.details["first_mean"] == found.details["last_mean"] == 1.0 and found.details["recorded"] == count


def test_training_losses_keep_no_tensor_per_step():
    """Each step's loss was kept as its own small tensor (a view of the loss): with glibc's heap held
    steady that pinned memory among the activations, +1.8 MB of resident memory per GPT-2 step."""
    model = _WithLoss(nan=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with Monitor(model, grad_every=1) as mon:
        seen = []
        for step in range(40):
            opt.zero_grad()
            model(torch.randn(4, 8))["loss"].backward()
            opt.step()
            if step in (9, 39):
                seen.append(mon.tensor_count())
    assert seen[0] == seen[1]  # no tensor more per step
    assert mon._grads._loss_count == 40 and len(mon._grads._recorded_losses()) == 40


def test_gradient_checks_make_no_host_transfer(monkeypatch):
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        model(torch.randn(16, 8)).pow(2).mean().backward()
        opt.step()

    with Monitor(model, every=1, grad_every=1) as mon:
        step()  # layout caches

        def forbidden(*args, **kwargs):
            raise AssertionError("host transfer during a monitored step")

        for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__"):
            monkeypatch.setattr(torch.Tensor, name, forbidden)
        for _ in range(3):
            step()
        monkeypatch.undo()
    report = mon.report()
    assert not report.summary["internal_errors"] and report.summary["sampled_optimizer_steps"] == 4


def test_gradient_checks_can_be_turned_off():
    model = _Unused(False)
    report = _train(model, mon_kwargs={"grad_checks": False})
    assert not _grad_findings(report) and report.summary["optimizer_steps"] == 0


def test_one_nan_weight_in_training_gives_one_row_per_cause():
    """Issue 10 item 9: a NaN weight makes NaN activations, gradients and updates; report the causes only."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from resnet_helpers import ResNet18

    model = ResNet18()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with torch.no_grad():
        model.layer2[0].conv1.weight[0, 0, 0, 0] = float("nan")
    with Monitor(model, every=1, grad_every=1) as mon:
        for _ in range(3):
            opt.zero_grad()
            model(torch.randn(8, 3, 16, 16)).sum().backward()
            opt.step()
    report = mon.report()
    assert {f.kind for f in report.findings} == {"non-finite", "non-finite-gradient"}, report.findings
    assert only(report, "non-finite").module == "layer2.0.conv1"
    assert only(report, "non-finite-gradient").details["step"] == 0
