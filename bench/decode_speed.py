"""Crops per second from video views vs from JPEG folders: the crop cache built both ways.

    python -m bench.decode_speed [--image 1280x720] [--frames 60] [--views 4] [--size 224x224]

Generates one synthetic scene twice into a temporary folder, as JPEG folders and as mp4 views
(same seed, same boxes), then builds the training crop cache of its train split from each (every
frame decoded once, every GT box cropped and resized) in one process with one OpenCV thread, and
prints both rates, their ratio, and the bare decoding rates (frames/s) measured in this one run.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2

from datasets.synthetic.generate import generate_dataset
from loader.boxes import build_box_table
from loader.cache import build_cache, parse_size
from loader.frames import read_frames
from loader.layout import DatasetLayout


def cache_rate(root: Path, size: tuple, out: Path) -> tuple:
    """``(crops, seconds)`` of building the train split's crop cache of the dataset at ``root``."""
    layout = DatasetLayout(root)
    table = build_box_table(layout, "train", "gt")
    start = time.perf_counter()
    build_cache(table, layout, size, out, progress=False)
    return len(table), time.perf_counter() - start


def decode_rate(root: Path) -> tuple:
    """``(frames, seconds)`` of decoding every frame of every view in order."""
    layout = DatasetLayout(root)
    frames, start = 0, time.perf_counter()
    for scene in layout.scenes:
        for view in layout.views(scene):
            for _ in read_frames(layout.frame_source(scene, view), layout.frame_numbers(scene, view)):
                frames += 1
    return frames, time.perf_counter() - start


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", type=parse_size, default=(720, 1280), help="image HEIGHTxWIDTH")
    p.add_argument("--frames", type=int, default=60, help="frames per view")
    p.add_argument("--views", type=int, default=4, help="views (one video or JPEG folder each)")
    p.add_argument("--size", type=parse_size, default=(224, 224), help="crop HEIGHTxWIDTH")
    return p.parse_args()


def main(args):
    cv2.setNumThreads(1)
    settings = dict(scenes=1, views=args.views, frames=args.frames, people=(8, 8),
                    size=(args.image[1], args.image[0]), seed=0, train_fraction=0.99, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_dataset(tmp / "jpeg", **settings)
        generate_dataset(tmp / "video", video=True, **settings)
        jpeg_bytes = sum(p.stat().st_size for p in (tmp / "jpeg").rglob("*.jpg"))
        video_bytes = sum(p.stat().st_size for p in (tmp / "video").rglob("video.mp4"))
        crops, jpeg_s = cache_rate(tmp / "jpeg", args.size, tmp / "cache_jpeg")
        _, video_s = cache_rate(tmp / "video", args.size, tmp / "cache_video")
        frames, jpeg_dec = decode_rate(tmp / "jpeg")
        _, video_dec = decode_rate(tmp / "video")
    h, w = args.size
    print(f"{args.views} views x {args.frames} frames of {args.image[1]}x{args.image[0]}, {crops} crops "
          f"{h}x{w}; JPEG folders {jpeg_bytes / 1e6:.1f} MB, mp4v videos {video_bytes / 1e6:.1f} MB")
    print(f"decode only: jpeg {frames / jpeg_dec:,.0f} frames/s, video {frames / video_dec:,.0f} frames/s")
    print(f"crop cache: jpeg {crops / jpeg_s:,.0f} crops/s, video {crops / video_s:,.0f} crops/s, "
          f"video/jpeg {jpeg_s / video_s:.2f}x")


if __name__ == "__main__":
    main(parse_args())
