"""The crop-embedding network: a torchvision ResNet backbone and an embedding head.

Heads (``head=``):
    logits  the paper's embedding: the 1000-d output of the ImageNet classifier, L2-normalised
            (the released code used it without saying so; kept as the default for fidelity)
    pool    the pooled backbone features (2048-d for ResNet-50, 512-d for ResNet-18/34)
    linear  a learned projection of the pooled features to ``embed_dim``

Weights (``weights=``): ``none`` (random init), ``imagenet`` (torchvision's ImageNet weights, only
from the local torch hub cache: nothing is ever downloaded) or a path to a local file holding one
of :data:`WEIGHT_FILES`: one of our checkpoints, the released MvMHAT training's
``{'model': state_dict}`` of a torchvision ResNet (realgump/MvMHAT ``train.py``, which also stores
``epoch``, ``loss`` and ``optimizer``), or a plain torchvision ResNet state dict. A torchvision
state dict may carry the ``module.`` prefix ``nn.DataParallel`` adds to every key; its
architecture (ResNet-10/18/34/50) is read from its keys and must be the model's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from errors import KnownError, UnknownNameError
from models.hub import hub_path, weights_file


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


# name -> (constructor, ImageNet weights enum or None, pooled feature size)
BACKBONES = {
    "resnet10": (resnet10, None, 512),
    "resnet18": (torchvision.models.resnet18, torchvision.models.ResNet18_Weights.IMAGENET1K_V1, 512),
    "resnet34": (torchvision.models.resnet34, torchvision.models.ResNet34_Weights.IMAGENET1K_V1, 512),
    "resnet50": (torchvision.models.resnet50, torchvision.models.ResNet50_Weights.IMAGENET1K_V1, 2048),
}
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
                "a torchvision ResNet state dict (keys conv1.weight, bn1.*, layer1.* ... layer4.*, fc.*)")


def expected_files() -> str:
    """What a weights or checkpoint file may hold, in words (for error messages)."""
    return "expected " + "; or ".join(WEIGHT_FILES)


def torchvision_state(obj) -> Optional[dict]:
    """The torchvision ResNet state dict ``obj`` holds, or None: ``obj`` itself, or ``obj['model']``
    (the released MvMHAT training's file), with a ``module.`` prefix on every key removed."""
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict) and "conv1.weight" not in obj:
        obj = obj["model"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(k, str) for k in obj):
        return None
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    if "conv1.weight" not in obj or not any(k.startswith("layer4.") for k in obj):
        return None
    if not all(isinstance(v, torch.Tensor) for v in obj.values()):
        return None
    return obj


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
    """Where torchvision keeps the ImageNet weights of ``backbone`` in the local torch hub cache."""
    _, weights, _ = _lookup(BACKBONES, backbone, "backbone")
    if weights is None:
        raise WeightsError(f"{backbone} has no ImageNet weights; use --model.weights=none or a file")
    return hub_path(weights.url)


class EmbeddingNet(nn.Module):
    """Crops ``(M, 3, H, W)`` (as :func:`loader.crops.network_input` makes them) -> L2-normalised
    embeddings ``(M, D)``."""

    def __init__(self, backbone: str = "resnet50", head: str = "logits", embed_dim: int = 512):
        super().__init__()
        build, _, feat_dim = _lookup(BACKBONES, backbone, "backbone")
        if head not in HEADS:
            raise UnknownNameError(f"unknown head {head!r}; valid: {list(HEADS)}")
        self.backbone_name, self.head_name = backbone, head
        self.backbone = build(weights=None, norm_layer=ImageBatchNorm2d)
        if head == "pool":
            self.backbone.fc = nn.Identity()
        elif head == "linear":
            self.backbone.fc = nn.Linear(feat_dim, embed_dim)
        self.dim = {"logits": 1000, "pool": feat_dim, "linear": embed_dim}[head]

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
        imagenet_weights_path(model.backbone_name)  # a backbone without ImageNet weights is an error
        url = _lookup(BACKBONES, model.backbone_name, "backbone")[1].url
        path = weights_file(None, url, f"ImageNet weights for {model.backbone_name}",
                            "pass a file with --model.weights=PATH, or train from scratch with --model.weights=none",
                            WeightsError)
    else:
        path = weights_file(weights, "", "weights", "", WeightsError)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file
        raise WeightsError(f"cannot read weights file {path}: {' '.join(str(e).split())}") from None  # one line
    backbone = torchvision_state(state)
    if backbone is not None:  # a torchvision ResNet (plain, or the released {'model': ...})
        found = resnet_name(backbone, str(path))
        if found != model.backbone_name:
            raise WeightsError(f"{path} does not fit {model.backbone_name}: it holds a torchvision {found}; "
                               f"set --model.backbone={found}")
        target, state = model.backbone, backbone
        if model.head_name != "logits":  # our head replaces the classifier
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
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
        missing = [k for k in missing if not k.startswith("fc.")]
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
