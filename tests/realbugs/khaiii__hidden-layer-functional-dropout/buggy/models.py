# -*- coding: utf-8 -*-


"""
Pytorch models
__author__ = 'Jamie (jamie.lim@kakaocorp.com)'
__copyright__ = 'Copyright (C) 2019-, Kakao Corp. All rights reserved.'
"""


###########
# imports #
###########
from argparse import Namespace

import torch
import torch.nn as nn
import torch.nn.functional as F

from khaiii.resource.resource import Resource


#########
# types #
#########
class HiddenLayer(nn.Module):
    """
    형태소 태깅 모델과 띄어쓰기 모델이 각각 학습하는 히든 레이어
    """
    def __init__(self, cfg: Namespace, rsc: Resource, conv_layer_len: int, is_spc: bool):
        """
        Args:
            cfg:  config
            rsc:  Resource object
            conv_layer_len:  convolution 레이어의 n-gram 타입 갯수
            is_spc:  띄어쓰기 모델 여부
        """
        super().__init__()
        setattr(cfg, 'hidden_dim',
                (cfg.embed_dim * conv_layer_len + len(rsc.vocab_out)) // 2)
        feature_dim = cfg.embed_dim * conv_layer_len
        tag_dim = 2 if is_spc else len(rsc.vocab_out)
        self.layers = nn.ModuleList([nn.Linear(feature_dim, cfg.hidden_dim),
                                     nn.Linear(cfg.hidden_dim, tag_dim)])

    def forward(self, features):    # pylint: disable=arguments-differ
        # feature => hidden
        features_drop = F.dropout(features)
        hidden_out = F.relu(self.layers[0](features_drop))
        # hidden => tag
        hidden_out_drop = F.dropout(hidden_out)
        tag_out = self.layers[1](hidden_out_drop)
        return tag_out
