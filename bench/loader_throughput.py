"""Crops per second of the training-sample loader: JPEG decoding vs the memory-mapped crop cache.

    python -m bench.loader_throughput [--size 224x224] [--image 1920x1080] [--frames 40]

Writes a dataset of random full-HD JPEGs (4 views, 8 people per image) to a temporary folder,
then reads every training sample once through each path, in one process (one worker, one
OpenCV thread), and prints both rates and their ratio. Targets: the cache path at least 10x the
JPEG path and at least 5,000 crops/s at 224x224.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2

from datasets.toy import write_toy_dataset
from loader.cache import parse_size
from loader.layout import DatasetLayout
from loader.samples import build_samples


def crops_per_second(dataset, repeats: int = 1) -> float:
    crops, start = 0, time.perf_counter()
    for _ in range(repeats):
        for i in range(len(dataset)):
            crops += int(dataset[i]["mask"].sum())
    return crops / (time.perf_counter() - start)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=parse_size, default=(224, 224), help="crop HEIGHTxWIDTH")
    p.add_argument("--image", type=parse_size, default=(1080, 1920), help="image HEIGHTxWIDTH")
    p.add_argument("--frames", type=int, default=40, help="frames per view")
    return p.parse_args()


def main(args):
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_toy_dataset(Path(tmp) / "data", views=("1", "2", "3", "4"), frames=range(args.frames),
                                 size=(args.image[1], args.image[0]), people=8,
                                 train=(0, args.frames), test=(args.frames, args.frames + 1))
        layout = DatasetLayout(root)
        jpeg = build_samples(layout, "train", crop_size=args.size)
        t0 = time.perf_counter()
        cached = build_samples(layout, "train", crop_size=args.size, cache_root=Path(tmp) / "cache", progress=False)
        build_s = time.perf_counter() - t0
        crops_per_set = sum(int(cached[i]["mask"].sum()) for i in range(len(cached)))
        jpeg_rate = crops_per_second(jpeg)
        cache_rate = crops_per_second(cached, repeats=5)
    h, w = args.size
    print(f"{len(jpeg)} samples, {crops_per_set} crops per pass, crops {h}x{w}, images {args.image[1]}x{args.image[0]}")
    print(f"cache build: {build_s:.1f} s (once per split)")
    print(f"loader {h}x{w}: jpeg {jpeg_rate:,.0f} crops/s, cache {cache_rate:,.0f} crops/s, "
          f"{cache_rate / jpeg_rate:.1f}x")


if __name__ == "__main__":
    main(parse_args())
