"""Small libcst builders shared by rule fixes."""

from __future__ import annotations

import libcst as cst

# Expressions that can take `.attr` without parentheses.
_ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.List, cst.Tuple, cst.Dict, cst.Set)


def parenthesize_for_attribute(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`a + b` -> `(a + b)` so that a method can be chained onto it."""
    if expr.lpar or isinstance(expr, _ATOMS):
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def keyword_arg(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


def call_method(obj: cst.BaseExpression, method: str, args=()) -> cst.Call:
    return cst.Call(func=cst.Attribute(value=obj, attr=cst.Name(method)), args=list(args))


def append_argument(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """Add an argument at the end, keeping the call's layout: a multi-line call with a
    trailing comma gets the new argument on its own line, with a trailing comma, and a
    comment after the old last argument stays on that argument's line."""
    args = list(call.args)
    if not args:
        return call.with_changes(args=[arg])
    last = args[-1]
    previous = args[-2].comma if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) else None
    if isinstance(last.comma, cst.Comma):
        after = last.comma.whitespace_after
        if isinstance(after, cst.ParenthesizedWhitespace):
            # one argument per line: the old last argument keeps its comma and comment and
            # now breaks to the arguments' indentation; the new one ends like the old did
            indent_from = previous.whitespace_after if previous is not None else call.whitespace_before_args
            if isinstance(indent_from, cst.ParenthesizedWhitespace):
                args[-1] = last.with_changes(
                    comma=last.comma.with_changes(
                        whitespace_after=after.with_changes(indent=indent_from.indent, last_line=indent_from.last_line)
                    )
                )
                closing = cst.ParenthesizedWhitespace(
                    first_line=cst.TrailingWhitespace(), empty_lines=[], indent=after.indent, last_line=after.last_line
                )
                args.append(arg.with_changes(comma=cst.Comma(whitespace_after=closing)))
                return call.with_changes(args=args)
        separator = previous or cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        args[-1] = last.with_changes(comma=separator)
        args.append(arg.with_changes(comma=last.comma))
        return call.with_changes(args=args)
    separator = previous or cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if isinstance(last.whitespace_after_arg, cst.ParenthesizedWhitespace):
        # `f(x, p=1  # note\n)`: the comment and line break follow the new last argument
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                                     whitespace_after_arg=cst.SimpleWhitespace(""))
        args.append(arg.with_changes(whitespace_after_arg=last.whitespace_after_arg))
        return call.with_changes(args=args)
    args[-1] = last.with_changes(comma=separator)
    args.append(arg)
    return call.with_changes(args=args)


def torch_module_name(ctx, func: cst.BaseExpression) -> cst.Name | None:
    """A name bound to the `torch` module here, to spell a replacement with: the root of
    `func` when it is one (`th.qr` -> `th`), else `torch` if the file binds it; None when
    a fix would need a new import."""
    root = func
    while isinstance(root, cst.Attribute):
        root = root.value
    if isinstance(root, cst.Name) and ctx.qualified_name(root) == "torch":
        return cst.Name(root.value)
    if ctx.qualified_name(cst.Name("torch")) == "torch":
        return cst.Name("torch")
    return None


def dotted(base: cst.BaseExpression, path: str) -> cst.BaseExpression:
    """`dotted(Name("torch"), "linalg.qr")` -> `torch.linalg.qr`."""
    expr = base
    for part in path.split("."):
        if part:
            expr = cst.Attribute(value=expr, attr=cst.Name(part))
    return expr


def rename_keyword(arg: cst.Arg, name: str) -> cst.Arg:
    """The same argument under another keyword, spacing kept."""
    return arg.with_changes(keyword=cst.Name(name))


def keep_parentheses(old: cst.BaseExpression, new: cst.BaseExpression) -> cst.BaseExpression:
    """`new` wearing `old`'s parentheses. A node's reported span excludes its own
    parentheses, so a replacement that dropped them would reach outside the edit."""
    if not old.lpar and not old.rpar:
        return new
    return new.with_changes(lpar=old.lpar, rpar=old.rpar)


def unparenthesize_for_argument(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`(-x)` -> `-x` when it becomes a call argument of its own. Tuples, generator
    expressions and parentheses holding comments or line breaks are kept."""
    if not expr.lpar or isinstance(expr, (cst.Tuple, cst.GeneratorExp, cst.Yield, cst.StarredElement)):
        return expr
    simple = all(isinstance(p.whitespace_after, cst.SimpleWhitespace) for p in expr.lpar) and all(
        isinstance(p.whitespace_before, cst.SimpleWhitespace) for p in expr.rpar
    )
    return expr.with_changes(lpar=[], rpar=[]) if simple else expr
