"""TL107: a layer with parameters or train/eval behaviour built inside `forward`."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule

# Calls on `self.<...>` that register a module passed to them.
_REGISTERING_METHODS = frozenset({"add_module", "register_module", "append", "extend", "insert", "update"})


class ModuleCreatedInForward(Rule):
    """## What it does
    Flags an `nn.Module` layer constructed inside the `forward` method of an `nn.Module`
    class: a torch.nn layer that has parameters or buffers or behaves differently in
    training and evaluation (`Linear`, `Conv2d`, `BatchNorm2d`, `Dropout`, `LSTM`, ...),
    or a module class of the same file that holds such a layer or an `nn.Parameter`.

    Not flagged: stateless layers (`nn.ReLU()`, `nn.Identity()`, `nn.Softmax()`,
    pooling, padding, losses such as `nn.CrossEntropyLoss()`), which only cost a little
    time when rebuilt; containers (`nn.Sequential(self.a, self.b)`); non-modules such as
    `nn.Parameter` and `nn.functional.*`; layers assigned to `self.<attr>` or passed to
    `self.add_module(...)`/`self.<list>.append(...)` (lazy initialisation registers
    them); and code in nested functions or in any method other than `forward`.

    ## Why is this bad?
    A layer built in `forward` is new on every call. It is never registered, so
    `model.parameters()` does not include it, the optimizer never trains it and
    `state_dict()` does not save it; layers with weights are randomly re-initialised on
    every call. `model.eval()` never reaches it either, so `nn.Dropout(0.5)(x)` keeps
    dropping at inference and a fresh BatchNorm normalises with batch statistics
    (NTS-Net#14).

    ## Example
    ```python
    class Net(nn.Module):
        def forward(self, x):
            x = nn.Linear(128, 10)(x)
            return nn.Dropout(0.5)(x)
    ```

    ## Use instead
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(128, 10)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            return self.drop(self.fc(x))
    ```

    ## Fix safety
    There is no fix: moving the layer to `__init__` changes the model's parameters and
    needs names chosen by the author.
    """

    code = "TL107"
    name = "module-created-in-forward"
    summary = "An nn.Module layer with state is constructed inside `forward`"

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._registered: set[cst.Call] = set()
        # constructions found in the current `forward`, reported when it ends unless the
        # local name they were bound to gets registered (`self.proj = proj`)
        self._found: list[tuple[cst.Call, str, str | None]] = []
        self._bound_names: dict[cst.Call, str] = {}
        self._registered_names: set[str] = set()

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if type(value) is cst.Call:
            if any(_on_self(t.target) for t in node.targets):
                self._registered.add(value)
            elif len(node.targets) == 1 and type(node.targets[0].target) is cst.Name:
                self._bound_names[value] = node.targets[0].target.value
        elif type(value) is cst.Name and any(_on_self(t.target) for t in node.targets):
            self._registered_names.add(value.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if type(node.value) is cst.Call and _on_self(node.target):
            self._registered.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if node in self._registered:
            return
        if (type(func) is cst.Attribute and func.attr.value in _REGISTERING_METHODS and _on_self(func.value)) or (
            type(func) is cst.Name and func.value == "setattr" and node.args and _on_self(node.args[0].value)
        ):
            for arg in node.args:
                if type(arg.value) is cst.Call:
                    self._registered.add(arg.value)
                elif type(arg.value) is cst.Name:
                    self._registered_names.add(arg.value.value)
            return
        if type(func) is cst.Attribute:
            last = func.attr.value
        elif type(func) is cst.Name:
            last = func.value
        else:
            return
        if not last[:1].isupper():
            return  # functions (`F.dropout`, `torch.relu`) are not modules
        method = self.ctx.module_method()
        if method is None or method.name != "forward":
            return
        if not self.ctx.modules.is_stateful_construction(node):
            return
        what = self.ctx.modules.constructed_module(node) or last
        self._found.append((node, what.rsplit(".", 1)[-1], self._bound_names.get(node)))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value != "forward":
            return
        for call, short, bound in self._found:
            if bound is not None and bound in self._registered_names:
                continue  # lazy initialisation: `layer = nn.Linear(...); self.layer = layer`
            self.report(
                call,
                f"`{short}` is constructed inside `forward`, so it is rebuilt on every call and never registered, "
                f"trained or switched by `.eval()`; create it in `__init__` as a `self.` attribute",
            )
        self._found.clear()
        self._registered.clear()
        self._bound_names.clear()
        self._registered_names.clear()


def _on_self(target: cst.BaseExpression) -> bool:
    """`self.x`, `self.x.y`, `self.x[k]`: an expression rooted at the name `self`."""
    while type(target) in (cst.Attribute, cst.Subscript):
        target = target.value
    return type(target) is cst.Name and target.value == "self"
