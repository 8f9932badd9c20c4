"""The torch API signature table (tensorlint/semantics/torch_api.py + data).

The loader tests need no torch.  The cross-checks against the real torch are
skipped when torch is not importable; with torch 2.13 installed they call the
real functions (cheaply: every argument is an object whose
``__torch_function__`` aborts the call as soon as argument parsing succeeded).
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import subprocess
import sys
import warnings
from importlib import resources
from pathlib import Path

import pytest

from tensorlint.semantics import torch_api
from tensorlint.semantics.torch_api import ApiEntry, lookup, returns_tensor

REPO = Path(__file__).resolve().parent.parent


@functools.cache
def _raw_table() -> dict:
    return json.loads(resources.files("tensorlint.data").joinpath("torch_api.json").read_text())


# --------------------------------------------------------------------------
# Loader behaviour (no torch needed)
# --------------------------------------------------------------------------

def test_dropout_keyword_is_train_not_training():
    e = lookup("torch.dropout")
    assert isinstance(e, ApiEntry)
    assert e.accepts_keyword("train") is True
    assert e.accepts_keyword("p") is True
    assert e.accepts_keyword("training") is False
    assert e.suggest("training") == "train"
    assert e.positional_max == 3


def test_functional_softmax_has_no_numpy_aliases():
    e = lookup("torch.nn.functional.softmax")
    assert e.accepts_keyword("dim") is True
    assert e.accepts_keyword("axis") is False
    assert e.suggest("axis") is None or e.suggest("axis") != "axis"


def test_builtin_sum_takes_numpy_aliases():
    e = lookup("torch.sum")
    for kw in ("dim", "keepdim", "dtype", "input", "axis", "keepdims"):
        assert e.accepts_keyword(kw) is True, kw
    assert e.accepts_keyword("keep_dim") is False
    assert e.suggest("keep_dim") == "keepdim"
    m = lookup("torch.Tensor.sum")
    assert m.accepts_keyword("dim") is True
    assert m.accepts_keyword("axis") is True
    assert m.accepts_keyword("input") is False  # self is bound


def test_aliases_only_for_parameters_the_entry_has():
    # torch.dropout has `input` (so x/a/x1) but no `dim`
    e = lookup("torch.dropout")
    assert e.accepts_keyword("x") is True
    assert e.accepts_keyword("axis") is False


def test_functional_dropout_keywords():
    e = lookup("torch.nn.functional.dropout")
    for kw in ("input", "p", "training", "inplace"):
        assert e.accepts_keyword(kw) is True, kw
    assert e.accepts_keyword("train") is False
    assert e.suggest("train") == "training"


def test_positional_order():
    assert lookup("torch.dropout").positional_order == ("input", "p", "train")
    assert lookup("torch.nn.functional.dropout").positional_order[:4] == ("input", "p", "training", "inplace")
    assert lookup("torch.nn.functional.softmax").positional_order[:2] == ("input", "dim")
    assert lookup("torch.Tensor.sum").positional_order == ("dim", "keepdim")  # self excluded
    assert lookup("torch.nn.Softmax").positional_order == ("dim",)
    # overloads that bind the second positional differently: max(input, dim) / max(input, other)
    assert lookup("torch.max").positional_order is None
    assert lookup("torch.gru").positional_order is None
    # deprecated, hidden x.add(alpha, other) binds the first positional to `alpha`
    assert lookup("torch.Tensor.add").positional_order is None
    # unlimited int-list positionals: torch.zeros(2, 3)
    assert lookup("torch.zeros").positional_order is None
    assert lookup("torch.Tensor.view").positional_order is None


def test_returns_tensor():
    for q in ("torch.randn", "torch.zeros", "torch.nn.functional.relu", "torch.tensor",
              "torch.sum", "torch.Tensor.sum", "torch.linalg.norm", "torch.fft.fft"):
        assert returns_tensor(q) is True, q
    for q in ("torch.Tensor.tolist", "torch.Tensor.item", "torch.Tensor.size",
              "torch.Tensor.dim", "torch.Tensor.numel", "torch.Tensor.numpy",
              "torch.Tensor.data_ptr", "torch.Tensor.is_contiguous",
              "torch.Tensor.element_size", "torch.Tensor.__len__", "torch.Tensor.stride",
              "torch.nn.Linear"):
        assert returns_tensor(q) is False, q
    # torch.max(x) is a Tensor, torch.max(x, 0) a (values, indices) tuple
    assert returns_tensor("torch.max") is None


def test_unknown_names():
    assert lookup("torch.no_such_function") is None
    assert lookup("numpy.sum") is None
    assert returns_tensor("torch.no_such_function") is None
    assert returns_tensor("") is None


def test_required_entries_present():
    for q in ("torch.nn.Dropout", "torch.nn.BatchNorm2d", "torch.nn.Linear",
              "torch.nn.CrossEntropyLoss", "torch.utils.data.DataLoader",
              "torch.utils.checkpoint.checkpoint", "torch.load", "torch.tensor",
              "torch.linalg.norm", "torch.fft.fft", "torch.special.erf"):
        assert lookup(q) is not None, q
    assert lookup("torch.nn.Dropout").accepts_keyword("p") is True
    assert lookup("torch.nn.Dropout").accepts_keyword("training") is False
    assert lookup("torch.nn.BatchNorm2d").accepts_keyword("num_features") is True
    dl = lookup("torch.utils.data.DataLoader")
    assert dl.accepts_keyword("num_workers") is True
    assert dl.accepts_keyword("num_worker") is False
    assert dl.suggest("num_worker") == "num_workers"
    # **kwargs: keywords are unknowable, never flagged
    ckpt = lookup("torch.utils.checkpoint.checkpoint")
    assert ckpt.var_keyword is True
    assert ckpt.accepts_keyword("anything") is None
    assert ckpt.accepts_keyword("use_reentrant") is None
    assert lookup("torch.load").accepts_keyword("foo") is None


def test_positional_limits():
    assert lookup("torch.zeros").positional_max is None  # torch.zeros(2, 3, 4)
    assert lookup("torch.randn").positional_max is None
    assert lookup("torch.Tensor.view").positional_max is None
    assert lookup("torch.tensor").positional_max == 1
    assert lookup("torch.tensor").accepts_positional(2) is False
    assert lookup("torch.Tensor.add").positional_max >= 2  # deprecated x.add(1, y)
    assert lookup("torch.zeros").accepts_positional(7) is None


def test_table_is_compact_and_versioned():
    path = REPO / "tensorlint" / "data" / "torch_api.json"
    assert path.stat().st_size < 1_500_000
    raw = _raw_table()
    assert raw["torch_version"] == torch_api.TORCH_VERSION
    assert re.fullmatch(r"\d+\.\d+\.\d+", torch_api.TORCH_VERSION)
    assert raw["aliases"] == {"dim": ["axis"], "keepdim": ["keepdims"],
                              "input": ["x", "a", "x1"], "other": ["x2"]}
    assert len(raw["entries"]) > 1000


def test_loader_never_imports_torch():
    code = r"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch import blocked: " + name)
        return None
sys.meta_path.insert(0, Block())
from tensorlint.semantics.torch_api import lookup, returns_tensor, TORCH_VERSION
e = lookup("torch.dropout")
assert e.accepts_keyword("training") is False
assert returns_tensor("torch.randn") is True
assert TORCH_VERSION
assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules), "torch imported"
print("ok")
"""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=str(REPO), timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


# --------------------------------------------------------------------------
# Cross-checks against the installed torch
# --------------------------------------------------------------------------

class _Hit(Exception):
    pass


class _Probe:
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        raise _Hit()


def _resolve(qualname: str):
    import torch  # noqa: F401
    import torch.nn.functional  # noqa: F401
    import torch.utils.checkpoint  # noqa: F401
    import torch.utils.data  # noqa: F401

    parts = qualname.split(".")
    if parts[:2] == ["torch", "Tensor"]:
        return getattr(torch.zeros(2, 2), parts[2])  # bound to a fresh tensor
    obj = __import__("torch")
    for p in parts[1:]:
        obj = getattr(obj, p)
    return obj


def _attempt(fn, npos: int, kw: str) -> str:
    probe = _Probe()
    args = [probe] * npos
    kwargs = {kw: probe}
    for _ in range(6):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(*args, **kwargs)
        except _Hit:
            return "accepted"
        except TypeError as e:
            msg = str(e)
            if re.search(rf"unexpected keyword argument '{re.escape(kw)}'", msg):
                return "rejected"
            if "takes no keyword arguments" in msg:
                return "rejected"
            m = re.search(r"unrecognized keyword arguments: (.*)$", msg, flags=re.M)
            if m and kw in [s.strip() for s in m.group(1).split(",")]:
                return "rejected"
            if "but expected" in msg:
                # the parser lists every visible overload; none has ``kw``
                aliases = _raw_table()["aliases"]
                listed = {n for names in _parse_signatures(msg) for n in names}
                listed |= {a for n in listed for a in aliases.get(n, ())}
                return "unknown" if kw in listed else "rejected"
            m = re.search(r"missing \d+ required (?:positional|keyword-only) arguments?: (.*)$", msg,
                          flags=re.M)
            if not m:
                return "unknown"
            missing = re.findall(r"""["'](\w+)["']""", m.group(1))
            # the parser names a parameter as missing even when its numpy
            # alias is the keyword being probed (renorm(axis=...) "misses" dim)
            aliases = _raw_table()["aliases"]
            missing = [n for n in missing if kw not in aliases.get(n, ()) and n not in kwargs]
            if not missing:
                return "unknown"
            kwargs.update({n: probe for n in missing})
        except BaseException:  # noqa: BLE001 - arguments were bound; the body failed
            return "accepted"
        else:
            return "accepted"
    return "unknown"


def _listed_signatures(fn) -> list[list[str]]:
    """Parameter names of each overload the C++ parser lists, if it lists them."""
    try:
        fn(*([_Probe()] * 40))
    except BaseException as e:  # noqa: BLE001
        msg = str(e)
    else:
        return []
    return _parse_signatures(msg)


def _parse_signatures(msg: str) -> list[list[str]]:
    if "but expected" not in msg:
        return []
    rest = msg[msg.index("but expected"):]
    sigs = re.findall(r"^ \* \((.*)\)\s*$", rest, flags=re.M)
    first = re.match(r"but expected \((.*)\)\s*$", rest.splitlines()[0])
    if first:
        sigs.append(first.group(1))
    out = []
    for sig in sigs:
        parts = [p.split(" = ")[0].split() for p in sig.split(", ") if p.strip() not in ("", "*")]
        out.append([p[-1] for p in parts if p])
    return out


def _outcome(fn, kw: str) -> str:
    """'accepted', 'rejected' or 'unknown' for calling ``fn`` with keyword ``kw``.

    Every argument is a probe whose ``__torch_function__`` aborts the call
    once argument parsing has succeeded.  Required parameters that the error
    messages name are filled in, with 0 to 4 leading positional probes (a C++
    builtin with several overloads reports the error of the one overload that
    fits the argument count).  'accepted': some call got past argument parsing
    with ``kw`` present; 'rejected': every decided attempt said the keyword is
    unexpected.
    """
    results = [_attempt(fn, npos, kw) for npos in range(5)]
    if "accepted" in results:
        return "accepted"
    if "rejected" in results:
        # several overloads: fill each listed one completely by keyword
        aliases = _raw_table()["aliases"]
        for names in _listed_signatures(fn):
            probe = _Probe()
            kwargs = {n: probe for n in names if n != kw and kw not in aliases.get(n, ())}
            kwargs[kw] = probe
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fn(**kwargs)
            except _Hit:
                return "accepted"
            except BaseException:  # noqa: BLE001
                pass
    if "rejected" in results:
        return "rejected"
    return "unknown"


# Calls with global side effects are not probed.
_UNSAFE = re.compile(
    r"^torch\.(set_|use_|compile|save|manual_seed|seed|initial_seed|export|"
    r"cuda|backends|Tensor\.(cuda|xpu|ipu|mtia|share_memory_|pin_memory|register_|"
    r"resize|set_|storage|untyped_storage|backward|__len__)|load|"
    r"utils\.data\.DataLoader|from_file|random|"
    r"nn\.(LazyModuleMixin|Module$))"
)

_KEYWORD_POOL = ("axis", "keepdims", "dim", "keepdim", "training", "train", "inplace", "out",
                 "dtype", "input", "x", "x2", "other", "p", "bias", "device", "requires_grad",
                 "weight", "size", "reduction", "alpha", "tl_bogus_kw")


@pytest.fixture(scope="module")
def real_torch():
    torch = pytest.importorskip("torch")
    if torch.__version__.split("+")[0] != torch_api.TORCH_VERSION:
        pytest.skip(f"table is for torch {torch_api.TORCH_VERSION}, installed {torch.__version__}")
    return torch


def _sample(n: int = 200) -> list[str]:
    names = sorted(q for q in _raw_table()["entries"] if not _UNSAFE.match(q))
    return random.Random(20261126).sample(names, n)


def test_empirical_alias_facts(real_torch):
    torch = real_torch
    F = torch.nn.functional
    x = torch.ones(3, 4)
    # numpy aliases honoured by the C++ argument parser
    assert torch.sum(x, axis=0).shape == (4,)
    assert torch.sum(x, 0, keepdims=True).shape == (1, 4)
    assert torch.sum(x=x).item() == 12
    assert torch.sum(a=x).item() == 12
    assert torch.sum(x1=x).item() == 12
    assert torch.add(x1=x, x2=x).sum().item() == 24
    assert x.sum(axis=1, keepdims=True).shape == (3, 1)
    assert torch.softmax(x, axis=-1).shape == (3, 4)
    assert torch.nn.functional.linear(x=x, weight=torch.ones(2, 4)).shape == (3, 2)
    # ... only for parameters the function has
    with pytest.raises(TypeError, match="unexpected keyword argument 'axis'"):
        torch.dropout(x, 0.5, True, axis=0)
    # ... and never for Python-defined functions
    with pytest.raises(TypeError, match="unexpected keyword argument 'axis'"):
        F.softmax(x, axis=-1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        F.relu(x=x)
    with pytest.raises(TypeError):
        torch.dropout(x, p=0.5, training=True)
    assert torch.dropout(x, p=0.5, train=False).shape == (3, 4)


def test_alias_flag_matches_real_parser(real_torch):
    """Every aliased entry with a `dim` accepts `axis`; unflagged ones reject it."""
    raw = _raw_table()["entries"]
    checked = {"accepted": 0, "rejected": 0}
    for q in sorted(raw):
        e = raw[q]
        if _UNSAFE.match(q) or e.get("k") or "dim" not in e["p"].split():
            continue
        got = _outcome(_resolve(q), "axis")
        if e.get("a"):
            assert got != "rejected", f"{q}: table says axis is accepted, torch rejects it"
        else:
            assert got != "accepted", f"{q}: table says axis is rejected, torch accepts it"
        if got in checked:
            checked[got] += 1
    assert checked["accepted"] > 100
    assert checked["rejected"] > 10


def _safe_entries() -> list[str]:
    return sorted(q for q in _raw_table()["entries"] if not _UNSAFE.match(q))


@pytest.mark.parametrize("sample", [False, True], ids=["all", "sample200"])
def test_entries_match_real_torch(real_torch, sample):
    """No keyword the table rejects is accepted by torch, and vice versa.

    Every safe entry (about 1,600; ~10 s) is checked against a pool of common
    keywords plus its own; the 'sample200' run is a deterministic random
    sample, kept separately so a failure there is quick to reproduce.
    """
    names = _sample() if sample else _safe_entries()
    false_rejects, false_accepts = [], []
    conclusive = total = 0
    for q in names:
        entry = lookup(q)
        if entry.var_keyword:
            continue
        fn = _resolve(q)
        pool = set(_KEYWORD_POOL) | set(entry.params)
        for kw in sorted(pool):
            got = _outcome(fn, kw)
            total += 1
            conclusive += got != "unknown"
            if entry.accepts_keyword(kw) is False and got == "accepted":
                false_rejects.append(f"{q}({kw}=)")
            if entry.accepts_keyword(kw) is True and got == "rejected":
                false_accepts.append(f"{q}({kw}=)")
    # a false reject would be a wrong finding: none allowed
    assert not false_rejects, false_rejects
    # a false accept only hides a finding, but the table should still be exact
    assert not false_accepts, false_accepts
    # the probes must actually decide most cases for this to mean anything
    assert conclusive / total > 0.95, (conclusive, total)


def test_positional_limits_match_real_torch(real_torch):
    """One positional argument more than the table's maximum is never accepted."""
    wrong = []
    checked = 0
    for q in _safe_entries():
        entry = lookup(q)
        if entry.positional_max is None:
            continue
        fn = _resolve(q)
        n = entry.positional_max + 1
        for args in ([_Probe()] * n, [1] + [_Probe()] * (n - 1)):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fn(*args)
            except TypeError as e:
                msg = str(e)
                if not re.search(r"positional argument|but expected|takes no arguments", msg):
                    wrong.append(f"{q}: {msg[:120]}")
            except _Hit:
                wrong.append(f"{q}: {n} positional arguments accepted")
            except BaseException as e:  # noqa: BLE001
                wrong.append(f"{q}: {n} positional arguments got past parsing ({type(e).__name__})")
            else:
                wrong.append(f"{q}: {n} positional arguments accepted")
        checked += 1
    assert not wrong, wrong
    assert checked > 1000


def _duplicate_accepted(fn, npos: int, name: str) -> str | None:
    """None when ``npos`` positional probes plus ``name=`` fail to parse, else what happened."""
    probe = _Probe()
    kwargs = {name: probe}
    for _ in range(6):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(*([probe] * npos), **kwargs)
        except _Hit:
            return "accepted"
        except TypeError as e:
            msg = str(e)
            m = re.search(r"missing \d+ required positional arguments?: (.*)$", msg, flags=re.M)
            missing = [n for n in re.findall(r"""["'](\w+)["']""", m.group(1)) if n not in kwargs] if m else []
            if not missing:
                return None
            kwargs.update({n: probe for n in missing})
        except BaseException as e:  # noqa: BLE001 - arguments were bound; the body failed
            return f"got past parsing ({type(e).__name__})"
        else:
            return "accepted"
    return None


@pytest.mark.parametrize("sample", [False, True], ids=["all", "sample200"])
def test_positional_order_matches_real_torch(real_torch, sample):
    """With ``k`` positional arguments, no parameter among the first ``k`` of the
    order can also be given by keyword: torch raises TypeError for every such call."""
    names = _sample() if sample else _safe_entries()
    wrong = []
    checked = 0
    for q in names:
        order = lookup(q).positional_order
        if order is None:
            continue
        fn = _resolve(q)
        for k in range(1, len(order) + 1):
            for name in order[:k]:
                got = _duplicate_accepted(fn, k, name)
                if got is not None:
                    wrong.append(f"{q}: {k} positionals and {name}= {got}")
        checked += 1
    assert not wrong, wrong
    assert checked > (50 if sample else 1000), checked


_NO_ARG_CALL_UNSAFE = {"backward", "retain_grad", "share_memory_", "pin_memory", "cuda", "xpu",
                       "ipu", "mtia", "__len__", "storage", "untyped_storage", "numpy", "resize_",
                       "record_stream", "requires_grad_", "detach_", "set_"}


def test_tensor_method_returns_match_real_calls(real_torch):
    """Tensor methods callable without arguments return what the table says."""
    torch = real_torch
    wrong, checked = [], 0
    for q in _safe_entries():
        if not q.startswith("torch.Tensor."):
            continue
        name = q.rsplit(".", 1)[1]
        expected = returns_tensor(q)
        if expected is None or name in _NO_ARG_CALL_UNSAFE:
            continue
        x = torch.rand(3, 3) + 0.5
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = getattr(x, name)()
        except BaseException:  # noqa: BLE001 - needs arguments, or not for this dtype
            continue
        checked += 1
        if isinstance(result, torch.Tensor) is not expected:
            wrong.append(f"{q}: {type(result).__name__}")
    assert not wrong, wrong
    assert checked > 150


def test_returns_tensor_matches_real_calls(real_torch):
    torch = real_torch
    x = torch.ones(2, 3)
    assert isinstance(torch.randn(2), torch.Tensor)
    assert isinstance(torch.nn.functional.relu(x), torch.Tensor)
    assert not isinstance(x.tolist(), torch.Tensor)
    assert not isinstance(x.item() if x.numel() == 1 else x[0, 0].item(), torch.Tensor)
    # every Tensor method the table marks as non-tensor really returns no Tensor
    for name in ("tolist", "size", "dim", "numel", "numpy", "data_ptr", "is_contiguous",
                 "element_size", "__len__", "stride", "nelement", "is_floating_point"):
        assert returns_tensor(f"torch.Tensor.{name}") is False, name
        assert not isinstance(getattr(x, name)(), torch.Tensor), name
