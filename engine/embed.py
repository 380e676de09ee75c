"""The forward pass over every crop of a padded batch, with the device-side preprocessing.

Two ways through the network (config ``train.forward``): ``batched``, all crops of a step
normalised together by BatchNorm, and ``per_image``, what the released training's one pass per
image gives (8 passes per step of 4 views x 2 frames): each image's 2-10 crops normalised with
their own statistics and the running statistics updated once per image. ``per_image`` is
computed in one pass with per-image BatchNorm statistics
(:class:`models.embedding.ImageBatchNorm2d`; the same numbers as 8 passes, at the speed of one).
The two differ only where BatchNorm runs in training mode: in eval mode (validation, tracking)
they give the same features.
"""
from __future__ import annotations

import contextlib
from typing import Optional

import torch

from engine.augment import CropAugment
from loader.crops import network_input

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
FORWARDS = ("batched", "per_image")


def autocast_context(device: torch.device, amp: str):
    """bf16/fp16 autocast on ``device``; a no-op with ``amp='none'`` (float32).

    The trainer asks for ``none`` on the CPU; the tests use CPU autocast to exercise the
    mixed-precision code path without a GPU. (The released code trains and embeds under fp16
    autocast, without a gradient scaler; see ``configs/release.yaml``.)
    """
    if amp == "none":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


def embed_crops(model: torch.nn.Module, crops: torch.Tensor, device: torch.device, amp: str = "none",
                channels_last: bool = False, augment: Optional[CropAugment] = None,
                image_index: Optional[torch.Tensor] = None, pixels: str = "imagenet",
                sizes: Optional[list] = None) -> torch.Tensor:
    """uint8 RGB crops ``(M, 3, H, W)`` (any device) -> float32 embeddings ``(M, D)`` on ``device``.

    ``augment`` (training only) resamples the crops first; ``image_index (M,)`` names each
    crop's image for its per-image colour gain. ``pixels``: the network's input convention
    (:data:`loader.crops.PIXELS`). ``sizes``: crops per image, in order (they sum to M):
    BatchNorm statistics per image (see the module docstring).
    """
    x = crops.to(device, non_blocking=True)
    if augment is not None and augment.enabled:
        x = augment(x.float(), image_index.to(device))
    x = network_input(x, pixels)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with autocast_context(device, amp):
        if sizes is None:
            return model(x).float()
        return model(x, sizes=sizes).float()


def embed_batch(model: torch.nn.Module, images: torch.Tensor, mask: torch.Tensor, device: torch.device,
                amp: str = "none", channels_last: bool = False,
                augment: Optional[CropAugment] = None, pixels: str = "imagenet",
                forward: str = "batched") -> torch.Tensor:
    """Padded crops ``(B, K, N, 3, H, W)`` with ``mask (B, K, N)`` -> features ``(B, K, N, D)``.

    Only the real crops go through the network; padding rows are zero. ``augment``:
    training-time augmentation (:mod:`engine.augment`), one colour gain per image. ``forward``:
    ``batched`` or ``per_image`` (BatchNorm statistics per image; see the module docstring).
    """
    if forward not in FORWARDS:
        raise KeyError(f"unknown forward {forward!r}; valid: {list(FORWARDS)}")
    image_index = None
    if augment is not None and augment.enabled:
        b, k = mask.shape[:2]
        image_index = torch.arange(b * k, device=mask.device).view(b, k, 1).expand(mask.shape)[mask]  # (M,)
    sizes = None
    if forward == "per_image":
        counts = mask.sum(-1).flatten()  # (B * K,): crops of each image, in the order of images[mask]
        sizes = counts[counts > 0].tolist()
    feats = embed_crops(model, images[mask], device, amp, channels_last, augment, image_index, pixels,
                        sizes)  # (M, D)
    mask = mask.to(device)
    out = feats.new_zeros(mask.shape + (feats.shape[1],))
    out[mask] = feats
    return out
