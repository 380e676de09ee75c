"""Time per rendered frame of the synthetic dataset generator, measured in one run.

    taskset -c 0 python -m bench.synthetic_speed [--scenes 4 --views 4 --frames 300 --size 640x360]
        [--camera-motion 1]

Generates the dataset (default: the documented default size) into a temporary folder, or into
``--out`` when given, in this one process with one OpenCV thread, and prints the total wall time
and the time per rendered frame (render, JPEG encode, write, GT and det), wall and CPU (the CPU
time is what to compare when other programs share the core). Target: the default
4 scenes x 4 views x 300 frames at 640x360 in under 2 minutes on one core, with static cameras
and with ``--camera-motion 1`` (hand-held cameras).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from datasets.synthetic.generate import parse_pair, generate_dataset


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenes", type=int, default=4)
    p.add_argument("--views", type=int, default=4)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--size", type=lambda s: parse_pair(s, "x"), default=(640, 360), help="WxH")
    p.add_argument("--camera-motion", type=float, default=0.0, help="hand-held camera motion level (0: static)")
    p.add_argument("--out", default=None, help="keep the dataset here (default: a temporary folder)")
    return p.parse_args()


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "synthetic"
        cpu = time.process_time()
        s = generate_dataset(out, scenes=args.scenes, views=args.views, frames=args.frames,
                             size=args.size, seed=0, progress=False, camera_motion=args.camera_motion)
        cpu = time.process_time() - cpu
    n = s["rendered_frames"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{args.scenes} scenes x {args.views} views x {args.frames} frames at {args.size[0]}x{args.size[1]}, "
          f"camera motion {args.camera_motion:g}, {cores} core(s) allowed, 1 process")
    print(f"total {s['seconds']:.1f} s wall ({cpu:.1f} s CPU), {1000 * s['seconds'] / n:.2f} ms wall "
          f"({1000 * cpu / n:.2f} ms CPU) per rendered frame, {s['gt_boxes']} GT boxes, {s['det_boxes']} detections")


if __name__ == "__main__":
    main(parse_args())
