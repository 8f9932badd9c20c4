"""TL510: a layer built in `__init__` that nothing in the file ever uses."""

from __future__ import annotations

import weakref

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.dataflow import _scan_block, self_attribute_values
from tensorlint.semantics.modules import CONTAINER_TORCH_NN, STATEFUL_TORCH_NN, self_parameter

# Ways a module reaches its submodules without naming them.
_REFLECTION = frozenset(
    {
        "children", "named_children", "modules", "named_modules", "_modules", "__dict__", "__getattr__",
        "__getattribute__", "parameters", "named_parameters",
    }
)
_USES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Uses(cst.CSTVisitor):
    """Every attribute name used in the file, and the text of every string literal."""

    def __init__(self) -> None:
        self.attributes: dict[str, int] = {}
        self.strings: list[str] = []
        self.names: set[str] = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.attributes[node.attr.value] = self.attributes.get(node.attr.value, 0) + 1

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.strings.append(node.value)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self.strings.append(node.value)


class LayerUnusedInForward(Rule):
    """## What it does
    Flags a `torch.nn` layer (one with parameters, buffers or a train/eval behaviour:
    `Linear`, `Conv2d`, `BatchNorm2d`, `Dropout`, `LSTM`, `Sequential`...) assigned to
    `self.<attr>` in `__init__` of an `nn.Module` that defines `forward`, when nothing in
    the file ever reads `<attr>`: no `self.<attr>` or `other.<attr>` anywhere, no string
    that mentions it (`getattr(self, "fc")`, `named_modules()` filters), no reflection
    over the module's children or parameters (`self.children()`, `self.modules()`,
    `self.parameters()`, `self._modules`, `__dict__`, `vars(self)`, `getattr(self, ...)`)
    in the class, and no subclass of the
    class in the file. Only attributes assigned once, in `__init__`, are considered.

    ## Why is this bad?
    A layer that is built but never called usually means a forgotten call in `forward`
    (`x = self.dropout(x)` or `x = self.bn(x)` left out), so the model is not the one
    described; at the least its parameters are handed to the optimizer, saved and
    loaded for nothing, and `DistributedDataParallel` fails with "parameters that
    were not used in producing loss" unless `find_unused_parameters=True`.

    Off by default: the layer may be used from another file (`model.classifier` in a
    training script, a subclass elsewhere), which a single-file check cannot see.

    ## Example
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(128, 10)
            self.dropout = nn.Dropout(0.5)

        def forward(self, x):
            return self.fc(x)
    ```

    ## Use instead
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(128, 10)
            self.dropout = nn.Dropout(0.5)

        def forward(self, x):
            return self.fc(self.dropout(x))
    ```

    ## Fix safety
    There is no fix: either the call or the layer is what is missing.
    """

    code = "TL510"
    name = "layer-unused-in-forward"
    summary = "Layer assigned in `__init__` that nothing in the file uses (a forgotten call in `forward`?)"
    default_enabled = False

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        modules = self.ctx.modules
        if not modules.is_module_class(node):
            return
        methods = modules.methods(node)
        init, forward = methods.get("__init__"), methods.get("forward")
        if init is None or forward is None:
            return
        self_name = self_parameter(init)
        if self_name is None:
            return
        uses = self._uses()
        inside = _Uses()
        node.visit(inside)
        if _REFLECTION & set(inside.attributes) or {"vars", "getattr", "setattr"} & inside.names:
            return
        if self._subclassed(node):
            return
        in_init: dict[str, list] = {}
        _scan_block([init], self_name, in_init)
        everywhere = self_attribute_values(self.ctx, node)
        for attr, values in in_init.items():
            if len(values) != 1 or everywhere.get(attr) != values or not isinstance(values[0], cst.Call):
                continue
            layer = modules.torch_nn_class(values[0].func)
            if layer is None or (layer not in STATEFUL_TORCH_NN and layer not in CONTAINER_TORCH_NN):
                continue
            if uses.attributes.get(attr, 0) > 1:  # the assignment itself is one
                continue
            if any(attr in text for text in uses.strings):
                continue
            self.report(
                values[0],
                f"`self.{attr}` (`{layer}`) is built in `__init__` but never used in this file; call it in "
                f"`forward`, or remove it",
            )

    def _uses(self) -> _Uses:
        found = _USES.get(self.ctx)
        if found is None:
            found = _USES[self.ctx] = _Uses()
            self.ctx.module.visit(found)
        return found

    def _subclassed(self, cls: cst.ClassDef) -> bool:
        name = cls.name.value
        for statement in self.ctx.module.body:
            for other in _classes(statement):
                if any(isinstance(base.value, cst.Name) and base.value.value == name for base in other.bases):
                    return True
        return False


def _classes(statement):
    if isinstance(statement, cst.ClassDef):
        yield statement
        body = statement.body
        if isinstance(body, cst.IndentedBlock):
            for inner in body.body:
                yield from _classes(inner)
    elif isinstance(statement, (cst.If, cst.Try)):
        body = statement.body
        if isinstance(body, cst.IndentedBlock):
            for inner in body.body:
                yield from _classes(inner)
