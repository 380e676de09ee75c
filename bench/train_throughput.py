"""Training throughput: our full step against ResNet's plain forward + backward, same crops.

    python -m bench.train_throughput                       # CPU, small size (under a minute)
    python -m bench.train_throughput --device cuda --size 224 --samples 8 --steps 30   # GPU, paper size
    python -m bench.train_throughput --device cuda --size 224 --samples 8 --steps 30 --compile  # + torch.compile

Our step = normalisation on the device, one forward pass over all B x V x T x N crops, the three
MvMHAT losses, backward, Adam (bf16 autocast and channels_last on CUDA). The ceiling = the same
backbone's forward + backward with cross-entropy on random labels over the same number of crops
at the same size and precision, with the same optimiser. Both run in this one process on random
uint8 crops (the loader is measured by bench.loader_throughput). Target on a GPU: >= 85%.

``--per-image``: our step once more with ``train.forward=per_image`` (configs/release.yaml's
BatchNorm statistics per image), against the same ceiling. ``--compile``: then ours (batched
forward) and the ceiling once more with their backbones under ``torch.compile`` (what
``train.compile`` does, :func:`engine.trainer.compile_backbone`), printed after the eager figures
so that a compilation stopped by a time limit loses nothing measured before it. Stretch target:
our compiled step >= 85% of the compiled ceiling.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from engine.distributed import resolve_device
from engine.embed import autocast_context
from engine.trainer import compile_backbone, optimisation_step
from loader.crops import normalize
from models.embedding import build_model
from models.losses import MvMHATLoss


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(step, steps: int, warmup: int, device) -> float:
    for _ in range(warmup):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return (time.perf_counter() - start) / steps


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--backbone", default=None, help="default: resnet50 on CUDA, resnet18 on CPU")
    p.add_argument("--size", type=int, default=None, help="square crop size (default: 224 CUDA, 64 CPU)")
    p.add_argument("--samples", type=int, default=None, help="B samples per step (default: 8 CUDA, 1 CPU)")
    p.add_argument("--people", type=int, default=10, help="people per image (4 views x 2 frames)")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default: 30 CUDA, 3 CPU)")
    p.add_argument("--amp", default="bf16", choices=["bf16", "fp16", "none"])
    p.add_argument("--per-image", action="store_true",
                   help="also time our step with train.forward=per_image (the release's per-image BatchNorm)")
    p.add_argument("--compile", action="store_true", help="also time both with torch.compile'd backbones")
    p.add_argument("--compile-backend", default="inductor",
                   help="torch.compile backend (eager: tracing only, no code generation; for a quick CPU check)")
    return p.parse_args(argv)


def main(args):
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    backbone = args.backbone or ("resnet50" if cuda else "resnet18")
    size, b = args.size or (224 if cuda else 64), args.samples or (8 if cuda else 1)
    steps, warmup = args.steps or (30 if cuda else 3), 5 if cuda else 1
    amp = args.amp if cuda else "none"
    torch.backends.cudnn.benchmark = True
    k, n = 8, args.people
    images = torch.randint(0, 256, (b, k, n, 3, size, size), dtype=torch.uint8)
    mask = torch.ones(b, k, n, dtype=torch.bool)
    if cuda:
        images = images.pin_memory()
    crops = b * k * n

    def network():
        model = build_model(backbone, "logits").to(device)
        return model.to(memory_format=torch.channels_last) if cuda else model

    model, plain = network(), network()
    loss_fn = MvMHATLoss().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    opt2 = torch.optim.Adam(plain.parameters(), lr=1e-5)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16")
    labels = torch.randint(0, 1000, (crops,), device=device)
    flat = images.view(crops, 3, size, size)

    def our_step(forward="batched"):
        optimisation_step(model, loss_fn, opt, scaler, images, mask, device, amp, cuda, forward=forward)

    def plain_step():
        x = normalize(flat.to(device, non_blocking=True))
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast_context(device, amp):
            loss = F.cross_entropy(plain.backbone(x).float(), labels)
        opt2.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt2)
        scaler.update()

    name = torch.cuda.get_device_name(device) if cuda else "CPU"
    print(f"{name}, {backbone}, {size}x{size} crops, {b} samples x 4 views x 2 frames x {n} people = "
          f"{crops} crops/step, precision {amp if cuda else 'float32'}", flush=True)
    ours, ceiling = timed(our_step, steps, warmup, device), timed(plain_step, steps, warmup, device)
    print(f"train step: ours {crops / ours:,.0f} crops/s, plain fwd+bwd {crops / ceiling:,.0f} crops/s, "
          f"{100 * ceiling / ours:.1f}% of the ceiling", flush=True)
    if args.per_image:
        per_image = timed(lambda: our_step("per_image"), steps, warmup, device)
        print(f"train step, per_image forward (the release's): ours {crops / per_image:,.0f} crops/s, "
              f"{100 * ceiling / per_image:.1f}% of the ceiling", flush=True)
    if not args.compile:
        return
    compile_backbone(model, args.compile_backend)
    compile_backbone(plain, args.compile_backend)
    first = [timed(step, 1, 0, device) for step in (our_step, plain_step)]  # the first call compiles
    ours_c, ceiling_c = timed(our_step, steps, warmup, device), timed(plain_step, steps, warmup, device)
    print(f"compiled train step ({args.compile_backend}): ours {crops / ours_c:,.0f} crops/s, plain fwd+bwd "
          f"{crops / ceiling_c:,.0f} crops/s, {100 * ceiling_c / ours_c:.1f}% of the compiled ceiling; "
          f"ours eager {100 * ceiling_c / ours:.1f}% of it; first (compiling) step: ours {first[0]:.0f} s, "
          f"plain {first[1]:.0f} s", flush=True)


if __name__ == "__main__":
    main(parse_args())
