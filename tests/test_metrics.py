"""Metrics on hand-made confusion matrices, where the answers are known by hand."""

from __future__ import annotations

import math

import torch

from seg.scoring.metrics import confusion_matrix, mask_agreement, metrics_from_confusion


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    target = torch.tensor([0, 0, 1, 1, 2, 2])
    pred = torch.tensor([0, 1, 1, 1, 0, 2])
    assert confusion_matrix(target, pred, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_metrics_by_hand():
    confmat = torch.tensor([[50, 10, 0], [5, 35, 0], [0, 0, 0]])
    m = metrics_from_confusion(confmat)
    assert math.isclose(m["pixel_accuracy"], 85 / 100)
    assert math.isclose(m["iou"]["pet"], 50 / (60 + 55 - 50))
    assert math.isclose(m["iou"]["background"], 35 / (40 + 45 - 35))
    assert math.isnan(m["iou"]["border"]), "a class neither present nor predicted has no IoU"
    assert math.isclose(m["miou"], (50 / 65 + 35 / 50) / 2)


def test_a_class_predicted_but_absent_scores_zero_and_counts():
    m = metrics_from_confusion(torch.tensor([[50, 10, 0], [5, 30, 5], [0, 0, 0]]))
    assert m["iou"]["border"] == 0
    assert math.isclose(m["miou"], (50 / 65 + 30 / 50 + 0) / 3)


def test_perfect_prediction():
    m = metrics_from_confusion(torch.diag(torch.tensor([3, 4, 5])))
    assert m["pixel_accuracy"] == 1 and m["miou"] == 1


def test_mask_agreement():
    a = torch.tensor([[0, 0], [1, 2]])
    b = torch.tensor([[0, 1], [1, 2]])
    agreement = mask_agreement(a, b)
    assert agreement["pixel_agreement"] == 0.75 and agreement["pet_iou"] == 0.5
    assert mask_agreement(torch.ones(2, 2), torch.ones(2, 2))["pet_iou"] == 1.0
