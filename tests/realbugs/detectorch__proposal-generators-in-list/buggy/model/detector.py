import torch
from model.generate_proposals import GenerateProposals


class rpn_head(torch.nn.Module):
    def __init__(self,in_channels=1024,out_channels=1024,n_anchors=15):
        super(rpn_head, self).__init__()
        self.conv_rpn = torch.nn.Conv2d(in_channels,out_channels,3,1,1)
        self.rpn_cls_prob = torch.nn.Conv2d(out_channels,n_anchors,1,1,0)
        self.rpn_bbox_pred = torch.nn.Conv2d(out_channels,4*n_anchors,1,1,0)

    def forward(self, x):
        conv_rpn = torch.nn.functional.relu(self.conv_rpn(x), inplace=True)
        rpn_cls_prob = torch.nn.functional.sigmoid(self.rpn_cls_prob(conv_rpn))
        rpn_bbox_pred = self.rpn_bbox_pred(conv_rpn)
        return rpn_cls_prob,rpn_bbox_pred


class detector(torch.nn.Module):
    def __init__(self,
                 train=False,
                 use_rpn_head = False,
                 use_fpn_body = False,
                 fpn_extra_lvl = True,
                 roi_spatial_scale = 0.0625):
        super(detector, self).__init__()
        self.roi_spatial_scale = [float(i) for i in roi_spatial_scale] if isinstance(roi_spatial_scale, list) else float(roi_spatial_scale)
        self.train=train
        self.use_fpn_body = use_fpn_body
        self.fpn_extra_lvl = fpn_extra_lvl
        self.use_rpn_head = use_rpn_head

        ## Create heads
        # RPN head
        if self.use_rpn_head and not self.use_fpn_body:
            self.rpn = rpn_head()
            self.proposal_generator = GenerateProposals(train=self.train)
        if self.use_rpn_head and self.use_fpn_body:
            self.rpn = rpn_head(in_channels=256,out_channels=256,n_anchors=3)
            spatial_scales = self.roi_spatial_scale
            if self.fpn_extra_lvl:
                spatial_scales = spatial_scales + [spatial_scales[-1]/2.]
            self.proposal_generator = [GenerateProposals(train=self.train,
                                                         spatial_scale=spatial_scales[i],
                                                         anchor_sizes=(32*2**i,),
                                                         rpn_pre_nms_top_n=12000 if self.train else 1000,
                                                         rpn_post_nms_top_n=2000 if self.train else 1000) for i in range(len(spatial_scales))]

    def forward(self, img_features_tmp, h, w, scaling_factor=None):
        cls_and_bbox = [self.rpn(img_features_tmp[i]) for i in range(len(img_features_tmp))]
        rois_and_probs = [self.proposal_generator[i](cls_and_bbox[i][0],cls_and_bbox[i][1],h,w,scaling_factor) for i in range(len(img_features_tmp))]
        rois = [item[0] for item in rois_and_probs]
        rpn_roi_probs = [item[1] for item in rois_and_probs]
        return rois, rpn_roi_probs
