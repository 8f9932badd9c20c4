"""Right answers on real architectures (issue 10, items 4, 5, 6, 8)."""

from __future__ import annotations

import json

import pytest
import torch
from resnet_helpers import ResNet18
from runtime_helpers import only, train_steps
from torch import nn

from tensorlint.runtime import Monitor, Profile
from tensorlint.runtime.classify import module_activation
from tensorlint.runtime.profile import ProfileError


# ---- 8. wrong words ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", [nn.LeakyReLU(), nn.GELU(), nn.SiLU(), nn.ELU()])
def test_dead_units_message_for_leaky_family(act):
    model = nn.Sequential(nn.Linear(8, 32), act, nn.Linear(32, 4))
    with torch.no_grad():
        model[0].bias.fill_(-50.0)
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(16, 8))
    f = only(mon.report(), "dead-units")
    assert f.module == "1" and "pass no gradient" not in f.message
    assert type(act).__name__ in f.message and "use LeakyReLU" not in f.message


def test_dead_units_message_for_relu_keeps_the_advice():
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
    with torch.no_grad():
        model[0].bias.fill_(-50.0)
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(16, 8))
    f = only(mon.report(), "dead-units")
    assert "pass no gradient" in f.message and "LeakyReLU" in f.message


def test_pixel_unshuffle_is_not_an_activation():
    assert module_activation(nn.PixelUnshuffle(2)) is None
    assert module_activation(nn.PixelShuffle(2)) is None

    class NewGELUActivation(nn.Module):  # transformers' name: still recognised by its whole class name
        def forward(self, x):
            return nn.functional.gelu(x)

    assert module_activation(NewGELUActivation()).kind == "relu"
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.PixelUnshuffle(2))
    with torch.no_grad():
        model[0].bias.fill_(-100.0)  # all outputs negative: a "ReLU" reading would call them dead
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(2, 3, 8, 8))
    assert not mon.report().by_kind("dead-units")


class _PlainList(nn.Module):
    def __init__(self, registered: bool):
        super().__init__()
        layers = [nn.Linear(8, 8), nn.Dropout(0.3), nn.BatchNorm1d(8)]
        self.layers = nn.ModuleList(layers) if registered else layers

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


@pytest.mark.parametrize("registered", [False, True])
def test_plain_list_names_the_unregistered_module_first(registered):
    model = nn.Sequential(nn.Linear(8, 8), _PlainList(registered))
    model.eval()  # the user did call eval(): it just never reached the list
    with Monitor(model) as mon, torch.no_grad():
        model(torch.randn(16, 8))
    report = mon.report()
    if registered:
        assert not report.findings
        return
    first = report.findings[0]
    assert first.kind == "unregistered-module" and first.module == "1" and first.severity == "error"
    for f in report.findings[1:]:
        assert "call model.eval()" not in f.message and "unregistered" in f.message
    assert {f.kind for f in report.findings} >= {"dropout-active-at-inference", "batchnorm-train-at-inference"}


# ---- 4. bn-stats-mismatch on healthy models -----------------------------------------------------------------------
def _settled(model, make, steps=30):
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(make())
    return model.eval()


def test_bn_stats_pooled_over_the_whole_batch_matches_exact():
    torch.manual_seed(0)
    model = _settled(nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16)), lambda: torch.randn(32, 3, 32, 32))
    x = torch.randn(32, 3, 32, 32)
    x[0] *= 6.0  # one unusual first image: leading rows alone would call the statistics stale
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(x)
    layer = mon.profile().layers["1"]
    with torch.no_grad():
        h = model[0](x)
        bn = model[1]
        z = ((h.mean((0, 2, 3)) - bn.running_mean) / (bn.running_var + bn.eps).sqrt()).abs().mean().item()
    assert layer["bn_rows"] == 32
    assert abs(layer["bn_mean_z"] - z) < 0.1 and z < 0.3
    assert not mon.report().by_kind("bn-stats-mismatch")


@pytest.mark.parametrize("batches,expected", [(1, False), (4, True)])
def test_bn_stats_mismatch_needs_enough_rows(batches, expected):
    model = _settled(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU()), lambda: torch.rand(16, 3, 8, 8))
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(batches):
            model(torch.rand(8, 3, 8, 8) * 255.0)
    assert bool(mon.report().by_kind("bn-stats-mismatch")) is expected


def test_healthy_resnet_eval_has_no_bn_mismatch():
    torch.manual_seed(0)
    model = ResNet18()
    train_steps(model, lambda: torch.randn(32, 3, 16, 16), steps=20, lr=0.01)
    _settled(model, lambda: torch.randn(32, 3, 16, 16), steps=40)  # running statistics of the final weights
    with Monitor(model) as mon, torch.no_grad():
        for _ in range(20):
            model(torch.randn(32, 3, 16, 16))
    assert not mon.report().by_kind("bn-stats-mismatch"), mon.report().findings


# ---- 6. reused modules ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["layer1.0.conv2", "layer2.1.conv1", "layer3.0.downsample.0"])
def test_nan_weight_in_resnet_is_blamed_on_its_module(where):
    model = ResNet18().eval()
    with torch.no_grad():
        model.get_submodule(where).weight[0, 0, 0, 0] = float("nan")
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(4, 3, 16, 16))
    f = only(mon.report(), "non-finite")
    assert f.module == where and "input_already_non_finite" not in f.details, f.message


def test_dead_relu_in_a_reused_module_is_found():
    model = ResNet18().eval()
    with torch.no_grad():
        model.layer1[0].bn1.bias.fill_(-100.0)  # the first call of layer1.0.relu is dead, the second is not
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(torch.randn(8, 3, 16, 16))
    found = [f for f in mon.report().details if f.kind == "dead-units"]
    assert [f.module for f in found] == ["layer1.0.relu"]
    assert found[0].details["units"] == 8 and found[0].details["dead_units"] == 8


# ---- 5. drift quality ---------------------------------------------------------------------------------------------------
def _images(seed, shift=0.0, n=8):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(16, 3, 16, 16, generator=gen) + shift for _ in range(n)]


def _profile_run(model, batches, reference=None):
    with Monitor(model, every=1, reference=reference) as mon, torch.no_grad():
        for x in batches:
            model(x)
    return mon


def test_brightness_shift_on_resnet_is_flagged_at_the_input(tmp_path):
    torch.manual_seed(0)
    model = ResNet18()
    train_steps(model, lambda: torch.randn(16, 3, 16, 16), steps=5)
    model.eval()
    path = tmp_path / "ref.json"
    _profile_run(model, _images(1)).profile().save(path)
    same = _profile_run(model, _images(2), reference=str(path)).report()
    assert not same.by_kind("drift"), same.findings
    shifted = _profile_run(model, _images(2, shift=1.0), reference=str(path)).report()
    (row,) = shifted.by_kind("drift")
    assert row.module == "" and row.details["function"] == "<input>" and row.severity == "warning"


def test_drift_needs_enough_samples(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4))
    path = tmp_path / "ref.json"
    _profile_run(model, [torch.randn(64, 4) for _ in range(4)]).profile().save(path)
    few = _profile_run(model, [torch.randn(2, 4) + 3.0], reference=str(path)).report()
    assert not few.by_kind("drift")  # 8 values per layer: not enough to judge
    many = _profile_run(model, [torch.randn(64, 4) + 3.0 for _ in range(4)], reference=str(path)).report()
    assert many.by_kind("drift")


def test_profile_from_bare_model_matches_under_data_parallel(tmp_path):
    model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 8))
    path = tmp_path / "ref.json"
    _profile_run(model, [torch.randn(64, 16) for _ in range(8)]).profile().save(path)
    wrapped = nn.DataParallel(model)  # CPU only: DataParallel calls the module directly, names get "module."
    report = _profile_run(wrapped, [torch.randn(64, 16) + 2.0 for _ in range(8)], reference=str(path)).report()
    (row,) = report.by_kind("drift")
    assert "module.0" in row.modules
    clean = _profile_run(wrapped, [torch.randn(64, 16) for _ in range(8)], reference=str(path)).report()
    assert not clean.by_kind("drift")


def test_profile_from_a_different_architecture_is_refused(tmp_path):
    a = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
    b = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 8))  # same names, other shapes
    path = tmp_path / "ref.json"
    _profile_run(a, [torch.randn(8, 16)]).profile().save(path)
    with pytest.raises(ProfileError, match="different architecture.*`0`"):
        Monitor(b, reference=str(path))
    Monitor(a, reference=str(path))  # the same architecture is accepted


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[1, 2]",
        '{"meta": {"format": "tensorlint.runtime.profile/1"}}',
        '{"meta": {"format": "tensorlint.runtime.profile/1", "hist_bins": 480, "hist_range": 30.0, "hist_scale": 1e-6},'
        ' "layers": {"0": {"samples": 10, "calls": 1, "mean": 0.0, "std": 1.0, "hist": [[480, 3]]}}}',
        '{"meta": {"format": "tensorlint.runtime.profile/1", "hist_bins": 480, "hist_range": 30.0, "hist_scale": 1e-6},'
        ' "layers": {"0": {"samples": 10, "calls": 1, "mean": "x", "std": 1.0, "hist": []}}}',
        "\udcff",
    ],
    ids=["not-json", "list", "no-layers", "bin-out-of-range", "bad-mean", "bad-bytes"],
)
def test_profile_load_raises_one_exception_type(tmp_path, content):
    path = tmp_path / "bad.json"
    if content == "\udcff":
        path.write_bytes(b"\xff\xfe\x00garbage")
    else:
        path.write_text(content)
    with pytest.raises(ProfileError, match="bad.json"):
        Profile.load(path)
    with pytest.raises(ValueError):  # ProfileError is a ValueError
        Monitor(nn.Linear(2, 2), reference=str(path))
    with pytest.raises(ProfileError, match="missing.json"):
        Profile.load(tmp_path / "missing.json")


def test_saved_profile_loads_and_is_valid(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    path = tmp_path / "ok.json"
    _profile_run(model, [torch.randn(8, 4)]).profile().save(path)
    data = json.loads(path.read_text())
    assert data["meta"]["architecture"]["0"] == "Linear[4x4,4]"
    assert len(Profile.load(path)) == len(data["layers"])


@pytest.mark.parametrize("warmup,expected", [(5, False), (40, True)])
def test_bn_stats_mismatch_waits_for_running_statistics_to_settle(warmup, expected):
    """Early in training the running statistics still hold their initial 0/1: that is expected, not stale."""
    model = _settled(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)), lambda: torch.rand(16, 3, 8, 8) * 5, steps=warmup)
    with Monitor(model, every=1) as mon, torch.no_grad():
        for _ in range(4):
            model(torch.rand(16, 3, 8, 8) * 50.0)  # really shifted data
    found = mon.report().by_kind("bn-stats-mismatch")
    assert bool(found) is expected
    if expected:
        assert found[0].details["mean_z"] > 1.0


class _TokenModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(128, 8)
        self.fc = nn.Linear(8, 4)

    def forward(self, *, input_ids):  # keyword-only, as transformers models are called
        return self.fc(self.emb(input_ids))


def test_keyword_token_inputs_are_profiled_and_drift(tmp_path):
    model = _TokenModel().eval()
    gen = torch.Generator().manual_seed(0)

    def run(high, reference=None):
        with Monitor(model, every=1, reference=reference) as mon, torch.no_grad():
            for _ in range(6):
                model(input_ids=torch.randint(0, high, (8, 16), generator=gen))
        return mon

    ref = run(128)
    layer = ref.profile().layers["::<input>"]
    assert layer["samples"] == 6 * 128 and 0 <= layer["min"] and layer["max"] <= 127
    path = tmp_path / "tokens.json"
    ref.profile().save(path)
    assert not run(128, str(path)).report().by_kind("drift")
    (row,) = run(16, str(path)).report().by_kind("drift")  # a narrower vocabulary
    assert row.module == "" and row.details["function"] == "<input>"
