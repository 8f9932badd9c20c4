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
    trailing comma gets the new argument on its own line, with a trailing comma."""
    args = list(call.args)
    if not args:
        return call.with_changes(args=[arg])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # trailing comma: the new argument takes it; the old last one takes its
        # neighbour's separator (or the whitespace after the opening parenthesis)
        if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
            separator = args[-2].comma
        else:
            separator = cst.Comma(whitespace_after=call.whitespace_before_args)
            if isinstance(call.whitespace_before_args, cst.SimpleWhitespace):
                separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        args[-1] = last.with_changes(comma=separator)
        args.append(arg.with_changes(comma=last.comma))
    else:
        if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
            separator = args[-2].comma
        else:
            separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        args[-1] = last.with_changes(comma=separator)
        args.append(arg)
    return call.with_changes(args=args)
