from __future__ import absolute_import
from __future__ import division
from __future__ import print_function
from __future__ import unicode_literals

import torch
import torch.nn as nn
import torch.nn.functional as F


class CatEmbedder(nn.Module):
    def __init__(self, args, logger, embedders):
        super(CatEmbedder, self).__init__()
        assert args.attnnet == 'none'
        self.args = args
        self.n_emb = len(args.embeds)
        self.emb_sz = sum([x[2] for x in args.embeds])
        self.emb_names = sorted([name for name, _, _ in args.embeds])
        self.embedders = nn.ModuleDict(embedders)

    def forward(self, words):
        out = torch.cat([self.embedders[name](words) for name in self.emb_names], -1)
        if self.args.nonlin == 'relu':
            out = F.relu(out)
        if self.args.emb_dropout > 0.0:
            out = F.dropout(out, p=self.args.emb_dropout)
        return out


class ProjSumEmbedder(nn.Module):
    def __init__(self, args, logger, embedders):
        super(ProjSumEmbedder, self).__init__()
        self.args = args
        self.n_emb = len(args.embeds)
        self.emb_sz = args.proj_embed_sz
        self.emb_names = sorted([name for name, _, _ in args.embeds])
        self.embedders = nn.ModuleDict(embedders)
        self.projectors = nn.ModuleDict()

        for name, path, dim in args.embeds:
            self.projectors.update({name: nn.Linear(dim, args.proj_embed_sz)})

    def forward(self, words):
        projected = [self.projectors[name](self.embedders[name](words)) for name in self.emb_names]
        out = sum(projected)

        if self.args.nonlin == 'relu':
            out = F.relu(out)
        if self.args.emb_dropout > 0.0:
            out = F.dropout(out, p=self.args.emb_dropout)
        return out
