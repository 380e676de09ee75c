"""One detected person in one image: box, detector confidence and appearance feature."""
from __future__ import annotations

import numpy as np


class Detection:
    """A bounding box ``tlwh`` (top-left x, top-left y, width, height; pixels) with its feature.

    ``feature`` is the crop embedding, shape ``(D,)``: an L2-normalised vector (the trackers'
    cosine distances assume unit length and do not renormalise). It is stored as float32.
    """

    __slots__ = ("tlwh", "confidence", "feature")

    def __init__(self, tlwh, confidence: float, feature):
        self.tlwh = np.asarray(tlwh, dtype=np.float64).reshape(4)  # (4,) tlwh
        self.confidence = float(confidence)
        self.feature = np.asarray(feature, dtype=np.float32).reshape(-1)  # (D,)

    def to_tlbr(self) -> np.ndarray:
        """The box as ``(x1, y1, x2, y2)`` (top-left and bottom-right corners), shape ``(4,)``."""
        tlbr = self.tlwh.copy()
        tlbr[2:] += tlbr[:2]
        return tlbr

    def to_xyah(self) -> np.ndarray:
        """The box as ``(center x, center y, aspect ratio w/h, height)``, shape ``(4,)``."""
        return tlwh_to_xyah(self.tlwh)

    def __repr__(self) -> str:
        x, y, w, h = self.tlwh
        return f"Detection(tlwh=({x:.1f}, {y:.1f}, {w:.1f}, {h:.1f}), conf={self.confidence:.2f})"


def tlwh_to_xyah(tlwh: np.ndarray) -> np.ndarray:
    """Boxes ``(..., 4)`` tlwh -> ``(..., 4)`` xyah (center x, center y, w/h, h)."""
    tlwh = np.asarray(tlwh, dtype=np.float64)
    xyah = tlwh.copy()
    xyah[..., :2] += tlwh[..., 2:] / 2
    xyah[..., 2] = tlwh[..., 2] / tlwh[..., 3]
    return xyah


def xyah_to_tlwh(xyah: np.ndarray) -> np.ndarray:
    """Boxes ``(..., 4)`` xyah -> ``(..., 4)`` tlwh; the inverse of :func:`tlwh_to_xyah`."""
    xyah = np.asarray(xyah, dtype=np.float64)
    tlwh = xyah.copy()
    tlwh[..., 2] = xyah[..., 2] * xyah[..., 3]
    tlwh[..., :2] -= tlwh[..., 2:] / 2
    return tlwh
