"""Inference embedding speed: crops/s of our embedding call against the network's plain forward.

    python -m bench.embed_speed                                          # CPU, small size
    python -m bench.embed_speed --device cuda --size 224 --batch 256 --steps 20   # GPU, paper size

Ours = :func:`engine.embed.embed_crops` as the tracker's feature extraction calls it
(``pipeline/extract.py``): uint8 crops in host memory copied to the device, normalised,
channels_last, one forward pass under bf16 autocast on CUDA, L2-normalised float32 embeddings.
The ceiling = the same backbone's forward on crops already normalised on the device, same batch,
precision and memory format. Both in inference mode, in this one process, on the same random
crops; ``--batch`` 256 is about what inference embeds per pass (8 frames x 4 views x 8 people).
Stretch target on a GPU: >= 10,000 crops/s at 224x224 in bf16.
"""
from __future__ import annotations

import argparse

import torch

from bench.train_throughput import timed
from engine.distributed import resolve_device
from engine.embed import autocast_context, embed_crops
from loader.crops import normalize
from models.embedding import build_model


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--backbone", default=None, help="default: resnet50 on CUDA, resnet18 on CPU")
    p.add_argument("--size", type=int, default=None, help="square crop size (default: 224 CUDA, 64 CPU)")
    p.add_argument("--batch", type=int, default=256, help="crops per forward pass")
    p.add_argument("--steps", type=int, default=None, help="timed passes (default: 20 CUDA, 3 CPU)")
    p.add_argument("--amp", default="bf16", choices=["bf16", "fp16", "none"], help="CUDA only (CPU: float32)")
    return p.parse_args(argv)


@torch.inference_mode()
def main(args) -> None:
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    backbone = args.backbone or ("resnet50" if cuda else "resnet18")
    size, steps, warmup = args.size or (224 if cuda else 64), args.steps or (20 if cuda else 3), 3 if cuda else 1
    amp = args.amp if cuda else "none"
    torch.backends.cudnn.benchmark = True
    crops = torch.randint(0, 256, (args.batch, 3, size, size), dtype=torch.uint8)
    model = build_model(backbone, "logits").to(device).to(memory_format=torch.channels_last).eval()
    ready = normalize(crops.to(device)).contiguous(memory_format=torch.channels_last)

    def ours():
        embed_crops(model, crops, device, amp, channels_last=True)

    def plain():
        with autocast_context(device, amp):
            model.backbone(ready)

    name = torch.cuda.get_device_name(device) if cuda else "CPU"
    print(f"{name}, {backbone}, {size}x{size} crops, {args.batch} crops per pass, precision "
          f"{amp if cuda else 'float32'}, channels_last", flush=True)
    t_ours, t_plain = timed(ours, steps, warmup, device), timed(plain, steps, warmup, device)
    print(f"embed: ours {args.batch / t_ours:,.0f} crops/s (from host uint8), plain forward "
          f"{args.batch / t_plain:,.0f} crops/s (normalised on the device), "
          f"{100 * t_plain / t_ours:.1f}% of the ceiling")


if __name__ == "__main__":
    main(parse_args())
