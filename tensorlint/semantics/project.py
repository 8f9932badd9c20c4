"""Layer 2 of the semantic index: the project summary.

`ProjectIndex` knows the project's files (the folder of the configuration file, plus
the package each checked file belongs to). It reads a file's facts (`facts.py`) only
when another file asks about a name it defines, resolves imports between the
project's files (absolute, relative, `src/` layouts, `__init__` re-exports), and
summarises classes and functions, following calls into other project functions up to
a depth bound, memoised per symbol:
- a class: is it an `nn.Module`, does its mode matter (dropout, batch norm, ...), what
  does its `forward` return (a probability, a log-probability);
- a function: per parameter, the mode it leaves a model in and whether it calls the
  model under `no_grad` before setting any mode; what it returns (a fresh model in
  training or eval mode, a probability, a tensor).

`ProjectView` is the index seen from one checked file: rules ask it about names as
`ctx.qualified_name()` spells them. It records every file it consulted (`deps`), so
the cache re-lints a file when one of those changes. The index never imports or runs
the project's code.
"""

from __future__ import annotations

import fnmatch
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from tensorlint.cache import content_key as _content_hash
from tensorlint.semantics.facts import FACTS_VERSION, MODE_DEPENDENT_LAYER_WORDS, extract

_MAX_DEPTH = 5
_INSTALLED = frozenset({"site-packages", "dist-packages"})
_TORCH_SOFTMAX = frozenset({"Softmax", "Sigmoid", "Softmax2d"})
_TORCH_LOGSOFTMAX = frozenset({"LogSoftmax"})


@lru_cache(maxsize=1)
def third_party() -> dict:
    data = json.loads(resources.files("tensorlint.data").joinpath("third_party_models.json").read_text("utf-8"))
    data["_callee_words"] = re.compile(data["mode_changing_callee_words"])
    data["library_packages"] = frozenset(data["library_packages"])  # never the project, whatever the layout
    return data


def _matches(qualname: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(qualname, p) for p in patterns)


def package_root(path: Path) -> tuple[Path, str]:
    """The folder on `sys.path` for `path`, and its dotted module name: climb while the
    folder is a package (has `__init__.py`)."""
    parts = [path.stem] if path.name != "__init__.py" else []
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts)


class ProjectIndex:
    """Facts and summaries of the project's files, read lazily and memoised."""

    def __init__(self, root: Path | None, facts_cache: dict | None = None, extend_module_bases=()) -> None:
        self.root = root.resolve() if root is not None else None
        self.facts_cache: dict = facts_cache if facts_cache is not None else {}  # content hash -> facts
        self.new_facts: dict = {}
        self.extend_module_bases = tuple(extend_module_bases)
        self._files: dict[Path, tuple[str, dict | None]] = {}  # path -> (hash, facts)
        self._sources: dict[Path, bytes] = {}
        self._modules: dict[tuple, Path | None] = {}
        self._memo: dict = {}  # key -> (answer, files it read)
        self._reading: list[set] = []  # files read by the computations in progress

    # -- memo with dependencies ------------------------------------------------------------
    def _hit(self, key):
        value, files = self._memo[key]
        for reading in self._reading:
            reading |= files
        return value

    def _cached(self, key, guard, compute):
        """Memoise `compute()` under `key` with the files it read; while it runs, the key
        answers `guard` (a recursion guard: unknown)."""
        self._memo[key] = (guard, set())
        self._reading.append(set())
        try:
            value = compute()
        finally:
            files = self._reading.pop()
        self._memo[key] = (value, files)
        for reading in self._reading:
            reading |= files
        return value

    def tracked(self, query, *args):
        """(answer, files read) for one query."""
        self._reading.append(set())
        try:
            value = query(*args)
        finally:
            files = self._reading.pop()
        for reading in self._reading:
            reading |= files
        return value, files

    # -- files -----------------------------------------------------------------------
    def set_source(self, path: Path, text: str) -> None:
        """The text being checked wins over the disk (stdin, unsaved editor buffers)."""
        self._sources[path] = text.encode("utf-8")
        self._files.pop((path, False), None)
        self._files.pop((path, True), None)

    def file(self, path: Path, bodies: bool = False) -> tuple[str, dict | None] | None:
        """(content hash, facts) of a file; `bodies` for the facts of every function
        body too (read only when a function's or a forward's summary is asked)."""
        for reading in self._reading:
            reading.add(path)
        key_of = (path, bodies)
        found = self._files.get(key_of)
        if found is None:
            data = self._sources.get(path)
            if data is None:
                try:
                    if not path.is_file():
                        return None  # FIFOs and devices are never read
                    data = path.read_bytes()
                except OSError:
                    return None
            key = _content_hash(data)
            cache_key = f"{key}+bodies" if bodies else key
            facts = self.facts_cache.get(cache_key)
            if not isinstance(facts, dict) or facts.get("version") != FACTS_VERSION:
                facts = None  # absent, or written by another version of the facts walk
                try:
                    facts = extract(data.decode("utf-8-sig"), bodies)
                except (UnicodeDecodeError, ValueError):
                    facts = None
                if facts is not None:
                    self.facts_cache[cache_key] = facts
                    self.new_facts[cache_key] = facts
            found = (key, facts)
            self._files[key_of] = found
        return found

    def full_facts(self, path: Path) -> dict | None:
        found = self.file(path, bodies=True)
        return found[1] if found is not None else None

    def content_hash(self, path: Path) -> str:
        """The file's content hash ("" if unreadable), without extracting facts."""
        found = self._files.get((path, False)) or self._files.get((path, True))
        if found is not None:
            return found[0]
        try:
            if not path.is_file():
                return ""  # a FIFO or device (a dependency replaced since it was recorded) would block
            return _content_hash(path.read_bytes())
        except OSError:
            return ""

    def facts(self, path: Path) -> dict | None:
        found = self.file(path)
        return found[1] if found is not None else None

    def _allowed(self, path: Path, importer: Path) -> bool:
        """Project files are under the configuration's folder, or beside the importer's
        top-level package (the folder Python would put on `sys.path` for it), unless
        that folder is an installation's `site-packages`: installed libraries are not
        the project."""
        if self.root is not None and self.root in path.parents:
            return True
        base, name = package_root(importer)
        top = name.split(".", 1)[0]
        if top and (base / top) in path.parents:
            return True
        return base in path.parents and not _INSTALLED.intersection(base.parts)

    def module_file(self, module: str, importer: Path) -> Path | None:
        """The project file defining dotted `module` as imported from `importer`
        (relative names start with dots)."""
        key = (module, importer.parent)
        if key in self._modules:
            return self._modules[key]
        found = self._find_module(module, importer)
        self._modules[key] = found
        return found

    def _find_module(self, module: str, importer: Path) -> Path | None:
        if module.startswith("."):
            level = len(module) - len(module.lstrip("."))
            folder = importer.parent
            for _ in range(level - 1):
                folder = folder.parent
            rest = module[level:]
            candidates = [folder]
        else:
            if module.split(".", 1)[0] in third_party()["library_packages"]:
                return None
            rest = module
            base, _ = package_root(importer)
            candidates = [base, importer.parent]
            if self.root is not None:
                candidates += [self.root, self.root / "src"]
        for folder in dict.fromkeys(candidates):
            target = folder.joinpath(*rest.split(".")) if rest else folder
            for path in (target.with_suffix(".py") if rest else None, target / "__init__.py"):
                if path is not None and path.is_file():
                    resolved = path.resolve()
                    if self._allowed(resolved, importer.resolve()):
                        return resolved
        return None

    def resolve(self, dotted: str, importer: Path, depth: int = 0) -> tuple[str, Path, str] | None:
        """("class"|"function"|"global", file, name) for a dotted name as written in
        `importer` after import resolution (`pkg.models.Net`, `.models.Net`)."""
        if depth > _MAX_DEPTH or not dotted:
            return None
        key = ("resolve", dotted, importer)
        if key in self._memo:
            return self._hit(key)

        def compute():
            found = None
            parts = dotted.split(".")
            lead = len(dotted) - len(dotted.lstrip("."))
            parts = dotted[lead:].split(".")
            for cut in range(len(parts) - 1, 0 if lead == 0 else -1, -1):
                module = "." * lead + ".".join(parts[:cut])
                if module.strip(".") == "" and lead == 0:
                    continue
                path = self.module_file(module, importer)
                if path is None:
                    continue
                found = self.lookup(path, parts[cut:], depth + 1)
                break
            return found

        return self._cached(key, None, compute)

    def lookup(self, path: Path, names: list[str], depth: int = 0) -> tuple[str, Path, str] | None:
        """A name defined in (or re-exported by) one project file."""
        facts = self.facts(path)
        if facts is None or depth > _MAX_DEPTH:
            return None
        name = names[0]
        if len(names) == 1:
            if name in facts["classes"]:
                return ("class", path, name)
            if name in facts["functions"]:
                return ("function", path, name)
            if name in facts["globals"]:
                return ("global", path, name)
        if len(names) == 2 and name in facts["classes"] and names[1] in facts["classes"][name]["methods"]:
            return ("function", path, f"{name}.{names[1]}")
        imported = facts["imports"].get(name)
        if imported is not None:
            return self.resolve(".".join([imported, *names[1:]]), path, depth + 1)
        return None

    def qualify(self, written: str, path: Path) -> str:
        """A dotted name as written in `path`, with its head replaced by what it imports."""
        facts = self.facts(path)
        head, _, rest = written.partition(".")
        if facts is not None and head in facts["imports"]:
            full = facts["imports"][head]
            return f"{full}.{rest}" if rest else full
        return written

    def symbol(self, written: str, path: Path) -> tuple[str, Path, str] | None:
        """Resolve a dotted name as written in `path`: a local class or function of that
        file, or an imported project name."""
        facts = self.facts(path)
        if facts is None:
            return None
        head, _, rest = written.partition(".")
        if head in facts["classes"] and not rest:
            return ("class", path, head)
        if head in facts["functions"] and not rest:
            return ("function", path, head)
        if head in facts["globals"] and not rest:
            return ("global", path, head)
        return self.resolve(self.qualify(written, path), path)

    # -- classes ---------------------------------------------------------------------
    def _class(self, path: Path, name: str) -> dict | None:
        facts = self.facts(path)
        return facts["classes"].get(name) if facts is not None else None

    def _bases(self, path: Path, name: str):
        """(resolved project base or None, qualified name as written) per base."""
        cls = self._class(path, name)
        for base in cls["bases"] if cls else ():
            yield self.symbol(base, path), self.qualify(base, path)

    def is_module_class(self, path: Path, name: str, depth: int = 0) -> bool:
        key = ("module", path, name)
        if key in self._memo:
            return self._hit(key)

        def compute():
            verdict = False
            if depth <= _MAX_DEPTH:
                for resolved, qualname in self._bases(path, name):
                    if resolved is not None and resolved[0] == "class":
                        if self.is_module_class(resolved[1], resolved[2], depth + 1):
                            verdict = True
                            break
                    elif _is_torch_module_base(qualname) or _matches(qualname, third_party()["module_bases"]):
                        verdict = True
                        break
                    elif qualname in self.extend_module_bases:
                        verdict = True
                        break
            return verdict

        return self._cached(key, False, compute)

    def is_mode_dependent(self, path: Path, name: str, depth: int = 0) -> bool:
        """Instances start in training mode and their forward depends on the mode."""
        key = ("modedep", path, name)
        if key in self._memo:
            return self._hit(key)

        def compute():
            cls = self._class(path, name)
            verdict = False
            if cls is not None and depth <= _MAX_DEPTH and self.is_module_class(path, name):
                if cls["sets_own_mode"]:
                    verdict = False
                elif cls["mode_words"]:
                    verdict = True
                else:
                    for resolved, qualname in self._bases(path, name):
                        if resolved is not None and resolved[0] == "class":
                            if self.is_mode_dependent(resolved[1], resolved[2], depth + 1):
                                verdict = True
                        elif _matches(qualname, third_party()["module_bases"]):
                            verdict = True  # pretrained-model families use dropout
                    for layer in cls["layers"].values():
                        if verdict:
                            break
                        verdict = self.builds_mode_dependent(layer["callee"], path, depth + 1)
            return verdict

        return self._cached(key, False, compute)

    def builds_mode_dependent(self, written: str, path: Path, depth: int = 0) -> bool:
        qualname = self.qualify(written, path)
        if qualname.startswith("torch.nn.") and qualname.count(".") == 2:
            return any(word in qualname for word in MODE_DEPENDENT_LAYER_WORDS)
        resolved = self.symbol(written, path)
        if resolved is not None and resolved[0] == "class":
            return self.is_mode_dependent(resolved[1], resolved[2], depth)
        return False

    def forward_returns(self, path: Path, name: str, depth: int = 0) -> str | None:
        key = ("forward", path, name)
        if key in self._memo:
            return self._hit(key)

        def compute():
            result = None
            full = self.full_facts(path)
            cls = full["classes"].get(name) if full is not None else None
            if cls is not None and depth <= _MAX_DEPTH:
                forward = cls["methods"].get("forward")
                if forward is not None:
                    kinds = {self._value_kind(spec, path, cls, forward, depth + 1) for spec in forward["returns"]}
                    result = kinds.pop() if len(kinds) == 1 else None
                else:
                    for resolved, _ in self._bases(path, name):
                        if resolved is not None and resolved[0] == "class":
                            result = self.forward_returns(resolved[1], resolved[2], depth + 1)
                            break
            return result

        return self._cached(key, None, compute)

    def _value_kind(self, spec: dict, path: Path, cls: dict | None, func: dict, depth: int) -> str | None:
        """"probability"/"log_probability"/"tensor" for a return spec, else None."""
        kind = spec.get("kind")
        if kind in ("probability", "log_probability"):
            return kind
        if kind != "call" or depth > _MAX_DEPTH:
            return None
        callee = spec["callee"]
        self_name = func.get("self")
        if cls is not None and self_name and callee.startswith(self_name + "."):
            layer = cls["layers"].get(callee[len(self_name) + 1 :])
            if layer is None:
                return None
            return self._layer_output(layer, path, depth)
        resolved = self.symbol(callee, path)
        if resolved is not None and resolved[0] == "function":
            return self.function_returns(resolved[1], resolved[2], depth + 1)
        return None

    def _layer_output(self, layer: dict, path: Path, depth: int) -> str | None:
        qualname = self.qualify(layer["callee"], path)
        last_name = qualname.rsplit(".", 1)[-1]
        if qualname.startswith("torch.nn."):
            if last_name == "Sequential" and layer["last"] is not None:
                last = self.qualify(layer["last"], path)
                if last.startswith("torch.nn."):
                    tail = last.rsplit(".", 1)[-1]
                    return "probability" if tail in _TORCH_SOFTMAX else "log_probability" if tail in _TORCH_LOGSOFTMAX else None
                return None
            if last_name in _TORCH_SOFTMAX:
                return "probability"
            if last_name in _TORCH_LOGSOFTMAX:
                return "log_probability"
            return None
        resolved = self.symbol(layer["callee"], path)
        if resolved is not None and resolved[0] == "class":
            return self.forward_returns(resolved[1], resolved[2], depth + 1)
        return None

    # -- functions --------------------------------------------------------------------
    def _function(self, path: Path, name: str) -> tuple[dict | None, dict | None]:
        """(facts of the function or method `name`, facts of its class or None)."""
        facts = self.full_facts(path)
        if facts is None:
            return None, None
        if name in facts["functions"]:
            return facts["functions"][name], None
        cls_name, _, method = name.partition(".")
        cls = facts["classes"].get(cls_name)
        if cls is not None and method in cls["methods"]:
            return cls["methods"][method], cls
        return None, None

    def function_returns(self, path: Path, name: str, depth: int = 0) -> str | None:
        """"model:train", "model:eval", "model", "probability", "log_probability",
        "tensor", or None."""
        key = ("returns", path, name)
        if key in self._memo:
            return self._hit(key)

        def compute():
            func, cls = self._function(path, name)
            result = None
            if func is not None and depth <= _MAX_DEPTH:
                annotation = func.get("annotation")
                if annotation is not None and self.qualify(annotation, path) in ("torch.Tensor", "torch.FloatTensor"):
                    result = "tensor"
                else:
                    kinds = set()
                    for spec in func["returns"]:
                        kinds.add(self._return_kind(spec, path, cls, func, depth + 1))
                    result = kinds.pop() if len(kinds) == 1 else None
            return result

        return self._cached(key, None, compute)

    def _return_kind(self, spec: dict, path: Path, cls: dict | None, func: dict, depth: int) -> str | None:
        kind = self._value_kind(spec, path, cls, func, depth)
        if kind is not None:
            return kind
        if spec.get("kind") != "call":
            return None
        mode = self.call_mode(spec["callee"], path, depth)
        if mode is None:
            return None
        if spec.get("var"):
            events = [e for e in func["events"].get(spec["var"], []) if e[2] > spec.get("since", 0)]
            mode = _apply_events(mode, events, lambda e: self._call_effect(e, path, func, depth))
        post = spec.get("post")
        if post is not None:
            mode = post if post in ("train", "eval") else None
        return f"model:{mode}" if mode in ("train", "eval") else ("model" if mode == "model" else None)

    def call_mode(self, written: str, path: Path, depth: int = 0) -> str | None:
        """The mode of the model a call of `written` (as written in `path`) returns:
        "train", "eval", "model" (a model, mode unknown), or None (not known to be a model)."""
        return self.qualified_call_mode(self.qualify(written, path), path, self.symbol(written, path), depth)

    def qualified_call_mode(self, qualname: str, path: Path, resolved=None, depth: int = 0) -> str | None:
        """`call_mode` for a fully qualified callee (`resolved`: its project symbol)."""
        tp = third_party()
        if _matches(qualname, tp["eval_mode_builders"]):
            return "eval"
        if _matches(qualname, tp["train_mode_builders"]):
            return "train"
        if qualname.startswith("torch.nn.") and qualname.count(".") == 2:
            return "train" if any(w in qualname for w in MODE_DEPENDENT_LAYER_WORDS) else None
        if resolved is None:
            if "." in qualname and _matches(qualname, tp["module_bases"]) and qualname[:1].isalpha():
                last = qualname.rsplit(".", 1)[-1]
                if last[:1].isupper():
                    return "train"  # `BertModel(config)`: built from a config, training mode
            return None
        if resolved[0] == "class":
            if self.is_mode_dependent(resolved[1], resolved[2], depth + 1):
                return "train"
            return "model" if self.is_module_class(resolved[1], resolved[2]) else None
        if resolved[0] == "function":
            returned = self.function_returns(resolved[1], resolved[2], depth + 1)
            if returned is not None and returned.startswith("model"):
                return returned.partition(":")[2] or "model"
        return None

    def param_summary(self, path: Path, name: str, param: str | int, depth: int = 0) -> dict | None:
        """What the function does to a parameter (by name or position):
        {"mode": "train"|"eval"|"neutral"|None, "infers": line or None,
         "infer_in": (file, function) where the model is called under no_grad}."""
        func, cls = self._function(path, name)
        if func is None or depth > _MAX_DEPTH:
            return None
        params = func["params"]
        if func.get("self") and params and params[0] == func["self"]:
            params = params[1:]
        if isinstance(param, int):
            if param >= len(params):
                return None
            param = params[param]
        elif param not in params:
            return None
        key = ("param", path, name, param)
        if key in self._memo:
            return self._hit(key)

        def compute():
            result = self._param_summary(path, name, func, param, depth)
            return result

        return self._cached(key, {"mode": None, "infers": None}, compute)

    def _param_summary(self, path: Path, name: str, func: dict, param: str, depth: int) -> dict:
        events = list(func["events"].get(param, []))
        # mode changes on part of the model (`model.encoder.eval()`) make it unknown
        for other, extra in func["events"].items():
            if other.startswith(param + "."):
                events += [["unknown", e[1], e[2]] for e in extra if e[0] in ("eval", "train", "unknown")]
        events.sort(key=lambda e: e[2])
        infers = None
        infer_in = None
        first = None
        trains = False
        changed = False
        last = "neutral"
        last_cond = False
        for event in events:
            kind = event[0]
            if kind == "rebind":
                break
            if kind == "infer":
                if event[3] == "off" and not changed and infers is None:
                    infers, infer_in = event[2], (str(path), name)
                if event[3] == "on" and func.get("steps"):
                    trains = True  # a forward with autograd on, and a backward/step
                continue
            if kind == "call":
                effect = self._call_effect(event, path, func, depth)
                inner = self._callee_summary(event, path, func, depth)
                if inner is not None and inner.get("infers") is not None and not changed and infers is None:
                    infers, infer_in = event[2], inner.get("infer_in")
                if inner is not None and inner.get("trains"):
                    trains = True
                if effect == "neutral":
                    continue
                mode = effect
            else:
                mode = kind if kind in ("train", "eval") else None
            if not changed:
                first = mode if not event[1] else None
            changed = True
            last, last_cond = mode, event[1]
        if infers is not None and any(
            e[0] in ("eval", "unknown") and e[2] > infers for e in events if e[0] != "rebind"
        ):
            infers = None  # set later, maybe before the call in the next iteration
        mode = None if last_cond else last
        return {"mode": mode, "infers": infers, "infer_in": infer_in, "first": first, "trains": trains}

    def _callee_summary(self, event: list, path: Path, func: dict, depth: int) -> dict | None:
        callee, position = event[3], event[4]
        target = self._callee(callee, path, func)
        if target is None:
            return None
        return self.param_summary(target[0], target[1], position, depth + 1)

    def _callee(self, callee: str, path: Path, func: dict) -> tuple[Path, str] | None:
        self_name = func.get("self")
        if self_name and callee.startswith(self_name + "."):
            return None  # methods of the same instance: the checked file's own analysis
        resolved = self.symbol(callee, path)
        if resolved is not None and resolved[0] == "function":
            return resolved[1], resolved[2]
        return None

    def _call_effect(self, event: list, path: Path, func: dict, depth: int) -> str | None:
        """What handing a model to a call does to its mode: "neutral", "train", "eval", None."""
        if event[0] != "call":
            return event[0] if event[0] in ("train", "eval") else None if event[0] == "unknown" else "neutral"
        summary = self._callee_summary(event, path, func, depth)
        if summary is not None:
            return summary["mode"]
        return self.external_effect(self.qualify(event[3], path))

    @staticmethod
    def external_effect(qualname: str) -> str | None:
        """A callee whose code is not in the project: neutral unless its name says it
        may run or switch the model (`train(...)`, `evaluate(...)`, `trainer.fit(...)`)."""
        tp = third_party()
        if _matches(qualname, tp["mode_neutral_callees"]):
            return "neutral"
        last = qualname.rsplit(".", 1)[-1].lower()
        return None if tp["_callee_words"].search(last) else "neutral"

    # -- cache support ------------------------------------------------------------------
    def digest(self, paths) -> dict[str, str]:
        """"hash:size:mtime_ns" of the given files: the content as read in this run, and
        the file's stat so that a later run can skip re-hashing an untouched file."""
        out = {}
        for path in paths:
            try:
                stat = path.stat()
                out[str(path)] = f"{self.content_hash(path)}:{stat.st_size}:{stat.st_mtime_ns}"
            except OSError:
                out[str(path)] = ""
        return out

    def unchanged(self, path: Path, recorded: str) -> bool:
        """A file still matches what `digest` recorded for it."""
        key = ("unchanged", path, recorded)
        found = self._memo.get(key)
        if found is None:
            digest, _, stat_part = recorded.partition(":")
            try:
                stat = path.stat()
                same_stat = stat_part == f"{stat.st_size}:{stat.st_mtime_ns}"
            except OSError:
                same_stat = False
            found = (same_stat or (bool(digest) and self.content_hash(path) == digest), set())
            self._memo[key] = found
        return found[0]


def _is_torch_module_base(qualname: str) -> bool:
    if not qualname.startswith("torch.nn."):
        return False
    return qualname in ("torch.nn.Module", "torch.nn.modules.module.Module") or qualname.count(".") == 2


def _apply_events(mode: str, events: list, effect_of) -> str | None:
    """The mode after a function's events on a local model, or None when unknown."""
    for event in sorted(events, key=lambda e: e[2]):
        kind = event[0]
        if kind in ("infer", "rebind"):
            if kind == "rebind":
                return None
            continue
        effect = effect_of(event) if kind == "call" else (kind if kind in ("train", "eval") else None)
        if effect == "neutral":
            continue
        if event[1] or effect is None:
            return None
        mode = effect
    return mode


_NO_PROJECT = ProjectIndex(None)  # answers third-party questions for a view without an index


class ProjectView:
    """The project seen from one checked file. Unknown answers are None/False.
    Every file the answers were read from (other than the checked file) is in `deps`."""

    def __init__(self, index: ProjectIndex | None = None, path: str | None = None, source: str | None = None) -> None:
        self.index = index
        self.path = Path(path).resolve() if index is not None and path not in (None, "-") else None
        if self.path is not None and source is not None:
            index.set_source(self.path, source)
        self.deps: set[Path] = set()

    def _ask(self, query, *args):
        if self.index is None or self.path is None:
            return None
        value, files = self.index.tracked(query, *args)
        self.deps |= files - {self.path}
        return value

    def _symbol(self, qualname: str | None, local: bool = False):
        """The project symbol for a qualified name, or (`local`) for a name the checked
        file itself defines later than where it is used."""
        if not qualname or self.index is None:
            return None
        if local:
            return self._ask(self.index.symbol, qualname, self.path)
        return self._ask(self.index.resolve, qualname, self.path)

    def is_module_class(self, qualname: str | None, local: bool = False) -> bool:
        """Provably an nn.Module subclass defined in the project (bases followed across files)."""
        found = self._symbol(qualname, local)
        return found is not None and found[0] == "class" and bool(self._ask(self.index.is_module_class, found[1], found[2]))

    def is_stateful_module(self, qualname: str | None, local: bool = False) -> bool:
        """A project nn.Module class with layers of its own or mode-dependent code."""
        found = self._symbol(qualname, local)
        if found is None or found[0] != "class" or not self._ask(self.index.is_module_class, found[1], found[2]):
            return False
        cls = self.index._class(found[1], found[2])
        return bool(cls and (cls["layers"] or cls["mode_words"]))

    def forward_returns(self, qualname: str | None) -> str | None:
        """For an nn.Module class of the project: what calling an instance returns,
        "probability", "log_probability", or None (unknown)."""
        found = self._symbol(qualname)
        if found is None or found[0] != "class":
            return None
        return self._ask(self.index.forward_returns, found[1], found[2])

    def function_returns(self, qualname: str | None) -> str | None:
        """For a function of the project: what calling it returns, one of
        "probability", "log_probability", "tensor", "model:train", "model:eval",
        "model", or None (unknown)."""
        found = self._symbol(qualname)
        if found is None or found[0] != "function":
            return None
        return self._ask(self.index.function_returns, found[1], found[2])

    def call_mode(self, qualname: str | None, local: str | None = None) -> str | None:
        """Mode of the model a call returns: "train", "eval", "model", or None.
        `qualname` is the callee's qualified name; `local` a function or class name of
        the checked file itself (such as `load_model`)."""
        if self.index is None or self.path is None:
            return _NO_PROJECT.call_mode(qualname, Path("-")) if qualname and not local else None
        if local is not None:
            return self._ask(self.index.call_mode, local, self.path)
        if not qualname:
            return None
        return self._ask(self._qualified_call_mode, qualname)

    def _qualified_call_mode(self, qualname: str) -> str | None:
        return self.index.qualified_call_mode(qualname, self.path, self.index.resolve(qualname, self.path))

    def param_effect(self, qualname: str | None, param: str | int) -> dict | None:
        """What a project function (not of this file) does to the argument it receives
        as `param`: {"mode", "infers", "infer_in", "file", "line", "name"}; None if unknown."""
        found = self._symbol(qualname)
        if found is None or found[0] != "function" or found[1] == self.path:
            return None
        summary = self._ask(self.index.param_summary, found[1], found[2], param)
        if summary is None:
            return None
        func, _ = self.index._function(found[1], found[2])
        return dict(summary, file=str(found[1]), line=func["line"], name=found[2])


EMPTY = ProjectView()
