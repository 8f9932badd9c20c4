"""Chains of torch.nn layers where each layer's output is the next one's input.

Two places are read, both without running anything:

* the layers of one `nn.Sequential(...)` (see `ModuleInference.sequential_layer_facts`);
* straight-line statements in `forward`: `x = self.a(x)` directly followed by
  `x = self.b(x)` (or `return self.b(x)`), and nested calls `self.b(F.relu(self.a(x)))`.
  Each `self.<attr>` must be assigned exactly once in the class, in `__init__`, to a
  `torch.nn` layer; any other statement, or a call that is not a known layer or a
  shape-keeping function, ends the chain.

A chain is a list of `Step`s in the order data flows through them; a `Step` whose
`layer` is None stands for something that cannot be seen (an unknown module, `*args`),
and nothing may be concluded across it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import libcst as cst

from tensorlint.semantics.calls import UNKNOWN, call_argument
from tensorlint.semantics.dataflow import _scan_block, self_attribute_values
from tensorlint.semantics.modules import Layer, self_parameter

# Functions applied in `forward` that keep every dimension of their first argument.
KEEPING_FUNCTIONS = frozenset(
    {
        "torch.relu", "torch.nn.functional.relu", "torch.nn.functional.relu6", "torch.nn.functional.gelu",
        "torch.nn.functional.silu", "torch.nn.functional.leaky_relu", "torch.nn.functional.elu",
        "torch.nn.functional.mish", "torch.nn.functional.selu", "torch.tanh", "torch.sigmoid",
        "torch.nn.functional.dropout",
    }
)
# Families of `Layer` that keep the shape of any input.
SHAPE_KEEPING = frozenset({"activation", "dropout", "batchnorm", "instancenorm", "groupnorm", "layernorm"})


@dataclass(frozen=True)
class Step:
    layer: Layer | None  # the torch.nn layer, None when unknown
    node: cst.CSTNode  # where to report: the layer's construction, or its call in forward
    attr: str | None = None  # `self.<attr>` in forward
    function: str | None = None  # a shape-keeping function (`torch.nn.functional.relu`)

    @property
    def family(self) -> str | None:
        if self.function is not None:
            return "activation"
        return None if self.layer is None else self.layer.family

    def describe(self, ctx) -> str:
        if self.attr is not None:
            return f"self.{self.attr}"
        if self.layer is not None:
            return self.layer.name
        return ctx.code_for(self.node)


def input_size(layer: Layer) -> cst.BaseExpression | None:
    """`in_features` of a `Linear`, `in_channels` of a (transposed) convolution; None for
    anything else (lazy layers infer theirs)."""
    if layer.name == "Linear":
        keyword = "in_features"
    elif layer.family == "conv" and not layer.name.startswith("Lazy"):
        keyword = "in_channels"
    else:
        return None
    arg = call_argument(layer.call, 0, keyword)
    return arg.value if isinstance(arg, cst.Arg) and arg is not UNKNOWN else None


def sequential_chain(ctx, call: cst.Call) -> list[Step] | None:
    """The steps of `nn.Sequential(...)`, or None when `call` is not one. A nested
    `nn.Sequential(...)` of plain positional layers is expanded in place."""
    layers = ctx.modules.sequential_layers(call)
    if layers is None:
        return None
    steps = []
    for expr in layers:
        nested = _plain_sequential(ctx, expr, 0) if isinstance(expr, cst.Call) else None
        if nested is not None:
            steps.extend(Step(layer, node) for layer, node in nested)
            continue
        layer = ctx.modules.layer(expr) if isinstance(expr, cst.Call) else None
        steps.append(Step(layer, expr if expr is not None else call))
    return steps


def _plain_sequential(ctx, call: cst.Call, depth: int) -> list[tuple[Layer | None, cst.CSTNode]] | None:
    """(layer, construction) for each layer of `nn.Sequential(a, b, ...)` written with
    plain positional layers only (nested ones expanded); None for anything else. Unlike
    `sequential_layers` no name is looked up, so it can be read from any scope."""
    if depth > 4 or ctx.modules.torch_nn_class(call.func) != "Sequential":
        return None
    found: list[tuple[Layer | None, cst.CSTNode]] = []
    for arg in call.args:
        if arg.star or arg.keyword is not None:
            return None
        value = arg.value
        inner = _plain_sequential(ctx, value, depth + 1) if isinstance(value, cst.Call) else None
        if inner is not None:
            found.extend(inner)
        else:
            found.append((ctx.modules.layer(value) if isinstance(value, cst.Call) else None, value))
    return found


# -- forward -----------------------------------------------------------------------------

_INIT_ATTRS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _init_value(ctx, method, attr: str) -> cst.Call | None:
    """The call `self.<attr>` is assigned from, when the class assigns it exactly once, in
    `__init__`."""
    values = self_attribute_values(ctx, method.cls).get(attr)
    if not values or len(values) != 1 or not isinstance(values[0], cst.Call):
        return None
    cache = _INIT_ATTRS.setdefault(ctx, {})
    in_init = cache.get(method.cls)
    if in_init is None:
        in_init = {}
        init = ctx.modules.methods(method.cls).get("__init__")
        self_name = self_parameter(init) if init is not None else None
        if self_name is not None:
            _scan_block([init], self_name, in_init)
        cache[method.cls] = in_init
    found = in_init.get(attr)
    if not found or len(found) != 1 or found[0] is not values[0]:
        return None
    return values[0]


def _attribute_steps(ctx, method, attr: str, call: cst.Call) -> list[Step]:
    """`self.<attr>(x)` as steps: its layer, or the layers of a plain `nn.Sequential`."""
    value = _init_value(ctx, method, attr)
    if value is None:
        return [Step(None, call, attr=attr)]
    nested = _plain_sequential(ctx, value, 0)
    if nested is not None:
        indexed = len(nested) == len(value.args)  # no nested Sequential: indices are the real ones
        return [
            Step(layer, call, attr=f"{attr}[{index}]" if indexed else attr) for index, (layer, _) in enumerate(nested)
        ]
    return [Step(ctx.modules.layer(value), call, attr=attr)]


def _expression_steps(ctx, method, expr: cst.BaseExpression) -> tuple[str, list[Step]] | None:
    """`self.b(F.relu(self.a(x)))` -> ("x", [a, relu, b]); None for anything else."""
    steps: list[Step] = []
    while isinstance(expr, cst.Call):
        args = expr.args
        if not args or args[0].keyword is not None or args[0].star:
            return None
        func = expr.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == method.self_name
        ):
            if len(args) != 1:
                return None
            steps.extend(reversed(_attribute_steps(ctx, method, func.attr.value, expr)))
        else:
            qualified = ctx.qualified_name(func)
            if qualified not in KEEPING_FUNCTIONS:
                return None
            if any(arg.keyword is None or arg.star for arg in args[1:]):
                return None  # F.dropout(x, p, ...) is fine by keyword only: keep it simple
            steps.append(Step(None, expr, function=qualified))
        expr = args[0].value
    if not isinstance(expr, cst.Name) or not steps:
        return None
    steps.reverse()
    return expr.value, steps


def forward_chains(ctx, method, block: cst.IndentedBlock) -> list[list[Step]]:
    """The straight-line layer chains among the statements of one block of `forward`."""
    chains: list[list[Step]] = []
    current: list[Step] = []
    variable: str | None = None
    for statement in block.body:
        parsed = None
        target = None
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                if isinstance(small.targets[0].target, cst.Name):
                    target = small.targets[0].target.value
                    parsed = _expression_steps(ctx, method, small.value)
            elif isinstance(small, cst.Return) and small.value is not None:
                parsed = _expression_steps(ctx, method, small.value)
        if parsed is None:
            if current:
                chains.append(current)
            current, variable = [], None
            continue
        source, steps = parsed
        if variable is not None and source == variable:
            current.extend(steps)
        else:
            if current:
                chains.append(current)
            current = list(steps)
        variable = target
        if target is None:
            chains.append(current)
            current = []
    if current:
        chains.append(current)
    return chains


def forward_block_chains(ctx, block: cst.IndentedBlock) -> list[list[Step]]:
    """`forward_chains` when `block` is directly inside `forward` of a module class (or a
    block nested in it); an empty list elsewhere."""
    method = ctx.module_method()
    if method is None or method.name != "forward" or method.self_name is None:
        return []
    cache = _BLOCK_CHAINS.setdefault(ctx, {})  # several rules ask for the same block
    found = cache.get(block)
    if found is None:
        found = cache[block] = forward_chains(ctx, method, block)
    return found


_BLOCK_CHAINS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
