"""Trainer callbacks: a tiny model trained for a few steps, a planted fault and its clean twin, no downloads."""

from __future__ import annotations

import json
import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class AlwaysDropout(nn.Module):
    """The planted fault: functional dropout without ``training=self.training`` (on at evaluation)."""

    def forward(self, x):
        return F.dropout(x, 0.1)


# ---- transformers ------------------------------------------------------------------------------------
def _hf_run(tmp_path, planted: bool, **callback_kwargs):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")  # Trainer needs it
    from tensorlint.runtime.integrations.hf import TensorlintCallback

    config = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=64, n_positions=32, bos_token_id=0, eos_token_id=0)
    model = transformers.GPT2LMHeadModel(config)
    if planted:
        model.transformer.drop = AlwaysDropout()
    g = torch.Generator().manual_seed(0)
    rows = [torch.randint(0, 64, (16,), generator=g) for _ in range(16)]
    data = [{"input_ids": r, "labels": r} for r in rows]
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), max_steps=4, per_device_train_batch_size=4, per_device_eval_batch_size=4,
        eval_strategy="steps", eval_steps=2, save_strategy="no", report_to="none", use_cpu=True,
        disable_tqdm=True, logging_strategy="no", dataloader_num_workers=0,
    )  # fmt: skip
    callback = TensorlintCallback(print_report=False, **callback_kwargs)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, eval_dataset=data[:8], callbacks=[callback])
    trainer.train()
    return callback, trainer


def test_hf_callback_reports_a_planted_fault_after_evaluation(tmp_path):
    callback, trainer = _hf_run(tmp_path, planted=True)
    tags = [tag for tag, _ in callback.reports]
    assert tags == ["eval-step2", "eval-step4", "final"]
    for tag, report in callback.reports:
        assert "dropout-active-at-inference" in {f.kind for f in report.findings}, tag
        assert report.modules("dropout-active-at-inference") == {"transformer.drop"}
    assert callback.session.monitor is None  # detached at train end
    folder = tmp_path / "tensorlint"
    written = json.loads((folder / "report.json").read_text())
    assert "dropout-active-at-inference" in {f["kind"] for f in written["findings"]}
    assert written["summary"]["optimizer_steps"] == 4
    assert (folder / "eval-step2.json").is_file() and (folder / "eval-step4.json").is_file()
    assert (folder / "report.html").is_file() == hasattr(callback.reports[-1][1], "save_html")


def test_hf_callback_clean_twin_has_no_mode_findings(tmp_path):
    callback, _ = _hf_run(tmp_path, planted=False, save_profile=True)
    final = callback.reports[-1][1]
    mode_kinds = {"dropout-active-at-inference", "batchnorm-train-at-inference", "train-in-eval-mode"}
    assert not mode_kinds & {f.kind for f in final.findings}
    assert not [f for f in final.findings if f.severity == "error"]
    assert json.loads((tmp_path / "tensorlint" / "profile.json").read_text())["layers"]


def test_hf_callback_fail_on(tmp_path):
    from tensorlint.runtime.integrations._common import TensorlintFindings

    with pytest.raises(TensorlintFindings, match="dropout-active-at-inference"):
        _hf_run(tmp_path, planted=True, fail_on="warning")
    with pytest.raises(ValueError, match="fail_on must be one of"):
        _hf_run(tmp_path, planted=False, fail_on="warnings")


# ---- Lightning --------------------------------------------------------------------------------------------
def _lightning_run(tmp_path, planted: bool):
    pl = pytest.importorskip("lightning.pytorch")
    from tensorlint.runtime.integrations.lightning import TensorlintCallback

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), AlwaysDropout() if planted else nn.Dropout(0.1),
                                     nn.Linear(16, 2))  # fmt: skip

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, _):
            x, y = batch
            return F.cross_entropy(self(x), y)

        def validation_step(self, batch, _):
            x, y = batch
            self.log("val_loss", F.cross_entropy(self(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    g = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(32, 8, generator=g), torch.randint(0, 2, (32,), generator=g))
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    callback = TensorlintCallback(print_report=False)
    trainer = pl.Trainer(
        default_root_dir=str(tmp_path), max_steps=4, val_check_interval=2, accelerator="cpu", devices=1,
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[callback],
    )  # fmt: skip
    trainer.fit(Tiny(), loader, loader)
    return callback


def test_lightning_callback_planted_fault_and_clean_twin(tmp_path):
    callback = _lightning_run(tmp_path / "planted", planted=True)
    assert [tag for tag, _ in callback.reports] == ["eval-step2", "eval-step4", "final"]  # sanity check skipped
    final = callback.reports[-1][1]
    assert final.modules("dropout-active-at-inference") == {"net.2"}
    assert final.summary["optimizer_steps"] == 4
    assert (tmp_path / "planted" / "tensorlint" / "report.json").is_file()

    clean = _lightning_run(tmp_path / "clean", planted=False).reports[-1][1]
    assert "dropout-active-at-inference" not in {f.kind for f in clean.findings}


def test_a_new_training_run_replaces_a_monitor_left_by_a_failed_one():
    from tensorlint.runtime.integrations._common import MonitorSession

    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    session = MonitorSession(print_report=False)
    session.start(model)
    first = session.monitor
    model(torch.randn(2, 4))  # the crashed run's forward; its on_train_end never came
    assert first.forwards == 1
    session.start(model)  # the next train() with the same callback
    assert first.hook_count() == 0 and session.monitor is not first
    report = session.finish(None, write=False)
    assert report.summary["forwards"] == 0 and not report.findings  # nothing carried over
