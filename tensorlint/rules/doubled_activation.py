"""TL506: the same activation twice in a row in `nn.Sequential`."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.layer_chain import sequential_chain

# Applying these twice is the same as applying them once.
IDEMPOTENT = frozenset({"ReLU", "ReLU6", "Hardtanh", "Identity"})


class DoubledActivation(Rule):
    """## What it does
    Flags an activation layer directly followed by another instance of the same
    activation in one `nn.Sequential(...)`: `nn.ReLU(), nn.ReLU()`,
    `nn.Tanh(), nn.Tanh()`. `Identity` is not reported.

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
    summary = "The same activation twice in a row in a `Sequential`"

    def visit_Call(self, node: cst.Call) -> None:
        steps = sequential_chain(self.ctx, node)
        if not steps:
            return
        for before, after in zip(steps, steps[1:]):
            if before.family != "activation" or after.family != "activation":
                continue
            name = after.layer.name
            if name != before.layer.name or name == "Identity":
                continue
            effect = "does nothing" if name in IDEMPOTENT else "squeezes the values again"
            self.report(
                after.node,
                f"`{name}` directly after another `{name}`: the second one {effect}; remove it, or put the "
                f"layer that was meant here",
            )
