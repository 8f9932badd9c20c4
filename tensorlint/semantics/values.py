"""What kind of value an expression holds: a probability, a log-probability, or unknown.

One query for the numerics rules (TL201, TL202, TL203): `value_kind(ctx, expr)` answers
"probability" (the output of a softmax or sigmoid), "log_probability" (the output of
`log_softmax`/`logsigmoid`, or `log` of a probability) or None (unknown). `value_info`
gives the same answer with the details a rule needs for its message and its fix.

It follows what real training code does with these values:
- names and their re-bindings, flow-sensitively (`y = torch.softmax(y, 1)` re-binds
  the parameter `y`; a binding in one branch of an `if` merges with the one before it;
  loops are followed through their back edge), tuple unpacking, module-level names
  used inside functions, and `self.<attr>` assigned in the class's methods (a
  constructor argument's default counts when no call in the file passes it);
- activations as functions, methods (`x.softmax(-1)`, `.sigmoid()`) and modules;
  `exp(log_softmax(x))`; shape-only methods (`.view(-1)`, `.squeeze()`, `.float()`,
  indexing) keep the kind; `.topk(...)`/`.max(dim)`/`.sort()` values keep it too;
- calls of nn.Module instances: `nn.Sequential(...)` ending in `nn.Sigmoid`/
  `nn.Softmax`/`nn.LogSoftmax`, classes of this file whose every `forward` return
  has a known kind, `self(x)`, `model.forward(x)`, `nn.DataParallel(model)`, and
  `model.to(device)`-style chains that return the module;
- helper functions of this file (every `return` must agree), and, for names imported
  from the project, `ctx.project.forward_returns` / `ctx.project.function_returns`.

Precision first: a value with any unknown possible origin is unknown.

The file is indexed once, lazily, the first time a rule asks (parents, pre-order
positions and binding sites per scope), so the answers do not depend on where the
traversal is; every answer is memoised per node, and recursion through the call graph
of the file is cut at cycles.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

import libcst as cst

from tensorlint.semantics.calls import UNKNOWN, call_argument
from tensorlint.semantics.names import canonical
from tensorlint.semantics.scopes import BUILTIN_NAMES, dotted_name
from tensorlint.semantics.ternary import Ternary
from tensorlint.walk import children_of

PROBABILITY = "probability"
LOG_PROBABILITY = "log_probability"
SIGMOID = "sigmoid"
SOFTMAX = "softmax"

_FUNCTIONS = {
    "torch.sigmoid": (PROBABILITY, SIGMOID),
    "torch.nn.functional.sigmoid": (PROBABILITY, SIGMOID),
    "torch.special.expit": (PROBABILITY, SIGMOID),
    "torch.softmax": (PROBABILITY, SOFTMAX),
    "torch.nn.functional.softmax": (PROBABILITY, SOFTMAX),
    "torch.special.softmax": (PROBABILITY, SOFTMAX),
    "torch.log_softmax": (LOG_PROBABILITY, SOFTMAX),
    "torch.nn.functional.log_softmax": (LOG_PROBABILITY, SOFTMAX),
    "torch.special.log_softmax": (LOG_PROBABILITY, SOFTMAX),
    "torch.nn.functional.logsigmoid": (LOG_PROBABILITY, SIGMOID),
}
_MODULES = {
    "torch.nn.Sigmoid": (PROBABILITY, SIGMOID),
    "torch.nn.Softmax": (PROBABILITY, SOFTMAX),
    "torch.nn.Softmax2d": (PROBABILITY, SOFTMAX),
    "torch.nn.LogSoftmax": (LOG_PROBABILITY, SOFTMAX),
    "torch.nn.LogSigmoid": (LOG_PROBABILITY, SIGMOID),
}
_METHODS = {"sigmoid": (PROBABILITY, SIGMOID), "softmax": (PROBABILITY, SOFTMAX), "log_softmax": (LOG_PROBABILITY, SOFTMAX)}
# Tensor methods that keep the values (only shape, dtype, device or autograd change).
_KEEPING_METHODS = frozenset(
    {
        "view", "reshape", "squeeze", "unsqueeze", "flatten", "contiguous", "float", "double", "half",
        "bfloat16", "to", "cpu", "cuda", "detach", "clone", "permute", "transpose", "view_as", "reshape_as",
        "type_as", "expand", "expand_as",
    }
)
# Module methods that return the module itself.
_SELF_RETURNING_MODULE_METHODS = frozenset(
    {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "apply", "requires_grad_", "type"}
)
_WRAPPERS = frozenset(
    {"torch.nn.DataParallel", "torch.nn.parallel.DataParallel", "torch.nn.parallel.DistributedDataParallel", "torch.compile"}
)
_TUPLE_METHODS = frozenset({"topk", "max", "min", "sort", "kthvalue", "mode", "median"})
_SCOPE_NODES = (cst.Module, cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


@dataclass(frozen=True)
class Value:
    """What an expression holds, when known."""

    kind: str  # PROBABILITY or LOG_PROBABILITY
    activation: str | None  # SIGMOID, SOFTMAX, or None when only the kind is known (another file)
    direct: cst.Call | None = None  # the activation call itself, when the expression is that call
    form: str | None = None  # for `direct`: "function", "method" or "module"
    origin: str | None = None  # a model or helper the value comes from, for messages


def value_kind(ctx, expr: cst.BaseExpression) -> str | None:
    """"probability", "log_probability", or None when unknown."""
    found = value_info(ctx, expr)
    return None if found is None else found.kind


def value_info(ctx, expr: cst.BaseExpression) -> Value | None:
    return _analysis(ctx).value(expr)


def module_class(ctx, expr: cst.BaseExpression) -> str | None:
    """The qualified name of the torch.nn class every possible value of `expr` (an
    object, e.g. a loss) was built from: `nn.BCELoss()`, a local or module-level
    `criterion = nn.BCELoss()`, `self.criterion` assigned in the class, also from a
    constructor default argument. None unless they all agree."""
    return _analysis(ctx).module_class(expr)


def _analysis(ctx) -> "_Analysis":
    # kept on the file's context, so that it goes with it: in a WeakKeyDictionary keyed
    # by the context, the analysis (which refers to its context) kept every file's tree
    # and index alive for the rest of the run (about 250 KB a file)
    found = getattr(ctx, "_value_analysis", None)
    if found is None:
        found = ctx._value_analysis = _Analysis(ctx)
    return found


# -- the file index ---------------------------------------------------------------------


@dataclass(eq=False)
class _Site:
    """One place that binds a name in a scope."""

    kind: str  # "assign", "unpack", "iter", "param", "def", "class", "import", "other"
    node: cst.CSTNode  # the binding statement/expression (Assign, For, Param, FunctionDef, ...)
    at: int  # pre-order position after which the binding holds
    value: object = None  # assign/unpack: the value; param: the Param; def/class: the node; import: qualname
    index: int = 0  # unpack: position in the tuple
    stmt: cst.CSTNode | None = None  # assign: the block holding the statement, for dominance


class _Index:
    def __init__(self, module: cst.Module) -> None:
        self.parent: dict = {}
        self.order: dict = {}
        self.end: dict = {}
        self.sites: dict = {}  # scope node -> name -> [_Site]
        self.globals: dict = {}  # scope node -> declared global names
        self.calls: dict[str, list[cst.Call]] = {}  # last callee name -> calls
        self.yields: list = []
        self._scope_of: dict = {}
        self.module = module
        self._build(module)

    def _build(self, module: cst.Module) -> None:
        parent, order, end = self.parent, self.order, self.end
        counter = 0
        stack: list = [(module, None, False)]
        pending_sites = []
        while stack:
            node, par, done = stack.pop()
            if done:
                end[node] = counter - 1
                continue
            order[node] = counter
            counter += 1
            parent[node] = par
            stack.append((node, par, True))
            kind = node.__class__
            if kind in _BINDING_NODES or kind is cst.Call or kind is cst.Yield:
                pending_sites.append(node)
            for child in reversed(children_of(node)):
                stack.append((child, node, False))
        for node in pending_sites:
            self._record(node)

    # -- sites ---------------------------------------------------------------------
    def scope_of(self, node) -> cst.CSTNode:
        """The scope a name used at `node` is looked up in first."""
        found = self._scope_of.get(node)
        if found is not None:
            return found
        walk = self.parent.get(node)
        child = node
        while walk is not None:
            if isinstance(walk, _SCOPE_NODES):
                # a def's name, decorators, defaults and annotations belong to the outer scope
                if isinstance(walk, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) and child is not walk.body:
                    child, walk = walk, self.parent.get(walk)
                    continue
                break
            child, walk = walk, self.parent.get(walk)
        self._scope_of[node] = walk
        return walk

    def _add(self, scope, name: str, site: _Site) -> None:
        if name in self.globals.get(scope, ()):
            scope = self.module  # `global x` then `x = ...` binds the module's x
        self.sites.setdefault(scope, {}).setdefault(name, []).append(site)

    def _targets(self, scope, target, site_for) -> None:
        if isinstance(target, cst.Name):
            self._add(scope, target.value, site_for(target, None))
        elif isinstance(target, (cst.Tuple, cst.List)):
            plain = all(isinstance(e, cst.Element) and isinstance(e.value, cst.Name) for e in target.elements)
            for position, element in enumerate(target.elements):
                if plain:
                    self._add(scope, element.value.value, site_for(element.value, position))
                else:
                    for name in _names_in(element.value):
                        self._add(scope, name, _Site("other", target, self.end[target]))
        elif isinstance(target, cst.StarredElement):
            for name in _names_in(target.value):
                self._add(scope, name, _Site("other", target, self.end[target]))

    def _record(self, node) -> None:
        kind = node.__class__
        if kind is cst.Yield:
            self.yields.append(node)
            return
        if kind is cst.Call:
            func = node.func
            last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
            if last is not None:
                self.calls.setdefault(last, []).append(node)
            return
        scope = self.scope_of(node)
        at = self.end[node]
        if kind in (cst.Assign, cst.AnnAssign):
            if kind is cst.AnnAssign and node.value is None:
                return
            targets = [t.target for t in node.targets] if kind is cst.Assign else [node.target]
            stmt = self.parent.get(node)
            if isinstance(stmt, cst.SimpleStatementLine):
                stmt = self.parent.get(stmt)  # the block the statement is in
            value = node.value

            def site_for(_target, position, value=value, node=node, at=at, stmt=stmt):
                if position is None:
                    return _Site("assign", node, at, value, stmt=stmt)
                return _Site("unpack", node, at, value, position, stmt=stmt)

            for target in targets:
                self._targets(scope, target, site_for)
        elif kind is cst.NamedExpr:
            if isinstance(node.target, cst.Name):
                while isinstance(scope, _COMPREHENSIONS):
                    scope = self.scope_of(scope)
                self._add(scope, node.target.value, _Site("assign", node, at, node.value))
        elif kind is cst.AugAssign:
            for name in _names_in(node.target):
                self._add(scope, name, _Site("other", node, at))
        elif kind in (cst.For, cst.CompFor):
            target_scope = self.scope_of(node.target) if kind is cst.CompFor else scope
            if kind is cst.For and isinstance(node.target, cst.Name):
                # `for out in outputs:` -- each element of a tensor is a slice of it; the
                # binding holds in the loop body only
                self._add(scope, node.target.value, _Site("iter", node, self.end[node.target], node.iter, stmt=node.body))
                return
            for name in _names_in(node.target):
                self._add(target_scope, name, _Site("other", node, self.end[node.target]))
        elif kind is cst.WithItem:
            if node.asname is not None:
                for name in _names_in(node.asname.name):
                    self._add(scope, name, _Site("other", node, at))
        elif kind is cst.ExceptHandler:
            if node.name is not None:
                for name in _names_in(node.name.name):
                    self._add(scope, name, _Site("other", node, self.order[node]))
        elif kind in (cst.MatchAs, cst.MatchStar):
            if node.name is not None:
                self._add(scope, node.name.value, _Site("other", node, at))
        elif kind is cst.Del:
            for name in _names_in(node.target):
                self._add(scope, name, _Site("other", node, at))
        elif kind is cst.FunctionDef:
            self._add(scope, node.name.value, _Site("def", node, at, node))
        elif kind is cst.ClassDef:
            self._add(scope, node.name.value, _Site("class", node, at, node))
        elif kind is cst.Param:
            own = self.parent.get(node)
            while own is not None and not isinstance(own, (cst.FunctionDef, cst.Lambda)):
                own = self.parent.get(own)
            if own is not None:
                self._add(own, node.name.value, _Site("param", node, -1, node))
        elif kind is cst.Global:
            for item in node.names:
                self.globals.setdefault(scope, set()).add(item.name.value)
        elif kind is cst.Nonlocal:
            for item in node.names:
                self._add(scope, item.name.value, _Site("other", node, -1))
        elif kind is cst.Import:
            for alias in node.names:
                full = dotted_name(alias.name)
                if full is None:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self._add(scope, alias.asname.name.value, _Site("import", node, at, full))
                elif alias.asname is None:
                    head = full.split(".")[0]
                    self._add(scope, head, _Site("import", node, at, head))
        elif kind is cst.ImportFrom:
            if isinstance(node.names, cst.ImportStar):
                return
            module = dotted_name(node.module) if node.module is not None else ""
            if module is None:
                return
            prefix = "." * len(node.relative) + module
            for alias in node.names:
                name = alias.name.value if isinstance(alias.name, cst.Name) else dotted_name(alias.name)
                if name is None:
                    continue
                full = f"{prefix}.{name}" if prefix and not prefix.endswith(".") else f"{prefix}{name}"
                bound = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    bound = alias.asname.name.value
                self._add(scope, bound, _Site("import", node, at, full))

    # -- positions ---------------------------------------------------------------------
    def inside(self, node, outer) -> bool:
        position = self.order.get(node)
        return position is not None and self.order[outer] <= position <= self.end[outer]


_BINDING_NODES = frozenset(
    {
        cst.Assign, cst.AnnAssign, cst.NamedExpr, cst.AugAssign, cst.For, cst.CompFor, cst.WithItem,
        cst.ExceptHandler, cst.MatchAs, cst.MatchStar, cst.Del, cst.FunctionDef, cst.ClassDef, cst.Param,
        cst.Global, cst.Nonlocal, cst.Import, cst.ImportFrom,
    }
)


def _names_in(target):
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _names_in(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _names_in(target.value)


# -- the analysis ---------------------------------------------------------------------------

_BUSY = object()
_MAX_DEPTH = 300  # nested value questions; real code needs a handful


class _Analysis:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self._index: _Index | None = None
        self._values: dict = {}
        self._returns: dict = {}
        self._forwards: dict = {}
        self._instances: dict = {}
        self._reaching: dict = {}
        self._qualnames: dict = {}
        self._attrs: dict = {}
        self._depth = 0
        self._sorted: dict = {}

    @property
    def index(self) -> _Index:
        if self._index is None:
            self._index = _Index(self.ctx.module)
        return self._index

    def code(self, node) -> str:
        text = self.ctx.code_for(node).strip()
        return text if len(text) <= 40 else text[:37] + "..."

    # -- names -----------------------------------------------------------------------
    def reaching(self, name: cst.Name) -> list[_Site] | None:
        """The binding sites whose value `name` may hold where it is used; None when
        the name cannot be resolved in this file (or is declared global/nonlocal)."""
        found = self._reaching.get(name, _BUSY)
        if found is not _BUSY:
            return found
        found = self._compute_reaching(name)
        self._reaching[name] = found
        return found

    def _compute_reaching(self, use: cst.Name) -> list[_Site] | None:
        index = self.index
        if use not in index.order:
            return None
        name = use.value
        scope = index.scope_of(use)
        first = True
        while scope is not None:
            if isinstance(scope, cst.ClassDef) and not first:
                scope = index.scope_of(scope)
                continue
            if name in index.globals.get(scope, ()):
                sites = index.sites.get(self._module(), {}).get(name)
                return list(sites) if sites else None
            sites = index.sites.get(scope, {}).get(name)
            if sites:
                if any(site.node.__class__ is cst.Nonlocal for site in sites):
                    return None
                if first and not isinstance(scope, cst.ClassDef):
                    return self._flow(use, scope, sites)
                return list(sites)  # a closure or module-level name: any binding may be seen
            first = False
            scope = index.scope_of(scope)
        return None

    def _function_of(self, node):
        walk = self.index.parent.get(node)
        while walk is not None and not isinstance(walk, (cst.FunctionDef, cst.Lambda)):
            walk = self.index.parent.get(walk)
        return walk

    def _module(self):
        return self.ctx.module

    def _flow(self, use, scope, sites: list[_Site]) -> list[_Site] | None:
        """Reaching definitions inside one scope, without a control-flow graph: walking
        the bindings before `use` backwards, a binding whose statement's block encloses
        `use` dominates it and ends the search; any other one may or may not have run.
        A loop around `use` also carries the bindings that follow `use` in it."""
        index = self.index
        position = index.order[use]
        ancestors = set()
        loops = []
        walk = index.parent.get(use)
        while walk is not None and walk is not scope:
            ancestors.add(walk)
            if isinstance(walk, (cst.For, cst.While)):
                loops.append(walk)
            walk = index.parent.get(walk)
        ancestors.add(scope)
        ordered, ats = self._ordered(scope, use.value, sites)
        found: list[_Site] = []
        dominating = None
        for at_index in range(bisect.bisect_left(ats, position) - 1, -1, -1):
            site = ordered[at_index]
            found.append(site)
            if site.kind == "param" or (site.stmt is not None and site.stmt in ancestors):
                dominating = site
                break
        for loop in loops:
            if dominating is not None and index.inside(dominating.node, loop):
                continue
            end = index.end[loop]
            found.extend(ordered[bisect.bisect_right(ats, position) : bisect.bisect_right(ats, end)])
        return found or None

    def _ordered(self, scope, name: str, sites: list[_Site]):
        """The sites of a name in a scope sorted by where they take effect (once)."""
        key = (scope, name)
        found = self._sorted.get(key)
        if found is None:
            ordered = sorted(sites, key=lambda s: s.at)
            found = self._sorted[key] = (ordered, [site.at for site in ordered])
        return found

    # -- qualified names -----------------------------------------------------------------
    def qualname(self, expr) -> str | None:
        if isinstance(expr, cst.Attribute):
            head = self.qualname(expr.value)
            return None if head is None else canonical(f"{head}.{expr.attr.value}")
        if not isinstance(expr, cst.Name):
            return None
        found = self._qualnames.get(expr, _BUSY)
        if found is not _BUSY:
            return found
        self._qualnames[expr] = None  # cycles resolve to nothing
        sites = self.reaching(expr)
        if sites is None:
            result = None
            if expr in self.index.order and expr.value in BUILTIN_NAMES:
                result = f"builtins.{expr.value}"
        else:
            names = set()
            for site in sites:
                if site.kind == "import":
                    names.add(canonical(site.value))
                elif site.kind == "assign" and isinstance(site.value, (cst.Name, cst.Attribute)):
                    names.add(self.qualname(site.value))
                else:
                    names.add(None)
            result = names.pop() if len(names) == 1 else None
        self._qualnames[expr] = result
        return result

    def local_def(self, expr):
        """The FunctionDef/ClassDef of this file that the name `expr` is bound to, if only that."""
        if not isinstance(expr, cst.Name):
            return None
        sites = self.reaching(expr)
        if not sites or len({id(site.value) for site in sites}) != 1 or sites[0].kind not in ("def", "class"):
            return None
        return sites[0].value

    # -- values --------------------------------------------------------------------------
    def value(self, expr) -> Value | None:
        found = self._values.get(expr, _BUSY)
        if found is not _BUSY:
            return found
        if self._depth >= _MAX_DEPTH:
            return None  # too deep to follow (not memoised: a shallower query may get further)
        self._values[expr] = None  # a cycle knows nothing
        self._depth += 1
        try:
            result = self._value(expr)
        finally:
            self._depth -= 1
        self._values[expr] = result
        return result

    def _value(self, expr) -> Value | None:
        if isinstance(expr, cst.Call):
            return self._call_value(expr)
        if isinstance(expr, cst.Name):
            sites = self.reaching(expr)
            if not sites:
                return None
            return _merge([self._site_value(site) for site in sites], keep_direct=False)
        if isinstance(expr, cst.Subscript):
            element = _integer_subscript(expr)
            if element is not None:
                tupled = self._element(expr.value, element)
                if tupled is not False:
                    return tupled
            if self._tuple_producer(expr.value):
                return None
            found = self.value(expr.value)
            return None if found is None else replace(found, direct=None, form=None)
        if isinstance(expr, cst.Attribute):
            if expr.attr.value == "values":
                found = self._element(expr.value, 0)
                return None if found is False else found
            return None
        if isinstance(expr, cst.IfExp):
            return _merge([self.value(expr.body), self.value(expr.orelse)], keep_direct=False)
        return None

    def _site_value(self, site: _Site) -> Value | None:
        if site.kind == "assign":
            found = self.value(site.value)
            return None if found is None else replace(found, direct=None, form=None)
        if site.kind == "unpack":
            found = self._element(site.value, site.index)
            return None if found is False else found
        if site.kind == "iter":
            found = self.value(site.value)  # a probability tensor's rows are probabilities
            return None if found is None else replace(found, direct=None, form=None)
        return None

    def _tuple_producer(self, expr) -> cst.BaseExpression | None:
        """The tensor whose values `expr` (a `.topk(...)`-style call, or a name bound to
        one) returns as the first element of a (values, indices) pair."""
        if isinstance(expr, cst.Call):
            func = expr.func
            qualname = self.qualname(func)
            if qualname is not None:
                if qualname.startswith("torch.") and qualname[len("torch."):] in _TUPLE_METHODS:
                    arg = call_argument(expr, 0, "input")
                    if isinstance(arg, cst.Arg) and _tuple_arguments(qualname.rsplit(".", 1)[1], expr, 1):
                        return arg.value
                return None
            if isinstance(func, cst.Attribute) and func.attr.value in _TUPLE_METHODS:
                if _tuple_arguments(func.attr.value, expr, 0):
                    return func.value
        return None

    def _element(self, expr, position: int):
        """Element `position` of a tuple-valued expression: a Value or None, or False when
        `expr` is not known to be a tuple at all."""
        if isinstance(expr, cst.Name):
            sites = self.reaching(expr)
            if not sites or not all(site.kind == "assign" for site in sites):
                return False
            found = [self._element(site.value, position) for site in sites]
            if any(f is False for f in found):
                return False
            return _merge(found, keep_direct=False)
        if isinstance(expr, cst.Tuple) and position < len(expr.elements):
            element = expr.elements[position]
            if isinstance(element, cst.StarredElement) or any(isinstance(e, cst.StarredElement) for e in expr.elements):
                return None
            return self.value(element.value)
        if isinstance(expr, cst.Call):
            returned = self._call_element(expr, position)
            if returned is not False:
                return returned
        source = self._tuple_producer(expr)
        if source is None:
            return False
        if position != 0:
            return None
        found = self.value(source)
        return None if found is None else replace(found, direct=None, form=None)

    def _call_element(self, call: cst.Call, position: int):
        """Element `position` of what a helper of this file or a module class's
        `forward` returns as a tuple (`return validity, labels`); False when the callee
        is not such a function."""
        func = call.func
        target = self.local_def(func)
        if target is None and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            cls = self._self_class(func.value)
            if cls is not None:
                target = self.ctx.modules.methods(cls).get(func.attr.value)
        if isinstance(target, cst.FunctionDef):
            return self.returned_element(target, position)
        if target is not None:
            return False
        instances = self.instances(func)
        if not instances or any(instance[0] != "class" for instance in instances):
            return False
        found = []
        for instance in instances:
            forward = self.ctx.modules.forward(instance[1])
            if forward is None:
                return None
            element = self.returned_element(forward, position)
            if element is not None and element is not False:
                origin = f"`{instance[1].name.value}.forward`"
                if element.origin:
                    origin += f", which returns {element.origin}"
                element = replace(element, origin=origin)
            found.append(element)
        if any(f is False for f in found):
            return None
        return _merge(found, keep_direct=False)

    def returned_element(self, func: cst.FunctionDef, position: int):
        key = (func, position)
        found = self._returns.get(key, _BUSY)
        if found is not _BUSY:
            return found
        self._returns[key] = None
        has_yield = any(self.index.inside(y, func) and self._function_of(y) is func for y in self.index.yields)
        values = []
        for statement in _returns_of(func, has_yield):
            if statement is None or statement.value is None:
                values = [None]
                break
            element = self._element(statement.value, position)
            values.append(None if element is False else element)
        result = _merge(values, keep_direct=False) if values else None
        self._returns[key] = result
        return result

    def _call_value(self, call: cst.Call) -> Value | None:
        func = call.func
        qualname = self.qualname(func)
        if qualname is not None:
            known = _FUNCTIONS.get(qualname)
            if known is not None:
                return Value(known[0], known[1], call, "function")
            if qualname in ("torch.exp", "torch.log"):
                arg = call_argument(call, 0, "input")
                if isinstance(arg, cst.Arg) and len(call.args) == 1:
                    return self._exp_log(qualname.rsplit(".", 1)[1], arg.value)
                return None
            if qualname == "torch.nn.parallel.data_parallel":
                module = call_argument(call, 0, "module")
                return self._instances_output(module.value) if isinstance(module, cst.Arg) else None
            if qualname.startswith("torch."):
                return None
        if isinstance(func, cst.Attribute) and qualname is None:
            method = func.attr.value
            receiver = func.value
            if method in _METHODS:
                if self._tensor_method_shape(call, method, receiver):
                    kind, activation = _METHODS[method]
                    return Value(kind, activation, call, "method")
            elif method in ("exp", "log") and not call.args:
                return self._exp_log(method, receiver)
            elif method in _KEEPING_METHODS:
                found = self.value(receiver)
                return None if found is None else replace(found, direct=None, form=None)
            elif method == "forward":
                return self._instances_output(receiver)
        # a call of an object: a module instance, a helper function of this file,
        # or something the project knows
        target = self.local_def(func)
        if target is None and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            cls = self._self_class(func.value)
            if cls is not None:
                target = self.ctx.modules.methods(cls).get(func.attr.value)  # `self.helper(x)`
        if isinstance(target, cst.FunctionDef):
            found = self.function_returns(target)
            return None if found is None else replace(found, direct=None, form=None)
        if target is None and qualname is not None and not qualname.startswith("builtins."):
            said = self.ctx.project.function_returns(qualname)
            if said in (PROBABILITY, LOG_PROBABILITY):
                return Value(said, None, origin=f"`{qualname.rsplit('.', 1)[-1]}()`")
        found = self._instances_output(func)
        if found is not None and found.direct is None and found.form == "module":
            return replace(found, direct=call)
        return found

    def _exp_log(self, which: str, operand) -> Value | None:
        inner = self.value(operand)
        if inner is None:
            return None
        if which == "exp" and inner.kind == LOG_PROBABILITY:
            return Value(PROBABILITY, inner.activation, origin=inner.origin)
        if which == "log" and inner.kind == PROBABILITY:
            return Value(LOG_PROBABILITY, inner.activation, origin=inner.origin)
        return None

    def _tensor_method_shape(self, call: cst.Call, method: str, receiver) -> bool:
        """`x.sigmoid()` takes no argument; `x.softmax(dim)` takes a dim (an integer
        literal or `dim=`); a receiver that is `self` is some other object's method."""
        if isinstance(receiver, cst.Name) and self._self_class(receiver) is not None:
            return False
        tensor = self._tensor_kind_here(call, receiver)
        if tensor is Ternary.NO:
            return False
        if method == "sigmoid":
            return not call.args
        if tensor is Ternary.YES and len(call.args) <= 2:
            return True
        dim = call_argument(call, 0, "dim")
        if not isinstance(dim, cst.Arg) or len(call.args) > 2:
            return False
        if dim.keyword is not None:
            return True
        value = dim.value
        if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
            value = value.expression
        return isinstance(value, cst.Integer)

    def _tensor_kind_here(self, call, receiver) -> Ternary:
        """The traversal's tensor inference, only trusted for nodes of the function (or
        module body) being traversed now: it reads the bindings seen so far."""
        stack = self.ctx.scopes.stack
        if not stack or self.index.scope_of(call) is not stack[-1].node:
            return Ternary.UNKNOWN
        return self.ctx.tensor_kind(receiver)

    # -- helper functions ----------------------------------------------------------------
    def function_returns(self, func: cst.FunctionDef) -> Value | None:
        found = self._returns.get(func, _BUSY)
        if found is not _BUSY:
            return found
        self._returns[func] = None
        values = []
        has_yield = any(self.index.inside(y, func) and self._function_of(y) is func for y in self.index.yields)
        for statement in _returns_of(func, has_yield):
            if statement is None or statement.value is None:
                values = [None]
                break
            values.append(self.value(statement.value))
        result = _merge(values, keep_direct=False) if values else None
        if result is not None and result.origin is None:
            result = replace(result, origin=f"`{func.name.value}()`")
        self._returns[func] = result
        return result

    # -- module instances ----------------------------------------------------------------
    def _instances_output(self, expr) -> Value | None:
        """What calling the object `expr` returns, when every object it may be is a
        module whose output kind is known."""
        instances = self.instances(expr)
        if not instances:
            return None
        values = [self.forward_output(instance) for instance in instances]
        return _merge(values, keep_direct=False)

    def instances(self, expr) -> list | None:
        """Every object `expr` may be, as ("torch", qualname, call), ("class", ClassDef)
        or ("project", qualname); None when any of them is unknown."""
        found = self._instances.get(expr, _BUSY)
        if found is not _BUSY:
            return found
        if self._depth >= _MAX_DEPTH:
            return None
        self._instances[expr] = None
        self._depth += 1
        try:
            result = self._compute_instances(expr)
        finally:
            self._depth -= 1
        self._instances[expr] = result
        return result

    def _compute_instances(self, expr) -> list | None:
        if isinstance(expr, cst.Call):
            func = expr.func
            target = self.local_def(func)
            if isinstance(target, cst.ClassDef):
                return [("class", target)]
            if target is not None:
                return None
            qualname = self.qualname(func)
            if qualname is not None:
                if qualname in _WRAPPERS:
                    arg = call_argument(expr, 0, "module" if "compile" not in qualname else "model")
                    return self.instances(arg.value) if isinstance(arg, cst.Arg) else None
                if qualname.startswith("torch.nn.") and qualname.count(".") == 2:
                    return [("torch", qualname, expr)]
                if qualname.startswith(("torch.", "builtins.")):
                    return None
                return [("project", qualname)]
            if isinstance(func, cst.Attribute) and func.attr.value in _SELF_RETURNING_MODULE_METHODS:
                return self.instances(func.value)
            return None
        if isinstance(expr, cst.Name):
            cls = self._self_class(expr)
            if cls is not None:
                return [("class", cls)] if self.ctx.modules.is_module_class(cls) else None
            sites = self.reaching(expr)
            if not sites:
                return None
            found = []
            for site in sites:
                if site.kind == "assign":
                    more = self.instances(site.value)
                elif site.kind == "param":
                    more = self._param_default_instances(site.node)
                else:
                    more = None
                if more is None:
                    return None
                found.extend(more)
            return found
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            cls = self._self_class(expr.value)
            if cls is None:
                return None
            values = self._class_attrs(cls).get(expr.attr.value)
            if not values:
                return None
            found = []
            for value in values:
                more = None if value is None else self.instances(value)
                if more is None:
                    return None
                found.extend(more)
            return found
        return None

    def _class_attrs(self, cls: cst.ClassDef) -> dict:
        found = self._attrs.get(cls)
        if found is None:
            from tensorlint.semantics.dataflow import self_attribute_values

            found = self._attrs[cls] = self_attribute_values(self.ctx, cls)
        return found

    def _self_class(self, name: cst.Name) -> cst.ClassDef | None:
        """The class when `name` is the instance parameter of the method it is used in."""
        sites = self.reaching(name)
        if not sites or len(sites) != 1 or sites[0].kind != "param":
            return None
        param = sites[0].node
        func = self.index.parent.get(self.index.parent.get(param))
        if not isinstance(func, cst.FunctionDef):
            return None
        from tensorlint.semantics.modules import self_parameter

        if self_parameter(func) != name.value:
            return None
        body = self.index.parent.get(func)
        cls = self.index.parent.get(body)
        return cls if isinstance(cls, cst.ClassDef) else None

    def _param_default_instances(self, param: cst.Param) -> list | None:
        """A parameter's default, when no call of its function in this file passes it."""
        key = ("param", param)
        found = self._instances.get(key, _BUSY)
        if found is _BUSY:
            self._instances[key] = None
            found = self._instances[key] = self._compute_param_default(param)
        return found

    def _compute_param_default(self, param: cst.Param) -> list | None:
        if param.default is None or param.star:
            return None
        index = self.index
        params_node = index.parent.get(param)
        func = index.parent.get(params_node)
        if not isinstance(func, cst.FunctionDef) or param not in params_node.params:
            return None
        position = list(params_node.params).index(param)
        name = func.name.value
        body = index.parent.get(func)
        cls = index.parent.get(body) if isinstance(body, cst.IndentedBlock) else None
        if isinstance(cls, cst.ClassDef):
            from tensorlint.semantics.modules import self_parameter

            if self_parameter(func) is not None:
                position -= 1
            if name == "__init__":
                name = cls.name.value
        if position < 0:
            return None
        for call in index.calls.get(name, ()):
            passed = call_argument(call, position, param.name.value)
            if passed is not None:
                return None  # passed (or maybe passed through *args) somewhere
            if any(arg.star == "**" for arg in call.args):
                return None
        return self.instances(param.default)

    def forward_output(self, instance) -> Value | None:
        key = instance[1] if instance[0] == "class" else instance
        found = self._forwards.get(key, _BUSY)
        if found is not _BUSY:
            return found
        self._forwards[key] = None
        result = self._forward_output(instance)
        self._forwards[key] = result
        return result

    def _forward_output(self, instance) -> Value | None:
        if instance[0] == "torch":
            _, qualname, call = instance
            known = _MODULES.get(qualname)
            if known is not None:
                return Value(known[0], known[1], None, "module")
            if qualname == "torch.nn.Sequential":
                last = _last_layer(call, self)
                if last is None:
                    return None
                instances = self.instances(last)
                if not instances:
                    return None
                found = _merge([self.forward_output(i) for i in instances], keep_direct=False)
                if found is None:
                    return None
                return replace(found, form=None, origin=found.origin or f"an `nn.Sequential` ending in `{self.code(last)}`")
            return None
        if instance[0] == "project":
            said = self.ctx.project.forward_returns(instance[1])
            if said in (PROBABILITY, LOG_PROBABILITY):
                return Value(said, None, origin=f"`{instance[1].rsplit('.', 1)[-1]}.forward`")
            return None
        cls = instance[1]
        forward = self.ctx.modules.forward(cls)
        if forward is None:
            return None
        found = self.function_returns(forward)
        if found is None:
            return None
        origin = f"`{cls.name.value}.forward`"
        if found.origin and not found.origin.startswith(f"`{forward.name.value}()"):
            origin += f", which returns {found.origin}"
        return replace(found, form=None, origin=origin)

    def module_class(self, expr) -> str | None:
        instances = self.instances(expr)
        if not instances:
            return None
        names = {instance[1] if instance[0] == "torch" else None for instance in instances}
        return names.pop() if len(names) == 1 else None


def _last_layer(call: cst.Call, analysis: _Analysis):
    """The last layer of `nn.Sequential(...)` (positional or an OrderedDict), if visible."""
    args = call.args
    if len(args) == 1 and not args[0].star and isinstance(args[0].value, cst.Call):
        inner = args[0].value
        if analysis.qualname(inner.func) in ("collections.OrderedDict", "typing.OrderedDict"):
            if len(inner.args) != 1 or inner.args[0].star:
                return None
            pairs = inner.args[0].value
            if not isinstance(pairs, (cst.List, cst.Tuple)) or not pairs.elements:
                return None
            pair = pairs.elements[-1].value
            if isinstance(pairs.elements[-1], cst.StarredElement) or not isinstance(pair, cst.Tuple) or len(pair.elements) != 2:
                return None
            return pair.elements[1].value
    if not args or any(arg.keyword is not None for arg in args):
        return None
    last = args[-1]
    if last.star == "*":
        value = last.value
        if isinstance(value, (cst.List, cst.Tuple)) and value.elements:
            element = value.elements[-1]
            return None if isinstance(element, cst.StarredElement) else element.value
        return None
    return None if last.star else last.value


def _returns_of(func: cst.FunctionDef, has_yield: bool):
    """The `return` statements of `func` (not of nested functions); a None item when
    the function can end without one or is a generator."""
    found = []
    falls_through = True

    def block(statements) -> bool:
        """Walks statements; True when the end of the block can be reached."""
        for statement in statements:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Return):
                        found.append(small)
                        return False
                    if isinstance(small, cst.Raise):
                        return False
                    if isinstance(small, cst.Expr) and isinstance(small.value, (cst.Yield, cst.Await)):
                        if isinstance(small.value, cst.Yield):
                            found.append(None)
                continue
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                continue
            if isinstance(statement, cst.With):
                if not body(statement.body):
                    return False
                continue
            if isinstance(statement, cst.If):
                ends = [body(statement.body)]
                orelse = statement.orelse
                if orelse is None:
                    ends.append(True)
                elif isinstance(orelse, cst.If):
                    ends.append(block([orelse]))
                else:
                    ends.append(body(orelse.body))
                if not any(ends):
                    return False
                continue
            for part in _suites(statement):
                body(part)
        return True

    def body(suite) -> bool:
        if isinstance(suite, cst.IndentedBlock):
            return block(suite.body)
        if isinstance(suite, cst.SimpleStatementSuite):
            return block([cst.SimpleStatementLine(body=suite.body)])
        return True

    falls_through = body(func.body)
    if falls_through:
        found.append(None)
    if has_yield:
        found.append(None)
    return found


def _suites(statement):
    for name in ("body", "orelse", "finalbody"):
        part = getattr(statement, name, None)
        if part is None:
            continue
        if isinstance(part, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            yield part
        elif hasattr(part, "body"):
            yield part.body
    for handler in getattr(statement, "handlers", ()):
        yield handler.body
    for case in getattr(statement, "cases", ()):
        yield case.body


def _merge(values, keep_direct: bool) -> Value | None:
    """One Value when every possibility is the same kind; activation kept when they agree."""
    if not values or any(v is None for v in values):
        return None
    kinds = {v.kind for v in values}
    if len(kinds) != 1:
        return None
    activations = {v.activation for v in values}
    origins = {v.origin for v in values}
    first = values[0]
    return Value(
        first.kind,
        activations.pop() if len(activations) == 1 else None,
        first.direct if keep_direct and len(values) == 1 else None,
        first.form if len(values) == 1 else None,
        origins.pop() if len(origins) == 1 else None,
    )


def _integer_subscript(node: cst.Subscript) -> int | None:
    if len(node.slice) != 1:
        return None
    inner = node.slice[0].slice
    if isinstance(inner, cst.Index) and isinstance(inner.value, cst.Integer):
        try:
            return int(inner.value.value, 0)
        except ValueError:
            return None
    return None


def _tuple_arguments(method: str, call: cst.Call, offset: int) -> bool:
    """Whether `.max(...)`/`.min(...)` is the (values, indices) form: a dim is passed
    (an integer literal or `dim=`), not another tensor. `topk`/`sort`/... always are."""
    if method not in ("max", "min"):
        return True
    dim = call_argument(call, offset, "dim")
    if dim is None or dim is UNKNOWN:
        return False
    if dim.keyword is not None:
        return dim.keyword.value == "dim"
    value = dim.value
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
        value = value.expression
    return isinstance(value, cst.Integer)
