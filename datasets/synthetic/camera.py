"""Pinhole cameras around the walking area, their projection and their sensor look.

``CONVENTIONS`` (also written into every ``calibration.json``) fixes units and axes. A moving
camera (``datasets.synthetic.motion``) also carries one pose per frame; ``Camera.at(frame)`` gives it,
and ``calibration.json`` stores it as described by ``PER_FRAME``.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from atomic import atomic_open

CONVENTIONS = (
    "World points are metres with the ground plane at z = 0. A world point X maps to camera "
    "coordinates Xc = R @ X + t (camera x right, y down, z forward) and to pixels "
    "(u, v) = (K @ Xc)[:2] / Xc[2], (0, 0) being the top-left corner of the top-left pixel.")
PER_FRAME = (
    "Moving cameras: cameras[view].frames[n] = {R, t} is the pose at frame n (0-based) and the "
    "camera's own R, t, centre are its rest pose, which it moves about.")
# calibration.json holds every number rounded to this many decimals (1e-9 m, 1e-9 px, R entries
# to 1e-9): far finer than any use needs (a 0.05 degree step between frames is still read to
# 1e-4 degrees), and coarse enough that the last-bit differences between CPU kinds (trigonometry
# and BLAS round differently, ~1e-15 relative) almost never reach the file.
DECIMALS = 9


def _rounded(x):
    """``x`` (array, float or nested lists of them) as plain lists rounded to ``DECIMALS``;
    adding 0.0 turns a rounded -0.0 into 0.0, so a tiny value's sign cannot show either."""
    return (np.round(np.asarray(x, dtype=np.float64), DECIMALS) + 0.0).tolist()


@dataclass(frozen=True, eq=False)
class Camera:
    """Intrinsics ``K`` (3, 3), extrinsics ``R`` (3, 3), ``t`` (3,), and the sensor's look."""

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    size: tuple  # (width, height), pixels
    gain: tuple = (1.0, 1.0, 1.0)  # per-channel (BGR) colour cast, multiplies colours
    offset: float = 0.0  # brightness added after the gain, grey levels
    noise: float = 0.0  # standard deviation of per-pixel sensor noise, grey levels
    blur: float = 0.0  # Gaussian defocus sigma, pixels (0 = sharp)
    path_R: Optional[np.ndarray] = None  # (F, 3, 3) R of every frame of a moving camera; None: static
    path_t: Optional[np.ndarray] = None  # (F, 3) t of every frame of a moving camera

    @property
    def moving(self) -> bool:
        return self.path_R is not None

    def at(self, frame: int) -> "Camera":
        """The camera as it is at ``frame``: a static camera itself, a moving one that frame's pose."""
        if self.path_R is None:
            return self
        return dataclasses.replace(self, R=self.path_R[frame], t=self.path_t[frame], path_R=None, path_t=None)

    @property
    def centre(self) -> np.ndarray:
        """(3,) camera centre in world coordinates, metres."""
        return -self.R.T @ self.t

    @property
    def focal(self) -> float:
        return float(self.K[0, 0])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) to camera coordinates (..., 3)."""
        return points @ self.R.T + self.t

    def project(self, points: np.ndarray) -> tuple:
        """World points (..., 3) to pixels (..., 2) and depth along the optical axis (...,), metres.

        Points at or behind the camera get a depth <= 0 and meaningless pixels; callers check it.
        """
        pc = self.to_camera(points)
        z = pc[..., 2]
        zs = np.where(z > 1e-6, z, 1e-6)
        u = self.K[0, 0] * pc[..., 0] / zs + self.K[0, 2]
        v = self.K[1, 1] * pc[..., 1] / zs + self.K[1, 2]
        return np.stack([u, v], axis=-1), z

    def look(self, colours: np.ndarray) -> np.ndarray:
        """Apply the colour cast and brightness to BGR colours (..., 3); returns floats 0..255."""
        return np.clip(np.asarray(colours, dtype=np.float64) * np.asarray(self.gain) + self.offset, 0, 255)

    def to_dict(self) -> dict:
        """The camera as JSON-ready lists, every float rounded to ``DECIMALS``."""
        d = {"K": _rounded(self.K), "R": _rounded(self.R), "t": _rounded(self.t),
             "image_size": list(self.size), "centre": _rounded(self.centre),
             "sensor": {"gain_bgr": _rounded(self.gain), "offset": _rounded(self.offset),
                        "noise_sigma": _rounded(self.noise), "blur_sigma": _rounded(self.blur)}}
        if self.moving:
            d["frames"] = [{"R": r, "t": t} for r, t in zip(_rounded(self.path_R), _rounded(self.path_t))]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        s, frames = d.get("sensor", {}), d.get("frames")
        path_R = np.asarray([f["R"] for f in frames], float).reshape(-1, 3, 3) if frames else None
        path_t = np.asarray([f["t"] for f in frames], float).reshape(-1, 3) if frames else None
        return cls(K=np.asarray(d["K"], float), R=np.asarray(d["R"], float), t=np.asarray(d["t"], float),
                   size=tuple(int(v) for v in d["image_size"]), gain=tuple(s.get("gain_bgr", (1, 1, 1))),
                   offset=float(s.get("offset", 0)), noise=float(s.get("noise_sigma", 0)),
                   blur=float(s.get("blur_sigma", 0)), path_R=path_R, path_t=path_t)


def look_at(eye: np.ndarray, target: np.ndarray, roll: float = 0.0) -> tuple:
    """Rotation ``R`` and translation ``t`` of a camera at ``eye`` looking at ``target`` (metres)."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    fwd = target - eye
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    c, s = np.cos(roll), np.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    R = np.stack([right, down, fwd])
    return R, -R @ eye


def make_camera(eye: Sequence[float], target: Sequence[float], size: tuple, hfov_deg: float,
                roll: float = 0.0, **look) -> Camera:
    """A camera at ``eye`` looking at ``target`` with horizontal field of view ``hfov_deg``."""
    w, h = size
    f = 0.5 * w / np.tan(np.radians(hfov_deg) / 2)
    K = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]])
    R, t = look_at(np.asarray(eye, float), np.asarray(target, float), roll)
    return Camera(K=K, R=R, t=t, size=(int(w), int(h)), **look)


def place_cameras(rng: np.random.Generator, n_views: int, size: tuple, radius: float) -> list:
    """``n_views`` cameras spread around the walking disc of ``radius`` metres.

    Each stands 1.7-2.3 radii from the centre at 2.5-7 m height, aims at its own point near the
    centre with a 45-75 degree horizontal field of view, so the views overlap only partly. Each has
    its own colour cast, brightness, noise level and (sometimes) defocus.
    """
    base = rng.uniform(0, 2 * np.pi)
    cams = []
    for i in range(n_views):
        a = base + 2 * np.pi * i / n_views + rng.uniform(-0.3, 0.3) * np.pi / max(n_views, 2)
        d = radius * rng.uniform(1.7, 2.3)
        eye = [d * np.cos(a), d * np.sin(a), rng.uniform(2.5, 7.0)]
        r, b = radius * 0.45 * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        target = [r * np.cos(b), r * np.sin(b), rng.uniform(0.3, 1.2)]
        gain = tuple(float(g) for g in np.clip(1 + rng.normal(0, 0.06, size=3), 0.85, 1.15))
        cams.append(make_camera(eye, target, size, rng.uniform(45, 75), roll=rng.normal(0, 0.03),
                                gain=gain, offset=float(rng.uniform(-30, 20)),
                                noise=float(rng.uniform(1.5, 7.0)),
                                blur=float(rng.choice([0.0, 0.0, 0.6, 0.9]))))
    return cams


def _camera_json(cam: Camera) -> str:
    """One camera as JSON: a single line, then one line per frame for a moving camera."""
    d = cam.to_dict()
    frames = d.pop("frames", None)
    if frames is None:
        return json.dumps(d)
    rows = ",\n".join(f"   {json.dumps(f)}" for f in frames)
    return json.dumps(d)[:-1] + ', "frames": [\n' + rows + "\n  ]}"


def write_calibration(path: Union[str, Path], cameras: dict, **info) -> None:
    """Write ``{view name: Camera}`` (and extra scene ``info``) as JSON, atomically; floats are
    rounded to ``DECIMALS``.

    A static camera's pose is its ``R, t``; a moving camera adds ``frames``, one ``{R, t}`` per
    frame (see ``PER_FRAME``, written into the file when any camera moves).
    """
    info = {k: _rounded(v) if isinstance(v, float) else v for k, v in info.items()}
    head = {"conventions": CONVENTIONS, **info}
    if any(cam.moving for cam in cameras.values()):
        head["extrinsics"] = PER_FRAME
    lines = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    cams = [f"  {json.dumps(name)}: {_camera_json(cam)}" for name, cam in cameras.items()]
    text = "{\n" + "\n".join(lines) + '\n "cameras": {\n' + ",\n".join(cams) + "\n }\n}\n"
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)


def read_calibration(path: Union[str, Path]) -> dict:
    """``{view name: Camera}`` from a ``calibration.json``; ``camera.at(frame)`` is its pose at a frame."""
    with open(path, "r", encoding="utf-8") as f:
        data = json.load(f)
    return {name: Camera.from_dict(d) for name, d in data["cameras"].items()}
