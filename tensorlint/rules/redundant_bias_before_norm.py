"""TL401: a Conv/Linear bias that the BatchNorm right after it cancels."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import append_argument, keyword_arg
from tensorlint.semantics.modules import Layer, literal_int


class RedundantBiasBeforeNorm(Rule):
    """## What it does
    Inside `nn.Sequential(...)`, flags a `Conv*`/`ConvTranspose*`/`Linear` layer with a
    bias (the default, or `bias=True`) whose output goes straight into a
    `BatchNorm1d/2d/3d` or `SyncBatchNorm`, with nothing in between.

    For `Linear`, the BatchNorm must be sized with the same literal or the same
    expression as `out_features`, which shows it normalizes the features the bias is
    added to.

    ## Why is this bad?
    BatchNorm subtracts the per-channel mean, which removes any per-channel constant,
    the bias included; its own `beta` then supplies the shift. The bias is dead weight:
    extra parameters, optimizer state and a wasted add on every forward pass.

    ## Example
    ```python
    nn.Sequential(nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU())
    ```

    ## Use instead
    ```python
    nn.Sequential(nn.Conv2d(64, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128), nn.ReLU())
    ```

    ## Fix safety
    The fix sets `bias=False`. It is unsafe: the layer loses its `bias` parameter, so
    existing checkpoints no longer load with `strict=True`.
    """

    code = "TL401"
    name = "redundant-bias-before-norm"
    summary = "Conv/Linear bias directly followed by BatchNorm is redundant"
    severity = Severity.INFO
    default_enabled = False
    fix_applicability = Applicability.UNSAFE

    def visit_Call(self, node: cst.Call) -> None:
        layers = self.ctx.modules.sequential_layer_facts(node)
        if not layers:
            return
        previous: Layer | None = None
        for layer in layers:
            if layer is not None and layer.family == "batchnorm" and previous is not None:
                self._check(previous, layer)
            previous = layer if layer is not None and layer.family in ("conv", "linear") else None

    def _check(self, producer: Layer, norm: Layer) -> None:
        bias = producer.bias
        if bias is None:
            return
        if isinstance(bias, cst.Arg) and not (isinstance(bias.value, cst.Name) and bias.value.value == "True"):
            return
        if producer.family == "conv":
            if norm.ndim is not None and norm.ndim != producer.ndim:
                return
        else:
            if producer.name == "Bilinear" or (norm.ndim is not None and norm.ndim != 1):
                return
            if not _same_size(producer.out, norm.features):
                return
        if bias is True:
            new = append_argument(producer.call, keyword_arg("bias", cst.Name("False")))
        else:
            new = producer.call.deep_replace(bias.value, cst.Name("False"))
        self.report(
            producer.call,
            f"The bias of `{producer.name}` is cancelled by the `{norm.name}` right after it; pass `bias=False`",
            self.replace(producer.call, new, "Pass `bias=False`"),
        )


def _same_size(a: cst.BaseExpression | None, b: cst.BaseExpression | None) -> bool:
    if a is None or b is None:
        return False
    la, lb = literal_int(a), literal_int(b)
    if la is not None or lb is not None:
        return la == lb
    return a.deep_equals(b) and isinstance(a, (cst.Name, cst.Attribute))
