import torch
import numpy as np


class GenerateProposals(torch.nn.Module):
    """Output object detection proposals by applying estimated bounding-box
    transformations to a set of regular boxes (called "anchors").
    """

    def __init__(self, spatial_scale=0.0625,
                 train=False,
                 rpn_pre_nms_top_n = None,
                 rpn_post_nms_top_n = None,
                 rpn_nms_thresh = None,
                 rpn_min_size = 0,
                 anchor_sizes=(32, 64, 128, 256, 512),
                 anchor_aspect_ratios=(0.5, 1, 2)):
        super(GenerateProposals, self).__init__()
        self._spatial_scale = spatial_scale
        self._train = train
        self.rpn_pre_nms_top_n = rpn_pre_nms_top_n if rpn_pre_nms_top_n is not None else (12000 if train else 6000)
        self.rpn_post_nms_top_n = rpn_post_nms_top_n if rpn_post_nms_top_n is not None else (2000 if train else 1000)
        self.rpn_nms_thresh = rpn_nms_thresh if rpn_nms_thresh is not None else 0.7
        self.rpn_min_size = rpn_min_size if rpn_min_size is not None else 0

    def forward(self, rpn_cls_probs, rpn_bbox_pred, im_height, im_width, scaling_factor, spatial_scale=None):
        if spatial_scale is None:
            spatial_scale = self._spatial_scale
        scores = rpn_cls_probs.view(rpn_cls_probs.size(0), -1)
        return rpn_bbox_pred, scores
