"""TL309: `import torchvision.models as models` instead of `from torchvision import models`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.rules.base import Rule
from tensorlint.semantics.scopes import dotted_name


def _module_expr(path: list[str]) -> cst.Attribute | cst.Name:
    expr: cst.Attribute | cst.Name = cst.Name(path[0])
    for part in path[1:]:
        expr = cst.Attribute(value=expr, attr=cst.Name(part))
    return expr


class TorchvisionSingletonImport(Rule):
    """## What it does
    Flags `import torchvision.<sub> as <sub>` (any depth, such as
    `import torchvision.transforms.v2 as v2`) where the alias repeats the last
    component. Off by default; a style rule.

    ## Why is this bad?
    The alias only restates the name the module already has. `from torchvision import
    models` says the same thing directly, and is the form torchvision's own docs use.

    ## Example
    ```python
    import torchvision.models as models
    import torchvision.transforms.v2 as v2
    ```

    ## Use instead
    ```python
    from torchvision import models
    from torchvision.transforms import v2
    ```

    ## Fix safety
    Since Python 3.7 both statements import the submodule and then fetch it as an
    attribute of its parent, falling back to `sys.modules`, and bind the same name, so
    the fix is safe. It is offered only when the statement imports that one module;
    `import torchvision.models as models, os` is reported without a fix.
    """

    code = "TL309"
    name = "torchvision-singleton-import"
    summary = "`import torchvision.x as x`: write `from torchvision import x`"
    severity = Severity.INFO
    default_enabled = False
    fix_applicability = Applicability.SAFE

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if alias.asname is None or not isinstance(alias.name, cst.Attribute):
                continue
            bound = alias.asname.name
            if not isinstance(bound, cst.Name) or bound.value != alias.name.attr.value:
                continue
            full = dotted_name(alias.name)
            if full is None or not full.startswith("torchvision."):
                continue
            parent, _, last = full.rpartition(".")
            message = f"`import {full} as {last}` repeats the name; write `from {parent} import {last}`"
            fix = None
            if len(node.names) == 1:
                new = cst.ImportFrom(
                    module=_module_expr(parent.split(".")),
                    names=[cst.ImportAlias(name=cst.Name(last))],
                    semicolon=node.semicolon,
                )
                fix = self.replace(node, new, f"Replace with `from {parent} import {last}`")
            self.report(node, message, fix)
