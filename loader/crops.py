"""Person crops: decode, clip, crop, resize; and the normalisation applied on the device.

:func:`image_crops` is the one path from an image of a box table to its crops, used by the
training samples, the crop cache and the feature extraction alike; the frame comes from the view's
frame source (image file or video, :mod:`loader.frames`).

Colour order is RGB everywhere after decoding (OpenCV decodes BGR; :func:`image_crops`
converts). Crops are uint8 ``(N, 3, H, W)``; what the network sees is computed on the device by
:func:`network_input`, so the data pipeline moves 4x fewer bytes than with float crops. Three
pixel conventions (``PIXELS``, config ``data.pixels``): ``imagenet``
``(crop / 255 - IMAGENET_MEAN) / IMAGENET_STD`` in RGB order (what torchvision's ImageNet weights
were trained on), ``inception`` ``(crop / 255 - 0.5) / 0.5`` in RGB order (what the journal code's
ViT-S/16 weights, timm's ``augreg``, were trained on), and ``bgr255`` the released MvMHAT code's
input: OpenCV's BGR order, float 0-255, no normalisation.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional, Tuple, Union

import cv2
import numpy as np
import torch

from loader.layout import DatasetError

if TYPE_CHECKING:  # loader.boxes imports this module
    from loader.boxes import BoxTable
    from loader.layout import DatasetLayout

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # RGB
IMAGENET_STD = (0.229, 0.224, 0.225)  # RGB


def read_image(path: Union[str, Path], flags: int = cv2.IMREAD_COLOR,
               size: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """Decode an image file as ``cv2.imread(path, flags)`` does (colour: BGR), checked: a file that
    cannot be decoded, a JPEG cut short (which libjpeg fills with grey and only warns about, without
    the file's name) and, given ``size = (width, height)``, an image of another size raise
    :class:`~loader.layout.DatasetError` naming the file."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except FileNotFoundError:
        raise FileNotFoundError(f"image not found: {path}") from None
    if jpeg_cut_short(data.tobytes()):
        raise DatasetError(f"{path}: corrupt JPEG: the file ends before its end-of-image marker (cut short?)")
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise DatasetError(f"{path}: cannot decode the image (not an image file, or corrupt)")
    if size is not None and (image.shape[1], image.shape[0]) != tuple(size):
        raise DatasetError(f"{path}: image is {image.shape[1]}x{image.shape[0]}, but this view's first frame is "
                           f"{size[0]}x{size[1]}; every image of a view must have one size")
    return image


def jpeg_cut_short(data: bytes) -> bool:
    """True for JPEG bytes with no end-of-image marker (FF D9) after the start of their last scan
    (FF DA): the marker cannot occur inside scan data, which byte-stuffs every FF."""
    if data[:2] != b"\xff\xd8":
        return False  # not a JPEG
    return data.find(b"\xff\xd9", max(data.rfind(b"\xff\xda"), 0)) < 0


def clip_boxes(tlwh: np.ndarray, width: int, height: int) -> np.ndarray:
    """Integer pixel rectangles ``(N, 4)`` as ``x1, y1, x2, y2`` (exclusive end), clipped to the image.

    The rectangle covers every pixel the box touches: ``floor(x)`` to ``ceil(x + w)``. A box
    entirely outside the image gets ``x2 <= x1`` or ``y2 <= y1`` (see :func:`boxes_inside`).
    """
    tlwh = np.asarray(tlwh, dtype=np.float64).reshape(-1, 4)
    x1 = np.clip(np.floor(tlwh[:, 0]), 0, width)
    y1 = np.clip(np.floor(tlwh[:, 1]), 0, height)
    x2 = np.clip(np.ceil(tlwh[:, 0] + tlwh[:, 2]), 0, width)
    y2 = np.clip(np.ceil(tlwh[:, 1] + tlwh[:, 3]), 0, height)
    return np.stack([x1, y1, x2, y2], axis=1).astype(np.int64)


def boxes_inside(tlwh: np.ndarray, width: int, height: int) -> np.ndarray:
    """Boolean ``(N,)``: the box keeps at least one pixel after clipping to the image."""
    r = clip_boxes(tlwh, width, height)
    return (r[:, 2] > r[:, 0]) & (r[:, 3] > r[:, 1])


def crop_boxes(image: np.ndarray, tlwh: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Crop every box of ``image`` ``(H, W, 3)`` and resize to ``size = (height, width)``.

    Returns uint8 ``(N, 3, height, width)``, channel order as in ``image``. Boxes are clipped to
    the image first; a box with no pixel inside the image is an error (filter them beforehand).
    """
    out_h, out_w = size
    rects = clip_boxes(tlwh, image.shape[1], image.shape[0])
    out = np.empty((len(rects), 3, out_h, out_w), dtype=np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(rects):
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f"box {np.asarray(tlwh)[i].tolist()} has no pixel inside the "
                             f"{image.shape[1]}x{image.shape[0]} image")
        patch = cv2.resize(image[y1:y2, x1:x2], (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        out[i] = patch.transpose(2, 0, 1)
    return out


def image_crops(table: BoxTable, layout: DatasetLayout, scene: str, view: str, frame: int,
                size: Tuple[int, int]) -> np.ndarray:
    """uint8 RGB crops ``(n, 3, height, width)`` of the ``n`` boxes of one image, in table-row
    order (``table.rows(scene, view, frame)``), decoded from the view's image file or video
    (:meth:`~loader.layout.DatasetLayout.read_frame`: read a video view's frames in order)."""
    start, end = table.rows(scene, view, frame)
    image = layout.read_frame(scene, view, frame, size=table.image_sizes.get((scene, view)))
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return crop_boxes(image, table.tlwh[start:end], size)


def normalize(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 RGB ``(..., 3, H, W)`` -> ImageNet-normalised float of ``dtype``, on ``images.device``."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device, dtype=torch.float32).view(3, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD, device=images.device, dtype=torch.float32).view(3, 1, 1) * 255.0
    return ((images.float() - mean) / std).to(dtype)


def inception(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 RGB ``(..., 3, H, W)`` -> ``(x / 255 - 0.5) / 0.5`` (in [-1, 1]) of ``dtype``: timm's
    normalisation of the ViT weights the journal code starts from."""
    return (images.float() / 127.5 - 1.0).to(dtype)


def bgr255(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 RGB ``(..., 3, H, W)`` -> float BGR 0-255 of ``dtype`` (the released code's input)."""
    return images.flip(-3).to(dtype)


# data.pixels -> the function that turns RGB 0-255 crops into the network's input
PIXELS = {"imagenet": normalize, "inception": inception, "bgr255": bgr255}


def network_input(images: torch.Tensor, pixels: str = "imagenet", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """RGB 0-255 crops ``(..., 3, H, W)`` (uint8, or float after augmentation) -> the network's
    input under the pixel convention ``pixels`` (a key of ``PIXELS``)."""
    try:
        convert = PIXELS[pixels]
    except KeyError:
        raise KeyError(f"unknown pixel convention {pixels!r}; valid: {sorted(PIXELS)}") from None
    return convert(images, dtype)
