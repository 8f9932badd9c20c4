"""TL406: a training loop in a file that never seeds its random number generators (opt-in)."""

from __future__ import annotations

import re

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.optim import is_optimizer_class
from tensorlint.semantics.training import scan

# Calls that draw random numbers (`torch.randn`, `RandomCrop`, `F.dropout`, `normal_`,
# `torch.multinomial`, `random_split`, `nn.init.kaiming_uniform_`...).
_RANDOM_CALL = re.compile(r"rand|shuffle|dropout|sampl|(?:^|_)normal_?$|uniform|bernoulli|multinomial|noise|xavier|kaiming|orthogonal", re.IGNORECASE)
# torch.nn layers whose weights start random.
_RANDOM_INIT = re.compile(
    r"^torch\.nn\.(Lazy)?(Linear|Bilinear|Conv\w*|Embedding\w*|RNN\w*|LSTM\w*|GRU\w*|MultiheadAttention|Transformer\w*)$"
)


def _is_false(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def _random_weights(qualname: str, node: cst.Call) -> bool:
    """A layer with random initial weights, or a torchvision/timm model built without
    pretrained weights."""
    if _RANDOM_INIT.match(qualname):
        return True
    if qualname.startswith(("torchvision.models.", "timm.")) and qualname.rsplit(".", 1)[-1][:1].islower():
        given = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        pretrained = given.get("pretrained") or given.get("weights")
        return pretrained is None or _is_false(pretrained) or (isinstance(pretrained, cst.Name) and pretrained.value == "None")
    return False


class UnseededTraining(Rule):
    """## What it does
    Flags the first training loop (a `for`/`while` loop that calls `backward()` and a
    `.step()`) of a file in which nothing seeds the random number generators: no call
    whose name contains `seed` (`torch.manual_seed`, `random.seed`, `np.random.seed`,
    `torch.cuda.manual_seed_all`, Lightning's `seed_everything`, transformers'
    `set_seed`, a project's own `init_seeds`/`fix_random_seeds` helper), and no
    `torch.use_deterministic_algorithms(...)`, and no parameter or keyword argument
    whose name contains `seed` (`def __init__(self, ..., seed=None)`,
    `super().__init__(seed=seed)`: the file threads a seed to the code that sets it,
    as stable-baselines3's algorithms do). Nor is a file whose optimizers only update
    tensors it lists (`torch.optim.Adam([image])`, style transfer) and in which nothing
    draws random numbers (no call named for `rand`, `shuffle`, `dropout`, `normal`,
    `uniform`..., no `shuffle=True`, no layer with random initial weights, no
    torchvision/timm model without pretrained weights): a seed would change nothing. A file whose seeding happens in another
    module (an entry point that seeds before importing the trainer) is still flagged:
    that is why the rule is off by default (dslinter W5507/W5511).

    ## Why is this bad?
    Weight initialisation, dropout, data shuffling and augmentation all draw random
    numbers. Without a seed, two runs of the same code give different results, so a
    change cannot be told apart from noise, and a failure cannot be reproduced.

    ## Example
    ```python
    model = Net()
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    torch.manual_seed(0)
    model = Net()
    for x, y in loader:
        ...
    ```

    ## Fix safety
    There is no fix: where to seed, and with what, is the author's decision.
    """

    code = "TL406"
    name = "unseeded-training"
    summary = "Training loop in a file that never seeds the random number generators"
    default_enabled = False

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._loop: cst.CSTNode | None = None
        self._seeded = False
        self._random = False  # something in the file draws random numbers or builds random weights
        self._optimizers: list[bool] = []  # per optimizer: built over explicit tensors (`Adam([image])`)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if "seed" in name.lower() or name == "use_deterministic_algorithms":
            self._seeded = True
        elif any(arg.keyword is not None and "seed" in arg.keyword.value.lower() for arg in node.args):
            self._seeded = True  # `super().__init__(seed=seed)`: the seed is handed on to be set
        if self._seeded or self._random:
            return
        qualname = self.ctx.qualified_name(func) or ""
        if is_optimizer_class(qualname):
            first = node.args[0].value if node.args and node.args[0].keyword is None else None
            self._optimizers.append(
                isinstance(first, (cst.List, cst.Tuple))
                and all(isinstance(e, cst.Element) and isinstance(e.value, cst.Name) for e in first.elements)
            )
        elif _RANDOM_CALL.search(name) or _random_weights(qualname, node):
            self._random = True
        elif any(
            arg.keyword is not None and arg.keyword.value == "shuffle" and not _is_false(arg.value) for arg in node.args
        ):
            self._random = True

    def visit_Param(self, node: cst.Param) -> None:
        if "seed" in node.name.value.lower():
            self._seeded = True  # `def __init__(self, ..., seed=None)`: the caller chooses the seed

    def leave_For(self, node: cst.For) -> None:
        self._note(node)

    def leave_While(self, node: cst.While) -> None:
        self._note(node)

    def _note(self, loop) -> None:
        if self._loop is not None:
            return
        kinds = {e.kind for e in scan(self.ctx, loop).events}
        if {"backward", "step"} <= kinds:
            self._loop = loop

    def leave_Module(self, node: cst.Module) -> None:
        if self._optimizers and all(self._optimizers) and not self._random:
            return  # optimizes given tensors (an image, for style transfer) with nothing random in the file
        if self._loop is not None and not self._seeded:
            self.report(
                self._loop,
                "this file trains a model but never seeds its random number generators, so runs are not "
                "reproducible; call `torch.manual_seed(...)` (and `random.seed`/`np.random.seed`) first",
            )
