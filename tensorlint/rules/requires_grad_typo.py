"""TL303: `x.require_grad = ...` and `require_grad=` instead of `requires_grad`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import rename_keyword
from tensorlint.semantics import torch_api
from tensorlint.semantics.ternary import Ternary

_TYPO = "require_grad"
_RIGHT = "requires_grad"
# Accept `requires_grad=` but are missing from the signature table.
_KNOWN_ACCEPTING = frozenset({"torch.nn.Parameter"})
# Where `requires_grad` can be passed by position, its index. Everywhere else in torch it
# is keyword-only (the factories' tensor options follow `*`).
_POSITIONAL_INDEX = {"torch.nn.Parameter": 1}


class RequiresGradTypo(Rule):
    """## What it does
    Flags the misspelling `require_grad` for `requires_grad`, in both forms:
    - assigning `x.require_grad = ...` on anything but the method's own `self`;
    - passing `require_grad=` to a torch function or class that accepts
      `requires_grad=` (`torch.zeros`, `torch.tensor`, `nn.Parameter`, ...).

    ## Why is this bad?
    Assigning a misspelled attribute on a tensor just creates a new Python attribute;
    nothing is frozen or unfrozen. The classic fine-tuning loop
    `for p in model.parameters(): p.require_grad = False` trains every weight anyway.
    The keyword form raises `TypeError` when it runs. TorchFix's TOR002 only sees the
    assignment.

    ## Example
    ```python
    for p in backbone.parameters():
        p.require_grad = False
    w = torch.zeros(3, require_grad=True)
    ```

    ## Use instead
    ```python
    for p in backbone.parameters():
        p.requires_grad = False  # or p.requires_grad_(False)
    w = torch.zeros(3, requires_grad=True)
    ```

    ## Fix safety
    The fix renames `require_grad` to `requires_grad`; it is not offered when the call
    already passes `requires_grad` (by keyword, or by position to `nn.Parameter`), since
    the result would pass it twice. For the keyword form, and for the
    assignment on a value provably a tensor, this is safe: it does what the line says.
    For an assignment on a value whose type is unknown the fix is unsafe: an object of
    another type may have a real `require_grad` attribute.
    """

    code = "TL303"
    name = "requires-grad-typo"
    summary = "`require_grad` misspelled; the attribute and keyword are `requires_grad`"
    fix_applicability = Applicability.SAFE

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._check_target(target.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._check_target(node.target)

    def _check_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._check_target(element.value)
            return
        if not isinstance(target, cst.Attribute) or target.attr.value != _TYPO:
            return
        owner = target.value
        kind = self.ctx.tensor_kind(owner)
        if kind is Ternary.NO or self._is_own_self(owner):
            return
        applicability = Applicability.SAFE if kind is Ternary.YES else Applicability.UNSAFE
        new = target.with_changes(attr=cst.Name(_RIGHT))
        self.report(
            target,
            f"`{self.ctx.code_for(owner)}.require_grad` is a misspelling that sets a new, unused attribute; "
            "use `requires_grad`",
            self.replace(target, new, "Rename to `requires_grad`", applicability),
        )

    def _is_own_self(self, owner: cst.BaseExpression) -> bool:
        """`self.require_grad = ...` in a method: the class's own attribute (a config flag)."""
        method = self.ctx.scopes.enclosing_method()
        if method is None or not isinstance(owner, cst.Name):
            return False
        func = method[1]
        params = (*func.params.posonly_params, *func.params.params)
        return bool(params) and params[0].name.value == owner.value

    def visit_Call(self, node: cst.Call) -> None:
        typo = None
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == _TYPO:
                typo = arg
                break
        if typo is None:
            return
        qualname = self.ctx.qualified_name(node.func)
        if qualname is None or not qualname.startswith("torch."):
            return
        if qualname not in _KNOWN_ACCEPTING:
            entry = torch_api.lookup(qualname)
            if entry is None or _RIGHT not in entry.params or _TYPO in entry.params:
                return
        given = self._requires_grad_given(qualname, node)
        if given is Ternary.YES:
            # renaming would pass it twice; the user must pick one value
            self.report(node, f"`{qualname}` has no keyword `require_grad`; `requires_grad` is already given, remove it")
            return
        fix = None
        if given is Ternary.NO:
            fix = self.replace(typo, rename_keyword(typo, _RIGHT), "Rename to `requires_grad=`")
        self.report(node, f"`{qualname}` has no keyword `require_grad`; use `requires_grad=`", fix)

    @staticmethod
    def _requires_grad_given(qualname: str, node: cst.Call) -> Ternary:
        """Whether the call already passes `requires_grad`: by keyword, or by position where
        it can be positional; UNKNOWN when `*args`/`**kwargs` might carry it."""
        index = _POSITIONAL_INDEX.get(qualname)
        positional = 0
        result = Ternary.NO
        for arg in node.args:
            if arg.keyword is not None:
                if arg.keyword.value == _RIGHT:
                    return Ternary.YES
            elif arg.star == "**" or (arg.star == "*" and index is not None):
                result = Ternary.UNKNOWN
            elif not arg.star:
                positional += 1
        if index is not None and positional > index:
            return Ternary.YES
        return result
