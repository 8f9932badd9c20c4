"""TL302: a keyword argument (or positional count) that the torch function does not accept."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import rename_keyword
from tensorlint.semantics import torch_api

# Wrong keyword -> the keyword meant, for mix-ups we are certain of. The fix is offered only
# when the table says the target is accepted and the call does not already pass it.
KNOWN_RENAMES = {
    "training": "train",  # torch.dropout & co. (C++) vs F.dropout (Python)
    "train": "training",
    "axis": "dim",  # numpy spelling, for functions whose parser has no alias
    "keepdims": "keepdim",
}
# Left to requires-grad-typo (TL303).
_OTHER_RULES = frozenset({"require_grad"})


class TorchApiBadKeyword(Rule):
    """## What it does
    Checks calls to torch functions, classes and (on values provably tensors) tensor
    methods against the signature table generated from an installed torch: flags a
    keyword argument that no overload accepts, and more positional arguments than any
    overload takes, and a parameter given both by position and by keyword
    (`F.dropout(x, 0.1, False, training=True)`) where the parameter order is known. The
    message names the closest accepted keyword.

    ## Why is this bad?
    The call raises `TypeError` when it runs, often deep into a job or only on a rarely
    taken path. The classic case is `torch.dropout(x, p=0.5, training=True)`: the C++
    builtin spells it `train`, while `F.dropout` spells it `training`.
    `F.softmax(x, axis=-1)` is another: `F.softmax` is a Python function with no numpy
    alias. Builtins parsed by torch's C++ argument parser do accept numpy-style aliases
    (`torch.sum(x, axis=0)`, `keepdims=`), and the table knows them, so they are not flagged.

    ## Example
    ```python
    y = torch.dropout(x, p=0.5, training=True)
    z = F.softmax(x, axis=-1)
    ```

    ## Use instead
    ```python
    y = torch.dropout(x, p=0.5, train=True)
    z = F.softmax(x, dim=-1)
    ```

    ## Fix safety
    The fix renames the keyword, and only for a fixed set of mix-ups whose meaning is
    certain (`training`/`train`, `axis` -> `dim`, `keepdims` -> `keepdim`) when the
    function accepts the new name and the call provably does not pass it already, by
    keyword or by position (`F.softmax(x, 1, axis=-1)` gets no fix: `dim` is the `1`).
    Where it is unknown which parameter a positional argument binds, no fix is offered.
    It turns a call that raises into the call that was meant, so it is safe. Other suggestions are shown
    in the message only. Calls with `**kwargs` are never checked for keywords, nor calls
    with `*args` for their positional count; functions that take `**kwargs` are skipped.
    `require_grad=` is left to `requires-grad-typo`.
    """

    code = "TL302"
    name = "torch-api-bad-keyword"
    summary = "Keyword argument or positional count not accepted by the torch function"
    severity = Severity.ERROR
    fix_applicability = Applicability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        args = node.args
        if not args:
            return
        func = node.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return
        qualname = self.ctx.qualified_name(func)
        # a method call's receiver must be proved a tensor; that inference is costly, so
        # it is asked only once the arguments would be wrong for the Tensor method
        receiver = None
        if qualname is not None:
            if not qualname.startswith("torch."):
                return
            entry = torch_api.lookup(qualname)
            shown = qualname
        elif isinstance(func, cst.Attribute):
            entry = torch_api.lookup(f"torch.Tensor.{func.attr.value}")
            shown = f"Tensor.{func.attr.value}"
            receiver = func.value
        else:
            return
        if entry is None:
            return
        positional = 0
        star = False
        passed = set()
        for arg in args:
            if arg.star == "**":
                return  # may carry anything
            if arg.star:
                star = True
            elif arg.keyword is None:
                positional += 1
            else:
                passed.add(arg.keyword.value)
        bound = _bound_by_position(entry, positional, star)
        if bound:
            for arg in args:
                if arg.keyword is not None and arg.keyword.value in bound:
                    if receiver is not None and not self.ctx.is_tensor(receiver):
                        return
                    self.report(
                        node,
                        f"`{shown}`: `{arg.keyword.value}` is given both by position and by keyword",
                    )
                    return
        for arg in args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            if keyword in _OTHER_RULES or entry.accepts_keyword(keyword) is not False:
                continue
            if receiver is not None and not self.ctx.is_tensor(receiver):
                return
            self._report_keyword(node, arg, keyword, entry, shown, passed, bound)
            return
        if not star and entry.accepts_positional(positional) is False:
            if receiver is not None and not self.ctx.is_tensor(receiver):
                return
            self.report(
                node,
                f"`{shown}` takes at most {entry.positional_max} positional argument"
                f"{'s' if entry.positional_max != 1 else ''} but {positional} are given; "
                "pass the extra ones by keyword",
            )

    def _report_keyword(self, node, arg, keyword, entry, shown, passed, bound) -> None:
        target = KNOWN_RENAMES.get(keyword)
        fix = None
        if target is not None and entry.accepts_keyword(target):
            suggestion = target
            if target in passed or (bound is not None and target in bound):
                how = "by keyword" if target in passed else "by position"
                hint = f"`{target}` is already given {how}; remove `{keyword}=`"
                self.report(node, f"`{shown}` has no keyword argument `{keyword}`; {hint}")
                return
            if bound is not None:
                fix = self.replace(arg, rename_keyword(arg, target), f"Rename `{keyword}=` to `{target}=`")
        else:
            suggestion = entry.suggest(keyword)
        hint = f"did you mean `{suggestion}=`?" if suggestion else "remove it or check the signature"
        self.report(node, f"`{shown}` has no keyword argument `{keyword}`; {hint}", fix)


def _bound_by_position(entry: torch_api.ApiEntry, positional: int, star: bool) -> frozenset[str] | None:
    """The parameters the call's positional arguments bind; None when that is unknown.

    The order comes from the signature table (``ApiEntry.positional_order``), which has
    it only where every overload binds positional arguments the same way; without it no
    rename fix is offered for a call passing anything by position, and no "given twice"
    report is made.
    """
    if star:
        return None  # `*args` may bind any of them
    if positional == 0:
        return frozenset()
    order = entry.positional_order
    if order is None:
        return None
    return frozenset(order[:positional])
