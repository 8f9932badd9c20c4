"""Numerically fragile loss compositions."""

import torch
import torch.nn as nn
import torch.nn.functional as F


def losses(logits: torch.Tensor, target: torch.Tensor):
    probs = torch.sigmoid(logits)
    bce = F.binary_cross_entropy(probs, target)  # use binary_cross_entropy_with_logits(logits, ...)
    ce = nn.CrossEntropyLoss()(F.softmax(logits, dim=1), target.long())  # the loss applies log-softmax itself
    logp = torch.log(F.softmax(logits, dim=-1))  # use F.log_softmax
    return bce, ce, logp, torch.log(1 + logits.exp())
