"""Constant-velocity Kalman filter for boxes in image space, batched over tracks.

State (8,): ``(x, y, a, h, vx, vy, va, vh)``: box center, aspect ratio w/h, height and their
velocities per frame. Measurement (4,): the box as ``xyah``. Process and measurement noise
scale with the box height (Deep SORT's model: 1/20 of the height for positions, 1/160 for
velocities). Every method takes any number of leading batch dimensions: ``mean (..., 8)``,
``covariance (..., 8, 8)``.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

# 0.95 quantile of the chi-square distribution with N degrees of freedom (textbook table values):
# the gate on the squared Mahalanobis distance between a track and a measurement.
CHI2_INV_95 = {1: 3.8415, 2: 5.9915, 3: 7.8147, 4: 9.4877, 5: 11.070, 6: 12.592, 7: 14.067,
               8: 15.507, 9: 16.919}


def _add_diag(covariance: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``covariance (..., K, K)`` plus ``diag(std**2)`` for ``std (..., K)`` (a new array)."""
    k = std.shape[-1]
    out = np.array(covariance, dtype=np.float64)  # contiguous copy
    flat = out.reshape(out.shape[:-2] + (k * k,))
    flat[..., ::k + 1] += std * std  # the diagonal, as a strided view
    return out


class KalmanFilter:
    """Predict, project, update and gate box tracks; stateless apart from its noise weights."""

    def __init__(self, std_weight_position: float = 1.0 / 20, std_weight_velocity: float = 1.0 / 160):
        self.std_weight_position = std_weight_position
        self.std_weight_velocity = std_weight_velocity
        self.motion = np.eye(8)  # F: x_t = F x_{t-1} (unit time step)
        self.motion[np.arange(4), np.arange(4, 8)] = 1.0
        wp, wv = std_weight_position, std_weight_velocity
        # noise standard deviations = height * scale + offset (aspect ratio: fixed offsets)
        self._init_std = (np.array([2 * wp, 2 * wp, 0, 2 * wp, 10 * wv, 10 * wv, 0, 10 * wv]),
                          np.array([0, 0, 1e-2, 0, 0, 0, 1e-5, 0]))
        self._motion_std = (np.array([wp, wp, 0, wp, wv, wv, 0, wv]),
                            np.array([0, 0, 1e-2, 0, 0, 0, 1e-5, 0]))
        self._measure_std = (np.array([wp, wp, 0, wp]), np.array([0, 0, 1e-1, 0]))

    def initiate(self, xyah: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """A new track from measurements ``xyah (..., 4)``: mean ``(..., 8)`` (zero velocity),
        covariance ``(..., 8, 8)`` (diagonal, wide on the velocities)."""
        xyah = np.asarray(xyah, dtype=np.float64)
        mean = np.concatenate([xyah, np.zeros_like(xyah)], axis=-1)
        scale, offset = self._init_std
        std = xyah[..., 3:4] * scale + offset
        return mean, _add_diag(np.zeros(mean.shape + (8,)), std)

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """One frame ahead: ``mean (..., 8)``, ``covariance (..., 8, 8)`` -> the same shapes."""
        scale, offset = self._motion_std
        std = mean[..., 3:4] * scale + offset
        mean = mean @ self.motion.T
        return mean, _add_diag(self.motion @ covariance @ self.motion.T, std)

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """State -> measurement space: ``(..., 4)`` xyah mean and ``(..., 4, 4)`` innovation
        covariance (state covariance plus measurement noise)."""
        scale, offset = self._measure_std
        std = mean[..., 3:4] * scale + offset
        return mean[..., :4], _add_diag(covariance[..., :4, :4], std)

    def update(self, mean: np.ndarray, covariance: np.ndarray,
               xyah: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Correct the states ``(..., 8)``/``(..., 8, 8)`` with measurements ``xyah (..., 4)``."""
        projected_mean, s = self.project(mean, covariance)  # (..., 4), (..., 4, 4)
        gain = covariance[..., :, :4] @ np.linalg.inv(s)  # K = P H^T S^-1, (..., 8, 4)
        innovation = np.asarray(xyah, dtype=np.float64) - projected_mean
        mean = mean + (gain @ innovation[..., None])[..., 0]
        covariance = covariance - gain @ covariance[..., :4, :]  # P - K S K^T = P - K H P
        return mean, covariance

    def gating_distance(self, mean: np.ndarray, covariance: np.ndarray, xyah: np.ndarray,
                        only_position: bool = False) -> np.ndarray:
        """Squared Mahalanobis distances between N tracks and M measurements.

        ``mean (N, 8)``, ``covariance (N, 8, 8)``, ``xyah (M, 4)`` -> ``(N, M)``. With
        ``only_position`` only the box center is compared (2 degrees of freedom instead of 4).
        """
        mean, covariance = np.asarray(mean).reshape(-1, 8), np.asarray(covariance).reshape(-1, 8, 8)
        xyah = np.asarray(xyah, dtype=np.float64).reshape(-1, 4)
        if len(mean) == 0 or len(xyah) == 0:
            return np.zeros((len(mean), len(xyah)))
        projected_mean, s = self.project(mean, covariance)
        k = 2 if only_position else 4
        d = xyah[None, :, :k] - projected_mean[:, None, :k]  # (N, M, k)
        s_inv = np.linalg.inv(s[:, :k, :k])  # (N, k, k), symmetric positive definite
        return ((d @ s_inv) * d).sum(axis=2)
