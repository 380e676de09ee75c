"""The world of one synthetic scene: people walking on the ground plane, and static props.

Coordinates are metres in a right-handed world frame whose ground plane is ``z = 0``. People walk
inside a disc of radius ``radius`` around the origin; they enter and leave through a ring just
outside it. Person ``i`` (0-based) has the ground-truth id ``i + 1`` in every view of the scene.

Motion is a steered unicycle: each person heads for a waypoint with a bounded turn rate and a
slowly wandering heading, accelerates towards a personal walking speed, sometimes stops for a few
seconds, and keeps its distance from other people and from props. Entering, leaving, stopping
and turning give smooth, varied paths rather than straight lines at constant speed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from datasets.synthetic.looks import Appearance, Prop, sample_appearances, sample_props

STRIDE_M = 1.4  # ground distance of one full gait cycle (two steps), metres
ENTRY_MARGIN_M = 2.5  # the entry/exit ring lies this far outside the walking disc


@dataclass
class World:
    """Trajectories of every person of a scene (``T`` frames, ``N`` people) and its props."""

    fps: float  # frames per second
    radius: float  # radius of the walking disc, metres
    xy: np.ndarray  # (T, N, 2) ground position of the feet, metres; NaN while absent
    heading: np.ndarray  # (T, N) facing direction in the ground plane, radians from +x
    speed: np.ndarray  # (T, N) walking speed, metres per second
    phase: np.ndarray  # (T, N) gait phase, radians (legs and arms swing with sin(phase))
    people: Sequence[Appearance]  # N appearances; person i has GT id i + 1
    props: Sequence[Prop]  # static clutter standing on the ground

    @property
    def present(self) -> np.ndarray:
        """(T, N) bool: the person is in the world at that frame."""
        return ~np.isnan(self.xy[..., 0])

    @property
    def num_frames(self) -> int:
        return int(self.xy.shape[0])


def _free_point(rng: np.random.Generator, radius: float, props: Sequence[Prop],
                others: np.ndarray, min_gap: float) -> np.ndarray:
    """A uniform point of the disc that is clear of props and ``min_gap`` from ``others`` (K, 2)."""
    for _ in range(100):
        r, a = radius * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        p = np.array([r * np.cos(a), r * np.sin(a)])
        if all(np.hypot(*(p - pr.centre)) > pr.radius + 0.6 for pr in props) and (
                len(others) == 0 or np.min(np.hypot(*(others - p).T)) > min_gap):
            return p
    return p


def simulate_walks(rng: np.random.Generator, n_people: int, n_frames: int, fps: float,
                   radius: float, props: Sequence[Prop]) -> tuple:
    """Simulate ``n_people`` walkers for ``n_frames`` frames.

    Returns ``(xy (T, N, 2), heading (T, N), speed (T, N), phase (T, N))``, NaN while absent.
    About 60% of the people are inside at frame 0; the rest enter later from the entry ring;
    about a third of everyone leaves through the ring before the end.
    """
    T, N, dt = n_frames, n_people, 1.0 / fps
    ring = radius + ENTRY_MARGIN_M
    xy = np.full((T, N, 2), np.nan)
    heading, speed, phase = (np.full((T, N), np.nan) for _ in range(3))

    inside0 = rng.uniform(size=N) < 0.6
    inside0[0] = True  # nobody-present openings are dull
    enter = np.where(inside0, 0, rng.integers(1, max(2, int(0.7 * T)), size=N))
    leaves = rng.uniform(size=N) < 0.35
    leave = np.where(leaves, enter + rng.integers(max(1, T // 5), max(2, T), size=N), T + 1)
    cruise = rng.uniform(0.55, 1.7, size=N)  # preferred speed, m/s
    turn_rate = rng.uniform(1.2, 2.5, size=N)  # rad/s
    sway = rng.uniform(0, 2 * np.pi, size=N)  # phase of each person's slow speed variation

    pos = np.zeros((N, 2))
    for i in np.flatnonzero(inside0):
        pos[i] = _free_point(rng, radius, props, pos[inside0][: int(np.sum(inside0[:i]))], 1.0)
    ang_in = rng.uniform(0, 2 * np.pi, size=N)
    pos[~inside0] = ring * np.stack([np.cos(ang_in), np.sin(ang_in)], 1)[~inside0]
    target = np.stack([_free_point(rng, 0.9 * radius, props, np.zeros((0, 2)), 0) for _ in range(N)])
    head = np.arctan2(*(target - pos).T[::-1])
    vel = np.where(inside0, cruise * rng.uniform(0, 1, size=N), cruise)
    gait = rng.uniform(0, 2 * np.pi, size=N)
    wander = np.zeros(N)
    stop_left = np.zeros(N)  # seconds of standing still left
    state = np.zeros(N, dtype=int)  # 0 waiting to enter, 1 walking, 2 leaving, 3 gone
    prop_xy = np.array([p.centre for p in props]).reshape(-1, 2)
    prop_r = np.array([p.radius for p in props])

    for t in range(T):
        state[(state == 0) & (enter <= t)] = 1
        going = (state == 1) & (leave <= t)
        for i in np.flatnonzero(going):
            a = np.arctan2(pos[i, 1], pos[i, 0]) + rng.uniform(-0.8, 0.8)
            target[i] = (ring + 1.0) * np.array([np.cos(a), np.sin(a)])
            stop_left[i] = 0
        state[going] = 2
        state[(state == 2) & (np.hypot(pos[:, 0], pos[:, 1]) > ring + 0.5)] = 3
        act = np.flatnonzero((state == 1) | (state == 2))
        if act.size == 0:
            continue

        for i in act:  # waypoint logic: new target or a pause when one is reached
            if state[i] == 1 and stop_left[i] <= 0 and np.hypot(*(target[i] - pos[i])) < 0.8:
                target[i] = _free_point(rng, 0.9 * radius, props, np.zeros((0, 2)), 0)
                if rng.uniform() < 0.3:
                    stop_left[i] = rng.uniform(1.0, 4.0)
        # steering: towards the target, away from close people and props
        want = target[act] - pos[act]
        want /= np.maximum(np.linalg.norm(want, axis=1, keepdims=True), 1e-6)
        d = pos[act][:, None] - pos[act][None]  # (A, A, 2)
        dist = np.linalg.norm(d, axis=2) + np.eye(act.size) * 1e3
        push = np.sum(d / dist[..., None] * np.clip(1.6 - dist, 0, None)[..., None] * 1.5, axis=1)
        if prop_xy.size:
            dp = pos[act][:, None] - prop_xy[None]
            dpn = np.linalg.norm(dp, axis=2)
            gap = np.clip(prop_r[None] + 1.0 - dpn, 0, None)
            push += np.sum(dp / np.maximum(dpn, 1e-6)[..., None] * gap[..., None] * 3.0, axis=1)
        steer = want + push
        wander[act] = 0.9 * wander[act] + rng.normal(0, 0.25, size=act.size)
        goal = np.arctan2(steer[:, 1], steer[:, 0]) + 0.3 * wander[act]
        turn = np.angle(np.exp(1j * (goal - head[act])))
        head[act] += np.clip(turn, -turn_rate[act] * dt, turn_rate[act] * dt)

        stop_left[act] -= dt
        walk = cruise[act] * (1 + 0.15 * np.sin(0.3 * t * dt + sway[act]))  # slow speed changes
        desired = np.where(stop_left[act] > 0, 0.0, walk)
        vel[act] += np.clip(desired - vel[act], -1.2 * dt, 0.8 * dt)
        pos[act] += (vel[act] * dt)[:, None] * np.stack([np.cos(head[act]), np.sin(head[act])], 1)
        gait[act] += 2 * np.pi * vel[act] * dt / STRIDE_M

        xy[t, act], heading[t, act], speed[t, act], phase[t, act] = pos[act], head[act], vel[act], gait[act]
    return xy, heading, speed, phase


def make_world(rng: np.random.Generator, n_people: int, n_frames: int, fps: float = 10.0,
               radius: float = 8.0, n_props: Optional[int] = None) -> World:
    """Sample appearances, props and trajectories of one scene from ``rng``."""
    if n_people < 1 or n_people > 250:
        raise ValueError(f"n_people must be in 1..250, got {n_people}")
    if n_frames < 1:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
    people = sample_appearances(rng, n_people)
    props = sample_props(rng, int(rng.integers(3, 7)) if n_props is None else n_props, radius)
    xy, heading, speed, phase = simulate_walks(rng, n_people, n_frames, fps, radius, props)
    return World(fps=fps, radius=radius, xy=xy, heading=heading, speed=speed, phase=phase,
                 people=people, props=props)
