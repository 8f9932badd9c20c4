"""The three things that make a cold lint cheaper keep its answers and its guarantees:
an unvalidated libcst parse, the collector paused per file, and facts shared between
workers (see README "Whole projects")."""

from __future__ import annotations

import gc
import textwrap
import threading
import weakref
from pathlib import Path

import libcst as cst
import pytest

from lintutil import settings_for
from tensorlint import engine, runner
from tensorlint.cache import Cache
from tensorlint.gc_pause import collection_paused
from tensorlint.runner import check_files


SOURCE = textwrap.dedent(
    """\
    import torch  # a comment
    x = torch.tensor(torch.ones(2))


    async def f(a, *, b=(1, 2)):
        return [i async for i in a] if b else {**a}
    """
)


def test_unvalidated_parse_gives_the_same_tree_and_prints_back():
    fast = engine.parse(SOURCE)
    assert isinstance(fast, cst.Module)
    assert fast.code == SOURCE
    assert fast.deep_equals(cst.parse_module(SOURCE))


def test_nodes_built_outside_a_parse_are_still_validated():
    engine.parse(SOURCE)
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")
    # and after a parse that fails
    assert not isinstance(engine.parse("def (:\n"), cst.Module)
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")


def test_concurrent_parses_restore_validation():
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(20):
                assert isinstance(engine.parse(SOURCE), cst.Module)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with pytest.raises(cst.CSTValidationError):
        cst.Name("1x")


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_collector_paused_then_resumed_and_the_file_cycles_collected():
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():  # nested (a fix round inside a worker's check)
            assert not gc.isenabled()
        assert not gc.isenabled()
        cycle = _Cycle()
        alive = weakref.ref(cycle)
        del cycle
        assert alive() is not None  # not collected while paused
    assert gc.isenabled()
    assert alive() is None  # collected when the pause ended


def test_a_host_that_disabled_the_collector_keeps_it_disabled():
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_lint_source_and_check_one_pause_the_collector(monkeypatch):
    seen = []
    real = engine._lint_source

    def spy(*args):
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(engine, "_lint_source", spy)
    assert [d.code for d in engine.lint_source(SOURCE, "x.py", settings_for(("TL001",)))] == ["TL001"]
    job = runner.Job("x.py", SOURCE.encode(), settings_for(("TL001",)), "check", False)
    assert [d.code for d in runner.check_one(job).diagnostics] == ["TL001"]
    assert seen == [False, False] and gc.isenabled()


class _FakeWorker:
    shared = 0


def test_pool_sends_each_worker_the_facts_the_others_extracted():
    pool = runner._Pool.__new__(runner._Pool)
    one, two = _FakeWorker(), _FakeWorker()
    pool._facts = [(one, {"a": 1}), (two, {"b": 2}), (one, {"c": 3})]
    assert pool._news(two) == {"a": 1, "c": 3}
    assert pool._news(one) == {"b": 2}
    assert pool._news(two) == {}  # nothing new since
    pool._facts.append((one, {"d": 4}))
    assert pool._news(two) == {"d": 4}


def test_shared_facts_reach_every_index_without_being_reported_again(monkeypatch):
    from tensorlint.semantics.project import ProjectIndex

    index = ProjectIndex(None, {"mine": {"version": 0}})
    monkeypatch.setattr(runner, "_INDEXES", {("root", ()): index})
    monkeypatch.setattr(runner, "_FACTS", {})
    runner._share({"theirs": {"x": 1}, "mine": {"overwritten": True}})
    assert index.facts_cache["theirs"] == {"x": 1}
    assert index.facts_cache["mine"] == {"version": 0}  # what this worker read stands
    assert runner._FACTS["theirs"] == {"x": 1}  # and indexes made later start with it
    assert index.new_facts == {}


PROJECT = {
    "model.py": "import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
    "        super().__init__()\n        self.drop = nn.Dropout(0.5)\n\n    def forward(self, x):\n"
    "        return self.drop(x)\n",
}
for i in range(12):
    PROJECT[f"use{i}.py"] = (
        "import torch\nfrom model import Net\n\nmodel = Net()\nwith torch.no_grad():\n    model(torch.ones(1))\n"
        if i % 2 else "import torch\nx = torch.tensor(torch.ones(1))\n"
    )


def test_two_workers_sharing_facts_answer_as_one_process(tmp_path):
    for name, text in PROJECT.items():
        (tmp_path / name).write_text(text)
    files = sorted(tmp_path.glob("*.py"))
    settings = settings_for(("TL001", "TL103"))

    def run(workers):
        results = check_files(files, settings, Cache(None, "k"), workers=workers, file_timeout=30, project_root=tmp_path)
        return {Path(r.path).name: [(d.code, d.location.row) for d in r.diagnostics] for r in results}

    alone, shared = run(1), run(2)
    assert shared == alone
    assert shared["use1.py"] == [("TL103", 6)] and shared["use0.py"] == [("TL001", 2)]
