"""TL504: a Dropout layer directly followed by a BatchNorm layer in `nn.Sequential`."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.layer_chain import sequential_chain


class DropoutBeforeBatchNorm(Rule):
    """## What it does
    Flags a `Dropout`/`Dropout1d/2d/3d`/`AlphaDropout` directly followed by a
    `BatchNorm1d/2d/3d` or `SyncBatchNorm` in one `nn.Sequential(...)` (positional layers,
    a `*[...]` list, a list variable bound once, an `OrderedDict`).

    ## Why is this bad?
    Dropout scales the kept activations by `1 / (1 - p)` in training and does nothing in
    eval mode, so the variance BatchNorm sees while training differs from the variance
    it meets at inference; the running statistics it learned no longer fit ("variance
    shift", Li et al., *Understanding the Disharmony between Dropout and Batch
    Normalization*, CVPR 2019). Test accuracy drops although training looks fine. Put
    dropout after the last BatchNorm (or after the norm in each block).

    Off by default: how much the shift costs depends on the model, and on the real
    training code measured (16 repositories) the rule never fires, so its precision is
    unmeasured.

    ## Example
    ```python
    block = nn.Sequential(
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.BatchNorm1d(128),
    )
    ```

    ## Use instead
    ```python
    block = nn.Sequential(
        nn.Linear(256, 128),
        nn.BatchNorm1d(128),
        nn.ReLU(),
        nn.Dropout(0.5),
    )
    ```

    ## Fix safety
    There is no fix: reordering layers changes the model's parameters' meaning and any
    saved checkpoint's layer indices.
    """

    code = "TL504"
    name = "dropout-before-batchnorm"
    summary = "Dropout directly followed by BatchNorm in a `Sequential` (variance shift at inference)"
    default_enabled = False  # a training-quality smell; no finding on the real-code corpus to measure it on

    def visit_Call(self, node: cst.Call) -> None:
        steps = sequential_chain(self.ctx, node)
        if not steps:
            return
        for before, after in zip(steps, steps[1:]):
            if before.family == "dropout" and after.family == "batchnorm":
                self.report(
                    after.node,
                    f"`{after.layer.name}` directly after `{before.layer.name}`: dropout changes the variance the "
                    f"norm sees in training but not in eval mode, so its running statistics will not fit at "
                    f"inference; move the dropout after the norm",
                )
