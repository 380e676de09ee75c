"""The built-in person detector: a torchvision COCO detector run over a view's frames.

Detectors (``DETECTORS``) are torchvision's COCO models; only class ``PERSON`` (COCO category 1
in torchvision's label numbering) is kept. Weights come from a given file or, by default, from the
local torch hub cache (``<torch hub dir>/checkpoints/<file name of torchvision's URL>``): nothing
is ever downloaded, and a missing file is an error that says which file to put where. Frames are
read in order from the view's frame source (image folder or video, :mod:`loader.frames`) and
detected in batches on the given device. Output rows are MOT detections
``frame, -1, x, y, w, h, score, -1, -1, -1`` (box ``tlwh`` in pixels, clipped to the image).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from torchvision.models import detection as tvd
from tqdm import tqdm

from errors import KnownError, UnknownNameError
from models.hub import hub_path, weights_file
from loader.frames import FrameSource, read_frames
from loader.mot import corners_to_tlwh

PERSON = 1  # COCO "person" in torchvision's detection label numbering

# name -> (constructor, torchvision weights enum whose URL names the file in the torch cache)
DETECTORS = {
    "fasterrcnn_resnet50_fpn_v2": (tvd.fasterrcnn_resnet50_fpn_v2, tvd.FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1),
    "fasterrcnn_resnet50_fpn": (tvd.fasterrcnn_resnet50_fpn, tvd.FasterRCNN_ResNet50_FPN_Weights.COCO_V1),
    "retinanet_resnet50_fpn_v2": (tvd.retinanet_resnet50_fpn_v2, tvd.RetinaNet_ResNet50_FPN_V2_Weights.COCO_V1),
    "fcos_resnet50_fpn": (tvd.fcos_resnet50_fpn, tvd.FCOS_ResNet50_FPN_Weights.COCO_V1),
    "ssdlite320_mobilenet_v3_large": (tvd.ssdlite320_mobilenet_v3_large,
                                      tvd.SSDLite320_MobileNet_V3_Large_Weights.COCO_V1),
}
DEFAULT_DETECTOR = "fasterrcnn_resnet50_fpn_v2"


class DetectorWeightsError(KnownError, RuntimeError):
    """Detector weights that are missing or do not fit; the message says which file goes where."""


def _entry(name: str) -> tuple:
    try:
        return DETECTORS[name]
    except KeyError:
        raise UnknownNameError(f"unknown detector {name!r}; valid: {sorted(DETECTORS)}") from None


def make_detector(name: str = DEFAULT_DETECTOR, **kwargs) -> torch.nn.Module:
    """The detector ``name`` with random weights (no file read, nothing downloaded), in eval mode;
    ``kwargs`` go to the torchvision constructor (e.g. ``min_size``)."""
    build, _ = _entry(name)
    return build(weights=None, weights_backbone=None, num_classes=91, **kwargs).eval()


def cached_weights_path(name: str) -> Path:
    """Where the COCO weights of detector ``name`` lie in the local torch hub cache."""
    return hub_path(_entry(name)[1].url)


def load_detector(name: str = DEFAULT_DETECTOR, weights: Union[str, Path, None] = None,
                  device: Union[str, torch.device] = "cpu") -> torch.nn.Module:
    """The detector ``name`` with the state dict of ``weights`` (default: the torch-cache file) on
    ``device``, in eval mode. A missing file or one that does not fit is a
    :class:`DetectorWeightsError` naming it."""
    model = make_detector(name)
    url = _entry(name)[1].url
    path = weights_file(weights, hub_path(url), f"the weights of detector {name}" if weights is None
                        else "detector weights", url, "or pass the file with --detector-weights FILE, or give "
                        "detections with --detections DIR", DetectorWeightsError)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
            state = state["model"]  # a torchvision reference-scripts training checkpoint
        model.load_state_dict(state)
    except Exception as e:  # unreadable file, wrong architecture: say which file and what it is for
        raise DetectorWeightsError(f"{path}: not a state dict of torchvision's {name} ({type(e).__name__}: "
                                   f"{str(e).splitlines()[0][:300]})") from None
    return model.to(device).eval()


def to_rows(outputs: Sequence[dict], frames: Sequence[int], size: Tuple[int, int], min_score: float = 0.5,
            label: int = PERSON) -> np.ndarray:
    """MOT detection rows ``(M, 10)`` from torchvision detector outputs, one per frame.

    ``outputs[i]`` holds ``boxes`` ``(K, 4)`` x1, y1, x2, y2 in pixels, ``labels`` ``(K,)`` and
    ``scores`` ``(K,)`` of frame ``frames[i]``; ``size = (width, height)`` of the image. Kept: boxes
    of class ``label`` with ``score >= min_score``, clipped to the image, with a positive width
    and height after clipping. Row: ``frame, -1, x, y, w, h, score, -1, -1, -1``; rows keep the
    detector's order within a frame.
    """
    if len(outputs) != len(frames):
        raise ValueError(f"{len(outputs)} outputs for {len(frames)} frames")
    rows = []
    for out, frame in zip(outputs, frames):
        boxes = torch.as_tensor(out["boxes"]).detach().cpu().double().numpy().reshape(-1, 4)
        labels = torch.as_tensor(out["labels"]).detach().cpu().numpy().reshape(-1)
        scores = torch.as_tensor(out["scores"]).detach().cpu().double().numpy().reshape(-1)
        tlwh, inside = corners_to_tlwh(boxes, *size)
        keep = (labels == label) & (scores >= min_score) & inside
        r = np.full((int(keep.sum()), 10), -1.0)
        r[:, 0] = frame
        r[:, 2:6] = tlwh[keep]
        r[:, 6] = scores[keep]
        rows.append(r)
    return np.concatenate(rows) if rows else np.zeros((0, 10))


@torch.no_grad()
def detect_frames(model: torch.nn.Module, source: FrameSource, frames: Sequence[int],
                  device: Union[str, torch.device] = "cpu", batch_size: int = 4, min_score: float = 0.5,
                  progress: bool = True, desc: str = "detect") -> np.ndarray:
    """Detect people on ``frames`` of ``source`` (read in increasing order), ``batch_size`` frames
    per forward pass on ``device``; MOT rows as :func:`to_rows` gives them."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device)
    model.eval()
    frames = sorted(int(f) for f in frames)
    rows, batch, numbers, size = [], [], [], None

    def flush():
        inputs = [torch.from_numpy(img).to(device).permute(2, 0, 1).float().div_(255.0) for img in batch]
        rows.append(to_rows(model(inputs), numbers, size, min_score))
        batch.clear()
        numbers.clear()

    for frame, image in tqdm(read_frames(source, frames), total=len(frames), desc=desc, disable=not progress,
                             unit="frame"):
        size = size or (image.shape[1], image.shape[0])
        batch.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        numbers.append(frame)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return np.concatenate(rows) if rows else np.zeros((0, 10))

