"""TL002: a normalization layer in nn.Sequential sized for a different channel count."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.modules import Layer, literal_int

# Which norms can be compared with which producers, and what they are compared on.
# conv output is (N, C, *spatial): norms over dim 1 compare with C when their
# dimensionality matches; LayerNorm works on the last dim, which is spatial -> skipped.
# linear output is (..., out): LayerNorm compares with out; BatchNorm1d and GroupNorm
# read dim 1, which is `out` for the (N, features) inputs Sequential MLPs take.
_COMPARABLE = {
    "conv": ("batchnorm", "instancenorm", "groupnorm"),
    "linear": ("batchnorm", "groupnorm", "layernorm"),
    "embedding": ("layernorm",),
}


class NormFeaturesMismatch(Rule):
    """## What it does
    Inside `nn.Sequential(...)` (positional layers, a `*[...]` list, a list variable
    bound once, or an `OrderedDict`), flags a `BatchNorm1d/2d/3d`, `SyncBatchNorm`,
    `InstanceNorm1d/2d/3d`, `GroupNorm` (its `num_channels`), `LayerNorm`/`RMSNorm`
    (the last entry of `normalized_shape`) whose literal feature count differs from the
    literal output size of the layer feeding it: `Conv*`/`ConvTranspose*`
    (`out_channels`), `Linear` (`out_features`), or `Embedding` (for `LayerNorm`).

    Layers that keep the channel count may sit between the two: activations and dropout,
    and for convolutions also pooling, padding and upsampling. Anything else in between,
    any computed size (`nn.BatchNorm2d(c)`), or a norm whose dimensionality does not
    fit the producer (`Conv2d` then `BatchNorm1d`, `Linear` then `BatchNorm2d`,
    `Conv2d` then `LayerNorm`) gives no finding. `BatchNorm1d`/`GroupNorm` after
    `Linear` are checked for the `(batch, features)` input that Sequential MLP heads
    take; a model that feeds `(batch, length, features)` and means to normalize over
    `length` should write that norm outside the Sequential or suppress the line.

    ## Why is this bad?
    The norm's per-channel statistics and affine parameters are sized for a different
    layer. PyTorch raises `RuntimeError: running_mean should contain 64 elements not 32`
    (or a shape error) only when the first batch reaches that layer, which may be deep
    into a training or evaluation run; it often points at a layer size that was changed
    in one place and not the other.

    ## Example
    ```python
    block = nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1),
        nn.ReLU(),
        nn.BatchNorm2d(32),
    )
    ```

    ## Use instead
    ```python
    block = nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1),
        nn.ReLU(),
        nn.BatchNorm2d(64),
    )
    ```

    ## Fix safety
    There is no fix: either number may be the wrong one.
    """

    code = "TL002"
    name = "norm-features-mismatch"
    summary = "Normalization layer's feature count differs from the preceding layer's output channels"

    def visit_Call(self, node: cst.Call) -> None:
        layers = self.ctx.modules.sequential_layer_facts(node)
        if not layers:
            return
        producer: Layer | None = None
        for layer in layers:
            if layer is None:
                producer = None
                continue
            if layer.is_producer:
                producer = layer
                continue
            if producer is None:
                continue
            if layer.is_norm:
                self._check(producer, layer)
                continue
            if layer.family in ("activation", "dropout"):
                continue
            if layer.family == "keeps-channels" and producer.family == "conv":
                continue
            producer = None

    def _check(self, producer: Layer, norm: Layer) -> None:
        if norm.family not in _COMPARABLE[producer.family]:
            return
        if norm.family in ("batchnorm", "instancenorm") and norm.ndim is not None:
            expected_ndim = producer.ndim if producer.family == "conv" else 1
            if norm.ndim != expected_ndim:
                return
        out = literal_int(producer.out)
        features = literal_int(norm.features)
        if out is None or features is None or out == features:
            return
        unit = "output channels" if producer.family == "conv" else "output features"
        self.report(
            norm.call,
            f"`{norm.name}` expects {features} features but the preceding `{producer.name}` has {out} {unit}; "
            f"make the two sizes agree",
        )
