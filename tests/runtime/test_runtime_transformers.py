"""Real models from ``transformers``, built from tiny configs (never downloaded)."""

from __future__ import annotations

import pytest
import torch
from runtime_helpers import only

from tensorlint.runtime import Monitor

transformers = pytest.importorskip("transformers")
transformers.utils.logging.set_verbosity_error()


def _gpt2():
    cfg = transformers.GPT2Config(vocab_size=128, n_positions=32, n_embd=32, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)
    return transformers.GPT2LMHeadModel(cfg)


def _bert():
    cfg = transformers.BertConfig(
        vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=32
    )
    return transformers.BertForSequenceClassification(cfg)


def _batch(vocab=128):
    return torch.randint(0, vocab, (4, 16))


def _train_then_eval(model, loss_of):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(3):
        opt.zero_grad()
        loss_of(model).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        for _ in range(2):
            model(input_ids=_batch())


@pytest.mark.parametrize("build", [_gpt2, _bert], ids=["gpt2", "bert"])
def test_clean_training_then_eval_reports_nothing_at_warning_level(build):
    model = build()
    if isinstance(model, transformers.GPT2LMHeadModel):

        def loss_of(m):
            ids = _batch()
            return m(input_ids=ids, labels=ids).loss
    else:

        def loss_of(m):
            return m(input_ids=_batch(), labels=torch.tensor([0, 1, 0, 1])).loss

    with Monitor(model, every=1) as mon:
        _train_then_eval(model, loss_of)
    report = mon.report()
    serious = [f for f in report.findings if f.severity in ("error", "warning")]
    assert not serious, serious
    assert not report.summary["internal_errors"]
    prof = mon.profile()
    assert len(prof.layers) > 10 and prof.meta["sampled_forwards"] == 5


def test_fresh_bert_under_no_grad_without_eval_reports_dropout():
    model = _bert()  # from_pretrained would call eval(); a freshly built model is in training mode
    with Monitor(model) as mon, torch.no_grad():
        out = model(input_ids=_batch())  # noqa: TL103 (planted for the runtime monitor)
    assert isinstance(out, transformers.modeling_outputs.SequenceClassifierOutput)
    report = mon.report()
    found = report.by_kind("dropout-active-at-inference")
    modules = report.modules("dropout-active-at-inference")
    assert "bert.embeddings.dropout" in modules and "dropout" in modules
    assert all(f.severity == "warning" for f in found)
    # one forgotten eval(): one row for the nn.Dropout modules, one for sdpa's dropout_p
    assert len(found) == 2 and {f.details["function"] for f in found} == {None, "F.scaled_dot_product_attention"}


def test_bert_reentrant_gradient_checkpointing_is_silent():
    """Issue 10 item 3: transformers' reentrant checkpointing runs its first forward under no_grad by design."""
    model = _bert()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    with Monitor(model, every=1) as mon:
        for _ in range(2):
            opt.zero_grad()
            model(input_ids=_batch(), labels=torch.tensor([0, 1, 0, 1])).loss.backward()
            opt.step()
    report = mon.report()
    assert not [f for f in report.findings if f.severity in ("error", "warning")], report.findings
    assert not report.summary["internal_errors"]


def test_gpt2_fresh_samples_give_no_drift(tmp_path):
    """Issue 10 item 5: the ModelOutput's scalar loss is not the root's activation, and samples must suffice."""
    model = _gpt2()

    def run(seed, reference=None):
        gen = torch.Generator().manual_seed(seed)
        with Monitor(model, every=1, reference=reference) as mon, torch.no_grad():
            for _ in range(2):
                ids = torch.randint(0, 128, (4, 16), generator=gen)
                model(input_ids=ids, labels=ids)
        return mon

    model.eval()
    path = tmp_path / "gpt2.json"
    ref = run(1).profile()
    assert ref.layers[""]["samples"] > 2  # logits, not the scalar loss
    ref.save(path)
    report = run(2, reference=str(path)).report()
    assert not report.by_kind("drift"), report.findings


def test_gpt2_model_output_is_summarised_and_eval_is_silent():
    model = _gpt2().eval()
    with Monitor(model, every=1) as mon, torch.inference_mode():
        model(input_ids=_batch())
    assert not mon.report().findings
    root = mon.profile().layers[""]
    assert root["samples"] > 0  # logits taken from the CausalLMOutput


def test_gpt2_train_in_eval_mode():
    model = _gpt2()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    model.eval()
    with Monitor(model) as mon:
        ids = _batch()
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
    assert only(mon.report(), "train-in-eval-mode").module == ""


@pytest.mark.parametrize("planted", [True, False])
def test_bert_peaked_attention_found_under_sdpa(planted):
    """Issue 10 item 7: sdpa never materialises its softmax; the monitor recomputes sampled rows."""
    model = _bert().eval()
    assert model.config._attn_implementation == "sdpa"
    if planted:
        with torch.no_grad():
            for layer in model.bert.encoder.layer:
                layer.attention.self.query.weight.mul_(100.0)
                layer.attention.self.key.weight.mul_(100.0)
    with Monitor(model, every=1) as mon, torch.no_grad():
        model(input_ids=_batch())
    report = mon.report()
    found = report.by_kind("saturation")
    assert bool(found) is planted, report.findings
    if planted:
        assert found[0].details["function"] == "F.scaled_dot_product_attention"
        assert "bert.encoder.layer.0.attention.self" in report.modules("saturation")
