import time

import numpy as np
import torch
import torch.nn as nn

from MinkowskiEngine import SparseTensor
from util.util import AverageMeter, intersectionAndUnionGPU
from models.disnet import DisNet as Model


def main_worker(gpu, args, train_loader, val_loader, optimizer):
    model = get_model(args)
    model = model.cuda()
    criterion = nn.CrossEntropyLoss(ignore_index=args.ignore_label).cuda(gpu) # for evaluation

    # ####################### Distill ####################### #
    for epoch in range(args.start_epoch, args.epochs):
        loss_train = distill(train_loader, model, optimizer, epoch, args)
        epoch_log = epoch + 1

        if args.evaluate and (epoch_log % args.eval_freq == 0):
            loss_val, mIoU_val = validate(val_loader, model, criterion, args)


def get_model(cfg):
    '''Get the 3D model.'''

    model = Model(cfg=cfg)
    return model


def distill(train_loader, model, optimizer, epoch, args):
    '''Distillation pipeline.'''

    torch.backends.cudnn.enabled = True
    loss_meter = AverageMeter()

    model.train()
    end = time.time()

    # start the distillation process
    for i, batch_data in enumerate(train_loader):
        (coords, feat, label_3d, feat_3d, mask) = batch_data
        coords[:, 1:4] += (torch.rand(3) * 100).type_as(coords)
        sinput = SparseTensor(
            feat.cuda(non_blocking=True), coords.cuda(non_blocking=True))
        feat_3d, mask = feat_3d.cuda(
            non_blocking=True), mask.cuda(non_blocking=True)

        output_3d = model(sinput)
        output_3d = output_3d[mask]
        loss = (1 - torch.nn.CosineSimilarity()(output_3d, feat_3d)).mean()

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_meter.update(loss.item(), args.batch_size)
    return loss_meter.avg


def validate(val_loader, model, criterion, args):
    '''Validation.'''

    torch.backends.cudnn.enabled = False
    loss_meter = AverageMeter()
    intersection_meter = AverageMeter()
    union_meter = AverageMeter()

    with torch.no_grad():
        for batch_data in val_loader:
            (coords, feat, label, inds_reverse) = batch_data
            sinput = SparseTensor(
                feat.cuda(non_blocking=True), coords.cuda(non_blocking=True))
            label = label.cuda(non_blocking=True)
            output = model(sinput)
            output = output[inds_reverse, :]
            loss = criterion(output, label)
            output = torch.max(output, 1)[1]

            intersection, union, target = intersectionAndUnionGPU(output, label.detach(),
                                                                  args.classes, args.ignore_label)
            intersection_meter.update(intersection.cpu().numpy())
            union_meter.update(union.cpu().numpy())
            loss_meter.update(loss.item(), args.batch_size)

    iou_class = intersection_meter.sum / (union_meter.sum + 1e-10)
    mIoU = np.mean(iou_class)
    return loss_meter.avg, mIoU
