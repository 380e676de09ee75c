"""Forward + backward time of the vectorised MvMHAT loss against the plain-loop reference.

    python -m bench.loss_speed [--batch 8] [--views 4] [--frames 2] [--people 10] [--dim 1000]

Both run in one process on the same random float32 batch (B samples of V views x T frames,
every image full of people, CPU and one thread by default), the loop version also in float32 so
that only the loop structure differs. Prints the median of each and the ratio; target >= 20x.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from models.loss_reference import LoopMvMHATLoss
from models.losses import MvMHATLoss


def median_ms(crit, feats, mask, repeats: int, device: torch.device) -> float:
    times = []
    for _ in range(repeats + 1):  # the first run is a warm-up
        x = feats.clone().requires_grad_(True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        crit(x, mask)["loss"].backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[1:])


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8, help="samples per batch")
    p.add_argument("--views", type=int, default=4)
    p.add_argument("--frames", type=int, default=2)
    p.add_argument("--people", type=int, default=10, help="people per image")
    p.add_argument("--dim", type=int, default=1000, help="feature size")
    p.add_argument("--transitive", default="conference", choices=["conference", "journal"])
    p.add_argument("--repeats", type=int, default=5, help="timed runs of the loop version")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads (0: torch's default); one thread gives stable numbers on a "
                        "shared machine, and tiny per-block ops gain little from more")
    return p.parse_args()


def main(args) -> None:
    device = torch.device(args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    shape = (args.batch, args.views * args.frames, args.people, args.dim)
    feats = torch.nn.functional.normalize(torch.randn(shape, generator=g), dim=-1).to(device)
    mask = torch.ones(shape[:3], dtype=torch.bool, device=device)
    kw = dict(transitive=args.transitive)
    fast = median_ms(MvMHATLoss(**kw), feats, mask, 10 * args.repeats, device)
    slow = median_ms(LoopMvMHATLoss(**kw, compute_dtype=torch.float32), feats, mask,
                     args.repeats, device)
    print(f"B={shape[0]} K={shape[1]} N={shape[2]} D={shape[3]} float32 on {device}, "
          f"{args.transitive} transitive term, {torch.get_num_threads()} threads")
    print(f"loss fwd+bwd: vectorised {fast:.1f} ms, loops {slow:.0f} ms, {slow / fast:.1f}x")


if __name__ == "__main__":
    main(parse_args())
