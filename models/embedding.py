"""The crop-embedding network: a backbone (torchvision ResNet, or timm ViT-S/16) and an embedding head.

Backbones (``backbone=``): ``resnet10/18/34/50`` (torchvision) and ``vit_s16``, the ViT-S/16 of
the journal code (MvMHAT++: timm's ``vit_small_patch16_224``, whose ImageNet weights
``augreg_in1k`` want RGB crops normalised ``(x/255 - 0.5)/0.5``, ``data.pixels: inception``). The
ViT's position embeddings are laid out for 224x224 crops (a 14x14 patch grid) and interpolated for
other crop sizes; its other layers treat the crops one by one, so ``forward: per_image`` changes
nothing there (no BatchNorm).

Heads (``head=``):
    logits  the paper's embedding: the 1000-d output of the ImageNet classifier, L2-normalised
            (the released code used it without saying so, the journal code too, for both
            backbones; kept as the default for fidelity)
    pool    the pooled backbone features (2048-d for ResNet-50, 512-d for ResNet-18/34, the
            384-d class token of ViT-S/16)
    linear  a learned projection of the pooled features to ``embed_dim``

Weights (``weights=``): ``none`` (random init), ``imagenet`` (only from a local cache, nothing is
ever downloaded: torchvision's ImageNet weights from the torch hub cache; for ``vit_s16`` timm's
``vit_small_patch16_224.augreg_in1k`` from the Hugging Face hub cache) or a path to a local file
holding one of :data:`WEIGHT_FILES`: one of our checkpoints, the released MvMHAT training's
``{'model': state_dict}`` of a torchvision ResNet (realgump/MvMHAT ``train.py``, which also stores
``epoch``, ``loss`` and ``optimizer``), a plain torchvision ResNet state dict, or a timm ViT-S/16
state dict (a ``.safetensors`` file as the Hugging Face hub serves it, or a torch file, plain or
as ``{'model': state_dict}``). A state dict may carry the ``module.`` prefix ``nn.DataParallel``
adds to every key; the journal's training checkpoint ``{'model': {feature_extractor.*,
dhn_model.*}}`` gives its backbone (``feature_extractor.*``; its STAN: :func:`models.stan.load_stan`). The
architecture is read from the keys and must be the model's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from errors import KnownError, UnknownNameError
from models.hub import hf_cache_path, hub_path, released_state, weights_file


class ImageBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d that, in training mode and while ``groups`` is set (crops per image, in order),
    normalises each image's crops with their own statistics and updates the running statistics
    once per image, in image order: what running the whole network once per image does (the
    released training), since every other layer of a ResNet treats the crops one by one. Same
    parameters and state dict as ``nn.BatchNorm2d``."""

    groups: Optional[Sequence[int]] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups is None or not self.training:
            return super().forward(x)
        return torch.cat([super(ImageBatchNorm2d, self).forward(part) for part in x.split(list(self.groups))])


def resnet10(weights=None, **kwargs) -> torchvision.models.ResNet:
    """ResNet-18 with one basic block per stage instead of two: half its compute, no ImageNet weights."""
    if weights is not None:
        raise ValueError("resnet10 has no pretrained weights")
    return torchvision.models.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1], **kwargs)


def vit_s16(weights=None, **kwargs) -> nn.Module:
    """ViT-S/16 as the journal code builds it (timm ``vit_small_patch16_224``, 1000-class head),
    random weights, position embeddings interpolated for crops other than 224x224. timm is
    imported here, so ResNet users never pay for it."""
    if weights is not None:
        raise ValueError("vit_s16 weights are loaded by load_weights, not by the constructor")
    import timm  # noqa: PLC0415 - only the ViT backbone needs timm
    return timm.create_model(VIT_S16_TIMM, pretrained=False, dynamic_img_size=True)


VIT_S16_TIMM = "vit_small_patch16_224"  # timm architecture of vit_s16
# the journal's ImageNet weights of vit_s16 (timm ``vit_small_patch16_224.augreg_in1k``), read from
# the local Hugging Face cache
VIT_S16_IMAGENET = ("timm/vit_small_patch16_224.augreg_in1k", "model.safetensors")
VIT_S16_SHAPE = {"embed_dim": 384, "patch": 16, "depth": 12}  # how vit_state recognises a ViT-S/16

# name -> (constructor, ImageNet weights (torchvision enum, or (Hugging Face repo, file)) or None,
# pooled feature size)
BACKBONES = {
    "resnet10": (resnet10, None, 512),
    "resnet18": (torchvision.models.resnet18, torchvision.models.ResNet18_Weights.IMAGENET1K_V1, 512),
    "resnet34": (torchvision.models.resnet34, torchvision.models.ResNet34_Weights.IMAGENET1K_V1, 512),
    "resnet50": (torchvision.models.resnet50, torchvision.models.ResNet50_Weights.IMAGENET1K_V1, 2048),
    "vit_s16": (vit_s16, VIT_S16_IMAGENET, 384),
}
VITS = ("vit_s16",)  # backbones built by timm (classifier ``head``, no BatchNorm)


def library(backbone: str) -> str:
    """The library whose network ``backbone`` is (for messages)."""
    return "timm" if backbone in VITS else "torchvision"
HEADS = ("logits", "pool", "linear")


class WeightsError(KnownError, RuntimeError):
    """Weights that cannot be loaded; the message says where to put the file or what mismatched."""


def _lookup(table: dict, name: str, what: str):
    try:
        return table[name]
    except KeyError:
        raise UnknownNameError(f"unknown {what} {name!r}; valid: {sorted(table)}") from None


WEIGHT_FILES = ("a checkpoint of train.py (a dict whose 'model' has keys backbone.*)",
                "a released MvMHAT file ({'model': state dict of a torchvision ResNet}, as realgump/MvMHAT's "
                "train.py saves it)",
                "a torchvision ResNet state dict (keys conv1.weight, bn1.*, layer1.* ... layer4.*, fc.*)",
                "a timm ViT-S/16 state dict (keys cls_token, pos_embed, patch_embed.*, blocks.*, norm.*, head.*; "
                ".safetensors or a torch file)",
                "a released MvMHAT++ checkpoint ({'model': {feature_extractor.*: ResNet-50 or ViT-S/16, "
                "dhn_model.*}})")


def expected_files() -> str:
    """What a weights or checkpoint file may hold, in words (for error messages)."""
    return "expected " + "; or ".join(WEIGHT_FILES)


def _state_dict(obj) -> Optional[dict]:
    """The backbone state dict a released file holds (:func:`models.hub.released_state`: the
    released MvMHAT training's ``{'model': ...}``, DeiT-style ViT files, the ``feature_extractor.*``
    part of the journal's checkpoint), or None; its values must be tensors."""
    obj = released_state(obj, "feature_extractor.")
    if obj is None or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        return None
    return obj


def torchvision_state(obj) -> Optional[dict]:
    """The torchvision ResNet state dict ``obj`` holds (see :func:`_state_dict`), or None."""
    obj = _state_dict(obj)
    if obj is None or "conv1.weight" not in obj or not any(k.startswith("layer4.") for k in obj):
        return None
    return obj


def vit_state(obj) -> Optional[dict]:
    """The timm ViT state dict ``obj`` holds (see :func:`_state_dict`), or None."""
    obj = _state_dict(obj)
    if obj is None or not {"cls_token", "pos_embed", "patch_embed.proj.weight"} <= set(obj):
        return None
    return obj


def vit_name(state: dict, source: str) -> str:
    """The name in :data:`BACKBONES` of the ViT a timm state dict belongs to (only ViT-S/16)."""
    dim, _, patch, _ = state["patch_embed.proj.weight"].shape
    depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    found = {"embed_dim": dim, "patch": patch, "depth": depth}
    if found != VIT_S16_SHAPE:
        raise WeightsError(f"{source}: a ViT with width {dim}, {patch}x{patch} patches and {depth} blocks is not "
                           f"ViT-S/16 (width 384, 16x16 patches, 12 blocks), the only ViT offered (vit_s16)")
    return "vit_s16"


def backbone_state(obj, source: str) -> Optional[Tuple[str, dict]]:
    """``(backbone name, state dict)`` of a released backbone file (torchvision ResNet or timm
    ViT, see :func:`_state_dict`), or None for anything else."""
    resnet = torchvision_state(obj)
    if resnet is not None:
        return resnet_name(resnet, source), resnet
    vit = vit_state(obj)
    if vit is not None:
        return vit_name(vit, source), vit
    return None


def resnet_name(state: dict, source: str) -> str:
    """The name in :data:`BACKBONES` of the ResNet a torchvision state dict belongs to."""
    bottleneck = "layer1.0.conv3.weight" in state
    blocks = tuple(len({k.split(".")[1] for k in state if k.startswith(f"layer{i}.")}) for i in range(1, 5))
    for name, build_blocks in ARCHITECTURES.items():
        if build_blocks == (bottleneck, blocks):
            return name
    raise WeightsError(f"{source}: a torchvision ResNet with {'bottleneck' if bottleneck else 'basic'} blocks "
                       f"{list(blocks)} per stage is none of {sorted(ARCHITECTURES)}")


# backbone -> (bottleneck blocks?, blocks per stage), how resnet_name recognises a state dict
ARCHITECTURES = {"resnet10": (False, (1, 1, 1, 1)), "resnet18": (False, (2, 2, 2, 2)),
                 "resnet34": (False, (3, 4, 6, 3)), "resnet50": (True, (3, 4, 6, 3))}


def imagenet_weights_path(backbone: str) -> Path:
    """Where the ImageNet weights of ``backbone`` lie in the local cache: torch's hub cache
    (torchvision), the Hugging Face cache (timm)."""
    _, weights, _ = _lookup(BACKBONES, backbone, "backbone")
    if weights is None:
        raise WeightsError(f"{backbone} has no ImageNet weights; use --model.weights=none or a file")
    if isinstance(weights, tuple):
        return hf_cache_path(*weights)
    return hub_path(weights.url)


def _imagenet_source(backbone: str) -> str:
    """Where the ImageNet weights of ``backbone`` come from, in words (for error messages)."""
    weights = BACKBONES[backbone][1]
    if isinstance(weights, tuple):
        return f"the Hugging Face model repository {weights[0]}"
    return weights.url


def read_weights(path: Path):
    """What a weights file holds: a ``.safetensors`` file's tensors, else ``torch.load`` of it."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file  # noqa: PLC0415 - timm's dependency, for its files
            return load_file(str(path))
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file
        raise WeightsError(f"cannot read weights file {path}: {' '.join(str(e).split())}") from None  # one line


class EmbeddingNet(nn.Module):
    """Crops ``(M, 3, H, W)`` (as :func:`loader.crops.network_input` makes them) -> L2-normalised
    embeddings ``(M, D)``."""

    def __init__(self, backbone: str = "resnet50", head: str = "logits", embed_dim: int = 512):
        super().__init__()
        build, _, feat_dim = _lookup(BACKBONES, backbone, "backbone")
        if head not in HEADS:
            raise UnknownNameError(f"unknown head {head!r}; valid: {list(HEADS)}")
        self.backbone_name, self.head_name = backbone, head
        if backbone in VITS:
            self.backbone = build()
        else:
            self.backbone = build(weights=None, norm_layer=ImageBatchNorm2d)
        if head != "logits":  # the classifier is torchvision's fc, timm's head
            setattr(self.backbone, self.classifier, nn.Identity() if head == "pool" else nn.Linear(feat_dim, embed_dim))
        self.dim = {"logits": 1000, "pool": feat_dim, "linear": embed_dim}[head]

    @property
    def classifier(self) -> str:
        """The name of the backbone's ImageNet classifier module, which the head replaces."""
        return "head" if self.backbone_name in VITS else "fc"

    def forward(self, x: torch.Tensor, sizes: Optional[Sequence[int]] = None) -> torch.Tensor:
        """``sizes``: crops per image (summing to M): in training mode BatchNorm then sees one
        image's crops at a time, as if the network ran once per image (the released training),
        in one pass over all crops (:class:`ImageBatchNorm2d`)."""
        if sizes is None:
            return F.normalize(self.backbone(x).float(), dim=1)
        if sum(sizes) != len(x):
            raise ValueError(f"sizes {list(sizes)} sum to {sum(sizes)}, but there are {len(x)} crops")
        norms = [m for m in self.backbone.modules() if isinstance(m, ImageBatchNorm2d)]
        try:
            for m in norms:
                m.groups = list(sizes)
            return F.normalize(self.backbone(x).float(), dim=1)
        finally:
            for m in norms:
                m.groups = None


def load_weights(model: EmbeddingNet, weights: Union[str, Path]) -> None:
    """Load ``none`` / ``imagenet`` / a file (see the module docstring) into ``model``."""
    weights = str(weights)
    if weights == "none":
        return
    if weights == "imagenet":
        path = weights_file(None, imagenet_weights_path(model.backbone_name),
                            f"ImageNet weights for {model.backbone_name}", _imagenet_source(model.backbone_name),
                            "pass a file with --model.weights=PATH, or train from scratch with --model.weights=none",
                            WeightsError)
    else:
        path = weights_file(weights, None, "weights", "", "", WeightsError)
    state = read_weights(path)
    released = backbone_state(state, str(path))
    if released is not None:  # a torchvision ResNet or timm ViT (plain, or a released {'model': ...})
        found, state = released
        if found != model.backbone_name:
            raise WeightsError(f"{path} does not fit {model.backbone_name}: it holds a {library(found)} {found}; "
                               f"set --model.backbone={found}")
        target, classifier = model.backbone, model.classifier + "."
        if model.head_name != "logits":  # our head replaces the classifier
            state = {k: v for k, v in state.items() if not k.startswith(classifier)}
    elif isinstance(state, dict) and isinstance(state.get("model"), dict) and state["model"] \
            and all(str(k).startswith("backbone.") for k in state["model"]):
        target, state = model, state["model"]  # one of our checkpoints (EmbeddingNet keys)
    else:
        raise WeightsError(f"{path} is not a weights file this code reads: {expected_files()}; "
                           f"it holds {describe(state)}")
    try:
        missing, unexpected = target.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a tensor of another shape (e.g. a classifier of other size)
        raise WeightsError(f"{path} does not fit {model.backbone_name}/{model.head_name}: "
                           f"{' '.join(str(e).split())}") from None  # torch's message spans lines
    if model.head_name != "logits" and target is model.backbone:
        missing = [k for k in missing if not k.startswith(classifier)]
    if missing or unexpected:
        raise WeightsError(f"{path} does not fit {model.backbone_name}/{model.head_name}: "
                           f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                           f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")


def describe(obj) -> str:
    """A short description of what a loaded file holds (for error messages)."""
    if isinstance(obj, dict):
        keys = list(obj)
        return f"a dict with keys {keys[:6]}{'...' if len(keys) > 6 else ''}"
    return f"a {type(obj).__name__}"


def build_model(backbone: str = "resnet50", head: str = "logits", embed_dim: int = 512,
                weights: str = "none") -> EmbeddingNet:
    model = EmbeddingNet(backbone, head, embed_dim)
    load_weights(model, weights)
    return model
