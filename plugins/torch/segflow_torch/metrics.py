"""Scores reported by the training stages, in plain numpy (no sklearn dependency).

Classes with nothing to score (no positives for AP, no pixels for IoU) are left out of
the means rather than counted as 0 or 1; a mean over nothing is NaN (sent as null).
"""

import numpy as np


def average_precision(scores, targets):
    """AP of one class: mean precision at the rank of each positive (ties: stable order)."""
    order = np.argsort(-scores, kind="stable")
    hits = targets[order] > 0.5
    if not hits.any():
        return float("nan")
    ranks = np.arange(1, len(hits) + 1)
    precision = np.cumsum(hits) / ranks
    return float(precision[hits].mean())


def multilabel_scores(probs, targets, threshold=0.5):
    """mAP, macro F1 and micro F1 at `threshold` for (N, C) probabilities and 0/1 targets."""
    if len(probs) == 0:
        return {"map": float("nan"), "f1": float("nan"), "f1_micro": float("nan")}
    aps = [average_precision(probs[:, c], targets[:, c]) for c in range(probs.shape[1])]
    aps = [a for a in aps if a == a]
    pred = probs >= threshold
    truth = targets > 0.5
    tp = (pred & truth).sum(axis=0).astype(np.float64)
    fp = (pred & ~truth).sum(axis=0).astype(np.float64)
    fn = (~pred & truth).sum(axis=0).astype(np.float64)
    active = (tp + fp + fn) > 0
    f1 = 2 * tp[active] / (2 * tp[active] + fp[active] + fn[active])
    denom = 2 * tp.sum() + fp.sum() + fn.sum()
    return {
        "map": float(np.mean(aps)) if aps else float("nan"),
        "f1": float(f1.mean()) if active.any() else float("nan"),
        "f1_micro": float(2 * tp.sum() / denom) if denom > 0 else float("nan"),
    }


def confusion(pred, truth, num_classes, ignore=255):
    """(C, C) confusion counts (rows = truth) over pixels whose truth is not `ignore`."""
    keep = truth != ignore
    index = truth[keep].astype(np.int64) * num_classes + pred[keep].astype(np.int64)
    return np.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def segmentation_scores(matrix):
    """mIoU over classes present in truth or prediction, and pixel accuracy."""
    matrix = matrix.astype(np.float64)
    tp = np.diag(matrix)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - tp
    present = union > 0
    total = matrix.sum()
    iou = np.where(present, tp / np.maximum(union, 1), np.nan)
    return {
        "miou": float(iou[present].mean()) if present.any() else float("nan"),
        "pixel_acc": float(tp.sum() / total) if total > 0 else float("nan"),
        "iou": iou,
    }
