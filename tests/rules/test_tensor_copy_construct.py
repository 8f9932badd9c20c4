"""TL001 tensor-copy-construct: tensor inference (parameters, op results, aliases) and the fix."""

from __future__ import annotations

import pytest

from lintutil import codes, fix, lint

HEADER = "import torch\nimport torch.nn as nn\nimport numpy as np\n"


def found(body: str) -> list[str]:
    return codes(HEADER + body, select=("TL001",))


def fixed(body: str) -> str:
    return fix(HEADER + body, select=("TL001",))[len(HEADER):]


def module(init: str, forward: str) -> str:
    """A Module whose __init__ and forward bodies are given (one statement per line)."""
    indent = lambda text: "".join(f"        {line}\n" for line in text.splitlines())  # noqa: E731
    return (
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        f"{indent(init)}"
        "    def forward(self, x):\n"
        f"{indent(forward)}"
    )


# -- positives ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        # op results and tensor methods
        "y = torch.tensor(torch.randn(3))\n",
        "y = torch.tensor(torch.zeros(2, 3).float())\n",
        "def f(x: torch.Tensor):\n    return torch.tensor(x.sum(dim=0))\n",
        "def f(x: torch.Tensor):\n    return torch.tensor(x[0] * 2)\n",
        "def f(a: torch.Tensor, b: torch.Tensor):\n    return torch.tensor(a @ b)\n",
        "y = torch.tensor(torch.cat([torch.ones(1), torch.ones(2)]))\n",
        # aliases
        "t = torch.randn(3)\nu = t\ny = torch.tensor(u)\n",
        "def f(x: torch.Tensor):\n    t = x\n    return torch.tensor(t)\n",
        "def f(x: torch.Tensor):\n    y = torch.tensor(data=x)\n",
        # import styles
        "from torch import tensor, randn\ny = tensor(randn(2))\n",
        "import torch as th\ny = th.tensor(th.ones(2))\n",
        # parameters and buffers
        module("self.fc = nn.Linear(3, 4)", "return torch.tensor(self.fc.weight)"),
        module("self.fc = nn.Linear(3, 4)", "return torch.tensor(self.fc.bias)"),
        module("self.fc = nn.Linear(3, 4, bias=True)", "return torch.tensor(self.fc.bias)"),
        module("self.conv = torch.nn.Conv2d(3, 8, 3)", "return torch.tensor(self.conv.weight)"),
        module("self.emb = nn.Embedding(10, 4)", "return torch.tensor(self.emb.weight)"),
        module("self.bn = nn.BatchNorm1d(4)", "return torch.tensor(self.bn.running_mean)"),
        module("self.ln = nn.LayerNorm(4)", "return torch.tensor(self.ln.bias)"),
        module("self.w = nn.Parameter(torch.zeros(3))", "return torch.tensor(self.w)"),
        module("self.register_buffer('mask', torch.ones(3))", "return torch.tensor(self.mask)"),
        module("self.register_buffer(name='mask', tensor=torch.ones(3), persistent=False)", "return torch.tensor(self.mask)"),
        module("self.scale = torch.tensor(1.0)", "return torch.tensor(self.scale)"),
        module("self.w = nn.Parameter(torch.zeros(3))", "w = self.w\nreturn torch.tensor(w)"),
        # in a nested function, `self` is still the instance
        module("self.fc = nn.Linear(3, 4)", "def g():\n    return torch.tensor(self.fc.weight)\nreturn g()"),
    ],
)
def test_flags_tensors(body):
    assert found(body) == ["TL001"]


# -- negatives ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        # data that is not a tensor
        "y = torch.tensor([1, 2, 3])\n",
        "y = torch.tensor(3.0)\n",
        "y = torch.tensor(np.zeros(3))\n",
        "y = torch.tensor(np.arange(3) + 1)\n",
        "def f(x: torch.Tensor):\n    return torch.tensor(x.tolist())\n",
        "def f(x: torch.Tensor):\n    return torch.tensor(x.item())\n",
        "def f(x: torch.Tensor):\n    return torch.tensor(x.shape)\n",
        "def f(x: torch.Tensor):\n    return torch.tensor(x.size())\n",
        "def f(x: torch.Tensor):\n    return torch.tensor(len(x))\n",
        "def f(x: torch.Tensor):\n    return torch.tensor(x.numpy())\n",
        # unknown values
        "def f(x):\n    return torch.tensor(x)\n",
        "def f(x):\n    return torch.tensor(x + 1)\n",
        "def f(xs):\n    for x in xs:\n        torch.tensor(x)\n",
        "from typing import Optional\ndef f(x: Optional[torch.Tensor]):\n    return torch.tensor(x)\n",
        "def f(x: 'torch.Tensor'):\n    return torch.tensor(x)\n",
        "def f(x: torch.Tensor | None):\n    return torch.tensor(x)\n",
        # an alias whose name is re-bound to a list on another path
        "def f(c):\n    t = torch.randn(3)\n    if c:\n        t = [1.0]\n    return torch.tensor(t)\n",
        # not torch.tensor
        "def tensor(x):\n    return x\ny = tensor(torch.randn(3))\n",
        "from torch import tensor\ndef tensor(x):\n    return x\ny = tensor(torch.randn(3))\n",
        "def f(torch):\n    return torch.tensor(torch.randn(3))\n",
        "torch = object()\ny = torch.tensor(torch.randn(3))\n",
        # parameters that may be None, or layers that are not known
        module("self.fc = nn.Linear(3, 4, bias=False)", "return torch.tensor(self.fc.bias)"),
        module("self.fc = nn.Linear(3, 4, False)", "return torch.tensor(self.fc.bias)"),
        module("self.fc = nn.Linear(3, 4, bias=use_bias)", "return torch.tensor(self.fc.bias)"),
        module("self.ln = nn.LayerNorm(4, elementwise_affine=False)", "return torch.tensor(self.ln.weight)"),
        module("self.bn = nn.BatchNorm1d(4, affine=False)", "return torch.tensor(self.bn.bias)"),
        module("self.bn = nn.BatchNorm1d(4, track_running_stats=False)", "return torch.tensor(self.bn.running_mean)"),
        module("self.fc = make_layer()", "return torch.tensor(self.fc.weight)"),
        module("self.fc = nn.Linear(3, 4)", "return torch.tensor(self.fc.weight_scale)"),
        # attributes assigned something else somewhere in the class
        module("self.w = nn.Parameter(torch.zeros(3))\nself.w = None", "return torch.tensor(self.w)"),
        module("self.register_buffer('b', None)", "return torch.tensor(self.b)"),
        module("self.w = torch.zeros(3)", "self.w = x.tolist()\nreturn torch.tensor(self.w)"),
        module("self.w = torch.zeros(3)\nsetattr(self, name, value)", "return torch.tensor(self.w)"),
        module("self.w = torch.zeros(3)\nself.register_buffer(key, value)", "return torch.tensor(self.w)"),
        module("self.w = torch.zeros(3)\ndel self.w", "return torch.tensor(self.w)"),
        module("self.w = w", "return torch.tensor(self.w)"),
        module("self.w, self.v = torch.zeros(3), torch.ones(3)", "return torch.tensor(self.w)"),
        # `self` re-bound, or a different object
        module("self.w = torch.zeros(3)", "self = other\nreturn torch.tensor(self.w)"),
        module("self.w = torch.zeros(3)", "return torch.tensor(x.w)"),
    ],
)
def test_ignores_non_tensors(body):
    assert found(body) == []


def test_property_with_same_name_is_unknown():
    body = (
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self._w = torch.zeros(3)\n"
        "        self.w = torch.zeros(3)\n"
        "    @property\n"
        "    def w(self):\n"
        "        return [1.0]\n"
        "    def forward(self, x):\n"
        "        return torch.tensor(self.w)\n"
    )
    assert found(body) == []


def test_local_name_in_init_does_not_leak_into_other_methods():
    # `self.w = w` where `w` is a tensor at module level but a parameter in __init__
    body = (
        "w = torch.zeros(3)\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, w):\n"
        "        super().__init__()\n"
        "        self.w = w\n"
        "    def forward(self, x):\n"
        "        return torch.tensor(self.w)\n"
    )
    assert found(body) == []


def test_static_method_has_no_self():
    body = (
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.w = torch.zeros(3)\n"
        "    @staticmethod\n"
        "    def f(self):\n"
        "        return torch.tensor(self.w)\n"
    )
    assert found(body) == []


def test_message_names_the_source():
    (diagnostic,) = lint(HEADER + module("self.fc = nn.Linear(3, 4)", "return torch.tensor(self.fc.weight)"), select=("TL001",))
    assert "`self.fc.weight`" in diagnostic.message
    assert "detach().clone()" in diagnostic.message


# -- fixes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("x = torch.randn(3)\ny = torch.tensor(x)\n", "x = torch.randn(3)\ny = x.detach().clone()\n"),
        (
            "x = torch.randn(3)\ny = torch.tensor(x, requires_grad=True)\n",
            "x = torch.randn(3)\ny = x.detach().clone().requires_grad_(True)\n",
        ),
        (
            "x = torch.randn(3)\ny = torch.tensor(x, requires_grad=False)\n",
            "x = torch.randn(3)\ny = x.detach().clone()\n",
        ),
        (
            "x = torch.randn(3)\ny = torch.tensor(x, dtype=torch.float16)\n",
            "x = torch.randn(3)\ny = x.detach().clone().to(dtype=torch.float16)\n",
        ),
        (
            "x = torch.randn(3)\ny = torch.tensor(x, dtype=torch.half, device='cuda', requires_grad=True)\n",
            "x = torch.randn(3)\ny = x.detach().clone().to(dtype=torch.half, device='cuda').requires_grad_(True)\n",
        ),
        ("x = torch.randn(3)\ny = torch.tensor(data=x)\n", "x = torch.randn(3)\ny = x.detach().clone()\n"),
        (
            "a = torch.randn(3)\nb = torch.randn(3)\ny = torch.tensor(a + b)\n",
            "a = torch.randn(3)\nb = torch.randn(3)\ny = (a + b).detach().clone()\n",
        ),
        (
            "a = torch.randn(3)\ny = torch.tensor(-a)\n",
            "a = torch.randn(3)\ny = (-a).detach().clone()\n",
        ),
        # the call's own parentheses are kept
        (
            "x = torch.randn(3)\ny = (torch.tensor(x)).sum()\n",
            "x = torch.randn(3)\ny = (x.detach().clone()).sum()\n",
        ),
        (
            module("self.fc = nn.Linear(3, 4)", "return torch.tensor(self.fc.weight)"),
            module("self.fc = nn.Linear(3, 4)", "return self.fc.weight.detach().clone()"),
        ),
    ],
)
def test_fix(before, after):
    assert fixed(before) == after


def test_no_fix_for_other_keywords():
    (diagnostic,) = lint(HEADER + "x = torch.randn(3)\ny = torch.tensor(x, pin_memory=True)\n", select=("TL001",))
    assert diagnostic.fix is None
    source = "x = torch.randn(3)\ny = torch.tensor(x, pin_memory=True)\n"
    assert fixed(source) == source


def test_methods_returning_tuples_are_not_tensors():
    """Review finding: the safe fix turned `torch.tensor(x.max(0))` into `x.max(0).detach()`,
    an AttributeError on torch.return_types.max; split/chunk/unbind return tuples."""
    code = """
        import torch
        def f(x: torch.Tensor):
            a = torch.tensor(x.max(0))
            b = torch.tensor(x.min(dim=1))
            c = torch.tensor(x.split(1))
            d = torch.tensor(x.chunk(2))
            e = torch.tensor(x.unbind(0))
            g = torch.tensor(x.topk(1))
            return a, b, c, d, e, g
    """
    assert codes(code, select=["TL001"]) == []


def test_max_without_arguments_is_a_tensor():
    assert codes("import torch\ndef f(x: torch.Tensor):\n    return torch.tensor(x.max())\n", select=["TL001"]) == ["TL001"]


# -- isinstance narrowing (semantics/narrowing.py) ------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        # the guard proves a tensor
        "def f(x):\n    if isinstance(x, torch.Tensor):\n        return torch.tensor(x)\n",
        "from torch import Tensor\ndef f(x):\n    if isinstance(x, Tensor):\n        return torch.tensor(x)\n",
        "def f(x):\n    if torch.is_tensor(x):\n        return torch.tensor(x)\n",
        "def f(x):\n    if type(x) is torch.Tensor:\n        return torch.tensor(x)\n",
        "def f(x):\n    if isinstance(x, (torch.Tensor, nn.Parameter)):\n        return torch.tensor(x)\n",
        "def f(x):\n    if isinstance(x, nn.Parameter):\n        return torch.tensor(x)\n",
        # else of a not-tensor test, elif chains, `or` false
        "def f(x):\n    if not isinstance(x, torch.Tensor):\n        return x\n    else:\n        return torch.tensor(x)\n",
        "def f(x, c):\n    if not torch.is_tensor(x):\n        pass\n    elif c:\n        return torch.tensor(x)\n",
        "def f(x):\n    if x is None or not isinstance(x, torch.Tensor):\n        return x\n    else:\n        return torch.tensor(x)\n",
        # the rest of the block after an early exit
        "def f(x):\n    if not isinstance(x, torch.Tensor):\n        raise TypeError(x)\n    return torch.tensor(x)\n",
        "def f(x):\n    if not isinstance(x, torch.Tensor):\n        x = 1\n        return x\n    y = 2\n    return torch.tensor(x)\n",
        "def f(xs):\n    for x in xs:\n        if not isinstance(x, torch.Tensor):\n            continue\n        torch.tensor(x)\n",
        "def f(x):\n    assert isinstance(x, torch.Tensor)\n    return torch.tensor(x)\n",
        "def f(x):\n    if not isinstance(x, torch.Tensor): return None\n    return torch.tensor(x)\n",
        # conditional expressions and `and`
        "def f(x):\n    return torch.tensor(x) if isinstance(x, torch.Tensor) else x\n",
        "def f(x):\n    return isinstance(x, torch.Tensor) and torch.tensor(x)\n",
        "def f(xs):\n    return [torch.tensor(x) for x in xs if torch.is_tensor(x)]\n",
    ],
)
def test_narrowing_proves_a_tensor(body):
    assert found(body) == ["TL001"]


@pytest.mark.parametrize(
    "body",
    [
        # Real false positive (issue 7): the branch exists for lists; the old safe fix
        # rewrote it to `targets.detach().clone()`, which raises on a list.
        "def f(targets: torch.Tensor):\n    if not isinstance(targets, torch.Tensor):\n"
        "        targets = torch.tensor(targets)\n    return targets\n",
        "targets = torch.zeros(3)\nif not isinstance(targets, torch.Tensor):\n    targets = torch.tensor(targets)\n",
        "def f(x: torch.Tensor):\n    return x if isinstance(x, torch.Tensor) else torch.tensor(x)\n",
        "def f(x: torch.Tensor):\n    return torch.tensor(x) if not torch.is_tensor(x) else x\n",
        "def f(x: torch.Tensor):\n    if isinstance(x, torch.Tensor):\n        return x\n    return torch.tensor(x)\n",
        "def f(x: torch.Tensor):\n    if isinstance(x, (torch.Tensor, np.ndarray)):\n        pass\n    else:\n        return torch.tensor(x)\n",
        "def f(x: torch.Tensor):\n    if isinstance(x, (list, tuple)):\n        return torch.tensor(x)\n",
        "def f(x: torch.Tensor):\n    if type(x) is list:\n        return torch.tensor(x)\n",
        "def f(x: torch.Tensor):\n    return isinstance(x, torch.Tensor) or torch.tensor(x)\n",
        "def f(xs: torch.Tensor):\n    return [torch.tensor(x) for x in xs if not isinstance(x, torch.Tensor)]\n",
        "def f(x: torch.Tensor):\n    while not isinstance(x, torch.Tensor):\n        x = torch.tensor(x)\n",
    ],
)
def test_narrowing_proves_not_a_tensor(body):
    assert found(body) == []


@pytest.mark.parametrize(
    "body",
    [
        # look-alikes: the guard does not decide, or no longer holds where the call is
        "def f(x):\n    if isinstance(x, torch.Tensor):\n        x = x.tolist()\n        return torch.tensor(x)\n",
        "def f(x):\n    if isinstance(x, torch.Tensor):\n        for i in range(3):\n            torch.tensor(x)\n            x = [i]\n",
        "def f(x, y):\n    if isinstance(y, torch.Tensor):\n        return torch.tensor(x)\n",
        "def f(x):\n    if not isinstance(x, nn.Parameter):\n        return torch.tensor(x)\n",
        "def f(x):\n    if isinstance(x, (torch.Tensor, np.ndarray)):\n        return torch.tensor(x)\n",
        "def f(x):\n    if type(x) is not torch.Tensor:\n        return torch.tensor(x)\n",
        "def f(x):\n    if not isinstance(x, torch.Tensor):\n        print(x)\n    return torch.tensor(x)\n",
        "def f(x):\n    if not isinstance(x, torch.Tensor):\n        return x\n    x = x.tolist()\n    return torch.tensor(x)\n",
        "def f(x):\n    if isinstance(x, torch.Tensor):\n        def g():\n            return torch.tensor(x)\n        return g\n",
        "def f(x):\n    if isinstance(x, torch.Tensor):\n        return lambda: torch.tensor(x)\n",
        "def f(x, c):\n    if c or isinstance(x, torch.Tensor):\n        return torch.tensor(x)\n",
        "def f(x):\n    return torch.tensor(x) if not isinstance(x, torch.Tensor) else x\n",
        "def f(x):\n    if isinstance(x, torch.Tensor):\n        pass\n    return torch.tensor(x)\n",
        "def f(x):\n    try:\n        assert isinstance(x, torch.Tensor)\n        x = [x]\n    except AssertionError:\n        return torch.tensor(x)\n",
        "def isinstance(a, b):\n    return True\ndef f(x):\n    if isinstance(x, torch.Tensor):\n        return torch.tensor(x)\n",
        "def f(xs):\n    return (torch.tensor(x) for x in xs if torch.is_tensor(x))\n",
    ],
)
def test_narrowing_look_alikes_stay_silent(body):
    assert found(body) == []


def test_no_safe_fix_under_a_not_tensor_guard():
    """The fix rewrites only the call on a proven tensor; the one under the guard stays."""
    before = (
        "def f(targets: torch.Tensor, weights: torch.Tensor):\n"
        "    if not isinstance(targets, torch.Tensor):\n"
        "        targets = torch.tensor(targets)\n"
        "    w = torch.tensor(weights)\n"
        "    return targets, w\n"
    )
    after = before.replace("torch.tensor(weights)", "weights.detach().clone()")
    assert fixed(before) == after
    guarded_only = before.replace("    w = torch.tensor(weights)\n", "    w = weights\n")
    assert fixed(guarded_only) == guarded_only


# -- tensors known from types ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "def f(layer: nn.Linear):\n    return torch.tensor(layer.weight)\n",
        "def f(conv: torch.nn.Conv2d):\n    return torch.tensor(conv.weight)\n",
        "def make() -> torch.Tensor:\n    return load()\ny = torch.tensor(make())\n",
        "from torch import Tensor\ndef make(n) -> Tensor:\n    return load(n)\ndef g():\n    return torch.tensor(make(3))\n",
        "def make(n):\n    return torch.zeros(n)\ny = torch.tensor(make(3))\n",
        "def make(n, c):\n    if c:\n        return torch.zeros(n)\n    t = torch.ones(n)\n    return t * 2\ny = torch.tensor(make(3, True))\n",
        "def make(n):\n    if n > 1:\n        return make(n - 1)\n    return torch.zeros(1)\ny = torch.tensor(make(3))\n",
        "def make(x: torch.Tensor):\n    return x.float()\ndef g(a: torch.Tensor):\n    return torch.tensor(make(a))\n",
        "@torch.no_grad()\ndef make(n):\n    return torch.zeros(n)\ny = torch.tensor(make(3))\n",
        "def make(n): return torch.zeros(n)\ny = torch.tensor(make(3))\n",
    ],
)
def test_tensors_known_from_types_and_returns(body):
    assert found(body) == ["TL001"]


@pytest.mark.parametrize(
    "body",
    [
        "def f(layer: nn.Linear):\n    return torch.tensor(layer.bias)\n",  # bias=False is possible
        "def f(layer: MyLinear):\n    return torch.tensor(layer.weight)\n",
        "def f(layer):\n    return torch.tensor(layer.weight)\n",
        "def f(layer: nn.Linear):\n    layer = other()\n    return torch.tensor(layer.weight)\n",
        "from typing import Optional\ndef make() -> Optional[torch.Tensor]:\n    return None\ny = torch.tensor(make())\n",
        "def make() -> list:\n    return load()\ny = torch.tensor(make())\n",
        "def make(n):\n    if n:\n        return torch.zeros(n)\ny = torch.tensor(make(3))\n",  # may return None
        "def make(n):\n    return [n]\ny = torch.tensor(make(3))\n",
        "def make(n):\n    return torch.zeros(n).tolist()\ny = torch.tensor(make(3))\n",
        "def make(n):\n    yield torch.zeros(n)\ny = torch.tensor(make(3))\n",
        "async def make(n):\n    return torch.zeros(n)\ny = torch.tensor(make(3))\n",
        "@cache_result\ndef make(n):\n    return torch.zeros(n)\ny = torch.tensor(make(3))\n",
        "def make(n):\n    return n\ny = torch.tensor(make(3))\n",
        "def make(n):\n    return make(n)\ny = torch.tensor(make(3))\n",
        "def make(n):\n    return torch.zeros(n)\ndef make(n):\n    return [n]\ny = torch.tensor(make(3))\n",
        "def make(n):\n    def inner():\n        return torch.zeros(n)\n    return inner\ny = torch.tensor(make(3))\n",
    ],
)
def test_types_and_returns_that_prove_nothing(body):
    assert found(body) == []


@pytest.mark.parametrize(("answer", "expected"), [("tensor", ["TL001"]), ("probability", ["TL001"]), ("module", []), (None, [])])
def test_functions_of_other_files_ask_the_project(monkeypatch, answer, expected):
    from tensorlint.semantics import project

    asked = []

    def function_returns(self, qualname):
        asked.append(qualname)
        return answer if qualname == "mypkg.ops.make" else None

    monkeypatch.setattr(project.ProjectView, "function_returns", function_returns)
    assert found("from mypkg.ops import make\ny = torch.tensor(make(3))\n") == expected
    assert "mypkg.ops.make" in asked


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("    def make(self) -> torch.Tensor:\n        return load()\n", ["TL001"]),
        ("    @torch.no_grad()\n    def make(self) -> torch.Tensor:\n        return load()\n", ["TL001"]),
        # only the annotation counts for methods: a subclass may override the body
        ("    def make(self):\n        return torch.zeros(3)\n", []),
        ("    def make(self) -> list:\n        return load()\n", []),
        ("    @property\n    def make(self) -> torch.Tensor:\n        return load()\n", []),
        ("    def make(self) -> 'torch.Tensor':\n        return load()\n", []),
        ("    def make(self) -> torch.Tensor:\n        return load()\n    make = other\n", []),
    ],
)
def test_methods_called_on_self_by_annotation(method, expected):
    body = (
        "class Net(nn.Module):\n"
        f"{method}"
        "    def forward(self, x):\n"
        "        return torch.tensor(self.make())\n"
    )
    assert found(body) == expected


def test_narrowing_serves_every_rule_that_asks_about_tensors():
    """TL302 checks keywords of Tensor methods only on proven tensors: the guard decides."""
    guarded = "import torch\ndef f(x):\n    if isinstance(x, torch.Tensor):\n        return x.view(1, foo=2)\n"
    assert codes(guarded, select=("TL302",)) == ["TL302"]
    not_tensor = "import torch\ndef f(x: torch.Tensor):\n    if not isinstance(x, torch.Tensor):\n        return x.view(1, foo=2)\n"
    assert codes(not_tensor, select=("TL302",)) == []
