"""TL509: a layer's weight initialized to zero when the layer feeds a ReLU."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.calls import call_argument, callee_name
from tensorlint.semantics.context import MethodInfo
from tensorlint.semantics.dataflow import self_attribute_values
from tensorlint.semantics.layer_chain import forward_chains
from tensorlint.semantics.modules import literal_int, literal_number, self_parameter

_ZERO_INITS = frozenset({"torch.nn.init.zeros_", "torch.nn.init.constant_"})
_RELUS = frozenset({"ReLU", "ReLU6"})
_RELU_FUNCTIONS = frozenset({"torch.relu", "torch.nn.functional.relu", "torch.nn.functional.relu6"})


class ZeroWeightBeforeRelu(Rule):
    """## What it does
    Flags `nn.init.zeros_(w)`, `nn.init.constant_(w, 0)`, `w.data.zero_()` and
    `w.fill_(0)` on the `weight` of a `Linear`/`Conv*` layer held in `self.<attr>` (or
    `self.<seq>[i]` of an `nn.Sequential`) whose output goes straight into a `ReLU`/`ReLU6`:
    the next layer of the `Sequential`, or, in `forward`, a straight-line chain
    `x = self.fc(x)` then `x = F.relu(x)` (or `F.relu(self.fc(x))`), with the layer
    assigned once, in `__init__`. Zero-initialized biases, norm weights, and weights of
    layers that feed a residual sum (the usual "zero-init the last layer of a block")
    are not reported.

    ## Why is this bad?
    With a zero weight every unit's pre-activation is its bias. Units whose bias is not
    positive output 0 and, since ReLU's gradient at and below 0 is 0, their weights and
    bias never receive a gradient: they are dead from the first step. With the default
    bias initialization about half of the units die; with a zero bias as well, all of
    them, and the layer outputs zeros for ever.

    ## Example
    ```python
    self.fc = nn.Linear(256, 256)
    nn.init.zeros_(self.fc.weight)
    ...
    x = F.relu(self.fc(x))
    ```

    ## Use instead
    ```python
    self.fc = nn.Linear(256, 256)
    nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")
    ```

    ## Fix safety
    There is no fix: which initialization was meant is the author's choice.
    """

    code = "TL509"
    name = "zero-weight-before-relu"
    summary = "Weight of a layer that feeds a ReLU initialized to zero (its units never get a gradient)"

    def visit_Call(self, node: cst.Call) -> None:
        name = callee_name(node.func)
        if name in ("zeros_", "constant_"):
            if self.ctx.qualified_name(node.func) not in _ZERO_INITS or not node.args or node.args[0].keyword:
                return
            if name == "constant_":
                value = call_argument(node, 1, "val")
                if not isinstance(value, cst.Arg) or literal_number(value.value) != 0:
                    return
            target = node.args[0].value
        elif name in ("zero_", "fill_") and isinstance(node.func, cst.Attribute):
            if name == "fill_" and (len(node.args) != 1 or literal_number(node.args[0].value) != 0):
                return
            if name == "zero_" and node.args:
                return
            target = node.func.value
        else:
            return
        if isinstance(target, cst.Attribute) and target.attr.value == "data":
            target = target.value
        if not (isinstance(target, cst.Attribute) and target.attr.value == "weight"):
            return
        method = self.ctx.module_method()
        if method is None or method.self_name is None:
            return
        holder = target.value
        feeds = None
        if isinstance(holder, cst.Attribute) and _is_self(holder.value, method):
            feeds = self._forward_successor(method, holder.attr.value)
        elif isinstance(holder, cst.Subscript) and isinstance(holder.value, cst.Attribute) and _is_self(holder.value.value, method):
            feeds = self._sequential_successor(method, holder)
        if feeds is None:
            return
        layer_text = self.ctx.code_for(holder)
        self.report(
            node,
            f"`{layer_text}.weight` is initialized to zero but `{layer_text}` feeds {feeds}: units whose bias is "
            f"not positive output 0 and never get a gradient; use a random init (`kaiming_normal_`)",
        )

    def _forward_successor(self, method: MethodInfo, attr: str) -> str | None:
        cls = method.cls
        forward = self.ctx.modules.forward(cls)
        if forward is None:
            return None
        info = MethodInfo(cls, forward, self_parameter(forward))
        if info.self_name is None:
            return None
        for block in _blocks(forward.body):
            for chain in forward_chains(self.ctx, info, block):
                for step, after in zip(chain, chain[1:]):
                    if step.attr != attr or step.layer is None or step.layer.family not in ("linear", "conv"):
                        continue
                    if after.function in _RELU_FUNCTIONS:
                        return f"`{self.ctx.code_for(after.node.func)}` in `forward`"
                    if after.layer is not None and after.layer.name in _RELUS:
                        return f"`{after.describe(self.ctx)}` (`{after.layer.name}`) in `forward`"
        return None

    def _sequential_successor(self, method: MethodInfo, holder: cst.Subscript) -> str | None:
        if len(holder.slice) != 1 or not isinstance(holder.slice[0].slice, cst.Index):
            return None
        index = literal_int(holder.slice[0].slice.value)
        if index is None:
            return None
        values = self_attribute_values(self.ctx, method.cls).get(holder.value.attr.value)
        if not values or len(values) != 1 or not isinstance(values[0], cst.Call):
            return None
        layers = self.ctx.modules.sequential_layers(values[0])
        if layers is None or index + 1 >= len(layers) or any(layer is None for layer in layers[: index + 2]):
            return None
        this = self.ctx.modules.layer(layers[index]) if isinstance(layers[index], cst.Call) else None
        after = self.ctx.modules.layer(layers[index + 1]) if isinstance(layers[index + 1], cst.Call) else None
        if this is None or this.family not in ("linear", "conv") or after is None or after.name not in _RELUS:
            return None
        return f"the `{after.name}` after it in its `Sequential`"


def _is_self(expr: cst.BaseExpression, method: MethodInfo) -> bool:
    return isinstance(expr, cst.Name) and expr.value == method.self_name


def _blocks(body: cst.BaseSuite):
    if isinstance(body, cst.IndentedBlock):
        yield body
        for statement in body.body:
            if isinstance(statement, cst.BaseCompoundStatement) and not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                yield from _nested(statement)


def _nested(statement):
    for name in ("body", "orelse", "finalbody"):
        part = getattr(statement, name, None)
        if isinstance(part, cst.IndentedBlock):
            yield from _blocks(part)
        elif part is not None and hasattr(part, "body") and isinstance(part.body, cst.IndentedBlock):
            yield from _blocks(part.body)
    for handler in getattr(statement, "handlers", ()):
        yield from _blocks(handler.body)
