"""The transformers TrainerCallback: a tiny GPT-2 trained for 8 steps with a config typo.

    python examples/diagnose/hf_callback.py

`initializer_range=2.0` (meant: 0.02) gives weights 100x too large. Training runs and the
loss even moves, but the callback's report says what is wrong: in both blocks the attention
softmax puts almost all its mass on one token (recomputed for the `sdpa` kernel, which never
materialises it). The callback attaches at train begin, reports after each evaluation and at
train end, and writes `tensorlint/report.json` (and `report.html`) into the Trainer's
`output_dir`. Built from a config: no download. `--initializer-range 0.02` is the clean twin:
no finding.

Expected output at the end of training (the same table is printed after each evaluation
that has findings; the Trainer's own metric lines are left out):

                                   tensorlint runtime: 1 finding(s), 10 forwards (4 sampled)
    ┏━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
    ┃ severity ┃ kind       ┃ module                         ┃ count ┃ message                                             ┃
    ┡━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
    │ warning  │ saturation │ transformer.h.0.attn (+1 more) │     8 │ 2 modules, first `transformer.h.0.attn`: 95% of     │
    │          │            │                                │       │ softmax rows put almost all mass on one entry of    │
    │          │            │                                │       │ softmax (F.scaled_dot_product_attention in this     │
    │          │            │                                │       │ module), so its gradients vanish; normalise or      │
    │          │            │                                │       │ rescale the pre-activations (e.g.                   │
    │          │            │                                │       │ BatchNorm/LayerNorm, smaller init). Same cause in   │
    │          │            │                                │       │ `transformer.h.1.attn`.                             │
    └──────────┴────────────┴────────────────────────────────┴───────┴─────────────────────────────────────────────────────┘
    wrote /tmp/tensorlint-hf-XXXX/tensorlint/eval-step4.json
    wrote /tmp/tensorlint-hf-XXXX/tensorlint/eval-step8.json
    wrote /tmp/tensorlint-hf-XXXX/tensorlint/report.json
    wrote /tmp/tensorlint-hf-XXXX/tensorlint/report.html
"""

import argparse
import os
import tempfile

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments  # noqa: E402

from tensorlint.runtime.integrations.hf import TensorlintCallback  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--initializer-range", type=float, default=2.0)  # the typo: meant 0.02
    cli = parser.parse_args()
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=64, n_positions=32,
                        bos_token_id=0, eos_token_id=0, initializer_range=cli.initializer_range)
    model = GPT2LMHeadModel(config)
    g = torch.Generator().manual_seed(0)
    data = [{"input_ids": r, "labels": r} for r in (torch.randint(0, 64, (16,), generator=g) for _ in range(32))]
    out = tempfile.mkdtemp(prefix="tensorlint-hf-")
    args = TrainingArguments(output_dir=out, max_steps=8, per_device_train_batch_size=4, eval_strategy="steps",
                             eval_steps=4, save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True,
                             logging_strategy="no")  # fmt: skip
    callback = TensorlintCallback()
    Trainer(model=model, args=args, train_dataset=data, eval_dataset=data[:8], callbacks=[callback]).train()
    for path in callback.session.written:
        print("wrote", path)


if __name__ == "__main__":
    main()
