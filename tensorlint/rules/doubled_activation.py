"""TL506: the same activation twice in a row in `nn.Sequential`."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.layer_chain import Step, forward_block_chains, sequential_chain

# Applying these twice is the same as applying them once.
IDEMPOTENT = frozenset({"ReLU", "ReLU6", "Hardtanh", "Identity"})


class DoubledActivation(Rule):
    """## What it does
    Flags an activation layer directly followed by another instance of the same
    activation in one `nn.Sequential(...)`: `nn.ReLU(), nn.ReLU()`,
    `nn.Tanh(), nn.Tanh()`; and the same in straight-line `forward` code
    (`x = self.relu(x)` then `x = F.relu(x)`, or `F.relu(F.relu(x))`), where a layer
    attribute must be assigned once, in `__init__`. `Identity` is not reported, nor
    activations with arguments that may differ (`LeakyReLU`, `Softmax`, ...).

    ## Why is this bad?
    `ReLU(ReLU(x))` is `ReLU(x)`: the second layer does nothing but cost time, and it
    usually stands where another layer (a `Linear`, a `Conv`, a norm) was meant, or is
    left over from an edit. For the other activations the doubled form
    (`tanh(tanh(x))`, `sigmoid(sigmoid(x))`) squeezes the range further and is almost
    never intended.

    ## Example
    ```python
    block = nn.Sequential(
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
        nn.ReLU(),
    )
    ```

    ## Use instead
    ```python
    block = nn.Sequential(
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
    )
    ```

    ## Fix safety
    There is no fix: removing the layer shifts the indices of later layers in the
    `Sequential`, so saved `state_dict`s would no longer load.
    """

    code = "TL506"
    name = "doubled-activation"
    summary = "The same activation applied twice in a row (`nn.ReLU(), nn.ReLU()`, `F.relu(F.relu(x))`)"

    def visit_Call(self, node: cst.Call) -> None:
        steps = sequential_chain(self.ctx, node)
        if steps:
            self._chain(steps)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        for steps in forward_block_chains(self.ctx, node):
            self._chain(steps)

    def _chain(self, steps: list[Step]) -> None:
        for before, after in zip(steps, steps[1:]):
            name = _activation(before)
            if name is None or name == "Identity" or _activation(after) != name:
                continue
            effect = "does nothing" if name in IDEMPOTENT else "squeezes the values again"
            if after.layer is None or after.attr is not None:  # in forward
                self.report(
                    after.node,
                    f"`{name}` applied twice in a row (`{before.describe(self.ctx)}`, then "
                    f"`{_spelled(self.ctx, after)}`): the second one {effect}; remove it, or call the layer that "
                    f"was meant",
                )
            else:
                self.report(
                    after.node,
                    f"`{name}` directly after another `{name}`: the second one {effect}; remove it, or put the "
                    f"layer that was meant here",
                )


# functional forms with the layer they compute
_FUNCTIONS = {
    "torch.relu": "ReLU", "torch.nn.functional.relu": "ReLU", "torch.nn.functional.relu6": "ReLU6",
    "torch.nn.functional.gelu": "GELU", "torch.nn.functional.silu": "SiLU", "torch.nn.functional.elu": "ELU",
    "torch.nn.functional.selu": "SELU", "torch.nn.functional.mish": "Mish", "torch.tanh": "Tanh",
    "torch.sigmoid": "Sigmoid",
}


def _activation(step: Step) -> str | None:
    """The activation a step computes (`ReLU` for `nn.ReLU()` and `F.relu`), else None."""
    if step.function is not None:
        return _FUNCTIONS.get(step.function)  # leaky_relu's slope and dropout are not compared
    if step.layer is not None and step.layer.family == "activation":
        if step.layer.name in ("LeakyReLU", "PReLU", "RReLU", "Threshold", "Softmax", "LogSoftmax", "Softmin"):
            return None  # their arguments (slope, dim) may differ
        return step.layer.name
    return None


def _spelled(ctx, step: Step) -> str:
    if step.attr is not None:
        return step.describe(ctx)
    return ctx.code_for(step.node.func) if isinstance(step.node, cst.Call) else step.describe(ctx)
