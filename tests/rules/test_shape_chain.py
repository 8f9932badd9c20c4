"""Model-structure rules on the static layer chain (issue #12): TL501 layer-size-mismatch,
TL502 linear-on-conv-output, TL503 norm-positional-eps, TL504 dropout-before-batchnorm,
TL505 linear-without-activation, TL506 doubled-activation, TL507 instance-norm-implicit-affine,
TL508 dropout-nd-rank."""

from __future__ import annotations

import textwrap

import pytest

from lintutil import codes, fix, lint

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def only(code: str, rule: str) -> list[str]:
    return codes(HEADER + textwrap.dedent(code), select=(rule,))


def lines(code: str, rule: str) -> list[int]:
    # line numbers inside the snippet (HEADER is 3 lines)
    return [d.location.row - 3 for d in lint(HEADER + textwrap.dedent(code), select=(rule,))]


def messages(code: str, rule: str) -> list[str]:
    return [d.message for d in lint(HEADER + textwrap.dedent(code), select=(rule,))]


# -- TL501 layer-size-mismatch: Sequential ---------------------------------------------------

MISMATCHES = [
    "nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(128, 10))",
    "nn.Sequential(nn.Linear(512, 256), nn.Dropout(0.1), nn.LayerNorm(256), nn.Linear(in_features=128, out_features=10))",
    "nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3))",
    "nn.Sequential(nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(128, 3, 4, 2, 1))",
    "nn.Sequential(nn.Embedding(1000, 64), nn.Linear(128, 2))",
    "nn.Sequential(*[nn.Linear(8, 16), nn.GELU(), nn.Linear(8, 4)])",
]


@pytest.mark.parametrize("expr", MISMATCHES)
def test_sequential_size_mismatch(expr):
    assert only(f"m = {expr}\n", "TL501") == ["TL501"]


def test_symbolic_sizes_are_normalised():
    code = """
    def mlp(d, h):
        ok = nn.Sequential(nn.Linear(d, 4 * h), nn.GELU(), nn.Linear(h * 4, d))
        bad = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(d, d))
        bad2 = nn.Sequential(nn.Linear(d, d + 1), nn.Linear(d, d))
        return ok, bad, bad2
    """
    assert lines(code, "TL501") == [4, 5]
    assert "`2 * d`" in messages(code, "TL501")[0]


def test_local_literal_size():
    code = """
    hidden = 64
    m = nn.Sequential(nn.Linear(10, hidden), nn.ReLU(), nn.Linear(32, 1))
    """
    assert only(code, "TL501") == ["TL501"]


NOT_PROVABLE = [
    # different names may be equal
    "def f(a, b):\n    return nn.Sequential(nn.Linear(10, a), nn.ReLU(), nn.Linear(b, 1))",
    # matching sizes
    "m = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Dropout(), nn.Linear(20, 1))",
    # a Flatten / unknown layer between ends the chain
    "m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(128, 10), nn.ReLU(), nn.Linear(10, 2))",
    "class Act(nn.Module):\n    pass\nm = nn.Sequential(nn.Linear(4, 8), Act(), nn.Linear(16, 2))",
    # a conv chain through a layer that changes channels
    "m = nn.Sequential(nn.Conv2d(3, 16, 3), nn.PixelShuffle(2), nn.Conv2d(4, 8, 3))",
    # lazy layers infer their input size
    "m = nn.Sequential(nn.Linear(10, 20), nn.LazyLinear(5))",
    # products of names are not compared
    "def f(a, b):\n    return nn.Sequential(nn.Linear(10, a * b), nn.Linear(b * a, 1))",
    # pooling keeps a conv's channels but not a Linear's features
    "m = nn.Sequential(nn.Linear(10, 20), nn.MaxPool1d(2), nn.Linear(10, 1))",
    # *layers built elsewhere: nothing known across them
    "def f(layers):\n    return nn.Sequential(nn.Linear(10, 20), *layers, nn.Linear(5, 1))",
    # Conv2d then Conv1d: different dimensionality, not compared
    "m = nn.Sequential(nn.Conv2d(3, 16, 3), nn.Conv1d(8, 8, 3))",
]


@pytest.mark.parametrize("code", NOT_PROVABLE)
def test_sequential_not_provable_is_silent(code):
    assert only(code + "\n", "TL501") == []


# -- TL501: forward chains -----------------------------------------------------------------

NET = """
class Net(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc1 = nn.Linear(d, 128)
        self.fc2 = nn.Linear({fc2}, 10)
        self.conv1 = nn.Conv2d(3, 32, 3)
        self.conv2 = nn.Conv2d({conv2}, 64, 3)

    def forward(self, x):
{body}
"""


def net(body: str, fc2="64", conv2="16") -> str:
    return NET.format(fc2=fc2, conv2=conv2, body=textwrap.indent(textwrap.dedent(body), " " * 8))


def test_forward_statement_chain():
    code = net("""
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        return x
    """)
    found = messages(code, "TL501")
    assert len(found) == 1 and "`self.fc2`" in found[0] and "`self.fc1`" in found[0]


def test_forward_nested_and_return():
    assert only(net("return self.fc2(F.relu(self.fc1(x)))"), "TL501") == ["TL501"]
    assert only(net("x = self.conv1(x)\nreturn self.conv2(x)"), "TL501") == ["TL501"]


@pytest.mark.parametrize(
    "body",
    [
        # another statement between the two layers
        "x = self.fc1(x)\nx = x.view(x.size(0), -1)\nx = self.fc2(x)\nreturn x",
        # a different variable
        "h = self.fc1(x)\nx = self.fc2(x)\nreturn h + x",
        # the sizes agree
        "x = self.fc1(x)\nreturn self.fc2(x)",
        # in separate branches
        "if x is None:\n    x = self.fc1(x)\nx = self.fc2(x)\nreturn x",
    ],
)
def test_forward_broken_chain_is_silent(body):
    fc2 = "128" if "return self.fc2(x)" in body and "h" not in body else "64"
    assert only(net(body, fc2=fc2), "TL501") == []


def test_forward_layer_reassigned_elsewhere_is_silent():
    code = net("x = self.fc1(x)\nreturn self.fc2(x)") + textwrap.indent(
        textwrap.dedent("""
        def reset_head(self, n):
            self.fc2 = nn.Linear(128, n)
        """),
        "    ",
    )
    assert only(code, "TL501") == []


def test_forward_size_name_rebound_in_init_is_silent():
    code = """
    class Net(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.fc1 = nn.Linear(d, 2 * d)
            d = d * 2
            self.fc2 = nn.Linear(d, 10)

        def forward(self, x):
            return self.fc2(self.fc1(x))
    """
    assert only(code, "TL501") == []


# -- TL502 linear-on-conv-output -------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Linear(16, 10))",
        "nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.Linear(16, 10))",
        "nn.Sequential(nn.Conv3d(3, 16, 3), nn.Linear(16, 10))",
    ],
)
def test_linear_on_conv_output(expr):
    assert only(f"m = {expr}\n", "TL502") == ["TL502"]


@pytest.mark.parametrize(
    "expr",
    [
        "nn.Sequential(nn.Conv2d(3, 16, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))",
        # Linear over the length of (N, C, L) can be meant
        "nn.Sequential(nn.Conv1d(3, 16, 3), nn.ReLU(), nn.Linear(16, 10))",
        # an unknown module between
        "nn.Sequential(nn.Conv2d(3, 16, 3), Reshape(), nn.Linear(16, 10))",
        # Upsample's output rank is not known from its name
        "nn.Sequential(nn.Upsample(scale_factor=2), nn.Linear(16, 10))",
    ],
)
def test_linear_on_conv_output_negatives(expr):
    assert only(f"m = {expr}\n", "TL502") == []


def test_linear_on_conv_output_forward():
    bad = net("x = self.conv1(x)\nx = F.relu(x)\nreturn self.fc1(x)")
    good = net("x = self.conv1(x)\nx = torch.flatten(x, 1)\nreturn self.fc1(x)")
    assert only(bad, "TL502") == ["TL502"]
    assert only(good, "TL502") == []


# -- TL503 norm-positional-eps ---------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "nn.BatchNorm2d(128, 0.8)",
        "nn.BatchNorm1d(256, 0.8)",
        "nn.SyncBatchNorm(64, 0.1)",
        "nn.InstanceNorm2d(64, 0.5)",
        "nn.GroupNorm(32, 64, 0.1)",
        "nn.LayerNorm(512, 0.1)",
        "nn.BatchNorm2d(64, 1e-5, 0.0)",
        "nn.BatchNorm2d(64, 1e-5, 1.5)",
        "torch.nn.BatchNorm3d(8, 0.8, affine=True)",
        "nn.BatchNorm2d(8, -1e-5)",
    ],
)
def test_positional_eps(expr):
    assert only(f"m = {expr}\n", "TL503") == ["TL503"]


@pytest.mark.parametrize(
    "expr",
    [
        "nn.BatchNorm2d(128, momentum=0.8)",  # keyword: the author's explicit choice
        "nn.BatchNorm2d(128, eps=0.1)",
        "nn.BatchNorm2d(128, 1e-3, 0.01)",
        "nn.BatchNorm2d(128, 1e-5, None)",
        "nn.BatchNorm2d(128, 0.001, 1)",
        "nn.LayerNorm(512, 1e-6)",
        "nn.GroupNorm(32, 64)",
        "nn.BatchNorm2d(*args)",
        "nn.BatchNorm2d(128, eps)",  # not a literal
        "nn.Dropout(0.8, True)",  # no eps/momentum
        "nn.LocalResponseNorm(2, 0.5)",  # alpha, not eps
    ],
)
def test_positional_eps_negatives(expr):
    code = f"eps = 0.5\nargs = (1,)\nm = {expr}\n"
    assert only(code, "TL503") == []


def test_positional_eps_message_names_the_parameter():
    (message,) = messages("m = nn.BatchNorm1d(64, 0.8)\n", "TL503")
    assert "is `eps`, not `momentum`" in message and "eps=0.8" in message
    (message,) = messages("m = nn.GroupNorm(8, 64, 0.2)\n", "TL503")
    assert "is `eps`" in message and "momentum" not in message


def test_positional_eps_has_no_fix():
    source = "import torch.nn as nn\nm = nn.BatchNorm2d(128, 0.8)\n"
    assert fix(source, select=("TL503",), unsafe=True) == source


# -- TL504 dropout-before-batchnorm ----------------------------------------------------------


def test_dropout_before_batchnorm():
    assert only("m = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))\n", "TL504") == ["TL504"]
    assert only("m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Dropout2d(0.2), nn.BatchNorm2d(8))\n", "TL504") == ["TL504"]


@pytest.mark.parametrize(
    "expr",
    [
        "nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5))",
        "nn.Sequential(nn.Dropout(0.5), nn.Linear(8, 8), nn.BatchNorm1d(8))",
        "nn.Sequential(nn.Dropout(0.5), nn.LayerNorm(8))",  # no running statistics
    ],
)
def test_dropout_before_batchnorm_negatives(expr):
    assert only(f"m = {expr}\n", "TL504") == []


# -- TL505 linear-without-activation ---------------------------------------------------------


def test_linear_without_activation():
    assert only("m = nn.Sequential(nn.Linear(784, 256), nn.Linear(256, 10))\n", "TL505") == ["TL505"]
    assert only("m = nn.Sequential(nn.Linear(784, 256), nn.Dropout(), nn.Linear(256, 10))\n", "TL505") == ["TL505"]


@pytest.mark.parametrize(
    "expr",
    [
        "nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))",
        "nn.Sequential(nn.Linear(784, 256), nn.LayerNorm(256), nn.Linear(256, 10))",
        "nn.Sequential(nn.Linear(784, 10))",
        "nn.Sequential(nn.Linear(784, 256), Swish(), nn.Linear(256, 10))",
    ],
)
def test_linear_without_activation_negatives(expr):
    assert only(f"m = {expr}\n", "TL505") == []


def test_linear_without_activation_said_to_be_a_linear_model():
    # Atcold/NYU-DLSP20 04-spiral_classification: the linear baseline is built on purpose
    code = (
        "# nn package to create our linear model\n"
        "model = nn.Sequential(\n"
        "    nn.Linear(D, H),\n"
        "    nn.Linear(H, C)\n"
        ")\n"
    )
    assert only(code, "TL505") == []
    assert only(code.replace("nn.Linear(H, C)", "nn.Linear(H, C)  # linear baseline, no activation"), "TL505") == []
    # twins, each reported: a comment that says nothing about linearity, or none at all
    for twin in (code.replace("our linear model", "our model"), code.split("\n", 1)[1]):
        assert twin != code
        assert only(twin, "TL505") == ["TL505"], twin


def test_linear_without_activation_is_off_by_default():
    from tensorlint.rules.linear_without_activation import LinearWithoutActivation

    assert LinearWithoutActivation.default_enabled is False


# -- TL506 doubled-activation ----------------------------------------------------------------


def test_doubled_activation():
    assert only("m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.ReLU(inplace=True))\n", "TL506") == ["TL506"]
    assert "squeezes" in messages("m = nn.Sequential(nn.Tanh(), nn.Tanh())\n", "TL506")[0]


@pytest.mark.parametrize(
    "expr",
    [
        "nn.Sequential(nn.ReLU(), nn.Linear(4, 4), nn.ReLU())",
        "nn.Sequential(nn.ReLU(), nn.Sigmoid())",  # different activations
        "nn.Sequential(nn.Identity(), nn.Identity())",
    ],
)
def test_doubled_activation_negatives(expr):
    assert only(f"m = {expr}\n", "TL506") == []


def test_doubled_activation_across_unknown_layers_is_silent():
    code = "def f(extra):\n    return nn.Sequential(nn.ReLU(), *extra, nn.ReLU())\n"
    assert only(code, "TL506") == []
    # an empty list literal really puts the two side by side
    assert only("extra = []\nm = nn.Sequential(nn.ReLU(), *extra, nn.ReLU())\n", "TL506") == ["TL506"]


# -- TL507 instance-norm-implicit-affine -----------------------------------------------------


def test_instance_norm_implicit_affine():
    assert only("n = nn.InstanceNorm2d(64)\n", "TL507") == ["TL507"]
    assert only("n = nn.InstanceNorm1d(64, eps=1e-5)\n", "TL507") == ["TL507"]


@pytest.mark.parametrize(
    "expr",
    [
        "nn.InstanceNorm2d(64, affine=True)",
        "nn.InstanceNorm2d(64, affine=False)",
        "nn.InstanceNorm2d(64, 1e-5, 0.1, True)",  # affine by position
        "nn.InstanceNorm2d(64, **kw)",
        "nn.BatchNorm2d(64)",
    ],
)
def test_instance_norm_implicit_affine_negatives(expr):
    assert only(f"kw = {{}}\nn = {expr}\n", "TL507") == []


# -- TL508 dropout-nd-rank -------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Dropout2d(0.5))",
        "nn.Sequential(nn.Linear(512, 256), nn.Dropout3d(0.5))",
        "nn.Sequential(nn.Conv1d(4, 8, 3), nn.Dropout2d(0.5))",
        "nn.Sequential(nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Dropout1d(0.5))",
        "nn.Sequential(nn.MaxPool3d(2), nn.Dropout2d(0.5))",
    ],
)
def test_dropout_nd_rank(expr):
    assert only(f"m = {expr}\n", "TL508") == ["TL508"]


@pytest.mark.parametrize(
    "expr",
    [
        "nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.5))",
        "nn.Sequential(nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Dropout2d(0.5))",
        "nn.Sequential(nn.Conv1d(4, 8, 3), nn.Dropout1d(0.5))",
        "nn.Sequential(nn.Linear(512, 256), nn.Dropout1d(0.5))",  # (N, C, L) from a Linear can be meant
        "nn.Sequential(nn.Linear(4, 8), Unflatten(), nn.Dropout2d(0.5))",
        "nn.Sequential(nn.Linear(4, 64), nn.Unflatten(1, (4, 4, 4)), nn.Dropout2d(0.5))",
    ],
)
def test_dropout_nd_rank_negatives(expr):
    assert only(f"m = {expr}\n", "TL508") == []


def test_dropout_nd_rank_forward():
    code = """
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            self.drop = nn.Dropout2d(0.3)

        def forward(self, x):
            x = self.fc(x)
            return self.drop(x)
    """
    assert only(code, "TL508") == ["TL508"]


# -- TL509 zero-weight-before-relu -----------------------------------------------------------

ZERO_INIT = """
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.out = nn.Linear(16, 16)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3))
        {init}

    def forward(self, x):
        h = F.relu(self.fc(x))
        return x + self.out(h) + self.body(x).mean()
"""


@pytest.mark.parametrize(
    "init",
    [
        "nn.init.zeros_(self.fc.weight)",
        "nn.init.constant_(self.fc.weight, 0.0)",
        "torch.nn.init.constant_(self.fc.weight, val=0)",
        "self.fc.weight.data.zero_()",
        "self.fc.weight.data.fill_(0)",
        "self.body[0].weight.data.zero_()",
    ],
)
def test_zero_weight_before_relu(init):
    assert only(ZERO_INIT.format(init=init), "TL509") == ["TL509"]


@pytest.mark.parametrize(
    "init",
    [
        "nn.init.zeros_(self.fc.bias)",  # a bias
        "nn.init.zeros_(self.out.weight)",  # feeds a residual sum: the usual zero-init
        "nn.init.constant_(self.fc.weight, 1.0)",
        "nn.init.kaiming_normal_(self.fc.weight)",
        "self.body[2].weight.data.zero_()",  # the last layer of the Sequential
        "self.fc.weight.data.fill_(0.5)",
    ],
)
def test_zero_weight_before_relu_negatives(init):
    assert only(ZERO_INIT.format(init=init), "TL509") == []


def test_zero_weight_layer_reassigned_is_silent():
    code = ZERO_INIT.format(init="nn.init.zeros_(self.fc.weight)") + textwrap.indent(
        "\ndef swap(self):\n    self.fc = nn.Linear(16, 16)\n", "    "
    )
    assert only(code, "TL509") == []


# -- TL510 layer-unused-in-forward -----------------------------------------------------------

UNUSED = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(128, 10)
        self.dropout = nn.Dropout(0.5)
        self.criterion = nn.CrossEntropyLoss()

    def forward(self, x):
        {body}
"""


def test_layer_unused_in_forward():
    found = messages(UNUSED.format(body="return self.fc(x)"), "TL510")
    assert len(found) == 1 and "`self.dropout`" in found[0]


@pytest.mark.parametrize(
    "body",
    [
        "return self.fc(self.dropout(x))",
        "return self.fc(getattr(self, 'drop' + 'out')(x))",
        "return [m(x) for m in self.children()]",
        # detectron2's tests/test_engine.py: the layer is used through its parameters
        "return x.sum() + sum(p.mean() for p in self.parameters())",
        "return self.fc(x) if self.training else self.fc(x)\n        y = 'dropout'",
    ],
)
def test_layer_used_somehow_is_silent(body):
    assert only(UNUSED.format(body=body), "TL510") == []


def test_layer_used_elsewhere_in_file_or_by_subclass_is_silent():
    base = UNUSED.format(body="return self.fc(x)")
    assert only(base + "\nmodel = Net()\nmodel.dropout.p = 0.1\n", "TL510") == []
    assert only(base + "\nclass Child(Net):\n    pass\n", "TL510") == []


def test_layer_unused_in_forward_is_off_by_default():
    from tensorlint.rules.layer_unused_in_forward import LayerUnusedInForward

    assert LayerUnusedInForward.default_enabled is False


# -- Sequential held in self.<attr>, and nested Sequentials ------------------------------------

STACKS = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Sequential(nn.Linear({head_in}, 32), nn.ReLU(), nn.Linear(32, 10))
        self.proj = nn.Sequential(nn.Linear(64, 48))

    def forward(self, x):
{body}
"""


def stacks(body: str, head_in="16") -> str:
    return STACKS.format(head_in=head_in, body=textwrap.indent(textwrap.dedent(body), " " * 8))


def test_forward_sequential_attributes_are_expanded():
    # conv stack straight into a Linear head: no flatten
    found = messages(stacks("x = self.features(x)\nreturn self.head(x)"), "TL502")
    assert len(found) == 1 and "`self.head[0]`" in found[0] and "`self.features[2]`" in found[0]
    # Linear sizes across two Sequential attributes
    assert only(stacks("return self.head(self.proj(x))", head_in="16"), "TL501") == ["TL501"]
    assert only(stacks("return self.head(self.proj(x))", head_in="48"), "TL501") == []


def test_forward_sequential_with_flatten_between_is_silent():
    body = "x = self.features(x)\nx = torch.flatten(x, 1)\nreturn self.head(x)"
    assert only(stacks(body), "TL502") == []
    assert only(stacks(body), "TL501") == []


def test_nested_sequential_is_expanded():
    code = "m = nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Sequential(nn.Linear(16, 2)))\n"
    assert only(code, "TL501") == ["TL501"]
    ok = "m = nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Sequential(), nn.Linear(8, 2))\n"
    assert only(ok, "TL501") == []


# -- every doc's Example triggers its rule and its Use instead does not ---------------------------


@pytest.mark.parametrize("code", ["TL501", "TL502", "TL503", "TL504", "TL505", "TL506", "TL507", "TL508", "TL510"])
def test_doc_examples(code):
    import inspect
    import re

    from tensorlint.rules import rule_by_code

    doc = inspect.cleandoc(rule_by_code(code).__doc__)
    blocks = dict(re.findall(r"## (Example|Use instead)\n```python\n(.*?)```", doc, re.S))
    assert only(blocks["Example"], code) == [code]
    assert only(blocks["Use instead"], code) == []


def test_doubled_activation_in_forward():
    code = """
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            self.act = nn.ReLU(inplace=True)
            self.lrelu = nn.LeakyReLU(0.2)

        def forward(self, x):
            {body}
    """
    assert only(code.replace("{body}", "x = self.act(self.fc(x))\n            return F.relu(x)"), "TL506") == ["TL506"]
    assert only(code.replace("{body}", "return torch.relu(F.relu(self.fc(x)))"), "TL506") == ["TL506"]
    assert only(code.replace("{body}", "x = self.act(self.fc(x))\n            return self.fc(F.relu(x) + 1)"), "TL506") == []
    assert only(code.replace("{body}", "return self.act(self.fc(self.act(x)))"), "TL506") == []
    assert only(code.replace("{body}", "return F.leaky_relu(self.lrelu(x), 0.1)"), "TL506") == []
    assert only(code.replace("{body}", "return F.relu(torch.sigmoid(x))"), "TL506") == []
