#!/usr/bin/env python
"""Regenerate ``tensorlint/data/torch_api.json`` from the installed torch.

Usage::

    python scripts/gen_torch_api.py [--output PATH]

The linter itself never imports torch; this script is the only place that
does.  It records, for each public torch callable, the keyword names it
accepts, how many positional arguments it takes, whether it takes ``**kwargs``
and whether it returns a Tensor.

How signatures are obtained
---------------------------
* **Python-defined callables** (``torch.nn.functional.softmax``, module
  constructors, ``torch.load``, ...): ``inspect.signature``.
* **C++ builtins parsed by torch's ``PythonArgParser``** (``torch.sum``,
  ``torch.dropout``, Tensor methods, ``torch._C._nn`` / ``_linalg`` / ``_fft``
  / ``_special`` functions): the parser itself is asked, through calls
  whose arguments are all an object implementing ``__torch_function__``.
  The parser accepts such an object for (nearly) any parameter and hands it
  to ``__torch_function__`` only after a successful parse, which aborts the
  call, so nothing is computed.

  - 40 positional probes make every overload implausible, so a builtin with
    several overloads prints the complete list of its visible signatures:
    names, keyword-only markers, positional counts.  Deprecated overloads are
    hidden from that list but still accepted (``x.add(1, y)``), so the
    positional maximum is also measured by calls with 1..12 probes, and names
    only the ``.pyi`` stubs know are kept when a probe call accepts them.
  - A builtin with a single signature says how many positionals it takes and
    which required parameters are missing; every other candidate keyword
    (from the ``.pyi`` stubs, ``torch.overrides.get_testing_overrides()`` and
    the docstring's signature lines) is kept unless the parser answers
    "unexpected keyword argument" for it with the required ones supplied.
* Positional order (``o``), emitted only where it is unambiguous:

  - Python callables: the positional-or-keyword parameters of
    ``inspect.signature`` in order (omitted when there are positional-only
    parameters, whose names cannot clash with a keyword).
  - A builtin with a single signature: position by position, the parameter
    for which ``f(probe * (i + 1), name=probe)`` answers "got multiple values
    for argument 'name'".
  - A builtin with several overloads: the listed overloads must agree (each
    one's positionals a prefix of the longest), the stubs' overloads too, and
    the longest must reach the positional maximum (no hidden overload takes
    more); then every pair ``i < k <= n`` is checked: no call with ``k``
    positional probes and the ``i``-th name as a keyword gets past parsing.
  - Builtins whose positional count is unlimited (``x.view(2, 3)``) get none.
* Return types: the ``.pyi`` stubs' annotations for builtins (every overload
  must agree), annotations of Python functions, a list of Tensor methods
  known to return plain values, and docstring signature lines (trusted only
  for ``-> Tensor``).
* The C++ parser also accepts numpy-style aliases
  (``torch/csrc/utils/python_arg_parser.cpp``, ``numpy_compatibility_arg_names``):
  ``axis`` for ``dim``, ``keepdims`` for ``keepdim``, ``x``/``a``/``x1`` for
  ``input`` and ``x2`` for ``other``.  Entries parsed by it carry the flag
  ``a``; the loader adds the aliases of the parameters an entry has.
  Python-defined functions do not get them (``F.softmax(x, axis=-1)`` raises
  ``TypeError``).

Output format (compact, sorted keys)::

    {"torch_version": "2.13.0",
     "aliases": {"dim": ["axis"], ...},
     "entries": {"torch.sum": {"p": "input dim keepdim dtype out", "n": 3,
                               "a": 1, "r": 1}, ...}}

``p``: space-separated keyword names; ``n``: max positional count (absent =
unlimited); ``o``: space-separated names of the parameters that positional
arguments bind, in order (absent = not known, see below); ``k``: 1 when ``**kwargs`` is accepted; ``a``: 1 when the numpy
aliases apply; ``r``: 1 returns a Tensor, 0 does not, absent = unknown.  For
``torch.Tensor.X`` the fields describe the bound call ``t.X(...)`` (``self``
excluded).  Callables whose signature cannot be determined are omitted.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
import torch.fft
import torch.linalg
import torch.nn
import torch.nn.functional
import torch.special
import torch.utils.checkpoint
import torch.utils.data

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tensorlint" / "data" / "torch_api.json"

# torch/csrc/utils/python_arg_parser.cpp: numpy_compatibility_arg_names.
NUMPY_ALIASES: dict[str, list[str]] = {
    "dim": ["axis"],
    "keepdim": ["keepdims"],
    "input": ["x", "a", "x1"],
    "other": ["x2"],
}

# Modules whose builtins are bound through PythonArgParser.
ARGPARSER_MODULES = (
    torch._C._VariableFunctions,
    torch._C._nn,
    torch._C._linalg,
    torch._C._fft,
    torch._C._special,
)

NON_TENSOR_TYPES = {
    "int", "_int", "bool", "_bool", "float", "_float", "complex", "_complex",
    "str", "None", "Number", "Size", "list", "List", "tuple", "Tuple", "dict",
    "_dtype", "dtype", "torch.dtype", "_device", "device", "torch.device",
    "Storage", "UntypedStorage", "TypedStorage", "_layout", "layout",
    "_qscheme", "Generator", "numpy.ndarray", "ndarray", "np.ndarray",
    "torch.Size", "_size", "SymInt", "Module", "Iterator",
}

# Tensor methods known to return plain Python / non-tensor values.
KNOWN_NON_TENSOR_METHODS = {
    "tolist", "item", "size", "dim", "numel", "numpy", "data_ptr",
    "is_contiguous", "element_size", "__len__", "stride", "ndimension",
    "nelement", "get_device", "is_floating_point", "is_complex", "is_signed",
    "storage_offset", "untyped_storage", "is_pinned", "is_shared",
    "is_set_to", "equal", "dim_order", "has_names", "is_coalesced",
    "is_nonzero", "is_inference", "is_conj", "is_neg", "backward",
    "register_hook", "register_post_accumulate_grad_hook", "storage",
}


class _Hit(Exception):
    pass


class _Probe:
    """Accepted by PythonArgParser for any parameter; aborts after parsing."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        raise _Hit()


PROBE = _Probe()
JUNK = {f"_tl_probe_{i}": 0 for i in range(64)}


# --------------------------------------------------------------------------
# .pyi stubs: names, overloads and return annotations of the C++ builtins
# --------------------------------------------------------------------------

def _pyi_functions(path: Path, class_name: str | None = None) -> dict[str, list[ast.FunctionDef]]:
    if not path.exists():
        return {}
    tree = ast.parse(path.read_text())
    body: list[ast.stmt] = tree.body
    if class_name is not None:
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == class_name:
                body = node.body
                break
        else:
            return {}
    out: dict[str, list[ast.FunctionDef]] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef):
            out.setdefault(node.name, []).append(node)
    return out


TORCH_C = Path(torch._C.__file__).parent / "_C"
PYI_VF = _pyi_functions(TORCH_C / "_VariableFunctions.pyi")
PYI_NN = _pyi_functions(TORCH_C / "_nn.pyi")
PYI_TENSOR = _pyi_functions(TORCH_C / "__init__.pyi", "TensorBase")


def _pyi_keyword_names(defs: list[ast.FunctionDef], method: bool) -> set[str]:
    names: set[str] = set()
    for d in defs:
        a = d.args
        pos = list(a.args)
        if method and pos:
            pos = pos[1:]
        names.update(x.arg for x in pos)
        names.update(x.arg for x in a.kwonlyargs)
    # The stubs' deprecated overloads call the first parameter ``self``; the
    # parser's hidden signatures name it ``input`` (torch.addr(self=...) fails).
    names.discard("self")
    return names


def _pyi_positional_max(defs: list[ast.FunctionDef], method: bool) -> int | None:
    n = 0
    for d in defs:
        if d.args.vararg is not None:
            return None
        k = len(d.args.posonlyargs) + len(d.args.args) - (1 if method else 0)
        n = max(n, k)
    return n


def _ann_returns_tensor(ann: str) -> bool | None:
    ann = ann.strip().strip("'\"")
    if ann in ("Tensor", "torch.Tensor", "_Tensor", "Self", "TensorBase"):
        return True
    base = re.split(r"[\[|]", ann)[0].strip()
    if base in NON_TENSOR_TYPES or ann in NON_TENSOR_TYPES:
        return False
    return None


def _combine(values: list[bool | None]) -> bool | None:
    if values and all(v is True for v in values):
        return True
    if values and all(v is False for v in values):
        return False
    return None


def _pyi_returns(defs: list[ast.FunctionDef]) -> bool | None:
    vals = []
    for d in defs:
        if d.returns is None:
            return None
        vals.append(_ann_returns_tensor(ast.unparse(d.returns)))
    return _combine(vals)


_DOC_SIG = re.compile(r"^\s*(?:[\w.]+\.)?(\w+)\((.*)\)\s*->\s*(.+?)\s*$")


def _doc_signatures(obj: Any, name: str) -> list[tuple[list[str], str]]:
    """Signature lines such as ``sum(input, dim, keepdim=False, *, dtype=None) -> Tensor``."""
    doc = getattr(obj, "__doc__", None) or ""
    out = []
    for line in doc.splitlines():
        m = _DOC_SIG.match(line)
        if not m or m.group(1) != name:
            continue
        params = []
        for part in _split_top(m.group(2)):
            part = part.strip()
            if not part or part.startswith("*"):
                continue
            ident = re.match(r"(\w+)", part)
            if ident:
                params.append(ident.group(1))
        out.append((params, m.group(3)))
    return out


def _split_top(s: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


# --------------------------------------------------------------------------
# Probing PythonArgParser builtins
# --------------------------------------------------------------------------

def _call(fn: Callable, *args, **kwargs) -> str:
    """'HIT' when the parser accepted the call; otherwise the error text."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*args, **kwargs)
    except _Hit:
        return "HIT"
    except BaseException as e:  # noqa: BLE001 - any failure is data here
        return f"{type(e).__name__}: {e}"
    return "RETURNED"


def _parse_listing(msg: str) -> list[tuple[list[str], list[str], list[str]]] | None:
    """Parse 'expected one of: * (sig) ...' into (positional, kw-only, types)."""
    idx = msg.find("but expected")
    if idx < 0:
        return None
    rest = msg[idx:]
    sigs = re.findall(r"^ \* \((.*)\)\s*$", rest, flags=re.M)
    if not sigs:
        m = re.match(r"but expected \((.*)\)\s*$", rest.splitlines()[0])
        if not m:
            return None
        sigs = [m.group(1)]
    result = []
    for sig in sigs:
        pos: list[str] = []
        kwonly: list[str] = []
        pos_types: list[str] = []
        star = False
        for part in _split_top(sig):
            part = part.strip()
            if not part:
                continue
            if part == "*":
                star = True
                continue
            decl = part.split(" = ")[0].strip()
            toks = decl.split()
            name = toks[-1]
            if not re.fullmatch(r"\w+", name):
                return None
            if star:
                kwonly.append(name)
            else:
                pos.append(name)
                pos_types.append(" ".join(toks[:-1]))
        result.append((pos, kwonly, pos_types))
    return result


_INTLIST_TYPES = ("tuple of ints", "tuple of SymInts", "SymInt...", "int...")


def _required_assignment(fn: Callable, required: list[str]) -> dict[str, Any]:
    """Values for the required parameters that get the call past parsing."""
    for value in (PROBE, 1, 0.5, torch.zeros(1)):
        req = {r: value for r in required}
        res = _call(fn, **req)
        if not res.startswith("TypeError"):
            return req
    return {r: PROBE for r in required}


def _keyword_hit(fn: Callable, kw: str, listing: list) -> bool:
    """Whether some call with keyword ``kw`` gets past argument parsing."""
    attempts: list[tuple[int, dict[str, Any]]] = [(npos, {}) for npos in range(5)]
    attempts += [(0, {n: PROBE for n in pos + kwonly}) for pos, kwonly, _ in listing]
    for npos, base in attempts:
        kwargs = {**base, kw: PROBE}
        for _ in range(6):
            res = _call(fn, *([PROBE] * npos), **kwargs)
            if res == "HIT":
                return True
            m = re.search(r"missing \d+ required positional arguments?: (.*)$", res)
            missing = [x for x in re.findall(r'"(\w+)"', m.group(1))] if m else []
            missing = [x for x in missing if x not in kwargs and kw not in NUMPY_ALIASES.get(x, ())]
            if not missing:
                break
            kwargs.update({x: PROBE for x in missing})
    return False


def probe_builtin(
    fn: Callable, candidates: set[str], always: set[str]
) -> dict[str, Any] | None:
    """Ask PythonArgParser for ``fn``'s keywords and positional limit."""
    kwmsg = _call(fn, **JUNK)
    if "takes no keyword arguments" in kwmsg:
        # METH_NOARGS / METH_O / METH_VARARGS: no keyword at all.
        return {"params": set(), "n": None, "argparser": False}
    posmsg = _call(fn, *([PROBE] * 40))
    listing_msg = None
    for msg in (posmsg, kwmsg):
        if "invalid combination of arguments" in msg and "but expected" in msg:
            listing_msg = msg
            break
    if listing_msg is not None:
        # Several overloads: the parser lists every visible one.
        listing = _parse_listing(listing_msg)
        if listing is None:
            return None
        params: set[str] = set()
        n: int | None = 0
        for pos, kwonly, pos_types in listing:
            params.update(pos)
            params.update(kwonly)
            if len(pos) == 1 and pos_types[0].startswith(_INTLIST_TYPES):
                n = None  # f(2, 3) is read as f((2, 3))
            elif n is not None:
                n = max(n, len(pos))
        # Names only the stubs know: keep those some probe call accepts (the
        # hidden, deprecated overloads); the stubs are wrong about the rest
        # (``Tensor.add(out=)``, ``Tensor.to(other=)``).
        params |= {k for k in always - params if _keyword_hit(fn, k, listing)}
        if posmsg == "HIT":
            n = None
        if n is not None:
            # Deprecated overloads are hidden from the listing but still
            # accepted (``x.add(1, y)``): count positionals empirically.
            for k in range(1, 13):
                if _call(fn, *([PROBE] * k)) == "HIT":
                    n = max(n, k)
        return {"params": params, "n": n, "argparser": True, "multi": True, "listing": listing}
    # A single signature.
    mpos = re.search(r"takes (?:from \d+ to )?(\d+) positional arguments? but 40 were given", posmsg)
    n = int(mpos.group(1)) if mpos else None
    if n is not None:
        # f(2, 3, 4) is read as f((2, 3, 4)) when the only positional
        # parameter is an int list, but only if the first argument is an int.
        intmsg = _call(fn, 1, *([PROBE] * 39))
        if not re.search(r"takes (?:from \d+ to )?\d+ positional arguments? but 40 were given", intmsg):
            n = None
    m = re.search(r"missing \d+ required positional arguments?: (.*)$", kwmsg)
    if m:
        required = re.findall(r'"(\w+)"', m.group(1))
    elif re.search(r"unexpected keyword argument '_tl_probe_\d+'", kwmsg):
        required = []
    else:
        return None
    req = _required_assignment(fn, required)
    params = set(required)
    for cand in sorted((candidates | always) - params):
        res = _call(fn, **req, **{cand: PROBE})
        if f"unexpected keyword argument '{cand}'" in res:
            continue  # proven rejected
        params.add(cand)  # accepted, or inconclusive: stay conservative
    return {"params": params, "n": n, "argparser": True}


_MISSING = re.compile(r"missing \d+ required positional arguments?: (.*)$")


def _fill_missing(fn: Callable, npos: int, kwargs: dict[str, Any]) -> str:
    """Call with ``npos`` probes and ``kwargs``, adding required parameters the parser names."""
    kwargs = dict(kwargs)
    res = _call(fn, *([PROBE] * npos), **kwargs)
    for _ in range(6):
        m = _MISSING.search(res)
        missing = [x for x in re.findall(r'"(\w+)"', m.group(1)) if x not in kwargs] if m else []
        if not missing:
            break
        kwargs.update({x: PROBE for x in missing})
        res = _call(fn, *([PROBE] * npos), **kwargs)
    return res


def _single_order(fn: Callable, n: int, params: set[str]) -> list[str] | None:
    """A single-signature builtin's positional parameters, in order."""
    order: list[str] = []
    for i in range(n):
        found = [
            name for name in sorted(params - set(order))
            if f"multiple values for argument '{name}'" in _fill_missing(fn, i + 1, {name: PROBE})
        ]
        if len(found) != 1:
            return None
        order.append(found[0])
    return order


def _pyi_orders(defs: list[ast.FunctionDef], method: bool) -> list[list[str]] | None:
    orders = []
    for d in defs:
        if d.args.vararg is not None or d.args.posonlyargs:
            return None
        names = [a.arg for a in d.args.args]
        if method:
            names = names[1:]
        # deprecated overloads in the stubs call the parser's ``input`` ``self``
        orders.append(["input" if x == "self" else x for x in names])
    return orders


def _merge_orders(orders: list[list[str]]) -> list[str] | None:
    """The longest order when every other one is a prefix of it, else None."""
    if not orders:
        return None
    longest = max(orders, key=len)
    if any(o != longest[: len(o)] for o in orders):
        return None
    return longest


def _multi_order(fn: Callable, info: dict[str, Any], defs: list, method: bool) -> list[str] | None:
    """An overloaded builtin's positional order, when every overload agrees on it."""
    listing = info["listing"]
    n = info["n"]
    merged = _merge_orders([pos for pos, _, _ in listing])
    if merged is None or n is None or len(merged) != n:
        return None
    stub_orders = _pyi_orders(defs, method) if defs else []
    if stub_orders is None:
        return None
    if stub_orders and _merge_orders([merged] + stub_orders) != merged:
        return None
    bases = [[]] + [pos + kwonly for pos, kwonly, _ in listing] + stub_orders
    for k in range(1, n + 1):
        for name in merged[:k]:
            for base in bases:
                kwargs = {x: PROBE for x in base[k:] if x != name and x not in merged[:k]}
                kwargs[name] = PROBE
                if _fill_missing(fn, k, kwargs) in ("HIT", "RETURNED"):
                    return None  # some overload binds the k positionals elsewhere
    return merged


def builtin_order(fn: Callable, info: dict[str, Any], defs: list, method: bool) -> list[str] | None:
    if not info.get("argparser") or info.get("n") is None:
        return None
    if info.get("multi"):
        return _multi_order(fn, info, defs, method)
    return _single_order(fn, info["n"], info["params"])


# --------------------------------------------------------------------------
# Python-defined callables
# --------------------------------------------------------------------------

def from_signature(obj: Any, drop_self: bool = False) -> dict[str, Any] | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if drop_self and params:
        if params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
            return None
        params = params[1:]
    names: list[str] = []
    order: list[str] | None = []
    n: int | None = 0
    var_kw = False
    for p in params:
        if p.kind is p.POSITIONAL_ONLY:
            n = None if n is None else n + 1
            order = None
        elif p.kind is p.POSITIONAL_OR_KEYWORD:
            names.append(p.name)
            if order is not None:
                order.append(p.name)
            n = None if n is None else n + 1
        elif p.kind is p.VAR_POSITIONAL:
            n = None
        elif p.kind is p.KEYWORD_ONLY:
            names.append(p.name)
        elif p.kind is p.VAR_KEYWORD:
            var_kw = True
    ret = sig.return_annotation
    r = None
    if ret is not inspect.Signature.empty:
        r = _ann_returns_tensor(ret if isinstance(ret, str) else getattr(ret, "__name__", repr(ret)))
    return {"params": set(names), "n": n, "k": var_kw, "r": r, "argparser": False, "order": order}


# --------------------------------------------------------------------------
# Collection
# --------------------------------------------------------------------------

def _is_argparser_builtin(obj: Any) -> bool:
    if not inspect.isbuiltin(obj):
        return False
    name = getattr(obj, "__name__", "")
    return any(getattr(m, name, None) is obj for m in ARGPARSER_MODULES)


def _overrides() -> dict[Any, Callable]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.overrides.get_testing_overrides()


def build() -> dict[str, Any]:
    overrides = _overrides()
    entries: dict[str, dict[str, Any]] = {}
    omitted: list[str] = []

    def candidates_for(obj: Any, short: str, pyi_defs: list, method: bool) -> tuple[set[str], set[str]]:
        always = _pyi_keyword_names(pyi_defs, method)
        cands = set(always)
        lam = overrides.get(obj)
        if lam is not None:
            try:
                ps = list(inspect.signature(lam).parameters.values())
                if method and ps:
                    ps = ps[1:]
                cands.update(p.name for p in ps if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
            except (TypeError, ValueError):
                pass
        for params, _ in _doc_signatures(obj, short):
            cands.update(params[1:] if method else params)
        cands.update({"out", "dtype", "device", "layout", "requires_grad", "pin_memory",
                      "memory_format", "generator", "dim", "keepdim"})
        return cands, always

    def widen_n(info: dict[str, Any], defs: list, method: bool) -> None:
        # The parser hides deprecated overloads from its listing; the stubs
        # keep them, so take the larger positional count.
        if defs and info["n"] is not None and info.get("multi"):
            pn = _pyi_positional_max(defs, method)
            info["n"] = None if pn is None else max(info["n"], pn)

    def doc_returns(obj: Any, short: str) -> bool | None:
        # Docstrings are trusted for "returns a Tensor" only: several list
        # one form of a flag-dependent return (torch.unique's tuple).
        sigs = _doc_signatures(obj, short)
        r = _combine([_ann_returns_tensor(r) for _, r in sigs]) if sigs else None
        return True if r is True else None

    def add_function(qual: str, obj: Any, pyi: dict[str, list]) -> None:
        short = qual.rsplit(".", 1)[1]
        if _is_argparser_builtin(obj):
            cname = obj.__name__
            defs = pyi.get(cname) or pyi.get(short) or []
            cands, always = candidates_for(obj, short, defs, method=False)
            info = probe_builtin(obj, cands, always)
            if info is None:
                omitted.append(qual)
                return
            widen_n(info, defs, method=False)
            info["order"] = builtin_order(obj, info, defs, method=False)
            r = _pyi_returns(defs) if defs else doc_returns(obj, short)
            info["r"] = r
            info["k"] = False
        elif inspect.isfunction(obj) or (inspect.isclass(obj)):
            info = from_signature(obj)
            if info is None:
                omitted.append(qual)
                return
            if inspect.isclass(obj):
                info["r"] = issubclass(obj, torch.Tensor) or False
            elif info["r"] is None:
                info["r"] = doc_returns(obj, short)
        elif inspect.isbuiltin(obj) and "takes no keyword arguments" in _call(obj, **JUNK):
            info = {"params": set(), "n": None, "k": False, "r": doc_returns(obj, short)}
        else:
            omitted.append(qual)
            return
        entries[qual] = info

    def public_functions(mod: Any, prefix: str, pyi: dict[str, list]) -> None:
        for name in sorted(dir(mod)):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name, None)
            if obj is None or inspect.isclass(obj) or inspect.ismodule(obj):
                continue
            if not (inspect.isbuiltin(obj) or inspect.isfunction(obj)):
                continue
            modname = getattr(obj, "__module__", "") or ""
            if inspect.isfunction(obj) and not modname.startswith("torch"):
                continue  # typing helpers and the like
            if inspect.isbuiltin(obj) and not _is_argparser_builtin(obj):
                if not modname.startswith("torch"):
                    continue
            add_function(f"{prefix}.{name}", obj, pyi)

    public_functions(torch, "torch", PYI_VF)
    public_functions(torch.nn.functional, "torch.nn.functional", {**PYI_VF, **PYI_NN})
    public_functions(torch.linalg, "torch.linalg", {})
    public_functions(torch.fft, "torch.fft", {})
    public_functions(torch.special, "torch.special", {})

    # Tensor methods (bound-call view: self excluded).
    for name in sorted(dir(torch.Tensor)):
        if name.startswith("_") and name != "__len__":
            continue
        raw = inspect.getattr_static(torch.Tensor, name, None)
        qual = f"torch.Tensor.{name}"
        if type(raw).__name__ == "method_descriptor":
            bound = getattr(torch.zeros(2, 2), name)
            defs = PYI_TENSOR.get(name, [])
            cands, always = candidates_for(getattr(torch.Tensor, name), name, defs, method=True)
            info = probe_builtin(bound, cands, always)
            if info is None:
                omitted.append(qual)
                continue
            widen_n(info, defs, method=True)
            info["order"] = builtin_order(bound, info, defs, method=True)
            r = _pyi_returns(defs) if defs else None
            info["k"] = False
        elif inspect.isfunction(raw):
            info = from_signature(raw, drop_self=True)
            if info is None:
                omitted.append(qual)
                continue
            r = info["r"]
            if r is None:
                r = _pyi_returns(PYI_TENSOR[name]) if name in PYI_TENSOR else None
        else:
            continue  # properties, slots, class attributes
        if name in KNOWN_NON_TENSOR_METHODS:
            r = False
        info["r"] = r
        entries[qual] = info

    # nn.Module constructors.
    for name in sorted(dir(torch.nn)):
        obj = getattr(torch.nn, name)
        if inspect.isclass(obj) and issubclass(obj, torch.nn.Module) and not name.startswith("_"):
            add_function(f"torch.nn.{name}", obj, {})

    add_function("torch.utils.data.DataLoader", torch.utils.data.DataLoader, {})
    add_function("torch.utils.checkpoint.checkpoint", torch.utils.checkpoint.checkpoint, {})
    add_function("torch.load", torch.load, {})

    out_entries: dict[str, dict[str, Any]] = {}
    for qual, info in entries.items():
        e: dict[str, Any] = {"p": " ".join(sorted(info["params"]))}
        if info.get("n") is not None:
            e["n"] = info["n"]
        if info.get("order"):
            e["o"] = " ".join(info["order"])
        if info.get("k"):
            e["k"] = 1
        if info.get("argparser"):
            e["a"] = 1
        if info.get("r") is not None:
            e["r"] = int(bool(info["r"]))
        out_entries[qual] = e
    if omitted:
        print(f"omitted {len(omitted)} callables with unknown signatures:", file=sys.stderr)
        for q in sorted(omitted):
            print(f"  {q}", file=sys.stderr)
    return {
        "torch_version": torch.__version__.split("+")[0],
        "aliases": NUMPY_ALIASES,
        "entries": out_entries,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    table = build()
    text = json.dumps(table, sort_keys=True, separators=(",", ":"))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(f"wrote {len(table['entries'])} entries, {len(text)} bytes to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
