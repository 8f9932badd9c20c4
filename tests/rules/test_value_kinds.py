"""Value kinds (semantics/values.py) in the shapes real training code has: TL201, TL202,
TL203 across names, models, helpers and loss objects; TL206 method chains; TL108
comprehensions of containers; TL002 sizes written as expressions. Every positive case
has a look-alike clean twin."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from lintutil import codes, fix, lint

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def found(body: str, code: str) -> list[str]:
    return codes(HEADER + textwrap.dedent(body), select=(code,))


def diagnostics(body: str, code: str):
    return lint(HEADER + textwrap.dedent(body), select=(code,))


# -- the GAN discriminator: nn.Sequential ending in nn.Sigmoid, BCELoss in a loop -------------

GAN = """
class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Linear(784, 256),
            nn.LeakyReLU(0.2),
            nn.Linear(256, 1),
            {last}
        )

    def forward(self, x):
        return self.main(x)


netD = Discriminator().to("cpu")
criterion = {loss}
optimizer = torch.optim.Adam(netD.parameters())
for epoch in range(5):
    for real, _ in loader:
        netD.zero_grad()
        output = netD(real).view(-1)
        err_real = criterion(output, torch.ones(real.size(0)))
        err_real.backward()
        optimizer.step()
"""


def test_gan_discriminator_sequential_sigmoid_bce():
    body = GAN.format(last="nn.Sigmoid(),", loss="nn.BCELoss()")
    (diag,) = diagnostics(body, "TL201")
    assert "`Discriminator.forward`" in diag.message and "nn.Sigmoid()" in diag.message
    assert diag.fix is None  # the model and the loss are in different places: no fix


def test_gan_discriminator_clean_twin_with_logits():
    body = GAN.format(last="", loss="nn.BCEWithLogitsLoss()")
    assert found(body, "TL201") == []
    # a sigmoid followed by BCEWithLogitsLoss is another matter, not this rule's
    body = GAN.format(last="nn.Sigmoid(),", loss="nn.BCEWithLogitsLoss()")
    assert found(body, "TL201") == []


def test_gan_discriminator_attribute_sequential_and_self_criterion():
    body = """
    class GAN(nn.Module):
        def __init__(self, loss_fn=nn.BCELoss()):
            super().__init__()
            self.disc = nn.Sequential(nn.Linear(10, 1), nn.Sigmoid())
            self.loss_fn = loss_fn

        def step(self, x, y):
            pred = self.disc(x)
            return self.loss_fn(pred, y)
    """
    body = textwrap.dedent(body)
    assert found(body, "TL201") == ["TL201"]
    # the default is overridden by a call in the file: unknown loss, silent
    assert found(body + "\ngan = GAN(nn.BCEWithLogitsLoss())\n", "TL201") == []
    assert found(body + "\ngan = GAN(loss_fn=nn.MSELoss())\n", "TL201") == []
    assert found(body + "\ngan = GAN()\n", "TL201") == ["TL201"]


def test_discriminator_class_forward_sigmoid_in_a_training_function():
    body = """
    class D(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 1)

        def forward(self, x):
            h = self.fc(x)
            return torch.sigmoid(h)


    def train(loader):
        model = D()
        bce = nn.BCELoss()
        for x, y in loader:
            loss = bce(model(x), y)
    """
    assert found(body, "TL201") == ["TL201"]
    twin = body.replace("return torch.sigmoid(h)", "return h").replace("nn.BCELoss()", "nn.BCEWithLogitsLoss()")
    assert found(twin, "TL201") == []


def test_forward_with_a_branch_that_returns_logits_is_unknown():
    body = """
    class D(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 1)

        def forward(self, x):
            if self.training:
                return self.fc(x)
            return torch.sigmoid(self.fc(x))


    model = D()
    loss = nn.BCELoss()(model(x), y)
    """
    assert found(body, "TL201") == []


# -- classifier heads: nn.Sequential ending in nn.Softmax, CrossEntropyLoss ------------------


def test_sequential_softmax_head_with_module_level_criterion():
    body = """
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(dim=1))
    criterion = nn.CrossEntropyLoss()

    def train(loader):
        for images, labels in loader:
            out = model(images)
            loss = criterion(out, labels)
            loss.backward()
    """
    (diag,) = diagnostics(body, "TL202")
    assert "softmax output" in diag.message and "nn.Softmax(dim=1)" in diag.message
    assert diag.fix is None


def test_sequential_softmax_used_only_for_inference_is_fine():
    body = """
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(dim=1))
    criterion = nn.CrossEntropyLoss()

    def predict(images):
        with torch.no_grad():
            return model(images).argmax(1)

    def train(net, loader):
        for images, labels in loader:
            loss = criterion(net(images), labels)
    """
    assert found(body, "TL202") == []


def test_sequential_log_softmax_with_nll_loss_is_fine():
    body = """
    model = nn.Sequential(nn.Linear(784, 10), nn.LogSoftmax(dim=1))
    criterion = nn.NLLLoss()
    ce = nn.CrossEntropyLoss()
    out = model(images)
    loss = criterion(out, labels)
    loss2 = ce(out, labels)
    """
    assert found(body, "TL202") == []


def test_self_call_in_lightning_training_step():
    body = """
    import pytorch_lightning as pl

    class LitClassifier(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(28 * 28, 10)

        def forward(self, x):
            return F.softmax(self.layer(x), dim=1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            y_hat = self(x)
            return F.cross_entropy(y_hat, y)
    """
    assert found(body, "TL202") == ["TL202"]
    twin = body.replace("return F.softmax(self.layer(x), dim=1)", "return self.layer(x)")
    assert found(twin, "TL202") == []


def test_forward_returning_log_softmax_into_nll_loss_is_fine():
    body = """
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 3)

        def forward(self, x):
            return F.log_softmax(self.fc(x), dim=1)

    model = Net()
    output = model(data)
    loss = F.nll_loss(output, target)
    loss2 = F.cross_entropy(output, target)
    """
    assert found(body, "TL202") == []


def test_model_forward_method_and_dataparallel_wrapper():
    body = """
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 3)
            self.out = nn.Softmax(dim=-1)

        def forward(self, x):
            x = self.fc(x)
            x = self.out(x)
            return x

    model = Net()
    model = nn.DataParallel(model)
    loss = F.cross_entropy(model(data), target)
    loss2 = F.cross_entropy(model.forward(data), target)
    """
    assert found(body, "TL202") == ["TL202", "TL202"]
    twin = body.replace("x = self.out(x)\n", "")
    assert found(twin, "TL202") == []


# -- rebinding, exp(log_softmax), helpers -------------------------------------------------------


def test_rebinding_the_same_name():
    body = """
    def f(y, t):
        ce = nn.CrossEntropyLoss()
        y = torch.softmax(y, 1)
        return ce(y, t)
    """
    (diag,) = diagnostics(body, "TL202")
    assert "through `y`" in diag.message and diag.fix is None
    twin = """
    def f(y, t, c):
        ce = nn.CrossEntropyLoss()
        if c:
            y = torch.softmax(y, 1)
        return ce(y, t)
    """
    assert found(twin, "TL202") == []


def test_rebinding_flow_is_followed_through_branches_and_loops():
    both = """
    def f(x, t, c):
        if c:
            p = torch.softmax(x, 1)
        else:
            p = x.softmax(-1)
        return F.cross_entropy(p, t)
    """
    assert found(both, "TL202") == ["TL202"]
    later_in_loop = """
    def f(xs, t):
        p = torch.softmax(xs[0], 1)
        for x in xs:
            loss = F.cross_entropy(p, t)
            p = x
    """
    assert found(later_in_loop, "TL202") == []
    rebound_after = """
    def f(x, t):
        p = torch.softmax(x, 1)
        p = x
        return F.cross_entropy(p, t)
    """
    assert found(rebound_after, "TL202") == []


def test_exp_of_log_softmax_is_a_probability():
    assert found("loss = F.cross_entropy(torch.exp(F.log_softmax(x, 1)), y)\n", "TL202") == ["TL202"]
    assert found("def f(x, y):\n    p = x.log_softmax(-1).exp()\n    return F.cross_entropy(p, y)\n", "TL202") == ["TL202"]
    # the clean twin: log-probabilities into nll_loss
    assert found("loss = F.nll_loss(F.log_softmax(x, 1), y)\n", "TL202") == []
    assert found("loss = F.cross_entropy(torch.exp(x), y)\n", "TL202") == []


def test_helper_function_returning_softmax():
    body = """
    def predict(model, x):
        logits = model(x)
        return F.softmax(logits, dim=-1)

    def train_step(model, x, y):
        probs = predict(model, x)
        return F.cross_entropy(probs, y)
    """
    (diag,) = diagnostics(body, "TL202")
    assert "`predict()`" in diag.message
    twin = body.replace("return F.softmax(logits, dim=-1)", "return logits")
    assert found(twin, "TL202") == []


def test_helper_returning_softmax_then_log_in_the_caller():
    body = """
    def probabilities(logits):
        return F.softmax(logits, dim=-1)

    def score(logits):
        p = probabilities(logits)
        return torch.log(p)
    """
    (diag,) = diagnostics(body, "TL203")
    assert "`probabilities()`" in diag.message and diag.fix is None
    twin = """
    def probabilities(logits):
        return F.softmax(logits, dim=-1)

    def score(logits):
        p = probabilities(logits)
        return torch.log(p + 1e-8)
    """
    assert found(twin, "TL203") == []
    log_helper = body.replace("F.softmax(logits, dim=-1)", "F.log_softmax(logits, dim=-1)")
    assert found(log_helper, "TL203") == []


def test_log_of_topk_and_max_values_of_a_probability():
    body = """
    def beam(logits, k):
        probs = F.softmax(logits, dim=-1)
        top_p, top_i = probs.topk(k, dim=-1)
        return torch.log(top_p), top_i
    """
    assert found(body, "TL203") == ["TL203"]
    assert found("def f(x):\n    p = F.softmax(x, -1)\n    return p.max(dim=1)[0].log()\n", "TL203") == ["TL203"]
    assert found("def f(x):\n    p = F.softmax(x, -1)\n    return torch.log(p.topk(3).values)\n", "TL203") == ["TL203"]
    # indices are not probabilities; log-probabilities' top-k are fine
    assert found("def f(x):\n    p = F.softmax(x, -1)\n    v, i = p.topk(3)\n    return torch.log(i)\n", "TL203") == []
    assert found("def f(x):\n    lp = F.log_softmax(x, -1)\n    v, i = lp.topk(3)\n    return torch.log(v)\n", "TL203") == []
    # `p.max(other)` is elementwise, but of a probability and something unknown: unknown
    assert found("def f(x, q):\n    p = F.softmax(x, -1)\n    return torch.log(p.max(q))\n", "TL203") == []


def test_helper_probability_topk_in_caller():
    body = """
    def get_probs(model, x):
        return F.softmax(model(x), dim=1)

    def top5(model, x):
        values, indices = get_probs(model, x).topk(5)
        return values.log()
    """
    assert found(body, "TL203") == ["TL203"]


def test_module_level_criterion_and_self_criterion():
    body = """
    criterion = nn.BCELoss()

    def step(z, y):
        p = torch.sigmoid(z)
        return criterion(p, y)
    """
    assert found(body, "TL201") == ["TL201"]
    assert found(body.replace("nn.BCELoss()", "nn.BCEWithLogitsLoss()"), "TL201") == []
    body = """
    class Trainer:
        def __init__(self, model):
            self.model = model
            self.criterion = nn.BCELoss()

        def step(self, x, y):
            out = torch.sigmoid(self.model(x))
            return self.criterion(out, y)
    """
    assert found(body, "TL201") == ["TL201"]
    assert found(body.replace("nn.BCELoss()", "nn.MSELoss()"), "TL201") == []


def test_module_level_criterion_rebound_in_a_branch_is_unknown():
    body = """
    criterion = nn.BCELoss()
    if use_logits:
        criterion = nn.BCEWithLogitsLoss()

    def step(z, y):
        return criterion(torch.sigmoid(z), y)
    """
    assert found(body, "TL201") == []


def test_project_answers_are_used_for_imported_names():
    from tensorlint.semantics.context import FileContext
    from tensorlint.semantics.project import ProjectView
    from tensorlint.semantics.values import value_kind

    class View(ProjectView):
        def forward_returns(self, qualname):
            return "probability" if qualname == "mypkg.models.Net" else None

        def function_returns(self, qualname):
            return "probability" if qualname == "mypkg.utils.probs" else None

    source = textwrap.dedent(
        """
        import torch
        from mypkg.models import Net, Other
        from mypkg.utils import probs, logits
        model = Net()
        a = model(x)
        b = probs(x)
        c = Other()(x)
        d = logits(x)
        """
    )
    module = cst.parse_module(source)
    ctx = FileContext("t.py", module, project=View())
    ctx.scopes.enter(module)
    exprs = {}
    for statement in module.body:
        small = statement.body[0]
        if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
            exprs[small.targets[0].target.value] = small.value
    assert value_kind(ctx, exprs["a"]) == "probability"
    assert value_kind(ctx, exprs["b"]) == "probability"
    assert value_kind(ctx, exprs["c"]) is None
    assert value_kind(ctx, exprs["d"]) is None


# -- fixes stay where they keep meaning -----------------------------------------------------------


def test_inline_fixes_unchanged_and_no_fix_across_functions():
    assert fix(HEADER + "loss = F.cross_entropy(F.softmax(x, dim=1), y)\n", select=("TL202",), unsafe=True) == (
        HEADER + "loss = F.cross_entropy(x, y)\n"
    )
    body = """
    criterion = nn.BCELoss()

    def step(z, y):
        return criterion(torch.sigmoid(z), y)
    """
    (diag,) = diagnostics(body, "TL201")
    assert diag.fix is None  # a loss object held in a name: other calls may use it
    body = "y = torch.log(nn.Sequential(nn.Linear(3, 3), nn.Softmax(1))(x))\n"
    (diag,) = diagnostics(body, "TL203")
    assert diag.fix is None


def _chain(hops: int) -> str:
    lines = ["def f(x, t):", "    x = torch.softmax(x, 1)"]
    lines += ["    x = x.view(-1)" for _ in range(hops)]
    lines += ["    loss = F.cross_entropy(x, t)"] * 50
    return "\n".join(lines) + "\n"


def test_analysis_is_linear_on_long_rebinding_chains():
    import time

    assert found(_chain(100), "TL202") == ["TL202"] * 50
    start = time.perf_counter()
    found(_chain(200), "TL202")
    small = time.perf_counter() - start
    start = time.perf_counter()
    found(_chain(4000), "TL202")  # deeper than the analysis follows: unknown, but no blow-up
    large = time.perf_counter() - start
    assert large < 40 * small + 1


# -- TL206: method chains ---------------------------------------------------------------------------


def test_log_sum_exp_method_chain_on_an_unknown_receiver():
    body = "def energy(scores):\n    return scores.exp().sum(dim=1).log()\n"
    (diag,) = diagnostics(body, "TL206")
    assert diag.fix is None  # `.logsumexp` needs a proven tensor
    assert found("def energy(model, x):\n    out = model(x)\n    return out.exp().sum(-1).log()\n", "TL206") == ["TL206"]
    # provable tensor: fixed as before
    assert fix(HEADER + "def f(x: torch.Tensor):\n    return x.exp().sum(1).log()\n", select=("TL206",)) == (
        HEADER + "def f(x: torch.Tensor):\n    return x.logsumexp(1)\n"
    )


def test_log_sum_exp_method_chain_clean_twins():
    assert found("def energy(scores):\n    return scores.exp().sum().log()\n", "TL206") == []  # no dim
    assert found("def energy(scores):\n    return scores.exp().mean(1).log()\n", "TL206") == []
    assert found("def f(x):\n    return (x - x.max(1, keepdim=True)[0]).exp().sum(1).log()\n", "TL206") == []
    assert found("def f(n: int):\n    return n.exp().sum(1).log()\n", "TL206") == []


# -- TL108: containers of modules built in comprehensions --------------------------------------------

_NET = """
class Net(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.blocks = {value}

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x
"""


@pytest.mark.parametrize(
    "value",
    [
        "[nn.Sequential(nn.Linear(d, d), nn.ReLU()) for _ in range(n)]",
        "[nn.Sequential(*[nn.Conv2d(d, d, 3) for _ in range(2)]) for _ in range(n)]",
        "[nn.ModuleList([nn.Linear(d, d), nn.LayerNorm(d)]) for _ in range(n)]",
        "[nn.Sequential(nn.ReLU(), nn.Sequential(nn.BatchNorm1d(d))) for _ in range(n)]",
    ],
)
def test_unregistered_containers_in_a_comprehension(value):
    assert found(_NET.format(value=value), "TL108") == ["TL108"]


@pytest.mark.parametrize(
    "value",
    [
        "nn.ModuleList([nn.Sequential(nn.Linear(d, d), nn.ReLU()) for _ in range(n)])",
        "[nn.Sequential(nn.ReLU(), nn.Tanh()) for _ in range(n)]",  # nothing to register
        "nn.Sequential(*[nn.Sequential(nn.Linear(d, d)) for _ in range(n)])",
    ],
)
def test_registered_or_stateless_containers_in_a_comprehension(value):
    assert found(_NET.format(value=value), "TL108") == []


def test_unregistered_container_comprehension_fix():
    source = HEADER + textwrap.dedent(_NET.format(value="[nn.Sequential(nn.Linear(d, d), nn.ReLU()) for _ in range(n)]"))
    fixed = fix(source, select=("TL108",), unsafe=True)
    assert "self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(d, d), nn.ReLU()) for _ in range(n)])" in fixed


# -- TL002: sizes written as expressions, and norms applied in forward ------------------------------


@pytest.mark.parametrize(
    "layers",
    [
        "nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden * 2)",
        "nn.Linear(d_in, hidden), nn.ReLU(), nn.LayerNorm(hidden + 1)",
        "nn.Conv2d(c, 2 * c, 3), nn.BatchNorm2d(c)",
        "nn.Linear(d_in, cfg.dim), nn.LayerNorm(cfg.dim + 2)",
    ],
)
def test_norm_size_expressions_provably_different(layers):
    assert found(f"def build(d_in, hidden, c, cfg):\n    return nn.Sequential({layers})\n", "TL002") == ["TL002"]


def test_norm_size_local_literal_and_message():
    body = "def build(d_in):\n    hidden = 64\n    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(32))\n"
    (diag,) = diagnostics(body, "TL002")
    assert "`BatchNorm1d` expects 32 features" in diag.message and "has `hidden` output features" in diag.message
    body = "def build(d_in, hidden):\n    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden * 2))\n"
    (diag,) = diagnostics(body, "TL002")
    assert "expects `hidden * 2` features" in diag.message


@pytest.mark.parametrize(
    "layers",
    [
        "nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden)",  # the same symbol
        "nn.Linear(hidden, out), nn.BatchNorm1d(hidden)",  # distinct parameters: may be equal
        "nn.Linear(d_in, out), nn.BatchNorm1d(hidden)",
        "nn.Linear(d_in, 2 * hidden), nn.BatchNorm1d(hidden + hidden)",  # equal
        "nn.Linear(d_in, hidden // 2), nn.BatchNorm1d(hidden)",  # floor division: not followed
        "nn.Linear(d_in, hidden * 2), nn.BatchNorm1d(hidden + 2)",  # equal when hidden == 2
        "nn.Linear(d_in, hidden), nn.BatchNorm1d(64)",
        "nn.Linear(d_in, cfg.dim), nn.LayerNorm(cfg.dim)",
    ],
)
def test_norm_size_expressions_clean_twins(layers):
    assert found(f"def build(d_in, hidden, out, cfg):\n    return nn.Sequential({layers})\n", "TL002") == []


_FORWARD = """
class Head(nn.Module):
    def __init__(self, d_in, hidden):
        super().__init__()
        self.fc = nn.Linear(d_in, hidden)
        self.norm = nn.BatchNorm1d({features})
        self.act = nn.ReLU()

    def forward(self, x):
{body}
"""


@pytest.mark.parametrize(
    "body",
    [
        "        return self.norm(self.fc(x))",
        "        x = self.fc(x)\n        x = self.norm(x)\n        return x",
        "        h = self.fc(x)\n        return self.act(self.norm(h))",
        "        return self.norm(F.relu(self.fc(x)))",
        "        return self.norm(self.act(self.fc(x)))",
    ],
)
def test_norm_in_forward_after_a_producer_attribute(body):
    assert found(_FORWARD.format(features="hidden * 2", body=body), "TL002") == ["TL002"]
    assert found(_FORWARD.format(features="hidden", body=body), "TL002") == []  # the clean twin
    assert found(_FORWARD.format(features="d_in", body=body), "TL002") == []  # may be equal


@pytest.mark.parametrize(
    "body",
    [
        "        x = self.fc(x)\n        x = x.transpose(1, 2)\n        x = self.norm(x)\n        return x",  # not right after
        "        h = self.fc(x)\n        y = torch.cat([h, h], 1)\n        return self.norm(y)",
        "        return self.norm(torch.cat([self.fc(x), self.fc(x)], 1))",
        "        if x.dim() > 2:\n            x = self.fc(x)\n        return self.norm(x)",
    ],
)
def test_norm_in_forward_not_right_after_the_producer(body):
    assert found(_FORWARD.format(features="hidden * 2", body=body), "TL002") == []


def test_norm_in_forward_with_a_rebound_size_is_unknown():
    source = """
    class Head(nn.Module):
        def __init__(self, d_in, hidden):
            super().__init__()
            self.fc = nn.Linear(d_in, hidden)
            hidden = hidden // 2
            self.norm = nn.BatchNorm1d(hidden * 2)

        def forward(self, x):
            return self.norm(self.fc(x))
    """
    assert found(source, "TL002") == []
    literal = """
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 64)
            self.norm = nn.BatchNorm1d(32)

        def forward(self, x):
            return self.norm(self.fc(x))
    """
    (diag,) = diagnostics(literal, "TL002")
    assert "`self.norm` (`BatchNorm1d`, 32 features)" in diag.message and "64 output features" in diag.message


def test_module_level_loss_rebound_through_global_is_unknown():
    body = """
    criterion = nn.BCELoss()

    def configure():
        global criterion
        criterion = nn.BCEWithLogitsLoss()

    def step(z, y):
        return criterion(torch.sigmoid(z), y)
    """
    assert found(body, "TL201") == []
    assert found(body.replace("nn.BCEWithLogitsLoss()", "nn.BCELoss(reduction='sum')"), "TL201") == ["TL201"]


def test_pytorch_examples_dcgan_discriminator():
    """The shape of pytorch/examples dcgan/main.py: `forward` picks data_parallel or a
    direct call of the same Sequential, then reshapes."""
    body = """
    class Discriminator(nn.Module):
        def __init__(self, ngpu):
            super().__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(nn.Conv2d(3, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 1, 4), nn.Sigmoid())

        def forward(self, input):
            if input.is_cuda and self.ngpu > 1:
                output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
            else:
                output = self.main(input)
            return output.view(-1, 1).squeeze(1)

    netD = Discriminator(ngpu).to(device)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    for epoch in range(niter):
        for i, data in enumerate(dataloader, 0):
            netD.zero_grad()
            output = netD(data[0])
            errD_real = criterion(output, label)
    """
    assert found(body, "TL201") == ["TL201"]
    assert found(body.replace("nn.Sigmoid()", "nn.Flatten()"), "TL201") == []


def test_loop_over_the_rows_of_a_probability():
    """mlelarge/graph_neural_net#37: softmax, then each row into a default-argument loss."""
    body = """
    class TripletLoss(nn.Module):
        def __init__(self, loss=nn.CrossEntropyLoss(reduction='sum')):
            super().__init__()
            self.loss = loss

        def forward(self, raw_scores, target):
            total = 0
            outputs = torch.softmax(raw_scores, -1)
            for out in outputs:
                total += self.loss(out, target)
            return total
    """
    assert found(body, "TL202") == ["TL202"]
    assert found(body.replace("for out in outputs:", "for out in raw_scores:"), "TL202") == []
    after_loop = """
    def f(xs, t):
        out = torch.softmax(xs[0], -1)
        for out in xs:
            pass
        return F.cross_entropy(out, t)
    """
    assert found(after_loop, "TL202") == []  # after the loop `out` may be either
    enumerate_loop = """
    def f(xs, t):
        outputs = torch.softmax(xs, -1)
        for i, out in enumerate(outputs):
            F.cross_entropy(out, t)
    """
    assert found(enumerate_loop, "TL202") == []  # not followed


ACGAN = """
from pytorch_lightning import LightningModule

class Discriminator(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(784, 128), nn.LeakyReLU(0.2))
        self.adv_layer = nn.Sequential(nn.Linear(128, 1), {sigmoid})
        self.aux_layer = nn.Sequential(nn.Linear(128, n_classes), {softmax})

    def forward(self, img):
        out = self.model(img)
        validity = self.adv_layer(out)
        labels = self.aux_layer(out)
        return validity, labels


class ACGAN(LightningModule):
    def __init__(self):
        super().__init__()
        self.discriminator = Discriminator(10)

    def adversarial_loss(self, y_hat, y):
        return F.{bce}(y_hat, y)

    def auxiliary_loss(self, y_hat, y):
        return F.cross_entropy(y_hat, y)

    def training_step(self, batch, batch_idx):
        imgs, labels = batch
        validity, pred_label = self.discriminator(imgs)
        return self.adversarial_loss(validity, valid) + self.auxiliary_loss(pred_label, labels)
"""


def test_tuple_returning_forward_and_loss_helper_methods():
    """nocotan/pytorch-lightning-gans#9: heads ending in Sigmoid/Softmax, a forward that
    returns both, and the losses wrapped in helper methods."""
    body = ACGAN.format(sigmoid="nn.Sigmoid()", softmax="nn.Softmax()", bce="binary_cross_entropy")
    (bce,) = diagnostics(body, "TL201")
    assert "passed to `self.adversarial_loss`" in bce.message and bce.fix is None
    assert "`Discriminator.forward`, which returns an `nn.Sequential` ending in `nn.Sigmoid()`" in bce.message
    (ce,) = diagnostics(body, "TL202")
    assert "passed to `self.auxiliary_loss`" in ce.message and ce.fix is None
    fixed = ACGAN.format(sigmoid="nn.Identity()", softmax="nn.Identity()", bce="binary_cross_entropy_with_logits")
    assert found(fixed, "TL201") == [] and found(fixed, "TL202") == []
    # a helper that does more than return the loss of its first parameter is not followed
    other = body.replace("return F.cross_entropy(y_hat, y)", "return F.cross_entropy(y_hat.log(), y)")
    assert found(other, "TL202") == []
