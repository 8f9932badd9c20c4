"""TL109-TL113, TL115: training-loop mistakes from issue #12."""

from __future__ import annotations

import textwrap

import pytest

from lintutil import codes, fix

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def found(body: str, code: str) -> list[str]:
    return codes(HEADER + textwrap.dedent(body), select=(code,))


def fixed(body: str, code: str, unsafe: bool = False) -> str:
    return fix(HEADER + textwrap.dedent(body), select=(code,), unsafe=unsafe)[len(HEADER):]


# -- TL109 grad-mode-bare-statement ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "torch.no_grad()\npreds = model(x)\n",
        "def evaluate(model, x):\n    model.eval()\n    torch.no_grad()\n    return model(x)\n",
        "torch.enable_grad()\n",
        "torch.inference_mode()\n",
        "torch.autograd.no_grad()\n",
        "from torch import no_grad\nno_grad()\n",
        "torch.autocast('cuda')\n",
        "torch.cuda.amp.autocast()\n",
    ],
)
def test_grad_mode_bare_statement_positive(body):
    assert found(body, "TL109") == ["TL109"]


@pytest.mark.parametrize(
    "body",
    [
        "with torch.no_grad():\n    preds = model(x)\n",
        "@torch.no_grad()\ndef f(x):\n    return x\n",
        "torch.set_grad_enabled(False)\n",  # a function call: it does switch autograd off
        "ctx = torch.no_grad()\nwith ctx:\n    pass\n",
        "def no_grad():\n    pass\nno_grad()\n",  # not torch's
        "x = torch.inference_mode()\n",
        "torch.no_grad\n",  # another mistake (not called); not this rule
    ],
)
def test_grad_mode_bare_statement_negative(body):
    assert found(body, "TL109") == []


# -- TL113 forward-called-directly ----------------------------------------------------------

_NET = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.blocks = nn.ModuleList([nn.Linear(4, 4)])

    def forward(self, x):
        return {call}
"""


@pytest.mark.parametrize(
    "body",
    [
        _NET.format(call="self.body.forward(x)"),
        "model = nn.Linear(3, 3)\ny = model.forward(x)\n",
        "class Block(nn.Module):\n    def forward(self, x):\n        return x\nblock = Block()\ny = block.forward(x)\n",
    ],
)
def test_forward_called_directly_positive(body):
    assert found(body, "TL113") == ["TL113"]


@pytest.mark.parametrize(
    "body",
    [
        _NET.format(call="self.body(x)"),
        _NET.format(call="super().forward(x)"),
        _NET.format(call="nn.Module.forward(self, x)"),
        _NET.format(call="self.forward(x)"),  # the module's own forward: not this rule
        "def f(model, x):\n    return model.forward(x)\n",  # unknown receiver
        "net = cv2.dnn.readNet('m.onnx')\ny = net.forward()\n",  # yolov5 common.py: not a torch module
        "class Helper:\n    def forward(self, x):\n        return x\nh = Helper()\ny = h.forward(x)\n",
        "for down in self.downs:\n    y = down.forward(y)\n",
    ],
)
def test_forward_called_directly_negative(body):
    assert found(body, "TL113") == []


def test_forward_called_directly_fix():
    body = "model = nn.Linear(3, 3)\ny = model.forward(x)\n"
    assert fixed(body, "TL113") == body
    assert fixed(body, "TL113", unsafe=True) == "model = nn.Linear(3, 3)\ny = model(x)\n"


# -- TL110 loss-accumulated-with-graph ------------------------------------------------------

_LOOP = """
model = nn.Linear(4, 2)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
running_loss = 0.0
losses = []
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    {line}
"""


@pytest.mark.parametrize(
    "line",
    [
        "running_loss += loss",
        "running_loss = running_loss + loss",
        "running_loss += loss * x.size(0)",
        "losses.append(loss)",
        "self.total -= loss",
    ],
)
def test_loss_accumulated_with_graph_positive(line):
    assert found(_LOOP.format(line=line), "TL110") == ["TL110"]


@pytest.mark.parametrize(
    "line",
    [
        "running_loss += loss.item()",
        "running_loss += loss.detach()",
        "running_loss += loss.data",
        "running_loss += float(loss)",
        "losses.append(loss.item())",
        "running_loss += other",
        "print(loss)",
    ],
)
def test_loss_accumulated_with_graph_negative_lines(line):
    assert found(_LOOP.format(line=line), "TL110") == []


@pytest.mark.parametrize(
    "body",
    [
        # summing losses to backpropagate them together
        """
        def step(outputs, targets):
            total = 0
            for out, y in zip(outputs, targets):
                loss = F.mse_loss(out, y)
                total += loss
            total.backward()
        """,
        # the loss is turned into a number before it is summed
        """
        def train(loader):
            total = 0
            for x, y in loader:
                loss = F.mse_loss(model(x), y)
                loss.backward()
                loss = loss.item()
                total += loss
        """,
        # no backward in the loop: evaluation
        """
        def evaluate(loader):
            total = 0
            for x, y in loader:
                loss = F.mse_loss(model(x), y)
                total += loss
            return total
        """,
        # the list is backpropagated as a whole
        """
        def train(loader):
            losses = []
            for x, y in loader:
                loss = F.mse_loss(model(x), y)
                loss.backward(retain_graph=True)
                losses.append(loss)
            torch.stack(losses).sum().backward()
        """,
        # under no_grad nothing keeps a graph
        """
        def train(loader):
            total = 0
            for x, y in loader:
                loss = F.mse_loss(model(x), y)
                loss.backward()
                with torch.no_grad():
                    total += loss
        """,
        # accumulation outside the loop
        """
        def train(x, y):
            loss = F.mse_loss(model(x), y)
            loss.backward()
            history.append(loss)
        """,
    ],
)
def test_loss_accumulated_with_graph_negative(body):
    assert found(body, "TL110") == []


def test_loss_accumulated_with_graph_scaler_and_accelerator():
    body = """
    def train(loader, scaler, accelerator):
        total = 0
        for x, y in loader:
            loss = F.mse_loss(model(x), y)
            scaler.scale(loss).backward()
            total += loss
        for x, y in loader:
            loss2 = F.mse_loss(model(x), y)
            accelerator.backward(loss2)
            total += loss2
    """
    assert found(body, "TL110") == ["TL110", "TL110"]


def test_loss_accumulated_with_graph_fix():
    body = _LOOP.format(line="running_loss += loss  # sum")
    assert fixed(body, "TL110") == body
    assert fixed(body, "TL110", unsafe=True) == body.replace("running_loss += loss", "running_loss += loss.detach()")
    # arithmetic on the loss: reported without a fix
    body = _LOOP.format(line="running_loss += loss * 2")
    assert fixed(body, "TL110", unsafe=True) == body


# -- TL111 zero-grad-placement --------------------------------------------------------------

_TRAIN = """
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
def train(loader):
    for x, y in loader:
{body}
"""


def _train(*lines: str) -> str:
    return _TRAIN.format(body="\n".join("        " + line for line in lines))


@pytest.mark.parametrize(
    "src",
    [
        # zero_grad between backward and step
        _train("loss = F.mse_loss(model(x), y)", "loss.backward()", "optimizer.zero_grad()", "optimizer.step()"),
        # the model's zero_grad, between them
        _train("loss = F.mse_loss(model(x), y)", "loss.backward()", "model.zero_grad()", "optimizer.step()"),
        # missing
        _train("loss = F.mse_loss(model(x), y)", "loss.backward()", "optimizer.step()"),
        _train("loss = F.mse_loss(model(x), y)", "scaler.scale(loss).backward()", "scaler.step(optimizer)", "scaler.update()"),
    ],
)
def test_zero_grad_placement_positive(src):
    assert found(src, "TL111") == ["TL111"]


@pytest.mark.parametrize(
    "src",
    [
        _train("optimizer.zero_grad()", "loss = F.mse_loss(model(x), y)", "loss.backward()", "optimizer.step()"),
        _train("loss = F.mse_loss(model(x), y)", "loss.backward()", "optimizer.step()", "optimizer.zero_grad()"),
        _train("model.zero_grad()", "loss = F.mse_loss(model(x), y)", "loss.backward()", "optimizer.step()"),
        # another model's zero_grad between them
        _train("loss = F.mse_loss(model(x), y)", "loss.backward()", "other.zero_grad()", "optimizer.step()", "optimizer.zero_grad()"),
        _train("loss = F.mse_loss(model(x), y)", "loss.backward()", "optimizer.step()", "for p in model.parameters():", "    p.grad = None"),
        # gradient accumulation: the step is conditional
        _train("loss = F.mse_loss(model(x), y)", "loss.backward()", "if (i + 1) % 4 == 0:", "    optimizer.step()", "    optimizer.zero_grad()"),
        _train("loss = F.mse_loss(model(x), y)", "loss.backward()", "if (i + 1) % 4 == 0:", "    optimizer.step()"),
        # LBFGS: the closure clears the gradients
        _train("optimizer.step(closure)"),
        # a helper of the file clears them
        _train("reset()", "loss = F.mse_loss(model(x), y)", "loss.backward()", "optimizer.step()")
        + "def reset():\n    optimizer.zero_grad()\n",
        # a helper of the file runs the backward between zero_grad and step
        _train("optimizer.zero_grad()", "compute(x, y)", "optimizer.step()")
        + "def compute(x, y):\n    F.mse_loss(model(x), y).backward()\n",
        # zero_grad before the loop of an outer loop
        _train("optimizer.zero_grad()", "for xb in x:", "    F.mse_loss(model(xb), y).backward()", "optimizer.step()"),
        # an optimizer the linter cannot identify
        "def train(loader, opt):\n    for x, y in loader:\n        F.mse_loss(model(x), y).backward()\n        opt.step()\n",
        # two optimizers: D's zero_grad between G's backward and D's step is D's business
        "optD = torch.optim.Adam(D.parameters())\noptG = torch.optim.Adam(G.parameters())\n"
        "for x in loader:\n    optG.zero_grad()\n    lossG.backward()\n    optG.step()\n    optD.zero_grad()\n    lossD.backward()\n    optD.step()\n",
    ],
)
def test_zero_grad_placement_negative(src):
    assert found(src, "TL111") == []


def test_zero_grad_placement_self_attribute_optimizer():
    body = """
    class Trainer:
        def __init__(self, model):
            self.model = model
            self.opt = torch.optim.Adam(model.parameters())

        def fit(self, loader):
            for x, y in loader:
                loss = F.mse_loss(self.model(x), y)
                loss.backward()
                self.opt.zero_grad()
                self.opt.step()
    """
    assert found(body, "TL111") == ["TL111"]


# -- TL112 scheduler-step-before-optimizer-step -------------------------------------------------

_SCHED = """
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 30)
for epoch in range(10):
{body}
"""


def _sched(*lines: str) -> str:
    return _SCHED.format(body="\n".join("    " + line for line in lines))


_INNER = ["for x, y in loader:", "    optimizer.zero_grad()", "    F.mse_loss(model(x), y).backward()", "    optimizer.step()"]


@pytest.mark.parametrize(
    "src",
    [
        _sched("scheduler.step()", *_INNER),
        _sched("optimizer.zero_grad()", "F.mse_loss(model(x), y).backward()", "scheduler.step()", "optimizer.step()"),
        _sched("scheduler.step()", "optimizer.zero_grad()", "loss.backward()", "scaler.step(optimizer)"),
    ],
)
def test_scheduler_step_before_optimizer_positive(src):
    assert found(src, "TL112") == ["TL112"]


@pytest.mark.parametrize(
    "src",
    [
        _sched(*_INNER, "scheduler.step()"),
        _sched("if epoch > 0:", "    scheduler.step()", *_INNER),  # the known workaround
        _sched("scheduler.step()"),  # no optimizer step in this loop
        # a scheduler of another optimizer
        _SCHED.replace("StepLR(optimizer", "StepLR(other").format(body="\n".join("    " + l for l in ["scheduler.step()", *_INNER])),
        # ReduceLROnPlateau takes a metric
        _SCHED.replace("StepLR(optimizer, 30)", "ReduceLROnPlateau(optimizer)").format(
            body="\n".join("    " + l for l in ["scheduler.step()", *_INNER])
        ),
        # the scheduler is a parameter: unknown
        "def fit(scheduler, optimizer):\n    for e in range(3):\n        scheduler.step()\n        optimizer.step()\n",
        # an optimizer step before the scheduler's in the body
        _sched("optimizer.step()", "scheduler.step()", "optimizer.step()"),
    ],
)
def test_scheduler_step_before_optimizer_negative(src):
    assert found(src, "TL112") == []


_OLD_STYLE = """
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 30)

def train(net, opt, loader):
    for x, y in loader:
        opt.zero_grad()
        F.mse_loss(net(x), y).backward()
        opt.step()

def evaluate(net, loader):
    return sum(F.mse_loss(net(x), y).item() for x, y in loader)

for epoch in range(10):
{body}
"""


@pytest.mark.parametrize(
    "body, expected",
    [
        # pre-1.1 style: the scheduler first, then a helper that steps the optimizer it is given
        (["scheduler.step()", "train(model, optimizer, loader)"], ["TL112"]),
        (["scheduler.step()", "train(model, opt=optimizer, loader=loader)"], ["TL112"]),
        (["train(model, optimizer, loader)", "scheduler.step()"], []),
        (["scheduler.step()", "evaluate(model, loader)"], []),  # no step in that helper
        (["scheduler.step()", "train(model, other, loader)"], []),  # another optimizer
        (["scheduler.step()", "run(model, optimizer)"], []),  # unknown helper
    ],
)
def test_scheduler_step_before_a_helper_that_steps(body, expected):
    src = _OLD_STYLE.format(body="\n".join("    " + line for line in body))
    assert found(src, "TL112") == expected


def test_scheduler_step_before_a_method_that_steps():
    body = """
    class Trainer:
        def __init__(self, model):
            self.model = model
            self.opt = torch.optim.Adam(model.parameters())
            self.sched = torch.optim.lr_scheduler.StepLR(self.opt, 10)

        def train_epoch(self, loader):
            for x, y in loader:
                self.opt.zero_grad()
                F.mse_loss(self.model(x), y).backward()
                self.opt.step()

        def fit(self, loader, epochs):
            for epoch in range(epochs):
                self.sched.step()
                self.train_epoch(loader)
    """
    assert found(body, "TL112") == ["TL112"]


# -- TL115 backward-twice -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "loss = F.mse_loss(model(x), y)\nloss.backward()\nloss.backward()\n",
        "def f(x, y):\n    loss = F.mse_loss(model(x), y)\n    loss.backward()\n    optimizer.step()\n    loss.backward()\n",
    ],
)
def test_backward_twice_positive(body):
    assert found(body, "TL115") == ["TL115"]


@pytest.mark.parametrize(
    "body",
    [
        "loss.backward(retain_graph=True)\nloss.backward()\n",
        "loss.backward(create_graph=True)\nloss.backward()\n",
        "loss.backward()\nloss = F.mse_loss(model(x), y)\nloss.backward()\n",
        "loss.backward()\nif c:\n    loss = other\nloss.backward()\n",
        "lossD.backward()\nlossG.backward()\n",
        "for x in xs:\n    loss = f(x)\n    loss.backward()\n",
        "loss.backward()\nif c:\n    loss.backward()\n",  # another block: not proven to run after
    ],
)
def test_backward_twice_negative(body):
    assert found(body, "TL115") == []


# -- TL114 step-without-backward ------------------------------------------------------------

_STEP = """
model = nn.Linear(4, 2)
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
{body}
"""


def _step(*lines: str) -> str:
    return _STEP.format(body="\n".join("    " + line for line in lines))


@pytest.mark.parametrize(
    "src",
    [
        _step("optimizer.zero_grad()", "loss = criterion(model(x), y)", "optimizer.step()"),
        _step("optimizer.zero_grad()", "loss = criterion(model(x), y)", "print(loss.item())", "optimizer.step()"),
        _step("loss = criterion(model(x), y)", "log(loss)", "optimizer.step()") + "def log(v):\n    print(v)\n",
    ],
)
def test_step_without_backward_positive(src):
    assert found(src, "TL114") == ["TL114"]


@pytest.mark.parametrize(
    "src",
    [
        _step("optimizer.zero_grad()", "loss = criterion(model(x), y)", "loss.backward()", "optimizer.step()"),
        _step("optimizer.zero_grad()", "scaler.scale(criterion(model(x), y)).backward()", "scaler.step(optimizer)"),
        _step("optimizer.zero_grad()", "accelerator.backward(criterion(model(x), y))", "optimizer.step()"),
        # the backward may happen in an unknown helper
        _step("optimizer.zero_grad()", "train_batch(model, x, y)", "optimizer.step()"),
        # ... or in a helper of the file
        _step("optimizer.zero_grad()", "compute(x, y)", "optimizer.step()")
        + "def compute(x, y):\n    criterion(model(x), y).backward()\n",
        # gradients set by hand
        _step("g = torch.autograd.grad(criterion(model(x), y), model.weight)[0]", "model.weight.grad = g", "optimizer.step()"),
        # LBFGS
        _step("optimizer.step(closure)"),
        # a conditional step
        _step("loss = criterion(model(x), y)", "if c:", "    optimizer.step()"),
        # an optimizer the linter cannot identify
        "def f(opt, loader):\n    for x in loader:\n        opt.step()\n",
    ],
)
def test_step_without_backward_negative(src):
    assert found(src, "TL114") == []


# -- TL406 unseeded-training (opt-in) -------------------------------------------------------

_UNSEEDED = """
{seed}
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    optimizer.zero_grad()
    F.mse_loss(model(x), y).backward()
    optimizer.step()
"""


def test_unseeded_training_positive():
    assert found(_UNSEEDED.format(seed=""), "TL406") == ["TL406"]


@pytest.mark.parametrize(
    "seed",
    [
        "torch.manual_seed(0)",
        "import random\nrandom.seed(0)",
        "import numpy as np\nnp.random.seed(0)",
        "from lightning import seed_everything\nseed_everything(1)",
        "from utils import init_seeds\ninit_seeds(2)",
        "torch.use_deterministic_algorithms(True)",
    ],
)
def test_unseeded_training_negative(seed):
    assert found(_UNSEEDED.format(seed=seed), "TL406") == []


_SEED_THREADED = """
from .base import OnPolicyAlgorithm

class A2C(OnPolicyAlgorithm):
    def __init__(self, policy, env, seed=None):
        super().__init__(policy, env, seed=seed)

    def train(self):
        for data in self.rollout_buffer.get():
            self.policy.optimizer.zero_grad()
            self.policy(data).sum().backward()
            self.policy.optimizer.step()
"""


def test_unseeded_training_seed_threaded_to_another_module():
    # stable-baselines3 a2c.py: the algorithm takes a `seed` and hands it to its base
    # class, which calls `set_random_seed(self.seed)`: the file handles seeding
    assert found(_SEED_THREADED, "TL406") == []
    twin = _SEED_THREADED.replace(", seed=None", "").replace(", seed=seed", "")
    assert twin != _SEED_THREADED
    assert found(twin, "TL406") == ["TL406"]


_STYLE_TRANSFER = """
from torchvision import models, transforms

class VGGNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.vgg = models.vgg19(pretrained=True).features

    def forward(self, x):
        return self.vgg(x)

def main(content, style, steps):
    normalize = transforms.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    content, style = normalize(content), normalize(style)
    target = content.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([target], lr=0.003)
    vgg = VGGNet().eval()
    for step in range(steps):
        loss = F.mse_loss(vgg(target), vgg(content)) + F.mse_loss(vgg(target), vgg(style))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


def test_unseeded_training_input_optimization_with_nothing_random():
    # yunjey/pytorch-tutorial neural_style_transfer/main.py: the optimizer updates an
    # image that starts as the content image, through a pretrained VGG: no random draw
    # anywhere, so a seed would change nothing
    assert found(_STYLE_TRANSFER, "TL406") == []
    # twins, each reported: a random start image, random VGG weights, a model's parameters
    twins = [
        _STYLE_TRANSFER.replace("content.clone()", "torch.randn_like(content)"),
        _STYLE_TRANSFER.replace("vgg19(pretrained=True)", "vgg19()"),
        _STYLE_TRANSFER.replace("transforms.Normalize(", "transforms.RandomCrop(8) or transforms.Normalize("),
        _STYLE_TRANSFER.replace("torch.optim.Adam([target], lr=0.003)\n    vgg = VGGNet().eval()", "None\n    vgg = VGGNet()\n    optimizer = torch.optim.Adam(vgg.parameters())"),
    ]
    for twin in twins:
        assert twin != _STYLE_TRANSFER
        assert found(twin, "TL406") == ["TL406"], twin


def test_unseeded_training_needs_a_training_loop():
    assert found("for x in loader:\n    print(model(x))\n", "TL406") == []


def test_unseeded_training_is_off_by_default():
    assert codes(HEADER + _UNSEEDED.format(seed=""), select=("ALL",)).count("TL406") == 1
    from tensorlint.rules import rule_by_code

    assert rule_by_code("TL406").default_enabled is False
