"""TL002: a normalization layer sized for a different channel count than the layer feeding it."""

from __future__ import annotations

from fractions import Fraction

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.dataflow import self_attribute_values, local_values
from tensorlint.semantics.modules import Layer, literal_int
from tensorlint.semantics.scopes import dotted_name

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
    Flags a `BatchNorm1d/2d/3d`, `SyncBatchNorm`, `InstanceNorm1d/2d/3d`, `GroupNorm`
    (its `num_channels`), `LayerNorm`/`RMSNorm` (the last entry of
    `normalized_shape`) whose feature count provably differs from the output size of
    the layer feeding it: `Conv*`/`ConvTranspose*` (`out_channels`), `Linear`
    (`out_features`), or `Embedding` (for `LayerNorm`). Two places are checked:
    - inside `nn.Sequential(...)` (positional layers, a `*[...]` list, a list variable
      bound once, or an `OrderedDict`);
    - in `forward`, a norm held in `self.<attr>` applied right after a producer held
      in another attribute: `self.norm(self.fc(x))`, or `x = self.fc(x)` immediately
      followed by `x = self.norm(x)`, both layers assigned once in the class.

    Sizes may be literals or expressions. They are only reported when they differ for
    every positive value of the names in them: different literals (also a local name
    bound only to a literal), or `hidden` against `hidden * 2` / `hidden + 1`. The
    same expression on both sides is fine, and two different names
    (`nn.Linear(hidden, out)` then `nn.BatchNorm1d(hidden)`) may well be equal, so
    they are not reported. In `forward`, every name in the sizes must be bound once
    in `__init__`.

    Layers that keep the channel count may sit between the two: activations and dropout
    (in `forward` also `F.relu` and the like), and for convolutions also pooling,
    padding and upsampling. Anything else in between, any size computed in a way not
    followed (calls, `//`), or a norm whose dimensionality does not fit the producer
    (`Conv2d` then `BatchNorm1d`, `Linear` then `BatchNorm2d`, `Conv2d` then
    `LayerNorm`) gives no finding. `BatchNorm1d`/`GroupNorm` after `Linear` are
    checked for the `(batch, features)` input that MLP heads take; a model that feeds
    `(batch, length, features)` and means to normalize over `length` should suppress
    the line.

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

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._statement: cst.SimpleStatementLine | None = None
        self._previous: dict = {}  # statement line -> the statement right before it in its block
        self._bindings: dict = {}  # __init__ -> name -> how often it is bound there

    # -- where we are (for `forward`) -------------------------------------------------
    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        method = self.ctx.module_method()
        if method is None or method.name != "forward":
            return
        body = node.body
        for before, after in zip(body, body[1:]):
            self._previous[after] = before

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._statement = node

    def leave_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._statement = None

    def visit_Call(self, node: cst.Call) -> None:
        layers = self.ctx.modules.sequential_layer_facts(node)
        if layers:
            self._sequential(node, layers)
        elif isinstance(node.func, cst.Attribute) and node.args:
            self._forward_call(node)

    # -- nn.Sequential -------------------------------------------------------------------
    def _sequential(self, node: cst.Call, layers) -> None:
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
                self._check(producer, layer, self._local_literal)
                continue
            if layer.family in ("activation", "dropout"):
                continue
            if layer.family == "keeps-channels" and producer.family == "conv":
                continue
            producer = None

    def _local_literal(self, name: cst.Name) -> int | None:
        values = local_values(self.ctx, name)
        if not values:
            return None
        found = {literal_int(value) for value in values}
        return found.pop() if len(found) == 1 else None

    # -- forward: `self.norm(self.fc(x))`, or `x = self.fc(x)` then `x = self.norm(x)` -------
    def _forward_call(self, node: cst.Call) -> None:
        method = self.ctx.module_method()
        if method is None or method.name != "forward" or method.self_name is None:
            return
        norm = self._self_layer(node.func, method)
        if norm is None or not norm.is_norm:
            return
        first = node.args[0]
        if first.keyword is not None or first.star:
            return
        producer = self._producer_of(first.value, method)
        if producer is None and isinstance(first.value, cst.Name):
            producer = self._producer_before(first.value, method)
        if producer is not None:
            self._check(producer, norm, None, node)

    def _self_layer(self, func: cst.BaseExpression, method) -> Layer | None:
        """The torch.nn layer `self.<attr>` holds, when the class assigns it exactly once."""
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return None
        if func.value.value != method.self_name:
            return None
        values = self_attribute_values(self.ctx, method.cls).get(func.attr.value)
        if not values or len(values) != 1 or not isinstance(values[0], cst.Call):
            return None
        return self.ctx.modules.layer(values[0])

    def _producer_of(self, expr: cst.BaseExpression, method, depth: int = 0) -> Layer | None:
        """The producer layer whose output `expr` is, through channel-keeping activations."""
        if not isinstance(expr, cst.Call) or not expr.args or depth > 4:
            return None
        first = expr.args[0]
        if first.keyword is not None or first.star:
            return None
        layer = self._self_layer(expr.func, method)
        if layer is not None:
            if layer.is_producer:
                return layer
            if layer.family in ("activation", "dropout"):
                return self._producer_of(first.value, method, depth + 1)
            return None
        if self.ctx.qualified_name(expr.func) in _KEEPING_FUNCTIONS:
            return self._producer_of(first.value, method, depth + 1)
        return None

    def _producer_before(self, name: cst.Name, method) -> Layer | None:
        """`name = <producer>(...)` as the statement right before the current one."""
        statement = self._statement
        previous = self._previous.get(statement) if statement is not None else None
        if not isinstance(previous, cst.SimpleStatementLine) or len(previous.body) != 1:
            return None
        assign = previous.body[0]
        if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
            return None
        target = assign.targets[0].target
        if not (isinstance(target, cst.Name) and target.value == name.value):
            return None
        return self._producer_of(assign.value, method)

    # -- comparing sizes -----------------------------------------------------------------
    def _check(self, producer: Layer, norm: Layer, resolve, where: cst.Call | None = None) -> None:
        if norm.family not in _COMPARABLE[producer.family]:
            return
        if norm.family in ("batchnorm", "instancenorm") and norm.ndim is not None:
            expected_ndim = producer.ndim if producer.family == "conv" else 1
            if norm.ndim != expected_ndim:
                return
        if producer.out is None or norm.features is None:
            return
        if where is not None and not (self._stable(producer.out) and self._stable(norm.features)):
            return
        if not _provably_different(producer.out, norm.features, resolve):
            return
        unit = "output channels" if producer.family == "conv" else "output features"
        out, features = literal_int(producer.out), literal_int(norm.features)
        out_text = str(out) if out is not None else f"`{self.ctx.code_for(producer.out)}`"
        features_text = str(features) if features is not None else f"`{self.ctx.code_for(norm.features)}`"
        if where is None:
            self.report(
                norm.call,
                f"`{norm.name}` expects {features_text} features but the preceding `{producer.name}` has "
                f"{out_text} {unit}; make the two sizes agree",
            )
        else:
            self.report(
                where,
                f"`{self.ctx.code_for(where.func)}` (`{norm.name}`, {features_text} features) is applied to the output "
                f"of a `{producer.name}` with {out_text} {unit}; make the two sizes agree",
            )

    def _stable(self, expr: cst.BaseExpression) -> bool:
        """Every name in a size written in `__init__` is bound once there (a parameter or a
        single assignment), so the same name means the same value in both layers."""
        names = [n for n in _names_in(expr)]
        if not names:
            return True
        method = self.ctx.module_method()
        init = self.ctx.modules.methods(method.cls).get("__init__") if method else None
        if init is None:
            return False
        counts = self._bindings.get(init)
        if counts is None:
            counts = self._bindings[init] = _binding_counts(init)
        return all(counts.get(name, 0) == 1 for name in names)


_KEEPING_FUNCTIONS = frozenset(
    {
        "torch.relu", "torch.nn.functional.relu", "torch.nn.functional.relu6", "torch.nn.functional.gelu",
        "torch.nn.functional.silu", "torch.nn.functional.leaky_relu", "torch.nn.functional.elu",
        "torch.tanh", "torch.sigmoid", "torch.nn.functional.dropout",
    }
)


def _names_in(expr: cst.BaseExpression):
    if isinstance(expr, cst.Name):
        yield expr.value
    elif isinstance(expr, cst.BinaryOperation):
        yield from _names_in(expr.left)
        yield from _names_in(expr.right)
    elif isinstance(expr, cst.UnaryOperation):
        yield from _names_in(expr.expression)


def _binding_counts(func: cst.FunctionDef) -> dict[str, int]:
    """How often each name is bound in `func` (parameters count once)."""
    counts: dict[str, int] = {}
    params = func.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        counts[param.name.value] = counts.get(param.name.value, 0) + 1

    class Binder(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            for name in _target_names(node.target):
                counts[name] = counts.get(name, 0) + 1

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            for name in _target_names(node.target):
                counts[name] = counts.get(name, 0) + 2

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            for name in _target_names(node.target):
                counts[name] = counts.get(name, 0) + 1

        def visit_For(self, node: cst.For) -> None:
            for name in _target_names(node.target):
                counts[name] = counts.get(name, 0) + 2

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            for name in _target_names(node.target):
                counts[name] = counts.get(name, 0) + 2

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None:
                for name in _target_names(node.asname.name):
                    counts[name] = counts.get(name, 0) + 2

    func.body.visit(Binder())
    return counts


def _target_names(target):
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


def _linear(expr: cst.BaseExpression, resolve) -> dict[str, Fraction] | None:
    """`expr` as a linear form {symbol: coefficient, "": constant} over integer literals,
    names and dotted attributes, with `+`, `-` and multiplication by a constant; None
    for anything else (calls, `//`, products of symbols)."""
    value = literal_int(expr)
    if value is not None:
        return {"": Fraction(value)}
    if isinstance(expr, cst.Name) and resolve is not None:
        known = resolve(expr)
        if known is not None:
            return {"": Fraction(known)}
    if isinstance(expr, (cst.Name, cst.Attribute)):
        symbol = dotted_name(expr)
        return None if symbol is None else {symbol: Fraction(1)}
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = _linear(expr.expression, resolve)
        return None if inner is None else {k: -v for k, v in inner.items()}
    if isinstance(expr, cst.BinaryOperation):
        left, right = _linear(expr.left, resolve), _linear(expr.right, resolve)
        if left is None or right is None:
            return None
        if isinstance(expr.operator, (cst.Add, cst.Subtract)):
            sign = 1 if isinstance(expr.operator, cst.Add) else -1
            total = dict(left)
            for key, coefficient in right.items():
                total[key] = total.get(key, Fraction(0)) + sign * coefficient
            return total
        if isinstance(expr.operator, cst.Multiply):
            for factor, other in ((left, right), (right, left)):
                if set(factor) == {""}:
                    return {k: v * factor[""] for k, v in other.items()}
        return None
    return None


def _provably_different(a: cst.BaseExpression, b: cst.BaseExpression, resolve) -> bool:
    """The two sizes differ for every positive integer value of the names in them: their
    difference is a non-zero constant, or `c * n + k` with no positive integer root."""
    left, right = _linear(a, resolve), _linear(b, resolve)
    if left is None or right is None:
        return False
    difference = dict(left)
    for key, coefficient in right.items():
        difference[key] = difference.get(key, Fraction(0)) - coefficient
    constant = difference.pop("", Fraction(0))
    symbols = {k: v for k, v in difference.items() if v != 0}
    if not symbols:
        return constant != 0
    if len(symbols) != 1:
        return False
    (coefficient,) = symbols.values()
    root = -constant / coefficient
    return root.denominator != 1 or root <= 0
