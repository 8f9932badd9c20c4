"""The tensor inference stays linear: it counts work, it does not time it.

Issue 7: on timm's eva.py, 137 `is_tensor` questions made 9.4 million recursive calls,
because every re-binding of `x` (`x = self.block(x)`, `x = x + y`, ...) re-judged all the
others along every path; fastvit.py did not finish in 5 minutes. Each query now memoises
one value per binding list, `self` attribute and function (cycles are solved as a fixed
point), so one query costs what it reaches; and a query has a work cap, so a function with
thousands of re-bindings queried at every line costs at most the cap per query.
"""

from __future__ import annotations

import pytest

from lintutil import codes
from tensorlint.semantics import tensors

CALL_LIMIT = 2_000_000  # an exponential regression fails here instead of hanging


@pytest.fixture
def counted(monkeypatch):
    """Counts every call of a TensorInference method (whatever its internals are called)."""
    count = {"calls": 0}

    def wrap(function):
        def counting(*args, **kwargs):
            count["calls"] += 1
            if count["calls"] > CALL_LIMIT:
                raise AssertionError("tensor inference made more than 2 million calls")
            return function(*args, **kwargs)

        return counting

    for name, value in list(vars(tensors.TensorInference).items()):
        if callable(value) and not name.startswith("__"):
            monkeypatch.setattr(tensors.TensorInference, name, wrap(value))
    return count


def eva_like(n: int, query_every_line: bool = False) -> str:
    """A forward() that re-binds `x` and `y` from each other n times (each binding reads
    the names it re-binds: a cycle), then asks about `x` once (TL001) or at every line."""
    lines = [
        "import torch",
        "import torch.nn as nn",
        "class Net(nn.Module):",
        "    def forward(self, x: torch.Tensor, y: torch.Tensor):",
    ]
    for i in range(n):
        lines.append(f"        x = self.blocks[{i}](x) + y")
        lines.append("        y = x * 2 if y is None else y + x")
        lines.append("        x = x.permute(0, 2, 1).flatten(1)")
        if query_every_line:
            lines.append("        z = torch.tensor(x)")
    lines.append("        return torch.tensor(x)")
    return "\n".join(lines) + "\n"


def calls_for(source: str, counted) -> int:
    counted["calls"] = 0
    codes(source, select=("TL001",))
    return counted["calls"]


def test_one_query_is_linear_in_what_it_reaches(counted, monkeypatch):
    monkeypatch.setattr(tensors, "_MAX_WORK", 10**9)  # the memo alone, no cap
    small = calls_for(eva_like(40), counted)
    large = calls_for(eva_like(80), counted)
    assert small > 200  # the query really walks the chain
    assert large <= 2.2 * small, (small, large)


def test_memoised_answer_is_still_exact(counted, monkeypatch):
    monkeypatch.setattr(tensors, "_MAX_WORK", 10**9)
    # every binding of x is a tensor op on tensors: the final torch.tensor(x) is flagged
    assert codes(eva_like(30), select=("TL001",)) == ["TL001"]
    # one binding that is not a tensor makes x unknown, however deep in the cycle
    source = eva_like(30).replace("        x = self.blocks[7](x) + y\n", "        x = x.tolist()\n")
    assert codes(source, select=("TL001",)) == []


def test_queries_at_every_line_cost_at_most_the_cap_each(counted, monkeypatch):
    monkeypatch.setattr(tensors, "_MAX_WORK", 60)
    small = calls_for(eva_like(60, query_every_line=True), counted)
    large = calls_for(eva_like(120, query_every_line=True), counted)
    assert large <= 2.2 * small, (small, large)


def test_long_alias_chains_do_not_recurse_without_bound(counted):
    lines = ["import torch", "t0 = torch.zeros(3)"]
    lines += [f"t{i} = t{i - 1}" for i in range(1, 400)]
    lines.append("y = torch.tensor(t399)")
    assert codes("\n".join(lines) + "\n", select=("TL001",)) == []  # past the nesting bound: unknown
    assert codes("import torch\nt0 = torch.zeros(3)\nt1 = t0\nt2 = t1\ny = torch.tensor(t2)\n", select=("TL001",)) == [
        "TL001"
    ]


def test_a_worker_keeps_no_file_alive_after_checking_it(tmp_path):
    """A worker checks thousands of files: nothing of a checked file (its tree, its
    indexes) may outlive its check. The value analysis was once cached in a
    WeakKeyDictionary whose values referred to their keys, so every file stayed alive
    (2.4 GB per worker on a 20,000-file tree)."""
    import gc

    from tensorlint.runner import Job, check_one
    from tensorlint.selection import resolve_all
    from tensorlint.semantics.context import FileContext
    from tensorlint.settings import LintSettings

    settings = LintSettings(enabled=resolve_all(["ALL"]))
    source = (
        "import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(2, 2)\n        self.loss = nn.CrossEntropyLoss()\n\n"
        "    def forward(self, x, y):\n        out = torch.softmax(self.fc(x), dim=1)\n        return self.loss(out, y)\n"
    )
    for n in range(5):
        path = tmp_path / f"m{n}.py"
        path.write_text(source)
        result = check_one(Job(str(path), path.read_bytes(), settings, "check", False, project_root=str(tmp_path)))
        assert result.internal_error is None and any(d.code == "TL202" for d in result.diagnostics)
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, FileContext)]
