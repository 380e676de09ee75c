"""The journal's ViT-S/16 backbone (``model.backbone=vit_s16``, timm): heads, weight files in the
forms they are released in (safetensors from the Hugging Face cache, torch files, the journal's
training checkpoint), errors for files of another network, and a training step of the journal
profile with it. The reference is timm's own model."""
import pytest
import timm
import torch
import torch.nn.functional as F
import torchvision
from safetensors.torch import save_file

import train
from config import ModelConfig, load_config
from datasets.synthetic.generate import generate_dataset
from engine.checkpoint import load_model
from models.embedding import VIT_S16_IMAGENET, WeightsError, build_model, imagenet_weights_path


@pytest.fixture(scope="module")
def reference():
    torch.manual_seed(3)
    return timm.create_model("vit_small_patch16_224", pretrained=False).eval()


@pytest.fixture(scope="module")
def crops():
    torch.manual_seed(4)
    return torch.randn(2, 3, 224, 224)


def embeds_like(model, reference, crops):
    with torch.no_grad():
        assert torch.allclose(model.eval()(crops), F.normalize(reference(crops), dim=1), atol=1e-6)


def journal_checkpoint(reference):
    """What the journal's training saves: {'model': state dict of the backbone + STAN}."""
    state = {f"feature_extractor.{k}": v for k, v in reference.state_dict().items()}
    return {"model": {**state, "dhn_model.fc.weight": torch.zeros(1, 4)}}


@pytest.mark.parametrize("kind", ["safetensors", "plain", "model_dict", "dataparallel", "journal"])
def test_weight_files_load_as_timm_builds_them(tmp_path, reference, crops, kind):
    sd = reference.state_dict()
    path = tmp_path / ("w.safetensors" if kind == "safetensors" else "w.pth")
    if kind == "safetensors":
        save_file(sd, path)
    else:
        obj = {"plain": sd, "model_dict": {"model": sd}, "dataparallel": {f"module.{k}": v for k, v in sd.items()},
               "journal": journal_checkpoint(reference)}[kind]
        torch.save(obj, path)
    embeds_like(build_model("vit_s16", "logits", weights=str(path)), reference, crops)
    net = load_model(str(path), ModelConfig(), (224, 224), 0, "inception")  # tracking's --checkpoint
    assert net.desc["backbone"] == "vit_s16" and net.pixels == "inception"
    embeds_like(net.model, reference, crops)


def test_heads_and_crop_sizes(tmp_path, reference):
    path = tmp_path / "w.safetensors"
    save_file(reference.state_dict(), path)
    pool = build_model("vit_s16", "pool", weights=str(path)).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        want = reference.forward_head(reference.forward_features(x), pre_logits=True)  # the class token
        assert torch.allclose(pool(x), F.normalize(want, dim=1), atol=1e-6)
        assert pool(torch.randn(3, 3, 256, 128)).shape == (3, 384)  # position embeddings interpolated
    linear = build_model("vit_s16", "linear", embed_dim=64, weights=str(path))
    assert linear.dim == 64 and linear(x).shape == (2, 64)
    assert torch.equal(linear.backbone.blocks[0].attn.qkv.weight, reference.blocks[0].attn.qkv.weight)


def test_imagenet_weights_come_only_from_the_hugging_face_cache(tmp_path, monkeypatch, reference, crops):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(WeightsError, match=r"not in the local cache \(nothing is downloaded\): put model.safetensors "
                                           r"\(from the Hugging Face model repository timm/vit_small_patch16_224"):
        build_model("vit_s16", weights="imagenet")
    repo = tmp_path / "hub" / ("models--" + VIT_S16_IMAGENET[0].replace("/", "--"))
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123\n")
    save_file(reference.state_dict(), repo / "snapshots" / "abc123" / "model.safetensors")
    assert imagenet_weights_path("vit_s16") == repo / "snapshots" / "abc123" / "model.safetensors"
    embeds_like(build_model("vit_s16", weights="imagenet"), reference, crops)


def test_files_of_other_networks_are_errors(tmp_path, reference):
    tiny = tmp_path / "tiny.pth"
    torch.save(timm.create_model("vit_tiny_patch16_224", pretrained=False).state_dict(), tiny)
    with pytest.raises(WeightsError, match="width 192, 16x16 patches and 12 blocks is not ViT-S/16"):
        build_model("vit_s16", weights=str(tiny))
    vit = tmp_path / "vit.safetensors"
    save_file(reference.state_dict(), vit)
    with pytest.raises(WeightsError, match="holds a timm vit_s16; set --model.backbone=vit_s16"):
        build_model("resnet18", weights=str(vit))
    resnet = tmp_path / "r18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), resnet)
    with pytest.raises(WeightsError, match="holds a torchvision resnet18; set --model.backbone=resnet18"):
        build_model("vit_s16", weights=str(resnet))
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError, match="cannot read weights file .*broken.safetensors"):
        build_model("vit_s16", weights=str(broken))


def test_journal_profile_trains_a_vit(tmp_path):
    root = tmp_path / "data"
    generate_dataset(root, scenes=1, views=2, frames=20, people=(3, 3), size=(160, 96), seed=2, progress=False)
    cfg = load_config("configs/journal.yaml", [
        f"--data.root={root}", f"--train.out_dir={tmp_path / 'run'}", "--train.device=cpu", "--model.weights=none",
        "--model.backbone=vit_s16", "--data.pixels=inception", "--data.crop_height=32", "--data.crop_width=32",
        "--data.num_workers=0", "--data.views=2", "--data.val_fraction=0.3", "--train.max_steps=1",
        "--train.val_interval=0", "--model.stan=fc"])
    trainer = train.main(cfg)
    assert trainer.step == 1
    net = load_model(str(tmp_path / "run" / "last.pt"), ModelConfig(), (0, 0), 0)
    assert net.desc["backbone"] == "vit_s16" and net.pixels == "inception" and net.crop_size == (32, 32)
