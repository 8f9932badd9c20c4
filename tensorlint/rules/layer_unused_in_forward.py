"""TL510: a layer built in `__init__` that nothing in the file ever uses."""

from __future__ import annotations

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
_BUILTINS = frozenset({"vars", "getattr", "setattr"})


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

    def __init__(self, *args) -> None:
        super().__init__(*args)
        # collected during the one traversal: no extra walk of the tree
        self._attributes: dict[str, int] = {}
        self._strings: list[str] = []
        self._classes: list[cst.ClassDef] = []  # module classes, outermost first
        self._reflective: set[cst.ClassDef] = set()  # classes that reach members without naming them
        self._stack: list[cst.ClassDef] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.append(node)
        if self.ctx.modules.is_module_class(node):
            self._classes.append(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.pop()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = node.attr.value
        self._attributes[name] = self._attributes.get(name, 0) + 1
        if name in _REFLECTION and self._stack:
            self._reflective.update(self._stack)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in _BUILTINS and self._stack:
            self._reflective.update(self._stack)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._strings.append(node.value)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self._strings.append(node.value)

    def leave_Module(self, node: cst.Module) -> None:
        for cls in self._classes:
            if cls not in self._reflective:
                self._check(cls)

    def _check(self, node: cst.ClassDef) -> None:
        modules = self.ctx.modules
        methods = modules.methods(node)
        init, forward = methods.get("__init__"), methods.get("forward")
        if init is None or forward is None:
            return
        self_name = self_parameter(init)
        if self_name is None:
            return
        if self._subclassed(node):
            return
        in_init: dict[str, list] = {}
        _scan_block([init], self_name, in_init)
        everywhere = self_attribute_values(self.ctx, node)
        for attr, values in in_init.items():
            if len(values) != 1 or everywhere.get(attr) != values or not isinstance(values[0], cst.Call):
                continue
            if self._attributes.get(attr, 0) > 1:  # the assignment itself is one
                continue
            layer = modules.torch_nn_class(values[0].func)
            if layer is None or (layer not in STATEFUL_TORCH_NN and layer not in CONTAINER_TORCH_NN):
                continue
            if any(attr in text for text in self._strings):
                continue
            self.report(
                values[0],
                f"`self.{attr}` (`{layer}`) is built in `__init__` but never used in this file; call it in "
                f"`forward`, or remove it",
            )

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
