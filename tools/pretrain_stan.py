"""Pre-train STAN on synthetic matrices (MvMHAT++) and score it on held-out ones.

    python -m tools.pretrain_stan [--variant transformer|rnn|fc] [--train 10000] [--val 500]
        [--epochs 15] [--lr 1e-5] [--batch-size 1] [--device cpu|cuda] [--out runs/stan/stan.pt]
        [--views 3,4] [--people 9,15] [--seed 0]

The matrices are described in :mod:`models.stan_pretrain` (defaults: the journal's sizes, 10,000
training matrices, Adam 1e-5, 15 epochs, one matrix per step; loss 10 x focal against the target
plus the symmetry, nuclear-norm and sum regularisers). ``--batch-size`` > 1 pads the matrices of a
step to the largest and averages their losses: fewer, larger steps than the journal's (faster,
not the same optimisation). At the end the STAN file is written atomically
(``models.stan.save_stan``, its settings and scores in ``meta``) and the held-out assignment F1
is printed for STAN (A symmetrised, per block threshold 0.5 then Hungarian) and for the same rule
on the noisy input matrices themselves. The defaults take hours on a CPU (the transformer attends
over all M^2 entries); ``--variant fc --train 400 --epochs 3 --people 4,6`` takes seconds.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from errors import run_main
from models.stan import STAN, STAN_VARIANTS, save_stan
from models.stan_pretrain import SyntheticSpec, evaluate_f1, pad_batch, pretrain_loss, synthetic_sample


def _pair(text: str, name: str) -> tuple:
    try:
        low, high = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--{name}: expected LOW,HIGH integers, got {text!r}") from None
    if not 1 <= low <= high:
        raise argparse.ArgumentTypeError(f"--{name}: need 1 <= LOW <= HIGH, got {text!r}")
    return low, high


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", default="transformer", choices=sorted(STAN_VARIANTS))
    p.add_argument("--train", type=int, default=10000, help="training matrices")
    p.add_argument("--val", type=int, default=500, help="held-out matrices (F1)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--lr", type=float, default=1e-5, help="Adam learning rate")
    p.add_argument("--batch-size", type=int, default=1, help="matrices per Adam step (journal: 1)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--views", type=lambda s: _pair(s, "views"), default=(3, 4), help="LOW,HIGH views per matrix")
    p.add_argument("--people", type=lambda s: _pair(s, "people"), default=(9, 15), help="LOW,HIGH people per scene")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/stan/stan.pt"), help="STAN file to write")
    args = p.parse_args(argv)
    for name in ("train", "val", "epochs", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.lr <= 0:
        p.error("--lr must be > 0")
    return args


def main(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    spec = SyntheticSpec(views=args.views, people=args.people)
    rng = np.random.default_rng(args.seed)
    train = [synthetic_sample(rng, spec) for _ in tqdm(range(args.train), desc="matrices", leave=False)]
    val = [synthetic_sample(np.random.default_rng([args.seed, 1, i]), spec) for i in range(args.val)]
    stan = STAN(args.variant).to(device).train()
    optimizer = torch.optim.Adam(stan.parameters(), lr=args.lr)
    t0 = time.perf_counter()
    order_rng = np.random.default_rng([args.seed, 2])
    steps = -(-len(train) // args.batch_size)
    for epoch in range(args.epochs):
        order = order_rng.permutation(len(train))
        total = 0.0
        for s in tqdm(range(steps), desc=f"epoch {epoch + 1}/{args.epochs}", leave=False):
            batch = [train[i] for i in order[s * args.batch_size:(s + 1) * args.batch_size]]
            p, target, valid, images = pad_batch(batch, device)
            loss = pretrain_loss(stan(p, valid), target, valid, images)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        print(f"epoch {epoch + 1}/{args.epochs}: mean loss {total / steps:.4f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    scores = evaluate_f1(stan, val, device)
    meta = {"variant": args.variant, "train": args.train, "val": args.val, "epochs": args.epochs, "lr": args.lr,
            "batch_size": args.batch_size, "views": list(args.views), "people": list(args.people),
            "seed": args.seed, "seconds": time.perf_counter() - t0, **scores}
    save_stan(args.out, stan, meta)
    print(f"held-out assignment F1 on {args.val} matrices: STAN {scores['stan_f1']:.4f}, "
          f"thresholded Hungarian on the same matrices {scores['hungarian_f1']:.4f} "
          f"(on the symmetrised matrices (P + P^T)/2: {scores['symmetrised_hungarian_f1']:.4f})")
    print(f"wrote {args.out}: {json.dumps({k: meta[k] for k in ('variant', 'train', 'epochs', 'lr')})}")
    return meta


if __name__ == "__main__":
    sys.exit(run_main(lambda: main(parse_args())))
