"""One forward pass over every crop of a padded batch, with the device-side preprocessing."""
from __future__ import annotations

import contextlib
from typing import Optional

import torch

from engine.augment import CropAugment
from loader.crops import normalize

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_context(device: torch.device, amp: str):
    """bf16/fp16 autocast on ``device``; a no-op with ``amp='none'`` (float32).

    The trainer asks for ``none`` on the CPU (the paper's float32); the tests use CPU autocast to
    exercise the mixed-precision code path without a GPU.
    """
    if amp == "none":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


def embed_crops(model: torch.nn.Module, crops: torch.Tensor, device: torch.device, amp: str = "none",
                channels_last: bool = False, augment: Optional[CropAugment] = None,
                image_index: Optional[torch.Tensor] = None) -> torch.Tensor:
    """uint8 RGB crops ``(M, 3, H, W)`` (any device) -> float32 embeddings ``(M, D)`` on ``device``.

    ``augment`` (training only) resamples the crops first; ``image_index (M,)`` names each
    crop's image for its per-image colour gain.
    """
    x = crops.to(device, non_blocking=True)
    if augment is not None and augment.enabled:
        x = augment(x.float(), image_index.to(device))
    x = normalize(x)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with autocast_context(device, amp):
        return model(x).float()


def embed_batch(model: torch.nn.Module, images: torch.Tensor, mask: torch.Tensor, device: torch.device,
                amp: str = "none", channels_last: bool = False,
                augment: Optional[CropAugment] = None) -> torch.Tensor:
    """Padded crops ``(B, K, N, 3, H, W)`` with ``mask (B, K, N)`` -> features ``(B, K, N, D)``.

    Only the real crops go through the network (one forward pass); padding rows are zero.
    ``augment``: training-time augmentation (:mod:`engine.augment`), one colour gain per image.
    """
    image_index = None
    if augment is not None and augment.enabled:
        b, k = mask.shape[:2]
        image_index = torch.arange(b * k, device=mask.device).view(b, k, 1).expand(mask.shape)[mask]  # (M,)
    feats = embed_crops(model, images[mask], device, amp, channels_last, augment, image_index)  # (M, D)
    mask = mask.to(device)
    out = feats.new_zeros(mask.shape + (feats.shape[1],))
    out[mask] = feats
    return out
