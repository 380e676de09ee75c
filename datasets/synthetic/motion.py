"""Hand-held / head-mounted camera motion: a smooth, deterministic pose per frame.

The real MvMHAT videos were filmed with wearable and hand-held cameras, so every box also moves
with the camera. ``camera_path`` turns a camera's rest pose into one pose per frame made of

* smooth panning: yaw (about the world's vertical), pitch and roll each follow a damped spring
  driven by noise, pulled back towards the rest pose (a few degrees per second, varying);
* quick head turns: now and then the camera turns by 10-30 degrees in under a second, looks there
  for a moment and turns back;
* jitter: small per-frame shake plus the bob of the camera-person's steps;
* a slow drift of the camera centre (the camera-person shuffles about but stays roughly in place)
  and a small height bob.

``level`` scales every amplitude (0 = static, 1 = a hand-held camera). Yaw and pitch are softly
limited to 45% of the field of view, so the rest pose's image centre never leaves the image and the
camera keeps looking at the area where people walk. Each term draws from its own child generator
frame by frame, so a longer scene starts with the same poses as a shorter one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets.synthetic.camera import Camera


@dataclass(frozen=True)
class MotionStyle:
    """Amplitudes of a hand-held camera at ``level = 1`` (angles in degrees, lengths in metres)."""

    pan_sigma: tuple = (6.0, 2.5, 1.2)  # stationary std of the yaw, pitch, roll wander
    pan_period: tuple = (8.0, 6.0, 10.0)  # natural period of each spring, seconds
    damping: float = 0.7  # damping ratio of the springs
    jitter: tuple = (0.2, 0.2, 0.25)  # per-frame shake std of yaw, pitch, roll
    bob: tuple = (0.35, 0.3, 0.02)  # step bob: pitch and roll amplitude, height amplitude (m)
    step_hz: tuple = (1.6, 2.0)  # step frequency range of the camera-person
    drift_sigma: tuple = (0.3, 0.3, 0.03)  # stationary std of the centre's x, y, z drift, metres
    drift_period: tuple = (25.0, 25.0, 8.0)  # seconds
    turn_gap: float = 9.0  # mean seconds between the end of a head turn and the next one
    turn_deg: tuple = (10.0, 30.0)  # head-turn amplitude range
    turn_out: tuple = (0.3, 0.9)  # seconds to turn away
    turn_hold: tuple = (0.4, 2.5)  # seconds looking there
    turn_back: tuple = (0.4, 1.0)  # seconds to turn back
    limit: float = 0.45  # yaw and pitch stay within this share of the horizontal / vertical fov


def _springs(rng: np.random.Generator, n: int, dt: float, sigma: np.ndarray, period: np.ndarray,
             damping: float) -> np.ndarray:
    """(n, K) noise-driven damped springs x'' = -w^2 x - 2 z w x' + noise, stationary std ``sigma``."""
    w = 2 * np.pi / np.asarray(period, float)
    q = 4 * damping * w ** 3 * np.asarray(sigma, float) ** 2  # white-noise intensity
    x, v = rng.normal(0, 1, len(w)) * sigma, rng.normal(0, 1, len(w)) * sigma * w
    out = np.empty((n, len(w)))
    for i in range(n):
        out[i] = x
        v = v + (-w * w * x - 2 * damping * w * v) * dt + np.sqrt(q * dt) * rng.normal(0, 1, len(w))
        x = x + v * dt
    return out


def _ease(s: np.ndarray) -> np.ndarray:
    """Smoothstep from 0 (s <= 0) to 1 (s >= 1)."""
    s = np.clip(s, 0, 1)
    return s * s * (3 - 2 * s)


def _head_turns(rng: np.random.Generator, n: int, fps: float, style: MotionStyle) -> np.ndarray:
    """(n, 2) yaw and pitch of the head turns, degrees at ``level = 1``."""
    time = np.arange(n) / fps
    out = np.zeros((n, 2))
    start = rng.exponential(style.turn_gap)
    while start < time[-1]:
        amp = rng.uniform(*style.turn_deg) * rng.choice([-1.0, 1.0])
        tilt = rng.normal(0, 0.25)  # mostly sideways, a little up or down
        t_out, hold, t_back = rng.uniform(*style.turn_out), rng.uniform(*style.turn_hold), rng.uniform(*style.turn_back)
        shape = _ease((time - start) / t_out) - _ease((time - start - t_out - hold) / t_back)
        out += shape[:, None] * amp * np.array([np.cos(tilt), np.sin(tilt)])
        start += t_out + hold + t_back + rng.exponential(style.turn_gap) + 0.5
    return out


def _soft_limit(x: np.ndarray, limit: float, knee: float = 0.7) -> np.ndarray:
    """``x`` unchanged below ``knee * limit``, then bent smoothly (C1) to stay below ``limit``."""
    a, k = np.abs(x), knee * limit
    bent = k + (limit - k) * np.tanh((a - k) / (limit - k))
    return np.sign(x) * np.where(a <= k, a, bent)


def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotations by ``angle (n,)`` radians about coordinate axis ``axis``."""
    c, s = np.cos(angle), np.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.zeros((len(angle), 3, 3))
    r[:, axis, axis] = 1
    r[:, i, i], r[:, j, j], r[:, i, j], r[:, j, i] = c, c, -s, s
    return r


def camera_path(rng: np.random.Generator, camera: Camera, n_frames: int, fps: float, level: float,
                style: MotionStyle = MotionStyle()) -> tuple:
    """Per-frame extrinsics ``R (F, 3, 3)``, ``t (F, 3)`` of ``camera`` moving about its rest pose.

    ``level`` scales every amplitude (0 gives the rest pose in every frame).
    """
    if level < 0:
        raise ValueError(f"camera motion level must be >= 0, got {level}")
    n, dt = int(n_frames), 1.0 / fps
    pan_rng, jit_rng, turn_rng, drift_rng = rng.spawn(4)
    pan = _springs(pan_rng, n, dt, np.array(style.pan_sigma), np.array(style.pan_period), style.damping)
    turns = _head_turns(turn_rng, n, fps, style)
    step_hz, step_phase = jit_rng.uniform(*style.step_hz), jit_rng.uniform(0, 2 * np.pi)
    shake = jit_rng.normal(0, 1, (n, 3)) * style.jitter
    step = 2 * np.pi * step_hz * np.arange(n) * dt + step_phase
    drift = _springs(drift_rng, n, dt, np.array(style.drift_sigma), np.array(style.drift_period), style.damping)

    w, h = camera.size
    hfov, vfov = 2 * np.arctan(w / (2 * camera.K[0, 0])), 2 * np.arctan(h / (2 * camera.K[1, 1]))
    deg = np.pi / 180 * level
    yaw = _soft_limit((pan[:, 0] + turns[:, 0]) * deg, style.limit * hfov) + shake[:, 0] * deg
    pitch = _soft_limit((pan[:, 1] + turns[:, 1]) * deg, style.limit * vfov) + shake[:, 1] * deg \
        + style.bob[0] * deg * np.sin(step)
    roll = (pan[:, 2] + shake[:, 2] + style.bob[1] * np.sin(step / 2)) * deg
    centre = camera.centre + drift * level
    centre[:, 2] += style.bob[2] * level * np.abs(np.sin(step))

    # camera-to-world C = Rz(yaw) C0 Rx(pitch) Rz(roll): pan about the world's vertical, then tilt
    # and roll about the camera's own axes; world-to-camera R = C^T
    R = np.einsum("nij,jk,nkl->nil", _rot(2, -roll) @ _rot(0, -pitch), camera.R, _rot(2, -yaw))
    t = -np.einsum("nij,nj->ni", R, centre)
    return R, t
