import torch as th
from transformers import GPT2Config

from ..model import GPT2LMNoBiasModel
from .metrics import estimate_loss


def main(cfg, device, ctx, train_dataloader, val_dataloader, get_batch, eval_iters):
    config = GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.n_positions, n_embd=cfg.n_embd,
                        n_layer=cfg.n_layer, n_head=cfg.n_head, resid_pdrop=cfg.dropout,
                        embd_pdrop=cfg.dropout)
    config.bias = False
    raw_model = GPT2LMNoBiasModel(config)
    raw_model.to(device)
    optimizer = th.optim.AdamW(raw_model.parameters(), lr=cfg.lr)
    model = th.compile(raw_model, disable=cfg.no_compile)

    # training loop
    X, Y = get_batch()  # fetch the very first batch
    iter_num = 0
    while True:
        # evaluate the loss on train/val sets and write checkpoints
        if iter_num % cfg.eval_interval == 0:
            model.eval()
            losses = estimate_loss(
                model,
                ctx,
                loaders=[("train", train_dataloader), ("val", val_dataloader)],
                eval_iters=eval_iters,
            )
            model.train()
            print("step {}: train loss {:.4f}, val loss {:.4f}".format(
                iter_num, losses["loss/train"], losses["loss/val"]))

        with ctx:
            output = model(input_ids=X, labels=Y)
            loss = output.loss
        X, Y = get_batch()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

        iter_num += 1
        if iter_num > cfg.max_iters:
            break
