"""TL301: legacy tensor constructors such as `torch.Tensor(...)` and `torch.FloatTensor(...)`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import append_argument, dotted, keyword_arg, torch_module_name
from tensorlint.semantics.calls import callee_name

# legacy type -> dtype attribute of `torch` (None: the default dtype)
_DTYPES = {
    "Tensor": None,
    "FloatTensor": "float32",
    "DoubleTensor": "float64",
    "HalfTensor": "float16",
    "BFloat16Tensor": "bfloat16",
    "ByteTensor": "uint8",
    "CharTensor": "int8",
    "ShortTensor": "int16",
    "IntTensor": "int32",
    "LongTensor": "int64",
    "BoolTensor": "bool",
}
LEGACY_CONSTRUCTORS = {f"torch.{name}": (dtype, False) for name, dtype in _DTYPES.items()}
LEGACY_CONSTRUCTORS.update(
    {f"torch.cuda.{name}": (dtype, True) for name, dtype in _DTYPES.items() if name != "Tensor"}
)
_NAMES = frozenset(_DTYPES)
_DATA_LITERALS = (cst.List, cst.Tuple, cst.ListComp)


class LegacyTensorConstructor(Rule):
    """## What it does
    Flags calls to the legacy tensor constructors: `torch.Tensor(...)`,
    `torch.FloatTensor(...)`, `torch.LongTensor(...)`, `torch.cuda.FloatTensor(...)` and
    the other typed variants. Only calls are flagged: `torch.Tensor` in annotations,
    `isinstance` checks and base-class lists is the type, and is fine.

    ## Why is this bad?
    The legacy constructors read their arguments two ways. `torch.Tensor(3)` is an
    *uninitialised* tensor of three elements holding whatever was in memory, not the
    tensor `[3.]`; `torch.Tensor([3])` is `[3.]`. A size that happens to be a list or a
    tensor changes the meaning silently. They also ignore `dtype=`, cannot take
    `requires_grad=`, and the PyTorch docs discourage them in favour of
    `torch.tensor()` (data) and `torch.empty()`/`torch.zeros()` (shapes).

    ## Example
    ```python
    x = torch.FloatTensor([1, 2])
    buf = torch.Tensor(3)
    ```

    ## Use instead
    ```python
    x = torch.tensor([1, 2], dtype=torch.float32)
    buf = torch.empty(3)  # or torch.zeros(3), or torch.tensor([3.0]) if a value was meant
    ```

    ## Fix safety
    A fix is offered only when the single argument is a list, tuple or list-comprehension
    literal: `torch.FloatTensor([1, 2])` becomes `torch.tensor([1, 2], dtype=torch.float32)`
    (`torch.cuda.*` adds `device="cuda"`, and `torch.Tensor` keeps its float result with
    `dtype=torch.get_default_dtype()`). This gives the same values, dtype and device, so the
    fix is safe. Sizes, names and any keyword get no fix: whether `torch.Tensor(n)` meant a
    shape or a value is exactly what a tool cannot know. The fix is spelled with the file's
    own `torch` name and is skipped when the file has none, and inside an f-string.
    """

    code = "TL301"
    name = "legacy-tensor-constructor"
    summary = "Legacy tensor constructor `torch.Tensor(...)`/`torch.FloatTensor(...)`; use `torch.tensor`/`torch.empty`"
    fix_applicability = Applicability.SAFE

    # Inside an f-string's braces a fix would have to respect the string's quotes (and
    # before Python 3.12 could not reuse them): no fix is offered there.
    _fstring_depth = 0

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._fstring_depth += 1

    def leave_FormattedString(self, node: cst.FormattedString) -> None:
        self._fstring_depth -= 1

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = callee_name(func)
        if last not in _NAMES:
            return
        qualname = self.ctx.qualified_name(func)
        spec = LEGACY_CONSTRUCTORS.get(qualname) if qualname else None
        if spec is None:
            return
        dtype, cuda = spec
        shown = qualname
        args = node.args
        if any(arg.star for arg in args):
            self.report(node, f"`{shown}(...)` is a legacy constructor; use `torch.tensor(data)` or `torch.empty(size)`")
            return
        if len(args) == 1 and args[0].keyword is None and isinstance(args[0].value, _DATA_LITERALS):
            self.report(
                node,
                f"`{shown}(...)` is a legacy constructor; use `torch.tensor(...)` with an explicit dtype",
                self._fix(node, args[0], dtype, cuda),
            )
            return
        if args and all(arg.keyword is None and isinstance(arg.value, cst.Integer) for arg in args):
            sizes = ", ".join(self.ctx.code_for(arg.value) for arg in args)
            self.report(
                node,
                f"`{shown}({sizes})` is an uninitialised tensor of that size, not a tensor holding those values; "
                f"use `torch.empty({sizes})`/`torch.zeros({sizes})`, or `torch.tensor([...])` for values",
            )
            return
        self.report(node, f"`{shown}(...)` is a legacy constructor; use `torch.tensor(data)` or `torch.empty(size)`")

    def _fix(self, node: cst.Call, data: cst.Arg, dtype: str | None, cuda: bool):
        torch = torch_module_name(self.ctx, node.func)
        if torch is None or self._fstring_depth:
            return None
        if dtype is None:
            dtype_expr: cst.BaseExpression = cst.Call(func=dotted(torch, "get_default_dtype"))
        else:
            dtype_expr = dotted(torch, dtype)
        # appended as the call is laid out (a multi-line call keeps its closing line)
        new = append_argument(node.with_changes(func=dotted(torch, "tensor"), args=[data]), keyword_arg("dtype", dtype_expr))
        if cuda:
            new = append_argument(new, keyword_arg("device", cst.SimpleString('"cuda"')))
        return self.replace(node, new, "Replace with `torch.tensor(...)` and an explicit dtype")
