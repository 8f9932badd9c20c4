# *_*coding:utf-8 *_*
import numpy as np
import torch
from torch.autograd import Variable
from tqdm import tqdm
from collections import defaultdict


def test_semseg(model, loader, num_classes = 8, gpu=True, generate_ply=False):
    metrics = defaultdict(lambda:list())
    for batch_id, (index, points, label_face, label_face_onehot, name, raw_points_face) in tqdm(enumerate(loader), total=len(loader), smoothing=0.9):
        batchsize, num_point, _ = points.size()
        coordinate = points.transpose(2,1)
        label_face = label_face[:, :, 0]

        coordinate, label_face = Variable(coordinate.float()), Variable(label_face.long())
        coordinate, label_face = coordinate.cuda(), label_face.cuda()

        with torch.no_grad():
               pred = model(coordinate)

        pred = pred.contiguous().view(-1, num_classes)
        label_face = label_face.view(-1, 1)[:, 0]
        pred_choice = pred.data.max(1)[1]
        correct = pred_choice.eq(label_face.data).cpu().sum()
        metrics['accuracy'].append(correct.item()/ (batchsize * num_point))
    metrics['accuracy'] = np.mean(metrics['accuracy'])
    return metrics
