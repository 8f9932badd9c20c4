"""TL201-TL206: numerics rules (sigmoid/softmax before losses, log of softmax, TorchFix parity)."""

from __future__ import annotations

import pytest

from lintutil import codes, fix, lint

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def found(body: str, code: str) -> list[str]:
    return [c for c in codes(HEADER + body, select=(code,))]


def fixed(body: str, code: str, unsafe: bool = False) -> str:
    return fix(HEADER + body, select=(code,), unsafe=unsafe)[len(HEADER):]


# -- TL201 sigmoid-then-bce -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "loss = F.binary_cross_entropy(torch.sigmoid(z), y)\n",
        "loss = F.binary_cross_entropy(F.sigmoid(z), y, reduction='sum')\n",
        "loss = torch.nn.functional.binary_cross_entropy(z.sigmoid(), y)\n",
        "loss = F.binary_cross_entropy(input=torch.special.expit(z), target=y)\n",
        "loss = nn.BCELoss()(torch.sigmoid(z), y)\n",
        "def f(z, y):\n    p = torch.sigmoid(z)\n    return F.binary_cross_entropy(p, y)\n",
        "def f(z, y):\n    p = torch.sigmoid(z)\n    q = p\n    return F.binary_cross_entropy(q, y)\n",
        "def f(z, y):\n    criterion = nn.BCELoss(reduction='none')\n    return criterion(z.sigmoid(), y)\n",
        "def f(z, y):\n    return nn.BCELoss()(nn.Sigmoid()(z), y)\n",
        # loss object and activation module on self, assigned in __init__
        (
            "class M(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.act = nn.Sigmoid()\n"
            "        if True:\n"
            "            self.loss = nn.BCELoss()\n"
            "    def forward(self, x, y):\n"
            "        return self.loss(self.act(x), y)\n"
        ),
        # __init__ defined after the method that uses it
        (
            "class M(nn.Module):\n"
            "    def forward(self, x, y):\n"
            "        return self.loss(torch.sigmoid(x), y)\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.loss = nn.BCELoss()\n"
        ),
        "from torch.nn import BCELoss\nfrom torch import sigmoid\nloss = BCELoss()(sigmoid(z), y)\n",
    ],
)
def test_sigmoid_then_bce_positive(body):
    assert found(body, "TL201") == ["TL201"]


@pytest.mark.parametrize(
    "body",
    [
        "loss = F.binary_cross_entropy_with_logits(z, y)\n",
        "loss = F.binary_cross_entropy(probs, y)\n",
        "loss = F.binary_cross_entropy(torch.sigmoid(z).clamp(1e-6, 1 - 1e-6), y)\n",
        "loss = nn.BCEWithLogitsLoss()(torch.sigmoid(z), y)\n",  # wrong too, but another bug
        "loss = nn.MSELoss()(torch.sigmoid(z), y)\n",
        "loss = F.binary_cross_entropy(y, torch.sigmoid(z))\n",  # the sigmoid is the target
        "loss = F.binary_cross_entropy(torch.softmax(z, -1), y)\n",
        # p is re-bound: not always a sigmoid output
        "def f(z, y, c):\n    p = torch.sigmoid(z)\n    if c:\n        p = z\n    return F.binary_cross_entropy(p, y)\n",
        # p is a parameter: unknown
        "def f(p, y):\n    return F.binary_cross_entropy(p, y)\n",
        # criterion may be something else
        "def f(z, y, criterion):\n    return criterion(torch.sigmoid(z), y)\n",
        (
            "class M(nn.Module):\n"
            "    def __init__(self, loss):\n"
            "        super().__init__()\n"
            "        self.loss = nn.BCELoss()\n"
            "        if loss:\n"
            "            self.loss = loss\n"
            "    def forward(self, x, y):\n"
            "        return self.loss(torch.sigmoid(x), y)\n"
        ),
        # a custom `sigmoid` that is not torch's
        "def sigmoid(v):\n    return v\nloss = F.binary_cross_entropy(sigmoid(z), y)\n",
        # numpy: not a tensor method
        "import numpy as np\nloss = F.binary_cross_entropy(np.zeros(3).sigmoid(), y)\n",
        # self.sigmoid is a method of the class, not an nn.Sigmoid
        (
            "class M(nn.Module):\n"
            "    def sigmoid(self, x):\n"
            "        return x\n"
            "    def forward(self, x, y):\n"
            "        return F.binary_cross_entropy(self.sigmoid(x), y)\n"
        ),
    ],
)
def test_sigmoid_then_bce_negative(body):
    assert found(body, "TL201") == []


def test_sigmoid_then_bce_fix_functional():
    assert (
        fixed("loss = F.binary_cross_entropy(torch.sigmoid(z), y, weight=w, reduction='sum')\n", "TL201", unsafe=True)
        == "loss = F.binary_cross_entropy_with_logits(z, y, weight=w, reduction='sum')\n"
    )
    assert (
        fixed("loss = F.binary_cross_entropy(input=(a + b).sigmoid(), target=y)\n", "TL201", unsafe=True)
        == "loss = F.binary_cross_entropy_with_logits(input=a + b, target=y)\n"
    )


def test_sigmoid_then_bce_fix_module_and_spelling():
    assert fixed("loss = nn.BCELoss(reduction='none')(torch.sigmoid(z), y)\n", "TL201", unsafe=True) == (
        "loss = nn.BCEWithLogitsLoss(reduction='none')(z, y)\n"
    )
    src = "from torch.nn.functional import binary_cross_entropy\nloss = binary_cross_entropy(torch.sigmoid(z), y)\n"
    assert fixed(src, "TL201", unsafe=True) == (
        "from torch.nn.functional import binary_cross_entropy\n"
        "loss = F.binary_cross_entropy_with_logits(z, y)\n"
    )


def test_sigmoid_then_bce_fix_is_unsafe_and_limited():
    body = "loss = F.binary_cross_entropy(torch.sigmoid(z), y)\n"
    assert fixed(body, "TL201") == body  # unsafe: not applied by default
    # through a variable or a bound loss object: reported, never fixed
    for body in (
        "def f(z, y):\n    p = torch.sigmoid(z)\n    return F.binary_cross_entropy(p, y)\n",
        "def f(z, y):\n    c = nn.BCELoss()\n    return c(torch.sigmoid(z), y)\n",
        "loss = F.binary_cross_entropy(torch.sigmoid(z, out=o), y)\n",
    ):
        (diag,) = lint(HEADER + body, select=("TL201",))
        assert diag.fix is None
        assert fixed(body, "TL201", unsafe=True) == body


# -- TL202 softmax-then-cross-entropy ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "loss = F.cross_entropy(F.softmax(x, dim=1), y)\n",
        "loss = F.cross_entropy(torch.softmax(x, 1), y, label_smoothing=0.1)\n",
        "loss = nn.CrossEntropyLoss()(x.softmax(-1), y)\n",
        "loss = nn.CrossEntropyLoss()(nn.Softmax(dim=1)(x), y)\n",
        "def f(x, y):\n    probs = x.softmax(dim=-1)\n    return F.cross_entropy(probs, y)\n",
        "def f(x, y):\n    ce = nn.CrossEntropyLoss(ignore_index=-100)\n    return ce(F.softmax(x, -1), y)\n",
        (
            "class M(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.softmax = nn.Softmax(dim=-1)\n"
            "        self.criterion = nn.CrossEntropyLoss()\n"
            "    def forward(self, x, y):\n"
            "        return self.criterion(self.softmax(x), y)\n"
        ),
    ],
)
def test_softmax_then_cross_entropy_positive(body):
    assert found(body, "TL202") == ["TL202"]


@pytest.mark.parametrize(
    "body",
    [
        "loss = F.cross_entropy(x, y)\n",
        # soft labels / distillation: the softmax is the target
        "loss = F.cross_entropy(student, F.softmax(teacher / t, dim=-1))\n",
        "loss = nn.CrossEntropyLoss()(x, target=x.softmax(-1))\n",
        "loss = F.nll_loss(F.log_softmax(x, 1), y)\n",
        "loss = F.cross_entropy(F.log_softmax(x, 1), y)\n",
        "loss = F.kl_div(F.log_softmax(x, 1), F.softmax(t, 1))\n",
        "def f(x, y, c):\n    probs = x.softmax(-1)\n    if c:\n        probs = x\n    return F.cross_entropy(probs, y)\n",
        "def f(loss_fn, x, y):\n    return loss_fn(x.softmax(-1), y)\n",
        # an object with its own `.softmax(...)` taking a non-dim argument
        "loss = F.cross_entropy(head.softmax(hidden), y)\n",
        "import scipy.special\nloss = F.cross_entropy(scipy.special.softmax(x), y)\n",
    ],
)
def test_softmax_then_cross_entropy_negative(body):
    assert found(body, "TL202") == []


def test_softmax_then_cross_entropy_fix():
    assert fixed("loss = F.cross_entropy(F.softmax(x, dim=1), y)\n", "TL202", unsafe=True) == (
        "loss = F.cross_entropy(x, y)\n"
    )
    assert fixed("loss = nn.CrossEntropyLoss()(logits.softmax(-1), y)\n", "TL202", unsafe=True) == (
        "loss = nn.CrossEntropyLoss()(logits, y)\n"
    )
    # not applied without unsafe fixes
    body = "loss = F.cross_entropy(F.softmax(x, dim=1), y)\n"
    assert fixed(body, "TL202") == body
    # dtype= would be silently lost: report without a fix
    body = "loss = F.cross_entropy(F.softmax(x, dim=1, dtype=torch.float32), y)\n"
    (diag,) = lint(HEADER + body, select=("TL202",))
    assert diag.fix is None
    # through a variable: no fix
    body = "def f(x, y):\n    p = F.softmax(x, 1)\n    return F.cross_entropy(p, y)\n"
    (diag,) = lint(HEADER + body, select=("TL202",))
    assert diag.fix is None


# -- TL203 log-of-softmax ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "y = torch.log(F.softmax(x, dim=-1))\n",
        "y = F.softmax(x, -1).log()\n",
        "y = torch.log(torch.softmax(x, 1))\n",
        "y = x.softmax(1).log()\n",
        "y = torch.log(torch.sigmoid(x))\n",
        "y = torch.sigmoid(x).log()\n",
        "y = torch.log(nn.Softmax(dim=1)(x))\n",
        "def f(x):\n    p = F.softmax(x, -1)\n    return torch.log(p)\n",
    ],
)
def test_log_of_softmax_positive(body):
    assert found(body, "TL203") == ["TL203"]


@pytest.mark.parametrize(
    "body",
    [
        "y = F.log_softmax(x, dim=-1)\n",
        "y = torch.log(F.softmax(x, dim=-1) + 1e-8)\n",
        "y = torch.log(F.softmax(x, dim=-1).clamp(min=1e-8))\n",
        "y = torch.log(x)\n",
        "import math\ny = math.log(torch.sigmoid(x))\n",
        "import numpy as np\ny = np.log(F.softmax(x, -1))\n",
        "y = torch.log(1 - torch.sigmoid(x))\n",
        "def f(x, c):\n    p = F.softmax(x, -1)\n    if c:\n        p = x\n    return torch.log(p)\n",
        "y = torch.exp(F.softmax(x, -1))\n",
    ],
)
def test_log_of_softmax_negative(body):
    assert found(body, "TL203") == []


@pytest.mark.parametrize(
    "before, after",
    [
        ("y = torch.log(F.softmax(x, dim=-1))\n", "y = F.log_softmax(x, dim=-1)\n"),
        ("y = F.softmax(x, -1, dtype=torch.float32).log()\n", "y = F.log_softmax(x, -1, dtype=torch.float32)\n"),
        ("y = torch.log(torch.softmax(x, 1))\n", "y = torch.log_softmax(x, 1)\n"),
        ("y = torch.log(torch.special.softmax(x, 1))\n", "y = torch.special.log_softmax(x, 1)\n"),
        ("y = (a + b).softmax(dim=1).log()\n", "y = (a + b).log_softmax(dim=1)\n"),
        ("y = torch.log(torch.sigmoid(x))\n", "y = F.logsigmoid(x)\n"),
        ("y = x.sigmoid().log()\n", "y = F.logsigmoid(x)\n"),
    ],
)
def test_log_of_softmax_fix(before, after):
    assert fixed(before, "TL203") == after


def test_log_of_softmax_fix_spelling_and_limits():
    # only `import torch`: logsigmoid is reached through torch.nn.functional
    assert fix("import torch\ny = torch.log(torch.sigmoid(x))\n", select=("TL203",)) == (
        "import torch\ny = torch.nn.functional.logsigmoid(x)\n"
    )
    # `from torch.nn.functional import softmax`: log_softmax spelled via `torch`
    src = "import torch\nfrom torch.nn.functional import softmax\ny = torch.log(softmax(x, 1))\n"
    assert fix(src, select=("TL203",)) == (
        "import torch\nfrom torch.nn.functional import softmax\ny = torch.nn.functional.log_softmax(x, 1)\n"
    )
    # no import reaches logsigmoid: reported, no fix
    src = "from torch import log, sigmoid\ny = log(sigmoid(x))\n"
    (diag,) = lint(src, select=("TL203",))
    assert diag.fix is None
    # softmax without dim (implicit, deprecated): no fix
    for body in (
        "y = torch.log(F.softmax(x))\n",
        "y = torch.log(F.softmax(x, dim=None))\n",
        "y = torch.log(nn.Softmax(dim=1)(x))\n",
        "def f(x):\n    p = F.softmax(x, -1)\n    return torch.log(p)\n",
    ):
        (diag,) = lint(HEADER + body, select=("TL203",))
        assert diag.fix is None, body


# -- TL204 log-one-plus -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "y = torch.log(1 + x)\n",
        "y = torch.log(x + 1)\n",
        "y = torch.log(1.0 + x)\n",
        "y = torch.log(input=x + 1.)\n",
        "y = torch.log(a * b + 1)\n",
        "def f(x: torch.Tensor):\n    return (1 + x).log()\n",
    ],
)
def test_log_one_plus_positive(body):
    assert found(body, "TL204") == ["TL204"]


@pytest.mark.parametrize(
    "body",
    [
        "import math\ny = math.log(1 + x)\n",
        "import numpy as np\ny = np.log(1 + x)\n",
        "y = torch.log(2 + x)\n",
        "y = torch.log(1 - x)\n",
        "y = torch.log(x)\n",
        "y = torch.log1p(x)\n",
        "y = torch.log(1 + a + b)\n",  # (1 + a) + b: not `1 + <x>` at the top
        "def f(x):\n    return (1 + x).log()\n",  # x unknown: could be anything with .log()
    ],
)
def test_log_one_plus_negative(body):
    assert found(body, "TL204") == []


@pytest.mark.parametrize(
    "before, after",
    [
        ("y = torch.log(1 + x)\n", "y = torch.log1p(x)\n"),
        ("y = torch.log(x + 1.0)\n", "y = torch.log1p(x)\n"),
        ("y = torch.log(a * b + 1)\n", "y = torch.log1p(a * b)\n"),
        ("y = torch.log(input=1 + x)\n", "y = torch.log1p(input=x)\n"),
        ("def f(x: torch.Tensor):\n    return (1 + x).log()\n", "def f(x: torch.Tensor):\n    return x.log1p()\n"),
        (
            "def f(a: torch.Tensor, b):\n    return (1 + a * b).log()\n",
            "def f(a: torch.Tensor, b):\n    return (a * b).log1p()\n",
        ),
    ],
)
def test_log_one_plus_fix(before, after):
    assert fixed(before, "TL204") == after


def test_log_one_plus_fix_via_import():
    src = "import torch\nfrom torch import log\ny = log(1 + x)\n"
    assert fix(src, select=("TL204",)) == "import torch\nfrom torch import log\ny = torch.log1p(x)\n"


# -- TL205 exp-minus-one ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "y = torch.exp(x) - 1\n",
        "y = torch.exp(x) - 1.0\n",
        "y = torch.exp(a * b) - 1\n",
        "y = (torch.exp(x) - 1) * 2\n",
        "y = torch.exp(x) - 1 - z\n",
        "def f(x: torch.Tensor):\n    return x.exp() - 1\n",
    ],
)
def test_exp_minus_one_positive(body):
    assert found(body, "TL205") == ["TL205"]


@pytest.mark.parametrize(
    "body",
    [
        "import math\ny = math.exp(x) - 1\n",
        "import numpy as np\ny = np.exp(x) - 1\n",
        "y = torch.exp(x) - 2\n",
        "y = torch.exp(x) + 1\n",
        "y = 1 - torch.exp(x)\n",
        "y = a * torch.exp(x) - 1\n",  # (a * exp(x)) - 1
        "y = -torch.exp(x) - 1\n",
        "y = torch.exp(x) - 1 * z\n",
        "y = torch.exp(x)\n",
        "from decimal import Decimal\ny = Decimal(2).exp() - 1\n",
        "def f(x):\n    return x.exp() - 1\n",  # x unknown
    ],
)
def test_exp_minus_one_negative(body):
    assert found(body, "TL205") == []


@pytest.mark.parametrize(
    "before, after",
    [
        ("y = torch.exp(x) - 1\n", "y = torch.expm1(x)\n"),
        ("y = (torch.exp(x) - 1).sum()\n", "y = (torch.expm1(x)).sum()\n"),
        ("y = torch.exp(x) - 1 - z\n", "y = torch.expm1(x) - z\n"),
        ("y = 2 * (torch.exp(x) - 1.0)\n", "y = 2 * (torch.expm1(x))\n"),
        ("def f(x: torch.Tensor):\n    return x.exp() - 1\n", "def f(x: torch.Tensor):\n    return x.expm1()\n"),
        ("y = (\n    torch.exp(x) - 1  # note\n)\n", "y = (\n    torch.expm1(x)  # note\n)\n"),
    ],
)
def test_exp_minus_one_fix(before, after):
    assert fixed(before, "TL205") == after


def test_exp_minus_one_with_out_is_left_alone():
    # `out=` receives exp(x), not exp(x) - 1: not the plain unary call
    assert found("y = torch.exp(x, out=buf) - 1\n", "TL205") == []


# -- TL206 log-sum-exp ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "y = torch.log(torch.sum(torch.exp(x), 1, keepdim=True))\n",
        "y = torch.log(torch.sum(torch.exp(2.5 + x), 1))\n",
        "y = torch.log(torch.sum(torch.exp(x), dim=-1))\n",
        "y = torch.log(torch.exp(x).sum(-1))\n",
        "y = torch.exp(x).sum(dim=(1, 2)).log()\n",
        "def f(x: torch.Tensor):\n    return x.exp().sum(0).log()\n",
        "y = torch.log(torch.sum(torch.exp(x), axis=0))\n",
    ],
)
def test_log_sum_exp_positive(body):
    assert found(body, "TL206") == ["TL206"]


@pytest.mark.parametrize(
    "body",
    [
        # TorchFix's own negatives
        "y = torch.log(torch.sum(torch.exp(x), 1, keepdim=True) + 2.5)\n",
        "y = torch.log(torch.sum(torch.exp(x) + 2.5, 1))\n",
        "y = torch.log(2 + x)\n",
        "y = torch.sum(torch.log(torch.exp(x)), 1)\n",
        "y = torch.exp(torch.sum(torch.log(x), 1, keepdim=True))\n",
        "y = torch.log(torch.sum(torch.exp(2.5)))\n",
        # no dim / dim=None: logsumexp needs one
        "y = torch.log(torch.sum(torch.exp(x)))\n",
        "y = torch.log(torch.sum(torch.exp(x), dim=None))\n",
        "y = torch.exp(x).sum().log()\n",
        # look-alikes
        "import numpy as np\ny = np.log(np.sum(np.exp(x), 1))\n",
        "import numpy as np\ny = np.asarray(x).exp().sum(0).log()\n",  # provably not a tensor
        "y = torch.log(torch.sum(torch.exp(x), 1, dtype=torch.float64))\n",
    ],
)
def test_log_sum_exp_negative(body):
    assert found(body, "TL206") == []


@pytest.mark.parametrize(
    "before, after",
    [
        (
            "y = torch.log(torch.sum(torch.exp(x), 1, keepdim=True))\n",
            "y = torch.logsumexp(x, 1, keepdim=True)\n",
        ),
        ("y = torch.log(torch.sum(torch.exp(x), dim=-1))\n", "y = torch.logsumexp(x, dim=-1)\n"),
        ("y = torch.exp(x).sum(dim=(1, 2)).log()\n", "y = torch.logsumexp(x, dim=(1, 2))\n"),
        (
            "def f(x: torch.Tensor):\n    return (x * 2).exp().sum(0, True).log()\n",
            "def f(x: torch.Tensor):\n    return (x * 2).logsumexp(0, True)\n",
        ),
        ("y = torch.log(torch.sum(torch.exp(x), axis=0))\n", "y = torch.logsumexp(x, axis=0)\n"),
    ],
)
def test_log_sum_exp_fix(before, after):
    assert fixed(before, "TL206") == after


def test_numerics_rules_have_docs():
    from tensorlint.rules import all_rules

    rules = {r.code: r for r in all_rules()}
    names = {
        "TL201": "sigmoid-then-bce",
        "TL202": "softmax-then-cross-entropy",
        "TL203": "log-of-softmax",
        "TL204": "log-one-plus",
        "TL205": "exp-minus-one",
        "TL206": "log-sum-exp",
    }
    for code, name in names.items():
        rule = rules[code]
        assert rule.name == name
        for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
            assert section in rule.doc(), (code, section)


@pytest.mark.parametrize(
    "before, after, code",
    [
        ("y = (torch.log(F.softmax(x, 1))).sum()\n", "y = (F.log_softmax(x, 1)).sum()\n", "TL203"),
        ("y = (torch.log(torch.sigmoid(x)))\n", "y = (F.logsigmoid(x))\n", "TL203"),
        ("y = (torch.log(torch.sum(torch.exp(x), 1))).mean()\n", "y = (torch.logsumexp(x, 1)).mean()\n", "TL206"),
        (
            "def f(x: torch.Tensor):\n    return -((1 + x).log())\n",
            "def f(x: torch.Tensor):\n    return -(x.log1p())\n",
            "TL204",
        ),
    ],
)
def test_fixes_keep_parentheses_around_the_replaced_node(before, after, code):
    assert fixed(before, code) == after


@pytest.mark.parametrize(
    "body",
    [
        # found in torch/_decomp: the max-shifted form cannot overflow
        "def f(x, dim):\n    x_max = torch.amax(x, dim, keepdim=True)\n    shifted = x - x_max\n"
        "    return torch.log(torch.sum(torch.exp(shifted), dim, keepdim=True))\n",
        "y = torch.log(torch.sum(torch.exp(x - x.max(1, keepdim=True)[0]), 1))\n",
        "y = torch.log(torch.sum(torch.exp(x - x.max(dim=1, keepdim=True).values.detach()), 1))\n",
        # found in torch/_refs: the reference implementation of logsumexp itself
        "def logsumexp(self, dim, keepdim=False):\n    return torch.sum(torch.exp(self), dim, keepdim).log()\n",
    ],
)
def test_log_sum_exp_negative_stable_or_self_implementation(body):
    assert found(body, "TL206") == []


def test_log_sum_exp_shift_by_something_else_is_still_flagged():
    assert found("y = torch.log(torch.sum(torch.exp(x - bias), 1))\n", "TL206") == ["TL206"]


@pytest.mark.parametrize(
    "body",
    [
        "loss = F.cross_entropy(torch.sigmoid(x), y)\n",
        # found in a public Lightning module: CrossEntropyLoss fed an nn.Sigmoid output
        (
            "class M(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.criterion = nn.CrossEntropyLoss()\n"
            "        self.sigmoid = torch.nn.Sigmoid()\n"
            "    def training_step(self, batch, i):\n"
            "        return self.criterion(self.sigmoid(batch), i.float())\n"
        ),
    ],
)
def test_cross_entropy_on_sigmoid_output(body):
    assert found(body, "TL202") == ["TL202"]
    (diag,) = lint(HEADER + body, select=("TL202",))
    assert diag.fix is None and "sigmoid output" in diag.message


@pytest.mark.parametrize(
    "before, after, code",
    [
        # found in torch/testing/_internal/common_nn.py: `(-i).sigmoid().log()`
        ("y = (-i).sigmoid().log()\n", "y = F.logsigmoid(-i)\n", "TL203"),
        ("y = torch.log(1 + (a * b))\n", "y = torch.log1p(a * b)\n", "TL204"),
        ("y = torch.log(torch.sum(torch.exp((a, b)[0]), 1))\n", "y = torch.logsumexp((a, b)[0], 1)\n", "TL206"),
        ("y = torch.log(torch.sigmoid((x, y)))\n", "y = F.logsigmoid((x, y))\n", "TL203"),
    ],
)
def test_fix_arguments_lose_redundant_parentheses_only(before, after, code):
    assert fixed(before, code) == after
