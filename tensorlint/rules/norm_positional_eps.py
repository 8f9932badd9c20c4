"""TL503: a normalization layer given an implausible `eps`/`momentum` by position (`BatchNorm2d(n, 0.8)`)."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Severity
from tensorlint.rules.base import Rule
from tensorlint.semantics import torch_api
from tensorlint.semantics.calls import callee_name
from tensorlint.semantics.modules import literal_number

# eps is added to a variance to avoid dividing by zero: torch's defaults are 1e-5
# (BatchNorm, InstanceNorm, GroupNorm, LayerNorm). From this value on it is a second
# hyperparameter, not an epsilon, and it is given by position.
EPS_LIMIT = 1e-2


class NormPositionalEps(Rule):
    """## What it does
    Flags a `torch.nn` layer constructor given, **by position**, a value that makes no
    sense for the parameter that position binds, by torch's signature table:
    - `eps` of 0.01 or more, or below 0 (`BatchNorm1d/2d/3d`, `SyncBatchNorm`,
      `InstanceNorm1d/2d/3d`, `GroupNorm(num_groups, num_channels, eps)`,
      `LayerNorm(shape, eps)`, `RMSNorm`, their lazy forms);
    - `momentum` outside `(0, 1]` (`None`, the cumulative average, is fine).

    The classic case is `nn.BatchNorm2d(64, 0.8)`, written as if the second argument were
    `momentum` (Keras' `BatchNormalization(momentum=0.8)`): it is `eps`. Values given by
    keyword are the author's explicit choice and are not reported.

    ## Why is this bad?
    `eps` is added to the batch variance before dividing by its square root. With
    `eps=0.8` every channel whose variance is below about 1 is scaled down instead of
    normalized to unit variance, so the layer no longer normalizes, quietly: nothing
    fails, the model just trains differently (worse) than intended. A `momentum` of 0 or
    less, or above 1, makes the running statistics never move or diverge.

    ## Example
    ```python
    norm = nn.BatchNorm2d(128, 0.8)
    ```

    ## Use instead
    ```python
    norm = nn.BatchNorm2d(128, momentum=0.2)  # or drop the argument
    ```

    ## Fix safety
    There is no fix: it is unknown which value was meant. Turning `0.8` into
    `momentum=0.8` would not be it either: torch's `momentum` is the weight of the *new*
    batch (`running = (1 - momentum) * running + momentum * batch`), the opposite of
    Keras' convention, so Keras' `momentum=0.8` is torch's `momentum=0.2`, and most such
    code simply meant the defaults.
    """

    code = "TL503"
    name = "norm-positional-eps"
    summary = "Normalization layer given an implausible `eps`/`momentum` by position, e.g. `BatchNorm2d(n, 0.8)`"
    severity = Severity.WARNING

    def visit_Call(self, node: cst.Call) -> None:
        name = callee_name(node.func)
        if name is None or "Norm" not in name or len(node.args) < 2:
            return
        qualified = self.ctx.qualified_name(node.func)
        if qualified is None or not qualified.startswith("torch.nn."):
            return
        entry = torch_api.lookup(qualified)
        order = entry.positional_order if entry is not None else None
        if not order or ("eps" not in order and "momentum" not in order):
            return
        index = 0
        for arg in node.args:
            if arg.star:
                return  # positions after a *args are unknown
            if arg.keyword is not None:
                continue
            if index >= len(order):
                return
            parameter = order[index]
            index += 1
            value = literal_number(arg.value)
            if parameter == "eps" and value is not None and value < 0:
                self.report(
                    arg.value,
                    f"argument {index} of `{qualified.rsplit('.', 1)[1]}` is `eps`, which must be positive: "
                    f"{self.ctx.code_for(arg.value)} can make the variance plus eps negative (NaN outputs)",
                )
            elif parameter == "eps" and value is not None and value >= EPS_LIMIT:
                layer = qualified.rsplit(".", 1)[1]
                if "momentum" in order:
                    message = (
                        f"argument {index} of `{layer}` is `eps`, not `momentum`: this sets "
                        f"eps={self.ctx.code_for(arg.value)} (default 1e-05), so small-variance channels are not "
                        f"normalized; pass `momentum=` by keyword (torch's momentum is 1 - Keras' momentum) or drop "
                        f"the argument"
                    )
                else:
                    message = (
                        f"argument {index} of `{layer}` is `eps`: this sets eps={self.ctx.code_for(arg.value)} "
                        f"(default 1e-05), so small-variance features are not normalized; pass it by keyword if "
                        f"it is meant"
                    )
                self.report(arg.value, message)
            elif parameter == "momentum" and value is not None and not 0 < value <= 1:
                layer = qualified.rsplit(".", 1)[1]
                self.report(
                    arg.value,
                    f"argument {index} of `{layer}` is `momentum`, which must lie in (0, 1] (or be None); "
                    f"{self.ctx.code_for(arg.value)} makes the running statistics "
                    f"{'never update' if value <= 0 else 'diverge'}",
                )
