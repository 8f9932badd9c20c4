"""Reading a call's arguments the way Python binds them, shared by every rule."""

from __future__ import annotations

import libcst as cst


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()  # `*args`/`**kwargs` might carry the argument


def call_argument(call: cst.Call, index: int | None, keyword: str | None):
    """The argument at positional `index` or given as `keyword=`: an `Arg`, None when
    absent, or `UNKNOWN` when `*args`/`**kwargs` could carry it."""
    positional = 0
    starred = False
    for arg in call.args:
        if arg.star:
            starred = True
            continue
        if arg.keyword is None:
            if index is not None and positional == index and not starred:
                return arg
            positional += 1
        elif keyword is not None and arg.keyword.value == keyword:
            return arg
    return UNKNOWN if starred else None


def callee_name(func: cst.BaseExpression) -> str | None:
    """The last name of what is called (`F.dropout` -> "dropout"): a cheap test that lets
    rules skip most calls before resolving qualified names."""
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None
