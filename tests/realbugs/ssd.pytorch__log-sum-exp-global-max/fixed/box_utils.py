# -*- coding: utf-8 -*-
import torch


def log_sum_exp(x):
    """Utility function for computing log_sum_exp while determining
    This will be used to determine unaveraged confidence loss across
    all examples in a batch.
    Args:
        x (Variable(tensor)): conf_preds from conf layers
    """
    return torch.logsumexp(x, 1, keepdim=True)
