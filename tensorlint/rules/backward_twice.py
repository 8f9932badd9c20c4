"""TL115: `backward()` called twice on the same loss without `retain_graph=True`."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.scopes import target_names
from tensorlint.semantics.training import backward_loss

_SUITES = (cst.IndentedBlock, cst.Module)


def _backward_name(statement: cst.CSTNode) -> tuple[str, cst.Call, bool] | None:
    """`loss.backward(...)` as a whole statement: (name, call, retains the graph)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    expr = statement.body[0]
    if not isinstance(expr, cst.Expr) or not isinstance(expr.value, cst.Call):
        return None
    call = expr.value
    if not isinstance(call.func, cst.Attribute) or call.func.attr.value != "backward":
        return None
    loss = backward_loss(call)
    if not isinstance(loss, cst.Name) or call.func.value is not loss:
        return None
    retains = any(
        a.keyword is not None and a.keyword.value in ("retain_graph", "create_graph") or a.star or
        (a.keyword is None and i >= 1)
        for i, a in enumerate(call.args)
    )
    return loss.value, call, retains


def _rebinds(node: cst.CSTNode, name: str) -> bool:
    """Whether anything inside `node` may bind `name` (or do anything but read it)."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Name(self, inner: cst.Name) -> None:
            nonlocal found
            if inner.value == name:
                found = True  # any mention: an assignment, a call that may recompute it...

    node.visit(Finder())
    return found


class BackwardTwice(Rule):
    """## What it does
    Flags a second `loss.backward()` statement on the same name in the same block, when
    the first one passed neither `retain_graph=True` nor `create_graph=True` and no
    statement between them mentions the name (which could rebind it).

    ## Why is this bad?
    `backward()` frees the graph's saved tensors as it goes. A second `backward()` on the
    same graph raises "Trying to backward through the graph a second time"; when the
    graph saved nothing it silently adds the same gradients a second time, doubling the
    step.

    ## Example
    ```python
    loss = criterion(model(x), y)
    loss.backward()
    loss.backward()
    ```

    ## Use instead
    ```python
    loss = criterion(model(x), y)
    loss.backward()
    ```

    ## Fix safety
    There is no fix: whether the second call should go, or the first should keep the
    graph, is the author's decision.
    """

    code = "TL115"
    name = "backward-twice"
    summary = "`backward()` called twice on the same loss without `retain_graph=True`"

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._check(node.body)

    def visit_Module(self, node: cst.Module) -> None:
        self._check(node.body)

    def _check(self, statements) -> None:
        open_: dict[str, int] = {}  # name -> index of a graph-freeing backward
        for index, statement in enumerate(statements):
            found = _backward_name(statement)
            if found is not None:
                name, call, retains = found
                if name in open_:
                    self.report(
                        call,
                        f"`{name}.backward()` runs a second time on the same graph, which the first call freed; "
                        f"drop one, or pass `retain_graph=True` to the first",
                    )
                    del open_[name]
                    continue
                if not retains:
                    open_[name] = index
                continue
            for name in list(open_):
                if _rebinds(statement, name):
                    del open_[name]
