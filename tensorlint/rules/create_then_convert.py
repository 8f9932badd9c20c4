"""TL405: a tensor created and then moved or cast (`torch.zeros(n).cuda()`); create it there."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import append_argument, dotted, keep_parentheses, keyword_arg, torch_module_name

_FACTORIES = frozenset(
    f"torch.{name}"
    for name in (
        "zeros", "ones", "empty", "full", "eye", "arange", "linspace", "logspace", "rand", "randn", "randint",
        "randperm", "tensor", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like",
        "randint_like",
    )
)
# Creating these with `dtype=`/`device=` gives exactly what creating then converting gives.
_EXACT = frozenset(f"torch.{name}" for name in ("zeros", "ones", "empty", "eye", "zeros_like", "ones_like", "empty_like"))
# Moving these is exact too (the values do not depend on the device); random ones are not.
_EXACT_DEVICE = _EXACT | {"torch.tensor", "torch.full", "torch.full_like"}
# Factories whose result already has the dtype a method casts to (with the default
# float32 default dtype), when no `dtype=` is given: the cast returns the tensor itself.
_ALREADY = {
    "float": frozenset(f"torch.{n}" for n in ("zeros", "ones", "empty", "rand", "randn", "eye", "linspace", "logspace")),
    "long": frozenset({"torch.randint", "torch.randperm"}),
}
_DTYPE_METHODS = {
    "float": "float32", "double": "float64", "half": "float16", "bfloat16": "bfloat16", "long": "int64",
    "int": "int32", "short": "int16", "char": "int8", "byte": "uint8", "bool": "bool",
}
_TORCH_DTYPES = frozenset(
    f"torch.{n}" for n in (
        "float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long", "int32", "int",
        "int16", "short", "int8", "uint8", "bool", "complex64", "complex128",
    )
)


class CreateThenConvert(Rule):
    """## What it does
    Flags a torch factory call (`torch.zeros`, `ones`, `empty`, `full`, `eye`, `arange`,
    `linspace`, `rand`, `randn`, `randint`, `tensor`, the `*_like` variants) whose result
    is immediately moved or cast: `.to(...)`, `.cuda()`, `.float()`, `.long()`,
    `.bool()`, `.half()`, ... (ruff#12349). A cast to the dtype the factory already
    returns (`torch.randint(...).long()`, `torch.zeros(n).float()`) is a no-op, not a
    copy, and is not flagged. Nor is a call inside a lambda handed to
    `torch.jit.trace` or `torch.fx.symbolic_trace`: there the ops are a template whose
    traced graph the code reads (CLIP's device and dtype holders look up its `aten::to`).

    ## Why is this bad?
    The tensor is first built on the CPU (or in the default dtype), then copied: two
    allocations, a host-to-device transfer, and for `.cuda()` a synchronisation point
    that stalls the input pipeline. Passing `device=`/`dtype=` to the factory builds the
    tensor where and how it is needed in one step.

    ## Example
    ```python
    mask = torch.ones(n).bool()
    buf = torch.zeros(n, d).cuda()
    ```

    ## Use instead
    ```python
    mask = torch.ones(n, dtype=torch.bool)
    buf = torch.zeros(n, d, device="cuda")
    ```

    ## Fix safety
    The fix moves the device or dtype into the factory call. It is safe when the result
    is provably the same tensor: `zeros`/`ones`/`empty`/`eye` and their `*_like`
    variants with a dtype method (`.float()`, `.bool()`, ...), `.to(torch.<dtype>)`,
    `.cuda()`, `.to("cuda")`/`.to(x.device)`/`.to(device=...)`, and moving (not casting)
    `torch.tensor`/`full`. It is unsafe for the random factories (a CUDA generator draws
    other numbers than the CPU one, and float64 sampling differs from float32 sampling
    cast up), for casting `torch.tensor`/`full`/`arange`/`linspace` (literals are
    rounded to the default dtype first), and never offered when `.to()` gets a plain
    name (it may hold a dtype, a device or a tensor), extra arguments (`non_blocking=`),
    or when the factory already sets that keyword or `requires_grad=`/`out=`.
    """

    code = "TL405"
    name = "create-then-convert"
    summary = "Tensor created then moved/cast (`torch.zeros(n).cuda()`); pass `device=`/`dtype=`"
    default_enabled = False
    fix_applicability = Applicability.SAFE

    def __init__(self, ctx, options, sink) -> None:
        super().__init__(ctx, options, sink)
        self._traced: set[int] = set()  # ids of calls inside a traced lambda

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("trace", "trace_module", "symbolic_trace"):
            if self.ctx.qualified_name(func) in _TRACERS:
                self._note_traced(node)
            return
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Call):
            return
        if id(node) in self._traced:
            return  # inside a lambda being traced: the ops are a graph template (CLIP's device/dtype holders)
        method = func.attr.value
        if method not in _DTYPE_METHODS and method not in ("to", "cuda"):
            return
        factory = func.value
        qualname = self.ctx.qualified_name(factory.func)
        if qualname not in _FACTORIES:
            return
        if any(a.star for a in node.args):
            return  # `torch.empty(0).to(*args, **kwargs)`: parsing `.to`'s arguments (timm task.py)
        if method in _DTYPE_METHODS and node.args:
            return  # `.int(memory_format=...)`; odd
        if method == "cuda" and node.args:
            keyword_only = all(a.keyword is not None for a in node.args)
            if not keyword_only:
                return  # `.cuda(0)`: reported by nothing, a device index
        if method in _ALREADY and qualname in _ALREADY[method] and not any(
            a.keyword is not None and a.keyword.value == "dtype" for a in factory.args
        ):
            return  # `torch.randint(...).long()`: a no-op cast, not a copy
        short = qualname.split(".", 1)[1]
        conversion = self.ctx.code_for(node)[len(self.ctx.code_for(factory)):]
        fix = self._fix(node, factory, qualname, method)
        what = "cast" if method in _DTYPE_METHODS else "moved"
        keyword = "dtype" if method in _DTYPE_METHODS else "device"
        if method == "to":
            given = [a.keyword.value for a in node.args if a.keyword is not None and a.keyword.value in ("device", "dtype")]
            if len(given) == 2:
                what, keyword = "moved and cast", "device=`/`dtype"
            elif given == ["dtype"] or (
                node.args and node.args[0].keyword is None and self.ctx.qualified_name(node.args[0].value) in _TORCH_DTYPES
            ):
                what, keyword = "cast", "dtype"
        self.report(
            node,
            f"`torch.{short}(...)` is created and then {what} with `{conversion}`; pass `{keyword}=` to "
            f"`torch.{short}` to build it there in one step",
            fix,
        )

    def _note_traced(self, node: cst.Call) -> None:
        """Calls inside a lambda handed to a tracer (`torch.jit.trace(lambda: ...)`)."""
        for arg in node.args:
            if isinstance(arg.value, cst.Lambda):
                self._traced.update(id(inner) for inner in _calls_in(arg.value.body))

    def _fix(self, node: cst.Call, factory: cst.Call, qualname: str, method: str):
        if any(a.star == "**" for a in factory.args):
            return None
        keywords = {a.keyword.value for a in factory.args if a.keyword is not None}
        if keywords & {"requires_grad", "out"}:
            return None
        torch = torch_module_name(self.ctx, factory.func)
        if torch is None:
            return None
        if method in _DTYPE_METHODS:
            keyword, value, exact = "dtype", dotted(torch, _DTYPE_METHODS[method]), qualname in _EXACT
        elif method == "cuda":
            if node.args:
                return None
            keyword, value, exact = "device", cst.SimpleString('"cuda"'), qualname in _EXACT_DEVICE
        else:
            if len(node.args) != 1 or node.args[0].star:
                return None
            arg = node.args[0]
            value = arg.value
            if arg.keyword is not None:
                if arg.keyword.value not in ("device", "dtype"):
                    return None
                keyword = arg.keyword.value
            elif isinstance(value, cst.SimpleString) or (isinstance(value, cst.Attribute) and value.attr.value == "device"):
                keyword = "device"
            elif isinstance(value, cst.Call) and self.ctx.qualified_name(value.func) == "torch.device":
                keyword = "device"
            elif self.ctx.qualified_name(value) in _TORCH_DTYPES:
                keyword = "dtype"
            else:
                return None
            exact = qualname in (_EXACT if keyword == "dtype" else _EXACT_DEVICE)
        if keyword in keywords:
            return None
        new = keep_parentheses(node, append_argument(factory, keyword_arg(keyword, value)))
        applicability = Applicability.SAFE if exact else Applicability.UNSAFE
        return self.replace(node, new, f"Pass `{keyword}=` to the factory", applicability)


_TRACERS = frozenset({"torch.jit.trace", "torch.jit.trace_module", "torch.fx.symbolic_trace"})


def _calls_in(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Collect(cst.CSTVisitor):
        def visit_Call(self, inner: cst.Call) -> None:
            found.append(inner)

    node.visit(_Collect())
    return found
