"""A cheap within-file call graph, recorded during the single traversal.

It costs nothing unless a rule asks for it: `ctx.calls.require()` (from a rule's
`__init__`) adds the recorder to the trackers. It then notes every call of a plain
name (`evaluate(model, loader)`) or of a method on the instance (`self.evaluate()`),
with the dotted names passed as arguments (`f(model.to(device))` passes `model`), at
a `Point` of the grad-mode tracker.
Calls are resolved when asked, typically from a rule's `leave_Module`, once every
function of the file has been seen:
- which sites call a function (`callers_of`), and which argument name a parameter
  receives at a site (`argument_for`);
- the mode a model is provably in at a point, counting the mode events before it
  and the calls it was handed to (`mode_at`);
- whether a helper leaves a parameter in eval mode (`leaves_eval`) or may put it
  back into training mode (`may_train`).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from tensorlint.semantics.grad_mode import (
    MAY_EVAL_KINDS,
    MAY_TRAIN_KINDS,
    Frame,
    GradModeTracker,
    Point,
    _shares_loop,
    chain_root,
    related_names,
)
from tensorlint.semantics.scopes import dotted_name

# Callees that are known not to change a module's mode.
_MODE_NEUTRAL_BUILTINS = frozenset(
    {"print", "len", "isinstance", "id", "type", "str", "repr", "hasattr", "getattr", "callable", "vars", "dir"}
)
_MAX_DEPTH = 4


@dataclass(frozen=True, eq=False)
class CallSite:
    node: cst.Call
    point: Point
    callee: object  # "name" for f(...), (ClassDef, "name") for self.name(...), None otherwise
    positional: tuple  # dotted name (or None) of each positional argument
    keywords: tuple  # (keyword, dotted name or None)
    starred: bool

    def passes(self, name: str) -> bool:
        return any(a is not None and related_names(a, name) for a in self.positional) or any(
            v is not None and related_names(v, name) for _, v in self.keywords
        )


class CallGraph:
    node_types = frozenset({cst.Call})  # the engine calls enter/leave only for these
    def __init__(self, grad: GradModeTracker, trackers: list, names=None, project=None) -> None:
        self._grad = grad
        self._trackers = trackers
        self._names = names
        self._project = project  # callees in other files (semantics/project.py)
        self._on = False
        self.sites: dict[Frame, list[CallSite]] = {}
        self._by_callee: dict | None = None
        self._leaves_memo: dict = {}
        self._train_memo: dict = {}

    def require(self) -> None:
        """Start recording; call from a rule's __init__ (before the traversal)."""
        if not self._on:
            self._on = True
            self._trackers.append(self)

    # -- recording ---------------------------------------------------------------------
    def enter(self, node: cst.CSTNode) -> None:
        if type(node) is not cst.Call:
            return
        frame = self._grad.frame
        if frame is None:
            return
        func = node.func
        callee = None
        if type(func) is cst.Name:
            callee = func.value
        elif type(func) is cst.Attribute and type(func.value) is cst.Name and frame.cls is not None:
            if func.value.value == frame.self_name:
                callee = (frame.cls, func.attr.value)
        positional = []
        keywords = []
        starred = False
        any_name = False
        for arg in node.args:
            if arg.star:
                starred = True
                continue
            value = chain_root(arg.value)  # `f(model.to(device))` passes `model`
            name = dotted_name(value) if type(value) in (cst.Name, cst.Attribute) else None
            if name is not None:
                any_name = True
            if arg.keyword is None:
                positional.append(name)
            else:
                keywords.append((arg.keyword.value, name))
        if callee is None and not any_name:
            return
        site = CallSite(node, self._grad.point(), callee, tuple(positional), tuple(keywords), starred)
        self.sites.setdefault(frame, []).append(site)

    def leave(self, node: cst.CSTNode) -> None:
        pass

    # -- resolution ----------------------------------------------------------------------
    def targets(self, site: CallSite) -> list[Frame]:
        """The functions of this file a site calls (empty when unknown)."""
        callee = site.callee
        if callee is None:
            return []
        if isinstance(callee, str):
            frame = site.point.frame
            while frame is not None and frame.parent is not None:
                bindings = frame.scope.bindings.get(callee) if frame.scope is not None else None
                if bindings:
                    # a function nested in an enclosing function (`_eval_epoch` in `main`),
                    # or a local name that shadows the module's function
                    if len(bindings) == 1 and bindings[0].kind == "def" and bindings[0].node in self._grad.frames:
                        return [self._grad.frames[bindings[0].node]]
                    return []
                frame = frame.parent
            return self._grad.function_frames(callee)
        return self._grad.function_frames(callee)

    def callers_of(self, frame: Frame) -> list[CallSite]:
        if self._by_callee is None:
            index: dict = {}
            for sites in self.sites.values():
                for site in sites:
                    if site.callee is not None:
                        index.setdefault(site.callee if isinstance(site.callee, str) else site.callee, []).append(site)
            self._by_callee = index
        node = frame.node
        if not isinstance(node, cst.FunctionDef):
            return []
        key = (frame.cls, node.name.value) if frame.cls is not None else node.name.value
        return [s for s in self._by_callee.get(key, ()) if frame in self.targets(s)]

    def argument_for(self, site: CallSite, callee: Frame, param: str) -> str | None:
        """The dotted name the caller passes for `param`, or None if not a name/unknown."""
        node = callee.node
        if not isinstance(node, cst.FunctionDef) or site.starred:
            return None
        params = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        if isinstance(site.callee, tuple) and callee.self_name is not None:
            params = params[1:]
        for keyword, name in site.keywords:
            if keyword == param:
                return name
        if param in params:
            position = params.index(param)
            if position < len(site.positional):
                return site.positional[position]
        return None

    def parameter_for(self, site: CallSite, callee: Frame, name: str) -> str | None:
        """The callee's parameter that receives the caller's `name`, if any."""
        node = callee.node
        if not isinstance(node, cst.FunctionDef) or site.starred:
            return None
        params = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        kwonly = {p.name.value for p in node.params.kwonly_params}
        if isinstance(site.callee, tuple) and callee.self_name is not None:
            params = params[1:]
        for position, arg in enumerate(site.positional):
            if arg == name and position < len(params):
                return params[position]
        for keyword, arg in site.keywords:
            if arg == name and (keyword in params or keyword in kwonly):
                return keyword
        return None

    # -- mode questions --------------------------------------------------------------------
    def mode_at(self, name: str, point: Point, initial: str | None) -> str | None:
        """The mode ("train"/"eval") `name` is provably in at `point`, or None.

        `initial` is its mode at the start of the function (from how it was bound).
        The actions that may change the mode are its mode events and the calls it is
        handed to: a few builtins and same-file functions that leave the mode alone
        change nothing, same-file functions that leave it in train or eval mode set it,
        anything else makes it unknown. The last action before the point decides, if
        its block encloses the point; an action later in a loop around the point only
        matters if that last action does not run again before the point in each
        iteration.
        """
        frame = point.frame
        actions = []  # (index, point, mode or None)
        for event in frame.events_for(name):
            covers = event.name == name or name.startswith(event.name + ".")
            mode = event.kind if covers and event.kind in ("train", "eval") else None
            actions.append((event.point.index, event.point, mode))
        prefix = _self_prefix(frame)
        for site in self.sites.get(frame, ()):
            if site.point.index == point.index:
                continue
            if site.passes(name):
                effect = self._effect(site, name)
            elif isinstance(site.callee, tuple) and name.startswith(prefix):
                effect = self._self_method_effect(site, frame, name)
            else:
                continue
            if effect != "neutral":
                actions.append((site.point.index, site.point, effect))
        actions.sort(key=lambda a: a[0])
        before = [a for a in actions if a[0] < point.index]
        later = [a for a in actions if a[0] > point.index and _shares_loop(a[1], point)]
        if not before:
            return initial if not later else None
        _, where, mode = before[-1]
        if mode is None or not where.inside(point):
            return None
        for _, other, _ in later:
            shared = [loop for loop in point.loops if loop in other.loops]
            if not all(loop in where.loops for loop in shared):
                return None
        return mode

    def _effect(self, site: CallSite, name: str) -> str | None:
        """What handing `name` to this call does to its mode: "neutral", "train",
        "eval", or None (unknown)."""
        if self.mode_neutral(site, name):
            return "neutral"
        targets = self.targets(site)
        if not targets:
            return self.external_effect(site, name)
        modes = set()
        for target in targets:
            inner = self.inner_name(site, target, site.point.frame, name)
            modes.add(self.leaves_mode(target, inner) if inner is not None else None)
        if len(modes) == 1:
            return modes.pop()
        return None

    def _self_method_effect(self, site: CallSite, frame: Frame, name: str) -> str | None:
        """What `self.method()` does to `self.model`: its own summary; calling an
        attribute (`self.model(x)`) changes nothing; an unknown method, unknown."""
        targets = self.targets(site)
        if not targets:
            if self._grad.is_instance_attribute(site.callee[0], site.callee[1]):
                return "neutral"
            return None
        modes = set()
        for target in targets:
            inner = self.inner_name(site, target, frame, name)
            if inner is None:
                return None
            mode = self.leaves_mode(target, inner)
            if mode is None and not self.may_train(target, inner) and not self._may_eval(target, inner):
                mode = "neutral"
            modes.add(mode)
        return modes.pop() if len(modes) == 1 else None

    def last_action(self, name: str, point: Point):
        """The mode event or call that last set `name`'s mode before `point` in its
        function, for messages: a ModeEvent, a CallSite, or None."""
        frame = point.frame
        best = None
        for event in frame.events_for(name):
            if event.point.index < point.index and (best is None or event.point.index > best[0]):
                best = (event.point.index, event)
        for site in self.sites.get(frame, ()):
            if site.point.index < point.index and site.passes(name) and (best is None or site.point.index > best[0]):
                if self._effect(site, name) not in ("neutral", None):
                    best = (site.point.index, site)
        return best[1] if best else None

    def argument_key(self, site: CallSite, name: str) -> int | str | None:
        """The position or keyword at which the site passes `name` itself."""
        for position, arg in enumerate(site.positional):
            if arg == name:
                return position
        for keyword, arg in site.keywords:
            if arg == name:
                return keyword
        return None

    def project_effect(self, site: CallSite, name: str) -> dict | None:
        """The project index's summary of what a callee of another file (or one this
        file's call graph does not see) does to the argument `name`."""
        if self._project is None or self._names is None or site.starred:
            return None
        key = self.argument_key(site, name)
        if key is None:
            return None
        func = site.node.func
        if type(func) is cst.Name and isinstance(site.callee, str):
            frame = site.point.frame
            if frame.parent is not None and frame.scope is not None and func.value in frame.scope.bindings:
                return None  # a local callable
        qualname = self._names.qualified_name(func)
        if qualname is None:
            return None
        return self._project.param_effect(qualname, key)

    def external_effect(self, site: CallSite, name: str) -> str | None:
        """What a call whose code this file's graph does not have does to `name`: the
        project summary if the callee is in the project, else "neutral" unless the
        callee's name says it may run or switch the model (`evaluate`, `fit`)."""
        if not site.passes(name):
            return None
        summary = self.project_effect(site, name)
        if summary is not None:
            return summary["mode"]
        func = site.node.func
        text = (self._names.qualified_name(func) if self._names is not None else None) or dotted_name(func)
        if text is None:
            return None
        from tensorlint.semantics.project import ProjectIndex

        return ProjectIndex.external_effect(text)

    def leaves_mode(self, frame: Frame, name: str, depth: int = 0) -> str | None:
        key = (frame, name)
        if key in self._leaves_memo:
            return self._leaves_memo[key]
        self._leaves_memo[key] = None  # recursion guard: unknown
        result = self._leaves_mode(frame, name, depth)
        self._leaves_memo[key] = result
        return result

    def _leaves_mode(self, frame: Frame, name: str, depth: int) -> str | None:
        """"train"/"eval" when the function's last action on `name` (a mode event, or a
        call of a helper of this file that leaves it in a mode) is unconditional
        (only inside loops, not inside `if`/`try`) and covers all of `name`."""
        if depth > _MAX_DEPTH:
            return None
        last = None  # (index, point, mode) of the last action so far
        for event in frame.events_for(name):  # in source order
            covers = event.name == name or name.startswith(event.name + ".")
            last = (event.point.index, event.point, event.kind if covers and event.kind in ("train", "eval") else None)
        for site in self.sites.get(frame, ()):
            if last is not None and site.point.index < last[0]:
                continue
            via_self = isinstance(site.callee, tuple) and name.startswith(_self_prefix(frame))
            if not (site.passes(name) or via_self or self._global_call(site, frame, name)):
                continue
            targets = self.targets(site)
            if not targets:
                if site.passes(name) and not self.mode_neutral(site, name):
                    effect = self.external_effect(site, name)
                    if effect != "neutral":
                        covers = self.argument_key(site, name) is not None
                        last = (site.point.index, site.point, effect if covers else None)
                continue
            modes = set()
            for target in targets:
                inner = self.inner_name(site, target, frame, name)
                if inner is None:
                    modes.add(None)
                    continue
                mode = self.leaves_mode(target, inner, depth + 1)
                if mode is None and (self.may_train(target, inner, depth + 1) or self._may_eval(target, inner)):
                    modes.add(None)  # changes the mode, but not provably to one of them
                elif mode is not None:
                    modes.add(mode)
            if modes:
                last = (site.point.index, site.point, modes.pop() if len(modes) == 1 else None)
        if last is None or last[2] is None:
            return None
        point = last[1]
        loop_bodies = {loop.body for loop in point.loops}
        if any(block is not frame.node.body and block not in loop_bodies for block in point.blocks):
            return None  # conditional
        return last[2]

    def _may_eval(self, frame: Frame, name: str) -> bool:
        return any(e.kind in MAY_EVAL_KINDS for e in frame.events_for(name))

    def mode_neutral(self, site: CallSite, name: str, depth: int = 0) -> bool:
        if isinstance(site.callee, str) and site.callee in _MODE_NEUTRAL_BUILTINS and not self.targets(site):
            caller = site.point.frame
            if caller.scope is None or site.callee not in caller.scope.bindings:
                return True
        frames = self.targets(site)
        if not frames:
            return site.passes(name) and self.external_effect(site, name) == "neutral"
        if depth >= _MAX_DEPTH:
            return False
        for frame in frames:
            param = self.parameter_for(site, frame, name)
            if param is None:
                return False
            if frame.events_for(param):
                return False
            for inner in self.sites.get(frame, ()):
                if inner.passes(param) and not self.mode_neutral(inner, param, depth + 1):
                    return False
        return True

    def leaves_eval(self, frame: Frame, name: str, depth: int = 0) -> bool:
        """The function puts `name` (a parameter or `self.x`) into eval mode and does not
        switch it back before returning (also through helpers it calls)."""
        return self.leaves_mode(frame, name, depth) == "eval"

    def _global_call(self, site: CallSite, frame: Frame, name: str) -> bool:
        """A call of a same-file function that sees `name` as the same global."""
        return any(self.shares_global(frame, target, name) for target in self.targets(site))

    def may_train(self, frame: Frame, name: str, depth: int = 0) -> bool:
        """The function might put `name` into training mode (unknown callees count)."""
        key = (frame, name)
        if key in self._train_memo:
            return self._train_memo[key]
        self._train_memo[key] = True  # recursion guard: assume it might
        result = self._may_train(frame, name, depth)
        self._train_memo[key] = result
        return result

    def _may_train(self, frame: Frame, name: str, depth: int) -> bool:
        if depth > _MAX_DEPTH:
            return True
        if any(e.kind in MAY_TRAIN_KINDS for e in frame.events_for(name)):
            return True
        for site in self.sites.get(frame, ()):
            via_self = isinstance(site.callee, tuple) and name.startswith(_self_prefix(frame))
            if not (site.passes(name) or via_self or self._global_call(site, frame, name)):
                continue
            targets = self.targets(site)
            if not targets:
                if via_self and not site.passes(name):
                    if self._grad.is_instance_attribute(site.callee[0], site.callee[1]):
                        continue  # `self.model(x)`: calls an attribute, not a method
                    return True  # an inherited or unknown method of self
                if not self.mode_neutral(site, name) and self.external_effect(site, name) != "neutral":
                    if self.external_effect(site, name) != "eval":
                        return True
                continue
            for target in targets:
                inner = self.inner_name(site, target, frame, name)
                if inner is None or self.may_train(target, inner, depth + 1):
                    return True
        return False

    def inner_name(self, site: CallSite, target: Frame, frame: Frame, name: str) -> str | None:
        """What `name` of the caller is called inside the callee: the parameter it is
        passed as, or the same `self.x` for a method of the same instance."""
        if site.passes(name):
            return self.parameter_for(site, target, name)
        prefix = _self_prefix(frame)
        target_self = target.self_name
        if prefix and target_self and name.startswith(prefix):
            return target_self + name[len(prefix) - 1 :]
        if self.shares_global(frame, target, name):
            return name
        return None

    def shares_global(self, frame: Frame, target: Frame, name: str) -> bool:
        """`name` is the same module-level variable in the caller and the callee: bound
        at module level and bound locally in neither."""
        root = name.split(".", 1)[0]
        module = self._grad.frame_of_module()
        if module is None or module.scope is None or root not in module.scope.bindings:
            return False
        for f in (frame, target):
            if f.parent is not None and (f.scope is None or root in f.scope.bindings):
                return False
        return True


def _self_prefix(frame: Frame) -> str:
    self_name = frame.self_name
    return f"{self_name}." if self_name else "\0"
