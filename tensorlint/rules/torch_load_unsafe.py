"""TL304: `torch.load` that may unpickle arbitrary code."""

from __future__ import annotations

import libcst as cst

from tensorlint.config import parse_version
from tensorlint.diagnostics import Applicability
from tensorlint.errors import UsageError
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import append_argument, keyword_arg
from tensorlint.semantics.calls import callee_name

_SAFE_CONTEXTS = frozenset({"torch.serialization.safe_globals"})


def target_version(ctx) -> tuple[int, int] | None:
    """The configured `target-torch-version` as (major, minor); None = the newest."""
    text = getattr(ctx, "target_torch_version", None)
    if not text:
        return None
    try:
        return parse_version(str(text))
    except UsageError:
        return None


class TorchLoadUnsafe(Rule):
    """## What it does
    Flags `torch.load(..., weights_only=False)` always, and `torch.load(...)` without
    `weights_only` when the configured `target-torch-version` is below 2.6, where the
    default was `weights_only=False`. A missing `weights_only` is not flagged inside a
    `with torch.serialization.safe_globals(...)` block, nor in an `except TypeError:`
    handler (the usual fallback for torch versions that predate the argument).

    ## Why is this bad?
    With `weights_only=False`, `torch.load` runs the full pickle machinery: a crafted
    checkpoint executes arbitrary code on load. PyTorch 2.6 made `weights_only=True` the
    default; code that passes `False`, or that must run on older versions without
    passing `True`, stays exposed. Only load untrusted files with `weights_only=True`,
    allowing extra types through `torch.serialization.add_safe_globals`/`safe_globals`.

    ## Example
    ```python
    state = torch.load(path, weights_only=False)
    ```

    ## Use instead
    ```python
    state = torch.load(path, weights_only=True)
    ```

    ## Fix safety
    `weights_only=False` gets no fix: the file may hold objects that need it, and only
    the author can tell whether the source is trusted. For a missing `weights_only`
    (target below 2.6, at least 1.13 where the argument exists), the fix adds
    `weights_only=True` and is unsafe: checkpoints holding arbitrary Python objects will
    then fail to load.

    ## Options
    Uses the global `target-torch-version`.
    """

    code = "TL304"
    name = "torch-load-unsafe"
    summary = "`torch.load` with `weights_only=False`, or without it before torch 2.6"
    fix_applicability = Applicability.UNSAFE

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shielded = 0  # depth of safe_globals blocks and `except TypeError` handlers

    def visit_With(self, node: cst.With) -> None:
        if self._has_safe_globals(node):
            self._shielded += 1

    def leave_With(self, node: cst.With) -> None:
        if self._has_safe_globals(node):
            self._shielded -= 1

    def _has_safe_globals(self, node: cst.With) -> bool:
        for item in node.items:
            call = item.item
            if isinstance(call, cst.Call) and self.ctx.qualified_name(call.func) in _SAFE_CONTEXTS:
                return True
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if self._catches_type_error(node):
            self._shielded += 1

    def leave_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if self._catches_type_error(node):
            self._shielded -= 1

    def _catches_type_error(self, node: cst.ExceptHandler) -> bool:
        caught = node.type
        if caught is None:
            return False
        items = [e.value for e in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
        return any(self.ctx.qualified_name(item) == "builtins.TypeError" for item in items)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = callee_name(func)
        if last != "load" or self.ctx.qualified_name(func) != "torch.load":
            return
        weights_only = None
        for arg in node.args:
            if arg.star == "**":
                return
            if arg.keyword is not None and arg.keyword.value == "weights_only":
                weights_only = arg.value
        if weights_only is not None:
            if isinstance(weights_only, cst.Name) and weights_only.value == "False":
                self.report(
                    node,
                    "`torch.load(..., weights_only=False)` can execute arbitrary code from the file; "
                    "use `weights_only=True` and allow extra types with `torch.serialization.safe_globals`",
                )
            if not (isinstance(weights_only, cst.Name) and weights_only.value == "None"):
                return
        version = target_version(self.ctx)
        if version is None or version >= (2, 6) or self._shielded:
            return
        fix = None
        if version >= (1, 13) and weights_only is None:
            fix = self.replace(
                node, append_argument(node, keyword_arg("weights_only", cst.Name("True"))), "Pass `weights_only=True`"
            )
        self.report(
            node,
            f"`torch.load` without `weights_only=True` unpickles arbitrary code on torch "
            f"{version[0]}.{version[1]} (the target version); pass `weights_only=True`",
            fix,
        )
