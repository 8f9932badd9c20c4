"""DDP: two CPU ranks on gloo at 127.0.0.1; the merged profile equals one process over the same data,
a fault on rank 1 only is reported with its rank, only rank 0 writes, and ``module.`` keys match a bare model."""

from __future__ import annotations

import io
import json
import math
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from tensorlint.runtime import Monitor, Profile

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="torch.distributed with gloo is not available")

FIELDS = ("calls", "samples", "count", "mean", "std", "min", "max", "zero_fraction", "saturation_fraction", "nonfinite_calls")
BN_FIELDS = ("bn_mean_z", "bn_var_ratio", "bn_samples", "bn_rows")


def _model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh())
    with torch.no_grad():
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[0].bias[:10] = -30.0  # 10 of 16 ReLU units dead: per-unit counts must add up across ranks
    return model.eval()


def _batches() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return [torch.randn(32, 6, generator=gen) * (1 + i) for i in range(4)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dump(report, path: Path) -> None:
    path.write_text(json.dumps(report.to_dict(), default=str), encoding="utf-8")


def _worker(rank: int, world: int, port: int, out: str) -> None:
    from rich.console import Console
    from torch.nn.parallel import DistributedDataParallel

    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        here = Path(out)
        ddp = DistributedDataParallel(_model())
        mine = _batches()[2 * rank : 2 * rank + 2]
        # 1. clean: the profile and the report are collective; only rank 0 writes
        with Monitor(ddp, every=1) as mon, torch.no_grad():
            for x in mine:
                ddp(x)
        mon.profile().save(here / f"merged-{rank}.json")
        mon.profile(local=True).save(here / f"local-{rank}.json", all_ranks=True)
        report = mon.report()
        report.save_json(here / f"clean-saved-{rank}.json")
        report.save_html(here / f"clean-{rank}.html")
        _dump(report, here / f"clean-{rank}.json")
        buf = io.StringIO()
        report.print(Console(file=buf, width=200))
        (here / f"print-{rank}.txt").write_text(buf.getvalue(), encoding="utf-8")
        # 2. a NaN in rank 1's second batch only
        with Monitor(ddp, every=1) as mon, torch.no_grad():
            for i, x in enumerate(mine):
                if rank == 1 and i == 1:
                    x = x.clone()
                    x[0, 0] = math.nan
                ddp(x)
        _dump(mon.report(), here / f"fault-{rank}.json")
        # 3. drift against the bare model's profile (all four batches): rank 0 sees the same data, rank 1 shifted data
        with Monitor(ddp, reference=here / "bare.json", every=1) as mon, torch.no_grad():
            for x in _batches():
                ddp(x * 3 + 2 if rank == 1 else x)
        _dump(mon.report(), here / f"drift-{rank}.json")
    finally:
        dist.destroy_process_group()


def _ddp_key(bare: str) -> str:
    """The DDP wrapper is the root (its output and input are the model's); layers get the ``module.`` prefix."""
    return bare if bare == "" or bare.startswith("::") else "module." + bare


@pytest.fixture(scope="module")
def spawned(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    model = _model()
    with Monitor(model, every=1) as mon, torch.no_grad():
        for x in _batches():
            model(x)
    single = mon.profile()
    single.save(out / "bare.json")
    for attempt in (1, 2):
        for stale in out.glob("drift-*.json"):
            stale.unlink()  # the check below must see this attempt's files only
        try:
            mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
            break
        except mp.ProcessExitedException as exc:
            # Gloo's threads can abort the interpreter's teardown after the worker returned ("terminate
            # called without an active exception", SIGABRT; pytorch/pytorch#190489, about 1 run in 16 here).
            # Each worker's last file is written before its teardown: with both there, the run is complete.
            if exc.signal_name != "SIGABRT":
                raise
            if all((out / f"drift-{rank}.json").is_file() for rank in (0, 1)):
                break
            if attempt == 2:
                raise
    return out, single


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_merged_profile_equals_one_process_over_the_same_data(spawned):
    out, single = spawned
    assert not (out / "merged-1.json").exists()  # only rank 0 writes
    merged = Profile.load(out / "merged-0.json")
    assert merged.meta["world_size"] == 2 and merged.meta["forwards"] == 4
    compared = 0
    for key, want in single.layers.items():
        got = merged.layers[_ddp_key(key)]
        for field in FIELDS + BN_FIELDS + ("units", "dead_units", "dead_fraction"):
            if want.get(field) is None:
                assert got.get(field) is None, (key, field)
                continue
            assert got[field] == pytest.approx(want[field], rel=1e-9, abs=1e-12), (key, field)
        assert got["hist"] == want["hist"], key
        if "bn_channel_z" in want:
            assert got["bn_channel_z"] == pytest.approx(want["bn_channel_z"], rel=2e-3, abs=1e-6)
        compared += 1
    assert compared == len(single.layers) >= 6
    assert single.layers["2"]["dead_units"] == 10 and "bn_mean_z" in single.layers["1"]
    # the look-alike: one rank alone is not the whole data
    alone = Profile.load(out / "local-0.json")
    assert alone.layers["module.0"]["samples"] == single.layers["0"]["samples"] / 2
    assert alone.layers["module.0"]["std"] != pytest.approx(single.layers["0"]["std"], rel=1e-3)


def test_fault_on_rank_one_is_reported_on_every_rank_with_its_rank(spawned):
    out, _ = spawned
    for rank in (0, 1):
        report = _load(out / f"fault-{rank}.json")
        found = [f for f in report["details"] if f["kind"] == "non-finite"]
        assert [f["module"] for f in found] == [""], found  # the NaN came in with rank 1's data
        assert found[0]["details"]["ranks"] == [1]
        assert "input was already NaN" in found[0]["message"] and found[0]["message"].endswith("Seen on rank 1 only.")
        assert report["summary"]["world_size"] == 2 and report["summary"]["forwards"] == 4
        assert [r["forwards"] for r in report["summary"]["ranks"]] == [2, 2]
    clean = _load(out / "clean-0.json")  # the clean twin: nothing found on either rank
    assert [f["kind"] for f in clean["findings"]] == ["dead-units"]
    assert clean["findings"][0]["details"]["ranks"] == [0, 1]
    assert "Seen on" not in clean["findings"][0]["message"]


def test_only_rank_zero_prints_and_writes(spawned):
    out, _ = spawned
    assert (out / "clean-saved-0.json").exists() and not (out / "clean-saved-1.json").exists()
    assert (out / "clean-0.html").exists() and not (out / "clean-1.html").exists()
    assert "on 2 ranks" in (out / "print-0.txt").read_text(encoding="utf-8")
    assert (out / "print-1.txt").read_text(encoding="utf-8") == ""


def test_bare_reference_matches_the_ddp_prefix(spawned):
    out, _ = spawned
    report = _load(out / "drift-0.json")
    drift = [f for f in report["details"] if f["kind"] == "drift"]
    assert drift and all(f["details"]["ranks"] == [1] for f in drift)
    assert {f["module"] for f in drift} >= {"", "module.0"}
