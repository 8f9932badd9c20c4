"""The project index (semantics/facts.py, project.py): models, modes and helpers followed
across files, functions, methods and closures, each shape with a clean twin."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from lintutil import lint, run_cli, settings_for
from tensorlint.cache import Cache
from tensorlint.runner import check_files
from tensorlint.semantics.facts import extract
from tensorlint.semantics.project import ProjectIndex, ProjectView


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


MODELS = """
import torch
import torch.nn as nn
from .base import Base


class Net(Base):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x))


class Plain(Base):
    def forward(self, x):
        return x * 2


def load_model(path):
    model = Net()
    model.load_state_dict(torch.load(path))
    return model


def load_for_inference(path):
    model = Net()
    model.load_state_dict(torch.load(path))
    model.eval()
    return model
"""
BASE = """
import torch.nn as nn


class Base(nn.Module):
    pass
"""
ENGINE = """
import torch


def train_one_epoch(model, loader, opt):
    model.train()
    for x, y in loader:
        loss = model(x).sum()
        loss.backward()
        opt.step()


def evaluate(model, loader):
    with torch.no_grad():
        return [model(x) for x, _ in loader]
"""
TRAIN = """
import torch
import wandb
from mypkg import Net
from mypkg.models import load_model, load_for_inference, Plain
from mypkg.engine import train_one_epoch, evaluate


def main(loader, opt):
    model = Net()
    wandb.watch(model)
    for epoch in range(3):
        train_one_epoch(model, loader, opt)
        evaluate(model, loader)


def infer(x):
    model = Net()
    print(model)
    with torch.no_grad():
        return model(x)


def infer_loaded(x, device):
    model = load_model("m.pt").to(device)
    with torch.no_grad():
        return model(x)


def clean_loaded(x):
    model = load_for_inference("m.pt")
    with torch.no_grad():
        return model(x)


def clean_plain(x):
    model = Plain()
    with torch.no_grad():
        return model(x)
"""


def project(tmp_path: Path, **overrides) -> Path:
    files = {
        "pyproject.toml": "[tool.tensorlint]\n",
        "mypkg/__init__.py": "from .models import Net\n",
        "mypkg/base.py": BASE,
        "mypkg/models.py": MODELS,
        "mypkg/engine.py": ENGINE,
        "train.py": TRAIN,
    }
    files.update(overrides)
    return write(tmp_path, files)


def findings(root: Path, *args) -> list[tuple[str, int, str, str]]:
    out = run_cli("check", "--no-cache", "--select", "TL103", "--output-format", "json", *args, cwd=root).stdout
    return sorted((Path(d["filename"]).name, d["location"]["row"], d["code"], d["message"]) for d in json.loads(out))


def rows(root: Path, *args) -> list[tuple[str, int]]:
    return [(name, row) for name, row, _, _ in findings(root, *args)]


def test_multi_file_project_model_helpers_and_loop_in_different_files(tmp_path):
    root = project(tmp_path)
    found = findings(root)
    assert [(n, r) for n, r, _, _ in found] == [("train.py", 14), ("train.py", 21), ("train.py", 27)]
    # the message names where the other half of the bug lives
    evaluate_message = found[0][3]
    assert "`evaluate()` (engine.py:13)" in evaluate_message
    assert "train_one_epoch" in evaluate_message


def test_multi_file_clean_twin(tmp_path):
    engine = ENGINE.replace("def evaluate(model, loader):\n", "def evaluate(model, loader):\n    model.eval()\n")
    train = TRAIN.replace("    print(model)\n", "    print(model)\n    model.eval()\n").replace(
        'load_model("m.pt").to(device)', 'load_model("m.pt").to(device).eval()'
    )
    root = project(tmp_path, **{"mypkg/engine.py": engine, "train.py": train})
    assert rows(root) == []


def test_src_layout_and_relative_imports(tmp_path):
    files = {
        "pyproject.toml": "[tool.tensorlint]\n",
        "src/proj/__init__.py": "",
        "src/proj/nets/__init__.py": "from .classifier import Classifier\n",
        "src/proj/nets/classifier.py": """
            import torch.nn as nn
            class Classifier(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.bn = nn.BatchNorm1d(4)
                def forward(self, x):
                    return self.bn(x)
        """,
        "src/proj/predict.py": """
            import torch
            from .nets import Classifier
            from proj.nets.classifier import Classifier as C2

            def predict(x):
                model = Classifier()
                with torch.no_grad():
                    return model(x)

            def predict2(x):
                model = C2()
                model.eval()
                with torch.no_grad():
                    return model(x)
        """,
    }
    root = write(tmp_path, files)
    assert rows(root) == [("predict.py", 9)]


def test_unknown_callees_do_not_erase_the_mode_but_mode_changing_ones_do():
    code = """
    import torch
    import torch.nn as nn
    from torchinfo import summary
    from tensorlint.runtime import Monitor

    def f(x, device):
        model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))
        summary(model)
        Monitor(model)
        model.to(device)
        with torch.no_grad():
            return model(x)

    def g(x, trainer):
        model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))
        trainer.validate(model)
        with torch.no_grad():
            return model(x)
    """
    assert [d.location.row for d in lint(code, select=("TL103",))] == [13]


def test_trainer_class_validate_called_from_fit():
    code = """
    import torch
    import torch.nn as nn

    class Trainer:
        def __init__(self, loader):
            self.model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))
            self.loader = loader

        def fit(self):
            for epoch in range(3):
                self.model.train()
                for x in self.loader:
                    self.model(x).sum().backward()
                self.validate()

        def validate(self):
            with torch.no_grad():
                for x in self.loader:
                    self.model(x)
    """
    code = textwrap.dedent(code)
    [diag] = lint(code, select=("TL103",))
    assert diag.location.row == 20 and "`fit`" in diag.message
    fixed = code.replace("        with torch.no_grad():\n            for x in self.loader:", "        self.model.eval()\n        with torch.no_grad():\n            for x in self.loader:")
    assert lint(fixed, select=("TL103",)) == []


def test_nested_functions_with_the_model_as_closure_variable():
    code = """
    import torch
    import torch.nn as nn

    def main(loader):
        model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))

        def _train_epoch():
            model.train()
            for x in loader:
                model(x).sum().backward()

        def _eval_epoch():
            with torch.no_grad():
                return [model(x) for x in loader]

        for epoch in range(3):
            _train_epoch()
            _eval_epoch()
    """
    code = textwrap.dedent(code)
    assert [d.location.row for d in lint(code, select=("TL103",))] == [15]
    twin = code.replace("    def _eval_epoch():\n", "    def _eval_epoch():\n        model.eval()\n")
    assert lint(twin, select=("TL103",)) == []
    assert "_set_eval" not in code
    other_setter = code.replace(
        "    for epoch in range(3):\n        _train_epoch()\n        _eval_epoch()",
        "    def _set_eval():\n        model.eval()\n\n    _set_eval()\n    _eval_epoch()",
    )
    assert "_set_eval()" in other_setter and lint(other_setter, select=("TL103",)) == []


def test_explicit_train_then_no_grad_inference_is_reported_except_bn_recalibration():
    code = """
    import torch

    def eval_one_epoch(model, loader):
        model.train()
        with torch.no_grad():
            for x in loader:
                out = model(x)
                print(out.mean())

    def recalibrate(model, loader):
        model.train()
        with torch.no_grad():
            for x in loader:
                model(x)          # outputs thrown away: re-estimating batch-norm statistics
    """
    assert [d.location.row for d in lint(code, select=("TL103",))] == [8]


def test_model_from_a_helper_in_the_same_file():
    code = """
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.2)
        def forward(self, x):
            return self.drop(x)

    def load_model(path):
        model = Net()
        model.load_state_dict(torch.load(path))
        return model

    def load_eval(path):
        return Net().eval()

    def a(x):
        model = load_model("p")
        with torch.no_grad():
            return model(x)

    def b(x):
        model = load_eval("p")
        with torch.no_grad():
            return model(x)
    """
    assert [d.location.row for d in lint(code, select=("TL103",))] == [23]


def test_third_party_builders_are_data():
    code = """
    import torch
    import timm
    from transformers import AutoModel, BertConfig, BertModel

    def a(x):
        model = timm.create_model("resnet50")
        with torch.no_grad():
            return model(x)

    def b(x):
        model = BertModel(BertConfig())
        with torch.no_grad():
            return model(x)

    def c(x):
        model = AutoModel.from_pretrained("bert-base-uncased")   # returned in eval mode
        with torch.no_grad():
            return model(x)
    """
    assert [d.location.row for d in lint(code, select=("TL103",))] == [9, 14]


def test_facts_are_plain_json_and_the_index_never_imports(tmp_path):
    root = project(tmp_path)
    facts = extract((root / "mypkg/engine.py").read_text())
    assert json.loads(json.dumps(facts)) == facts
    index = ProjectIndex(root)
    view = ProjectView(index, str(root / "train.py"), (root / "train.py").read_text())
    assert view.is_module_class("mypkg.Net")
    assert view.call_mode("mypkg.models.load_model") == "train"
    assert view.call_mode("mypkg.models.load_for_inference") == "eval"
    effect = view.param_effect("mypkg.engine.evaluate", 0)
    assert effect["infers"] == 15 and effect["mode"] == "neutral"
    assert view.param_effect("mypkg.engine.train_one_epoch", "model")["mode"] == "train"
    assert {p.name for p in view.deps} == {"__init__.py", "models.py", "engine.py", "base.py"}


def test_editing_a_helper_re_lints_its_dependents_and_only_them(tmp_path, monkeypatch):
    root = project(tmp_path, **{f"other{i}.py": "import torch\nx = torch.ones(2)\n" for i in range(5)})
    files = sorted(p for p in root.rglob("*.py"))
    settings = settings_for(("TL103",))
    cache_dir = root / ".tensorlint_cache"
    checked: list[str] = []
    import tensorlint.runner as runner

    real = runner.check_one
    monkeypatch.setattr(runner, "check_one", lambda job: checked.append(Path(job.path).name) or real(job))

    def run():
        checked.clear()
        results = check_files(files, settings, Cache(cache_dir, "k"), workers=1, project_root=root)
        return sorted((Path(r.path).name, d.location.row) for r in results for d in r.diagnostics)

    assert run() == [("train.py", 14), ("train.py", 21), ("train.py", 27)]
    assert run() == [("train.py", 14), ("train.py", 21), ("train.py", 27)] and checked == []
    engine = root / "mypkg/engine.py"
    engine.write_text(engine.read_text().replace("def evaluate(model, loader):\n", "def evaluate(model, loader):\n    model.eval()\n"))
    assert run() == [("train.py", 21), ("train.py", 27)]
    assert sorted(checked) == ["engine.py", "train.py"]  # the edited file and its dependent
    (root / "other0.py").write_text("import torch\nx = torch.zeros(2)\n")
    run()
    assert checked == ["other0.py"]


ENGINE_EVAL = """
import torch


def train_one_epoch(model, loader, opt):
    for x, y in loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(x) for x, _ in loader]
"""
LOOP = """
import torch
from mypkg.models import Net
from mypkg.engine import train_one_epoch, evaluate


def main(loader):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for epoch in range(3):
        train_one_epoch(model, loader, opt)
        evaluate(model, loader)
"""


def test_tl104_training_goes_on_in_eval_mode_after_another_files_evaluate(tmp_path):
    root = project(tmp_path, **{"mypkg/engine.py": ENGINE_EVAL, "loop.py": LOOP})
    out = run_cli("check", "--no-cache", "--select", "TL104", "--output-format", "concise", cwd=root).stdout
    assert out.splitlines()[0].startswith("loop.py:13:9: TL104") and "`evaluate()` leaves `model` in eval mode" in out
    # clean twin: the epoch helper puts the model back into training mode itself
    engine = ENGINE_EVAL.replace("def train_one_epoch(model, loader, opt):\n", "def train_one_epoch(model, loader, opt):\n    model.train()\n")
    root2 = project(tmp_path / "twin", **{"mypkg/engine.py": engine, "loop.py": LOOP})
    assert run_cli("check", "--no-cache", "--select", "TL104", cwd=root2).returncode == 0


def test_tl104_helper_that_trains_then_evaluates_is_not_flagged():
    code = """
    import torch

    def train_and_validate(model, opt, loader):
        model.train()
        for x in loader:
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            return [model(x) for x in loader]

    def main(model, loader):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            train_and_validate(model, opt, loader)
    """
    assert lint(code, select=("TL104",)) == []


def test_tl108_list_of_a_project_class_whose_base_is_in_another_file(tmp_path):
    files = {
        "pyproject.toml": "[tool.tensorlint]\n",
        "pk/__init__.py": "",
        "pk/base.py": "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n",
        "pk/heads.py": """
            import torch
            import torch.nn as nn
            from .base import Base

            class Head(Base):
                def __init__(self, d):
                    super().__init__()
                    self.fc = nn.Linear(d, d)

            class Model(Base):
                def __init__(self, n):
                    super().__init__()
                    self.heads = [Head(4) for _ in range(n)]
                    self.ok = nn.ModuleList([Head(4) for _ in range(n)])
        """,
    }
    root = write(tmp_path, files)
    out = run_cli("check", "--no-cache", "--select", "TL108", "--output-format", "concise", cwd=root).stdout
    assert [line.split(" ")[0] for line in out.splitlines() if "TL108" in line] == ["pk/heads.py:14:22:"]


def test_trainer_validate_runs_the_model_through_a_helper_method():
    code = textwrap.dedent("""
    import torch
    import torch.nn as nn

    class Trainer:
        def __init__(self, model, loader):
            self.model = model
            self.loader = loader

        def train(self):
            self.model.train()
            for x in self.loader:
                out = self._forward_pass(x)
                out.sum().backward()
            self.validate()

        def validate(self):
            with torch.no_grad():
                for x in self.loader:
                    out = self._forward_pass(x)

        def _forward_pass(self, x):
            return self.model(x)
    """)
    [diag] = lint(code, select=("TL103",))
    assert diag.location.row == 20 and "through `_forward_pass()`" in diag.message
    twin = code.replace("    def validate(self):\n", "    def validate(self):\n        self.model.eval()\n")
    assert lint(twin, select=("TL103",)) == []
    eval_in_helper = code.replace("        return self.model(x)", "        self.model.eval()\n        return self.model(x)")
    assert lint(eval_in_helper, select=("TL103",)) == []


def test_compiled_or_wrapped_model_keeps_the_mode_of_the_model_it_wraps(tmp_path):
    train = """
import torch
from mypkg.models import Net
from mypkg.engine import evaluate


def main(loader, device):
    raw_model = Net()
    raw_model.to(device)
    model = torch.compile(raw_model)
    evaluate(model, loader)
    dp = torch.nn.DataParallel(Net())
    with torch.no_grad():
        dp(1)
"""
    root = project(tmp_path, **{"train.py": train})
    assert rows(root) == [("train.py", 11)]
    twin = train.replace("    raw_model.to(device)\n", "    raw_model.to(device)\n    raw_model.eval()\n")
    root2 = project(tmp_path / "twin", **{"train.py": twin})
    assert rows(root2) == []


def test_swa_batch_norm_re_estimation_is_deliberate():
    # reduced from transferlearning ReMoS distillation_training.py (a false positive)
    code = """
    import torch

    def finish(model, train_loader, optimizer):
        optimizer.swap_swa_sgd()
        for m in model.modules():
            if hasattr(m, "running_mean"):
                m.reset_running_stats()
        with torch.no_grad():
            model.train()
            for x, y in train_loader:
                out = model(x)

    def uses_the_output(model, loader):
        model.train()
        with torch.no_grad():
            for x, y in loader:
                out = model(x)
                print(out.argmax(1))
    """
    assert [d.location.row for d in lint(code, select=("TL103",))] == [18]


def test_tl108_comprehension_of_a_class_defined_further_down_or_holding_a_sequential():
    # reduced from SLIIF (resmlps.py) and tokenlearner-pytorch
    code = """
    import torch
    import torch.nn as nn

    class Stack(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.mlps = [MLP(4) for _ in range(n)]
            self.attn = [Attention() for _ in range(n)]
            self.acts = [Act() for _ in range(n)]

    class MLP(nn.Module):
        def __init__(self, d):
            super().__init__()
            layers = [nn.Linear(d, d) for _ in range(2)]
            self.layers = nn.Sequential(*layers)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv2d(2, 1, 1), nn.BatchNorm2d(1))

    class Act(nn.Module):
        def forward(self, x):
            return x.relu()
    """
    assert [d.location.row for d in lint(code, select=("TL108",))] == [8, 9]
    twin = code.replace("[MLP(4) for _ in range(n)]", "nn.ModuleList([MLP(4) for _ in range(n)])").replace(
        "[Attention() for _ in range(n)]", "nn.ModuleList(Attention() for _ in range(n))"
    )
    assert lint(twin, select=("TL108",)) == []


def test_a_project_checked_from_another_folder_without_configuration(tmp_path):
    root = project(tmp_path / "proj")
    (root / "pyproject.toml").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = run_cli("check", "--no-cache", "--isolated", "--select", "TL103", "--output-format", "concise", str(root), cwd=elsewhere)
    assert [line.split(":")[1] for line in out.stdout.splitlines() if "TL103" in line] == ["14", "21", "27"]


def test_trainer_class_that_trains_its_model_and_never_sets_a_mode():
    # reduced from giotto-deep#40: the model comes in through the constructor
    code = textwrap.dedent("""
    import copy
    import torch

    class Pipeline:
        def __init__(self, model, loss_fn, loader):
            self.model = model
            self.initial = copy.deepcopy(self.model)
            self.loss_fn = loss_fn
            self.loader = loader

        def _train_loop(self):
            for x, y in self.loader:
                loss = self.loss_fn(self.model(x), y)
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()

        def _val_loop(self):
            with torch.no_grad():
                for x, y in self.loader:
                    pred = self.model(x)
                    val = self.loss_fn(pred, y)

        def train(self, optimizer):
            self.optimizer = optimizer(self.model.parameters())
            for epoch in range(3):
                self._train_loop()
                self._val_loop()
    """)
    [diag] = lint(code, select=("TL103",))
    assert diag.location.row == 22 and "`_train_loop()` trains it" in diag.message
    twin = code.replace("    def _val_loop(self):\n", "    def _val_loop(self):\n        self.model.eval()\n")
    assert lint(twin, select=("TL103",)) == []
    handed_off = code.replace("            self._val_loop()", "            self._val_loop()\n            evaluate(self.model)")
    assert "evaluate(self.model)" in handed_off
    assert lint(handed_off, select=("TL103",)) == []


GAN_MODELS = """
import torch.nn as nn
import torch.nn.functional as F


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(784, 1), nn.Sigmoid())

    def forward(self, x):
        return self.model(x)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)


def predict_proba(model, x):
    return F.softmax(model(x), dim=-1)
"""
GAN_TRAIN = """
import torch
import torch.nn as nn
from gan.models import Discriminator, Classifier, predict_proba

adversarial_loss = nn.BCELoss()
ce = nn.CrossEntropyLoss()

D = Discriminator()
C = Classifier()
for real in []:
    loss = adversarial_loss(D(real), torch.ones(1))
    loss2 = ce(C(real), torch.zeros(1).long())
    p = predict_proba(C, real)
    lp = torch.log(p)
"""


def test_what_a_model_of_another_file_returns(tmp_path):
    files = {"pyproject.toml": "[tool.tensorlint]\n", "gan/__init__.py": "", "gan/models.py": GAN_MODELS, "train.py": GAN_TRAIN}
    root = write(tmp_path, files)
    out = run_cli("check", "--no-cache", "--select", "TL201,TL202,TL203", "--output-format", "concise", cwd=root).stdout
    found = sorted((line.split(":")[1], line.split(" ")[1]) for line in out.splitlines() if ": TL" in line)
    assert found == [("12", "TL201"), ("13", "TL202"), ("15", "TL203")]
    # clean twin: logits out of the models, losses and log that expect them
    twin_models = GAN_MODELS.replace("nn.Sequential(nn.Linear(784, 1), nn.Sigmoid())", "nn.Sequential(nn.Linear(784, 1))")
    twin_models = twin_models.replace("return F.softmax(self.fc(x), dim=1)", "return self.fc(x)")
    twin_models = twin_models.replace("return F.softmax(model(x), dim=-1)", "return F.log_softmax(model(x), dim=-1)")
    twin_train = GAN_TRAIN.replace("nn.BCELoss()", "nn.BCEWithLogitsLoss()").replace("torch.log(p)", "p.exp()")
    root2 = write(tmp_path / "twin", {**files, "gan/models.py": twin_models, "train.py": twin_train})
    assert run_cli("check", "--no-cache", "--select", "TL201,TL202,TL203", cwd=root2).returncode == 0


def test_facts_from_another_version_of_the_walk_are_not_trusted(tmp_path):
    from tensorlint.semantics.project import _content_hash

    root = project(tmp_path)
    engine = root / "mypkg/engine.py"
    stale = {_content_hash(engine.read_bytes()): {"version": 1, "imports": {}, "classes": {}, "functions": {}}}
    index = ProjectIndex(root, facts_cache=stale)
    view = ProjectView(index, str(root / "train.py"), (root / "train.py").read_text())
    assert view.param_effect("mypkg.engine.train_one_epoch", "model")["mode"] == "train"
