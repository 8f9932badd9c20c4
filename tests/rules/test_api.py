"""TL301-TL306, TL402, TL403: tensor construction and torch API use."""

from __future__ import annotations

import pytest

from tensorlint.diagnostics import Applicability
from tensorlint.selection import enabled_rules
from tensorlint.semantics import torch_api
from lintutil import codes, fix, lint

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def found(body: str, code: str, **kwargs) -> list[str]:
    return codes(HEADER + body, select=(code,), **kwargs)


def fixed(body: str, code: str, unsafe: bool = False, **kwargs) -> str:
    return fix(HEADER + body, select=(code,), unsafe=unsafe, **kwargs)[len(HEADER):]


def default_codes(body: str) -> list[str]:
    return codes(HEADER + body, select=tuple(enabled_rules(None, [], [])))


def only(body: str, code: str, **kwargs):
    (diagnostic,) = lint(HEADER + body, select=(code,), **kwargs)
    return diagnostic


# -- TL301 legacy-tensor-constructor ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "x = torch.Tensor(3)\n",
        "x = torch.Tensor([3])\n",
        "x = torch.Tensor()\n",
        "x = torch.FloatTensor([1, 2])\n",
        "x = torch.LongTensor(data)\n",
        "x = torch.cuda.FloatTensor(2, 3)\n",
        "x = torch.ByteTensor(*shape)\n",
        "from torch import FloatTensor\nx = FloatTensor([1.0])\n",
        "import torch as th\nx = th.BoolTensor([True])\n",
        "def f():\n    return torch.HalfTensor(4).normal_()\n",
    ],
)
def test_tl301_flags_legacy_constructor_calls(body):
    assert found(body, "TL301") == ["TL301"]


@pytest.mark.parametrize(
    "body",
    [
        "def f(x: torch.Tensor) -> torch.FloatTensor:\n    return x\n",
        "ok = isinstance(x, torch.Tensor)\n",
        "ok = isinstance(x, (torch.FloatTensor, torch.LongTensor))\n",
        "class MyTensor(torch.Tensor):\n    pass\n",
        "y = torch.Tensor.__new__(cls, x)\n",
        "y = torch.Tensor._make_subclass(cls, data)\n",
        "y = torch.tensor([1, 2])\n",
        "t = torch.Tensor\n",
        "from mylib import Tensor\ny = Tensor(3)\n",
        "class Tensor:\n    pass\ny = Tensor(3)\n",
        "y = x.new_tensor([1])\n",
    ],
)
def test_tl301_ignores_type_uses_and_lookalikes(body):
    assert found(body, "TL301") == []


def test_tl301_size_message_warns_about_uninitialised_memory():
    message = only("x = torch.Tensor(3)\n", "TL301").message
    assert "uninitialised" in message and "torch.empty(3)" in message


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("x = torch.FloatTensor([1, 2])\n", "x = torch.tensor([1, 2], dtype=torch.float32)\n"),
        ("x = torch.LongTensor([[1], [2]])\n", "x = torch.tensor([[1], [2]], dtype=torch.int64)\n"),
        ("x = torch.BoolTensor((True, False))\n", "x = torch.tensor((True, False), dtype=torch.bool)\n"),
        ("x = torch.Tensor([3])\n", "x = torch.tensor([3], dtype=torch.get_default_dtype())\n"),
        ("x = torch.cuda.FloatTensor([1.0])\n", 'x = torch.tensor([1.0], dtype=torch.float32, device="cuda")\n'),
        ("x = torch.IntTensor([i for i in range(3)])\n", "x = torch.tensor([i for i in range(3)], dtype=torch.int32)\n"),
        ("import torch as th\nx = th.DoubleTensor([1])\n", "import torch as th\nx = th.tensor([1], dtype=th.float64)\n"),
        # multi-line calls keep their layout: no trailing space, the closing line stays,
        # a trailing comma puts the new argument on its own line
        ("x = torch.FloatTensor(\n    [1, 2]\n)\n", "x = torch.tensor(\n    [1, 2], dtype=torch.float32\n)\n"),
        ("x = torch.FloatTensor(\n    [1, 2],\n)\n", "x = torch.tensor(\n    [1, 2],\n    dtype=torch.float32,\n)\n"),
        ("x = torch.cuda.LongTensor([1],)\n", 'x = torch.tensor([1], dtype=torch.int64, device="cuda",)\n'),
        # sizes and unknown arguments: no fix
        ("x = torch.Tensor(3)\n", "x = torch.Tensor(3)\n"),
        ("x = torch.FloatTensor(data)\n", "x = torch.FloatTensor(data)\n"),
        ("x = torch.FloatTensor([1], device='cpu')\n", "x = torch.FloatTensor([1], device='cpu')\n"),
    ],
)
def test_tl301_fix(before, after):
    assert fixed(before, "TL301") == after


def test_tl301_fix_needs_a_torch_name():
    source = "from torch import FloatTensor\nx = FloatTensor([1.0])\n"
    assert fix(source, select=("TL301",)) == source


# -- TL302 torch-api-bad-keyword --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("y = torch.dropout(x, p=0.5, training=True)\n", "`train=`"),
        ("y = F.softmax(x, axis=-1)\n", "`dim=`"),
        ("y = F.dropout(x, p=0.5, train=False)\n", "`training=`"),
        ("y = torch.zeros(3, memory_format=torch.contiguous_format)\n", "has no keyword argument `memory_format`"),
        ("y = torch.tensor(data, copy=True)\n", "has no keyword argument `copy`"),
        ("y = torch.nn.functional.relu(x, in_place=True)\n", "`inplace=`"),
        ("y = nn.Linear(3, 4, use_bias=False)\n", "`bias=`"),
        ("from torch.nn.functional import softmax\ny = softmax(x, axis=1)\n", "`dim=`"),
        ("def f(x: torch.Tensor):\n    return x.to('cpu', nonblocking=True)\n", "`Tensor.to` has no keyword argument `nonblocking`; did you mean `non_blocking=`?"),
        ("y = torch.randn(3).masked_fill(m, value=0, inplace=True)\n", "`inplace`"),
    ],
)
def test_tl302_flags_unknown_keywords(body, fragment):
    diagnostic = only(body, "TL302")
    assert fragment in diagnostic.message


@pytest.mark.parametrize(
    "body",
    [
        "y = F.softmax(x, 0, 3, torch.float32, 7)\n",
        "y = torch.nn.functional.gelu(x, 'tanh')\n",
    ],
)
def test_tl302_flags_too_many_positional_arguments(body):
    assert "positional" in only(body, "TL302").message


@pytest.mark.parametrize(
    "body",
    [
        # numpy-style aliases accepted by the C++ argument parser
        "y = torch.sum(x, axis=0)\n",
        "y = torch.sum(x, axis=0, keepdims=True)\n",
        "y = torch.cat([a, b], axis=1)\n",
        "y = torch.dropout(x, p=0.5, train=True)\n",
        "y = F.dropout(x, p=0.5, training=True)\n",
        "y = F.softmax(x, dim=-1)\n",
        # **kwargs may carry anything; *args hides the positional count
        "y = F.softmax(x, **opts)\n",
        "y = F.softmax(*args, 1, 2, 3, 4, 5)\n",
        # functions taking **kwargs, functions missing from the table
        "y = torch.load(f, anything=True)\n",
        "y = torch.some_future_function(x, flag=True)\n",
        # not torch
        "import numpy as np\ny = np.sum(x, axis=0)\n",
        "def softmax(x, axis):\n    return x\ny = softmax(x, axis=1)\n",
        # tensor methods are C++ builtins too
        "def f(x: torch.Tensor):\n    return x.softmax(axis=-1)\n",
        # methods on values not provably tensors
        "def f(x):\n    return x.softmax(axis=-1)\n",
        "y = df.sum(axis=0)\n",
        # left to requires-grad-typo
        "y = torch.zeros(3, require_grad=True)\n",
        # varargs sizes
        "y = torch.zeros(2, 3, 4, 5, 6)\n",
        "y = torch.randn(3).view(1, 3, 1, 1)\n",
    ],
)
def test_tl302_ignores_valid_and_unknowable_calls(body):
    assert found(body, "TL302") == []


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ("y = F.dropout(x, 0.1, False, training=True)\n", "training"),
        ("y = F.dropout(x, 0.1, p=0.2)\n", "p"),
        ("y = F.softmax(x, 1, dim=0)\n", "dim"),
        ("y = F.softmax(x, 1, input=x)\n", "input"),
        ("y = torch.dropout(x, 0.5, True, train=False)\n", "train"),
        ("m = nn.Softmax(1, dim=1)\n", "dim"),
        ("def f(x: torch.Tensor):\n    return x.norm(2, p=1)\n", "p"),
        ("y = F.relu(x, False, inplace=True)\n", "inplace"),
        ("y = torch.sum(x, 0, dim=1)\n", "dim"),
        ("def f(x: torch.Tensor):\n    return x.softmax(0, dim=1)\n", "dim"),
    ],
)
def test_tl302_flags_a_parameter_given_twice(body, name):
    diagnostic = only(body, "TL302")
    assert f"`{name}` is given both by position and by keyword" in diagnostic.message
    assert diagnostic.fix is None


@pytest.mark.parametrize(
    "body",
    [
        # the keyword names a later parameter than the positional ones reach
        "y = F.dropout(x, 0.1, training=True)\n",
        "y = F.softmax(x, dim=0, dtype=torch.float32)\n",
        # `*args` hides which parameters are bound
        "y = F.dropout(*args, training=True)\n",
        "y = F.dropout(x, *rest, p=0.1)\n",
        # parameter order not known (unlimited int-list positionals, or overloads that
        # bind the second positional differently: `max(input, dim)` / `max(input, other)`)
        "y = torch.zeros(3, size=(3,))\n",
        "y = torch.max(x, 1, other=y)\n",
        "def f(x: torch.Tensor):\n    return x.add(1, other=y)\n",
    ],
)
def test_tl302_ignores_double_binding_it_cannot_prove(body):
    assert found(body, "TL302") == []


def test_tl302_rename_target_bound_by_position_is_reported_without_fix():
    diagnostic = only("y = F.softmax(x, 1, axis=-1)\n", "TL302")
    assert "has no keyword argument `axis`" in diagnostic.message
    assert "`dim` is already given by position" in diagnostic.message
    assert diagnostic.fix is None
    diagnostic = only("y = F.softmax(x, dim=1, axis=-1)\n", "TL302")
    assert "`dim` is already given by keyword" in diagnostic.message
    assert diagnostic.fix is None


# Functions where a rename in KNOWN_RENAMES can apply; the rule needs their positional
# order (from the table) to offer the fix when something is passed by position.
_RENAME_TARGETS = (
    "torch.dropout", "torch.dropout_", "torch.alpha_dropout", "torch.feature_dropout",
    "torch.feature_alpha_dropout", "torch.native_dropout", "torch.batch_norm", "torch.rrelu",
    "torch.norm", "torch.nn.functional.dropout", "torch.nn.functional.dropout2d",
    "torch.nn.functional.batch_norm", "torch.nn.functional.softmax",
    "torch.nn.functional.log_softmax", "torch.nn.functional.glu", "torch.nn.Softmax",
    "torch.nn.CosineSimilarity", "torch.Tensor.norm", "torch.Tensor.unflatten",
)


def test_tl302_positional_order_comes_from_the_table():
    for qualname in _RENAME_TARGETS:
        entry = torch_api.lookup(qualname)
        assert entry is not None and entry.positional_order is not None, qualname
    assert torch_api.lookup("torch.gru").positional_order is None  # overloads disagree


def test_tl302_positional_order_agrees_with_the_rest_of_the_entry():
    checked = 0
    for qualname in sorted(torch_api._table()["entries"]):
        entry = torch_api.lookup(qualname)
        order = entry.positional_order
        if order is None:
            continue
        checked += 1
        if entry.positional_max is not None:
            assert len(order) == entry.positional_max, qualname
        assert set(order) <= set(entry.params), qualname
        assert len(set(order)) == len(order), qualname
    assert checked > 1000


def test_tl302_positional_order_matches_real_torch():
    """A sample of orders: the i-th positional and the same name by keyword is a TypeError."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional  # noqa: F401

    if torch.__version__.split("+")[0] != torch_api.TORCH_VERSION:
        pytest.skip("table generated for another torch version")
    x = torch.ones(2, 3)
    cases = [
        (torch.dropout, "torch.dropout", (x, 0.5, True)),
        (torch.nn.functional.dropout, "torch.nn.functional.dropout", (x, 0.5, True, False)),
        (torch.nn.functional.softmax, "torch.nn.functional.softmax", (x, 1)),
        (torch.softmax, "torch.softmax", (x, 1)),
        (torch.sum, "torch.sum", (x, 1, False)),
        (x.sum, "torch.Tensor.sum", (1, False)),
        (x.norm, "torch.Tensor.norm", (2, 1, False)),
        (torch.nn.Softmax, "torch.nn.Softmax", (1,)),
        (torch.nn.functional.relu, "torch.nn.functional.relu", (x, False)),
    ]
    for fn, qualname, args in cases:
        order = torch_api.lookup(qualname).positional_order
        assert order is not None and len(order) >= len(args), qualname
        fn(*args)  # the call itself is valid
        for i in range(len(args)):
            # the rest by keyword, so that nothing required is missing
            rest = {order[j]: args[j] for j in range(i + 1, len(args))}
            with pytest.raises(TypeError, match="multiple values"):
                fn(*args[: i + 1], **{order[i]: args[i]}, **rest)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("y = torch.dropout(x, p=0.5, training=True)\n", "y = torch.dropout(x, p=0.5, train=True)\n"),
        ("y = F.dropout(x, 0.5, train=False)\n", "y = F.dropout(x, 0.5, training=False)\n"),
        ("y = F.softmax(x, axis=-1)\n", "y = F.softmax(x, dim=-1)\n"),
        ("y = F.softmax(x, axis = -1)\n", "y = F.softmax(x, dim = -1)\n"),
        # a suggestion that is only a guess is shown, not applied
        ("y = torch.nn.functional.relu(x, in_place=True)\n", "y = torch.nn.functional.relu(x, in_place=True)\n"),
        # the target is already passed: no fix
        ("y = F.softmax(x, dim=1, axis=-1)\n", "y = F.softmax(x, dim=1, axis=-1)\n"),
        # ... or bound by position: renaming would raise "multiple values for argument"
        ("y = F.softmax(x, 1, axis=-1)\n", "y = F.softmax(x, 1, axis=-1)\n"),
        ("y = F.dropout(x, 0.5, False, train=True)\n", "y = F.dropout(x, 0.5, False, train=True)\n"),
        ("y = torch.dropout(x, 0.5, True, training=True)\n", "y = torch.dropout(x, 0.5, True, training=True)\n"),
        ("m = nn.Softmax(1, axis=1)\n", "m = nn.Softmax(1, axis=1)\n"),
        # positional binding unknown (`*args`, or no parameter order known): no fix
        ("y = F.softmax(*args, axis=-1)\n", "y = F.softmax(*args, axis=-1)\n"),
        ("y = torch.gru(a, b, c, training=True)\n", "y = torch.gru(a, b, c, training=True)\n"),
        # nothing positional: nothing bound
        ("y = F.softmax(input=x, axis=-1)\n", "y = F.softmax(input=x, dim=-1)\n"),
        ("y = torch.gru(input=a, training=True)\n", "y = torch.gru(input=a, train=True)\n"),
        ("m = nn.Softmax(axis=1)\n", "m = nn.Softmax(dim=1)\n"),
        ("y = F.dropout(x, 0.5, inplace=False, train=True)\n", "y = F.dropout(x, 0.5, inplace=False, training=True)\n"),
        ("def f(x: torch.Tensor):\n    return x.norm(2, axis=0)\n", "def f(x: torch.Tensor):\n    return x.norm(2, dim=0)\n"),
        # a parameter given twice: reported, not fixed
        ("y = F.dropout(x, 0.1, False, training=True)\n", "y = F.dropout(x, 0.1, False, training=True)\n"),
    ],
)
def test_tl302_fix(before, after):
    assert fixed(before, "TL302") == after


# -- TL303 requires-grad-typo -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "for p in model.parameters():\n    p.require_grad = False\n",
        "w = torch.zeros(3)\nw.require_grad = True\n",
        "class M(nn.Module):\n    def freeze(self):\n        self.fc.weight.require_grad = False\n",
        "y = torch.zeros(3, require_grad=True)\n",
        "y = torch.tensor([1.0], require_grad=True)\n",
        "p = nn.Parameter(torch.zeros(3), require_grad=False)\n",
        "from torch import ones\ny = ones(2, require_grad=True)\n",
        # still a TypeError when the right spelling is given too
        "y = torch.zeros(3, require_grad=True, requires_grad=False)\n",
        "p = nn.Parameter(torch.zeros(3), False, require_grad=True)\n",
    ],
)
def test_tl303_flags_misspelling(body):
    assert found(body, "TL303") == ["TL303"]


@pytest.mark.parametrize(
    "body",
    [
        "p.requires_grad = False\n",
        "y = torch.zeros(3, requires_grad=True)\n",
        # a class's own flag with that name
        "class Cfg:\n    def __init__(self):\n        self.require_grad = True\n",
        # not a tensor
        "x = [1]\nx.require_grad = False\n",
        # functions that do not take requires_grad at all, or are not torch
        "y = torch.sum(x, require_grad=True)\n",
        "y = build(require_grad=True)\n",
        "flag = p.require_grad\n",
    ],
)
def test_tl303_ignores_lookalikes(body):
    assert found(body, "TL303") == []


def test_tl303_fixes():
    assert fixed("y = torch.zeros(3, require_grad=True)\n", "TL303") == "y = torch.zeros(3, requires_grad=True)\n"
    assert fixed("w = torch.zeros(3)\nw.require_grad = True\n", "TL303") == "w = torch.zeros(3)\nw.requires_grad = True\n"
    # unknown receiver: the rename is unsafe
    loop = "for p in model.parameters():\n    p.require_grad = False\n"
    assert only(loop, "TL303").fix.applicability is Applicability.UNSAFE
    assert fixed(loop, "TL303") == loop
    assert fixed(loop, "TL303", unsafe=True) == loop.replace("require_grad", "requires_grad")


@pytest.mark.parametrize(
    "body",
    [
        # renaming would pass `requires_grad` twice (a SyntaxError / TypeError)
        "y = torch.zeros(3, require_grad=True, requires_grad=False)\n",
        "y = torch.zeros(3, requires_grad=False, require_grad=True)\n",
        "p = nn.Parameter(torch.zeros(3), False, require_grad=True)\n",
    ],
)
def test_tl303_no_fix_when_requires_grad_is_already_given(body):
    diagnostic = only(body, "TL303")
    assert diagnostic.fix is None
    assert "already given" in diagnostic.message
    assert fixed(body, "TL303") == body
    assert fixed(body, "TL303", unsafe=True) == body


@pytest.mark.parametrize(
    "body",
    [
        # `**kwargs` / `*args` might carry it
        "y = torch.zeros(3, require_grad=True, **opts)\n",
        "p = nn.Parameter(*args, require_grad=True)\n",
    ],
)
def test_tl303_no_fix_when_requires_grad_might_be_given(body):
    diagnostic = only(body, "TL303")
    assert diagnostic.fix is None
    assert fixed(body, "TL303", unsafe=True) == body


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("p = nn.Parameter(torch.zeros(3), require_grad=False)\n", "p = nn.Parameter(torch.zeros(3), requires_grad=False)\n"),
        ("y = torch.zeros(2, 3, require_grad=True)\n", "y = torch.zeros(2, 3, requires_grad=True)\n"),
        ("y = torch.zeros(*shape, require_grad=True)\n", "y = torch.zeros(*shape, requires_grad=True)\n"),
    ],
)
def test_tl303_keyword_fix(before, after):
    assert fixed(before, "TL303") == after


# -- TL304 torch-load-unsafe ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "version"),
    [
        ("sd = torch.load(path, weights_only=False)\n", None),
        ("sd = torch.load(path, weights_only=False)\n", "2.7"),
        ("sd = torch.load(path)\n", "2.5"),
        ("sd = torch.load(path, map_location='cpu')\n", "1.13"),
        ("sd = torch.load(path, weights_only=None)\n", "2.4"),
        ("from torch import load\nsd = load(path)\n", "2.0"),
        # weights_only=False is unsafe even inside safe_globals and in a fallback
        (
            "with torch.serialization.safe_globals([Foo]):\n    sd = torch.load(path, weights_only=False)\n",
            None,
        ),
        (
            "try:\n    sd = torch.load(path, weights_only=True)\n"
            "except Exception:\n    sd = torch.load(path, weights_only=False)\n",
            None,
        ),
        # a TypeError handler elsewhere does not shield a later call
        ("try:\n    pass\nexcept TypeError:\n    pass\nsd = torch.load(path)\n", "2.5"),
    ],
)
def test_tl304_flags(body, version):
    assert found(body, "TL304", target_torch_version=version) == ["TL304"]


@pytest.mark.parametrize(
    ("body", "version"),
    [
        ("sd = torch.load(path)\n", None),
        ("sd = torch.load(path)\n", "2.6"),
        ("sd = torch.load(path, weights_only=True)\n", "2.0"),
        ("sd = torch.load(path, weights_only=flag)\n", "2.0"),
        ("sd = torch.load(path, **kwargs)\n", "2.0"),
        ("with torch.serialization.safe_globals([Foo]):\n    sd = torch.load(path)\n", "2.5"),
        (
            "from torch.serialization import safe_globals\n"
            "with open(p) as f, safe_globals([Foo]):\n    sd = torch.load(f)\n",
            "2.5",
        ),
        (
            "try:\n    sd = torch.load(path, weights_only=True)\n"
            "except TypeError:\n    sd = torch.load(path)\n",
            "1.12",
        ),
        (
            "try:\n    sd = torch.load(path, weights_only=True)\n"
            "except (TypeError, ValueError):\n    sd = torch.load(path)\n",
            "2.0",
        ),
        ("import pickle\nsd = pickle.load(f)\n", "2.0"),
        ("sd = np.load(path)\n", "2.0"),
    ],
)
def test_tl304_ignores(body, version):
    assert found(body, "TL304", target_torch_version=version) == []


def test_tl304_fixes():
    # no fix for an explicit False
    assert only("sd = torch.load(path, weights_only=False)\n", "TL304").fix is None
    # missing: an unsafe fix, from 1.13 (where the argument exists)
    missing = "sd = torch.load(path)\n"
    assert fixed(missing, "TL304", target_torch_version="2.5") == missing
    assert fixed(missing, "TL304", unsafe=True, target_torch_version="2.5") == "sd = torch.load(path, weights_only=True)\n"
    assert only(missing, "TL304", target_torch_version="1.12").fix is None


# -- TL305 deprecated-torch-api ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "x = torch.solve(b, a)\n",
        "e = torch.symeig(a)\n",
        "q, r = torch.qr(a)\n",
        "n = torch.norm(x, dim=1)\n",
        "r = torch.range(0, 10)\n",
        "m = torch.chain_matmul(a, b, c)\n",
        "up = nn.UpsamplingBilinear2d(scale_factor=2)\n",
        "torch.testing.assert_allclose(a, b)\n",
        "with torch.cuda.amp.autocast():\n    pass\n",
        "with torch.cpu.amp.autocast(dtype=torch.bfloat16):\n    pass\n",
        "scaler = torch.cuda.amp.GradScaler()\n",
        "from torch.cuda.amp import GradScaler\nscaler = GradScaler()\n",
        "from torch.cuda.amp import custom_fwd\n@custom_fwd\ndef f(ctx, x):\n    return x\n",
        "@torch.cuda.amp.custom_bwd\ndef f(ctx, g):\n    return g\n",
        "import functorch\ny = functorch.vmap(f)(x)\n",
        "from functorch import grad\ng = grad(f)(x)\n",
        "from torch.utils.data._utils.collate import default_collate\nb = default_collate(items)\n",
        "with torch.backends.cuda.sdp_kernel(enable_flash=False):\n    pass\n",
    ],
)
def test_tl305_flags(body):
    assert found(body, "TL305") == ["TL305"]


@pytest.mark.parametrize(
    "body",
    [
        "q, r = torch.linalg.qr(a)\n",
        "n = torch.linalg.vector_norm(x)\n",
        "def f(x: torch.Tensor):\n    return x.norm(dim=1)\n",
        "r = torch.arange(0, 10)\n",
        "r = range(0, 10)\n",
        "with torch.amp.autocast('cuda'):\n    pass\n",
        "with torch.autocast('cuda'):\n    pass\n",
        "scaler = torch.amp.GradScaler('cuda')\n",
        "from torch.utils.data import default_collate\nb = default_collate(items)\n",
        "import numpy as np\nq, r = np.linalg.qr(a)\n",
        "def qr(a):\n    return a\nq = qr(a)\n",
        "fn = torch.qr\n",
    ],
)
def test_tl305_ignores(body):
    assert found(body, "TL305") == []


def test_tl305_respects_target_version():
    # torch.amp.custom_fwd(device_type=...) only exists from 2.4
    assert found("with torch.cuda.amp.autocast():\n    pass\n", "TL305", target_torch_version="2.3") == []
    assert found("with torch.cuda.amp.autocast():\n    pass\n", "TL305", target_torch_version="2.4") == ["TL305"]
    # removed functions are always reported
    assert found("x = torch.solve(b, a)\n", "TL305", target_torch_version="1.8") == ["TL305"]


def test_tl305_messages():
    assert "removed" in only("x = torch.lstsq(b, a)\n", "TL305").message
    assert "non-public" in only(
        "import torch.utils.data._utils.collate as c\nb = c.default_convert(x)\n", "TL305"
    ).message
    assert "`torch.linalg.qr`" in only("q = torch.qr(a)\n", "TL305").message


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("q, r = torch.qr(a)\n", "q, r = torch.linalg.qr(a)\n"),
        ("q, r = torch.qr(a, some=False)\n", "q, r = torch.qr(a, some=False)\n"),
        ("l = torch.cholesky(a)\n", "l = torch.linalg.cholesky(a)\n"),
        ("o = torch.ger(a, b)\n", "o = torch.outer(a, b)\n"),
        ("m = torch.chain_matmul(a, b, c)\n", "m = torch.linalg.multi_dot([a, b, c])\n"),
        ("m = torch.chain_matmul(a)\n", "m = torch.chain_matmul(a)\n"),
        ("m = torch.chain_matmul(*ms)\n", "m = torch.chain_matmul(*ms)\n"),
        ("r = torch.range(0, 4)\n", "r = torch.arange(0, 5, dtype=torch.get_default_dtype())\n"),
        ("r = torch.range(0, 5, 2)\n", "r = torch.arange(0, 6, 2, dtype=torch.get_default_dtype())\n"),
        ("r = torch.range(4, 0, -1)\n", "r = torch.arange(4, -1, -1, dtype=torch.get_default_dtype())\n"),
        ("r = torch.range(1, 3, dtype=torch.long)\n", "r = torch.arange(1, 4, dtype=torch.long)\n"),
        ("r = torch.range(0, n)\n", "r = torch.range(0, n)\n"),
        ("r = torch.range(0, 1, 0.25)\n", "r = torch.range(0, 1, 0.25)\n"),
        ("with torch.cuda.amp.autocast():\n    pass\n", 'with torch.amp.autocast("cuda"):\n    pass\n'),
        (
            "with torch.cuda.amp.autocast(enabled=False):\n    pass\n",
            'with torch.amp.autocast("cuda", enabled=False):\n    pass\n',
        ),
        (
            "with torch.cuda.amp.autocast(True, torch.bfloat16):\n    pass\n",
            'with torch.amp.autocast("cuda", enabled=True, dtype=torch.bfloat16):\n    pass\n',
        ),
        ("with torch.cpu.amp.autocast():\n    pass\n", 'with torch.amp.autocast("cpu"):\n    pass\n'),
        ("s = torch.cuda.amp.GradScaler(2.0**16)\n", 's = torch.amp.GradScaler("cuda", 2.0**16)\n'),
        (
            "from torch.cuda.amp import GradScaler\ns = GradScaler(enabled=amp)\n",
            'from torch.cuda.amp import GradScaler\ns = torch.amp.GradScaler("cuda", enabled=amp)\n',
        ),
        (
            "@torch.cuda.amp.custom_fwd\ndef f(ctx, x):\n    return x\n",
            '@torch.amp.custom_fwd(device_type="cuda")\ndef f(ctx, x):\n    return x\n',
        ),
        (
            "@torch.cuda.amp.custom_fwd(cast_inputs=torch.float32)\ndef f(ctx, x):\n    return x\n",
            '@torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)\ndef f(ctx, x):\n    return x\n',
        ),
        ("import functorch\ny = functorch.vmap(f)(x)\n", "import functorch\ny = torch.func.vmap(f)(x)\n"),
        (
            "b = torch.utils.data._utils.collate.default_collate(items)\n",
            "b = torch.utils.data.default_collate(items)\n",
        ),
        # replacements that change semantics are never applied
        ("n = torch.norm(x)\n", "n = torch.norm(x)\n"),
        ("u, s, v = torch.svd(a)\n", "u, s, v = torch.svd(a)\n"),
    ],
)
def test_tl305_fix(before, after):
    assert fixed(before, "TL305") == after


def test_tl305_no_fix_without_a_torch_name():
    source = "from functorch import vmap\ny = vmap(f)(x)\n"
    assert fix(source, select=("TL305",)) == source
    source = "import torch as th\nq = th.qr(a)\n"
    assert fix(source, select=("TL305",)) == "import torch as th\nq = th.linalg.qr(a)\n"


# -- TL306 checkpoint-without-use-reentrant ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "y = torch.utils.checkpoint.checkpoint(block, x)\n",
        "from torch.utils.checkpoint import checkpoint\ny = checkpoint(block, x, *rest)\n",
        "import torch.utils.checkpoint as cp\ny = cp.checkpoint(block, x, preserve_rng_state=False)\n",
    ],
)
def test_tl306_flags(body):
    assert found(body, "TL306") == ["TL306"]


@pytest.mark.parametrize(
    "body",
    [
        "y = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)\n",
        "y = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=True)\n",
        "y = torch.utils.checkpoint.checkpoint(block, x, **ckpt_kwargs)\n",
        "from deepspeed.checkpointing import checkpoint\ny = checkpoint(block, x)\n",
        "def checkpoint(f, x):\n    return f(x)\ny = checkpoint(block, x)\n",
        "y = torch.utils.checkpoint.checkpoint_sequential(blocks, 2, x, use_reentrant=False)\n",
    ],
)
def test_tl306_ignores(body):
    assert found(body, "TL306") == []


def test_tl306_fix_is_unsafe():
    source = "y = torch.utils.checkpoint.checkpoint(block, x)\n"
    assert only(source, "TL306").fix.applicability is Applicability.UNSAFE
    assert fixed(source, "TL306") == source
    assert fixed(source, "TL306", unsafe=True) == "y = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)\n"
    multi = "y = torch.utils.checkpoint.checkpoint(\n    block,\n    x,\n)\n"
    assert fixed(multi, "TL306", unsafe=True) == (
        "y = torch.utils.checkpoint.checkpoint(\n    block,\n    x,\n    use_reentrant=False,\n)\n"
    )


# -- TL402 dataloader-num-workers -------------------------------------------------------------


def test_tl402_is_off_by_default():
    body = "from torch.utils.data import DataLoader\nl = DataLoader(ds)\n"
    assert "TL402" not in default_codes(body)
    assert found(body, "TL402") == ["TL402"]


@pytest.mark.parametrize(
    "body",
    [
        "from torch.utils.data import DataLoader\nl = DataLoader(ds, batch_size=4)\n",
        "l = torch.utils.data.DataLoader(ds, 4, True)\n",
        "from torch.utils.data.dataloader import DataLoader\nl = DataLoader(ds)\n",
    ],
)
def test_tl402_flags(body):
    assert found(body, "TL402") == ["TL402"]


@pytest.mark.parametrize(
    "body",
    [
        "l = torch.utils.data.DataLoader(ds, num_workers=4)\n",
        "l = torch.utils.data.DataLoader(ds, num_workers=0)\n",
        "l = torch.utils.data.DataLoader(ds, 4, True, None, None, 2)\n",
        "l = torch.utils.data.DataLoader(ds, **loader_kwargs)\n",
        "l = torch.utils.data.DataLoader(*args)\n",
        "from mylib import DataLoader\nl = DataLoader(ds)\n",
    ],
)
def test_tl402_ignores(body):
    assert found(body, "TL402") == []


# -- TL403 clone-detach-order -----------------------------------------------------------------


def test_tl403_is_off_by_default():
    body = "y = torch.randn(3).clone().detach()\n"
    assert "TL403" not in default_codes(body)
    assert found(body, "TL403") == ["TL403"]


@pytest.mark.parametrize(
    "body",
    [
        "y = torch.randn(3).clone().detach()\n",
        "def f(x):\n    return x.clone().detach()\n",
        "def f(x):\n    return x.clone(memory_format=torch.contiguous_format).detach()\n",
    ],
)
def test_tl403_flags(body):
    assert found(body, "TL403") == ["TL403"]


@pytest.mark.parametrize(
    "body",
    [
        "def f(x):\n    return x.detach().clone()\n",
        "def f(x):\n    return x.clone()\n",
        "def f(x):\n    return x.clone().detach_()\n",
        "y = [1].clone().detach()\n",
        "def f(x):\n    return x.clone().cpu().detach()\n",
    ],
)
def test_tl403_ignores(body):
    assert found(body, "TL403") == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("def f(x):\n    return x.clone().detach()\n", "def f(x):\n    return x.detach().clone()\n"),
        (
            "def f(x):\n    return x.clone(memory_format=torch.contiguous_format).detach()\n",
            "def f(x):\n    return x.detach().clone(memory_format=torch.contiguous_format)\n",
        ),
        ("def f(a, b):\n    return (a + b).clone().detach()\n", "def f(a, b):\n    return (a + b).detach().clone()\n"),
        ("def f(x):\n    return (x.clone().detach()).sum()\n", "def f(x):\n    return (x.detach().clone()).sum()\n"),
    ],
)
def test_tl403_fix(before, after):
    assert fixed(before, "TL403") == after
