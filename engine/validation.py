"""Validation: the self-supervised loss on held-out samples and, where identities exist, a
label-based cross-view association accuracy (a diagnostic: it reads ground-truth identities, so
it chooses the checkpoint only when asked to, ``train.select=val_assoc_acc``).

Association accuracy: for every sample, frame and pair of views, the people of the two images
are matched by the Hungarian algorithm on their cosine similarity; the accuracy is the fraction of
matched pairs whose identities agree (summed over the whole split before dividing). People seen
in only one of the two views make a perfect score impossible, equally for every model.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from engine.embed import embed_batch


def association_counts(features: np.ndarray, mask: np.ndarray, ids: np.ndarray, frames: int) -> tuple:
    """``(correct, matched)`` pairs of one sample: features ``(K, N, D)``, images view-major."""
    k = features.shape[0]
    correct = matched = 0
    for t in range(frames):
        images = list(range(t, k, frames))
        for i, a in enumerate(images):
            for b in images[i + 1:]:
                fa, fb = features[a][mask[a]], features[b][mask[b]]
                if len(fa) == 0 or len(fb) == 0:
                    continue
                rows, cols = linear_sum_assignment(-(fa @ fb.T))
                correct += int((ids[a][mask[a]][rows] == ids[b][mask[b]][cols]).sum())
                matched += len(rows)
    return correct, matched


@torch.no_grad()
def validate(model: torch.nn.Module, loader, loss_fn: torch.nn.Module, device: torch.device, frames: int,
             amp: str = "none", channels_last: bool = False, pixels: str = "imagenet") -> dict:
    """Mean validation loss (and its terms) and association accuracy (None without identities).

    The model runs in eval mode (BatchNorm's running statistics), so one forward pass per batch
    gives what one pass per image would."""
    was_training = model.training
    model.eval()
    sums: dict = {}
    batches = correct = matched = 0
    has_ids = True
    for batch in loader:
        feats = embed_batch(model, batch["images"], batch["mask"], device, amp, channels_last, pixels=pixels)
        mask = batch["mask"].to(device)
        for key, value in loss_fn(feats, mask).items():
            sums[key] = sums.get(key, 0.0) + float(value)
        batches += 1
        ids = batch["ids"].numpy()
        has_ids &= bool((ids[batch["mask"].numpy()] >= 0).all())
        f, m = feats.cpu().numpy(), batch["mask"].numpy()
        for i in range(len(f)):
            c, n = association_counts(f[i], m[i], ids[i], frames)
            correct, matched = correct + c, matched + n
    model.train(was_training)
    out = {f"val_{k}": v / max(1, batches) for k, v in sums.items()}
    out["val_assoc_acc"] = correct / matched if has_ids and matched else None
    return out
