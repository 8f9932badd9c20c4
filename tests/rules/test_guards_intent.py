"""Shared guard and intent semantics (semantics/guards.py, semantics/intent.py), and the
false-positive shapes from real training code they remove: TL101, TL102, TL204, TL205,
TL305, TL402, TL403 (issue 7). Every negative shape has a positive twin that still fires."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from lintutil import fix, lint
from tensorlint.diagnostics import Applicability
from tensorlint.engine import _Dispatch
from tensorlint.semantics import intent
from tensorlint.semantics.context import FileContext
from tensorlint.walk import Walker

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def rows(code: str, rule: str, **kwargs) -> list[int]:
    return [d.location.row for d in lint(HEADER + code, select=(rule,), **kwargs)]


def diagnostics(code: str, rule: str, **kwargs):
    return lint(HEADER + code, select=(rule,), **kwargs)


# ---------------------------------------------------------------------------------------
# the guard tracker
# ---------------------------------------------------------------------------------------


def _probe(source: str) -> dict[int, dict]:
    """What the guards say at each `probe(n)` call."""
    module = cst.parse_module(textwrap.dedent(source))
    ctx = FileContext("x.py", module)
    seen: dict[int, dict] = {}

    class Probe:
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "probe":
                guards = ctx.guards
                seen[int(node.args[0].value.value)] = {
                    "kinds": [(g.kind, g.holds) for g in guards.guards(node)],
                    "training": guards.implied_training(node),
                    "mode_aware": guards.training_guard(node) is not None,
                    "compat": guards.compat_fallback(node) is not None,
                }

    dispatch = _Dispatch(ctx, [Probe()])
    Walker(dispatch.enter_for, dispatch.leave_for).walk(module)
    return seen


def test_guards_if_else_elif_ternary_and_early_exit():
    seen = _probe(
        """
import torch
class Net(torch.nn.Module):
    def forward(self, x):
        probe(0)
        if self.training and self.p > 0:
            probe(1)
        else:
            probe(2)
        if not self.training:
            probe(3)
        elif x:
            probe(4)
        y = probe(5) if self.training else probe(6)
        while self.training or x:
            probe(7)
        if not self.training or self.p == 0:
            return x
        probe(8)
        def inner():
            probe(9)
        return probe(10)
"""
    )
    assert seen[0] == {"kinds": [], "training": None, "mode_aware": False, "compat": False}
    assert seen[1]["training"] is True and seen[1]["mode_aware"]
    assert seen[2]["training"] is None and seen[2]["mode_aware"]  # `a and b` false: nothing certain
    assert seen[3]["training"] is False
    assert seen[4]["training"] is True  # elif: `not self.training` was false
    assert seen[5]["training"] is True and seen[5]["kinds"] == [("ternary", True)]
    assert seen[6]["training"] is False
    assert seen[7]["mode_aware"] and seen[7]["training"] is None
    assert seen[8]["kinds"] == [("after-exit", False)] and seen[8]["training"] is True
    assert seen[9] == {"kinds": [], "training": None, "mode_aware": False, "compat": False}  # a new function
    assert seen[10]["training"] is True


def test_guards_try_except_and_version_checks():
    seen = _probe(
        """
import torch
try:
    probe(0)
except (AttributeError, ImportError):
    probe(1)
except ValueError:
    probe(2)
if hasattr(torch, "amp"):
    probe(3)
else:
    def old():
        probe(4)
if version.parse(torch.__version__) < version.parse("1.9"):
    probe(5)
if TORCH_GE_2_4:
    pass
else:
    probe(6)
if x > 0:
    probe(7)
try:
    pass
except:
    probe(8)
"""
    )
    assert [seen[i]["compat"] for i in range(9)] == [False, True, False, True, True, True, True, False, True]
    assert seen[0]["kinds"] == [("try", True)]
    assert seen[1]["kinds"] == [("except", True)]


# ---------------------------------------------------------------------------------------
# intent data
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("# MC dropout", True),
        ("# Monte Carlo dropout for uncertainty", True),
        ("# keep dropout on at test time", True),
        ("# dropout is applied even at inference time", True),
        ("# always drop", True),
        ("# apply dropout", False),
        ("# dropout during training", False),
        ("# regularisation", False),
    ],
)
def test_intent_always_on_comments(text, expected):
    assert intent.says_always_on(text) is expected


@pytest.mark.parametrize(
    "name, expected",
    [
        ("MCDropout", True),
        ("mc_forward", True),
        ("predict_mc", True),
        ("enable_dropout", True),
        ("AlwaysOnDropout", True),
        ("Prenet", True),
        ("DecoderPreNet", True),
        ("prenet", True),
        ("forward", False),
        ("McDonaldNet", False),
        ("mcmc_step", False),
    ],
)
def test_intent_always_on_names(name, expected):
    assert intent.name_says_always_on(name) is expected


def test_intent_known_idioms_are_data():
    assert "torch.optim.swa_utils.update_bn" in intent.TRAIN_MODE_INFERENCE_IDIOMS


# ---------------------------------------------------------------------------------------
# TL101 dropout-training-default
# ---------------------------------------------------------------------------------------


def test_tl101_under_a_training_guard_is_silent():
    code = """
class Net(nn.Module):
    def forward(self, x):
        if self.training:
            x = F.dropout(x, self.p)
        if self.training and self.p > 0:
            x = F.dropout(x, self.p)
        if not self.training:
            pass
        else:
            x = F.dropout(x, self.p)
        x = F.dropout(x, self.p) if self.training else x
        return x

class Early(nn.Module):
    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return F.dropout(x, self.p)
"""
    assert rows(code, "TL101") == []


def test_tl101_guard_twin_still_fires():
    # the same code without the guard, and a guard that is not about the mode
    code = """
class Net(nn.Module):
    def forward(self, x):
        if self.p > 0:
            x = F.dropout(x, self.p)
        return F.dropout(x, self.p)
"""
    assert rows(code, "TL101") == [8, 9]
    [first, _] = diagnostics(code, "TL101")
    assert first.fix.applicability is Applicability.SAFE


@pytest.mark.parametrize(
    "code",
    [
        # comment on the statement
        """
class Net(nn.Module):
    def forward(self, x):
        # MC dropout: active at inference too, for uncertainty estimates
        return F.dropout(x, self.p)
""",
        """
class Net(nn.Module):
    def forward(self, x):
        return F.dropout(x, self.p)  # keep dropout on even at test time
""",
        # comment inside the call
        """
class Net(nn.Module):
    def forward(self, x):
        return F.dropout(
            x,
            self.p,  # always on (Monte Carlo dropout)
        )
""",
        # comment on the enclosing block header
        """
class Net(nn.Module):
    def forward(self, x):
        for layer in self.layers:  # dropout is always applied here
            x = F.dropout(layer(x), self.p)
        return x
""",
        # the class says so
        """
class MCDropout(nn.Module):
    def forward(self, x):
        return F.dropout(x, self.p)
""",
        """
class Head(nn.Module):
    \"\"\"Classifier head whose dropout stays on even in eval mode (MC dropout).\"\"\"

    def forward(self, x):
        return F.dropout(x, self.p)
""",
        # the method says so
        """
class Net(nn.Module):
    def mc_forward(self, x):
        return F.dropout(x, self.p)
""",
    ],
)
def test_tl101_deliberately_always_on_is_silent(code):
    assert rows(code, "TL101") == []


def test_tl101_comment_twin_still_fires():
    # comments that do not say the dropout is meant to stay on
    code = """
class Net(nn.Module):
    \"\"\"A head that always returns logits.\"\"\"

    def forward(self, x):
        # regularisation during training
        x = F.dropout(x, self.p)
        return F.dropout(x, self.p)  # see the paper
"""
    assert rows(code, "TL101") == [10, 11]


def test_tl101_alpha_dropout_never_drops_even_with_an_always_comment():
    code = """
class Net(nn.Module):
    def forward(self, x):
        return F.alpha_dropout(x, self.p)  # always on
"""
    assert rows(code, "TL101") == [7]


# ---------------------------------------------------------------------------------------
# TL102 dropout-training-literal-true
# ---------------------------------------------------------------------------------------


def test_tl102_under_a_training_or_guard_is_silent():
    code = """
class BN(nn.BatchNorm2d):
    def forward(self, x):
        if self.training or not self.track_running_stats:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, True, self.momentum, self.eps)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)

class Drop(nn.Module):
    def forward(self, x):
        return F.dropout(x, self.p, training=True) if self.training or self.mc else x
"""
    assert rows(code, "TL102") == []


def test_tl102_training_guard_twin_still_fires():
    code = """
class BN(nn.BatchNorm2d):
    def forward(self, x):
        if not self.track_running_stats:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, True, self.momentum, self.eps)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, True, 0.0, self.eps)
"""
    assert rows(code, "TL102") == [8, 9]


def test_tl102_adain_throwaway_running_stats_are_silent():
    # reduced from NVlabs/MUNIT networks.py AdaptiveInstanceNorm2d
    code = """
class AdaptiveInstanceNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = None
        self.bias = None
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        b, c = x.size(0), x.size(1)
        running_mean = self.running_mean.repeat(b)
        running_var = self.running_var.repeat(b)
        x_reshaped = x.contiguous().view(1, b * c, *x.size()[2:])
        out = F.batch_norm(
            x_reshaped, running_mean, running_var, self.weight, self.bias,
            True, self.momentum, self.eps)
        inline = F.batch_norm(x_reshaped, torch.zeros(b * c), torch.ones(b * c), None, None, True)
        return out.view(b, c, *x.size()[2:])
"""
    assert rows(code, "TL102") == []


def test_tl102_adain_twin_with_persistent_or_view_statistics_fires():
    code = """
class AdaptiveInstanceNorm2d(nn.Module):
    def forward(self, x):
        b, c = x.size(0), x.size(1)
        running_mean = self.running_mean.view(-1)  # a view: updates reach the buffer
        out = F.batch_norm(x, running_mean, self.running_var.repeat(b), None, None, True)
        out = F.batch_norm(x, self.running_mean.repeat(b), self.running_var, None, None, True)
        return out
"""
    assert rows(code, "TL102") == [9, 10]


def test_tl102_always_on_intent_from_the_shared_helper():
    code = """
class MCDropout(nn.Module):
    def forward(self, x):
        return F.dropout(x, self.p, training=True)

class Net(nn.Module):
    def forward(self, x):
        return F.dropout(
            x,
            self.p,
            training=True,  # Monte Carlo dropout
        )

    def mc_predict(self, x):
        return F.dropout(x, 0.5, training=True)

    def plain(self, x):
        return F.dropout(x, 0.5, training=True)

class Prenet(nn.Module):
    # reduced from fairseq examples/textless_nlp/gslm/unit2speech/tacotron2/model.py
    def forward(self, x):
        for linear in self.layers:
            x = F.dropout(F.relu(linear(x)), p=0.5, training=True)
        return x
"""
    assert rows(code, "TL102") == [21]


# ---------------------------------------------------------------------------------------
# TL204 log-one-plus
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "pos = torch.arange(n)\ny = torch.log(pos + 1)\n",
        "y = torch.log(torch.arange(0, n, 2) + 1)\n",
        "y = torch.log(torch.bincount(labels) + 1)\n",
        "y = torch.log(labels.bincount().float() + 1)\n",
        "y = torch.log(x.long() + 1)\n",
        "y = torch.log(1 + x.int().float())\n",
        "y = torch.log(1.0 + (x > 0).sum(dim=1))\n",
        "mask = x > 0\ny = torch.log(mask.sum(-1).float() + 1)\n",
        "y = torch.log(counts + 1)\n",
        "y = torch.log(token_counts.float() + 1)\n",
        "y = torch.log(self.num_updates + 1)\n",
        "y = torch.log(x.shape[0] + 1)\n",
        "y = torch.log(x.round() + 1)\n",
        "y = torch.log(x.to(torch.long) + 1)\n",
        "y = torch.log(torch.arange(seq_len, dtype=torch.float32) + 1)\n",
        "y = torch.log(torch.arange(1, n + 1) + 1)\n",
        "n = counts.float()\nn = n.half() if half else n\ny = torch.log(n + 1)\n",
        # timm swin_transformer_v2_cr.py shape, with torch.meshgrid for timm's ndgrid
        (
            "c = torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w))).flatten(1)\n"
            "r = c[:, :, None] - c[:, None, :]\n"
            "r = r.permute(1, 2, 0).reshape(-1, 2).float()\n"
            "y = torch.sign(r) * torch.log(1.0 + r.abs())\n"
        ),
        "def f(lengths: torch.Tensor):\n    return (lengths + 1).log()\n",
    ],
)
def test_tl204_integer_valued_argument_is_silent(body):
    assert rows(body, "TL204") == []


@pytest.mark.parametrize(
    "body",
    [
        "y = torch.log(torch.arange(0, 1, 0.1) + 1)\n",  # float steps: not whole numbers
        "y = torch.log(torch.arange(0, 1, dt) + 1)\n",
        "y = torch.log(torch.arange(start, end) + 1)\n",
        "n = counts.float()\nn = n * 0.5\ny = torch.log(n + 1)\n",
        "y = torch.log(x.float() + 1)\n",  # x unknown
        "y = torch.log(x.sum(dim=1) + 1)\n",
        "y = torch.log(x.round(decimals=2) + 1)\n",
        "y = torch.log(pos_emb + 1)\n",
        "y = torch.log(x.clamp(0.5) .long().float() * 0.5 + 1)\n",
    ],
)
def test_tl204_integer_twins_still_fire(body):
    assert len(rows(body, "TL204")) == 1


@pytest.mark.parametrize(
    "before, after",
    [
        ("y = torch.log(1 + torch.exp(x))\n", "y = F.softplus(x)\n"),
        ("y = torch.log(torch.exp(a - b) + 1)\n", "y = F.softplus(a - b)\n"),
        ("y = torch.log(1 + x.exp())\n", "y = F.softplus(x)\n"),
        ("def f(x: torch.Tensor):\n    return (1 + x.exp()).log()\n", "def f(x: torch.Tensor):\n    return F.softplus(x)\n"),
    ],
)
def test_tl204_log_one_plus_exp_suggests_softplus_unsafe(before, after):
    [diag] = diagnostics(before, "TL204")
    assert "softplus" in diag.message and "log1p" not in diag.message
    assert diag.fix is not None and diag.fix.applicability is Applicability.UNSAFE
    assert "log1p" not in diag.fix.edits[0].content
    # not applied as a safe fix (F.softplus raises on integer tensors, where exp does not)
    assert fix(HEADER + before, select=("TL204",)) == HEADER + before
    assert fix(HEADER + before, select=("TL204",), unsafe=True) == HEADER + after


def test_tl204_softplus_spelled_with_the_files_imports():
    source = "import torch\ny = torch.log(1 + torch.exp(x))\n"
    assert fix(source, select=("TL204",), unsafe=True) == "import torch\ny = torch.nn.functional.softplus(x)\n"
    source = "from torch import log, exp\ny = log(1 + exp(x))\n"
    [diag] = lint(source, select=("TL204",))
    assert "softplus" in diag.message and diag.fix is None  # no name reaches F.softplus


def test_tl204_softplus_values():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = torch.tensor([-100.0, -5.0, 0.0, 5.0, 20.0, 100.0])
    naive = torch.log(1 + torch.exp(x))
    assert torch.isinf(naive[-1])  # overflow: the reason for the rule
    assert torch.isinf(torch.log1p(torch.exp(x))[-1])  # log1p(exp(x)) overflows too
    assert torch.allclose(F.softplus(x)[:-1], naive[:-1])
    assert F.softplus(x)[-1] == 100.0


# ---------------------------------------------------------------------------------------
# TL205 exp-minus-one
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "n = (torch.exp(pred) - 1).round()\n",
        "n = (torch.exp(pred) - 1).long()\n",
        "n = (torch.exp(pred) - 1).int()\n",
        "n = (torch.exp(pred) - 1).floor()\n",
        "n = (torch.exp(pred) - 1).ceil()\n",
        "n = (torch.exp(pred) - 1).to(torch.long)\n",
        "n = torch.round(torch.exp(pred) - 1)\n",
        "n = int(torch.exp(pred) - 1)\n",
        "n = round(torch.exp(pred) - 1)\n",
        "n = (torch.exp(pred) - 1).clamp(min=0).round()\n",
        "n = torch.clamp(torch.exp(pred) - 1, min=0).long()\n",
        "def f(pred: torch.Tensor):\n    return (pred.exp() - 1).round()\n",
        # fairseq fastspeech2.py: scaled, then rounded
        "n = torch.clamp(torch.round((torch.exp(pred) - 1) * d_factor).long(), min=0)\n",
        # fairseq emotion_conversion duration_predictor.py: rounded in the next statement
        "n = torch.exp(pred) - 1\nn = n.round()\n",
        "def f(yhat):\n    y = torch.exp(yhat) - 1\n    y = torch.round(y)\n    return y\n",
    ],
)
def test_tl205_rounded_right_away_is_silent(body):
    assert rows(body, "TL205") == []


@pytest.mark.parametrize(
    "body",
    [
        "n = (torch.exp(pred) - 1).float()\n",
        "n = (torch.exp(pred) - 1).round(decimals=3)\n",
        "n = torch.round(torch.exp(pred) - 1, decimals=3)\n",
        "n = (torch.exp(pred) - 1).sum().round()\n",  # summed first: the digits count
        "n = (torch.exp(pred) - 1).to(torch.float16)\n",
        "n = (torch.exp(pred) - 1) + (torch.exp(q) - 1).round()\n",  # only the second is rounded
        "n = torch.exp(pred) - 1\nn = n.float()\n",
        "n = torch.exp(pred) - 1\nm = n.round()\n",  # n itself is kept and used
        "n = torch.exp(pred) - 1\nprint(n)\nn = n.round()\n",
    ],
)
def test_tl205_rounding_twins_still_fire(body):
    assert rows(body, "TL205") == [4]


# ---------------------------------------------------------------------------------------
# TL305 deprecated-torch-api
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "try:\n    scaler = torch.amp.GradScaler('cuda')\nexcept (AttributeError, ImportError, TypeError):\n    scaler = torch.cuda.amp.GradScaler()\n",
        "try:\n    ctx = torch.amp.autocast('cuda')\nexcept AttributeError:\n    ctx = torch.cuda.amp.autocast()\n",
        "try:\n    q, r = torch.linalg.qr(a)\nexcept:\n    q, r = torch.qr(a)\n",
        "try:\n    x = torch.linalg.solve(a, b)\nexcept Exception:\n    x, _ = torch.solve(b, a)\n",
        "if hasattr(torch, 'amp'):\n    scaler = torch.amp.GradScaler('cuda')\nelse:\n    scaler = torch.cuda.amp.GradScaler()\n",
        "if version.parse(torch.__version__) >= version.parse('2.4'):\n    ctx = torch.amp.autocast('cuda')\nelse:\n    ctx = torch.cuda.amp.autocast()\n",
        "if TORCH_VERSION < (1, 9):\n    q, r = torch.qr(a)\n",
        "if not _TORCH_GREATER_EQUAL_2_4:\n    scaler = torch.cuda.amp.GradScaler()\n",
        "def qr(a):\n    if hasattr(torch.linalg, 'qr'):\n        return torch.linalg.qr(a)\n    return torch.qr(a)\n",
        "try:\n    from torch.amp import custom_fwd\nexcept ImportError:\n    def custom_fwd(f):\n        return torch.cuda.amp.custom_fwd(f)\n",
        "if not hasattr(torch, 'amp'):\n    @torch.cuda.amp.custom_fwd\n    def f(ctx, x):\n        return x\n",
    ],
)
def test_tl305_old_torch_fallback_is_silent(body):
    assert rows(body, "TL305") == []


@pytest.mark.parametrize(
    "body",
    [
        # the deprecated call in the `try` body, a handler for other errors, a plain `if`
        "try:\n    scaler = torch.cuda.amp.GradScaler()\nexcept AttributeError:\n    scaler = None\n",
        "try:\n    pass\nexcept ValueError:\n    scaler = torch.cuda.amp.GradScaler()\n",
        "if use_amp:\n    scaler = torch.cuda.amp.GradScaler()\n",
        # versions of other things are not torch version checks (fairseq fconv.py, test_ema.py)
        "if state_dict.get('decoder.version', torch.Tensor([1]))[0] < 2:\n    scaler = torch.cuda.amp.GradScaler()\n",
        "for key in keys:\n    if 'version' in key:\n        continue\n    scaler = torch.cuda.amp.GradScaler()\n",
        "if hasattr(m, 'weight'):\n    scaler = torch.cuda.amp.GradScaler()\n",
    ],
)
def test_tl305_fallback_twins_still_fire_with_a_safe_fix(body):
    [diag] = diagnostics(body, "TL305")
    assert diag.fix is not None and diag.fix.applicability is Applicability.SAFE


def test_tl305_fallback_is_never_rewritten():
    body = "try:\n    scaler = torch.amp.GradScaler('cuda')\nexcept AttributeError:\n    scaler = torch.cuda.amp.GradScaler()\n"
    assert fix(HEADER + body, select=("TL305",), unsafe=True) == HEADER + body


# ---------------------------------------------------------------------------------------
# TL403 clone-detach-order
# ---------------------------------------------------------------------------------------


def test_tl403_nothing_recorded_is_silent():
    code = """
class EMA(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.register_buffer("shadow", torch.zeros(3))
        self.register_buffer(name="steps", tensor=torch.zeros(()))
        self.stat = nn.Buffer(torch.ones(3))

    def snapshot(self, model, bn):
        a = self.shadow.clone().detach()
        b = self.steps.clone().detach()
        c = self.stat.clone().detach()
        d = model.weight.data.clone().detach()
        e = bn.running_mean.clone().detach()
        f = bn.running_var.clone().detach()
        with torch.no_grad():
            g = model.weight.clone().detach()
        return a

@torch.no_grad()
def copy_params(model):
    return [p.clone().detach() for p in model.parameters()]
"""
    assert rows(code, "TL403") == []


def test_tl403_nothing_recorded_twins_still_fire():
    code = """
class EMA(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("shadow", torch.zeros(3))
        self.weight = nn.Parameter(torch.ones(3))

    def snapshot(self, model, other):
        a = self.weight.clone().detach()
        b = model.weight.clone().detach()
        c = other.shadow.clone().detach()  # not this class's buffer
        with torch.no_grad():
            pass
        d = model.weight.clone().detach()
        return a
"""
    assert rows(code, "TL403") == [12, 13, 14, 17]


# ---------------------------------------------------------------------------------------
# TL402 dataloader-num-workers
# ---------------------------------------------------------------------------------------


def test_tl402_iterable_and_cuda_datasets_are_silent():
    code = """
from torch.utils.data import DataLoader, Dataset, IterableDataset
import webdataset as wds

class Stream(IterableDataset):
    def __iter__(self):
        yield from range(10)

class ShardedStream(Stream):
    pass

class Generator:
    def __iter__(self):
        yield 1

class OnGpu(Dataset):
    def __init__(self, x):
        self.x = x.cuda()

    def __getitem__(self, i):
        return self.x[i]

class OnGpuTo(Dataset):
    def __getitem__(self, i):
        return torch.randn(3, device="cuda")

a = DataLoader(Stream(), batch_size=4)
b = DataLoader(ShardedStream())
c = DataLoader(Generator())
ds = OnGpu(torch.randn(10, 3))
d = DataLoader(ds, batch_size=2)
e = DataLoader(dataset=OnGpuTo())
f = DataLoader(wds.WebDataset(urls))

# reduced from pytorch/examples language_translation/src/data.py
from torchtext.datasets import Multi30k
train_iterator = Multi30k(split="train", language_pair=("de", "en"))
g = DataLoader(train_iterator, batch_size=8)
"""
    assert rows(code, "TL402") == []


def test_tl402_dataset_twins_still_fire():
    code = """
from torch.utils.data import DataLoader, Dataset

class MapStyle(Dataset):
    def __getitem__(self, i):
        return torch.randn(3)

    def __len__(self):
        return 10

ds = MapStyle()
a = DataLoader(ds, batch_size=4)
b = DataLoader(MapStyle())
c = DataLoader(unknown_dataset)
"""
    assert rows(code, "TL402") == [15, 16, 17]
