"""Every finding kind: a planted fault must be found at the right module, its clean twin must stay silent."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from runtime_helpers import kinds, only, train_steps
from torch import nn

from tensorlint.runtime import Monitor


def _mlp(act: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Linear(8, 32), act, nn.Linear(32, 4))


# ---- saturation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", [nn.Sigmoid(), nn.Tanh(), nn.Softsign(), nn.Hardtanh()])
def test_saturation_planted_module(act):
    model = _mlp(act)
    with torch.no_grad():
        model[0].weight.mul_(40)
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 8))
    f = only(mon.report(), "saturation")
    assert f.module == "1" and f.severity == "warning"
    assert f.details["fraction"] > 0.5 and f.details["threshold"] == 0.5


@pytest.mark.parametrize("act", [nn.Sigmoid(), nn.Tanh(), nn.Softsign(), nn.Hardtanh()])
def test_saturation_clean_twin(act):
    model = _mlp(act)
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 8))
    assert not mon.report().by_kind("saturation")


class _FunctionalGate(nn.Module):
    def __init__(self, scale: float):
        super().__init__()
        self.fc = nn.Linear(8, 16)
        self.scale = scale

    def forward(self, x):
        return torch.sigmoid(self.fc(x) * self.scale).softmax(dim=-1)


@pytest.mark.parametrize("scale,expected", [(60.0, True), (1.0, False)])
def test_saturation_functional_attributed_to_enclosing_module(scale, expected):
    model = nn.Sequential(_FunctionalGate(scale))
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(32, 8))
    found = mon.report().by_kind("saturation")
    assert bool(found) is expected
    if expected:
        assert found[0].module == "0" and found[0].details["function"] == "torch.sigmoid"


@pytest.mark.parametrize("temperature,expected", [(0.01, True), (1.0, False)])
def test_saturation_softmax_rows(temperature, expected):
    """A peaked softmax inside the network (attention-like weights feeding another layer)."""
    model = nn.Sequential(nn.Linear(8, 10), nn.Softmax(dim=-1), nn.Linear(10, 4))
    with torch.no_grad():
        model[0].weight.div_(temperature)
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(64, 8))
    assert bool(mon.report().by_kind("saturation")) is expected


class _ProbsClassifier(nn.Module):
    def __init__(self, functional: bool):
        super().__init__()
        self.fc, self.functional = nn.Linear(8, 10), functional
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x):
        logits = self.fc(x)
        return (F.softmax(logits, dim=-1) if self.functional else self.softmax(logits)), logits


@pytest.mark.parametrize("functional", [False, True])
def test_confident_classifier_output_softmax_is_not_saturation(functional):
    """Issue 10 item 8: a confident, correct classifier returns peaked probabilities by design."""
    model = _ProbsClassifier(functional)
    with torch.no_grad():
        model.fc.weight.mul_(100)
    with Monitor(model, every=1) as mon, torch.no_grad():
        probs, _ = model(torch.randn(64, 8))
    assert (probs.amax(-1) > 0.99).float().mean() > 0.5  # it really is peaked
    assert not mon.report().by_kind("saturation")


class _PeakedAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.out = nn.Linear(16, 16), nn.Linear(16, 16)

    def forward(self, x):
        q = self.q(x)
        return self.out(torch.softmax(q * 100, -1).sum(-1, keepdim=True).mul(q))  # weights used, then freed


class _PeakedInside(nn.Module):
    """A saturated softmax used and freed inside, then a fresh loss/logits dict returned."""

    def __init__(self):
        super().__init__()
        self.att, self.lm = _PeakedAttention(), nn.Linear(16, 8)

    def forward(self, x):
        logits = self.lm(self.att(x))
        return {"loss": logits.logsumexp(-1).mean(), "logits": logits}


def test_saturated_softmax_is_not_taken_for_the_model_output_that_reuses_its_id():
    """The flake in the hf_callback example (a saturated attention unreported in 2 of ~14 suite runs).

    A softmax result freed inside the forward leaves its ``id()`` free; the model's returned
    loss or logits often reuse it (in 5-28% of forwards in patterns like this one, measured),
    and the site was then taken for the model's own output and never reported as saturated.
    """
    torch.manual_seed(0)
    model = _PeakedInside()
    x = torch.randn(2, 5, 16)
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(100):
            model(x)
    found = mon.report().by_kind("saturation")
    assert [f.module for f in found] == ["att"] and found[0].details["function"] == "torch.softmax"


# ---- dead-units ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias,expected", [(-50.0, True), (0.0, False)])
def test_dead_units(bias, expected):
    model = _mlp(nn.ReLU())
    with torch.no_grad():
        model[0].bias.fill_(bias)
    with Monitor(model, every=1) as mon:
        train_steps(model, lambda: torch.randn(16, 8))
    found = mon.report().by_kind("dead-units")
    assert bool(found) is expected
    if expected:
        assert found[0].module == "1" and found[0].details["dead_units"] == 32 and found[0].details["units"] == 32


@pytest.mark.parametrize("distinct", [False, True])
def test_dead_units_needs_several_distinct_inputs(distinct):
    # One repeated input row says nothing about how often a unit is active: about half of a
    # freshly initialised ReLU layer is negative on any single input (20 of 32 units here).
    torch.manual_seed(13)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4)).eval()
    row = torch.randn(1, 8)
    gen = torch.Generator().manual_seed(1)
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(16):
            model(torch.randn(1, 8, generator=gen) if distinct else row.clone())
    layer = mon.profile().layers["1"]
    assert layer["units"] == 32
    if not distinct:
        assert layer["dead_fraction"] > 0.5  # what a single input row looks like
        assert not mon.report().by_kind("dead-units")
    else:
        assert layer["dead_fraction"] < 0.5 and not mon.report().by_kind("dead-units")


def test_dead_units_still_found_on_a_repeated_batch_of_distinct_rows():
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU())
    with torch.no_grad():
        model[0].bias.fill_(-50.0)
    batch = torch.randn(4, 8)  # 4 distinct rows, the minimum
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(3):
            model(batch)
    assert only(mon.report(), "dead-units").details["distinct_input_rows"] == 4
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(3):
            model(batch[:3])  # 3 distinct rows: too few to judge
    assert not mon.report().by_kind("dead-units")
    with Monitor(model, every=1) as mon, torch.inference_mode():
        model(batch)
        for _ in range(70):  # the ring of the latest 64 row fingerprints wraps: the 4 seen before still count
            model(batch[:1])
    assert only(mon.report(), "dead-units").details["distinct_input_rows"] == 4


def test_dead_units_counts_conv_channels_and_partial_death_is_silent():
    conv = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    with torch.no_grad():
        conv[0].bias[:3] = -100.0  # 3 of 8 channels dead: below the 50% layer threshold
    with Monitor(conv, every=1) as mon, torch.no_grad():
        conv(torch.randn(4, 3, 10, 10))
    layer = mon.profile().layers["1"]
    assert layer["units"] == 8 and layer["dead_units"] == 3
    assert not mon.report().by_kind("dead-units")
    with torch.no_grad():
        conv[0].bias[:6] = -100.0
    with Monitor(conv, every=1) as mon, torch.no_grad():
        conv(torch.randn(4, 3, 10, 10))
    assert only(mon.report(), "dead-units").details["dead_units"] == 6


def test_dead_units_functional_relu():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 16)

        def forward(self, x):
            return F.relu(self.fc(x) - 100.0)

    model = nn.Sequential(Block())
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(8, 8))
    f = only(mon.report(), "dead-units")
    assert f.module == "0" and f.details["examples"][:2] == [0, 1]


# ---- non-finite -------------------------------------------------------------------------------------------
class _LogAt(nn.Module):
    """log(x) from forward ``start`` on: NaN for negative inputs."""

    def __init__(self, start: int):
        super().__init__()
        self.calls, self.start = 0, start

    def forward(self, x):
        self.calls += 1
        return torch.log(x) if self.calls > self.start else x


@pytest.mark.parametrize("planted", [True, False])
def test_non_finite_first_module_and_forward(planted):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), _LogAt(2 if planted else 10**9), nn.Linear(8, 8), nn.Tanh())
    with torch.no_grad():
        model[0].bias.fill_(-0.5)
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(5):
            model(torch.randn(8, 4) - 1.0)
    found = mon.report().by_kind("non-finite")
    if not planted:
        assert not found
        return
    assert len(found) == 1
    f = found[0]
    assert f.module == "2" and f.severity == "error" and f.details["forward"] == 2
    assert f.details["later_layers"] >= 2  # the Linear, Tanh and the root also produced NaN


class _LogBetween(nn.Module):
    """A functional op in the forward itself, between two child calls, makes the NaN that ``b`` receives."""

    def __init__(self, planted: bool):
        super().__init__()
        self.a, self.b, self.planted = nn.Linear(4, 4), nn.Linear(4, 4), planted

    def forward(self, x):
        h = self.a(x) - 100.0
        return self.b(torch.log(h) if self.planted else torch.tanh(h))


@pytest.mark.parametrize("planted", [True, False])
def test_non_finite_made_by_functional_op_in_parent(planted):
    model = _LogBetween(planted)
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(16, 4))
    found = mon.report().by_kind("non-finite")
    if not planted:
        assert not found
        return
    f = only(mon.report(), "non-finite")
    assert f.module == "" and "`b`" in f.message and "root module" in f.message
    assert f.details["input_already_non_finite"] is True and f.details["child"] == "b"
    assert f.details["produced_in"] == "" and "" not in f.details["examples"]


class _LogBefore(nn.Module):
    def __init__(self, child: nn.Module):
        super().__init__()
        self.a, self.child = nn.Linear(4, 4), child

    def forward(self, x):
        return self.child(torch.log(self.a(x) - 100.0))


class _LogReLU(nn.ReLU):
    """A ReLU subclass that makes NaN itself: not taken for a plain ReLU."""

    def forward(self, x):
        return super().forward(x - 100.0).log() * 0 + torch.log(x - 100.0)


@pytest.mark.parametrize("child", [nn.Linear(4, 4), nn.ReLU(), nn.ReLU(inplace=True), nn.Tanh(), nn.Softmax(-1)])
def test_non_finite_entering_a_layer_that_only_passes_it_on(child):
    # ReLU, Tanh, Softmax... cannot make NaN from finite values: the monitor reads "its input was
    # already non-finite" from its output instead of summing its input, with the same answer.
    model = _LogBefore(child)
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(16, 4))
    f = only(mon.report(), "non-finite")
    assert f.module == "" and f.details["child"] == "child" and f.details["input_already_non_finite"] is True


def test_non_finite_made_by_a_relu_subclass_is_blamed_on_it():
    model = nn.Sequential(nn.Linear(4, 4), _LogReLU())
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(16, 4))
    f = only(mon.report(), "non-finite")
    assert f.module == "1" and "input_already_non_finite" not in f.details


@pytest.mark.parametrize("planted", [True, False])
def test_non_finite_made_in_nested_container_forward(planted):
    """The innermost enclosing forward is blamed, even when it is a container with no statistics of its own."""
    model = nn.Sequential(nn.Linear(4, 4), _LogBetween(planted), nn.Tanh())
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(2):
            model(torch.randn(16, 4))
    found = mon.report().by_kind("non-finite")
    if not planted:
        assert not found
        return
    f = only(mon.report(), "non-finite")
    assert f.module == "1" and f.details["child"] == "1.b" and f.details["forward"] == 0
    assert "`1.b`" in f.message and "`1`" in f.message
    assert "(root)" in f.details["examples"] and "" not in f.details["examples"]


class _LogInPlace(nn.Module):
    def forward(self, x):
        return x.log_()


def test_non_finite_in_place_module_keeps_the_blame():
    """Inputs are checked before the forward runs, so an in-place op does not shift the blame to its caller."""
    model = nn.Sequential(nn.Linear(4, 4), _LogInPlace(), nn.Linear(4, 4))
    with torch.no_grad():
        model[0].bias.fill_(-100.0)
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(8, 4))
    f = only(mon.report(), "non-finite")
    assert f.module == "1" and "input_already_non_finite" not in f.details
    assert "" not in f.details["examples"] and "(root)" in f.details["examples"]


def test_non_finite_model_input_is_blamed_on_the_data():
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    x = torch.randn(8, 4)
    x[3, 1] = float("nan")
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(x)
    f = only(mon.report(), "non-finite")
    assert f.module == "" and f.details["child"] == "0" and f.details["produced_in"] is None
    assert "model's input" in f.message


@pytest.mark.parametrize("context", ["grad", "no_grad", "inference_mode"])
@pytest.mark.parametrize("planted", [None, 3, 70])
def test_non_finite_input_sums_past_the_first_buffer_and_across_forwards(context, planted):
    """Input sums are written in place into a buffer the store keeps: more layers than it first holds
    make it grow mid-forward, and the next sampled forward reuses it; the blame stays exact."""
    layers = [m for _ in range(40) for m in (nn.Linear(4, 4), nn.Tanh())]  # 80 modules, 40 summed inputs
    model = nn.Sequential(*layers)
    mon = Monitor(model, every=1)
    ctx = {"grad": torch.enable_grad, "no_grad": torch.no_grad, "inference_mode": torch.inference_mode}[context]
    with mon:
        for step in range(3):
            if planted is not None and step == 1:
                with torch.no_grad():
                    model[2 * (planted // 2)].weight[0, 0] = float("nan")  # the Linear at or before ``planted``
            with ctx():
                model(torch.randn(8, 4))
    found = mon.report().by_kind("non-finite")
    if planted is None:
        assert not found
        return
    assert len(found) == 1
    f = found[0]
    assert f.module == str(2 * (planted // 2)) and f.details["forward"] == 1, f.details
    assert "input_already_non_finite" not in f.details


# ---- drift ----------------------------------------------------------------------------------------------------
def _drift_model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 8))


def _run(model, shift, reference=None, seed=2):
    gen = torch.Generator().manual_seed(seed)
    with Monitor(model, every=1, reference=reference) as mon, torch.no_grad():
        for _ in range(20):
            model(torch.randn(64, 16, generator=gen) + shift)
    return mon


def test_drift_planted_shift_vs_same_distribution(tmp_path):
    model = _drift_model()
    path = tmp_path / "ref.json"
    _run(model, 0.0, seed=1).profile().save(path)
    same = _run(model, 0.0, reference=str(path), seed=3).report()
    assert not same.by_kind("drift"), same.findings
    shifted = _run(model, 1.5, reference=str(path), seed=3).report()
    first = shifted.by_kind("drift")
    assert len(first) == 1 and first[0].severity == "warning"  # one data shift: one row
    assert first[0].module == "" and first[0].details["function"] == "<input>"  # the input itself is profiled
    assert "model's input" in first[0].message
    assert first[0].modules[:2] == ["", "0"] and first[0].details["psi"] >= 0.25
    assert isinstance(first[0].details["mean_shift_std"], float)  # pooled over units, so it may stay small


def test_profile_round_trip_is_json(tmp_path):
    model = _drift_model()
    prof = _run(model, 0.0).profile()
    path = tmp_path / "p.json"
    prof.save(path)
    text = path.read_text()
    assert text.lstrip().startswith("{")
    from tensorlint.runtime import Profile

    back = Profile.load(path)
    assert back.layers == prof.layers and back.meta == prof.meta
    assert set(back.layers) == {"0", "1", "2", "", "::<input>"}
    layer = back.layers["0"]
    assert layer["samples"] > 0 and layer["std"] > 0 and layer["min"] < layer["mean"] < layer["max"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"layers": {}}')
    with pytest.raises(ValueError):
        Profile.load(bad)


# ---- bn-stats-mismatch --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("eval_shift,expected", [(4.0, True), (0.0, False)])
def test_bn_stats_mismatch(eval_shift, expected):
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    with torch.no_grad():
        for _ in range(50):  # settle running statistics on the training distribution
            model(torch.randn(16, 3, 8, 8))
    model.eval()
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 3, 8, 8) * 1.0 + eval_shift)
    found = mon.report().by_kind("bn-stats-mismatch")
    assert bool(found) is expected
    if expected:
        assert found[0].module == "1" and found[0].details["mean_z"] > 1.0


# ---- dropout-active-at-inference ------------------------------------------------------------------------------------
class _FunctionalDropout(nn.Module):
    def __init__(self, mode: str):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.mode = mode

    def forward(self, x):
        x = self.fc(x)
        if self.mode == "default":  # the nanoGPT#240 bug: training defaults to True
            return F.dropout(x, 0.1)  # noqa: TL101
        if self.mode == "positional":
            return F.dropout(x, 0.1, True)  # noqa: TL102
        return F.dropout(x, p=0.1, training=self.training)


def test_dropout_module_active_under_no_grad():
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.2), nn.Linear(8, 2))
    with Monitor(model) as mon, torch.no_grad():
        model(torch.randn(4, 8))  # noqa: TL103 (planted for the runtime monitor)
    f = only(mon.report(), "dropout-active-at-inference")
    assert f.module == "1" and f.details["p"] == 0.2


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
@pytest.mark.parametrize("mode", ["default", "positional"])
def test_functional_dropout_attributed_to_innermost_module(mode, context):
    model = nn.Sequential(nn.Linear(8, 8), _FunctionalDropout(mode))
    model.eval()
    with Monitor(model) as mon, context():
        model(torch.randn(4, 8))
    f = only(mon.report(), "dropout-active-at-inference")
    assert f.module == "1" and f.details["function"] == "F.dropout"


@pytest.mark.parametrize("train", [True, False])
def test_dropout_clean_twins(train):
    """Training with grad, and eval under no_grad with training=self.training, are both fine."""
    model = nn.Sequential(nn.Dropout(0.2), _FunctionalDropout("correct"))
    with Monitor(model) as mon:
        if train:
            train_steps(model, lambda: torch.randn(4, 8))
        else:
            model.eval()
            with torch.no_grad():
                model(torch.randn(4, 8))
    assert not mon.report().findings


def test_allowlist_suppresses_intentional_dropout():
    class Prenet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            return F.dropout(self.fc(x), 0.5, training=True)  # Tacotron2 prenet: on at inference too

    model = nn.Module()
    model.decoder = nn.Module()
    model.decoder.prenet = nn.Sequential(Prenet())
    model.forward = lambda x: model.decoder.prenet(x)
    model.eval()
    allow = {"dropout-active-at-inference": ["decoder.prenet.*"]}
    with Monitor(model, allow=allow) as mon, torch.no_grad():
        model.decoder.prenet(torch.randn(2, 8))
    report = mon.report()
    assert not report.findings and report.summary["allowed"] == 1
    with Monitor(model) as mon, torch.no_grad():
        model.decoder.prenet(torch.randn(2, 8))
    assert only(mon.report(), "dropout-active-at-inference").module == "decoder.prenet.0"
    with pytest.raises(ValueError):
        Monitor(model, allow={"dropout-at-inference": ["x"]})


# ---- batchnorm-train-at-inference ------------------------------------------------------------------------------------
@pytest.mark.parametrize("eval_first,expected", [(False, True), (True, False)])
def test_batchnorm_train_at_inference(eval_first, expected):
    model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8))
    if eval_first:
        model.eval()
    with Monitor(model) as mon, torch.no_grad():
        model(torch.randn(16, 8))
    found = mon.report().by_kind("batchnorm-train-at-inference")
    assert bool(found) is expected
    if expected:
        assert found[0].module == "1" and found[0].severity == "error"


def test_functional_batch_norm_in_training_under_no_grad():
    class Norm(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.zeros(8))
            self.register_buffer("var", torch.ones(8))

        def forward(self, x):
            return F.batch_norm(x, self.mean, self.var, None, None, True)  # training passed positionally

    model = nn.Sequential(nn.Linear(8, 8), Norm())
    model.eval()
    with Monitor(model) as mon, torch.no_grad():
        model(torch.randn(16, 8))
    assert only(mon.report(), "batchnorm-train-at-inference").module == "1"


# ---- train-in-eval-mode --------------------------------------------------------------------------------------------------
def _net():
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))


def test_train_in_eval_mode_after_evaluate():
    model = _net()
    with Monitor(model) as mon:
        train_steps(model, lambda: torch.randn(16, 8), steps=2)
        model.eval()  # evaluate() ...
        with torch.no_grad():
            model(torch.randn(16, 8))
        train_steps(model, lambda: torch.randn(16, 8), steps=2)  # ... and training never called train()
    f = only(mon.report(), "train-in-eval-mode")
    assert f.module == "" and f.severity == "warning" and f.count == 2


def test_train_in_eval_mode_clean_twin():
    model = _net()
    with Monitor(model) as mon:
        train_steps(model, lambda: torch.randn(16, 8), steps=2)
        model.eval()
        with torch.no_grad():
            model(torch.randn(16, 8))
        model.train()
        train_steps(model, lambda: torch.randn(16, 8), steps=2)
    assert not mon.report().findings


def test_frozen_batchnorm_is_info():
    model = _net()
    model.train()
    model[1].eval()  # fastai BnFreeze: BN frozen, dropout still training
    with Monitor(model) as mon:
        train_steps(model, lambda: torch.randn(16, 8), steps=2)
    f = only(mon.report(), "train-in-eval-mode")
    assert f.module == "1" and f.severity == "info"


def test_eval_submodule_without_trained_params_is_silent():
    model = _net()
    model[1].eval()
    for p in model[1].parameters():
        p.requires_grad_(False)
    with Monitor(model) as mon:
        train_steps(model, lambda: torch.randn(16, 8), steps=2)
    assert not mon.report().by_kind("train-in-eval-mode")


# ---- batchnorm-small-batch --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sizes,severity",
    [([4] * 6, "warning"), ([32] * 6 + [1], "info"), ([32] * 6, None)],
    ids=["small", "ragged-last", "clean"],
)
def test_batchnorm_small_batch_counts_samples_not_positions(sizes, severity):
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))  # 4x8x8 = 256 values per channel
    with Monitor(model) as mon:
        sizes_iter = iter(sizes)
        train_steps(model, lambda: torch.randn(next(sizes_iter), 3, 8, 8), steps=len(sizes))
    found = mon.report().by_kind("batchnorm-small-batch")
    if severity is None:
        assert not found
        return
    assert len(found) == 1 and found[0].module == "1" and found[0].severity == severity
    assert found[0].details["smallest"] == min(sizes)


# ---- unregistered-module ----------------------------------------------------------------------------------------------------
class _Holder(nn.Module):
    def __init__(self, registered: bool):
        super().__init__()
        layers = [nn.Linear(8, 8), nn.Linear(8, 8)]
        self.layers = nn.ModuleList(layers) if registered else layers

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


@pytest.mark.parametrize("registered", [False, True])
def test_unregistered_module(registered):
    model = nn.Sequential(nn.Linear(8, 8), _Holder(registered))
    with Monitor(model) as mon, torch.no_grad():
        model(torch.randn(2, 8))
    found = mon.report().by_kind("unregistered-module")
    if registered:
        assert not found
    else:
        assert len(found) == 1 and found[0].module == "1" and found[0].details["class"] == "Linear"
        assert found[0].count == 2


def test_report_shape_and_dedup(tmp_path):
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5))
    with Monitor(model) as mon, torch.no_grad():
        for _ in range(5):
            model(torch.randn(2, 8))  # noqa: TL103 (planted for the runtime monitor)
    report = mon.report()
    f = only(report, "dropout-active-at-inference")
    assert f.count == 5 and isinstance(f.message, str) and f.message.endswith(".")
    data = report.to_dict()
    assert data["findings"][0]["kind"] == "dropout-active-at-inference"
    report.save_json(tmp_path / "r.json")
    import json

    assert json.loads((tmp_path / "r.json").read_text())["summary"]["forwards"] == 5
    assert kinds(report) == {("dropout-active-at-inference", "1")}


def test_module_tree_is_read_when_monitoring_starts():
    model = nn.Sequential(nn.Linear(8, 8))
    mon = Monitor(model)
    model.append(nn.Linear(8, 8))  # added after construction, before the with block
    with mon, torch.no_grad():
        model(torch.randn(2, 8))
    assert not mon.report().findings
    assert "1" in mon.profile().layers
