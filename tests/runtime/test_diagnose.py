"""`tensorlint diagnose`: runs a script unchanged, finds its models, reports at exit, keeps its exit code."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from torch.nn.modules import module as module_hooks

from tensorlint.cli import main
from tensorlint.runtime.report import Report

TRAIN = """
import sys
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss(weight=torch.ones(2))  # a criterion with a buffer: never a "model"
for _ in range(4):
    loss = loss_fn(model(torch.randn(32, 8)), torch.randint(0, 2, (32,)))
    opt.zero_grad()
    loss.backward()
    opt.step()
{evaluate}
with torch.no_grad():
    model(torch.randn(4, 8))
print("ran as", __name__, sys.argv[1:])
if "--raise" in sys.argv:
    raise RuntimeError("the script's own error")
if "--exit" in sys.argv:
    sys.exit(int(sys.argv[-1]))
"""


def script(tmp_path, evaluate=False, name="train.py"):
    path = tmp_path / name
    path.write_text(TRAIN.format(evaluate="model.eval()" if evaluate else ""))
    return str(path)


def diagnose(capsys, *args):
    code = main(["diagnose", *args])
    out, err = capsys.readouterr()
    return code, out, err


def kinds_in(path):
    data = json.loads(open(path).read())
    return [(f["kind"], f["module"]) for f in data["findings"]], data["summary"]


def test_planted_fault_is_reported_and_clean_twin_is_quiet(tmp_path, capsys):
    buggy, clean = tmp_path / "buggy.json", tmp_path / "clean.json"
    code, out, _ = diagnose(capsys, "--json", str(buggy), script(tmp_path), "--flag", "value")
    assert code == 0
    assert "ran as __main__ ['--flag', 'value']" in out  # unchanged script: __main__, its own argv
    assert "monitored 1 model(s): model (5 forwards, 4 optimizer steps)" in out
    assert "dropout-active-at-inference" in out
    found, summary = kinds_in(buggy)
    assert found == [("dropout-active-at-inference", "2")]
    assert [m["label"] for m in summary["models"]] == ["model"]  # the loss module was not taken for a model

    code, out, _ = diagnose(capsys, "--json", str(clean), "--fail-on", "info", script(tmp_path, evaluate=True))
    assert code == 0
    assert "nothing to report" in out
    assert kinds_in(clean)[0] == []


def test_fail_on_and_the_scripts_own_exit_code(tmp_path, capsys):
    path = script(tmp_path)
    assert diagnose(capsys, "--fail-on", "warning", path)[0] == 1
    assert diagnose(capsys, "--fail-on", "error", path)[0] == 0  # the finding is a warning
    assert diagnose(capsys, path, "--exit", "0")[0] == 0
    code, out, _ = diagnose(capsys, "--fail-on", "warning", path, "--exit", "3")
    assert code == 3  # a script that failed already keeps its code
    assert "dropout-active-at-inference" in out  # and the report still printed
    assert diagnose(capsys, "--fail-on", "warning", script(tmp_path, evaluate=True), "--exit", "4")[0] == 4


def test_report_printed_when_the_script_raises(tmp_path, capsys):
    out_json = tmp_path / "r.json"
    code, out, err = diagnose(capsys, "--json", str(out_json), script(tmp_path), "--raise")
    assert code == 1
    assert "RuntimeError: the script's own error" in err
    assert "runpy" not in err and "diagnose.py" not in err  # the traceback is the script's, as Python prints it
    assert "dropout-active-at-inference" in out
    assert kinds_in(out_json)[0] == [("dropout-active-at-inference", "2")]


def test_select_and_ignore_by_kind(tmp_path, capsys):
    path, out_json = script(tmp_path), tmp_path / "r.json"
    diagnose(capsys, "--json", str(out_json), "--ignore", "dropout-active-at-inference", path)
    assert kinds_in(out_json)[0] == []
    diagnose(capsys, "--json", str(out_json), "--select", "non-finite,dropout-active-at-inference", path)
    assert kinds_in(out_json)[0] == [("dropout-active-at-inference", "2")]
    assert diagnose(capsys, "--fail-on", "warning", "--select", "non-finite", path)[0] == 0
    code, _, err = diagnose(capsys, "--select", "dropout", path)
    assert code == 2 and "unknown finding kind(s): dropout" in err


def test_bad_command_lines_exit_2_without_running(tmp_path, capsys):
    for args in ([], [str(tmp_path / "missing.py")], ["-m", "no_such_module_here"],
                 ["--reference", str(tmp_path / "missing.json"), script(tmp_path)],
                 ["--json", str(tmp_path / "no" / "dir.json"), script(tmp_path)],
                 ["--every", "0", script(tmp_path)]):  # fmt: skip
        code, out, err = diagnose(capsys, *args)
        assert code == 2, args
        assert err.startswith("tensorlint: error:") and "Traceback" not in err
        assert "ran as" not in out


def test_html_needs_the_html_report(tmp_path, capsys):
    page = tmp_path / "r.html"
    code, out, err = diagnose(capsys, "--html", str(page), script(tmp_path))
    if hasattr(Report, "save_html"):
        assert code == 0 and "dropout-active-at-inference" in page.read_text(encoding="utf-8")
    else:
        assert code == 2 and "html_report" in err and "ran as" not in out


def test_module_mode_runs_with_cwd_on_path(tmp_path, capsys, monkeypatch):
    pkg = tmp_path / "proj"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    script(pkg, name="train.py")
    monkeypatch.chdir(tmp_path)
    code, out, _ = diagnose(capsys, "-m", "proj.train", "--exit", "5")
    assert code == 5
    assert "ran as __main__ ['--exit', '5']" in out
    assert "dropout-active-at-inference" in out


SEVERAL = """
import torch
from torch import nn

G = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 4))
D = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
backbone = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
with torch.no_grad():
    backbone(torch.randn(2, 4))          # a root model...
full = nn.Sequential(backbone, nn.Linear(4, 2))
for _ in range(3):
    D(G(torch.randn(16, 4)))             # two models, one feeding the other
    G[0](torch.randn(2, 4))              # a submodule called on its own: counted by G's monitor
    with torch.no_grad():
        full(torch.randn(2, 4))          # ...later wrapped in a bigger one
"""


def test_several_models_are_discovered_and_named(tmp_path, capsys):
    path, out_json = tmp_path / "gan.py", tmp_path / "r.json"
    path.write_text(SEVERAL)
    code, out, _ = diagnose(capsys, "--json", str(out_json), str(path))
    assert code == 0
    found, summary = kinds_in(out_json)
    models = {m["label"]: m for m in summary["models"]}
    assert list(models) == ["backbone", "G", "D", "full"]
    assert models["G"]["forwards"] == 6 and models["D"]["forwards"] == 3 and models["full"]["forwards"] == 3
    assert models["backbone"]["absorbed_by"] == "full" and models["backbone"]["forwards"] == 1
    # module names carry the model's label; the absorbed backbone is not counted twice
    assert sorted(found) == [("dropout-active-at-inference", "backbone.1"), ("dropout-active-at-inference", "full.0.1")]
    assert summary["forwards"] == 13


def test_drift_against_a_saved_profile(tmp_path, capsys):
    make = """
import torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 4)).eval()
with torch.no_grad():
    for _ in range(20):
        model(torch.randn(64, 16) * {scale} + {shift})
"""
    ref, live, other = tmp_path / "ref.py", tmp_path / "live.py", tmp_path / "other.py"
    ref.write_text(make.format(scale=1.0, shift=0.0))
    live.write_text(make.format(scale=2.0, shift=1.0))
    other.write_text(make.format(scale=1.0, shift=0.0).replace("nn.Linear(32, 4)", "nn.Linear(32, 5)"))
    profile, out_json = tmp_path / "profile.json", tmp_path / "r.json"
    assert diagnose(capsys, "--every", "1", "--save-profile", str(profile), str(ref))[0] == 0
    assert json.loads(profile.read_text())["layers"]
    # the same data against its own profile: no drift (the look-alike negative)
    diagnose(capsys, "--every", "1", "--reference", str(profile), "--json", str(out_json), str(ref))
    assert kinds_in(out_json)[0] == []
    code, out, _ = diagnose(capsys, "--every", "1", "--reference", str(profile), "--json", str(out_json),
                            "--fail-on", "warning", str(live))  # fmt: skip
    assert code == 1
    assert "drift vs reference" in out
    assert "drift" in {k for k, _ in kinds_in(out_json)[0]}
    # another architecture: a note, no drift checks, the script still runs
    code, out, _ = diagnose(capsys, "--reference", str(profile), str(other))
    assert code == 0 and "does not fit model" in out


def test_global_hooks_are_removed_and_no_model_is_said(tmp_path, capsys):
    pre, post = len(module_hooks._global_forward_pre_hooks), len(module_hooks._global_forward_hooks)
    plain = tmp_path / "plain.py"
    plain.write_text("import torch\nprint(torch.relu(torch.ones(2)).sum().item())\n")
    code, out, _ = diagnose(capsys, str(plain))
    assert code == 0 and "nothing was monitored" in out
    diagnose(capsys, script(tmp_path), "--raise")
    assert (len(module_hooks._global_forward_pre_hooks), len(module_hooks._global_forward_hooks)) == (pre, post)


BLOCK_TORCH = textwrap.dedent(
    """
    import sys

    class BlockTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked in this test")
            return None

    sys.meta_path.insert(0, BlockTorch())
    import importlib.util
    real = importlib.util.find_spec
    importlib.util.find_spec = lambda name, *a: None if name == "torch" else real(name, *a)
    from tensorlint.cli import main

    code = main(sys.argv[1:])
    assert "torch" not in sys.modules, "torch was imported"
    sys.exit(code)
    """
)


def test_without_torch_a_clear_message_and_exit_2(tmp_path):
    path = script(tmp_path)
    proc = subprocess.run([sys.executable, "-c", BLOCK_TORCH, "diagnose", path], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "needs PyTorch" in proc.stderr and "Traceback" not in proc.stderr
    # the parser that knows `diagnose` still starts without torch for `check`
    proc = subprocess.run([sys.executable, "-c", BLOCK_TORCH, "check", path, "--no-cache", "--isolated"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr


@pytest.mark.parametrize("flag", ["--help"])
def test_help_lists_the_options(capsys, flag):
    with pytest.raises(SystemExit):
        main(["diagnose", flag])
    out = capsys.readouterr().out
    for option in ("--json", "--html", "--reference", "--save-profile", "--select", "--ignore", "--fail-on", "-m"):
        assert option in out


def test_interrupt_and_exit_message_still_report(tmp_path, capsys):
    path = tmp_path / "stop.py"
    path.write_text(TRAIN.format(evaluate="") + "raise KeyboardInterrupt\n")
    code, out, err = diagnose(capsys, str(path))
    assert code == 130 and "KeyboardInterrupt" in err and "dropout-active-at-inference" in out
    path.write_text(TRAIN.format(evaluate="model.eval()") + "sys.exit('stopped: no data')\n")
    code, out, err = diagnose(capsys, str(path))
    assert code == 1 and "stopped: no data" in err and "nothing to report" in out


DDP = """
import torch
import torch.distributed as dist
from torch import nn

dist.init_process_group("gloo")
torch.manual_seed(0)
model = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2)))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(3):
    opt.zero_grad()
    model(torch.randn(8, 4)).sum().backward()
    opt.step()
if dist.get_rank() == 1:
    with torch.no_grad():
        model(torch.randn(4, 4))  # the fault happens on rank 1 only
print("rank", dist.get_rank(), "done")
dist.destroy_process_group()
"""


def test_two_gloo_ranks_report_once_on_rank_0(tmp_path):
    import os
    import socket

    from tensorlint.runtime import distributed

    if not hasattr(distributed, "active"):
        pytest.skip("tensorlint.runtime.distributed has no collectives here")
    path = tmp_path / "ddp.py"
    path.write_text(DDP)

    def run_ranks():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        procs = []
        for rank in (0, 1):
            env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                       NO_COLOR="1", COLUMNS="200", OMP_NUM_THREADS="1")  # fmt: skip
            args = [sys.executable, "-m", "tensorlint", "diagnose", "--json", str(tmp_path / f"r{rank}.json"), str(path)]
            procs.append(subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        return [p.communicate(timeout=240) for p in procs], [p.returncode for p in procs]

    outs, codes = run_ranks()
    # Gloo's worker threads can abort the interpreter's teardown after everything has run ("terminate
    # called without an active exception", SIGABRT; pytorch/pytorch#190489): about 1 run in 16 here,
    # with or without the monitor's latest changes. One rerun for that case only.
    if codes != [0, 0] and all(c in (0, -6) for c in codes) and any("terminate called" in err for _, err in outs):
        outs, codes = run_ranks()
    assert codes == [0, 0], outs
    (out0, _), (out1, _) = outs
    assert "rank 0 done" in out0 and "rank 1 done" in out1
    assert "dropout-active-at-inference" in out0 and "Seen on rank 1 only" in out0  # rank 1's fault reaches rank 0
    assert "tensorlint" not in out1  # only rank 0 prints and writes
    assert (tmp_path / "r0.json").is_file() and not (tmp_path / "r1.json").exists()
