"""TL305: removed, deprecated and non-public torch functions."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import dotted, keyword_arg, torch_module_name
from tensorlint.rules.torch_load_unsafe import target_version


@dataclass(frozen=True)
class Deprecation:
    use: str  # what to use instead, as shown in the message
    since: tuple[int, int]  # version where the replacement exists and the old name is deprecated
    removed: bool = False
    fix: str | None = None  # how to rewrite the call mechanically; see `_fix`
    target: str | None = None  # dotted path under `torch` for the fix
    private: bool = False


def _linalg(name: str, fix: str | None = None, target: str | None = None) -> Deprecation:
    return Deprecation(f"torch.linalg.{name}", (1, 9), fix=fix, target=target)


_REMOVED = {
    "torch.solve": "torch.linalg.solve",
    "torch.symeig": "torch.linalg.eigh",
    "torch.matrix_rank": "torch.linalg.matrix_rank",
    "torch.lstsq": "torch.linalg.lstsq",
    "torch.eig": "torch.linalg.eig",
}
DEPRECATED: dict[str, Deprecation] = {
    **{old: Deprecation(new, (1, 9), removed=True) for old, new in _REMOVED.items()},
    "torch.qr": _linalg("qr", fix="one-arg", target="linalg.qr"),
    "torch.cholesky": _linalg("cholesky", fix="one-arg", target="linalg.cholesky"),
    "torch.chain_matmul": _linalg("multi_dot", fix="multi_dot", target="linalg.multi_dot"),
    "torch.lu_solve": _linalg("lu_solve"),
    "torch.svd": _linalg("svd"),
    "torch.triangular_solve": _linalg("solve_triangular"),
    "torch.lu": _linalg("lu_factor"),
    "torch.norm": Deprecation("torch.linalg.vector_norm / torch.linalg.matrix_norm", (1, 9)),
    "torch.ger": Deprecation("torch.outer", (1, 9), fix="rename", target="outer"),
    "torch.range": Deprecation("torch.arange", (1, 9), fix="range", target="arange"),
    "torch.nn.UpsamplingNearest2d": Deprecation('torch.nn.Upsample(..., mode="nearest")', (1, 9)),
    "torch.nn.UpsamplingBilinear2d": Deprecation('torch.nn.Upsample(..., mode="bilinear", align_corners=True)', (1, 9)),
    "torch.testing.assert_allclose": Deprecation("torch.testing.assert_close", (1, 12)),
    "torch.nn.utils.weight_norm": Deprecation("torch.nn.utils.parametrizations.weight_norm", (2, 1)),
    "torch.utils._pytree._register_pytree_node": Deprecation("torch.utils._pytree.register_pytree_node", (2, 2)),
    "torch.backends.cuda.sdp_kernel": Deprecation("torch.nn.attention.sdpa_kernel", (2, 3)),
    **{
        f"functorch.{name}": Deprecation(f"torch.func.{name}", (2, 0), fix="rename", target=f"func.{name}")
        for name in ("vmap", "grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "functionalize")
    },
    **{
        f"torch.utils.data._utils.collate.{name}": Deprecation(
            f"torch.utils.data.{name}", (1, 11), fix="rename", target=f"utils.data.{name}", private=True
        )
        for name in ("default_collate", "default_convert")
    },
    "torch.cuda.amp.autocast": Deprecation('torch.amp.autocast("cuda", ...)', (2, 4), fix="autocast", target="cuda"),
    "torch.cpu.amp.autocast": Deprecation('torch.amp.autocast("cpu", ...)', (2, 4), fix="autocast", target="cpu"),
    "torch.cuda.amp.GradScaler": Deprecation('torch.amp.GradScaler("cuda", ...)', (2, 4), fix="scaler", target="cuda"),
    "torch.cpu.amp.GradScaler": Deprecation('torch.amp.GradScaler("cpu", ...)', (2, 4), fix="scaler", target="cpu"),
    "torch.cuda.amp.custom_fwd": Deprecation('torch.amp.custom_fwd(device_type="cuda")', (2, 4), fix="custom", target="custom_fwd"),
    "torch.cuda.amp.custom_bwd": Deprecation('torch.amp.custom_bwd(device_type="cuda")', (2, 4), fix="custom", target="custom_bwd"),
}
_LAST_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in DEPRECATED)
# Positional parameters of torch.{cuda,cpu}.amp.autocast, which torch.amp.autocast orders differently.
_AUTOCAST_POSITIONAL = ("enabled", "dtype", "cache_enabled")


def _last_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def _comma() -> cst.Comma:
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _with_commas(args: list[cst.Arg]) -> list[cst.Arg]:
    """Rebuild the separators of an argument list: `a, b, c` (no trailing comma)."""
    return [arg.with_changes(comma=_comma() if i < len(args) - 1 else cst.MaybeSentinel.DEFAULT) for i, arg in enumerate(args)]


class DeprecatedTorchApi(Rule):
    """## What it does
    Flags calls to torch functions that are removed, deprecated, or non-public, and
    names the replacement. The list is TorchFix's (TOR001/TOR004, TOR101/TOR103,
    TOR104/TOR105) plus what it misses: `torch.cuda.amp.autocast`,
    `torch.cpu.amp.autocast`, `torch.cuda.amp.GradScaler`/`torch.cpu.amp.GradScaler` and
    `torch.cuda.amp.custom_fwd`/`custom_bwd`, all deprecated in torch 2.4 in favour of
    the device-generic `torch.amp` API. Deprecated names are reported only when the
    configured `target-torch-version` already has the replacement. A name brought in
    with `from torch import solve` / `from torch.cuda.amp import autocast` is reported
    at its call sites; when the file never calls it (it is used as a value, passed on,
    or re-exported), the import itself is reported.

    Compatibility code is not flagged: a call in an `except` handler that catches the
    errors a missing or changed API raises (`AttributeError`, `ImportError`,
    `TypeError`, `NameError`, `RuntimeError`, `Exception` or a bare `except:`), as in
    `try: torch.amp.GradScaler("cuda") except AttributeError: torch.cuda.amp.GradScaler()`,
    or in either branch of a version or feature check (`if hasattr(torch, "amp"):`,
    `if torch.__version__ >= ...`, `if TORCH_VERSION < (2, 4):`, `if TORCH_GE_2_4:`),
    also inside a function defined there. Such a call only runs on the old torch
    versions it is there for; the fix would turn it into a second copy of the new-API
    branch.

    ## Why is this bad?
    Removed functions (`torch.solve`, `torch.symeig`, `torch.matrix_rank`,
    `torch.lstsq`, `torch.eig`) raise `RuntimeError` on any current torch. Deprecated
    ones emit warnings in every run and will be removed; several (`torch.norm`,
    `torch.svd`) have subtly different semantics from their `torch.linalg`
    replacements, which is why moving early is cheaper than moving when forced.

    ## Example
    ```python
    q, r = torch.qr(a)
    with torch.cuda.amp.autocast(enabled=True):
        ...
    scaler = torch.cuda.amp.GradScaler()
    ```

    ## Use instead
    ```python
    q, r = torch.linalg.qr(a)
    with torch.amp.autocast("cuda", enabled=True):
        ...
    scaler = torch.amp.GradScaler("cuda")
    ```

    ## Fix safety
    Fixes exist only where the mapping is mechanical, and are safe:
    - `torch.ger` -> `torch.outer`, `functorch.X` -> `torch.func.X`, the private
      `default_collate`/`default_convert` -> `torch.utils.data.*`: same signature.
    - `torch.qr(a)`/`torch.cholesky(a)` -> `torch.linalg.qr(a)`/`torch.linalg.cholesky(a)`,
      only with the single argument (`some=`/`upper=` differ).
    - `torch.chain_matmul(a, b, ...)` -> `torch.linalg.multi_dot([a, b, ...])`, only with
      two or more plain positional arguments.
    - `torch.range(s, e[, step])` -> `torch.arange(s, e + 1[, step])` (`e - 1` for a
      negative step), only with integer literal bounds and step (the end is folded into
      a literal; TorchFix's `e + step` overshoots when the step does not divide), keeping `torch.range`'s
      floating-point result with `dtype=torch.get_default_dtype()` unless a dtype is given.
    - `torch.cuda.amp.autocast(...)` -> `torch.amp.autocast("cuda", ...)` (positional
      arguments become keywords, as the order differs), likewise for `cpu`;
      `torch.cuda.amp.GradScaler(...)` -> `torch.amp.GradScaler("cuda", ...)`;
      `@torch.cuda.amp.custom_fwd` -> `@torch.amp.custom_fwd(device_type="cuda")`.
    Every fix is spelled with the file's own `torch` name; when the file has none (only
    `from torch.cuda.amp import autocast`, say) the finding gets no fix, as it would
    need a new import. Other replacements (`torch.norm`, `torch.svd`, `torch.lu`,
    `weight_norm`, ...) change semantics or state-dict keys and are never applied.

    ## Options
    Uses the global `target-torch-version`.
    """

    code = "TL305"
    name = "deprecated-torch-api"
    summary = "Removed, deprecated or non-public torch function; use its replacement"
    fix_applicability = Applicability.SAFE

    def _lookup(self, func: cst.BaseExpression) -> tuple[str, Deprecation] | None:
        if _last_name(func) not in _LAST_NAMES:
            return None
        qualname = self.ctx.qualified_name(func)
        entry = DEPRECATED.get(qualname) if qualname else None
        if entry is None:
            return None
        if not entry.removed:
            version = target_version(self.ctx)
            if version is not None and version < entry.since:
                return None
        return qualname, entry

    def _message(self, qualname: str, entry: Deprecation) -> str:
        if entry.removed:
            return f"`{qualname}` was removed from torch and raises when called; use `{entry.use}`"
        if entry.private:
            return f"`{qualname}` is a non-public alias that may change without notice; use `{entry.use}`"
        return f"`{qualname}` is deprecated; use `{entry.use}`"

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._imports: list[tuple[cst.ImportAlias, str, Deprecation]] = []
        self._used: set[str] = set()  # qualified names found at a call or decorator

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        """`from torch import solve`: remembered, and reported in `leave_Module` when no
        call or decorator of the file reported the name (it is used as a value, passed on,
        or re-exported)."""
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = self.ctx.code_for(node.module)
        if not module.startswith(("torch", "functorch")):
            return
        if self.ctx.guards.compat_fallback(node) is not None:
            return
        for alias in node.names:
            if not isinstance(alias.name, cst.Name):
                continue
            qualname = f"{module}.{alias.name.value}"
            entry = DEPRECATED.get(qualname)
            if entry is None:
                continue
            if not entry.removed:
                version = target_version(self.ctx)
                if version is not None and version < entry.since:
                    continue
            self._imports.append((alias, qualname, entry))

    def leave_Module(self, node: cst.Module) -> None:
        for alias, qualname, entry in self._imports:
            if qualname not in self._used:
                self.report(alias, self._message(qualname, entry) + " (imported here)")
        self._imports = []

    def visit_Call(self, node: cst.Call) -> None:
        found = self._lookup(node.func)
        if found is None:
            return
        if self.ctx.guards.compat_fallback(node) is not None:
            self._used.add(found[0])
            return  # the old-torch branch of `try: new() except AttributeError: old()`
        qualname, entry = found
        self._used.add(qualname)
        fix = None
        if entry.fix is not None and not any(arg.star for arg in node.args):
            torch = torch_module_name(self.ctx, node.func)
            if torch is not None:
                new = self._fixed_call(node, entry, torch)
                if new is not None:
                    fix = self.replace(node, new, f"Replace with `{entry.use}`")
        self.report(node, self._message(qualname, entry), fix)

    def visit_Decorator(self, node: cst.Decorator) -> None:
        """`@torch.cuda.amp.custom_fwd` without parentheses (the call form is a Call)."""
        deco = node.decorator
        if isinstance(deco, cst.Call):
            return
        found = self._lookup(deco)
        if found is None:
            return
        if self.ctx.guards.compat_fallback(deco) is not None:
            self._used.add(found[0])
            return
        qualname, entry = found
        self._used.add(qualname)
        fix = None
        if entry.fix == "custom":
            torch = torch_module_name(self.ctx, deco)
            if torch is not None:
                new = cst.Call(
                    func=dotted(torch, f"amp.{entry.target}"),
                    args=[keyword_arg("device_type", cst.SimpleString('"cuda"'))],
                )
                fix = self.replace(deco, new, f"Replace with `{entry.use}`")
        self.report(deco, self._message(qualname, entry), fix)

    def _fixed_call(self, node: cst.Call, entry: Deprecation, torch: cst.Name) -> cst.Call | None:
        args = list(node.args)
        positional = [a for a in args if a.keyword is None]
        keywords = [a for a in args if a.keyword is not None]
        kind = entry.fix
        if kind == "rename":
            return node.with_changes(func=dotted(torch, entry.target))
        if kind == "one-arg":
            if len(args) != 1 or keywords:
                return None
            return node.with_changes(func=dotted(torch, entry.target))
        if kind == "multi_dot":
            if keywords or len(positional) < 2:
                return None
            elements = [
                cst.Element(value=a.value, comma=_comma() if i < len(positional) - 1 else cst.MaybeSentinel.DEFAULT)
                for i, a in enumerate(positional)
            ]
            return node.with_changes(func=dotted(torch, entry.target), args=[cst.Arg(cst.List(elements))])
        if kind == "range":
            return self._range(node, positional, keywords, torch)
        if kind == "autocast":
            if len(positional) > len(_AUTOCAST_POSITIONAL):
                return None
            converted = [keyword_arg(name, a.value) for name, a in zip(_AUTOCAST_POSITIONAL, positional)]
            new_args = [cst.Arg(cst.SimpleString(f'"{entry.target}"')), *converted, *keywords]
            return node.with_changes(func=dotted(torch, "amp.autocast"), args=_with_commas(new_args))
        if kind == "scaler":
            new_args = [cst.Arg(cst.SimpleString(f'"{entry.target}"')), *args]
            return node.with_changes(func=dotted(torch, "amp.GradScaler"), args=_with_commas(new_args))
        if kind == "custom":
            device = keyword_arg("device_type", cst.SimpleString('"cuda"'))
            new_args = [*positional, device, *keywords]
            return node.with_changes(func=dotted(torch, f"amp.{entry.target}"), args=_with_commas(new_args))
        return None

    def _range(self, node, positional, keywords, torch) -> cst.Call | None:
        """`torch.range(0, 4)` -> `torch.arange(0, 5, dtype=torch.get_default_dtype())`."""
        if len(positional) not in (2, 3) or any(k.keyword.value not in ("dtype", "device", "requires_grad") for k in keywords):
            return None
        values = [_int_literal(a.value) for a in positional]
        if any(v is None for v in values):
            return None
        step = values[2] if len(values) == 3 else 1
        if step == 0:
            return None
        end = values[1] + (1 if step > 0 else -1)  # integers: the inclusive end, made exclusive
        end_node: cst.BaseExpression = cst.Integer(str(end)) if end >= 0 else cst.UnaryOperation(cst.Minus(), cst.Integer(str(-end)))
        new_args = list(positional)
        new_args[1] = new_args[1].with_changes(value=end_node)
        new_args.extend(keywords)
        if not any(k.keyword.value == "dtype" for k in keywords):
            new_args.append(keyword_arg("dtype", cst.Call(func=dotted(torch, "get_default_dtype"))))
        return node.with_changes(func=dotted(torch, "arange"), args=_with_commas(new_args))


def _int_literal(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer):
        return -int(node.expression.evaluated_value)
    return None
