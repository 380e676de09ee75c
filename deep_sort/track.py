"""One person's track in one view: Kalman state, lifecycle and features not yet in the metric."""
from __future__ import annotations

import enum
from typing import List, Optional

import numpy as np

from deep_sort.detection import Detection, xyah_to_tlwh
from deep_sort.kalman_filter import KalmanFilter


class TrackState(enum.IntEnum):
    """Lifecycle: ``TENTATIVE`` until ``n_init`` hits, then ``CONFIRMED``; ``DELETED`` when a
    tentative track misses once or a confirmed one misses more than ``max_age`` frames."""

    TENTATIVE = 1
    CONFIRMED = 2
    DELETED = 3


class Track:
    """A track with state ``mean (8,)`` = ``(x, y, a, h, vx, vy, va, vh)`` and ``covariance (8, 8)``.

    Counters: ``hits`` (measurement updates, the first detection included), ``age`` (frames since
    creation), ``time_since_update`` (frames since the last update; 0 right after one).
    ``features`` holds the appearance features (each ``(D,)``) gathered since the tracker last
    handed them to its distance metric; ``detection`` is the detection of the last update.

    The numerical work may be done in batches by the tracker, which then calls
    :meth:`predicted` / :meth:`measured` with the new state; :meth:`predict` / :meth:`update` do
    the same for this track alone.
    """

    def __init__(self, mean: np.ndarray, covariance: np.ndarray, track_id: int, n_init: int,
                 max_age: int, detection: Optional[Detection] = None):
        self.mean, self.covariance = mean, covariance
        self.track_id = int(track_id)
        self.hits, self.age, self.time_since_update = 1, 1, 0
        self.state = TrackState.TENTATIVE
        self.features: List[np.ndarray] = [] if detection is None else [detection.feature]
        self.detection = detection
        self.n_init, self.max_age = n_init, max_age

    # --- state -------------------------------------------------------------------------------
    def to_tlwh(self) -> np.ndarray:
        """The filtered box ``(4,)`` as tlwh (top-left x, top-left y, width, height)."""
        return xyah_to_tlwh(self.mean[:4])

    def to_tlbr(self) -> np.ndarray:
        """The filtered box ``(4,)`` as tlbr (x1, y1, x2, y2)."""
        tlbr = self.to_tlwh()
        tlbr[2:] += tlbr[:2]
        return tlbr

    def is_tentative(self) -> bool:
        return self.state == TrackState.TENTATIVE

    def is_confirmed(self) -> bool:
        return self.state == TrackState.CONFIRMED

    def is_deleted(self) -> bool:
        return self.state == TrackState.DELETED

    # --- lifecycle ---------------------------------------------------------------------------
    def predict(self, kf: KalmanFilter) -> None:
        """Advance one frame with the Kalman motion model."""
        self.predicted(*kf.predict(self.mean, self.covariance))

    def predicted(self, mean: np.ndarray, covariance: np.ndarray) -> None:
        """Take the predicted state (computed elsewhere) and count one more frame."""
        self.mean, self.covariance = mean, covariance
        self.age += 1
        self.time_since_update += 1

    def update(self, kf: KalmanFilter, detection: Detection) -> None:
        """Correct the state with ``detection`` and record the hit."""
        self.measured(*kf.update(self.mean, self.covariance, detection.to_xyah()), detection)

    def measured(self, mean: np.ndarray, covariance: np.ndarray, detection: Detection) -> None:
        """Take the corrected state (computed elsewhere) for ``detection`` and record the hit."""
        self.mean, self.covariance = mean, covariance
        self.features.append(detection.feature)
        self.detection = detection
        self.hits += 1
        self.time_since_update = 0
        if self.state == TrackState.TENTATIVE and self.hits >= self.n_init:
            self.state = TrackState.CONFIRMED

    def mark_missed(self) -> None:
        """No detection this frame: a tentative track dies at once, a confirmed one after
        more than ``max_age`` frames without an update."""
        if self.state == TrackState.TENTATIVE or self.time_since_update > self.max_age:
            self.state = TrackState.DELETED

    def __repr__(self) -> str:
        return (f"Track(id={self.track_id}, {self.state.name.lower()}, hits={self.hits}, "
                f"since_update={self.time_since_update})")
