"""torch.compile (issue 11, item 6): a monitored compiled model runs unchanged, and what stays observable is reported.

Compiled code calls no module hooks, so the layers inside a compiled region are not seen. What the
``torch.compile(model)`` wrapper's call still shows: the train/eval flags of the model's Dropout and
BatchNorm layers, the model's input and output (``"::<compiled>"``), and every gradient check (the
optimizer hooks). The report says so in a note. Graph breaks are counted with ``torch._dynamo.explain``.
"""

from __future__ import annotations

import io
import warnings

import pytest
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

from tensorlint.runtime import Monitor

from runtime_helpers import kinds

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch's note on global hooks and OptimizedModule


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        # no bias before the BatchNorm: it would cancel it (a real, tiny weight-update ratio)
        self.fc1, self.bn = nn.Linear(8, 16, bias=False), nn.BatchNorm1d(16)
        self.drop, self.fc2 = nn.Dropout(0.5), nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.bn(self.fc1(x)))))


class _Attention(nn.Module):
    """Functional ops the monitor's TorchFunctionMode watches in eager forwards: sdpa, gelu, dropout, softmax."""

    def __init__(self):
        super().__init__()
        self.qkv, self.out, self.norm = nn.Linear(16, 48), nn.Linear(16, 16), nn.LayerNorm(16)

    def forward(self, x):
        q, k, v = self.qkv(self.norm(x)).view(x.shape[0], x.shape[1], 3, 2, 8).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(x.shape)
        h = F.dropout(F.gelu(self.out(a)), 0.1, self.training)
        return torch.softmax(h, dim=-1)


def _compiled(model, backend):
    torch._dynamo.reset()
    return torch.compile(model, backend=backend)


# ---- runs, same outputs, no recompilation ------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["eager", "aot_eager", "inductor"])
def test_compiled_model_gives_the_same_outputs_and_reports_clean(backend):
    model = _Tiny().eval()
    x = torch.randn(4, 8)
    with torch.no_grad():
        eager = model(x)
        compiled = _compiled(model, backend)
        bare = compiled(x)  # compiles once, unmonitored
        with torch._dynamo.config.patch(error_on_recompile=True), Monitor(model, every=2) as mon:
            outs = [compiled(x) for _ in range(4)]  # sampled and unsampled forwards: no recompilation
    torch._dynamo.reset()
    assert all(torch.equal(o, bare) for o in outs)
    torch.testing.assert_close(bare, eager, rtol=1e-5, atol=1e-5)
    report = mon.report()
    assert not report.summary["internal_errors"] and report.findings == []
    assert report.summary["compiled_forwards"] == 4 and report.summary["sampled_forwards"] == 2
    assert "4 of 4 forwards ran through torch.compile" in report.summary["notes"][0]
    assert mon.profile().layers["::<compiled>"]["calls"] == 2  # the compiled output was profiled when sampled


def test_compiled_training_with_eager_evaluation_compiles_once():
    """Dynamo guards on the global hook dictionaries: a hook removed and registered again (the global
    forward hook of each sampled forward, the pre-hook of each lean eager forward) recompiled the model,
    and after ``recompile_limit`` graphs it ran eagerly. Once a compile wrapper is seen they stay put."""
    model = _Tiny()
    compiled = _compiled(model, "eager")
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(8, 8)
    with Monitor(model) as mon:
        compiled(x).sum().backward()  # the one compilation, while monitored
        with torch._dynamo.config.patch(error_on_recompile=True):
            for _ in range(40):  # sampled and unsampled compiled steps, eager no_grad forwards in between
                opt.zero_grad()
                compiled(x).sum().backward()
                opt.step()
                model.eval()
                with torch.no_grad():
                    model(x), model(x)
                model.train()
    torch._dynamo.reset()
    report = mon.report()
    assert not report.summary["internal_errors"] and report.summary["compiled_forwards"] == 41
    assert mon.forwards == 121 and not report.findings


def test_eager_fallback_inside_a_compiled_call_counts_a_layer_once():
    """When dynamo refuses to recompile, the wrapper's call runs its layers eagerly and their hooks fire:
    the Dropout was already checked by the wrapper's call, and is counted once per forward."""
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    compiled = _compiled(model, "eager")
    with torch._dynamo.config.patch(recompile_limit=1), Monitor(model, every=100) as mon:
        compiled(torch.randn(2, 4))  # grad on: compiled
        with torch.no_grad():
            for _ in range(4):
                compiled(torch.randn(2, 4))  # grad mode changed, recompilation refused: eager
    torch._dynamo.reset()
    assert mon.report().by_kind("dropout-active-at-inference")[0].count == 4


def test_eager_forwards_have_no_compile_note():
    model = _Tiny().eval()
    with Monitor(model) as mon, torch.no_grad():
        model(torch.randn(4, 8))
    assert mon.report().summary["notes"] == []


# ---- planted faults that stay observable under compile, each with its clean twin ------------------------------
@pytest.mark.parametrize("backend", ["eager", "aot_eager", "inductor"])
def test_nan_output_of_a_compiled_model_is_reported_and_says_compile_hides_the_layer(backend):
    found = {}
    for planted in (True, False):
        model = _Tiny().eval()
        if planted:
            with torch.no_grad():
                model.fc1.weight[0, 0] = float("nan")
        compiled = _compiled(model, backend)
        with Monitor(model) as mon, torch.no_grad():
            compiled(torch.randn(4, 8))
        found[planted] = mon.report()
    torch._dynamo.reset()
    (finding,) = found[True].findings
    assert (finding.kind, finding.module, finding.details.get("compiled")) == ("non-finite", "", True)
    assert "torch.compile" in finding.message and "without torch.compile" in finding.message
    assert found[False].findings == []


@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
def test_forgotten_eval_under_compile_names_the_dropout_and_batchnorm(backend):
    found = {}
    for planted in (True, False):
        model = _Tiny()
        model.train(planted)  # the fault: evaluation in training mode
        compiled = _compiled(model, backend)
        with Monitor(model) as mon, torch.no_grad():
            for _ in range(3):
                compiled(torch.randn(4, 8))
        found[planted] = mon.report()
    torch._dynamo.reset()
    assert kinds(found[True]) == {("batchnorm-train-at-inference", "bn"), ("dropout-active-at-inference", "drop")}
    assert found[False].findings == []


def test_training_in_eval_mode_under_compile():
    found = {}
    for planted in (True, False):
        model = _Tiny()
        model.train(not planted)  # the fault: optimizer steps after an evaluation left the model in eval mode
        compiled = _compiled(model, "aot_eager")
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        with Monitor(model) as mon:
            for _ in range(3):
                opt.zero_grad()
                compiled(torch.randn(8, 8)).pow(2).mean().backward()
                opt.step()
        found[planted] = mon.report()
    torch._dynamo.reset()
    assert ("train-in-eval-mode", "") in kinds(found[True], ("warning",))
    assert found[False].findings == []


def test_gradient_checks_see_a_compiled_model():
    """A layer left out of the optimizer: the optimizer hooks see it under compile."""
    found = {}
    for planted in (True, False):
        model = _Tiny()
        compiled = _compiled(model, "aot_eager")
        params = list(model.fc1.parameters()) + list(model.bn.parameters())
        opt = torch.optim.SGD(params if planted else model.parameters(), lr=0.01)
        with Monitor(model, grad_every=1) as mon:
            for _ in range(4):
                opt.zero_grad()
                compiled(torch.randn(8, 8)).pow(2).mean().backward()
                opt.step()
        found[planted] = mon.report()
    torch._dynamo.reset()
    assert ("unchanged-parameter", "fc2") in kinds(found[True])
    assert found[False].findings == []


class _ReturnsLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = self.fc(x)
        return {"loss": y.pow(2).mean(), "logits": y}


def test_compiled_model_returning_a_dict_records_its_loss():
    """The compiled wrapper's dict/ModelOutput output: its other tensors are watched and its loss recorded."""
    model = _ReturnsLoss()
    compiled = _compiled(model, "eager")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, every=1) as mon:
        for _ in range(4):
            opt.zero_grad()
            compiled(torch.randn(3, 8))["loss"].backward()
            opt.step()
    report = mon.report()
    torch._dynamo.reset()
    assert not report.summary["internal_errors"]
    assert mon._grads._loss_count == 4


def test_non_finite_model_input_under_compile_points_at_the_data():
    model = _Tiny().eval()
    compiled = _compiled(model, "eager")
    x = torch.randn(4, 8)
    x[1, 2] = float("nan")
    with Monitor(model) as mon, torch.no_grad():
        compiled(x)
    torch._dynamo.reset()
    (finding,) = mon.report().findings
    assert finding.kind == "non-finite" and "model's input was already NaN" in finding.message


# ---- graph breaks ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [_Tiny, _Attention], ids=["dropout-batchnorm", "sdpa-functional"])
@pytest.mark.parametrize("training", [False, True])
def test_monitor_adds_no_graph_and_no_graph_break(build, training):
    model = build().train(training)
    x = torch.randn(4, 8) if build is _Tiny else torch.randn(2, 5, 16)
    torch._dynamo.reset()
    bare = torch._dynamo.explain(model)(x)
    torch._dynamo.reset()
    with Monitor(model, every=1):
        monitored = torch._dynamo.explain(model)(x)
    torch._dynamo.reset()
    assert (monitored.graph_count, monitored.graph_break_count) == (bare.graph_count, bare.graph_break_count)
    assert bare.graph_break_count == 0


# ---- what the report says ------------------------------------------------------------------------------------
def test_report_prints_the_compile_note():
    model = _Tiny().eval()
    compiled = _compiled(model, "eager")
    with Monitor(model) as mon, torch.no_grad():
        compiled(torch.randn(4, 8))
    torch._dynamo.reset()
    out = io.StringIO()
    mon.report().print(Console(file=out, width=200, no_color=True))
    assert "nothing to report" in out.getvalue() and "note: 1 of 1 forwards ran through torch.compile" in out.getvalue()


def test_in_place_module_compile_is_said_to_be_unseen():
    model = _Tiny().eval()
    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.compile(backend="eager")
    with Monitor(model) as mon, torch.no_grad():
        model(torch.randn(4, 8))
    torch._dynamo.reset()
    notes = mon.report().summary["notes"]
    assert mon.forwards == 0 and any("model.compile() was called in place" in n for n in notes)
