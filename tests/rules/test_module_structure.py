"""Module-structure and layer rules: TL002, TL003, TL106, TL107, TL108, TL401, and the
module facts they rely on (methods, `self.<attr>` submodules, Sequential layers)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from lintutil import codes, fix, lint
from tensorlint.semantics.context import FileContext

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def only(code: str, rule: str, **kwargs) -> list[str]:
    return codes(HEADER + textwrap.dedent(code), select=(rule,), **kwargs)


def messages(code: str, rule: str) -> list[str]:
    return [d.message for d in lint(HEADER + textwrap.dedent(code), select=(rule,))]


# -- semantics: modules.py -------------------------------------------------------------


class _Probe(cst.CSTVisitor):
    """Drives the trackers like the engine does and records what modules.py says."""

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.seen: dict[str, object] = {}

    def on_visit(self, node):
        for tracker in self.ctx.trackers:
            tracker.enter(node)
        if isinstance(node, cst.FunctionDef) and node.name.value == "forward":
            found = self.ctx.modules.enclosing_module_method()
            if found is not None:
                cls = found[0]
                self.seen[cls.name.value] = (
                    self.ctx.modules.submodules(cls),
                    sorted(self.ctx.modules.methods(cls)),
                    self.ctx.modules.forward(cls) is node,
                )
        return True

    def on_leave(self, node):
        for tracker in reversed(self.ctx.trackers):
            tracker.leave(node)


def probe(code: str) -> dict:
    module = cst.parse_module(textwrap.dedent(code))
    ctx = FileContext("x.py", module)
    visitor = _Probe(ctx)
    module.visit(visitor)
    return visitor.seen


def test_submodules_and_methods():
    seen = probe(
        """
        import torch
        from torch import nn as tnn
        from torch.nn import Dropout

        class Block(tnn.Module):
            def __init__(self):
                super().__init__()
                self.fc = tnn.Linear(2, 2)

        class Net(tnn.Module):
            def __init__(self, flag):
                super().__init__()
                self.drop = Dropout(0.1)
                self.block = Block()
                self.size = 3
                self.act = torch.nn.ReLU()
                self.fn = torch.relu
                if flag:
                    self.extra = tnn.Linear(1, 1)
                else:
                    self.extra = tnn.Conv1d(1, 1, 1)
                self.w = tnn.Parameter(torch.zeros(3))

            def helper(self):
                pass

            def forward(self, x):
                return x
        """
    )
    submodules, methods, forward_found = seen["Net"]
    assert submodules == {
        "drop": "torch.nn.Dropout",
        "block": "Block",
        "act": "torch.nn.ReLU",
    }
    assert methods == ["__init__", "forward", "helper"]
    assert forward_found


def test_submodules_only_in_init_of_modules():
    seen = probe(
        """
        import torch.nn as nn

        class Net(nn.Module):
            def setup(self):
                self.late = nn.Linear(1, 1)

            def forward(self, x):
                return x
        """
    )
    assert seen["Net"][0] == {}


# -- TL106 mode-method-not-called --------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    ["model.eval", "model.train", "optimizer.zero_grad", "self.model.eval", "models[0].eval", "loss.backward",
     "opt.step"],
)
def test_tl106_bare_method(line):
    assert only(f"def run(model, models, optimizer, loss, opt):\n    {line}\n", "TL106") == ["TL106"]


def test_tl106_self_eval_in_module():
    code = """
    class Net(nn.Module):
        def freeze(self):
            self.eval
            return self
    """
    assert only(code, "TL106") == ["TL106"]
    assert "`self.eval` is not called" in messages(code, "TL106")[0]


@pytest.mark.parametrize(
    "line",
    [
        "model.eval()",
        "model.train(False)",
        "optimizer.zero_grad(set_to_none=True)",
        "fn = model.eval",
        "callbacks.append(model.eval)",
        "x = model.training",
        "model.trainer",
        "model.evaluate",
        "(model.eval)",
        "print(model.eval)",
    ],
)
def test_tl106_negatives(line):
    assert only(f"def run(model, optimizer, callbacks):\n    {line}\n", "TL106") == []


def test_tl106_fix_calls_it():
    source = HEADER + "def run(model, optimizer):\n    model.eval  # validate\n    optimizer.zero_grad\n"
    fixed = fix(source, select=("TL106",), unsafe=True)
    assert "    model.eval()  # validate\n    optimizer.zero_grad()\n" in fixed
    # unsafe: not applied without --unsafe-fixes
    assert fix(source, select=("TL106",)) == source


# -- TL107 module-created-in-forward ----------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "nn.Dropout(0.5)(x)",
        "nn.Linear(4, 4)(x)",
        "torch.nn.BatchNorm1d(4)(x)",
        "nn.LSTM(4, 4)(x)[0]",
        "nn.Conv2d(3, 3, 1).to(x.device)(x)",
        "nn.LayerNorm(4)(x)",
    ],
)
def test_tl107_stateful_layer_in_forward(expr):
    code = f"""
    class Net(nn.Module):
        def forward(self, x):
            return {expr}
    """
    assert only(code, "TL107") == ["TL107"]


def test_tl107_import_styles_and_local_classes():
    code = """
    from torch.nn import Dropout
    from torch import nn as tnn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("s", torch.ones(1))

    class Stateless(nn.Module):
        def forward(self, x):
            return x * 2

    class Net(nn.Module):
        def forward(self, x):
            x = Dropout(0.1)(x)
            x = tnn.GRU(4, 4)(x)
            x = Block()(x)
            x = Scale()(x)
            return Stateless()(x)
    """
    assert only(code, "TL107") == ["TL107"] * 4


@pytest.mark.parametrize(
    "body",
    [
        "return nn.ReLU()(x)",  # stateless layers: no parameters, no train/eval behaviour
        "return nn.Identity()(x)",
        "return nn.Softmax(dim=-1)(x)",
        "return nn.MaxPool2d(2)(x)",
        "return nn.CrossEntropyLoss()(x, y)",  # losses are stateless too
        "return nn.Sequential(self.a, self.b)(x)",  # containers of registered modules
        "w = nn.Parameter(torch.ones(3))\n            return x * w",  # not a module
        "return F.dropout(x, 0.1, self.training)",  # a function, not a module
        "return nn.functional.relu(x)",
        "self.proj = nn.Linear(4, 4)\n            return self.proj(x)",  # lazily registered
        "self.layers.append(nn.Linear(4, 4))\n            return x",
        "self.add_module('fc', nn.Linear(4, 4))\n            return x",
        "setattr(self, 'fc', nn.Linear(4, 4))\n            return x",
        "layer = nn.Embedding(4, 4)\n            self.emb = layer\n            return layer(x)",
        "def make():\n                return nn.Linear(4, 4)\n            return make()(x)",  # nested factory
    ],
)
def test_tl107_negatives(body):
    code = f"""
    class Net(nn.Module):
        def forward(self, x, y=None):
            {body}
    """
    assert only(code, "TL107") == []


def test_tl107_only_forward_of_modules():
    code = """
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            layers = [nn.Linear(4, 4)]

        def build(self):
            return nn.Linear(4, 4)

    class NotAModule:
        def forward(self, x):
            return nn.Linear(4, 4)(x)

    def forward(x):
        return nn.Linear(4, 4)(x)
    """
    assert only(code, "TL107") == []


def test_tl107_lazy_init_through_local_name_only_when_registered():
    code = """
    class Net(nn.Module):
        def forward(self, x):
            layer = nn.Linear(4, 4)
            return layer(x)
    """
    assert only(code, "TL107") == ["TL107"]


# -- TL108 unregistered-submodule --------------------------------------------------------


def _init(body: str, extra: str = "") -> str:
    return f"""
{extra}
class Net(nn.Module):
    def __init__(self, n):
        super().__init__()
        {body}
"""


@pytest.mark.parametrize(
    "body",
    [
        "self.layers = [nn.Linear(4, 4), nn.ReLU()]",
        "self.layers = (nn.Linear(4, 4), nn.Linear(4, 4))",
        "self.layers = [nn.Linear(4, 4) for _ in range(n)]",
        "self.heads = {'a': nn.Linear(4, 4)}",
        "self.heads = {k: nn.Linear(4, 4) for k in 'ab'}",
        "self.layers = []\n        for _ in range(n):\n            self.layers.append(nn.Conv2d(3, 3, 1))",
        "self.heads = {}\n        self.heads['a'] = nn.Linear(4, 4)",
        "self.layers: list = [nn.Dropout(0.1)]",
    ],
)
def test_tl108_positive(body):
    assert only(_init(body), "TL108") == ["TL108"]


def test_tl108_local_module_classes():
    extra = """
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
"""
    assert only(_init("self.blocks = [Block() for _ in range(n)]", extra), "TL108") == ["TL108"]


@pytest.mark.parametrize(
    "body",
    [
        "self.layers = nn.ModuleList([nn.Linear(4, 4)])",
        "self.layers = [nn.Linear(4, 4)]\n        self.layers = nn.ModuleList(self.layers)",
        "self.convs = [nn.Conv2d(3, 3, 1) for _ in range(n)]\n        self.net = nn.Sequential(*self.convs)",
        "self.fcs = [nn.Linear(4, 4)]\n        for i, m in enumerate(self.fcs):\n            self.add_module(f'fc{i}', m)",
        "self.sizes = [4, 8, 16]",
        "self.layers = [self.fc1, self.fc2]",  # existing (registered) modules
        "self.acts = [nn.ReLU(), nn.GELU()]",  # stateless: nothing is lost
        "self.loss_fcts = {'ce': nn.CrossEntropyLoss(), 'l1': nn.L1Loss()}",
        "layers = [nn.Linear(4, 4)]\n        self.net = nn.Sequential(*layers)",  # local list
        "self.layers = []\n        self.layers.append(self.fc)",
        "self.gen = (nn.Linear(4, 4) for _ in range(n))",
    ],
)
def test_tl108_negatives(body):
    assert only(_init(body), "TL108") == []


def test_tl108_not_outside_init_or_modules():
    code = """
    class Net(nn.Module):
        def build(self):
            self.layers = [nn.Linear(4, 4)]

    class Holder:
        def __init__(self):
            self.layers = [nn.Linear(4, 4)]
    """
    assert only(code, "TL108") == []


def test_tl108_fix_list_and_comprehension():
    source = HEADER + _init("self.a = [nn.Linear(4, 4), nn.Dropout(0.1)]\n        self.b = [nn.Linear(4, 4) for _ in range(n)]")
    fixed = fix(source, select=("TL108",), unsafe=True)
    assert "self.a = nn.ModuleList([nn.Linear(4, 4), nn.Dropout(0.1)])" in fixed
    assert "self.b = nn.ModuleList([nn.Linear(4, 4) for _ in range(n)])" in fixed
    assert fix(source, select=("TL108",)) == source  # unsafe only


def test_tl108_fix_tuple_without_parentheses():
    source = HEADER + _init("self.a = nn.Linear(4, 4), nn.Linear(4, 4)")
    fixed = fix(source, select=("TL108",), unsafe=True)
    assert "self.a = nn.ModuleList((nn.Linear(4, 4), nn.Linear(4, 4)))" in fixed


def test_tl108_fix_dict_with_literal_keys():
    source = HEADER + _init("self.heads = {'cls': nn.Linear(4, 2), \"box\": nn.Linear(4, 4)}")
    fixed = fix(source, select=("TL108",), unsafe=True)
    assert "self.heads = nn.ModuleDict({'cls': nn.Linear(4, 2), \"box\": nn.Linear(4, 4)})" in fixed


def test_tl108_fix_empty_list_with_appends():
    source = HEADER + _init("self.layers = []\n        for _ in range(n):\n            self.layers.append(nn.Linear(4, 4))")
    fixed = fix(source, select=("TL108",), unsafe=True)
    assert "self.layers = nn.ModuleList([])" in fixed


@pytest.mark.parametrize(
    "body",
    [
        "self.heads = {name: nn.Linear(4, 4) for name in 'ab'}",  # dict comprehension
        "self.heads = {'a.b': nn.Linear(4, 4)}",  # ModuleDict rejects dots
        "self.heads = {'keys': nn.Linear(4, 4)}",  # ...and its own attribute names
        "key = 'a'\n        self.heads = {key: nn.Linear(4, 4)}",
        "self.layers = [nn.Linear(4, 4), 'not a module']",
        "self.layers = []\n        self.layers.append(nn.Linear(4, 4))\n        self.layers.append(n)",
    ],
)
def test_tl108_reported_without_fix(body):
    found = lint(HEADER + _init(body), select=("TL108",))
    assert [d.code for d in found] == ["TL108"]
    assert found[0].fix is None


def test_tl108_fix_spells_torch_nn_as_imported():
    source = "import torch\nfrom torch import nn as tnn\n" + _init("self.a = [tnn.Linear(4, 4)]").replace("nn.Module", "tnn.Module")
    assert "self.a = tnn.ModuleList([tnn.Linear(4, 4)])" in fix(source, select=("TL108",), unsafe=True)
    source = "import torch\n" + _init("self.a = [torch.nn.Linear(4, 4)]").replace("nn.Module", "torch.nn.Module")
    assert "self.a = torch.nn.ModuleList([torch.nn.Linear(4, 4)])" in fix(source, select=("TL108",), unsafe=True)
    source = "from torch.nn import Module, Linear, ModuleList\n" + _init("self.a = [Linear(4, 4)]").replace("nn.Module", "Module")
    assert "self.a = ModuleList([Linear(4, 4)])" in fix(source, select=("TL108",), unsafe=True)


def test_tl108_no_fix_when_torch_nn_cannot_be_named():
    source = "from torch.nn import Module, Linear  # torch\n" + _init("self.a = [Linear(4, 4)]").replace("nn.Module", "Module")
    found = lint(source, select=("TL108",))
    assert [d.code for d in found] == ["TL108"] and found[0].fix is None


# -- TL002 norm-features-mismatch --------------------------------------------------------


@pytest.mark.parametrize(
    "layers",
    [
        "nn.Conv2d(3, 64, 3), nn.BatchNorm2d(32)",
        "nn.Conv2d(3, out_channels=64, kernel_size=3), nn.ReLU(), nn.BatchNorm2d(num_features=32)",
        "nn.Conv1d(3, 64, 3), nn.Dropout(0.1), nn.MaxPool1d(2), nn.InstanceNorm1d(32)",
        "nn.ConvTranspose3d(8, 16, 2), nn.BatchNorm3d(8)",
        "nn.Conv2d(3, 64, 3), nn.GroupNorm(8, 32)",
        "nn.Conv2d(3, 64, 3), nn.GroupNorm(num_groups=8, num_channels=32)",
        "nn.Linear(128, 64), nn.BatchNorm1d(128)",
        "nn.Linear(128, 64), nn.GELU(), nn.LayerNorm(128)",
        "nn.Linear(128, 64), nn.LayerNorm((128,))",
        "nn.Embedding(100, 32), nn.LayerNorm(64)",
        "*[nn.Linear(4, 8), nn.BatchNorm1d(4)]",
        "nn.Conv2d(3, 0x40, 3), nn.BatchNorm2d(32)",
    ],
)
def test_tl002_positive(layers):
    assert only(f"net = nn.Sequential({layers})\n", "TL002") == ["TL002"]


def test_tl002_list_variable_and_ordered_dict():
    code = """
    from collections import OrderedDict
    layers = [nn.Conv2d(3, 16, 3), nn.ReLU(), nn.BatchNorm2d(8)]
    a = nn.Sequential(*layers)
    b = nn.Sequential(OrderedDict([("conv", nn.Conv2d(3, 16, 3)), ("bn", nn.BatchNorm2d(8))]))
    c = torch.nn.Sequential(nn.Linear(4, 8), torch.nn.BatchNorm1d(4))
    """
    assert only(code, "TL002") == ["TL002"] * 3


def test_tl002_message():
    [message] = messages("net = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(32))\n", "TL002")
    assert "`BatchNorm2d` expects 32 features" in message and "`Conv2d` has 64 output channels" in message


@pytest.mark.parametrize(
    "layers",
    [
        "nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64)",
        "nn.Conv2d(3, c, 3), nn.BatchNorm2d(32)",  # computed: unknown
        "nn.Conv2d(3, 64, 3), nn.BatchNorm2d(c)",
        "nn.Conv2d(3, 64, 3), nn.Conv2d(64, 32, 1), nn.BatchNorm2d(32)",  # the nearest producer counts
        "nn.Conv2d(3, 64, 3), nn.Flatten(), nn.BatchNorm1d(32)",  # unknown layer in between
        "nn.Conv2d(3, 64, 3), block, nn.BatchNorm2d(32)",
        "nn.Conv2d(3, 64, 3), *extra, nn.BatchNorm2d(32)",
        "nn.Conv2d(3, 64, 3), nn.BatchNorm1d(32)",  # dimensionality differs: another error
        "nn.Conv2d(3, 64, 3), nn.LayerNorm(32)",  # LayerNorm works on the last (spatial) dim
        "nn.Linear(3, 64), nn.BatchNorm2d(32)",
        "nn.Linear(3, 64), nn.InstanceNorm1d(32)",
        "nn.Linear(3, 64), nn.MaxPool1d(2), nn.BatchNorm1d(32)",  # pooling changes the last dim
        "nn.Linear(3, 64), nn.LayerNorm((10, 64))",
        "nn.Embedding(10, 64), nn.BatchNorm1d(32)",
        "nn.BatchNorm2d(32), nn.Conv2d(32, 64, 3)",
        "nn.Conv2d(3, 64, 3), nn.LazyBatchNorm2d()",
        "nn.Linear(3, 64), nn.GLU(), nn.LayerNorm(32)",
        "nn.Conv2d(*kw), nn.BatchNorm2d(32)",
        "nn.Conv2d(3, 64, 3), nn.BatchNorm2d(**kw)",
    ],
)
def test_tl002_negatives(layers):
    assert only(f"def build(c, block, extra, kw):\n    return nn.Sequential({layers})\n", "TL002") == []


def test_tl002_not_other_containers():
    code = "net = nn.ModuleList([nn.Conv2d(3, 64, 3), nn.BatchNorm2d(32)])\nseq = Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(32))\n"
    assert only(code, "TL002") == []


# -- TL003 dropout-invalid-p -------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        "nn.Dropout(1.5)",
        "nn.Dropout(p=10)",
        "nn.Dropout(-0.1)",
        "nn.Dropout2d(p=-1)",
        "nn.AlphaDropout(2)",
        "F.dropout(x, 1.5)",
        "F.dropout(x, p=50, training=True)",
        "F.alpha_dropout(x, -0.5)",
        "torch.dropout(x, 2.0, True)",
        "torch.nn.functional.dropout3d(x, 1.01)",
        "nn.LSTM(4, 4, dropout=1.5)",
        "nn.TransformerEncoderLayer(8, 2, dropout=-0.2)",
        "nn.MultiheadAttention(8, 2, dropout=2)",
        "nn.Dropout(1e1)",
    ],
)
def test_tl003_positive(call):
    assert only(f"def f(x):\n    return {call}\n", "TL003") == ["TL003"]


def test_tl003_import_styles():
    code = """
    from torch.nn import Dropout
    from torch.nn.functional import dropout as drop
    a = Dropout(1.2)
    b = drop(torch.ones(2), 3)
    """
    assert only(code, "TL003") == ["TL003", "TL003"]


@pytest.mark.parametrize(
    "call",
    [
        "nn.Dropout(0.1)",
        "nn.Dropout(0)",
        "nn.Dropout(1)",
        "nn.Dropout(1.0)",
        "nn.Dropout(p)",
        "nn.Dropout(p * 10)",
        "nn.Dropout(0.1, True)",  # inplace, not p
        "F.dropout(x, 0.5, True)",
        "F.dropout(1.5)",  # the input, not p
        "F.dropout(x, *args)",
        "nn.LSTM(4, 4, 2)",  # num_layers, not dropout
        "nn.Linear(4, 10)",
        "my.Dropout(5)",
        "nn.Dropout(p=+0.5)",
    ],
)
def test_tl003_negatives(call):
    assert only(f"def f(x, p, args, my):\n    return {call}\n", "TL003") == []


def test_tl003_message():
    [message] = messages("d = nn.Dropout(p=-0.1)\n", "TL003")
    assert "`-0.1` is outside [0, 1]" in message


# -- TL401 redundant-bias-before-norm ----------------------------------------------------


def test_tl401_off_by_default():
    from tensorlint.selection import enabled_rules

    assert "TL401" not in enabled_rules(None, [], [])
    assert {"TL002", "TL003", "TL106", "TL107", "TL108"} <= enabled_rules(None, [], [])
    code = HEADER + "net = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64))\n"
    assert codes(code, select=("TL401",)) == ["TL401"]


@pytest.mark.parametrize(
    "layers",
    [
        "nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64)",
        "nn.Conv2d(3, 64, 3, bias=True), nn.BatchNorm2d(64)",
        "nn.ConvTranspose2d(3, c, 3), nn.BatchNorm2d(c)",
        "nn.Linear(3, 64), nn.BatchNorm1d(64)",
        "nn.Linear(3, cfg.hidden, bias=True), nn.BatchNorm1d(cfg.hidden)",
        "nn.Conv1d(3, 8, 1), nn.SyncBatchNorm(8)",
    ],
)
def test_tl401_positive(layers):
    assert only(f"def build(c, cfg):\n    return nn.Sequential({layers})\n", "TL401") == ["TL401"]


@pytest.mark.parametrize(
    "layers",
    [
        "nn.Conv2d(3, 64, 3, bias=False), nn.BatchNorm2d(64)",
        "nn.Conv2d(3, 64, 3, 1, 0, 1, 1, False), nn.BatchNorm2d(64)",
        "nn.Conv2d(3, 64, 3, bias=use_bias), nn.BatchNorm2d(64)",
        "nn.Conv2d(3, 64, 3), nn.ReLU(), nn.BatchNorm2d(64)",  # not directly
        "nn.Conv2d(3, 64, 3), nn.GroupNorm(8, 64)",  # only BatchNorm cancels a per-channel bias
        "nn.Conv2d(3, 64, 3), nn.LayerNorm(64)",
        "nn.Linear(3, 64), nn.BatchNorm1d(c)",  # Linear: sizes must show it normalizes features
        "nn.Linear(3, 64, False), nn.BatchNorm1d(64)",
        "nn.Conv2d(3, 64, 3, **kw), nn.BatchNorm2d(64)",
        "nn.Conv2d(3, 64, 3), nn.BatchNorm1d(64)",
    ],
)
def test_tl401_negatives(layers):
    assert only(f"def build(c, use_bias, kw):\n    return nn.Sequential({layers})\n", "TL401") == []


def test_tl401_fix():
    source = HEADER + "net = nn.Sequential(\n    nn.Conv2d(3, 64, 3),\n    nn.BatchNorm2d(64),\n    nn.Linear(2, 8, bias=True),\n    nn.BatchNorm1d(8),\n)\n"
    fixed = fix(source, select=("TL401",), unsafe=True)
    assert "nn.Conv2d(3, 64, 3, bias=False)," in fixed
    assert "nn.Linear(2, 8, bias=False)," in fixed
    assert fix(source, select=("TL401",)) == source
