"""TL502: a Linear layer fed the 4-D/5-D output of a convolution or pooling layer, with no Flatten between."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Severity
from tensorlint.rules.base import Rule
from tensorlint.semantics.layer_chain import SHAPE_KEEPING, Step, forward_block_chains, sequential_chain


class LinearOnConvOutput(Rule):
    """## What it does
    Flags an `nn.Linear` that receives the output of a `Conv2d`/`Conv3d` (or their
    transposed forms) or of a 2-D/3-D pooling, padding or upsampling layer with nothing
    that flattens it in between, in the same places the shape chain of
    `layer-size-mismatch` is read: the layers of one `nn.Sequential(...)`, and
    straight-line `x = self.conv(x)` / `x = self.fc(x)` statements of `forward` where
    both attributes are assigned once in `__init__` (an attribute holding a plain
    `nn.Sequential(...)` counts as its layers: `x = self.features(x)` then
    `x = self.classifier(x)`). Activations, dropout and
    normalization layers may sit between the two; a `Flatten`, a `view`/`reshape`, an
    unknown module or any other statement touching the tensor ends the chain, and then
    nothing is reported. One-dimensional convolutions and pooling are not reported:
    `Linear` over the length of an `(N, C, L)` tensor can be meant.

    ## Why is this bad?
    A convolution's output is `(N, C, H, W)`; `nn.Linear` multiplies the *last*
    dimension only, so it either raises `mat1 and mat2 shapes cannot be multiplied`
    (when `in_features` is the channel count or `C * H * W`, as meant) or, when the
    width happens to equal `in_features`, silently mixes pixels along the width and
    keeps a 4-D tensor. A `Flatten` (or `x.flatten(1)`) is missing.

    ## Example
    ```python
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Linear(16, 10),
    )
    ```

    ## Use instead
    ```python
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )
    ```

    ## Fix safety
    There is no fix: where to flatten (`Flatten()` or `Flatten(2)`, before or after
    the pooling) is the author's choice.
    """

    code = "TL502"
    name = "linear-on-conv-output"
    summary = "`Linear` applied to a conv/pooling output (4-D/5-D) with no `Flatten` between"
    severity = Severity.ERROR

    def visit_Call(self, node: cst.Call) -> None:
        steps = sequential_chain(self.ctx, node)
        if steps:
            self._chain(steps, in_forward=False)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        for steps in forward_block_chains(self.ctx, node):
            self._chain(steps, in_forward=True)

    def _chain(self, steps: list[Step], in_forward: bool) -> None:
        spatial: Step | None = None
        for step in steps:
            layer = step.layer
            family = step.family
            if layer is not None and family in ("conv", "keeps-channels"):
                spatial = step if layer.ndim in (2, 3) else None
                continue
            if layer is not None and layer.name == "Linear" and spatial is not None:
                made = spatial.layer
                if in_forward:
                    message = (
                        f"`{step.describe(self.ctx)}` (`Linear`) is applied to the {made.ndim + 2}-D output of "
                        f"`{spatial.describe(self.ctx)}` (`{made.name}`) with no flatten between; `Linear` only "
                        f"multiplies the last dimension: flatten first (`x.flatten(1)`)"
                    )
                else:
                    message = (
                        f"`Linear` is applied to the {made.ndim + 2}-D output of the `{made.name}` before it in this "
                        f"`Sequential`; `Linear` only multiplies the last dimension: add `nn.Flatten()` between them"
                    )
                self.report(step.node, message)
                spatial = None
                continue
            if family in SHAPE_KEEPING and spatial is not None:
                if layer is not None and layer.family in ("batchnorm", "instancenorm") and layer.ndim not in (None, spatial.layer.ndim):
                    spatial = None
                continue
            spatial = None
